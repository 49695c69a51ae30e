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
#include "tlm/payload.h"

namespace nicsim::tlm {
class host_memory;
}

namespace nicsim::host {

// Which part the driver drives (nic.model). generic: the model's own device, moderated as
// nic.coalesce.mode says; the others program moderation, RSS and buffers as their drivers
// (v6.6) do: e1000 (82540EM, drivers/net/ethernet/intel/e1000), igb (82576), ixgbe (82599).
enum class nic_model { generic, e1000, igb, ixgbe };

struct e1000_params {
  nic_model model = nic_model::generic;
  unsigned rx_ring_size = 256;       // ethtool -G rx
  unsigned rx_buffer_len = 2048;     // E1000_RXBUFFER_2048
  unsigned link_speed_mbps = 10000;  // the link's speed as the driver reads it (STATUS.SPEED)
  // ethtool -C rx-usecs. generic: the timer (mode ethtool) or the gap (mode itr) in us;
  // e1000/igb: 0 off, 1 dynamic, 3 dynamic conservative, n >= 10 a fixed gap of n us
  // (e1000_set_coalesce, igb_set_coalesce); ixgbe: 0 off, 1 dynamic, n >= 2 n us
  // (ixgbe_set_coalesce).
  unsigned rx_usecs = 20;
  unsigned rx_frames = 0;  // ethtool -C rx-frames
  // ethtool: a timer from the first pending frame (mlx5-like; the knob calls it timer);
  // e1000: ITR/RDTR/RADV; arm: auto-mask and a gap; itr: EITR, a minimum gap.
  enum class coalesce_mode { ethtool, e1000, arm, itr };
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
  uint64_t itr_writes = 0;  // ITR/EITR writes by the adaptive moderation
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

// What the adaptive moderation measures of one direction of a vector (igb_ring_container,
// ixgbe_ring_container; e1000 keeps the same in its adapter).
struct itr_container {
  unsigned total_packets = 0;
  uint64_t total_bytes = 0;
  unsigned itr = 0;          // e1000/igb: a latency class; ixgbe: usecs | IXGBE_ITR_ADAPTIVE_LATENCY
  uint64_t next_update = 0;  // ixgbe: jiffies by which the next update must come
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
  // The vector's moderation (q_vector): what it measured, and its EITR value (igb itr_val,
  // ixgbe itr: 0.25 us units), written at the next interrupt when set_itr says so (igb).
  itr_container rx_itr, tx_itr;
  uint32_t itr_val = 0;
  bool set_itr = false;
};

// The RSS indirection table the driver fills at open (igb_setup_mrqc / ixgbe_setup_reta):
// entry j's queue.
std::array<uint8_t, 128> rss_indir_tbl(nic_model model, unsigned queues);

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
  // Receive buffers posted in the rings, waiting for a frame (buffer_info set).
  unsigned rx_buffers_posted() const;
  bool msix() const { return m_rings.size() > 1; }
  const e1000_tx_ring& tx_ring(unsigned queue) const { return *m_tx_rings.at(queue); }
  // The interrupt rate e1000's moderation asks for (adapter->itr, ints/s; 0: off), and the
  // EITR value of queue q's vector (igb/ixgbe).
  unsigned e1000_itr() const { return m_itr; }
  uint32_t eitr_value(unsigned queue) const { return m_rings.at(queue)->itr_val; }
  const net_device& netdev() const { return m_netdev; }
  // Where the TX rings go: after the RX rings.
  static uint64_t tx_ring_dma(const e1000_params& p);
  // Public for the tests: ndo_start_xmit and the TX clean.
  netdev_tx_t e1000_xmit_frame(sk_buff* skb);
  bool e1000_clean_tx_irq(e1000_tx_ring& ring);

 private:
  // MMIO accesses' payloads, reused (several CPUs may each be in a read at once).
  tlm::payload_pool m_mmio_payloads{*this};
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
  // Moderation per model (e1000_param.c / e1000_set_coalesce, igb_set_coalesce,
  // ixgbe_set_coalesce), programmed at open; the adaptive parts run at napi_complete_done.
  void configure_moderation();
  unsigned rx_truesize(unsigned length) const;
  void e1000_set_itr();
  void igb_write_itr(e1000_rx_ring& ring);
  void igb_set_itr(e1000_rx_ring& ring);
  void igb_update_ring_itr(e1000_rx_ring& ring);
  void ixgbe_set_itr(e1000_rx_ring& ring);
  void ixgbe_update_itr(e1000_rx_ring& ring, itr_container& rc, bool has_ring);
  void ixgbe_write_eitr(e1000_rx_ring& ring);
  void moderation_irq(e1000_rx_ring& ring);       // at the interrupt: reset counts, write EITR
  void moderation_complete(e1000_rx_ring& ring);  // after napi_complete_done
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
  // e1000: adapter->itr_setting (0 off, 1 dynamic, 3 conservative, else fixed) and
  // adapter->itr (ints/s); igb/ixgbe: rx_itr_setting.
  unsigned m_itr_setting = 0;
  unsigned m_itr = 0;
  bool m_tx_up = false;
  e1000_stats m_stats;
};

}  // namespace nicsim::host
