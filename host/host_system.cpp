#include "host/host_system.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "tlm/host_memory.h"

namespace nicsim::host {

udp_app_stats host_system::app_totals() const {
  udp_app_stats t;
  for (const auto& a : m_apps) {
    const auto& s = a->stats();
    t.messages += s.messages;
    t.bytes += s.bytes;
    t.bad_payloads += s.bad_payloads;
    t.out_of_order += s.out_of_order;
    t.eagain += s.eagain;
    t.sent += s.sent;
    t.sent_bytes += s.sent_bytes;
    t.send_errors += s.send_errors;
    t.latency_ns.merge(s.latency_ns);
    t.per_reader.insert(t.per_reader.end(), s.per_reader.begin(), s.per_reader.end());
  }
  if (m_tcp_app) {  // a TCP read is the application's message
    const auto& s = m_tcp_app->stats();
    t.messages += s.reads;
    t.bytes += s.bytes;
    t.bad_payloads += s.bad_payloads;
    t.out_of_order += s.out_of_order;
    t.per_reader.insert(t.per_reader.end(), s.per_reader.begin(), s.per_reader.end());
  }
  return t;
}

unsigned host_system::returning() const {
  unsigned n = m_stack->udp().returning();
  for (const auto& a : m_apps) n += a->returning();
  return n;
}

unsigned host_system::rx_frames_held() const { return m_buffers->in_use() - m_driver->rx_buffers_posted(); }

unsigned host_rx_buffers(const host_params& p) {
  if (p.rx_buffers) return p.rx_buffers;
  const uint64_t truesize = p.driver.rx_buffer_len + 576;
  const uint64_t rings = uint64_t{p.driver.rx_queues} * p.driver.rx_ring_size;
  // Every place a buffer can wait: the ring, the per-CPU backlog, the socket
  // (which may overshoot its rcvbuf by one skb), and skbs in processing.
  const uint64_t rcvbuf =
      p.app.rcvbuf_bytes == 0
          ? p.net.rmem_default
          : sock_rcvbuf_from(static_cast<int>(std::min<uint64_t>(p.app.rcvbuf_bytes, INT32_MAX)),
                             p.net.rmem_max);
  uint64_t n = rings + uint64_t{p.cpus} * p.net.netdev_max_backlog + 1 +
               uint64_t{p.sockets} * 2 * (rcvbuf / truesize + 1) + 64;
  // TCP: each connection's receive queue, out-of-order queue and backlog are bounded by its
  // rcvbuf (at most tcp_rmem[2] with autotuning) and backlog limit (rcvbuf + sndbuf / 2 + 64 KiB).
  if (p.tcp)
    n += uint64_t{p.tcp_app.connections} * 3 *
         ((p.net.tcp_rmem[2] + p.net.tcp_wmem[2] + 65536) / truesize + 1);
  // A buffer is either posted on a ring or holds a frame that came off the wire, so a
  // run never has more in use than the rings post plus the frames it can receive.
  if (p.max_rx_frames != 0) n = std::min(n, rings + p.max_rx_frames + 1 + 64);
  if (n > std::numeric_limits<unsigned>::max())
    throw std::invalid_argument("host: " + std::to_string(n) + " receive buffers do not fit a pool");
  return static_cast<unsigned>(n);
}

uint64_t host_rx_buffer_base(const host_params& p) {
  const uint64_t slab = uint64_t{host_rx_buffers(p)} * p.driver.rx_buffer_len;
  if (p.rx_buffer_base < PCI_HOLE_BASE && slab <= PCI_HOLE_BASE - p.rx_buffer_base) return p.rx_buffer_base;
  return std::max(p.rx_buffer_base, HIGH_MEMORY_BASE);
}

namespace {
constexpr unsigned TX_BUFFER_LEN = 2048;  // one MTU frame and its headroom per buffer
unsigned tx_skbs_per_sndbuf(uint64_t sndbuf) {
  return static_cast<unsigned>(sndbuf / (TX_BUFFER_LEN + 576) + 2);
}
}  // namespace

unsigned host_tx_buffers(const host_params& p) {
  const uint64_t n = uint64_t{p.sockets} * tx_skbs_per_sndbuf(p.net.wmem_default) +
                     uint64_t{p.cpus} * tx_skbs_per_sndbuf(p.net.icmp_sndbuf);
  return static_cast<unsigned>(n);
}

uint64_t host_tx_buffer_base(const host_params& p) {
  const uint64_t rx_end = host_rx_buffer_base(p) + uint64_t{host_rx_buffers(p)} * p.driver.rx_buffer_len;
  const uint64_t slab = uint64_t{host_tx_buffers(p)} * TX_BUFFER_LEN;
  if (rx_end < PCI_HOLE_BASE && slab <= PCI_HOLE_BASE - rx_end) return rx_end;
  return std::max(rx_end, HIGH_MEMORY_BASE);
}

uint64_t host_memory_bytes(const host_params& p) {
  return host_tx_buffer_base(p) + uint64_t{host_tx_buffers(p)} * TX_BUFFER_LEN;
}

host_system::host_system(const sc_core::sc_module_name& name, const host_params& params,
                         const cost_table& costs, tlm::host_memory& mem, uint64_t nic_bar0,
                         waves::observer* obs)
    : sc_core::sc_module(name), m_params(params) {
  std::vector<cpu*> all;
  for (unsigned i = 0; i < params.cpus; ++i) {
    m_cpus.push_back(std::make_unique<cpu>(("cpu" + std::to_string(i)).c_str(), static_cast<int>(i), costs));
    m_cpus.back()->set_hz(params.hz);
    m_cpus.back()->set_ksoftirqd_running_defers(params.kernel.ksoftirqd_running_defers);
    m_cpus.back()->set_eevdf(params.kernel.eevdf);
    m_cpus.back()->set_sched_tunable_factor(params.cpus);
    all.push_back(m_cpus.back().get());
  }
  for (auto& c : m_cpus) {
    c->set_siblings(all);
    c->attach(obs);
  }
  cpu& boot = *m_cpus.front();
  m_apic = std::make_unique<apic>("apic", all);
  m_buffers = std::make_unique<rx_buffer_pool>(mem, host_rx_buffer_base(params), params.driver.rx_buffer_len,
                                               host_rx_buffers(params));
  m_tx_buffers = std::make_unique<rx_buffer_pool>(mem, host_tx_buffer_base(params), TX_BUFFER_LEN,
                                                  host_tx_buffers(params));
  m_stack = std::make_unique<netstack>(all, m_skbs, *m_buffers, m_tx_buffers.get(), params.net);
  e1000_params driver = params.driver;
  driver.msi_address = apic::MSI_BASE | (uint64_t{params.irq_cpu} << 12);  // destination APIC ID
  std::vector<cpu*> irq_cpus;
  for (unsigned q = 0; q < driver.rx_queues; ++q)
    irq_cpus.push_back(all.at((params.irq_cpu + q) % params.cpus));
  if (e1000_adapter::tx_ring_dma(driver) + driver.rx_queues * e1000_ring_bytes(driver.tx_ring_size) >
      params.rx_buffer_base)
    throw std::invalid_argument("host: " + std::to_string(driver.rx_queues) + " rings of " +
                                std::to_string(driver.rx_ring_size) + " descriptors overlap the RX buffers");
  m_driver = std::make_unique<e1000_adapter>("eth0", driver, irq_cpus, m_stack->core(), m_stack->skb(), mem,
                                             *m_buffers, m_skbs, nic_bar0);
  // Boot: a kernel thread opens the device (ip link set eth0 up), then exits.
  boot.kthread_create("kworker/0:0", [this] {
    cpu::this_cpu().current()->in_kernel = true;
    m_driver->e1000_open();
    m_up = true;
    cpu::sync_time();
    m_link_up.notify(sc_core::SC_ZERO_TIME);
  });
  if (params.tcp) {
    tcp_app_params a = params.tcp_app;
    a.port = params.app.port;
    a.readers = params.app.readers;
    a.pinned = params.app.pinned;
    a.work = params.app.work;
    a.backlog = params.net.somaxconn;
    m_tcp_app = std::make_unique<tcp_app>(*all.at(params.app_cpu), m_stack->tcp(), a);
    return;
  }
  for (unsigned i = 0; i < params.sockets; ++i) {
    udp_app_params a = params.app;
    a.port = static_cast<uint16_t>(params.app.port + i);
    a.sndbuf_bytes = params.net.wmem_default;
    if (params.sockets > 1) a.comm = "udp" + std::to_string(a.port);
    m_apps.push_back(std::make_unique<udp_app>(*all.at(params.app_cpu), m_stack->udp(), a));
  }
}

}  // namespace nicsim::host
