// libFuzzer target: sweep grid specs (tb/sweep.h). Every input line of the
// form KEY=SPEC is a --grid option (expand_grid_values, then make_sweep_plan
// over all of them); the whole input is also a scenario file whose `sweep:`
// section holds grids. Bad input must end in config_error; anything else
// escaping is a crash. An accepted plan's every point must be within range.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "tb/sweep.h"

// libsystemc.so (linked for tb::config's defaults, tb/knobs.cpp) calls sc_main; this never simulates.
extern "C" int sc_main(int, char*[]) { return 0; }

namespace {

[[noreturn]] void crash(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_grid: %s: %s\n", what, detail.c_str());
  std::abort();
}

// The scenario file: an in-memory file, rewritten for every input.
const std::string& scenario_path() {
  static const std::string path = [] {
    const int fd = memfd_create("fuzz_grid_scenario", 0);
    if (fd < 0) crash("memfd_create", "failed");
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

void write_scenario(const std::string& text) {
  const int fd = std::stoi(scenario_path().substr(14));
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    crash("writing the scenario", "failed");
}

// Every point of an accepted plan is a valid run.
void check_plan(const nicsim::tb::sweep_plan& plan) {
  const size_t n = plan.size();
  for (size_t i = 0; i < n && i < 64; ++i) {
    const auto p = plan.point(i);
    try {
      nicsim::tb::config c;
      for (const auto& [k, v] : plan.base) c.set(k, v, "plan");
      for (const auto& [k, v] : p.values) c.set(k, v, "point");
      c.validate();
    } catch (const nicsim::tb::config_error& e) {
      crash("an accepted plan holds an invalid point", e.what());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    std::vector<std::string> grids;
    const nicsim::tb::config scratch;
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      const size_t eq = line.find('=');
      if (eq == std::string::npos || grids.size() >= 4) continue;
      grids.push_back(line);
      try {
        nicsim::tb::expand_grid_values(scratch, nicsim::tb::resolve_key(line.substr(0, eq)),
                                       line.substr(eq + 1), "fuzz");
      } catch (const nicsim::tb::config_error&) {
      }
    }
    try {
      check_plan(nicsim::tb::make_sweep_plan("", grids, {}));
    } catch (const nicsim::tb::config_error&) {
    }
    write_scenario(text);
    try {
      check_plan(nicsim::tb::make_sweep_plan(scenario_path(), {}, {}));
    } catch (const nicsim::tb::config_error&) {
    }
  } catch (const std::exception& e) {
    crash("an exception other than config_error escaped", e.what());
  }
  return 0;
}
