// The host's transmit path in the whole system (issue 12): with the device's TX engine, traffic
// to a closed port makes ICMP port unreachables that reach the wire, each one the stack counted.
#include <gtest/gtest.h>

#include "host/cost_table.h"
#include "tb/config.h"
#include "tb/system_top.h"

using namespace nicsim::host;

TEST(host_tx_system, icmp_port_unreachables_reach_the_wire_as_counted) {
  nicsim::tb::config cfg;
  cfg.set_assignment("app.port=9100");
  cfg.set_assignment("sim.duration_us=2000");
  const auto params = nicsim::tb::make_system_params(cfg);
  static const auto costs = cost_table::defaults(params.host.cpu_ghz);
  auto* top = new nicsim::tb::system_top("top", params, costs);
  top->run();
  const auto& icmp = top->host().stack().init_net().mib.icmp_statistics;
  EXPECT_GT(icmp.OutDestUnreachs, 0u);
  EXPECT_EQ(top->nic().stats().tx_packets, icmp.OutDestUnreachs);
  EXPECT_EQ(top->host().driver().tx_ring(0).tx_packets + top->host().stack().skb().tx_skbs_in_use(),
            icmp.OutDestUnreachs);
  for (size_t r = 0; r < skb_drop_reason_count; ++r) EXPECT_EQ(top->host().stack().skb().tx_drops()[r], 0u);
}
