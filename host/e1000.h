#pragma once
// The driver, after drivers/net/ethernet/intel/e1000: e1000_open sets up the
// ring, e1000_intr masks and schedules NAPI, e1000_clean polls
// e1000_clean_rx_irq over the real descriptors in host memory and refills with
// e1000_alloc_rx_buffers, one tail write per batch.
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>
#include <systemc>
#include <tlm>
#include <vector>

#include "host/netstack.h"

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
  bool napi = true;             // false: the pre-NAPI driver, cleaning in hard IRQ and calling netif_rx
  uint64_t ring_dma = 0x10000;  // where the descriptor ring lives in host memory
  uint64_t msi_address = 0xFEE00000;
  unsigned msi_vector = 0x41;
};

struct e1000_stats {
  uint64_t hw_csum_good = 0;  // ethtool -S rx_csum_offload_good
  uint64_t hw_csum_err = 0;   // rx_csum_offload_errors
  uint64_t rx_cleaned = 0;    // descriptors turned into skbs
  uint64_t alloc_rx_buff_failed = 0;
  uint64_t rx_tail_writes = 0;
  uint64_t spurious_irqs = 0;  // ICR read as zero
  uint64_t mmio_reads = 0, mmio_writes = 0;
};

class e1000_adapter : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<e1000_adapter> mmio;  // the CPU's uncached path to BAR0

  e1000_adapter(const sc_core::sc_module_name& name, const e1000_params& params, cpu& c, netstack& stack,
                tlm::host_memory& mem, rx_buffer_pool& buffers, skb_cache& skbs, uint64_t bar0);

  // From a task context: program the NIC and post buffers (e1000_open + e1000_configure_rx).
  void e1000_open();

  const e1000_stats& stats() const { return m_stats; }
  const napi_struct& napi() const { return m_napi; }

 private:
  uint32_t er32(uint32_t reg);
  void ew32(uint32_t reg, uint32_t value);
  void e1000_intr(unsigned vector);
  int e1000_clean(napi_struct& napi, int budget);
  void e1000_clean_rx_irq(int* work_done, int work_to_do);
  void e1000_intr_legacy();
  void e1000_alloc_rx_buffers(unsigned cleaned_count);
  void e1000_irq_enable();
  unsigned desc_unused() const;
  uint8_t* desc(unsigned i) const;

  e1000_params m_params;
  cpu& m_irq_cpu;  // where its interrupt is routed (smp_affinity)
  netstack& m_stack;
  tlm::host_memory& m_mem;
  rx_buffer_pool& m_buffers;
  skb_cache& m_skbs;
  uint64_t m_bar0;
  napi_struct m_napi;
  std::vector<uint64_t> m_buffer_info;  // per ring slot: the buffer posted there, 0 if none
  unsigned m_next_to_use = 0;
  unsigned m_next_to_clean = 0;
  uint8_t* m_ring = nullptr;
  e1000_stats m_stats;
};

}  // namespace nicsim::host
