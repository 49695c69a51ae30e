// nicsim::gtest_main: main() for GoogleTest binaries whose tests build whole systems.
//
// SystemC builds one design per process and cannot start over, so two tests that each build a
// system cannot share a process. Run with one test (ctest with gtest_discover_tests runs each
// test as `BINARY --gtest_filter=Suite.Name`), this main runs it in-process. Run with several
// (the binary run directly, or a filter with wildcards), it lists the tests it would run and
// runs each in a process of its own (itself again, with --gtest_filter=Suite.Name and
// NICSIM_GTEST_CHILD=1 in the environment), then prints which passed and which failed, and
// exits 1 if any failed. NICSIM_GTEST_IN_PROCESS=1 runs them all in one process as plain
// GoogleTest does (for binaries that build no system; a second system then fails its test
// with a message saying why). --gtest_list_tests and --help always run in-process.
//
// In-process, SystemC warnings are test failures (they throw), and the SystemC threads a test
// left suspended are unwound at the end, so leak checkers see only real leaks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <systemc>
#include <vector>

#include "tb/system_top.h"

extern char** environ;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string self_exe(const char* argv0) {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<char*> c_args(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// The environment for a child: ours, with NICSIM_GTEST_CHILD=1 and without gtest's sharding
// (the parent has applied it to the list already).
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (starts_with(v, "NICSIM_GTEST_CHILD=") || starts_with(v, "GTEST_TOTAL_SHARDS=") ||
        starts_with(v, "GTEST_SHARD_INDEX="))
      continue;
    env.push_back(v);
  }
  env.emplace_back("NICSIM_GTEST_CHILD=1");
  return env;
}

// Runs exe with args; with `out`, its standard output is captured there. Returns the wait status
// (-1 when it could not be started).
int spawn_and_wait(const std::string& exe, std::vector<std::string> args, std::string* out) {
  std::vector<std::string> env = child_environment();
  auto argv = c_args(args);
  auto envp = c_args(env);
  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out != nullptr) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (out != nullptr) ::close(pipe_fds[1]);
  if (rc != 0) {
    if (out != nullptr) ::close(pipe_fds[0]);
    std::cerr << "nicsim gtest_main: cannot start " << exe << ": " << std::strerror(rc) << "\n";
    return -1;
  }
  if (out != nullptr) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n > 0) {
        out->append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::close(pipe_fds[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

// Full names (Suite.Name) from --gtest_list_tests output.
std::vector<std::string> parse_test_list(const std::string& text) {
  std::vector<std::string> names;
  std::string suite;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    const bool indented = line[0] == ' ';
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    const std::string word = line.substr(start, line.find_first_of(" \t", start) - start);
    if (!indented)
      suite = word;  // "Suite." (a comment may follow)
    else if (!suite.empty())
      names.push_back(suite + word);
  }
  return names;
}

bool is_disabled(const std::string& full_name) {
  return starts_with(full_name, "DISABLED_") || full_name.find(".DISABLED_") != std::string::npos;
}

std::string describe(int status) {
  if (status < 0) return "could not start";
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// -1: run in-process. Otherwise the exit status of running every selected test in a process of
// its own.
int run_each_in_own_process(int argc, char* argv[]) {
  if (std::getenv("NICSIM_GTEST_CHILD") != nullptr) return -1;
  const char* in_process = std::getenv("NICSIM_GTEST_IN_PROCESS");
  if (in_process != nullptr && std::string(in_process) == "1") return -1;
  std::vector<std::string> passed_on;  // every argument but the filter
  std::string filter;
  bool also_disabled = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--gtest_list_tests" || a == "--help" || a == "-h" || a == "-?" || a == "/?" ||
        a == "--gtest_help")
      return -1;
    if (starts_with(a, "--gtest_filter=")) {
      filter = a.substr(std::strlen("--gtest_filter="));
      continue;
    }
    if (a == "--gtest_also_run_disabled_tests" || a == "--gtest_also_run_disabled_tests=1")
      also_disabled = true;
    passed_on.push_back(a);
  }
  if (filter.empty()) {
    if (const char* f = std::getenv("GTEST_FILTER")) filter = f;
  }
  // One test named exactly (as ctest runs each): nothing to split.
  if (!filter.empty() && filter.find_first_of("*?:-") == std::string::npos) return -1;

  const std::string exe = self_exe(argv[0]);
  std::vector<std::string> list_args{exe, "--gtest_list_tests"};
  if (!filter.empty()) list_args.push_back("--gtest_filter=" + filter);
  std::string listing;
  const int list_status = spawn_and_wait(exe, list_args, &listing);
  if (list_status < 0 || !WIFEXITED(list_status) || WEXITSTATUS(list_status) != 0) {
    std::cerr << "nicsim gtest_main: listing the tests (" << exe << " --gtest_list_tests) failed ("
              << describe(list_status) << "); running them in this process\n";
    return -1;
  }
  std::vector<std::string> tests;
  size_t disabled = 0;
  for (const auto& t : parse_test_list(listing)) {
    if (is_disabled(t) && !also_disabled) {
      ++disabled;
      continue;
    }
    tests.push_back(t);
  }
  // gtest's sharding (GTEST_TOTAL_SHARDS, GTEST_SHARD_INDEX), applied to the list.
  const char* total_env = std::getenv("GTEST_TOTAL_SHARDS");
  const char* index_env = std::getenv("GTEST_SHARD_INDEX");
  if (total_env != nullptr && index_env != nullptr) {
    const long total = std::strtol(total_env, nullptr, 10), index = std::strtol(index_env, nullptr, 10);
    if (total > 0 && index >= 0 && index < total) {
      std::vector<std::string> mine;
      for (size_t i = 0; i < tests.size(); ++i)
        if (static_cast<long>(i % static_cast<size_t>(total)) == index) mine.push_back(tests[i]);
      tests.swap(mine);
    }
  }
  if (tests.size() <= 1) return -1;

  std::cout << "[nicsim] " << tests.size() << " test" << (tests.size() == 1 ? "" : "s")
            << ", each in a process of its own (SystemC builds one simulation per process; "
               "NICSIM_GTEST_IN_PROCESS=1 runs them in one)\n"
            << std::flush;
  std::vector<std::string> failed;
  for (const auto& t : tests) {
    std::vector<std::string> args{exe};
    args.insert(args.end(), passed_on.begin(), passed_on.end());
    args.push_back("--gtest_filter=" + t);
    const int status = spawn_and_wait(exe, args, nullptr);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed.push_back(t + " (" + describe(status) + ")");
  }
  std::cout << "[nicsim] " << tests.size() - failed.size() << " of " << tests.size() << " test"
            << (tests.size() == 1 ? "" : "s") << " passed, each in a process of its own";
  if (disabled != 0) std::cout << "; " << disabled << " disabled";
  std::cout << "\n";
  if (!failed.empty()) {
    std::cout << "[nicsim] " << failed.size() << " FAILED:\n";
    for (const auto& f : failed) std::cout << "[nicsim]   " << f << "\n";
  }
  std::cout << std::flush;
  return failed.empty() ? 0 : 1;
}

}  // namespace

// SystemC owns main(); tests start from sc_main. SystemC warnings are test failures.
int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Unwind the stacks of threads a test left suspended, so leak checks see only real leaks.
  if (sc_core::sc_get_status() == sc_core::SC_PAUSED) nicsim::tb::unwind_threads();
  return rc;
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  const int own = run_each_in_own_process(argc, argv);
  if (own >= 0) return own;
  return sc_core::sc_elab_and_sim(argc, argv);
}
