// libFuzzer target: the scenario loader and the --set parser (tb::config).
// The input is a scenario's YAML text; each of its lines is also tried as a
// --set KEY=VALUE. Bad input must end in config_error (exit 2, culprit named);
// anything else escaping is a crash. Whatever is accepted must validate or be
// refused with config_error too, and must read back as a number where numeric.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tb/config.h"

// libsystemc.so (linked for tb::config's defaults, tb/knobs.cpp) calls sc_main; this never simulates.
extern "C" int sc_main(int, char*[]) { return 0; }

namespace {

[[noreturn]] void crash(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_accepted(const nicsim::tb::config& cfg) {
  try {
    cfg.validate();
  } catch (const nicsim::tb::config_error&) {
    return;  // refused, with the culprit named
  }
  for (const auto& [key, k] : cfg.knobs()) {
    if (k.type != nicsim::tb::config::kind::number && k.type != nicsim::tb::config::kind::integer) continue;
    const double v = cfg.number(key);
    if (!std::isfinite(v) || v < k.min || v > k.max)
      crash("accepted a value outside the knob's range", key + " = " + k.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    nicsim::tb::config cfg;
    try {
      cfg.load_yaml_text(text, "fuzz.yaml");
      check_accepted(cfg);
    } catch (const nicsim::tb::config_error&) {
    }
    nicsim::tb::config sets;
    size_t start = 0;
    while (start <= text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      try {
        sets.set_assignment(text.substr(start, end - start));
      } catch (const nicsim::tb::config_error&) {
      }
      start = end + 1;
    }
    check_accepted(sets);
  } catch (const std::exception& e) {
    crash("an exception other than config_error escaped", e.what());
  }
  return 0;
}
