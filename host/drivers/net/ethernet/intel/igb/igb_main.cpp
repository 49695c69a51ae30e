// igb's multi-queue parts (drivers/net/ethernet/intel/igb/igb_main.c, v6.x) on the
// e1000 adapter: RSS setup and the per-queue MSI-X handler.
#include <algorithm>
#include <type_traits>

#include "abi/e1000_hw.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"

namespace nicsim::host {

namespace regs = nicsim::abi;

namespace {
// igb.h (v6.6): EITR values (itr_val, 0.25 us units) of the three latency classes.
constexpr uint32_t IGB_70K_ITR = 56;
constexpr uint32_t IGB_20K_ITR = 196;
constexpr uint32_t IGB_4K_ITR = 980;
enum latency_range : unsigned { lowest_latency = 0, low_latency = 1, bulk_latency = 2 };
}  // namespace

// The RSS indirection table each driver fills at open:
// - igb_setup_mrqc (igb_main.c, v6.6): in blocks, rss_indir_tbl[j] = j * num_rx_queues /
//   IGB_RETA_SIZE (queue 0 takes entries 0..31 of 128 with four queues);
// - ixgbe_setup_reta (ixgbe_main.c, v6.6) and the model's generic device: round robin,
//   entry i to queue i % queues (ethtool_rxfh_indir_default).
std::array<uint8_t, 128> rss_indir_tbl(nic_model model, unsigned queues) {
  static_assert(std::is_same_v<regs::rss_reta, std::array<uint8_t, 128>>);
  regs::rss_reta reta{};
  for (unsigned j = 0; j < regs::RETA_ENTRIES; ++j)
    reta[j] = static_cast<uint8_t>(model == nic_model::igb ? j * queues / regs::RETA_ENTRIES : j % queues);
  return reta;
}

// igb_setup_mrqc: the key, the indirection table (rss_indir_tbl), and which fields are hashed.
void e1000_adapter::igb_setup_mrqc() {
  for (unsigned i = 0; i < regs::RSS_KEY_BYTES / 4; ++i)
    ew32(regs::RSSRK_BASE + 4 * i, regs::rssrk_word(m_params.rss_key, i));
  const regs::rss_reta reta = rss_indir_tbl(m_params.model, m_params.rx_queues);
  for (unsigned i = 0; i < regs::RETA_ENTRIES / 4; ++i)
    ew32(regs::RETA_BASE + 4 * i, regs::reta_word(reta, i));
  uint32_t mrqc = regs::MRQC_ENABLE_RSS | regs::MRQC_RSS_FIELD_IPV4 | regs::MRQC_RSS_FIELD_IPV4_TCP;
  if (m_params.rss_udp4_l4) mrqc |= regs::MRQC_RSS_FIELD_IPV4_UDP;
  ew32(regs::MRQC, mrqc);
}

// igb_msix_ring: the vector is the queue's alone, so there is no cause register to
// read; the NIC has already masked the cause (EIAM).
void e1000_adapter::igb_msix_ring(e1000_rx_ring& ring) {
  cpu::this_cpu().charge(cost::e1000_intr);
  moderation_irq(ring);  // igb_write_itr
  if (m_core.napi_schedule_prep(ring.napi)) m_core.__napi_schedule(ring.napi);
}

// igb_write_itr (v6.6): the value igb_set_itr / igb_update_ring_itr chose goes to EITR at the
// start of the next interrupt, not when it is chosen ("it resets the adapter's internal
// timer"); 0 is written as 0x4, the shortest gap.
void e1000_adapter::igb_write_itr(e1000_rx_ring& ring) {
  if (!ring.set_itr) return;
  uint32_t itr_val = ring.itr_val & 0x7FFC;
  if (itr_val == 0) itr_val = 0x4;
  ++m_stats.itr_writes;
  ew32(regs::EITR(ring.index), itr_val);  // | E1000_EITR_CNT_IGNR: no counter is modelled
  ring.set_itr = false;
}

namespace {
// igb_update_itr (v6.6): the latency class of one direction from what the last interrupt's
// poll saw; differs from e1000_update_itr only in bulk_latency's way back (bytes < 1500).
void igb_update_itr(itr_container& rc) {
  const unsigned packets = rc.total_packets;
  const uint64_t bytes = rc.total_bytes;
  unsigned itrval = rc.itr;
  if (packets == 0) return;
  switch (itrval) {
    case lowest_latency:
      if (bytes / packets > 8000)
        itrval = bulk_latency;
      else if (packets < 5 && bytes > 512)
        itrval = low_latency;
      break;
    case low_latency:  // 50 us, 20000 ints/s
      if (bytes > 10000) {
        if (bytes / packets > 8000)
          itrval = bulk_latency;
        else if (packets < 10 || bytes / packets > 1200)
          itrval = bulk_latency;
        else if (packets > 35)
          itrval = lowest_latency;
      } else if (bytes / packets > 2000) {
        itrval = bulk_latency;
      } else if (packets <= 2 && bytes < 512) {
        itrval = lowest_latency;
      }
      break;
    case bulk_latency:  // 250 us, 4000 ints/s
      if (bytes > 25000) {
        if (packets > 35) itrval = low_latency;
      } else if (bytes < 1500) {
        itrval = low_latency;
      }
      break;
  }
  rc.total_bytes = 0;
  rc.total_packets = 0;
  rc.itr = itrval;
}
}  // namespace

// igb_set_itr (v6.6): one vector (num_q_vectors == 1). The larger latency class of RX and
// TX picks 70K/20K/4K ints/s; rx-usecs 3 (conservative) never goes below 20K's gap. A rate
// rising is approached in steps ("bias the interrupt rate towards Bulk").
void e1000_adapter::igb_set_itr(e1000_rx_ring& ring) {
  uint32_t new_itr = ring.itr_val;
  if (m_params.link_speed_mbps != 1000) {  // "for non-gigabit speeds, just fix the interrupt rate at 4000"
    new_itr = IGB_4K_ITR;
  } else {
    igb_update_itr(ring.tx_itr);
    igb_update_itr(ring.rx_itr);
    unsigned current_itr = std::max(ring.rx_itr.itr, ring.tx_itr.itr);
    if (current_itr == lowest_latency && m_itr_setting == 3) current_itr = low_latency;
    switch (current_itr) {
      case lowest_latency:
        new_itr = IGB_70K_ITR;
        break;
      case low_latency:
        new_itr = IGB_20K_ITR;
        break;
      case bulk_latency:
        new_itr = IGB_4K_ITR;
        break;
      default:
        break;
    }
  }
  if (new_itr != ring.itr_val) {
    if (new_itr > ring.itr_val)
      new_itr = std::max((new_itr * ring.itr_val) / (new_itr + (ring.itr_val >> 2)), new_itr);
    ring.itr_val = new_itr;
    ring.set_itr = true;
  }
}

// igb_update_ring_itr (v6.6): several vectors. The gap follows the average wire size of
// what the vector moved since its last interrupt.
void e1000_adapter::igb_update_ring_itr(e1000_rx_ring& ring) {
  uint32_t new_val = ring.itr_val;
  unsigned avg_wire_size = 0;
  if (m_params.link_speed_mbps != 1000) {
    new_val = IGB_4K_ITR;
  } else {
    if (ring.rx_itr.total_packets)
      avg_wire_size = static_cast<unsigned>(ring.rx_itr.total_bytes / ring.rx_itr.total_packets);
    if (ring.tx_itr.total_packets)
      avg_wire_size =
          std::max(avg_wire_size, static_cast<unsigned>(ring.tx_itr.total_bytes / ring.tx_itr.total_packets));
    if (avg_wire_size == 0) goto clear_counts;  // no work was done
    avg_wire_size += 24;                        // CRC, preamble and gap
    avg_wire_size = std::min(avg_wire_size, 3000u);
    if (avg_wire_size > 300 && avg_wire_size < 1200)
      new_val = avg_wire_size / 3;  // "a little boost to mid-size frames"
    else
      new_val = avg_wire_size / 2;
    if (new_val < IGB_20K_ITR && m_itr_setting == 3) new_val = IGB_20K_ITR;
  }
  if (new_val != ring.itr_val) {
    ring.itr_val = new_val;
    ring.set_itr = true;
  }
clear_counts:
  ring.rx_itr = {0, 0, ring.rx_itr.itr, ring.rx_itr.next_update};
  ring.tx_itr = {0, 0, ring.tx_itr.itr, ring.tx_itr.next_update};
}
}  // namespace nicsim::host
