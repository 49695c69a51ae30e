#pragma once
// Running the real nicsim binary from a test, as a user would: exit status and
// everything it printed, plus small file helpers. One simulation per process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace nicsim::test {

struct outcome {
  int status;          // exit status, -1 when it did not exit normally
  std::string output;  // stdout and stderr
};

// Runs a shell command line, capturing stdout and stderr together.
inline outcome sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  outcome o{-1, ""};
  if (p == nullptr) return o;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) o.output.append(buf.data(), n);
  const int raw = pclose(p);
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return o;
}

inline std::string nicsim_bin() { return std::string(NICSIM_BINARY_DIR) + "/tb/nicsim"; }
inline outcome nicsim_cli(const std::string& args) { return sh(nicsim_bin() + " " + args); }
// A file in the build tree for one test's scratch output. The running test's
// suite and name are part of it, so no two tests share a scratch file even when
// they pick the same prefix and name (ctest -j runs them at the same time).
inline std::string scratch_path(const std::string& prefix, const std::string& name) {
  std::string test;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    test = std::string(info->test_suite_name()) + "." + info->name() + "_";
  for (char& c : test)
    if (c == '/') c = '_';  // parameterized tests: Suite/Name.Case/0
  return std::string(NICSIM_BINARY_DIR) + "/test_" + prefix + "_" + test + name;
}

// A fresh, empty directory in the build tree for one test's output files.
inline std::string scratch_dir(const std::string& prefix, const std::string& name) {
  const std::string dir = scratch_path(prefix, name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
// Every entry of dir, hidden ones included, sorted: what a run left there.
inline std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
inline std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}
// Makes a character device node (as root; false otherwise). Tests use nodes of
// their own in a scratch directory, never the system's /dev/null or /dev/full.
inline bool make_char_device(const std::string& path, unsigned major_no, unsigned minor_no) {
  std::remove(path.c_str());
  return mknod(path.c_str(), S_IFCHR | 0666, makedev(major_no, minor_no)) == 0;
}
inline bool is_char_device(const std::string& path, unsigned major_no, unsigned minor_no) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == major_no &&
         minor(st.st_rdev) == minor_no;
}
// Runs a shell script with a small tmpfs (a full disk soon) mounted on dir, in a
// mount namespace of its own: nobody else sees the mount and it goes away with
// the script. Its output starts with SMALL_DISK when the mount was made.
constexpr const char* SMALL_DISK = "[small disk]\n";
inline outcome on_small_disk(const std::string& dir, const std::string& script,
                             const std::string& size = "64k") {
  const std::string unshare = geteuid() == 0 ? "unshare -m" : "unshare -rm";
  std::string quoted;
  for (char c : "mount -t tmpfs -o size=" + size + " tmpfs " + dir + " || exit 77; cd " + dir +
                    " || exit 77; printf '" + SMALL_DISK + "'; " + script)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return sh(unshare + " sh -c '" + quoted + "'");
}

inline void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}
// A run's statistics without what depends on the wall clock, for comparing runs, and
// without "meta" (the command line, the build's git revision: what ran, not what came out).
inline nlohmann::json simulated_results(const std::string& path) {
  auto j = read_json(path);
  j.erase("meta");
  for (const char* k : {"wall_s", "frames_per_wall_s", "slowdown"}) j.at("sim").erase(k);
  return j;
}

}  // namespace nicsim::test
