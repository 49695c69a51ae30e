// The driver's transmit side (drivers/net/ethernet/intel/e1000/e1000_main.c and, with several
// queues, igb_main.c, v6.6): e1000_configure_tx, e1000_xmit_frame (e1000_tx_map,
// e1000_tx_queue, one legacy descriptor per linear skb, EOP | IFCS | RS, the tail write),
// e1000_maybe_stop_tx and e1000_clean_tx_irq (DD read from host memory, napi_consume_skb,
// BQL completion, netif_wake_queue). Kept apart from e1000_main.cpp for its length only.
#include <algorithm>
#include <cstring>

#include "abi/e1000_hw.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "proto/frame.h"

namespace nicsim::host {

namespace regs = nicsim::abi;

namespace {
constexpr unsigned MAX_SKB_FRAGS = 17;
// e1000_xmit_frame's desc_needed (MAX_SKB_FRAGS + 7) and e1000_clean_tx_irq's wake threshold;
// igb: DESC_NEEDED (MAX_SKB_FRAGS + 4) and TX_WAKE_THRESHOLD (DESC_NEEDED * 2).
constexpr unsigned E1000_DESC_NEEDED = MAX_SKB_FRAGS + 7;  // 24
constexpr unsigned E1000_TX_WAKE_THRESHOLD = 32;
constexpr unsigned IGB_DESC_NEEDED = MAX_SKB_FRAGS + 4;  // 21
constexpr unsigned IGB_TX_WAKE_THRESHOLD = IGB_DESC_NEEDED * 2;
constexpr unsigned IGB_DEFAULT_TX_WORK = 128;          // q_vector->tx.work_limit
constexpr unsigned E1000_MAX_DATA_PER_TXD = 1u << 12;  // max_txd_pwr 12 (TXD_USE_COUNT)
constexpr unsigned E1000_COLLISION_THRESHOLD = 15;
constexpr unsigned E1000_COLLISION_DISTANCE = 63;
// TIPG for copper (e1000_hw.h DEFAULT_82543_TIPG_*).
constexpr uint32_t DEFAULT_82543_TIPG_IPGT_COPPER = 8, DEFAULT_82543_TIPG_IPGR1 = 8,
                   DEFAULT_82543_TIPG_IPGR2 = 6;
constexpr unsigned E1000_TIPG_IPGR1_SHIFT = 10, E1000_TIPG_IPGR2_SHIFT = 20;
}  // namespace

unsigned e1000_adapter::desc_unused(const e1000_tx_ring& ring) const {  // E1000_DESC_UNUSED
  return (ring.next_to_clean > ring.next_to_use ? 0 : m_params.tx_ring_size) + ring.next_to_clean -
         ring.next_to_use - 1;
}

// e1000_configure_tx (v6.6): each ring's base, length, head and tail; the inter-packet gap,
// the interrupt delays, TCTL; the descriptor command every packet carries (txd_cmd).
void e1000_adapter::e1000_configure_tx() {
  const unsigned n = m_params.tx_ring_size;
  for (auto& ring : m_tx_rings) {
    const uint32_t base = regs::TXQ_BASE(ring->index);
    std::memset(ring->desc, 0, uint64_t{n} * regs::TX_DESC_SIZE);
    ew32(base + regs::TDBAL_OFF, static_cast<uint32_t>(ring->dma));
    ew32(base + regs::TDBAH_OFF, static_cast<uint32_t>(ring->dma >> 32));
    ew32(base + regs::TDLEN_OFF, n * regs::TX_DESC_SIZE);
    ew32(base + regs::TDH_OFF, 0);
    ew32(base + regs::TDT_OFF, 0);
    ring->next_to_use = ring->next_to_clean = 0;
    m_core.netdev_tx_reset_queue(*ring->txq);  // e1000_clean_tx_ring: netdev_reset_queue
  }
  ew32(regs::TIPG, DEFAULT_82543_TIPG_IPGT_COPPER | DEFAULT_82543_TIPG_IPGR1 << E1000_TIPG_IPGR1_SHIFT |
                       DEFAULT_82543_TIPG_IPGR2 << E1000_TIPG_IPGR2_SHIFT);
  ew32(regs::TIDV, m_params.tidv);
  ew32(regs::TADV, m_params.tadv);
  ew32(regs::TCTL, regs::TCTL_EN | regs::TCTL_PSP | regs::TCTL_RTLC |
                       E1000_COLLISION_THRESHOLD << regs::CT_SHIFT |
                       E1000_COLLISION_DISTANCE << regs::COLD_SHIFT);
  m_txd_cmd = regs::TXD_CMD_EOP | regs::TXD_CMD_IFCS | regs::TXD_CMD_RS;
  if (m_params.tidv) m_txd_cmd |= regs::TXD_CMD_IDE;
  m_tx_up = true;
}

// e1000_maybe_stop_tx / __e1000_maybe_stop_tx (igb_maybe_stop_tx): stop the queue when fewer
// than size descriptors are free; restart it at once if the clean freed some meanwhile.
bool e1000_adapter::e1000_maybe_stop_tx(e1000_tx_ring& ring, unsigned size) {
  if (desc_unused(ring) >= size) return false;
  m_core.netif_tx_stop_queue(*ring.txq);
  if (desc_unused(ring) < size) return true;  // -EBUSY
  m_core.netif_tx_start_queue(*ring.txq);
  ++ring.restart_queue;
  ++m_stats.tx_restart_queue;
  return false;
}

// e1000_xmit_frame / igb_xmit_frame_ring (v6.6) for a linear skb.
netdev_tx_t e1000_adapter::e1000_xmit_frame(sk_buff* skb) {
  e1000_tx_ring& ring = *m_tx_rings.at(skb->queue_mapping);
  waves::slice s(cpu::this_cpu().observer(), cpu::this_cpu().track(),
                 msix() ? "igb_xmit_frame" : "e1000_xmit_frame");
  cpu::this_cpu().charge(cost::e1000_xmit_frame);
  // eth_skb_pad: pad short frames to ETH_ZLEN in memory (the e1000's PCI padding erratum).
  if (skb->len < proto::ETH_ZLEN) {
    std::memset(skb->data_ptr() + skb->len, 0, proto::ETH_ZLEN - skb->len);
    skb->len = proto::ETH_ZLEN;
  }
  const unsigned count = (skb->len + E1000_MAX_DATA_PER_TXD - 1) / E1000_MAX_DATA_PER_TXD;  // TXD_USE_COUNT
  if (e1000_maybe_stop_tx(ring, count + (msix() ? 3 : 2))) {
    ++m_stats.tx_busy;
    return NETDEV_TX_BUSY;
  }
  // e1000_tx_map: dma_map_single of the linear data, at most E1000_MAX_DATA_PER_TXD per
  // descriptor; e1000_tx_queue: one legacy descriptor each, txd_cmd on the last only
  // (IFCS and IDE on all, as the driver ORs txd_upper/txd_lower into every one).
  const unsigned first = ring.next_to_use;
  unsigned i = first;
  unsigned offset = 0;
  while (offset < skb->len) {
    const unsigned size = std::min(skb->len - offset, E1000_MAX_DATA_PER_TXD);
    regs::e1000_tx_desc d{};
    d.buffer_addr = skb->buf_addr + skb->data + offset;
    const bool last = offset + size == skb->len;
    d.lower.data = (last ? m_txd_cmd : (m_txd_cmd & ~(regs::TXD_CMD_EOP | regs::TXD_CMD_RS))) | size;
    d.upper.data = 0;
    regs::write_desc(ring.desc, i, d);
    e1000_tx_buffer& b = ring.buffer_info[i];
    b = e1000_tx_buffer{};
    b.dma = d.buffer_addr;
    b.length = size;
    b.in_use = true;
    offset += size;
    if (!last) i = (i + 1) % m_params.tx_ring_size;
  }
  e1000_tx_buffer& head = ring.buffer_info[first];
  head.skb = skb;
  head.bytecount = skb->len;
  head.next_to_watch = i;
  m_core.netdev_tx_sent_queue(*ring.txq, skb->len);  // netdev_sent_queue, before the tail write
  ring.next_to_use = (i + 1) % m_params.tx_ring_size;
  e1000_maybe_stop_tx(ring, msix() ? IGB_DESC_NEEDED : E1000_DESC_NEEDED);
  // No xmit_more from the model's qdisc: every packet writes the tail (after wmb()).
  ++m_stats.tx_tail_writes;
  ew32(regs::TXQ_BASE(ring.index) + regs::TDT_OFF, ring.next_to_use);
  return NETDEV_TX_OK;
}

// e1000_clean_tx_irq / igb_clean_tx_irq (v6.6): free every packet whose last descriptor the
// device wrote back with DD, at most a ring's worth (igb: tx.work_limit, 128); BQL learns the
// completed bytes; the queue wakes once TX_WAKE_THRESHOLD descriptors are free. True: the
// clean finished (the poll may complete).
bool e1000_adapter::e1000_clean_tx_irq(e1000_tx_ring& ring) {
  const unsigned limit = msix() ? IGB_DEFAULT_TX_WORK : m_params.tx_ring_size;
  unsigned i = ring.next_to_clean;
  unsigned count = 0, pkts = 0, bytes = 0;
  while (count < limit && i != ring.next_to_use && ring.buffer_info[i].in_use) {
    const unsigned eop = ring.buffer_info[i].next_to_watch;
    const auto eop_desc = regs::read_desc<regs::e1000_tx_desc>(ring.desc, eop);
    if (!(eop_desc.upper.data & regs::TXD_STAT_DD)) break;
    // rmb(): the rest of the descriptor after DD.
    for (bool cleaned = false; !cleaned; ++count) {
      cleaned = i == eop;
      e1000_tx_buffer& b = ring.buffer_info[i];
      sk_buff* skb = b.skb;
      if (skb != nullptr) {
        ++pkts;
        bytes += b.bytecount;
      }
      b = e1000_tx_buffer{};
      regs::e1000_tx_desc cleared = regs::read_desc<regs::e1000_tx_desc>(ring.desc, i);
      cleared.upper.data = 0;
      regs::write_desc(ring.desc, i, cleared);
      i = (i + 1) % m_params.tx_ring_size;
      ring.next_to_clean = i;
      if (skb != nullptr) {
        ++ring.tx_packets;
        ring.tx_bytes += skb->len;
        ++m_stats.tx_cleaned;
        cpu::this_cpu().charge(cost::clean_tx_desc);  // dma_unmap, e1000_unmap_and_free_tx_resource
        m_skb.napi_consume_skb(skb, 64);
      }
    }
  }
  ring.next_to_clean = i;
  // total_tx_packets / total_tx_bytes: what the adaptive moderation measures.
  m_rings[ring.index]->tx_itr.total_packets += pkts;
  m_rings[ring.index]->tx_itr.total_bytes += bytes;
  m_core.netdev_tx_completed_queue(*ring.txq, pkts, bytes);
  const unsigned wake = msix() ? IGB_TX_WAKE_THRESHOLD : E1000_TX_WAKE_THRESHOLD;
  if (count && desc_unused(ring) >= wake && ring.txq->drv_xoff) {
    m_core.netif_tx_wake_queue(*ring.txq);
    ++ring.restart_queue;
    ++m_stats.tx_restart_queue;
  }
  return count < limit;
}

}  // namespace nicsim::host
