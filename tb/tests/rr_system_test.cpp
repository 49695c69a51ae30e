// netperf UDP_RR over the whole system (issue 12): the link partner's requests, the host's echo
// application (recvfrom, then sendto back), the kernel's transmit path and the NIC's TX engine.
// In-process runs where the test needs what the JSON does not carry (the echo's sendto count,
// the NIC's tx_packets, the live skb counts); the nicsim binary where one test compares runs
// (SystemC elaborates once per process).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "tb/config.h"
#include "tb/system_top.h"

namespace {

// One in-process system, kept alive to the end of the process like the simulation.
nicsim::tb::system_top& simulate(const std::vector<std::string>& sets) {
  nicsim::tb::config cfg;
  for (const auto& s : sets) cfg.set_assignment(s);
  const auto params = nicsim::tb::make_system_params(cfg);
  static const auto costs = nicsim::host::cost_table::defaults(params.host.cpu_ghz);
  auto* top = new nicsim::tb::system_top("top", params, costs);
  top->run();
  return *top;
}

// The reply the echo is transmitting when the run ends is an skb in the host too, but of the
// other direction: the receive ledger must not count it as a received frame in flight (it
// did: conservation broke with one more in flight than the wire ever carried).
TEST(rr_system, the_receive_ledger_leaves_transmit_skbs_to_the_other_direction) {
  auto& top = simulate({"app.role=echo", "traffic.pattern=rr", "sim.duration_us=1000"});
  // With one request outstanding the last reply's skb is freed only by the next TX clean, so
  // one is alive at the end: the case the ledger has to get right.
  ASSERT_GT(top.host().stack().tx_skbs_in_use(), 0u);
  const auto l = top.account();
  EXPECT_TRUE(l.rx_ok()) << l.wire << " = " << l.delivered << " + " << l.dropped << " + " << l.in_flight;
  EXPECT_TRUE(l.tx_ok()) << l.tx_wire << " = " << l.tx_received << " + " << l.tx_on_wire;
  EXPECT_EQ(l.in_host,
            top.host().skbs().in_use() - top.host().stack().tx_skbs_in_use() + top.host().returning());
}

}  // namespace
