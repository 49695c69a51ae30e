#include "tb/sweep.h"

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

namespace nicsim::tb {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

namespace {

constexpr int EXIT_OK = 0;
constexpr int EXIT_INTERNAL = 1;
constexpr int EXIT_BAD_INPUT = 2;
constexpr int EXIT_INTERRUPTED = 130;
// A range this long is almost surely a typo (1:1e9:1), and a grid this large
// would run for days; both are refused before anything runs.
constexpr size_t MAX_VALUES_PER_GRID = 10000;
constexpr size_t MAX_POINTS = 100000;
// The report script exits with this when matplotlib is missing.
constexpr int REPORT_NO_MATPLOTLIB = 3;

const char* const SWEEP_FORMAT = "nicsim-sweep-1";

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

bool parse_double(const std::string& text, double& v) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && errno != ERANGE && std::isfinite(v);
}

// Grid values as a person would write them: 20, 0.3, 1000000 (not 1e+06 or 0.30000000000000004).
std::string format_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

// Derived rates in results.csv: six significant digits, whole numbers from a million up.
std::string format_derived(double v) {
  if (std::fabs(v) >= 1e6) return std::to_string(std::llround(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double round12(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

std::string describe(const assignment& values) {
  std::string s;
  for (const auto& [k, v] : values) s += (s.empty() ? "" : " ") + short_name(k) + "=" + v;
  return s.empty() ? "(base)" : s;
}

std::string alias_list() {
  std::string s;
  for (const auto& a : key_aliases()) s += (s.empty() ? "" : ", ") + std::string(a.alias);
  return s;
}

[[noreturn]] void bad_input(const std::string& message) { throw config_error(message); }

const config& default_config() {
  static const config defaults;
  return defaults;
}

std::vector<double> expand_range(const std::string& item, const std::string& key, bool integral,
                                 const std::string& origin) {
  const auto parts = split(item, ':');
  const std::string where = origin + ": " + key + " range '" + item + "'";
  double a = 0, b = 0;
  if (parts.size() < 2 || parts.size() > 3 || !parse_double(trim(parts[0]), a) ||
      !parse_double(trim(parts[1]), b))
    bad_input(where + ": expected A:B, A:B:STEP, A:B:logN or A:B:*F");
  if (a > b) bad_input(where + ": the range must go upwards (A <= B)");
  std::vector<double> vs;
  const std::string step = parts.size() == 3 ? trim(parts[2]) : "1";
  if (step.rfind("log", 0) == 0) {
    double n = 0;
    if (!parse_double(step.substr(3), n) || n < 2 || std::floor(n) != n)
      bad_input(where + ": logN needs a whole number of points N >= 2");
    if (a <= 0) bad_input(where + ": a log range needs A > 0");
    if (n > static_cast<double>(MAX_VALUES_PER_GRID)) bad_input(where + ": too many values");
    const auto count = static_cast<size_t>(n);
    for (size_t i = 0; i < count; ++i) {
      double v = i + 1 == count ? b : a * std::pow(b / a, static_cast<double>(i) / (n - 1));
      vs.push_back(integral ? std::round(v) : round12(v));
    }
  } else if (step.rfind('*', 0) == 0) {
    double f = 0;
    if (!parse_double(step.substr(1), f) || f <= 1) bad_input(where + ": *F needs a factor F > 1");
    if (a <= 0) bad_input(where + ": a geometric range needs A > 0");
    for (double v = a; v <= b * (1 + 1e-12); v *= f) {
      vs.push_back(integral ? std::round(v) : round12(v));
      if (vs.size() > MAX_VALUES_PER_GRID) bad_input(where + ": too many values");
    }
  } else {
    double s = 0;
    if (!parse_double(step, s) || s <= 0) bad_input(where + ": the step must be a number > 0");
    const double n = std::floor((b - a) / s + 1e-9) + 1;
    if (n > static_cast<double>(MAX_VALUES_PER_GRID)) bad_input(where + ": too many values");
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) vs.push_back(round12(a + static_cast<double>(i) * s));
  }
  return vs;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

config point_config(const sweep_plan& plan, const sweep_point& p) {
  config c;
  for (const auto& [k, v] : plan.base) c.set(k, v, "sweep.json");
  for (const auto& [k, v] : p.values) c.set(k, v, "grid");
  return c;
}

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

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_text(const sweep_plan& plan, const std::map<size_t, std::vector<std::string>>& rows) {
  std::string out = "point,id";
  for (const auto& g : plan.grids) out += "," + csv_field(g.key);
  for (const auto& c : result_columns()) out += "," + c;
  out += "\n";
  for (const auto& [index, cells] : rows) {
    std::string line;
    for (const auto& c : cells) line += (line.empty() ? "" : ",") + csv_field(c);
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> csv_row(const sweep_point& p, const json& j) {
  std::vector<std::string> cells{std::to_string(p.index), p.id};
  for (const auto& [k, v] : p.values) cells.push_back(v);
  for (auto& c : result_row(j)) cells.push_back(std::move(c));
  return cells;
}

// The sweep directory cannot be written (a full disk, a read-only file system)
// once points have started: the sweep stops, keeps what finished, exits with 1.
struct sweep_io_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
void remove_leftovers(const fs::path& dir) {
  std::error_code ec;
  for (const auto& sub : {dir, dir / "points", dir / "plots"})
    for (const auto& e : fs::directory_iterator(sub, ec))
      if (ends_with(e.path().filename().string(), ".tmp") && e.is_regular_file(ec)) fs::remove(e.path(), ec);
  for (const auto& e : fs::directory_iterator(dir / "running", ec))
    if (is_point_file(e.path().filename().string()) && e.is_regular_file(ec)) fs::remove(e.path(), ec);
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

// One sweep, merge into, or report of a directory at a time: an exclusive
// flock(2) on DIR/sweep.lock. The descriptor is inherited by the points (it is
// not close-on-exec), so the lock is held until the sweep and every point it
// started have exited. The kernel drops it when they die, even by kill -9; a
// lock never outlives its holders. The file itself says who holds it.
class dir_lock {
 public:
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() { release(); }

  // Takes the lock; throws config_error naming the holder when another process has it.
  void acquire(const fs::path& dir, const std::string& what) {
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

  void release() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  // True when the holder line names a process of this host that no longer exists.
  static bool holder_gone(const std::string& holder) {
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

  int m_fd = -1;
};

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

std::string format_duration(double secs) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, secs)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string last_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

std::string indent(const std::string& text) {
  std::string out;
  for (const auto& line : split(text, '\n'))
    if (!line.empty()) out += "    " + line + "\n";
  return out;
}

// Runs argv as a child with the given signal mask cleared; returns its exit status
// (as from waitpid) or -1 when it could not be started.
int run_and_wait(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

// The build copies scripts/sweep_report.py next to the nicsim binary; it is
// looked up there, through /proc/self/exe (NICSIM_REPORT_SCRIPT overrides).
std::string report_script() {
  if (const char* s = std::getenv("NICSIM_REPORT_SCRIPT")) return s;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ((ec ? fs::path(".") : exe.parent_path()) / "sweep_report.py").string();
}

std::string report_python() {
  if (const char* s = std::getenv("NICSIM_PYTHON")) return s;
  return "/usr/bin/python3";
}

// Draws DIR/report.html; returns false (after saying why) when it could not.
bool draw_report(const std::string& dir) {
  const auto python = report_python();
  const auto script = report_script();
  if (::access(python.c_str(), X_OK) != 0) {
    std::cerr << "nicsim: no report: " << python << " not found (install python3-matplotlib); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  if (::access(script.c_str(), R_OK) != 0) {
    std::cerr << "nicsim: no report: " << script << " not found (set NICSIM_REPORT_SCRIPT); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  const int status = run_and_wait({python, script, dir});
  if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == REPORT_NO_MATPLOTLIB) {
    std::cerr << "nicsim: no report: matplotlib is missing for " << python
              << " (apt-get install python3-matplotlib); results are in "
              << (fs::path(dir) / "results.csv").string() << "\n";
    return false;
  }
  std::cerr << "nicsim: the report script failed (" << python << " " << script << " " << dir
            << "); results are in " << (fs::path(dir) / "results.csv").string() << "\n";
  return false;
}

struct failure {
  sweep_point point;
  std::string why;
};

// One sweep's run: spawns children, reaps them, keeps results.csv and the
// progress line current.
class sweep_runner {
 public:
  sweep_runner(const sweep_plan& plan, const std::string& dir, unsigned jobs)
      : m_plan(plan), m_dir(dir), m_jobs(jobs), m_tty(isatty(STDERR_FILENO) != 0) {}

  void add_finished(const sweep_point& p, const json& j) { m_rows[p.index] = csv_row(p, j); }

  enum class outcome { complete, interrupted, cannot_write };

  // complete: every pending point ran (failed or not); interrupted: a signal
  // stopped the sweep; cannot_write: the sweep directory could not be written
  // (io_error() says why) and the points not yet started were left for a rerun.
  outcome run(std::vector<sweep_point> pending, size_t shard_total, size_t already_done) {
    m_total = shard_total;
    m_done = already_done;
    m_start = std::chrono::steady_clock::now();
    m_last_csv = m_start;
    sigset_t mask, old;
    sigemptyset(&mask);
    for (const int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, &old);
    std::reverse(pending.begin(), pending.end());
    while (!m_running.empty() || (!pending.empty() && may_spawn())) {
      while (may_spawn() && !pending.empty() && m_running.size() < m_jobs) {
        spawn(pending.back());
        pending.pop_back();
      }
      bool reaped = false;
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        reaped = true;
        finish(pid, status);
      }
      if (reaped) continue;
      if (m_running.empty()) break;  // nothing left to wait for (spawning failed)
      siginfo_t info;
      const timespec tick{1, 0};
      const int sig = sigtimedwait(&mask, &info, &tick);
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) stop();
      if (sig < 0 && m_tty) progress("");
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (m_tty && m_printed_progress) std::cerr << "\n";
    write_csv();
    if (m_stopping) return outcome::interrupted;
    return m_io_error.empty() ? outcome::complete : outcome::cannot_write;
  }

  const std::vector<failure>& failures() const { return m_failures; }
  size_t ran() const { return m_ran; }
  const std::string& io_error() const { return m_io_error; }

 private:
  struct child {
    sweep_point point;
    fs::path json_tmp, log;
    std::chrono::steady_clock::time_point start;
  };

  std::string child_command_line(const std::vector<std::string>& args) const {
    std::string s;
    for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
    return s;
  }

  bool may_spawn() const { return !m_stopping && m_io_error.empty(); }

  // The sweep cannot write its directory: no new points start; those running finish.
  void cannot_write(const std::string& why) {
    if (!m_io_error.empty()) return;
    m_io_error = why;
    if (m_tty && m_printed_progress) std::cerr << "\r\x1b[K";
    std::cerr << "nicsim sweep: " << why << "; no more points start\n";
  }

  void write_csv() {
    try {
      write_whole_file(fs::path(m_dir) / "results.csv", csv_text(m_plan, m_rows));
    } catch (const sweep_io_error& e) {
      cannot_write(e.what());
    }
    m_last_csv = std::chrono::steady_clock::now();
  }

  // A child's files in running/: its JSON, the .tmp its writer may leave, its output.
  static void remove_child_files(const child& c) {
    std::error_code ec;
    fs::remove(c.json_tmp, ec);
    fs::remove(c.json_tmp.string() + ".tmp", ec);
    fs::remove(c.log, ec);
  }

  void spawn(const sweep_point& p) {
    child c{p, running_dir(m_dir) / (p.id + ".json"), running_dir(m_dir) / (p.id + ".log"),
            std::chrono::steady_clock::now()};
    std::error_code ec;
    remove_child_files(c);
    const char* wrapper = std::getenv("NICSIM_SWEEP_CHILD");
    const std::string exe = wrapper ? wrapper : "/proc/self/exe";
    std::vector<std::string> args{wrapper ? wrapper : self_path(), "run", "--quiet", "--json",
                                  c.json_tmp.string()};
    for (const auto& s : m_plan.child_sets) args.insert(args.end(), {"--set", s});
    for (const auto& [k, v] : p.values) args.insert(args.end(), {"--set", k + "=" + v});
    // The output file starts with the command, so that a failed point's .err is never empty.
    if (const int err = append_whole(c.log, "$ " + child_command_line(args) + "\n")) {
      fs::remove(c.log, ec);
      cannot_write("cannot write " + c.log.string() + ": " + errno_text(err));
      return;
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log_path = c.log.string();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // A killed sweep takes its points with it, so that a resumed sweep never
      // races a stray child writing the same point.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
      execv(exe.c_str(), argv.data());
      const char msg[] = "nicsim sweep: cannot execute the point\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      _exit(127);
    }
    if (pid < 0) {
      ++m_ran;
      record_failure(c, std::string("cannot start: ") + errno_text(errno));
      return;
    }
    append_log(m_dir, "start " + p.id + " " + describe(p.values));
    m_running.emplace(pid, std::move(c));
  }

  static std::string self_path() {
    std::error_code ec;
    const auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("nicsim") : p.string();
  }

  void finish(pid_t pid, int status) {
    auto it = m_running.find(pid);
    if (it == m_running.end()) return;
    child c = std::move(it->second);
    m_running.erase(it);
    std::error_code ec;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
    if (WIFSIGNALED(status) &&
        (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGHUP)) {
      // Interrupted with the sweep (Ctrl-C reaches the whole process group): not a failure.
      stop();
      remove_child_files(c);
      append_log(m_dir, "interrupted " + c.point.id);
      return;
    }
    ++m_ran;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::exists(c.json_tmp, ec)) {
      std::string text;
      json j = read_text(c.json_tmp, text) ? json::parse(text, nullptr, false) : json();
      if (!j.is_discarded() && j.is_object()) {
        const auto final_path = points_dir(m_dir) / (c.point.id + ".json");
        fs::rename(c.json_tmp, final_path, ec);
        if (!ec) {
          remove_child_files(c);
          fs::remove(points_dir(m_dir) / (c.point.id + ".err"), ec);
          fs::remove(points_dir(m_dir) / (c.point.id + ".failed.json"), ec);
          append_log(m_dir, "done " + c.point.id + " " + format_derived(secs) + "s");
          m_rows[c.point.index] = csv_row(c.point, j);
          ++m_done;
          progress(describe(c.point.values));
          if (std::chrono::steady_clock::now() - m_last_csv > std::chrono::seconds(2)) write_csv();
          return;
        }
      }
      record_failure(c, "its JSON could not be read or moved into points/");
      return;
    }
    std::string why;
    if (WIFEXITED(status))
      why = "exit " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      why = std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
            strsignal(WTERMSIG(status)) + ")";
    else
      why = "status " + std::to_string(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) why = "exit 0 without writing its JSON";
    record_failure(c, why + low_space_note());
  }

  // A point that fails on a nearly full disk most likely failed because of it.
  std::string low_space_note() const {
    struct statvfs st {};
    if (::statvfs(m_dir.c_str(), &st) != 0) return "";
    const auto free_bytes = static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
    if (free_bytes >= (1ull << 20)) return "";
    return " (the file system of " + m_dir + " has " + std::to_string(free_bytes / 1024) + " KiB free)";
  }

  void record_failure(const child& c, const std::string& why) {
    std::error_code ec;
    const auto err_path = points_dir(m_dir) / (c.point.id + ".err");
    // The output holds at least the command line (spawn wrote it), so the .err is never empty.
    std::string text;
    fs::rename(c.log, err_path, ec);
    if (!ec) {
      read_text(err_path, text);
      if (const int err = append_whole(err_path, "nicsim sweep: " + why + "\n"))
        cannot_write("cannot write " + err_path.string() + ": " + errno_text(err));
    }
    if (fs::exists(c.json_tmp, ec))
      fs::rename(c.json_tmp, points_dir(m_dir) / (c.point.id + ".failed.json"), ec);
    remove_child_files(c);
    append_log(m_dir, "failed " + c.point.id + " " + why);
    m_failures.push_back({c.point, why});
    ++m_done;
    if (m_tty && m_printed_progress) std::cerr << "\r\x1b[K";
    std::cerr << "nicsim sweep: point " << c.point.id << " (" << describe(c.point.values)
              << ") failed: " << why << "; output in " << err_path.string() << "\n"
              << indent(last_lines(text, 20));
    progress(describe(c.point.values) + " failed");
  }

  void progress(const std::string& what) {
    if (!what.empty()) m_last_what = what;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const size_t now_done = m_ran;
    const size_t remaining = m_total > m_done ? m_total - m_done : 0;
    std::string eta = "?";
    if (now_done > 0)
      eta = format_duration(elapsed / static_cast<double>(now_done) * static_cast<double>(remaining));
    const auto pct = m_total ? 100 * m_done / m_total : 100;
    std::ostringstream line;
    line << "[" << m_done << "/" << m_total << "] " << pct << "% eta " << eta << "  " << m_last_what;
    if (m_tty) {
      const size_t filled = m_total ? 20 * m_done / m_total : 20;
      std::cerr << "\r\x1b[K" << std::string(filled, '#') << std::string(20 - filled, '.') << " "
                << line.str() << std::flush;
      m_printed_progress = true;
    } else if (!what.empty()) {
      std::cerr << line.str() << "\n";
    }
  }

  void stop() {
    if (m_stopping) return;
    m_stopping = true;
    for (const auto& [pid, c] : m_running) kill(pid, SIGTERM);
  }

  const sweep_plan& m_plan;
  std::string m_dir;
  unsigned m_jobs;
  bool m_tty;
  bool m_printed_progress = false;
  bool m_stopping = false;
  size_t m_total = 0, m_done = 0, m_ran = 0;
  std::string m_last_what;
  std::chrono::steady_clock::time_point m_start, m_last_csv;
  std::map<pid_t, child> m_running;
  std::map<size_t, std::vector<std::string>> m_rows;
  std::vector<failure> m_failures;
  std::string m_io_error;
};

// Every finished point of the plan in DIR, as results.csv rows.
std::map<size_t, std::vector<std::string>> finished_rows(const sweep_plan& plan, const std::string& dir,
                                                         std::vector<sweep_point>* mismatched) {
  std::map<size_t, std::vector<std::string>> rows;
  std::error_code ec;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto p = plan.point(i);
    const auto path = points_dir(dir) / (p.id + ".json");
    if (!fs::exists(path, ec)) continue;
    bool mismatch = false;
    const auto j = load_point_json(path, plan, p, &mismatch);
    if (!j.is_null())
      rows[i] = csv_row(p, j);
    else if (mismatched)
      mismatched->push_back(p);
  }
  return rows;
}

void load_scenario(const std::string& path, config& cfg, std::vector<grid_axis>& grids, std::string& title) {
  const std::string text = read_input_file(path, "scenario file");
  // The knobs first: that also checks the whole document, sweep: included (one
  // YAML document, every key a plain name given once).
  cfg.load_yaml_text(text, path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    bad_input(host::yaml_input::at(path, e.mark) + ": " + e.msg);
  }
  const YAML::Node& croot = root;
  if (!root.IsMap() || !croot["sweep"]) return;
  const YAML::Node sw = croot["sweep"];
  const auto where = [&path](const YAML::Node& n) { return host::yaml_input::at(path, n.Mark()); };
  if (!sw.IsMap()) bad_input(where(sw) + ": sweep must be a map with grid: and title:");
  for (const auto& kv : sw) {
    const auto& key = kv.first.Scalar();  // a plain name: load_yaml_text checked
    if (key == "title") {
      if (!kv.second.IsScalar()) bad_input(where(kv.second) + ": sweep.title must be a single line of text");
      title = kv.second.Scalar();
    } else if (key == "grid") {
      if (!kv.second.IsMap())
        bad_input(where(kv.second) + ": sweep.grid must be a map of KEY: SPEC (e.g. rate: 1:10:1)");
      for (const auto& g : kv.second) {
        const auto& name = g.first.Scalar();
        std::string spec;
        if (g.second.IsScalar()) {
          spec = g.second.Scalar();
        } else if (g.second.IsSequence()) {
          for (const auto& v : g.second) {
            if (!v.IsScalar()) bad_input(where(v) + ": sweep.grid." + name + " must list single values");
            spec += (spec.empty() ? "" : ",") + v.Scalar();
          }
        } else {
          bad_input(where(g.first) + ": sweep.grid." + name + " must be a spec (1:10:1) or a list of values");
        }
        grids.push_back({name, spec, {}});
      }
    } else {
      bad_input(where(kv.first) + ": unknown key 'sweep." + key + "' (a sweep section has grid: and title:)");
    }
  }
}

}  // namespace

std::vector<std::string> expand_grid_values(const config& scratch, const std::string& key,
                                            const std::string& spec, const std::string& origin) {
  const auto it = scratch.knobs().find(key);
  if (it == scratch.knobs().end())
    bad_input(origin + ": unknown key '" + key + "' (aliases: " + alias_list() +
              "; `nicsim knobs` lists every key)");
  const bool numeric = it->second.type == config::kind::number || it->second.type == config::kind::integer;
  const bool integral = it->second.type == config::kind::integer;
  if (trim(spec).empty()) bad_input(origin + ": " + key + " has no values");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& raw : split(spec, ',')) {
    const auto item = trim(raw);
    if (item.empty()) bad_input(origin + ": " + key + " = '" + spec + "' has an empty value");
    std::vector<std::string> texts;
    if (it->second.type == config::kind::hex) {
      texts.push_back(item);  // ethtool's aa:bb:... is a value here, not a range
    } else if (item.find(':') != std::string::npos) {
      if (!numeric) bad_input(origin + ": " + key + " is not numeric; list its values (a,b,c), not a range");
      for (const double v : expand_range(item, key, integral, origin)) texts.push_back(format_number(v));
    } else {
      double v = 0;
      texts.push_back(numeric && parse_double(item, v) ? format_number(v) : item);
    }
    for (const auto& t : texts) {
      config probe = scratch;
      probe.set(key, t, origin);  // type and range, with the key and value in the message
      // One spelling per value (hex keys in any case or with colons are the same key).
      const std::string canonical = it->second.type == config::kind::hex ? probe.text(key) : t;
      if (seen.insert(canonical).second) out.push_back(canonical);
    }
    if (out.size() > MAX_VALUES_PER_GRID) bad_input(origin + ": " + key + " has too many values");
  }
  return out;
}

size_t sweep_plan::size() const {
  size_t n = 1;
  for (const auto& g : grids) n *= g.values.size();
  return n;
}

sweep_point sweep_plan::point(size_t index) const {
  sweep_point p{index, "", assignment(grids.size())};
  size_t rest = index;
  for (size_t g = grids.size(); g-- > 0;) {
    const auto& vals = grids[g].values;
    p.values[g] = {grids[g].key, vals[rest % vals.size()]};
    rest /= vals.size();
  }
  p.id = point_id(index, size(), p.values);
  return p;
}

std::string sweep_plan::difference(const sweep_plan& other) const {
  auto grid_text = [](const std::vector<grid_axis>& axes) {
    std::string s;
    for (const auto& g : axes) {
      std::string vals;
      for (const auto& v : g.values) vals += (vals.empty() ? "" : ",") + v;
      s += (s.empty() ? "" : " ") + g.key + "=" + vals;
    }
    return s.empty() ? std::string("(no grid)") : s;
  };
  bool same_grid = grids.size() == other.grids.size();
  for (size_t i = 0; same_grid && i < grids.size(); ++i)
    same_grid = grids[i].key == other.grids[i].key && grids[i].values == other.grids[i].values;
  if (!same_grid) return "this grid is " + grid_text(grids) + ", that one is " + grid_text(other.grids);
  for (const auto& [k, v] : base) {
    const auto it = other.base.find(k);
    if (it == other.base.end()) return "knob " + k + " is missing there (made by another nicsim version)";
    if (it->second != v) return "knob " + k + " is " + v + " here and " + it->second + " there";
  }
  for (const auto& [k, v] : other.base)
    if (base.count(k) == 0) return "it has knob " + k + ", unknown to this nicsim";
  return "";
}

ordered_json sweep_plan::to_json() const {
  ordered_json j;
  j["format"] = SWEEP_FORMAT;
  j["scenario"] = scenario;
  j["title"] = title;
  j["sets"] = ordered_json::array();
  for (const auto& [k, v] : sets) j["sets"].push_back(k + "=" + v);
  j["grid"] = ordered_json::array();
  for (const auto& g : grids) j["grid"].push_back({{"key", g.key}, {"spec", g.spec}, {"values", g.values}});
  j["points"] = size();
  j["base"] = ordered_json::object();
  for (const auto& [k, v] : base) j["base"][k] = v;
  return j;
}

std::string point_id(size_t index, size_t total, const assignment& values) {
  std::string text;
  for (const auto& [k, v] : values) text += k + "=" + v + "\n";
  const uint64_t h = fnv1a(text);
  const auto folded = static_cast<unsigned>((h ^ (h >> 32)) & 0xffffffffu);
  size_t width = 4;
  for (size_t n = total > 0 ? total - 1 : 0; n >= 10000; n /= 10) ++width;
  char buf[64];
  std::snprintf(buf, sizeof buf, "p%0*zu-%08x", static_cast<int>(width), index, folded);
  return buf;
}

sweep_plan make_sweep_plan(const std::string& scenario, const std::vector<std::string>& grid_args,
                           const std::vector<std::string>& set_args) {
  sweep_plan plan;
  plan.scenario = scenario;
  config cfg;
  std::vector<grid_axis> file_grids;
  if (!scenario.empty()) load_scenario(scenario, cfg, file_grids, plan.title);
  for (const auto& s : set_args) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) bad_input("--set '" + s + "': expected KEY=VALUE");
    const auto key = resolve_key(s.substr(0, eq));
    cfg.set(key, s.substr(eq + 1), "--set");
    plan.sets.emplace_back(key, s.substr(eq + 1));
  }
  // The scenario's grids first, in file order; a --grid on the same key replaces it.
  std::vector<std::pair<grid_axis, std::string>> axes;  // axis, origin
  for (auto& g : file_grids) {
    const auto origin = scenario + ": sweep.grid." + g.key;
    g.key = resolve_key(g.key);
    for (const auto& [a, o] : axes)
      if (a.key == g.key) bad_input(origin + ": " + g.key + " is already a grid of this scenario");
    axes.emplace_back(g, origin);
  }
  std::set<std::string> from_command_line;
  for (const auto& arg : grid_args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      bad_input("--grid '" + arg + "': expected KEY=V1,V2,... or KEY=A:B:STEP");
    const auto name = arg.substr(0, eq);
    grid_axis g{resolve_key(name), arg.substr(eq + 1), {}};
    const auto origin = "--grid " + name;
    if (!from_command_line.insert(g.key).second) bad_input(origin + ": " + g.key + " has two --grid options");
    bool replaced = false;
    for (auto& [a, o] : axes)
      if (a.key == g.key) {
        a = g;
        o = origin;
        replaced = true;
      }
    if (!replaced) axes.emplace_back(g, origin);
  }
  for (auto& [g, origin] : axes) {
    for (const auto& [k, v] : plan.sets)
      if (k == g.key)
        bad_input("--set " + k + " and a grid over " + k +
                  " both given; to pin a grid to one value, use --grid " + short_name(k) + "=VALUE");
    g.values = expand_grid_values(cfg, g.key, g.spec, origin);
    plan.grids.push_back(g);
  }
  size_t total = 1;
  for (const auto& g : plan.grids) {
    total *= g.values.size();
    if (total > MAX_POINTS)
      bad_input("the grid has more than " + std::to_string(MAX_POINTS) +
                " points; split it into several sweeps");
  }
  const auto& defaults = default_config();
  for (const auto& [k, knob] : cfg.knobs()) {
    plan.base[k] = knob.value;
    bool is_grid = false;
    for (const auto& g : plan.grids) is_grid = is_grid || g.key == k;
    if (!is_grid && defaults.text(k) != knob.value) plan.child_sets.push_back(k + "=" + knob.value);
  }
  // Every point must be a valid run before the first one starts.
  for (size_t i = 0; i < total; ++i) {
    const auto p = plan.point(i);
    config c = cfg;
    for (const auto& [k, v] : p.values) c.set(k, v, "grid");
    try {
      c.validate();
    } catch (const config_error& e) {
      bad_input("point " + std::to_string(i) + " (" + describe(p.values) + "): " + e.what());
    }
  }
  return plan;
}

sweep_plan load_sweep_plan(const std::string& sweep_json_path) {
  std::string text;
  if (!read_text(sweep_json_path, text))
    bad_input(sweep_json_path + ": cannot read (is this a sweep directory?)");
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != SWEEP_FORMAT || !j.contains("base") ||
      !j["base"].is_object() || !j.contains("grid"))
    bad_input(sweep_json_path + ": not a nicsim sweep description");
  sweep_plan plan;
  const auto& defaults = default_config();
  try {
    plan.scenario = j.value("scenario", "");
    plan.title = j.value("title", "");
    for (const auto& s : j.value("sets", json::array())) {
      const auto text_set = s.get<std::string>();
      const auto eq = text_set.find('=');
      plan.sets.emplace_back(text_set.substr(0, eq), eq == std::string::npos ? "" : text_set.substr(eq + 1));
    }
    for (const auto& g : j.at("grid"))
      plan.grids.push_back({g.at("key").get<std::string>(), g.value("spec", ""),
                            g.at("values").get<std::vector<std::string>>()});
    for (const auto& [k, v] : j.at("base").items()) plan.base[k] = v.get<std::string>();
  } catch (const json::exception& e) {
    bad_input(sweep_json_path + ": not a nicsim sweep description (" + e.what() + ")");
  }
  for (const auto& g : plan.grids)
    if (!defaults.has(g.key) || g.values.empty())
      bad_input(sweep_json_path + ": grid key " + g.key + " is unknown");
  for (const auto& [k, value] : plan.base) {
    if (!defaults.has(k)) bad_input(sweep_json_path + ": knob " + k + " is unknown to this nicsim");
    bool is_grid = false;
    for (const auto& g : plan.grids) is_grid = is_grid || g.key == k;
    if (!is_grid && defaults.text(k) != value) plan.child_sets.push_back(k + "=" + value);
  }
  return plan;
}

shard_spec parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  double k = 0, n = 0;
  if (slash == std::string::npos || !parse_double(text.substr(0, slash), k) ||
      !parse_double(text.substr(slash + 1), n) || std::floor(k) != k || std::floor(n) != n || n < 1 ||
      k < 1 || k > n || n > 1e6)
    bad_input("--shard '" + text + "': expected K/N with 1 <= K <= N (e.g. --shard 3/8)");
  return {static_cast<size_t>(k), static_cast<size_t>(n)};
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> columns{
      "sim_time_ns",
      "host.cpus",
      "offered_gbps",
      "offered_kpps",
      "wire.frames",
      "app.messages",
      "delivered_kpps",
      "delivered_pct",
      "drops",
      "nic.rx_missed",
      "nic.rx_no_buffer_count",
      "nic.rx_no_dma_resources",
      "host.softnet.dropped",
      "udp.RcvbufErrors",
      "udp.NoPorts",
      "udp.InErrors",
      "nic.interrupts",
      "interrupts_per_s",
      "host.hardirqs",
      "host.napi_polls",
      "host.softnet.time_squeeze",
      "host.ksoftirqd_wakeups",
      "host.context_switches",
      "latency_ns.p50",
      "latency_ns.p99",
      "latency_ns.p999",
      "latency_ns.max",
      "host.cpu_ns.user",
      "host.cpu_ns.system",
      "host.cpu_ns.hardirq",
      "host.cpu_ns.softirq",
      "host.cpu_ns.ksoftirqd",
      "host.cpu_ns.idle",
      "conservation.ok",
  };
  return columns;
}

std::vector<std::string> result_row(const json& j) {
  auto at = [&j](const std::string& dotted) -> const json* {
    std::string ptr = "/" + dotted;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    const json::json_pointer p(ptr);
    return j.contains(p) ? &j.at(p) : nullptr;
  };
  auto num = [&at](const std::string& dotted, double& v) {
    const json* x = at(dotted);
    if (x == nullptr || !x->is_number()) return false;
    v = x->get<double>();
    return true;
  };
  double sim_ns = 0, frames = 0, messages = 0, irqs = 0;
  const bool have_time = num("sim.sim_time_ns", sim_ns) && sim_ns > 0;
  std::vector<std::string> row;
  for (const auto& c : result_columns()) {
    std::string cell;
    if (c == "sim_time_ns") {
      if (const json* x = at("sim.sim_time_ns")) cell = x->dump();
    } else if (c == "offered_gbps") {
      double v = 0;
      if (j.contains("config") && j["config"].contains("traffic.rate_gbps") &&
          parse_double(j["config"]["traffic.rate_gbps"].get<std::string>(), v))
        cell = format_derived(v);
    } else if (c == "offered_kpps") {
      if (have_time && num("wire.frames", frames)) cell = format_derived(frames * 1e6 / sim_ns);
    } else if (c == "delivered_kpps") {
      if (have_time && num("app.messages", messages)) cell = format_derived(messages * 1e6 / sim_ns);
    } else if (c == "delivered_pct") {
      if (num("wire.frames", frames) && num("app.messages", messages) && frames > 0)
        cell = format_derived(100 * messages / frames);
    } else if (c == "drops") {
      if (const json* x = at("conservation.dropped")) cell = x->dump();
    } else if (c == "interrupts_per_s") {
      if (have_time && num("nic.interrupts", irqs)) cell = format_derived(irqs * 1e9 / sim_ns);
    } else if (const json* x = at(c)) {
      if (x->is_boolean())
        cell = x->get<bool>() ? "true" : "false";
      else if (x->is_number_float())
        cell = format_derived(x->get<double>());
      else if (x->is_primitive() && !x->is_null())
        cell = x->is_string() ? x->get<std::string>() : x->dump();
    }
    row.push_back(cell);
  }
  return row;
}

std::string results_csv(const sweep_plan& plan, const std::string& dir) {
  return csv_text(plan, finished_rows(plan, dir, nullptr));
}

int sweep_command(const sweep_options& opts) {
  sweep_plan plan;
  shard_spec shard;
  dir_lock lock;  // held until the sweep returns
  try {
    if (opts.out.empty() && !opts.dry_run) bad_input("--out DIR is required");
    plan = make_sweep_plan(opts.scenario, opts.grids, opts.sets);
    if (!opts.shard.empty()) shard = parse_shard(opts.shard);
    if (opts.dry_run) {
      size_t in_shard = 0;
      for (size_t i = 0; i < plan.size(); ++i) in_shard += shard.contains(i) ? 1 : 0;
      std::cout << plan.size() << " points";
      if (shard.n > 1) std::cout << ", " << in_shard << " in shard " << shard.k << "/" << shard.n;
      std::cout << "\n";
      for (size_t i = 0; i < plan.size(); ++i)
        if (shard.contains(i)) {
          const auto p = plan.point(i);
          std::cout << p.id << "  " << describe(p.values) << "\n";
        }
      return EXIT_OK;
    }
    open_sweep_dir(plan, opts.out, lock, "nicsim sweep");
  } catch (const config_error& e) {
    std::cerr << "nicsim sweep: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }

  unsigned jobs = opts.jobs;
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  sweep_runner runner(plan, opts.out, jobs);
  std::vector<sweep_point> pending;
  size_t in_shard = 0, already = 0;
  std::error_code ec;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto p = plan.point(i);
    const auto path = points_dir(opts.out) / (p.id + ".json");
    json j;
    bool mismatch = false;
    if (fs::exists(path, ec)) j = load_point_json(path, plan, p, &mismatch);
    if (mismatch)
      std::cerr << "nicsim sweep: " << path.string() << " is not a complete result of point " << p.id
                << "; it runs again\n";
    if (!j.is_null()) runner.add_finished(p, j);
    if (!shard.contains(i)) continue;
    ++in_shard;
    if (j.is_null())
      pending.push_back(p);
    else
      ++already;
  }
  std::cerr << "nicsim sweep: " << plan.size() << " points";
  if (shard.n > 1) std::cerr << ", " << in_shard << " in shard " << shard.k << "/" << shard.n;
  if (already > 0) std::cerr << ", " << already << " already finished";
  if (pending.empty())
    std::cerr << "; nothing to run in " << opts.out << "\n";
  else
    std::cerr << "; running " << pending.size() << " with " << std::min<size_t>(jobs, pending.size())
              << " job(s) into " << opts.out << "\n";
  append_log(opts.out,
             "sweep " + std::to_string(pending.size()) + " to run" +
                 (shard.n > 1 ? " (shard " + std::to_string(shard.k) + "/" + std::to_string(shard.n) + ")"
                              : std::string()));
  const auto outcome = runner.run(pending, in_shard, already);
  // The CSV holds every finished point found in the directory (a merge may have added some).
  std::string io_error = runner.io_error();
  if (io_error.empty()) {
    try {
      write_whole_file(fs::path(opts.out) / "results.csv", results_csv(plan, opts.out));
    } catch (const sweep_io_error& e) {
      io_error = e.what();
    }
  }
  const auto csv = (fs::path(opts.out) / "results.csv").string();
  if (!io_error.empty()) {
    append_log(opts.out, "stopped: " + io_error);
    std::cerr << "nicsim sweep: stopped: " << io_error << ". The finished points are kept in "
              << points_dir(opts.out).string() << "; make room and run the same command again to resume.\n";
    return EXIT_INTERNAL;
  }
  if (outcome == sweep_runner::outcome::interrupted) {
    append_log(opts.out, "interrupted");
    std::cerr << "nicsim sweep: interrupted; finished points are kept in " << csv
              << ". Run the same command again to resume.\n";
    return EXIT_INTERRUPTED;
  }
  const auto& failed = runner.failures();
  std::cerr << "nicsim sweep: " << (in_shard - failed.size()) << " of " << in_shard << " points done ("
            << runner.ran() - failed.size() << " ran now";
  if (already > 0) std::cerr << ", " << already << " finished before";
  std::cerr << ")";
  if (!failed.empty()) std::cerr << ", " << failed.size() << " failed";
  std::cerr << "; results in " << csv << "\n";
  if (opts.report) {
    if (shard.n > 1)
      std::cerr
          << "nicsim sweep: no report for a shard; `nicsim merge OUT SHARD_DIR...` joins the shards and "
             "draws it\n";
    else if (!draw_report(opts.out))
      remove_leftovers(opts.out);  // what a failed report script left half-written
  }
  if (!failed.empty()) {
    std::cerr << "nicsim sweep: failed points (their output is in points/<id>.err; rerun the same command to "
                 "retry them):\n";
    for (const auto& f : failed)
      std::cerr << "  " << f.point.id << "  " << describe(f.point.values) << ": " << f.why << "\n";
    return EXIT_INTERNAL;
  }
  return EXIT_OK;
}

int merge_command(const std::string& out, const std::vector<std::string>& shard_dirs, bool report) {
  sweep_plan plan;
  std::vector<sweep_plan> plans;
  dir_lock lock;  // held until the merge returns
  try {
    if (shard_dirs.empty()) bad_input("merge: name at least one shard directory");
    for (const auto& d : shard_dirs) plans.push_back(load_sweep_plan((fs::path(d) / "sweep.json").string()));
    plan = plans.front();
    for (size_t i = 1; i < plans.size(); ++i) {
      const auto diff = plan.difference(plans[i]);
      if (!diff.empty())
        bad_input(shard_dirs[i] + " is not a shard of the same sweep as " + shard_dirs.front() + ": " + diff);
    }
    open_sweep_dir(plan, out, lock, "nicsim merge");
  } catch (const config_error& e) {
    std::cerr << "nicsim merge: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  size_t copied = 0, present = 0;
  std::vector<sweep_point> missing;
  std::error_code ec;
  try {
    for (size_t i = 0; i < plan.size(); ++i) {
      const auto p = plan.point(i);
      const auto target = points_dir(out) / (p.id + ".json");
      bool have = fs::exists(target, ec) && !load_point_json(target, plan, p, nullptr).is_null();
      for (const auto& d : shard_dirs) {
        if (have) break;
        const auto source = points_dir(d) / (p.id + ".json");
        if (!fs::exists(source, ec) || fs::equivalent(source, target, ec)) continue;
        bool mismatch = false;
        if (load_point_json(source, plan, p, &mismatch).is_null()) {
          if (mismatch)
            std::cerr << "nicsim merge: " << source.string() << " does not hold point " << p.id
                      << "; skipped\n";
          continue;
        }
        std::string text;
        if (!read_text(source, text)) continue;
        write_whole_file(target, text);
        ++copied;
        have = true;
      }
      if (have)
        ++present;
      else
        missing.push_back(p);
    }
    write_whole_file(fs::path(out) / "results.csv", results_csv(plan, out));
  } catch (const std::exception& e) {
    append_log(out, "merge stopped: " + std::string(e.what()));
    std::cerr << "nicsim merge: stopped: " << e.what() << "; the points copied so far are kept in "
              << points_dir(out).string() << "; make room and run the same command again.\n";
    return EXIT_INTERNAL;
  }
  append_log(out, "merge " + std::to_string(copied) + " points copied from " +
                      std::to_string(shard_dirs.size()) + " directories");
  std::cerr << "nicsim merge: " << present << " of " << plan.size() << " points (" << copied
            << " copied from " << shard_dirs.size() << " directories); results in "
            << (fs::path(out) / "results.csv").string() << "\n";
  if (report && !draw_report(out)) remove_leftovers(out);
  if (!missing.empty()) {
    std::cerr << "nicsim merge: " << missing.size() << " points have no result yet:\n";
    for (size_t i = 0; i < missing.size() && i < 20; ++i)
      std::cerr << "  " << missing[i].id << "  " << describe(missing[i].values) << "\n";
    if (missing.size() > 20) std::cerr << "  ...\n";
    return EXIT_INTERNAL;
  }
  return EXIT_OK;
}

int report_command(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "results.csv", ec)) {
    std::cerr << "nicsim report: " << (fs::path(dir) / "results.csv").string() << " does not exist\n";
    return EXIT_BAD_INPUT;
  }
  return draw_report(dir) ? EXIT_OK : EXIT_INTERNAL;
}

std::string sweep_help_footer() {
  std::string aliases;
  for (const auto& a : key_aliases()) aliases += std::string("  ") + a.alias + " = " + a.key + "\n";
  return "Grid values (--grid KEY=SPEC, repeatable; SPEC is a comma-separated list of values and ranges):\n"
         "  0,20,50      these values          1:10      1 to 10 in steps of 1\n"
         "  0:100:25     0,25,50,75,100        1:1000:log4   4 log-spaced values: 1,10,100,1000\n"
         "  64:1024:*2   64,128,...,1024       true,false    values of a non-numeric knob\n"
         "Ranges include both ends. Log-spaced values of integer knobs are rounded; duplicates are dropped.\n"
         "A scenario file may carry its grids: `sweep: {title: ..., grid: {rx-usecs: 0:100:25}}`;\n"
         "a --grid on the same key replaces the file's.\n"
         "Short names (also for --set):\n" +
         aliases +
         "Every point is a `nicsim run` child process. Points are validated before any runs.\n"
         "DIR gets sweep.json, points/<id>.json (full statistics), results.csv (one row per point),\n"
         "sweep.log, and report.html with plots/ (drawn by /usr/bin/python3 scripts/sweep_report.py).\n"
         "Rerunning the same command resumes: finished points are skipped, failed ones retried, and\n"
         "what a killed sweep left half-written is removed. One sweep at a time uses DIR (DIR/sweep.lock).\n"
         "Exit status: 0 all points done, 1 some points failed (the rest still ran) or DIR could not be\n"
         "written (a full disk), 2 bad input or DIR in use, 130 interrupted.";
}

}  // namespace nicsim::tb
