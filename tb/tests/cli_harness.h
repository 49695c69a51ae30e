#pragma once
// Running the real nicsim binary from a test, as a user would: exit status and
// everything it printed, plus small file helpers. One simulation per process.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

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
// A file in the build tree for one test's scratch output.
inline std::string scratch_path(const std::string& prefix, const std::string& name) {
  return std::string(NICSIM_BINARY_DIR) + "/test_" + prefix + "_" + name;
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
// A run's statistics without what depends on the wall clock, for comparing runs.
inline nlohmann::json simulated_results(const std::string& path) {
  auto j = read_json(path);
  for (const char* k : {"wall_s", "frames_per_wall_s", "slowdown"}) j["sim"].erase(k);
  return j;
}

}  // namespace nicsim::test
