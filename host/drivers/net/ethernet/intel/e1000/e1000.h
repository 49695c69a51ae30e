#pragma once
// The driver, after drivers/net/ethernet/intel/e1000: e1000_open sets up the
// ring, e1000_intr masks and schedules NAPI, e1000_clean polls
// e1000_clean_rx_irq over the real descriptors in host memory and refills with
// e1000_alloc_rx_buffers, one tail write per batch.
//
// With more than one RX queue it works as igb does (drivers/net/ethernet/intel/igb):
// a ring, a NAPI instance and an MSI-X vector per queue, RSS spreading flows over the
// queues, igb_msix_ring scheduling the queue's NAPI without touching the NIC, and
// igb_poll re-enabling only that queue's cause (EIMS) when it completes.
#include <tlm_utils/simple_initiator_socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "host/net/core/dev.h"
#include "host/net/core/skbuff.h"

namespace nicsim::tlm {
class host_memory;
}

namespace nicsim::host {

struct e1000_params {
  unsigned rx_ring_size = 256;    // ethtool -G rx
  unsigned rx_buffer_len = 2048;  // E1000_RXBUFFER_2048
  unsigned rx_usecs = 20;         // ethtool -C rx-usecs
  unsigned rx_frames = 0;         // ethtool -C rx-frames
  enum class coalesce_mode { ethtool, e1000, arm };
  coalesce_mode coalesce = coalesce_mode::ethtool;  // which of the moderation settings the NIC applies
  unsigned itr = 0;                                 // e1000: minimum interrupt gap, 256 ns units
  unsigned rdtr = 0;                                // e1000: rx_int_delay, 1.024 us units
  unsigned radv = 0;                                // e1000: rx_abs_int_delay, 1.024 us units
  uint32_t min_interval_ns = 0;                     // arm: minimum interrupt gap
  int napi_weight = 64;
  bool rx_csum = false;         // ethtool -K rx: RXCSUM.TUOFL, the NIC verifies TCP/UDP checksums
  bool gro = true;              // ethtool -K gro: NETIF_F_GRO (napi_gro_receive merges TCP)
  bool napi = true;             // false: the pre-NAPI driver, cleaning in hard IRQ and calling netif_rx
  uint64_t ring_dma = 0x10000;  // where the descriptor ring lives in host memory
  uint64_t msi_address = 0xFEE00000;
  unsigned msi_vector = 0x41;  // queue n's MSI-X vector is msi_vector + n
  // Multi-queue (ethtool -L rx N). More than one enables MSI-X, RSS and SRRCTL.DROP_EN.
  unsigned rx_queues = 1;
  std::array<uint8_t, 40> rss_key{};  // ethtool -X hkey (netdev_rss_key)
  bool rss_udp4_l4 = false;           // ethtool -N rx-flow-hash udp4 sdfn (igb's default is sd)
  // ---- transmit: one TX ring per RX queue (igb), legacy descriptors (e1000_tx_desc),
  // configured at every open (e1000_configure_tx) as the kernel does.
  unsigned tx_ring_size = 256;   // ethtool -G tx (E1000_DEFAULT_TXD)
  unsigned tidv = 8;             // TIDV, 1.024 us units (e1000_param.c DEFAULT_TIDV); 0: no IDE
  unsigned tadv = 32;            // TADV (DEFAULT_TADV)
  unsigned tx_queue_len = 1000;  // ip link set txqueuelen: the pfifo_fast bands' length
  bool bql = true;               // byte queue limits
  std::array<uint8_t, 6> mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};  // the device's address
};

struct e1000_stats {
  uint64_t hw_csum_good = 0;  // ethtool -S rx_csum_offload_good
  uint64_t hw_csum_err = 0;   // rx_csum_offload_errors
  uint64_t rx_cleaned = 0;    // descriptors turned into skbs
  uint64_t alloc_rx_buff_failed = 0;
  uint64_t rx_tail_writes = 0;
  uint64_t spurious_irqs = 0;  // ICR read as zero
  uint64_t mmio_reads = 0, mmio_writes = 0;
  // transmit (ethtool -S): restart_queue is e1000's tx_restart_queue, the sum of igb's
  // tx_queue_<n>_restart; tx_busy counts NETDEV_TX_BUSY returns; no watchdog is modelled,
  // so tx_timeout_count stays 0.
  uint64_t tx_restart_queue = 0;
  uint64_t tx_timeout_count = 0;
  uint64_t tx_busy = 0;
  uint64_t tx_tail_writes = 0;
  uint64_t tx_cleaned = 0;
};

// One TX queue as the driver sees it (e1000_tx_ring / igb_ring); queue n is cleaned by RX
// queue n's NAPI (its q_vector).
struct e1000_tx_buffer {  // struct e1000_tx_buffer
  sk_buff* skb = nullptr;
  uint64_t dma = 0;
  unsigned length = 0;
  unsigned bytecount = 0;
  unsigned next_to_watch = 0;  // the packet's last descriptor
  bool in_use = false;
};
struct e1000_tx_ring {
  unsigned index = 0;
  uint64_t dma = 0;
  uint8_t* desc = nullptr;
  std::vector<e1000_tx_buffer> buffer_info;
  unsigned next_to_use = 0;
  unsigned next_to_clean = 0;
  netdev_queue* txq = nullptr;
  uint64_t tx_packets = 0;     // ethtool -S tx_queue_<n>_packets
  uint64_t tx_bytes = 0;       // tx_queue_<n>_bytes
  uint64_t restart_queue = 0;  // tx_queue_<n>_restart
};

// One RX queue as the driver sees it (igb_ring plus its q_vector).
struct e1000_rx_ring {
  unsigned index = 0;
  uint64_t dma = 0;                   // descriptor ring in host memory
  uint8_t* desc = nullptr;            // the same, as the CPU sees it
  std::vector<uint64_t> buffer_info;  // per slot: the buffer posted there, 0 if none
  unsigned next_to_use = 0;
  unsigned next_to_clean = 0;
  napi_struct napi;
  cpu* irq_cpu = nullptr;  // where its vector is routed (smp_affinity)
  unsigned vector = 0;
  uint64_t rx_cleaned = 0;      // ethtool -S rx_queue_<n>_packets: igb counts them as it cleans
  uint64_t rx_bytes = 0;        // rx_queue_<n>_bytes (frame bytes, FCS stripped)
  e1000_tx_ring* tx = nullptr;  // the TX queue this vector also cleans (nullptr: no TX)
};

// Host memory one descriptor ring takes (rings are 4 KiB aligned, back to back).
uint64_t e1000_ring_bytes(unsigned ring_size);

class e1000_adapter : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<e1000_adapter> mmio;  // the CPU's uncached path to BAR0

  // irq_cpus[n]: the CPU queue n's interrupt is routed to; one per queue.
  e1000_adapter(const sc_core::sc_module_name& name, const e1000_params& params,
                const std::vector<cpu*>& irq_cpus, netdev_core& core, skb_allocator& skb_alloc,
                tlm::host_memory& mem, rx_buffer_pool& buffers, skb_cache& skbs, uint64_t bar0);

  // From a task context: program the NIC and post buffers (e1000_open + e1000_configure_rx).
  void e1000_open();

  const e1000_stats& stats() const { return m_stats; }
  const napi_struct& napi(unsigned queue = 0) const { return m_rings.at(queue)->napi; }
  unsigned queues() const { return static_cast<unsigned>(m_rings.size()); }
  const e1000_rx_ring& ring(unsigned queue) const { return *m_rings.at(queue); }
  bool msix() const { return m_rings.size() > 1; }
  const e1000_tx_ring& tx_ring(unsigned queue) const { return *m_tx_rings.at(queue); }
  const net_device& netdev() const { return m_netdev; }
  // Where the TX rings go: after the RX rings.
  static uint64_t tx_ring_dma(const e1000_params& p);
  // Public for the tests: ndo_start_xmit and the TX clean.
  netdev_tx_t e1000_xmit_frame(sk_buff* skb);
  bool e1000_clean_tx_irq(e1000_tx_ring& ring);

 private:
  uint32_t er32(uint32_t reg);
  void ew32(uint32_t reg, uint32_t value);
  void e1000_intr(unsigned vector);
  void igb_msix_ring(e1000_rx_ring& ring);
  int e1000_clean(e1000_rx_ring& ring, int budget);
  void e1000_clean_rx_irq(e1000_rx_ring& ring, int* work_done, int work_to_do);
  void e1000_intr_legacy();
  void e1000_alloc_rx_buffers(e1000_rx_ring& ring, unsigned cleaned_count);
  void e1000_configure_rx_ring(e1000_rx_ring& ring);
  void igb_setup_mrqc();
  void e1000_irq_enable();
  unsigned desc_unused(const e1000_rx_ring& ring) const;
  unsigned desc_unused(const e1000_tx_ring& ring) const;
  void e1000_configure_tx();
  bool e1000_maybe_stop_tx(e1000_tx_ring& ring, unsigned size);

  e1000_params m_params;
  netdev_core& m_core;   // the device layer: NAPI, receive, the transmit queues
  skb_allocator& m_skb;  // napi_consume_skb
  tlm::host_memory& m_mem;
  rx_buffer_pool& m_buffers;
  skb_cache& m_skbs;
  uint64_t m_bar0;
  std::vector<std::unique_ptr<e1000_rx_ring>> m_rings;
  std::vector<std::unique_ptr<e1000_tx_ring>> m_tx_rings;
  net_device m_netdev;
  uint32_t m_txd_cmd = 0;
  bool m_tx_up = false;
  e1000_stats m_stats;
};

}  // namespace nicsim::host
