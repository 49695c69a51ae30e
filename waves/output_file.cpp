#include "waves/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace nicsim::waves {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& p) {
  const std::string dir = fs::path(p).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::string base_of(const std::string& p) { return fs::path(p).filename().string(); }

std::string absolute_dir(const std::string& dir) {
  char buf[PATH_MAX];
  if (::realpath(dir.c_str(), buf) == nullptr) return fs::absolute(dir).string();
  return buf;
}

// /dev/null (Linux's memory device 1:3): two outputs there clobber nothing.
bool is_null_device(const output_target& t) {
  return t.stream && t.exists && S_ISCHR(t.mode) && major(t.rdev) == 1 && minor(t.rdev) == 3;
}

// Whether path reaches its file through a process's descriptor (/dev/stdout,
// /dev/fd/N, /proc/self/fd/N): what that descriptor is open on is written in
// place, never replaced -- replacing would cut it off from whoever opened it.
bool through_descriptor(std::string p) {
  auto is_fd_path = [](const std::string& s) {
    if (s.rfind("/dev/fd/", 0) == 0) return true;
    if (s.rfind("/proc/", 0) != 0) return false;
    const size_t fd = s.find("/fd/");
    return fd != std::string::npos && s.find('/', 6) == fd;  // /proc/<pid or self>/fd/N
  };
  struct stat st {};
  for (int hops = 0; hops < 40; ++hops) {
    if (is_fd_path(p)) return true;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return false;
    std::array<char, PATH_MAX> link{};
    const ssize_t n = ::readlink(p.c_str(), link.data(), link.size() - 1);
    if (n < 0) return false;
    const std::string to(link.data(), static_cast<size_t>(n));
    p = (!to.empty() && to[0] == '/') ? to : parent_of(p) + "/" + to;
  }
  return false;
}

// A name no other file has in dir, made with O_EXCL; returns the open descriptor.
int create_unique(const std::string& stem, const std::string& suffix, std::string* name) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tag(6, 'x');
    for (char& c : tag) c = alphabet[rng() % (sizeof alphabet - 1)];
    *name = stem + "." + tag + suffix;
    const int fd = ::open(name->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Writes text whole and closes fd; returns 0, or the errno of the first failure (a close
// that fails after good writes is a failure too: NFS and full disks report there).
int write_all_and_close(int fd, const std::string& text) {
  int err = write_all(fd, text.data(), text.size()) ? 0 : errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

// Moves a finished staged file onto its target (same directory or not).
void move_into_place(const std::string& staged, const output_target& t) {
  if (t.exists) ::chmod(staged.c_str(), t.mode & 07777);
  if (std::rename(staged.c_str(), t.target.c_str()) == 0) return;
  const int err = errno;
  if (err != EXDEV)
    throw std::runtime_error(t.path + ": cannot rename the finished file into place: " + errno_text(err));
  // Another file system: copy next to the target, then rename there.
  std::string tmp;
  const int fd = create_unique(t.target, ".tmp", &tmp);
  if (fd < 0) throw std::runtime_error(t.path + ": cannot write: " + errno_text(errno));
  std::FILE* in = std::fopen(staged.c_str(), "rb");
  bool ok = in != nullptr;
  std::array<char, 1 << 16> buf{};
  while (ok) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), in);
    if (n == 0) {
      ok = !std::ferror(in);
      break;
    }
    ok = write_all(fd, buf.data(), n);
  }
  const int werr = errno;
  if (in) std::fclose(in);
  if (::close(fd) != 0) ok = false;
  if (ok && t.exists) ::chmod(tmp.c_str(), t.mode & 07777);
  if (!ok || std::rename(tmp.c_str(), t.target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(t.path + ": write failed: " + errno_text(ok ? errno : werr));
  }
  ::unlink(staged.c_str());
}

// ---- Staging directories removed when a signal ends the process (Ctrl-C, kill,
// a FIFO's reader gone). Only async-signal-safe calls in the handler: the list
// is built before it is published and never changed while published.
struct staging_list {
  std::vector<std::string> dirs;
};
std::array<std::atomic<const staging_list*>, 4> g_staging{};

void remove_directory_tree_on_signal(const char* dir) {
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      const char* name = buf + off + 19;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) ::unlinkat(fd, name, 0);
      off += reclen;
    }
  }
  ::close(fd);
  ::rmdir(dir);
}

extern "C" void remove_staging_on_signal(int sig) {
  for (auto& slot : g_staging)
    if (const staging_list* l = slot.load())
      for (const auto& d : l->dirs) remove_directory_tree_on_signal(d.c_str());
  if (sig == SIGBUS) {
    // The FST library maps its hierarchy file to compress it; when the disk filled
    // up while that file was written, touching the mapping past its end lands here.
    static const char msg[] =
        "nicsim: internal failure: bus error (a file mapped past its end: is the disk full?)\n";
    if (::write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
    }
    ::_exit(1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void publish_staging(const staging_list* list) {
  static const bool installed = [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        std::signal(sig, remove_staging_on_signal);
    }
    // Also over a sanitizer's handler: a bus error here is a short file, not a bug to report.
    std::signal(SIGBUS, remove_staging_on_signal);
    return true;
  }();
  (void)installed;
  for (auto& slot : g_staging) {
    const staging_list* none = nullptr;
    if (slot.compare_exchange_strong(none, list)) return;
  }
}

void withdraw_staging(const staging_list* list) {
  for (auto& slot : g_staging) {
    const staging_list* mine = list;
    slot.compare_exchange_strong(mine, nullptr);
  }
}

}  // namespace

output_target resolve_output(const std::string& path, const std::string& option) {
  const std::string who = option.empty() ? path : option + " " + path;
  auto bad = [&who](const std::string& why) { return output_path_error(who + ": " + why); };
  if (path.empty()) throw bad("an empty path");
  if (path.back() == '/') throw bad("names a directory");
  output_target t;
  t.option = option;
  t.path = path;
  struct stat st {};
  std::string p = path;
  if (::stat(path.c_str(), &st) == 0) {
    // It exists (through any symlinks, /proc/self/fd/N ones included).
    t.exists = true;
    if (S_ISDIR(st.st_mode)) throw bad("is a directory");
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      t.stream = true;
    } else if (!S_ISREG(st.st_mode)) {
      throw bad("is not a regular file, a character device or a FIFO");
    } else {
      t.stream = through_descriptor(path);
    }
    if (::access(path.c_str(), W_OK) != 0) throw bad("cannot be written: " + errno_text(errno));
    t.dev = st.st_dev;
    t.ino = st.st_ino;
    t.rdev = st.st_rdev;
    t.mode = st.st_mode;
    if (t.stream) {
      t.target = path;  // opened by the name given; the same device is found by dev/ino
      return t;
    }
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr) throw bad(errno_text(errno));
    p = real;
  } else {
    const int err = errno;
    if (err == ENOTDIR) throw bad("a part of the path is not a directory");
    if (err != ENOENT) throw bad(errno_text(err));
    // A new file, maybe named by a dangling symlink: follow it link by link.
    for (int hops = 0; ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode); ++hops) {
      if (hops >= 40) throw bad("too many levels of symbolic links");
      std::array<char, PATH_MAX> link{};
      const ssize_t n = ::readlink(p.c_str(), link.data(), link.size() - 1);
      if (n < 0) throw bad(errno_text(errno));
      const std::string to(link.data(), static_cast<size_t>(n));
      p = (!to.empty() && to[0] == '/') ? to : parent_of(p) + "/" + to;
    }
    if (base_of(p).empty() || base_of(p) == "." || base_of(p) == "..") throw bad("names a directory");
  }
  // A new file, or one replaced by a rename, needs its directory.
  const std::string dir = parent_of(p);
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) != 0) {
    if (errno == ENOENT) throw bad("directory " + dir + " does not exist");
    if (errno == ENOTDIR) throw bad("a part of the path is not a directory");
    throw bad("directory " + dir + ": " + errno_text(errno));
  }
  if (!S_ISDIR(ds.st_mode)) throw bad(dir + " is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw bad("cannot create files in directory " + dir + ": " + errno_text(errno));
  t.target = absolute_dir(dir) + "/" + base_of(p);
  return t;
}

void write_output_file(const std::string& path, const std::string& text) {
  const output_target t = resolve_output(path, "");
  if (t.stream) {
    const int fd = ::open(t.target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(path + ": cannot write: " + errno_text(errno));
    const int err = write_all_and_close(fd, text);
    if (err != 0) throw std::runtime_error(path + ": write failed: " + errno_text(err));
    return;
  }
  std::string tmp;
  const int fd = create_unique(t.target, ".tmp", &tmp);
  if (fd < 0) throw std::runtime_error(path + ": cannot write: " + errno_text(errno));
  const int err = write_all_and_close(fd, text);
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": write failed: " + errno_text(err));
  }
  try {
    move_into_place(tmp, t);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void checked_vfprintf(std::FILE* file, int& err, uint64_t& bytes, const char* format, va_list args) {
  const int n = std::vfprintf(file, format, args);
  if (n < 0)
    err = errno != 0 ? errno : EIO;
  else
    bytes += static_cast<uint64_t>(n);
}

// ------------------------------------------------------------------ output_set

// The signal handler's copy of m_staging.
struct output_set::signal_guard {
  staging_list list;
};

output_set::output_set() = default;
output_set::~output_set() { discard(); }

size_t output_set::add(const std::string& path, const std::string& option) {
  if (m_open) throw std::logic_error("output_set::add after open");
  output_target t = resolve_output(path, option);
  for (const entry& e : m_out) {
    const bool same =
        e.t.target == t.target || (e.t.exists && t.exists && e.t.dev == t.dev && e.t.ino == t.ino);
    if (same && !(is_null_device(e.t) && is_null_device(t)))
      throw output_path_error(e.t.option + " " + e.t.path + " and " + t.option + " " + t.path +
                              " are one file (" + t.target + "): give each output its own path");
  }
  m_out.push_back({std::move(t), {}});
  return m_out.size() - 1;
}

void output_set::open() {
  if (m_open) return;
  m_open = true;
  std::vector<std::pair<std::string, std::string>> staging_of;  // target directory → staging directory
  for (entry& e : m_out) {
    if (e.t.stream) {
      e.write = e.t.target;
      continue;
    }
    const std::string dir = parent_of(e.t.target);
    std::string staging;
    for (const auto& [d, s] : staging_of)
      if (d == dir) staging = s;
    if (staging.empty()) {
      std::string tmpl = dir + "/.nicsim-staging-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error(e.t.path + ": cannot create a staging directory in " + dir + ": " +
                                 errno_text(errno));
      staging = tmpl;
      staging_of.emplace_back(dir, staging);
      m_staging.push_back(staging);
    }
    e.write = staging + "/" + std::to_string(&e - m_out.data()) + "-" + base_of(e.t.target);
  }
  if (!m_staging.empty()) {
    m_guard = std::make_unique<signal_guard>();
    m_guard->list.dirs = m_staging;
    publish_staging(&m_guard->list);
  }
}

void output_set::set_write_path(size_t i, const std::string& staged) {
  entry& e = m_out.at(i);
  bool inside = false;
  for (const auto& s : m_staging) inside = inside || parent_of(staged) == s;
  if (e.t.stream || !inside) throw std::logic_error("set_write_path: " + staged + " is not staged");
  e.write = staged;
}

void output_set::write_text(size_t i, const std::string& text) {
  const entry& e = m_out.at(i);
  const int fd = ::open(e.write.c_str(),
                        e.t.stream ? O_WRONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw std::runtime_error(e.t.path + ": cannot write: " + errno_text(errno));
  bool ok = write_all(fd, text.data(), text.size());
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) throw std::runtime_error(e.t.path + ": write failed: " + errno_text(err));
}

void output_set::commit() {
  if (!m_open) return;
  try {
    for (const entry& e : m_out) {
      struct stat st {};
      if (e.t.stream || ::lstat(e.write.c_str(), &st) != 0) continue;  // a writer that made nothing
      move_into_place(e.write, e.t);
    }
  } catch (...) {
    discard();
    throw;
  }
  discard();  // the staging directories, now empty of outputs
  m_out.clear();
}

void output_set::discard() {
  if (m_guard) {
    withdraw_staging(&m_guard->list);
    m_guard.reset();
  }
  for (const auto& s : m_staging) {
    std::error_code ec;
    fs::remove_all(s, ec);  // our own directory; remove_all does not follow symlinks
  }
  m_staging.clear();
}

// ------------------------------------------------------------------ FST check

bool fst_file_complete(const std::string& path, std::string* why) {
  auto fail = [why](const std::string& w) {
    if (why) *why = w;
    return false;
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return fail("cannot read it back: " + errno_text(errno));
  struct closer {
    std::FILE* f;
    ~closer() { std::fclose(f); }
  } close_it{f};
  if (::fseeko(f, 0, SEEK_END) != 0) return fail("cannot seek");
  const auto size = static_cast<uint64_t>(::ftello(f));
  auto read_u64 = [f](uint64_t* v) {
    std::array<unsigned char, 8> b{};
    if (std::fread(b.data(), 1, 8, f) != 8) return false;
    *v = 0;
    for (unsigned char c : b) *v = (*v << 8) | c;
    return true;
  };
  // Block tags and header offsets of the FST format (gtkwave's fstapi.h / fstapi.c).
  constexpr int BL_HDR = 0, BL_VCDATA = 1, BL_GEOM = 3, BL_HIER = 4, BL_VCDATA_DYN_ALIAS = 5, BL_HIER_LZ4 = 6,
                BL_HIER_LZ4DUO = 7, BL_VCDATA_DYN_ALIAS2 = 8, BL_SKIP = 255;
  constexpr long HDR_NUM_VARS = 49, HDR_SECTION_CNT = 65;  // the maximum handle follows the variables
  uint64_t vars = 0, maxhandle = 0, sections = 0, vc = 0;
  bool geom = false, hier = false;
  uint64_t pos = 0;
  while (pos < size) {
    if (size - pos < 9) return fail("a block header is cut off at byte " + std::to_string(pos));
    if (::fseeko(f, static_cast<off_t>(pos), SEEK_SET) != 0) return fail("cannot seek");
    const int tag = std::fgetc(f);
    uint64_t len = 0;
    if (tag == EOF || !read_u64(&len)) return fail("cannot read the block at byte " + std::to_string(pos));
    if (tag == BL_SKIP) return fail("the block at byte " + std::to_string(pos) + " was never finished");
    if (len < 8 || len > size - pos - 1)
      return fail("the block at byte " + std::to_string(pos) + " runs past the end of the file");
    if (pos == 0) {
      if (tag != BL_HDR) return fail("no FST header");
      if (::fseeko(f, HDR_NUM_VARS, SEEK_SET) != 0 || !read_u64(&vars) || !read_u64(&maxhandle) ||
          ::fseeko(f, HDR_SECTION_CNT, SEEK_SET) != 0 || !read_u64(&sections))
        return fail("cannot read the header");
    }
    if (tag == BL_VCDATA || tag == BL_VCDATA_DYN_ALIAS || tag == BL_VCDATA_DYN_ALIAS2) ++vc;
    if (tag == BL_GEOM) geom = true;
    if (tag == BL_HIER || tag == BL_HIER_LZ4 || tag == BL_HIER_LZ4DUO) hier = true;
    pos += 1 + len;
  }
  if (size == 0) return fail("the file is empty");
  if (vc != sections)
    return fail(std::to_string(vc) + " value-change blocks where the header counts " +
                std::to_string(sections));
  if (maxhandle > 0 && !geom) return fail("the geometry block is missing");
  if (vars > 0 && !hier) return fail("the hierarchy block is missing");
  return true;
}

}  // namespace nicsim::waves
