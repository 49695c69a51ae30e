#pragma once
// nicsim's testbench API: the whole system (link partner, Ethernet port, NIC, PCIe link, host)
// built from the same knobs as `nicsim run`, run from your own sc_main or test, and read as the
// same JSON `nicsim run --json` writes. Installed as <nicsim/tb/testbench.h>; docs/testbench.md
// walks through it and examples/ holds three testbenches to copy.
//
//   nicsim::tb::testbench_options o;
//   o.sets = {"nic.rx_ring_size=256", "traffic.count=1024"};   // `nicsim knobs` lists every key
//   nicsim::tb::testbench tb(o);                                // elaborates the system
//   tb.run();                                                   // to sim.duration_us
//   EXPECT_EQ(tb.counters().rx_missed, 0u);
//   EXPECT_TRUE(tb.results().at("conservation").at("ok").get<bool>());
//
// ONE SIMULATION PER PROCESS. SystemC elaborates one design per process and cannot start over:
// a second testbench in a process that has built one throws std::logic_error saying so (instead
// of SystemC's bare "W505 object already exists"). Give each testbench a process of its own:
// nicsim::gtest_main (link it instead of GTest::gtest_main) runs every TEST of a binary in a
// process of its own, and gtest_discover_tests makes every TEST a ctest test of its own.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <systemc>
#include <vector>

#include "tb/config.h"
#include "tb/run.h"
#include "tb/system_top.h"
#include "tb/trace_hub.h"
#include "tlm/eth_port.h"

namespace nicsim::tb {

struct testbench_options {
  testbench_options() {}  // not an aggregate: testbench({"KEY=VALUE"}) means the sets
  // A scenario file, as `nicsim run FILE.yaml`; empty: every knob at its default.
  std::string scenario;
  // KEY=VALUE assignments applied after the scenario, as `nicsim run --set KEY=VALUE`.
  std::vector<std::string> sets;
  // false: the built-in link partner (the traffic.* knobs) sends to the NIC. true: nothing is
  // at the far end of the NIC's Ethernet port until you bind your own module's tlm::eth_port to
  // nic_port(), before the first run; the traffic.* generator knobs then do nothing.
  bool external_partner = false;
  // Waves, timeline and pcap, as --waves, --timeline and --pcap (empty paths: none). The files
  // appear when finish() is called (or the testbench is destroyed), all of them or none.
  trace_options trace;
  // A cost table file, as `nicsim run --costs FILE`; empty: the built-in table.
  std::string costs;
  // Keep the first application's every message (sequence numbers, latencies): app_record().
  bool record_messages = false;
};

class testbench {
 public:
  // Elaborates the system as module "top" (the waves' hierarchy is the CLI's). Throws
  // config_error for a bad scenario, knob or cost table (naming the file and key), output_error
  // for an output that cannot be written, std::logic_error when this process already has one.
  explicit testbench(const testbench_options& options = {});
  // Only KEY=VALUE assignments: testbench tb({"nic.rx_ring_size=2048"}).
  explicit testbench(const std::vector<std::string>& sets);
  ~testbench();  // finish(), if not done yet (errors go to stderr)
  testbench(const testbench&) = delete;
  testbench& operator=(const testbench&) = delete;

  // ---- before the first run: what to bind
  // The NIC's end of the Ethernet link: bind your module's port with port.bind(tb.nic_port()).
  tlm::eth_port& nic_port();
  // Notified when the driver has brought the link up; a partner sends nothing before it.
  const sc_core::sc_event& link_up() const;
  // Every part: top().nic(), .host(), .memory(), .link(), .traffic() (the built-in partner).
  system_top& top();
  const config& cfg() const { return m_cfg; }
  const system_params& params() const { return m_params; }

  // ---- running (each call continues where the last one stopped)
  // To sim.duration_us (the knob), or nothing if the simulation is already there.
  void run();
  void run_for(const sc_core::sc_time& t);
  // Runs in steps of `step` until done() is true (returns true) or the simulated time reaches
  // `limit` first (returns false). done() is also asked before the first step.
  bool run_until(const std::function<bool()>& done, const sc_core::sc_time& limit,
                 const sc_core::sc_time& step = sc_core::sc_time(1, sc_core::SC_US));
  sc_core::sc_time now() const { return sc_core::sc_time_stamp(); }

  // ---- results (at the current simulated time; after finish(), the final ones)
  // The statistics document `nicsim run --json` writes: same keys, same meaning.
  nlohmann::ordered_json results();
  // Every frame of both directions: delivered, dropped under one named counter, or in flight.
  system_top::ledger ledger() const;
  // The counters most testbenches look at, read from results() (their JSON key in brackets).
  struct counter_set {
    uint64_t wire_frames;         // [wire.frames] frames the partner put on the wire to the NIC
    uint64_t rx_frames;           // [nic.rx_frames] received by the NIC into host memory
    uint64_t rx_missed;           // [nic.rx_missed] dropped at the full RX packet buffer (ethtool)
    uint64_t rx_no_buffer_count;  // [nic.rx_no_buffer_count] times the RX ring had no descriptor
    uint64_t rx_crc_errors;       // [nic.rx_crc_errors] bad FCS
    uint64_t interrupts;          // [nic.interrupts] interrupts the NIC raised
    uint64_t tx_frames;           // [nic.tx_frames] frames the NIC sent
    uint64_t udp_in_datagrams;    // [udp.InDatagrams] (netstat -su)
    uint64_t udp_rcvbuf_errors;   // [udp.RcvbufErrors] dropped at a full socket buffer
    uint64_t app_messages;        // [app.messages] received by the applications
    uint64_t dropped;             // [conservation.dropped] every named receive drop, summed
    uint64_t latency_p50_ns;      // [latency_ns.p50] wire to application, first app's messages
    uint64_t latency_p99_ns;      // [latency_ns.p99]
    bool conservation_ok;         // [conservation.ok] both directions' ledgers close
  };
  counter_set counters();
  // The first application's every message (with record_messages).
  const std::vector<uint32_t>& app_record_seqs();
  const std::vector<uint64_t>& app_record_latency_ns();

  // Ends the run: unwinds the SystemC threads, closes waves, timeline and pcap and puts them in
  // place, and takes the system down (top() and nic_port() are gone; results() keeps the last).
  // Nothing can run after it in this process.
  void finish();

 private:
  void check_running(const char* what) const;
  config m_cfg;
  system_params m_params;
  std::string m_costs_path;
  trace_options m_trace;
  std::unique_ptr<host::cost_table> m_costs;
  std::unique_ptr<run_outputs> m_outputs;
  std::unique_ptr<trace_hub> m_hub;
  std::unique_ptr<system_top> m_top;
  double m_wall_s = 0;
  bool m_finished = false;
  nlohmann::ordered_json m_final;
  std::vector<uint32_t> m_seqs;
  std::vector<uint64_t> m_latency;
};

}  // namespace nicsim::tb
