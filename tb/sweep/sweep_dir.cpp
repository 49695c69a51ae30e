// The sweep directory: whole-file writes, the lock, taking over and resuming a directory, the log.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "host/yaml_input.h"
#include "tb/run.h"
#include "tb/sweep.h"
#include "tb/sweep/sweep_internal.h"

namespace nicsim::tb {

using namespace sweep_internal;

namespace sweep_internal {

// A point's JSON belongs to the point if its knobs are the point's knobs.
bool json_matches_point(const json& j, const config& expected) {
  if (!j.is_object() || !j.contains("config") || !j["config"].is_object()) return false;
  const auto& cfg = j["config"];
  for (const auto& [k, knob] : expected.knobs())
    if (!cfg.contains(k) || !cfg[k].is_string() || cfg[k].get<std::string>() != knob.value) return false;
  return true;
}

bool read_text(const fs::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  text = ss.str();
  return true;
}

// The finished result of a point, or null when it has none that fits.
json load_point_json(const fs::path& path, const sweep_plan& plan, const sweep_point& p, bool* mismatch) {
  std::string text;
  if (!read_text(path, text)) return nullptr;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !json_matches_point(j, point_config(plan, p))) {
    if (mismatch) *mismatch = true;
    return nullptr;
  }
  return j;
}

std::string errno_text(int err) { return std::strerror(err); }

// Writes `path` whole or not at all: the text goes to path.tmp, which replaces
// path only once every byte is written and the file is closed. On any failure
// path.tmp is removed, path is left as it was, and sweep_io_error names both.
void write_whole_file(const fs::path& path, const std::string& text) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw sweep_io_error(tmp + ": cannot create: " + errno_text(errno));
  int err = 0;
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw sweep_io_error(path.string() + ": cannot write: " + errno_text(err));
  }
}

// Appends `text` whole or not at all (a full disk leaves no half line behind).
// Returns 0 or the errno of the failure.
int append_whole(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  struct stat st {};
  int err = ::fstat(fd, &st) != 0 ? errno : 0;
  for (size_t done = 0; err == 0 && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      err = n < 0 ? errno : EIO;
    else
      done += static_cast<size_t>(n);
  }
  if (err != 0 && st.st_size >= 0) {
    const int ignored = ::ftruncate(fd, st.st_size);
    (void)ignored;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

fs::path points_dir(const std::string& dir) { return fs::path(dir) / "points"; }
fs::path running_dir(const std::string& dir) { return fs::path(dir) / "running"; }

// p0007-1a2b3c4d.json, .err, .failed.json, .log, .json.tmp: a point's file.
bool is_point_file(const std::string& name) {
  size_t i = 1;
  if (name.empty() || name[0] != 'p') return false;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == 1 || i >= name.size() || name[i] != '-') return false;
  for (size_t k = 0; k < 8; ++k)
    if (++i >= name.size() || !std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  return ++i < name.size() && name[i] == '.';
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A directory without sweep.json is a sweep's only when it holds nothing but
// what a sweep killed before writing sweep.json leaves: sweep.lock,
// sweep.json.tmp, and points/ and running/ holding only point files. Returns
// the first entry that is not, or "" when every one is.
std::string foreign_entry(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if ((name == "sweep.lock" || name == "sweep.json.tmp") && e.is_regular_file(ec)) continue;
    if ((name == "points" || name == "running") && e.is_directory(ec) && !e.is_symlink(ec)) {
      for (const auto& f : fs::directory_iterator(e.path(), ec))
        if (!is_point_file(f.path().filename().string()) || !f.is_regular_file(ec))
          return (fs::path(name) / f.path().filename()).string();
      if (!ec) continue;
    }
    return name;
  }
  if (ec) return "entries it cannot list (" + ec.message() + ")";
  return "";
}

// What an interrupted sweep, merge or report leaves behind: half-written
// *.tmp files and the files of points that were running. Removed with the
// directory locked, so nothing of another sweep can be in flight.
// A point killed by its parent-death SIGKILL gets no chance to remove the
// staging directory its outputs were written in (waves/output_file.h:
// .nicsim-staging-XXXXXX, made next to running/<id>.json.tmp); so those go too.
void remove_leftovers(const fs::path& dir) {
  std::error_code ec;
  const auto is_staging = [&ec](const fs::directory_entry& e) {
    const auto name = e.path().filename().string();
    return name.size() == 22 && name.rfind(".nicsim-staging-", 0) == 0 && e.is_directory(ec) &&
           !e.is_symlink(ec);
  };
  for (const auto& sub : {dir, dir / "points", dir / "plots", dir / "running"}) {
    std::vector<fs::path> doomed;
    for (const auto& e : fs::directory_iterator(sub, ec)) {
      const auto name = e.path().filename().string();
      const bool point_file = sub.filename() == "running" && is_point_file(name);
      if (((ends_with(name, ".tmp") || point_file) && e.is_regular_file(ec)) || is_staging(e))
        doomed.push_back(e.path());
    }
    for (const auto& p : doomed) fs::remove_all(p, ec);  // remove_all does not follow symlinks
  }
}

std::string now_text() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  return stamp;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// This process's command line, for the lock's holder line.
std::string own_command_line() {
  std::string text;
  if (!read_text("/proc/self/cmdline", text)) return "nicsim";
  std::replace(text.begin(), text.end(), '\0', ' ');
  return trim(text);
}

bool dir_lock::holder_gone(const std::string& holder) {
  const auto words = split(holder, ' ');
  for (size_t i = 0; i + 3 < words.size(); ++i)
    if (words[i] == "pid" && words[i + 2] == "on") {
      if (words[i + 3] != host_name()) return false;
      char* end = nullptr;
      const long pid = std::strtol(words[i + 1].c_str(), &end, 10);
      return pid > 0 && *end == '\0' && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    }
  return false;
}

void dir_lock::acquire(const fs::path& dir, const std::string& what) {
  const auto path = (dir / "sweep.lock").string();
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);  // not O_CLOEXEC: the points inherit it
  if (m_fd < 0) bad_input(path + ": cannot create the lock: " + errno_text(errno));
  // The points of a sweep killed just now hold the lock until the kernel has
  // delivered their parent-death signal: wait for them, not for a live sweep.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    std::string holder;
    read_text(path, holder);
    holder = trim(split(holder, '\n').front());
    if (err != EWOULDBLOCK) {
      release();
      bad_input(path + ": cannot lock: " + errno_text(err));
    }
    if (holder_gone(holder) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    release();
    bad_input(dir.string() + " is in use by another " +
              (holder.empty() ? std::string("nicsim (it holds ") + path + ")" : holder) +
              (holder_gone(holder) ? " (that process has exited, but points it started still run)" : "") +
              ". Wait for it to end, or choose another directory.");
  }
  const std::string line = what + ": pid " + std::to_string(getpid()) + " on " + host_name() + " since " +
                           now_text() + ": " + own_command_line() + "\n";
  // Who holds it is information only; a full disk does not stop the lock.
  if (::ftruncate(m_fd, 0) == 0) {
    const ssize_t ignored = ::pwrite(m_fd, line.data(), line.size(), 0);
    (void)ignored;
  }
}

void dir_lock::release() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

// Creates DIR for the plan, or checks that an existing DIR holds the same
// sweep, and locks it for `what` (sweep or merge). A DIR that a sweep killed
// before writing sweep.json left is taken over; leftovers of an interrupted
// sweep are removed. Throws config_error when DIR cannot be used, and then
// leaves nothing behind that it created.
void open_sweep_dir(const sweep_plan& plan, const std::string& dir, dir_lock& lock, const std::string& what) {
  const fs::path d(dir);
  const fs::path sweep_json = d / "sweep.json";
  std::error_code ec;
  bool created = false;
  if (fs::exists(d, ec)) {
    if (!fs::is_directory(d, ec)) bad_input(dir + " exists and is not a directory");
    if (!fs::exists(sweep_json, ec)) {
      const auto foreign = foreign_entry(d);
      if (!foreign.empty())
        bad_input(dir + " exists and is not a sweep directory (no sweep.json, and it holds " + foreign +
                  "); choose another --out");
    }
  } else {
    created = fs::create_directories(d, ec);
    if (ec) bad_input(dir + ": cannot create: " + ec.message());
  }
  try {
    lock.acquire(d, what);
    if (fs::exists(sweep_json, ec)) {
      const auto diff = plan.difference(load_sweep_plan(sweep_json.string()));
      if (!diff.empty())
        bad_input(dir + " holds a different sweep (" + sweep_json.string() + "): " + diff +
                  ". Use another --out directory, or remove " + dir + " to start over.");
    }
    remove_leftovers(d);
    if (!fs::exists(sweep_json, ec)) write_whole_file(sweep_json, plan.to_json().dump(2) + "\n");
    for (const auto& sub : {points_dir(dir), running_dir(dir)}) {
      fs::create_directories(sub, ec);
      if (ec) bad_input(sub.string() + ": cannot create: " + ec.message());
    }
  } catch (const sweep_io_error& e) {
    if (created) {
      lock.release();
      fs::remove_all(d, ec);
    }
    bad_input(e.what());
  } catch (...) {
    if (created) {
      lock.release();
      fs::remove_all(d, ec);
    }
    throw;
  }
}

// sweep.log: one line per event. Best effort, but never half a line.
void append_log(const std::string& dir, const std::string& line) {
  append_whole(fs::path(dir) / "sweep.log", now_text() + " " + line + "\n");
}

}  // namespace sweep_internal

}  // namespace nicsim::tb
