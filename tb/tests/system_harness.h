#pragma once
// One whole-system simulation in this test process (SystemC elaborates once per
// process): configure from KEY=VALUE assignments, run, return the statistics.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "tb/config.h"
#include "tb/system_top.h"

namespace nicsim::test {

struct run_result {
  nlohmann::ordered_json j;
  std::vector<uint32_t> seqs;        // delivery order of the first application's messages
  std::vector<uint64_t> latency_ns;  // its per-message latency
  uint64_t bad_payloads = 0;
  tb::system_params params;
};

inline run_result simulate(const std::vector<std::string>& sets) {
  tb::config cfg;
  for (const auto& s : sets) cfg.set_assignment(s);
  run_result r;
  r.params = tb::make_system_params(cfg);
  r.params.host.app.record = true;  // the tests look at every message
  static const auto costs = host::cost_table::defaults(r.params.host.cpu_ghz);
  static tb::system_top* top = nullptr;  // kept alive to the end of the process, like the simulation
  top = new tb::system_top("top", r.params, costs);
  top->run();
  r.j = top->results(0.0);
  if (!top->host().apps().empty()) {  // a TCP run has no UDP application
    r.seqs = top->host().app().record().seqs;
    r.latency_ns = top->host().app().record().latency_ns;
  }
  r.bad_payloads = top->host().app_totals().bad_payloads;
  return r;
}

}  // namespace nicsim::test
