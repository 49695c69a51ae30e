#include "host/host_system.h"

#include "tlm/host_memory.h"

namespace nicsim::host {

unsigned host_rx_buffers(const host_params& p) {
  if (p.rx_buffers) return p.rx_buffers;
  const uint64_t truesize = p.driver.rx_buffer_len + 576;
  // Every place a buffer can wait: the ring, the per-CPU backlog, the socket
  // (which may overshoot its rcvbuf by one skb), and skbs in processing.
  return static_cast<unsigned>(p.driver.rx_ring_size + p.net.netdev_max_backlog + 1 +
                               p.app.rcvbuf_bytes / truesize + 64);
}

uint64_t host_memory_bytes(const host_params& p) {
  return p.rx_buffer_base + uint64_t{host_rx_buffers(p)} * p.driver.rx_buffer_len;
}

host_system::host_system(const sc_core::sc_module_name& name, const host_params& params,
                         const cost_table& costs, tlm::host_memory& mem, uint64_t nic_bar0,
                         waves::observer* obs)
    : sc_core::sc_module(name), m_params(params) {
  m_cpu = std::make_unique<cpu>("cpu0", 0, costs);
  m_cpu->attach(obs);
  m_apic = std::make_unique<apic>("apic", std::vector<cpu*>{m_cpu.get()});
  m_buffers = std::make_unique<rx_buffer_pool>(mem, params.rx_buffer_base, params.driver.rx_buffer_len,
                                               host_rx_buffers(params));
  m_stack = std::make_unique<netstack>(*m_cpu, m_skbs, *m_buffers, params.net);
  m_driver = std::make_unique<e1000_adapter>("eth0", params.driver, *m_cpu, *m_stack, mem, *m_buffers, m_skbs,
                                             nic_bar0);
  // Boot: a kernel thread opens the device (ip link set eth0 up), then exits.
  m_cpu->kthread_create("kworker/0:0", [this] {
    m_cpu->current()->in_kernel = true;
    m_driver->e1000_open();
    m_up = true;
    m_link_up.notify(sc_core::SC_ZERO_TIME);
  });
  m_app = std::make_unique<udp_app>(*m_cpu, *m_stack, params.app);
}

}  // namespace nicsim::host
