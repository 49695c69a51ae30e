#pragma once
// The whole system on one time axis: link partner ⇄ Ethernet port ⇄ NIC → PCIe link → host
// memory and interrupt controller; CPU → link → NIC registers.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <systemc>
#include <vector>

#include "host/cost_table.h"
#include "host/host_system.h"
#include "hw/nic.h"
#include "tb/config.h"
#include "tb/traffic_source.h"
#include "tlm/address_router.h"
#include "tlm/eth_port.h"
#include "tlm/host_memory.h"
#include "tlm/pcie_link.h"

namespace nicsim::tb {

struct system_params {
  traffic_params traffic;
  hw::nic_params nic;
  tlm::link_params link;
  host::host_params host;
  sc_core::sc_time duration{1, sc_core::SC_MS};
  // sim.decouple: the host CPUs' temporal decoupling (tlm/local_time.h).
  bool decouple = true;
  // One-way propagation delay of the Ethernet link (link.delay_ns), both directions.
  sc_core::sc_time wire_delay{sc_core::SC_ZERO_TIME};
  // Who is at the far end of the NIC's Ethernet port. builtin: the traffic source
  // (traffic.*), bound and started after link-up. external: nothing; the caller binds its
  // own module's tlm::eth_port to system_top::nic_port() before the run (the traffic.*
  // generator knobs then do nothing, and the host's receive buffers are not bounded by them).
  enum class partner_kind { builtin, external } partner = partner_kind::builtin;
};

// Where the RTL's internal signals go next to a run's waves: run.fst → run.rtl.fst.
std::string rtl_companion_path(const std::string& waves_path);

// Ends every suspended thread so that its stack unwinds (call once, after the run).
void unwind_threads();

// Maps validated scenario knobs to the parameters of every part; reads and checks the
// capture traffic.pcap names (config_error naming the file and the byte offset).
system_params make_system_params(const config& cfg);
// With traffic.pcap, the generator's knobs that are set away from their defaults: ignored
// (the capture says what goes on the wire), which the CLI warns about.
std::vector<std::string> pcap_ignored_knobs(const config& cfg);

class system_top : public sc_core::sc_module {
 public:
  static constexpr uint64_t NIC_BAR0 = 0xF0000000;

  // hub (may be null) sees signals, timeline slices and every frame's journey.
  system_top(const sc_core::sc_module_name& name, const system_params& params, const host::cost_table& costs,
             class trace_hub* hub = nullptr);

  // Runs for the configured duration.
  void run();

  // Every frame on the wire (counted at the NIC's port, whatever partner sends them):
  // delivered, dropped under one named counter, or in flight.
  struct ledger {
    uint64_t wire = 0;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    uint64_t in_flight = 0;
    uint64_t on_wire = 0, in_nic = 0, in_host = 0;
    // The other direction: frames the NIC put on the wire (its port's tx count) = received by
    // the partner (the built-in one's classified count, else the peer port's) + on the wire.
    uint64_t tx_wire = 0, tx_received = 0, tx_on_wire = 0;
    // TCP runs (traffic.proto=tcp): the byte ledger, over every connection. Stream bytes the
    // partner sent once (its snd_nxt) = read by the application (counted; or copied by a recv
    // that has not returned yet: "returning", at most read_bytes per reader inside recv) + queued in the host
    // (rcv_nxt - copied_seq: receive queue)
    // + beyond the host's rcv_nxt (on the wire, in the NIC, out of order, or lost and to be
    // retransmitted); each term >= 0, the partner's snd_una <= the host's rcv_nxt, what the
    // application counted equals what tcp_recvmsg copied, and every byte it read was the
    // stream's, once, in order (app.bad_payloads == app.out_of_order == 0).
    bool tcp = false;
    uint64_t bytes_sent = 0, bytes_read = 0, bytes_returning = 0, bytes_queued = 0, bytes_beyond = 0,
             bytes_acked = 0;
    std::string bytes_error;  // empty: the byte ledger closes
    bool rx_ok() const { return wire == delivered + dropped + in_flight; }
    bool tx_ok() const { return tx_wire == tx_received + tx_on_wire; }
    bool bytes_ok() const { return bytes_error.empty(); }
    bool ok() const { return rx_ok() && tx_ok() && bytes_ok(); }
  };
  ledger account() const;
  nlohmann::ordered_json results(double wall_s) const;

  // The built-in link partner (std::logic_error with an external partner).
  traffic_source& traffic();
  // The NIC's end of the Ethernet link, where an external partner binds its port.
  tlm::eth_port& nic_port() { return m_nic->port; }
  hw::nic& nic() { return *m_nic; }
  host::host_system& host() { return *m_host; }
  tlm::pcie_link& link() { return *m_link; }
  tlm::host_memory& memory() { return *m_mem; }
  const system_params& params() const { return m_params; }

 private:
  void account_bytes(const host::tcp_app& app, ledger& l) const;
  system_params m_params;
  class trace_hub* m_hub = nullptr;
  std::unique_ptr<tlm::host_memory> m_mem;
  std::unique_ptr<tlm::pcie_link> m_link;
  std::unique_ptr<tlm::address_router> m_upstream;    // root complex: memory, MSI
  std::unique_ptr<tlm::address_router> m_downstream;  // BARs
  std::unique_ptr<hw::nic> m_nic;
  std::unique_ptr<host::host_system> m_host;
  std::unique_ptr<traffic_source> m_partner;  // null with an external partner

 public:
  // What came over the wire toward the NIC, counted at its port whoever sent it.
  class wire_account {
   public:
    wire_account(const tlm::eth_port& nic_port, const traffic_source* builtin)
        : m_port(nic_port), m_builtin(builtin) {}
    uint64_t frames_sent() const { return m_port.stats().rx_started; }  // first bit on the wire
    uint64_t bytes_sent() const { return m_port.stats().rx_started_bytes; }
    uint64_t frames_delivered() const { return m_port.stats().rx_frames; }  // last bit at the MAC
    // Damaged on purpose by the built-in source (an external partner's are not known).
    uint64_t frames_corrupted() const { return m_builtin != nullptr ? m_builtin->frames_corrupted() : 0; }

   private:
    const tlm::eth_port& m_port;
    const traffic_source* m_builtin;
  };
  const wire_account& wire() const { return *m_traffic; }

 private:
  // The report's "wire" keys come from here (tb/report.cpp reads m_traffic).
  std::unique_ptr<wire_account> m_traffic;
};

}  // namespace nicsim::tb
