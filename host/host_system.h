#pragma once
// The host: one CPU running the modeled kernel (driver, NAPI, IP/UDP, sockets)
// and a receiving application, plus the interrupt controller the NIC's MSI hits.
#include <memory>
#include <systemc>

#include "host/apps/tcp_app.h"
#include "host/apps/udp_app.h"
#include "host/arch/x86/kernel/apic/apic.h"
#include "host/cost_table.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "host/kernel/cpu.h"
#include "host/kernel/version.h"
#include "host/net/core/skbuff.h"
#include "host/net/netstack.h"

namespace nicsim::tlm {
class host_memory;
}

namespace nicsim::host {

struct host_params {
  double cpu_ghz = 3.0;
  unsigned cpus = 1;
  // /proc/irq/N/smp_affinity of the NIC's vector; with several queues, queue n's vector
  // goes to CPU (irq_cpu + n) % cpus, one queue per CPU as set_irq_affinity.sh does it.
  unsigned irq_cpu = 0;
  unsigned app_cpu = 0;  // where the readers start (pinned there unless app.pinned is false)
  unsigned hz = 1000;    // CONFIG_HZ: the scheduler tick
  // host.kernel: the version-dependent rules (host/kernel/version.h, docs/kernels.md).
  // make_system_params derives kernel (and net.icmp_host_limit_first) from kernel_release.
  kernel_version kernel_release = kernel_version::v6_6;
  kernel_profile kernel = make_kernel_profile(kernel_version::v6_6);
  netstack_params net;
  e1000_params driver;
  udp_app_params app;
  // tcp: the application is a TCP listener and its readers (tcp_app, from tcp_app below and
  // app's readers, pinned, comm and work) instead of the UDP readers; `sockets` is then 1.
  bool tcp = false;
  tcp_app_params tcp_app;
  unsigned sockets = 1;  // applications, each a socket on port app.port + i with app.readers readers
  // Where the receive buffers start when they fit below the PCI hole; when they do not,
  // they go to high memory (above 4 GiB) instead.
  uint64_t rx_buffer_base = 0x200000;
  unsigned rx_buffers = 0;  // 0: enough for the ring plus a full receive buffer
  // Frames the run can put on the wire at most (0: no bound). No more buffers than the
  // rings post plus these can ever be in use, so the pool need not be larger.
  uint64_t max_rx_frames = 0;
};

// The host's physical address map, as a PC has it: DRAM below the PCI hole, the hole
// [PCI_HOLE_BASE, 4 GiB) for MMIO and the MSI window (0xFEE00000), and DRAM remapped
// above 4 GiB for whatever does not fit below. However large memory gets, it never
// reaches into the hole, so no knob can make memory overlap the MSI window.
inline constexpr uint64_t PCI_HOLE_BASE = 0xC0000000;      // TOLUD: top of low DRAM, 3 GiB
inline constexpr uint64_t HIGH_MEMORY_BASE = 0x100000000;  // 4 GiB: DRAM remapped above the hole
static_assert(apic::MSI_BASE >= PCI_HOLE_BASE && apic::MSI_BASE + apic::MSI_SIZE <= HIGH_MEMORY_BASE,
              "the MSI window lies in the PCI hole");

// Host memory the layout above needs: the end of its highest byte. Memory is sparse
// (tlm::host_memory), so only what the run touches costs.
uint64_t host_memory_bytes(const host_params& p);
// Receive buffers in the pool: enough for every place one can wait, and no more than
// the run can fill (max_rx_frames).
unsigned host_rx_buffers(const host_params& p);
// Where the pool's slab starts: rx_buffer_base, or HIGH_MEMORY_BASE when the slab
// would otherwise reach into the PCI hole.
uint64_t host_rx_buffer_base(const host_params& p);
// Transmit data buffers: every transmit skb is charged to a socket's send buffer (an
// application's SO_SNDBUF, or a CPU's ICMP socket), so their number is bounded by what those
// send buffers admit (sock_alloc_send_skb checks before it allocates: one skb over each).
unsigned host_tx_buffers(const host_params& p);
// Where the transmit slab starts: right after the receive slab (or above 4 GiB when that
// would reach into the PCI hole).
uint64_t host_tx_buffer_base(const host_params& p);

class host_system : public sc_core::sc_module {
 public:
  host_system(const sc_core::sc_module_name& name, const host_params& params, const cost_table& costs,
              tlm::host_memory& mem, uint64_t nic_bar0, waves::observer* obs = nullptr);

  apic& interrupt_controller() { return *m_apic; }
  e1000_adapter& driver() { return *m_driver; }
  cpu& cpu0() { return *m_cpus.front(); }
  const std::vector<std::unique_ptr<cpu>>& cpus() const { return m_cpus; }
  netstack& stack() { return *m_stack; }
  udp_app& app() { return *m_apps.front(); }
  const std::vector<std::unique_ptr<udp_app>>& apps() const { return m_apps; }
  // The TCP application (host_params::tcp), else null.
  tcp_app* tcp_application() const { return m_tcp_app.get(); }
  // Every application's statistics together.
  udp_app_stats app_totals() const;
  unsigned returning() const;  // datagrams between copy and recvfrom's return, all readers
  const skb_cache& skbs() const { return m_skbs; }
  // Received frames the host holds: each keeps its receive buffer from the driver's clean
  // until its skb is freed (consumed or dropped), whatever skb holds it (its own, or another's
  // frags or frag_list after GRO or TCP coalescing). Receive buffers out of the pool and not
  // posted in a ring.
  unsigned rx_frames_held() const;
  // Notified once the driver has opened the device (link up).
  const sc_core::sc_event& link_up() const { return m_link_up; }
  bool is_up() const { return m_up; }

 private:
  host_params m_params;
  std::vector<std::unique_ptr<cpu>> m_cpus;
  std::unique_ptr<apic> m_apic;
  skb_cache m_skbs;
  std::unique_ptr<rx_buffer_pool> m_buffers;
  std::unique_ptr<rx_buffer_pool> m_tx_buffers;  // the same slab allocator, for transmit data
  std::unique_ptr<netstack> m_stack;
  std::unique_ptr<e1000_adapter> m_driver;
  std::vector<std::unique_ptr<udp_app>> m_apps;
  std::unique_ptr<tcp_app> m_tcp_app;
  sc_core::sc_event m_link_up;
  bool m_up = false;
};

}  // namespace nicsim::host
