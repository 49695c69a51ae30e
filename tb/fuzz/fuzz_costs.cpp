// libFuzzer target: the cost table parser (host::cost_table::parse). Bad input
// must end in std::invalid_argument naming the entry; anything else escaping
// is a crash. An accepted table must give every step a finite, representable
// time (SystemC converts it to an integer count of picoseconds).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "host/cost_table.h"

// libsystemc.so calls sc_main; this target never starts a simulation.
int sc_main(int, char*[]) { return 0; }

namespace {

[[noreturn]] void crash(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_costs: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto table = nicsim::host::cost_table::parse(text, "fuzz.yaml", 3.0);
    for (size_t i = 0; i < nicsim::host::cost_count; ++i) {
      const auto c = static_cast<nicsim::host::cost>(i);
      const auto& e = table.at(c);
      // The longest charge a run makes: a jumbo copy at the slowest clock (0.1 GHz), in ps.
      const double worst_ps = (e.cycles + e.per_byte * 65536.0) * 10.0 * 1000.0;
      if (!std::isfinite(e.cycles) || !std::isfinite(e.per_byte) || !(worst_ps < 1.8e19)) {
        char detail[160];
        std::snprintf(detail, sizeof detail, "%s: cycles %g, per_byte %g", nicsim::host::cost_name(c),
                      e.cycles, e.per_byte);
        crash("accepted a cost that is no representable time", detail);
      }
      (void)table(c, 1518);
    }
  } catch (const std::invalid_argument&) {
  } catch (const std::exception& e) {
    crash("an exception other than invalid_argument escaped", e.what());
  }
  return 0;
}
