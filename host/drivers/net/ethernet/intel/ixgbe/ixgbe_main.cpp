// ixgbe's adaptive interrupt moderation (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c, v6.6:
// ixgbe_update_itr, ixgbe_set_itr, ixgbe_write_eitr) on the e1000 adapter, for nic.model=ixgbe.
#include <algorithm>

#include "abi/e1000_hw.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"

namespace nicsim::host {

namespace regs = nicsim::abi;

namespace {
// ixgbe.h (v6.6)
constexpr unsigned IXGBE_ITR_ADAPTIVE_MIN_INC = 2;
constexpr unsigned IXGBE_ITR_ADAPTIVE_MIN_USECS = 10;
constexpr unsigned IXGBE_ITR_ADAPTIVE_MAX_USECS = 126;
constexpr unsigned IXGBE_ITR_ADAPTIVE_LATENCY = 0x80;
constexpr unsigned IXGBE_ITR_ADAPTIVE_BULK = 0x00;
constexpr uint32_t IXGBE_MAX_EITR = 0x00000FF8;  // 82599: interval bits 11:3, 2 us granularity
constexpr unsigned div_round_up(unsigned a, unsigned b) { return (a + b - 1) / b; }
}  // namespace

// ixgbe_update_itr (v6.6): rings with too few packets per interrupt lower their gap, bulk
// traffic gets a gap computed from the average wire size.
void e1000_adapter::ixgbe_update_itr(e1000_rx_ring& ring, itr_container& rc, bool has_ring) {
  unsigned itr = IXGBE_ITR_ADAPTIVE_MIN_USECS | IXGBE_ITR_ADAPTIVE_LATENCY;
  const uint64_t next_update = ring.irq_cpu->jiffies();
  unsigned packets = 0, bytes = 0, avg_wire_size = 0;
  if (!has_ring) return;  // "leave ourselves set for maximum possible latency"
  // No update for 1 - 2 jiffies: too little work to measure, or NAPI is moderating.
  if (next_update > rc.next_update) goto clear_counts;
  packets = rc.total_packets;
  if (packets == 0) {
    itr = (ring.itr_val >> 2) + IXGBE_ITR_ADAPTIVE_MIN_INC;
    if (itr > IXGBE_ITR_ADAPTIVE_MAX_USECS) itr = IXGBE_ITR_ADAPTIVE_MAX_USECS;
    itr += rc.itr & IXGBE_ITR_ADAPTIVE_LATENCY;
    goto clear_counts;
  }
  bytes = static_cast<unsigned>(std::min<uint64_t>(rc.total_bytes, UINT32_MAX));
  if (packets < 4 && bytes < 9000) {  // latency driven
    itr = IXGBE_ITR_ADAPTIVE_LATENCY;
    goto adjust_by_size;
  }
  if (packets < 48) {  // the gap is slightly too small
    itr = (ring.itr_val >> 2) + IXGBE_ITR_ADAPTIVE_MIN_INC;
    if (itr > IXGBE_ITR_ADAPTIVE_MAX_USECS) itr = IXGBE_ITR_ADAPTIVE_MAX_USECS;
    goto clear_counts;
  }
  if (packets < 96) {  // "goldilocks"
    itr = ring.itr_val >> 2;
    goto clear_counts;
  }
  if (packets < 256) {  // halve the gap
    itr = ring.itr_val >> 3;
    if (itr < IXGBE_ITR_ADAPTIVE_MIN_USECS) itr = IXGBE_ITR_ADAPTIVE_MIN_USECS;
    goto clear_counts;
  }
  itr = IXGBE_ITR_ADAPTIVE_BULK;
adjust_by_size:
  avg_wire_size = bytes / packets;
  if (avg_wire_size <= 60)
    avg_wire_size = 5120;  // 50K ints/s
  else if (avg_wire_size <= 316)
    avg_wire_size = avg_wire_size * 40 + 2720;
  else if (avg_wire_size <= 1084)
    avg_wire_size = avg_wire_size * 15 + 11452;
  else if (avg_wire_size < 1968)
    avg_wire_size = avg_wire_size * 5 + 22420;
  else
    avg_wire_size = 32256;  // 8K ints/s
  if (itr & IXGBE_ITR_ADAPTIVE_LATENCY) avg_wire_size >>= 1;
  // IXGBE_LINK_SPEED_10GB_FULL; the 1 Gb/s case scales by 64 with a cap of 8064.
  if (m_params.link_speed_mbps >= 10000) {
    itr += div_round_up(avg_wire_size, IXGBE_ITR_ADAPTIVE_MIN_INC * 256) * IXGBE_ITR_ADAPTIVE_MIN_INC;
  } else {
    avg_wire_size = std::min(avg_wire_size, 8064u);
    itr += div_round_up(avg_wire_size, IXGBE_ITR_ADAPTIVE_MIN_INC * 64) * IXGBE_ITR_ADAPTIVE_MIN_INC;
  }
clear_counts:
  rc.itr = itr;
  rc.next_update = next_update + 1;
  rc.total_bytes = 0;
  rc.total_packets = 0;
}

// ixgbe_set_itr (v6.6): the smaller of the RX and TX results, written at once.
void e1000_adapter::ixgbe_set_itr(e1000_rx_ring& ring) {
  ixgbe_update_itr(ring, ring.tx_itr, ring.tx != nullptr && m_tx_up);
  ixgbe_update_itr(ring, ring.rx_itr, true);
  unsigned new_itr = std::min(ring.rx_itr.itr, ring.tx_itr.itr);
  new_itr &= ~IXGBE_ITR_ADAPTIVE_LATENCY;
  new_itr <<= 2;
  if (new_itr != ring.itr_val) {
    ring.itr_val = new_itr;
    ++m_stats.itr_writes;
    ixgbe_write_eitr(ring);
  }
}

// ixgbe_write_eitr (v6.6, 82599): the interval field only (CNT_WDIS has no model).
void e1000_adapter::ixgbe_write_eitr(e1000_rx_ring& ring) {
  ew32(regs::EITR(ring.index), ring.itr_val & IXGBE_MAX_EITR);
}

}  // namespace nicsim::host
