#include "tb/system_top.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "abi/e1000_hw.h"
#include "hw/intr_moderation_rtl.h"
#include "tb/knobs.h"
#include "tb/pcap_source.h"
#include "tb/trace_hub.h"
#include "tlm/local_time.h"

namespace nicsim::tb {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

std::vector<std::string> pcap_ignored_knobs(const config& cfg) {
  std::vector<std::string> out;
  if (cfg.text("traffic.pcap").empty()) return out;
  static const config defaults;
  for (const char* key :
       {"traffic.pattern", "traffic.frame_bytes", "traffic.flows", "traffic.src_port", "traffic.dst_port",
        "traffic.corrupt", "traffic.corrupt_every", "traffic.burst_frames", "traffic.rr_outstanding",
        "traffic.response_bytes", "traffic.proto", "traffic.tcp_cc", "traffic.tcp_recovery"})
    if (cfg.text(key) != defaults.text(key)) out.push_back(std::string(key) + "=" + cfg.text(key));
  return out;
}

system_params make_system_params(const config& cfg) {
  cfg.validate();
  system_params p;
  apply_knobs(cfg, p);  // every knob into its field (tb/knobs.cpp)

  // What follows from the knobs: copies of one knob into a second part, and derived bounds.
  auto& t = p.traffic;
  auto& h = p.host;
  p.link.max_payload_bytes = p.nic.max_payload_bytes;  // pcie.mps: the link and the device agree
  h.driver.rx_queues = p.nic.rx_queues;                // the driver enables every queue the NIC has
  // The link speed the driver reads from STATUS: the wire's rate in Mb/s, at most the part's
  // own (an 82540EM or 82576 run faster reports 1000, as config::model_warnings says).
  h.driver.link_speed_mbps = static_cast<unsigned>(std::lround(t.line_rate_gbps * 1000));
  if (h.driver.model == host::nic_model::e1000 || h.driver.model == host::nic_model::igb)
    h.driver.link_speed_mbps = std::min(h.driver.link_speed_mbps, 1000u);
  else if (h.driver.model == host::nic_model::ixgbe)
    h.driver.link_speed_mbps = std::min(h.driver.link_speed_mbps, 10000u);
  // host.kernel: the rules of that release (host/kernel/version.h).
  h.kernel = host::make_kernel_profile(h.kernel_release);
  h.net.icmp_host_limit_first = h.kernel.icmp_host_limit_first;
  h.net.tcp_adv_win_scale_v6_1 = !h.kernel.tcp_scaling_ratio;  // tcp_win_from_space's rule
  h.net.local_ip = t.flow.dst_ip;
  // The echo server's response size (netserver learns it from netperf's control connection).
  if (t.response_bytes != 0 && t.pcap.empty())
    h.app.response_payload = proto::udp_payload_len(t.response_bytes);
  // The receive buffers a run can fill are bounded by the frames it can put on the wire:
  // traffic_source starts frames at least one slot (preamble + frame + gap at line rate)
  // apart, whatever the pattern, and never more than traffic.count of them.
  // A replayed capture (traffic.pcap) is read and checked whole here, before anything runs:
  // its frames may be as short as the minimum, and there are at most so many of them.
  if (!t.pcap.empty()) {
    t.capture = pcap_capture::load(t.pcap);
    t.pattern = traffic_params::constant;  // the generator's knobs do not apply
    t.proto = traffic_params::udp;
  }
  // TCP: the partner's data segments are all full-sized (writes of one MSS, retransmissions
  // of whole segments), so they take frame_bytes' slots on the wire; its short control
  // segments are per connection a SYN and its retransmissions (at most 7), the handshake's
  // ACK, and zero-window probes (at most one per 200 ms RTO_MIN and its backoff).
  const bool tcp = t.proto == traffic_params::tcp;
  const double frame = t.capture ? static_cast<double>(proto::ETH_MIN_FRAME) : t.frame_bytes;
  const double slot_ns = 8.0 * (proto::ETH_PREAMBLE_SFD + frame + proto::ETH_IFG) / t.line_rate_gbps;
  double wire_frames = std::floor(p.duration.to_seconds() * 1e9 / slot_ns) + 2;
  if (tcp) wire_frames += static_cast<double>(t.flows) * (10 + std::floor(p.duration.to_seconds() / 0.2));
  h.max_rx_frames = wire_frames >= 1e15 ? 0 : static_cast<uint64_t>(wire_frames);
  if (!tcp && t.count != 0 && (h.max_rx_frames == 0 || t.count < h.max_rx_frames)) h.max_rx_frames = t.count;
  t.tcp_dst_port = h.app.port;  // the TCP connections go to the application's port
  // traffic.proto=tcp: the host runs the TCP listener and its readers instead of the UDP
  // readers, one reader group per connection of the partner's (host/apps/tcp_app.h).
  h.tcp = tcp;
  h.tcp_app.connections = t.flows;
  h.tcp_app.peer_port_base = t.flow.src_port;
  if (t.capture) {
    const double replayed =
        static_cast<double>(t.capture->frames().size()) * (static_cast<double>(t.pcap_loop) + 1);
    if (replayed < 1e15 && (h.max_rx_frames == 0 || replayed < static_cast<double>(h.max_rx_frames)))
      h.max_rx_frames = static_cast<uint64_t>(replayed);
  }
  return p;
}

system_top::system_top(const sc_core::sc_module_name& name, const system_params& params,
                       const host::cost_table& costs, trace_hub* hub)
    : sc_core::sc_module(name), m_params(params), m_hub(hub) {
  // An external partner's frames are not bounded by the traffic knobs.
  if (m_params.partner == system_params::partner_kind::external) m_params.host.max_rx_frames = 0;
  m_mem =
      std::make_unique<tlm::host_memory>("dram", host::host_memory_bytes(m_params.host), sc_time(60, SC_NS));
  m_link = std::make_unique<tlm::pcie_link>("pcie", params.link);
  m_upstream = std::make_unique<tlm::address_router>("root_complex");
  m_downstream = std::make_unique<tlm::address_router>("bar_decoder");
  m_nic = std::make_unique<hw::nic>("nic", params.nic);
  m_host = std::make_unique<host::host_system>("host", m_params.host, costs, *m_mem, NIC_BAR0, hub);
  m_nic->attach(hub);
  if (m_params.partner == system_params::partner_kind::builtin)
    m_partner = std::make_unique<traffic_source>("wire", params.traffic);
  m_traffic = std::make_unique<wire_account>(m_nic->port, m_partner.get());

  m_nic->dma.bind(m_link->up_in);
  m_link->up_out.bind(m_upstream->in);
  // DRAM below the PCI hole, and what lies above 4 GiB through a second window; the
  // hole between holds the MSI window (host/host_system.h).
  const uint64_t mem_top = m_mem->size();
  const unsigned dram =
      m_upstream->map(m_mem->socket, 0, std::min(mem_top, host::PCI_HOLE_BASE), "host memory");
  if (mem_top > host::HIGH_MEMORY_BASE)
    m_upstream->alias(dram, host::HIGH_MEMORY_BASE, mem_top - host::HIGH_MEMORY_BASE, host::HIGH_MEMORY_BASE,
                      "host memory above 4 GiB");
  m_upstream->map(m_host->interrupt_controller().socket, host::apic::MSI_BASE, host::apic::MSI_SIZE, "MSI");
  m_host->driver().mmio.bind(m_link->down_in);
  m_link->down_out.bind(m_downstream->in);
  m_downstream->map(m_nic->mmio, NIC_BAR0, abi::BAR0_SIZE, "nic BAR0");

  if (hub != nullptr) {
    hub->set_nic_vectors(params.host.driver.msi_vector, params.nic.rx_queues);
    // The verilated block's own signals, on the same time base, next to the waves.
    if (!hub->options().waves.empty())
      m_nic->moderation().trace_fst(rtl_companion_path(hub->options().waves));
    // Taps on the NIC's side of the link, so they see any partner's frames.
    m_nic->port.on_rx_first_bit = [hub, port = &m_nic->port](const proto::wire_frame& f) {
      hub->wire_frame(f, port->first_bit_at().value());
    };
    m_nic->port.on_rx_last_bit = [hub](const proto::wire_frame&) { hub->wire_idle(); };
    m_nic->port.on_tx_first_bit = [hub](const proto::wire_frame& f) { hub->wire_tx_frame(f); };
  }
  // The link's delay is the NIC port's, so an external partner's port takes it when bound.
  m_nic->port.set_delay(params.wire_delay);
  if (m_partner) {
    m_partner->attach(hub);
    m_partner->port().bind(m_nic->port);
    m_partner->start_after(m_host->link_up());
  }
}

traffic_source& system_top::traffic() {
  if (!m_partner) throw std::logic_error(std::string(name()) + ": the link partner is external");
  return *m_partner;
}

std::string rtl_companion_path(const std::string& waves_path) {
  const auto dot = waves_path.find_last_of('.');
  return (dot == std::string::npos ? waves_path : waves_path.substr(0, dot)) + ".rtl.fst";
}

// With sim.decouple, the built-in generator takes each frame's first bit lazily (one activation
// a frame, traffic_source::set_lazy_first_bit) where nothing records a first bit at its own
// time: no waves, timeline, pcap, fates or frames CSV, and no link delay.
void system_top::run() {
  const bool lazy = m_partner && m_params.decouple && m_nic->port.delay() == sc_core::SC_ZERO_TIME &&
                    (m_hub == nullptr || !m_hub->records_frames());
  if (m_partner) m_partner->set_lazy_first_bit(lazy);
  tlm::decoupling::start(m_params.duration, m_params.decouple);
  if (m_partner) m_partner->finish_lazy_first_bit();
}

namespace {
void collect_threads(const std::vector<sc_core::sc_object*>& objects,
                     std::vector<sc_core::sc_process_handle>& out) {
  for (sc_core::sc_object* o : objects) {
    sc_core::sc_process_handle h(o);
    if (h.valid() && h.proc_kind() == sc_core::SC_THREAD_PROC_ && !h.terminated()) out.push_back(h);
    collect_threads(o->get_child_objects(), out);
  }
}
}  // namespace

void unwind_threads() {
  // SystemC leaves suspended threads' stacks as they are when a run ends; kill
  // unwinds them, so whatever they hold is destroyed (and leak checkers agree).
  // kill() needs a calling process, so a method does it in one more delta.
  std::vector<sc_core::sc_process_handle> threads;
  collect_threads(sc_core::sc_get_top_level_objects(), threads);
  if (threads.empty()) return;
  sc_core::sc_spawn_options opts;
  opts.spawn_method();
  sc_core::sc_spawn(
      [threads]() mutable {
        for (auto& h : threads)
          if (!h.terminated()) h.kill();
      },
      sc_core::sc_gen_unique_name("unwind_threads"), &opts);
  sc_core::sc_start(sc_core::SC_ZERO_TIME);
}

system_top::ledger system_top::account() const {
  ledger l;
  const auto& ns = m_nic->stats();
  const auto& stack = m_host->stack();
  const wire_account& w = *m_traffic;
  l.wire = w.frames_sent();
  for (const auto& a : m_host->apps()) l.delivered += a->stats().messages;
  l.dropped = ns.rx_crc_errors + ns.rx_missed_errors + ns.rx_short_length_errors + ns.rx_long_length_errors +
              ns.rx_no_dma_resources;
  for (uint64_t d : stack.skb().drops()) l.dropped += d;
  l.on_wire = w.frames_sent() - w.frames_delivered();
  // Accepted by the MAC and not yet turned into an skb: FIFO, DMA, link, ring.
  const uint64_t accepted = ns.frames_in - ns.rx_crc_errors - ns.rx_missed_errors -
                            ns.rx_short_length_errors - ns.rx_long_length_errors;
  l.in_nic = accepted - ns.rx_no_dma_resources - m_host->driver().stats().rx_cleaned;
  // Received frames the host holds (each in its receive buffer, whichever skb holds it after
  // GRO or TCP coalescing), and datagrams copied whose recvfrom has not returned.
  l.in_host = m_host->rx_frames_held() + m_host->returning();
  // TCP: frames whose skbs TCP freed after the application read all their bytes (or a control
  // segment it consumed) are delivered; each skb counts every frame it carries.
  l.delivered += stack.tcp().frames_consumed();
  l.in_flight = l.on_wire + l.in_nic + l.in_host;
  if (const host::tcp_app* app = m_host->tcp_application(); app != nullptr && m_partner)
    account_bytes(*app, l);
  const tlm::eth_port& port = m_nic->port;
  l.tx_wire = port.stats().tx_frames;
  l.tx_on_wire = port.tx_in_flight();
  l.tx_received = m_partner      ? m_partner->rx_stats().rx_frames
                  : port.bound() ? port.peer()->stats().rx_frames
                                 : 0;
  return l;
}

void system_top::account_bytes(const host::tcp_app& app, ledger& l) const {
  l.tcp = true;
  const auto& senders = m_partner->tcp();
  auto fail = [&l](unsigned k, const std::string& what) {
    if (l.bytes_error.empty()) l.bytes_error = "connection " + std::to_string(k) + ": " + what;
  };
  for (unsigned k = 0; k < senders.size(); ++k) {
    const partner::tcp_sender& snd = *senders[k];
    const uint64_t sent = snd.snd_nxt(), acked = snd.snd_una();
    // The host's socket for this connection (accepted or still in the accept queue).
    const host::tcp_sock* sk = nullptr;
    for (const auto& s : m_host->stack().tcp().sockets())
      if (s->state == host::TCP_ESTABLISHED && s->dport == snd.config().src_port &&
          s->daddr == m_params.traffic.flow.src_ip)
        sk = s.get();
    // Stream offsets from 32-bit sequence space, unwrapped near what the partner sent.
    auto offset = [sent](uint32_t seq_minus_isn) {
      return sent + static_cast<int64_t>(static_cast<int32_t>(seq_minus_isn - static_cast<uint32_t>(sent)));
    };
    const uint64_t rcv_nxt = sk ? offset(sk->rcv_nxt - sk->irs - 1) : 0;
    const uint64_t copied = sk ? offset(sk->copied_seq - sk->irs - 1) : 0;
    const bool accepted = k < app.connections().size() && app.connections()[k] != nullptr;
    const uint64_t read = accepted ? app.bytes_read(k) : 0;
    // Copied by a tcp_recvmsg that has not returned yet (at most read_bytes per reader inside
    // it), or copied and recv not yet returned to the reader.
    const uint64_t counted = read + (accepted ? app.returning_bytes(k) : 0);
    const uint64_t returning = copied >= read ? copied - read : 0;
    const uint64_t in_recv_max = accepted ? uint64_t{app.in_recv(k)} * app.read_bytes() : 0;
    l.bytes_sent += sent;
    l.bytes_acked += acked;
    l.bytes_read += read;
    l.bytes_returning += returning;
    if (sk == nullptr) {
      // Not established on the host yet (its SYN_RECV waits for the handshake's ACK, which
      // the partner may have followed with data at once): every byte sent is beyond it.
      l.bytes_beyond += sent;
      if (acked != 0)
        fail(k, std::to_string(acked) + " bytes acknowledged on a connection the host has not established");
      continue;
    }
    l.bytes_queued += rcv_nxt - copied;
    l.bytes_beyond += sent - rcv_nxt;
    if (!(copied <= rcv_nxt && rcv_nxt <= sent))
      fail(k, "copied_seq " + std::to_string(copied) + " <= rcv_nxt " + std::to_string(rcv_nxt) +
                  " <= partner snd_nxt " + std::to_string(sent) + " does not hold");
    if (acked > rcv_nxt)
      fail(k, "the partner has " + std::to_string(acked) + " bytes acknowledged, the host received " +
                  std::to_string(rcv_nxt));
    if (counted > copied || copied - counted > in_recv_max)
      fail(k, "the application counted " + std::to_string(counted) + " bytes, tcp_recvmsg copied " +
                  std::to_string(copied) + " (readers inside recv: up to " + std::to_string(in_recv_max) +
                  " not yet counted)");
  }
  const auto& s = app.stats();
  if (s.bad_payloads != 0) fail(0, std::to_string(s.bad_payloads) + " reads with bytes not the stream's");
  if (s.out_of_order != 0) fail(0, std::to_string(s.out_of_order) + " reads overlapping bytes already read");
}

}  // namespace nicsim::tb
