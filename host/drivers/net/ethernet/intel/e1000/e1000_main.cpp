#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "abi/e1000_hw.h"
#include "host/arch/x86/kernel/apic/apic.h"
#include "host/drivers/net/ethernet/intel/e1000/e1000.h"
#include "proto/frame.h"
#include "tlm/host_memory.h"
#include "tlm/payload.h"

namespace nicsim::host {

namespace regs = nicsim::abi;

namespace {
constexpr unsigned E1000_RX_BUFFER_WRITE = 16;  // refill in batches of this many
// SKB_TRUESIZE(X) = X + SKB_DATA_ALIGN(sizeof(struct sk_buff)) + SKB_DATA_ALIGN(sizeof(struct
// skb_shared_info))
constexpr unsigned SKB_OVERHEAD = 256 + 320;
constexpr unsigned E1000_COPYBREAK = 256;  // e1000_main.c: module parameter copybreak

uint32_t rxc_mode(e1000_params::coalesce_mode m) {
  switch (m) {
    case e1000_params::coalesce_mode::e1000:
      return regs::RXC_MODE_E1000;
    case e1000_params::coalesce_mode::arm:
      return regs::RXC_MODE_ARM;
    case e1000_params::coalesce_mode::itr:
      return regs::RXC_MODE_ITR;
    case e1000_params::coalesce_mode::ethtool:
      break;
  }
  return regs::RXC_MODE_ETHTOOL;
}
}  // namespace

e1000_adapter::e1000_adapter(const sc_core::sc_module_name& name, const e1000_params& params,
                             const std::vector<cpu*>& irq_cpus, netdev_core& core, skb_allocator& skb_alloc,
                             tlm::host_memory& mem, rx_buffer_pool& buffers, skb_cache& skbs, uint64_t bar0)
    : sc_core::sc_module(name),
      mmio("mmio"),
      m_params(params),
      m_core(core),
      m_skb(skb_alloc),
      m_mem(mem),
      m_buffers(buffers),
      m_skbs(skbs),
      m_bar0(bar0) {
  if (params.rx_queues == 0 || params.rx_queues > regs::MAX_RX_QUEUES || irq_cpus.size() != params.rx_queues)
    throw std::invalid_argument(std::string(this->name()) + ": rx_queues must be 1.." +
                                std::to_string(regs::MAX_RX_QUEUES) + ", with one IRQ CPU each");
  const uint64_t ring_bytes = e1000_ring_bytes(params.rx_ring_size);
  for (unsigned q = 0; q < params.rx_queues; ++q) {
    auto r = std::make_unique<e1000_rx_ring>();
    e1000_rx_ring& ring = *r;
    ring.index = q;
    ring.dma = params.ring_dma + q * ring_bytes;
    ring.desc = m_mem.ptr(ring.dma, uint64_t{params.rx_ring_size} * regs::RX_DESC_SIZE);
    ring.buffer_info.assign(params.rx_ring_size, 0);
    ring.irq_cpu = irq_cpus[q];
    ring.vector = params.msi_vector + q;
    // igb names its vectors <dev>-rx-<n>; one queue keeps the e1000's single "eth0".
    ring.napi.name = params.rx_queues == 1 ? std::string(basename())
                                           : std::string(basename()) + "-rx-" + std::to_string(q);
    ring.napi.weight = params.napi_weight;
    ring.napi.dev = &m_netdev;  // netif_napi_add
    ring.napi.poll_name = params.rx_queues == 1 ? "e1000_clean" : "igb_poll";
    m_core.napi_observe(ring.napi);
    ring.napi.poll = [this, &ring](napi_struct&, int budget) { return e1000_clean(ring, budget); };
    if (params.rx_queues == 1)
      ring.irq_cpu->request_irq(
          ring.vector, [this](unsigned v) { e1000_intr(v); }, "e1000_intr");
    else
      ring.irq_cpu->request_irq(
          ring.vector, [this, &ring](unsigned) { igb_msix_ring(ring); }, "igb_msix_ring");
    m_rings.push_back(std::move(r));
  }
  // The netdev's transmit queues, one per RX queue (igb: num_tx_queues = rss queues), each
  // with its TX ring and a pfifo_fast qdisc; started at open when the TX path is set up.
  m_netdev.name = basename();
  m_netdev.dev_addr = params.mac;
  m_netdev.tx_queue_len = params.tx_queue_len;
  m_netdev.bql = params.bql;
  m_netdev.gro = params.gro;  // e1000_probe/igb_probe: netdev->features |= NETIF_F_GRO (ethtool -K)
  m_netdev.ndo_start_xmit = [this](sk_buff* skb) { return e1000_xmit_frame(skb); };
  const uint64_t tx_ring_bytes = e1000_ring_bytes(params.tx_ring_size);
  for (unsigned q = 0; q < params.rx_queues; ++q) {
    auto txq = std::make_unique<netdev_queue>();
    txq->dev = &m_netdev;
    txq->index = q;
    txq->qdisc.limit = params.tx_queue_len;
    txq->qdisc.dev_queue = txq.get();
    txq->drv_xoff = true;  // stopped until e1000_open starts it
    m_core.qdisc_observe(txq->qdisc, params.rx_queues == 1
                                         ? std::string(basename())
                                         : std::string(basename()) + "-tx-" + std::to_string(q));
    auto t = std::make_unique<e1000_tx_ring>();
    t->index = q;
    t->dma = tx_ring_dma(params) + q * tx_ring_bytes;
    t->desc = m_mem.ptr(t->dma, uint64_t{params.tx_ring_size} * regs::TX_DESC_SIZE);
    t->buffer_info.assign(params.tx_ring_size, e1000_tx_buffer{});
    t->txq = txq.get();
    m_rings[q]->tx = t.get();
    m_netdev.tx.push_back(std::move(txq));
    m_tx_rings.push_back(std::move(t));
  }
  m_core.register_netdev(m_netdev);
}

uint64_t e1000_adapter::tx_ring_dma(const e1000_params& p) {
  return p.ring_dma + p.rx_queues * e1000_ring_bytes(p.rx_ring_size);
}

uint64_t e1000_ring_bytes(unsigned ring_size) {
  // Rings sit back to back, each 4 KiB aligned (dma_alloc_coherent's page granularity).
  // TX descriptors are as large as RX ones (16 bytes), so one size serves both.
  static_assert(regs::TX_DESC_SIZE == regs::RX_DESC_SIZE);
  return (uint64_t{ring_size} * regs::RX_DESC_SIZE + 0xFFF) & ~uint64_t{0xFFF};
}

uint32_t e1000_adapter::er32(uint32_t reg) {
  uint32_t v = 0;
  const auto t = m_mmio_payloads.take(::tlm::TLM_READ_COMMAND, m_bar0 + reg, &v, 4);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  ++m_stats.mmio_reads;
  cpu& c = cpu::this_cpu();
  // The time this CPU ran on without waiting (tlm/local_time.h) is the request's annotation
  // instead of a wait of its own: nothing else can happen before it has passed, so the link
  // books the request at the same time, and the CPU waits once, for the completion.
  delay = tlm::decoupling::take();
  mmio->b_transport(*t, delay);  // the load stalls the CPU for the whole round trip (inside the link)
  c.resume();                    // other CPUs ran while this one waited
  c.stall(delay);
  if (t->is_response_error())
    SC_REPORT_ERROR(name(), ("MMIO read failed: " + t->get_response_string()).c_str());
  return v;
}

void e1000_adapter::ew32(uint32_t reg, uint32_t value) {
  cpu::this_cpu().charge(cost::mmio_write);
  const auto t = m_mmio_payloads.take(::tlm::TLM_WRITE_COMMAND, m_bar0 + reg, &value, 4);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  ++m_stats.mmio_writes;
  cpu::sync_time();
  mmio->b_transport(*t, delay);  // posted: the store buffer takes it
  if (t->is_response_error())
    SC_REPORT_ERROR(name(), ("MMIO write failed: " + t->get_response_string()).c_str());
}

unsigned e1000_adapter::rx_buffers_posted() const {
  unsigned n = 0;
  for (const auto& r : m_rings)
    for (uint64_t b : r->buffer_info) n += b != 0;
  return n;
}

unsigned e1000_adapter::desc_unused(const e1000_rx_ring& ring) const {  // E1000_DESC_UNUSED
  return (ring.next_to_clean > ring.next_to_use ? 0 : m_params.rx_ring_size) + ring.next_to_clean -
         ring.next_to_use - 1;
}

void e1000_adapter::e1000_configure_rx_ring(e1000_rx_ring& ring) {
  const unsigned n = m_params.rx_ring_size;
  const uint32_t base = regs::RXQ_BASE(ring.index);
  std::memset(ring.desc, 0, uint64_t{n} * regs::RX_DESC_SIZE);
  ew32(base + regs::RDBAL_OFF, static_cast<uint32_t>(ring.dma));
  ew32(base + regs::RDBAH_OFF, static_cast<uint32_t>(ring.dma >> 32));
  ew32(base + regs::RDLEN_OFF, n * regs::RX_DESC_SIZE);
  ew32(base + regs::RDH_OFF, 0);
  ew32(base + regs::RDT_OFF, 0);
  // igb_setup_srrctl: with several queues (and no flow control) a queue out of
  // descriptors drops its frames rather than stall the others.
  if (msix()) ew32(base + regs::SRRCTL_OFF, regs::SRRCTL_DROP_EN);
}

void e1000_adapter::e1000_open() {
  e1000_configure_tx();  // e1000_configure: TX first, then RX
  for (auto& ring : m_rings) e1000_configure_rx_ring(*ring);
  configure_moderation();
  if (msix()) {
    // igb_configure_msix: one vector per queue, each cause auto-cleared and auto-masked
    // when its vector fires; the driver unmasks it (EIMS) when its NAPI completes.
    const uint32_t all = (1u << m_rings.size()) - 1;
    ew32(regs::GPIE, regs::GPIE_MSIX_MODE | regs::GPIE_EIAME);
    ew32(regs::EIAC, all);
    ew32(regs::EIAM, all);
    for (auto& ring : m_rings) {
      const uint32_t entry = regs::MSIX_TABLE + regs::MSIX_ENTRY_SIZE * ring->index;
      // pci_enable_msix: address = the destination APIC, data = the vector.
      const uint64_t addr = apic::MSI_BASE | (uint64_t{static_cast<unsigned>(ring->irq_cpu->id())} << 12);
      ew32(entry + 0, static_cast<uint32_t>(addr));
      ew32(entry + 4, static_cast<uint32_t>(addr >> 32));
      ew32(entry + 8, ring->vector);
      ew32(entry + 12, 0);  // unmask the vector
    }
    igb_setup_mrqc();
  } else {
    ew32(regs::MSI_ADDR_LO, static_cast<uint32_t>(m_params.msi_address));
    ew32(regs::MSI_ADDR_HI, static_cast<uint32_t>(m_params.msi_address >> 32));
    ew32(regs::MSI_DATA, m_params.msi_vector);
  }
  for (auto& ring : m_rings) e1000_alloc_rx_buffers(*ring, desc_unused(*ring));
  ew32(regs::RXCSUM, m_params.rx_csum ? regs::RXCSUM_TUOFL : 0);  // e1000_configure_rx
  ew32(regs::RCTL, regs::RCTL_EN | regs::RCTL_SECRC);
  e1000_irq_enable();
  if (m_tx_up) {  // netif_start_queue / netif_tx_start_all_queues
    m_netdev.up = true;
    for (auto& q : m_netdev.tx) m_core.netif_tx_start_queue(*q);
  }
}

namespace {
// e1000.h, igb.h, ixgbe.h (v6.6)
enum latency_range : unsigned { lowest_latency = 0, low_latency = 1, bulk_latency = 2 };
constexpr uint32_t IGB_START_ITR = 648;  // ~6000 ints/s
constexpr uint32_t IXGBE_20K_ITR = 200;
constexpr unsigned IXGBE_ITR_ADAPTIVE_MAX_USECS = 126;
constexpr unsigned IXGBE_ITR_ADAPTIVE_LATENCY = 0x80;
}  // namespace

// What the skb of a received frame of `length` bytes is charged (skb->truesize), per driver:
// - generic: the whole buffer plus the skb overhead, as before the models existed;
// - e1000 (e1000_clean_rx_irq, v6.6): frames up to copybreak (256) are copied into a
//   napi_alloc_skb skb, which __napi_alloc_skb (v6.6) carves from a 1 KiB page frag
//   (NAPI_HAS_SMALL_PAGE_FRAG): SKB_TRUESIZE(1024 - shinfo) = 1280; larger ones are built on
//   the receive buffer, build_skb(data, e1000_frag_len) with frag_len = SKB_DATA_ALIGN(1522 +
//   E1000_HEADROOM) + shinfo = 1920: SKB_TRUESIZE(1600) = 2176;
// - igb / ixgbe (igb_build_skb / ixgbe_build_skb, v6.6): half a 4 KiB page,
//   truesize = igb_rx_pg_size / 2 = 2048, build_skb: SKB_TRUESIZE(2048 - shinfo) = 2304.
unsigned e1000_adapter::rx_truesize(unsigned length) const {
  constexpr unsigned SHINFO = 320, SKB = 256;  // SKB_DATA_ALIGN(sizeof(...)), x86-64
  switch (m_params.model) {
    case nic_model::generic:
      break;
    case nic_model::e1000:
      return length <= E1000_COPYBREAK ? 1024 - SHINFO + SKB + SHINFO : 1600 + SKB + SHINFO;
    case nic_model::igb:
    case nic_model::ixgbe:
      return 2048 - SHINFO + SKB + SHINFO;
  }
  return m_buffers.buffer_len() + SKB_OVERHEAD;
}

// Moderation as each part's driver programs it at open.
void e1000_adapter::configure_moderation() {
  switch (m_params.model) {
    case nic_model::generic:
      // The model's own device: every scheme's registers, then the mode that picks one.
      ew32(regs::RXC_USECS, m_params.rx_usecs);
      ew32(regs::RXC_FRAMES, m_params.rx_frames);
      ew32(regs::RDTR, m_params.rdtr);
      ew32(regs::RADV, m_params.radv);
      ew32(regs::ITR, m_params.itr);
      ew32(regs::RXC_MIN_INTERVAL, m_params.min_interval_ns);
      if (m_params.coalesce == e1000_params::coalesce_mode::itr)
        for (auto& ring : m_rings) ew32(regs::EITR(ring->index), m_params.rx_usecs << 2);  // usecs << 2
      ew32(regs::RXC_MODE, rxc_mode(m_params.coalesce));
      return;
    case nic_model::e1000:
      // e1000_set_coalesce (ethtool.c, v6.6), which InterruptThrottleRate (e1000_param.c)
      // mirrors: rx-usecs above 4 is a fixed rate of 1000000 / usecs ints/s; 0, 1, 3 and 4
      // are modes (off, dynamic, dynamic conservative, fixed 20000) starting at 20000.
      if (m_params.rx_usecs > 4) {
        m_itr = 1000000 / m_params.rx_usecs;
        m_itr_setting = m_itr & ~3u;
      } else {
        m_itr_setting = m_params.rx_usecs;
        m_itr = 20000;
      }
      for (auto& ring : m_rings) ring->rx_itr = ring->tx_itr = itr_container{};  // lowest_latency
      // e1000_configure_rx: the delay timers (RxIntDelay, RxAbsIntDelay), then ITR.
      ew32(regs::RDTR, m_params.rdtr);
      ew32(regs::RADV, m_params.radv);
      ew32(regs::ITR, m_itr_setting != 0 ? 1000000000u / (m_itr * 256) : 0u);
      ew32(regs::RXC_MODE, regs::RXC_MODE_E1000);
      return;
    case nic_model::igb:
      // igb_set_coalesce (igb_ethtool.c, v6.6): 1..3 are modes, larger values usecs << 2;
      // igb_alloc_q_vector starts a dynamic vector at IGB_START_ITR, and igb_assign_vector
      // leaves EITR to the first interrupt (set_itr).
      m_itr_setting = m_params.rx_usecs <= 3 ? m_params.rx_usecs : m_params.rx_usecs << 2;
      for (auto& ring : m_rings) {
        ring->itr_val = m_itr_setting == 0 || m_itr_setting > 3 ? m_itr_setting : IGB_START_ITR;
        ring->set_itr = true;
        ring->rx_itr = ring->tx_itr = itr_container{};
      }
      ew32(regs::RXC_MODE, regs::RXC_MODE_ITR);
      return;
    case nic_model::ixgbe:
      // ixgbe_set_coalesce (ixgbe_ethtool.c, v6.6): 1 is dynamic (starting at IXGBE_20K_ITR),
      // larger values usecs << 2; ixgbe_alloc_q_vector starts both containers at
      // IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY; ixgbe_configure_msix writes
      // every vector's EITR.
      m_itr_setting = m_params.rx_usecs > 1 ? m_params.rx_usecs << 2 : m_params.rx_usecs;
      ew32(regs::RXC_MODE, regs::RXC_MODE_ITR);
      for (auto& ring : m_rings) {
        ring->itr_val = m_itr_setting == 1 ? IXGBE_20K_ITR : m_itr_setting;
        ring->rx_itr = ring->tx_itr =
            itr_container{0, 0, IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY, 0};
        ixgbe_write_eitr(*ring);
      }
      return;
  }
}

// At the interrupt, before NAPI is scheduled.
void e1000_adapter::moderation_irq(e1000_rx_ring& ring) {
  if (m_params.model == nic_model::igb) igb_write_itr(ring);
}

// After napi_complete_done, before the interrupt is enabled again: e1000_clean ("if
// (likely(adapter->itr_setting & 3)) e1000_set_itr"), igb_ring_irq_enable (igb_set_itr for a
// single vector, else igb_update_ring_itr), ixgbe_poll ("if (adapter->rx_itr_setting & 1)").
void e1000_adapter::moderation_complete(e1000_rx_ring& ring) {
  switch (m_params.model) {
    case nic_model::generic:
      return;
    case nic_model::e1000:
      if (m_itr_setting & 3) e1000_set_itr();
      return;
    case nic_model::igb:
      if (m_itr_setting & 3) {
        if (m_rings.size() == 1)
          igb_set_itr(ring);
        else
          igb_update_ring_itr(ring);
      }
      return;
    case nic_model::ixgbe:
      if (m_itr_setting & 1) ixgbe_set_itr(ring);
      return;
  }
}

namespace {
// e1000_update_itr (e1000_main.c, v6.6): the latency class of one direction from the bytes
// and packets since the interrupt.
unsigned e1000_update_itr(unsigned itr_setting, unsigned packets, uint64_t bytes) {
  unsigned retval = itr_setting;
  if (packets == 0) return itr_setting;
  switch (itr_setting) {
    case lowest_latency:
      if (bytes / packets > 8000)  // jumbo frames get bulk treatment
        retval = bulk_latency;
      else if (packets < 5 && bytes > 512)
        retval = low_latency;
      break;
    case low_latency:  // 50 usec aka 20000 ints/s
      if (bytes > 10000) {
        if (bytes / packets > 8000)
          retval = bulk_latency;
        else if (packets < 10 || bytes / packets > 1200)
          retval = bulk_latency;
        else if (packets > 35)
          retval = lowest_latency;
      } else if (bytes / packets > 2000) {
        retval = bulk_latency;
      } else if (packets <= 2 && bytes < 512) {
        retval = lowest_latency;
      }
      break;
    case bulk_latency:  // 250 usec aka 4000 ints/s
      if (bytes > 25000) {
        if (packets > 35) retval = low_latency;
      } else if (bytes < 6000) {
        retval = low_latency;
      }
      break;
  }
  return retval;
}
}  // namespace

// e1000_set_itr (e1000_main.c, v6.6): the larger class of RX and TX picks 70000, 20000 or
// 4000 ints/s (conservative mode, 3, never lowest_latency); a rising rate is approached by a
// quarter of the new rate at a time; ITR is written at once.
void e1000_adapter::e1000_set_itr() {
  e1000_rx_ring& ring = *m_rings.front();
  unsigned new_itr = m_itr;
  if (m_params.link_speed_mbps != 1000) {
    new_itr = 4000;  // "for non-gigabit speeds, just fix the interrupt rate at 4000"
  } else {
    ring.tx_itr.itr = e1000_update_itr(ring.tx_itr.itr, ring.tx_itr.total_packets, ring.tx_itr.total_bytes);
    if (m_itr_setting == 3 && ring.tx_itr.itr == lowest_latency) ring.tx_itr.itr = low_latency;
    ring.rx_itr.itr = e1000_update_itr(ring.rx_itr.itr, ring.rx_itr.total_packets, ring.rx_itr.total_bytes);
    if (m_itr_setting == 3 && ring.rx_itr.itr == lowest_latency) ring.rx_itr.itr = low_latency;
    switch (std::max(ring.rx_itr.itr, ring.tx_itr.itr)) {
      case lowest_latency:
        new_itr = 70000;
        break;
      case low_latency:
        new_itr = 20000;  // aka hwitr = ~200
        break;
      case bulk_latency:
        new_itr = 4000;
        break;
      default:
        break;
    }
  }
  if (new_itr != m_itr) {
    new_itr = new_itr > m_itr ? std::min(m_itr + (new_itr >> 2), new_itr) : new_itr;
    m_itr = new_itr;
    ++m_stats.itr_writes;
    ew32(regs::ITR, 1000000000u / (new_itr * 256));
  }
}

void e1000_adapter::e1000_irq_enable() {
  if (msix()) ew32(regs::EIMS, (1u << m_rings.size()) - 1);  // igb_irq_enable: every queue's cause
  // e1000's IMS_ENABLE_MASK has TXDW; the model asks for it only when it transmits.
  ew32(regs::IMS, regs::IMS_ENABLE_MASK | (m_tx_up ? regs::ICR_TXDW : 0u));
  er32(regs::STATUS);  // E1000_WRITE_FLUSH
}

void e1000_adapter::e1000_intr(unsigned /*vector*/) {
  e1000_rx_ring& ring = *m_rings.front();
  if (!m_params.napi) {
    e1000_intr_legacy();
    return;
  }
  cpu::this_cpu().charge(cost::e1000_intr);
  const uint32_t icr = er32(regs::ICR);
  if (icr == 0) {
    ++m_stats.spurious_irqs;  // IRQ_NONE
    return;
  }
  moderation_irq(ring);  // igb_intr_msi: igb_write_itr
  // Disable interrupts until the poll is done, without the synchronize_irq bit.
  ew32(regs::IMC, ~0u);
  er32(regs::STATUS);  // E1000_WRITE_FLUSH
  if (m_core.napi_schedule_prep(ring.napi)) {
    if (m_params.model == nic_model::e1000) {  // e1000_intr: the measurement starts here
      ring.rx_itr.total_packets = ring.tx_itr.total_packets = 0;
      ring.rx_itr.total_bytes = ring.tx_itr.total_bytes = 0;
    }
    m_core.__napi_schedule(ring.napi);
  } else
    e1000_irq_enable();  // "this really should not happen!"
}

// Before NAPI: clean everything in the handler, passing each frame to netif_rx;
// the interrupt stays enabled (E1000_MAX_INTR rounds per interrupt).
void e1000_adapter::e1000_intr_legacy() {
  constexpr int E1000_MAX_INTR = 10;
  cpu::this_cpu().charge(cost::e1000_intr);
  if (er32(regs::ICR) == 0) {
    ++m_stats.spurious_irqs;
    return;
  }
  for (int i = 0; i < E1000_MAX_INTR; ++i) {
    int work_done = 0;
    e1000_clean_rx_irq(*m_rings.front(), &work_done, static_cast<int>(m_params.rx_ring_size));
    // if (!clean_rx & !e1000_clean_tx_irq) break;
    const bool tx_more = m_rings.front()->tx != nullptr && !e1000_clean_tx_irq(*m_rings.front()->tx);
    if (work_done == 0 && !tx_more) break;
  }
}

int e1000_adapter::e1000_clean(e1000_rx_ring& ring, int budget) {
  // e1000_clean / igb_poll: TX first; a TX clean that did not finish keeps the poll going
  // with its whole budget.
  const bool tx_clean_complete = ring.tx == nullptr || e1000_clean_tx_irq(*ring.tx);
  int work_done = 0;
  e1000_clean_rx_irq(ring, &work_done, budget);
  if (!tx_clean_complete || work_done == budget) return budget;  // stay scheduled, even at exactly the budget
  if (m_core.napi_complete_done(ring.napi, work_done)) {
    moderation_complete(ring);
    if (msix())
      ew32(regs::EIMS, 1u << ring.index);  // igb_ring_irq_enable: this queue's cause only
    else
      e1000_irq_enable();
  }
  return work_done;
}

void e1000_adapter::e1000_clean_rx_irq(e1000_rx_ring& ring, int* work_done, int work_to_do) {
  auto rx_desc = [&ring](unsigned i) { return regs::read_desc<regs::e1000_rx_desc>(ring.desc, i); };
  unsigned i = ring.next_to_clean;
  unsigned cleaned_count = 0;
  while (rx_desc(i).status & regs::RXD_STAT_DD) {
    if (*work_done >= work_to_do) break;
    (*work_done)++;
    cpu::this_cpu().charge(cost::clean_rx_desc);  // dma_rmb, read the written-back descriptor
    regs::e1000_rx_desc d = rx_desc(i);
    const uint16_t length = d.length;
    const uint8_t status = d.status;
    // e1000_copybreak: a small frame is copied into a fresh skb (the buffer itself stays
    // posted on the real part; here it travels with the skb and is refilled as usual).
    if (m_params.model == nic_model::e1000 && length <= E1000_COPYBREAK)
      cpu::this_cpu().charge(cost::e1000_copybreak, length);
    else
      cpu::this_cpu().charge(cost::build_skb);
    // The buffer leaves the ring and becomes the skb's with no simulated time between (the
    // frame ledger counts it in the ring until rx_cleaned counts it in the host).
    const uint64_t buffer = ring.buffer_info[i];
    ring.buffer_info[i] = 0;
    sk_buff* skb = m_skbs.alloc();
    ++m_stats.rx_cleaned;
    ++ring.rx_cleaned;
    ring.rx_bytes += length;
    // total_rx_packets / total_rx_bytes for the adaptive moderation: e1000 counts the frame,
    // igb and ixgbe skb->len after eth_type_trans.
    ++ring.rx_itr.total_packets;
    ring.rx_itr.total_bytes +=
        m_params.model == nic_model::e1000 || length < proto::ETH_HLEN ? length : length - proto::ETH_HLEN;
    skb->buf_addr = buffer;
    skb->head = m_buffers.ptr(buffer);
    skb->len = length;
    skb->truesize = rx_truesize(length);
    // e1000_rx_checksum: IXSM says the hardware did not check; TCPE that it found an error.
    skb->ip_summed = CHECKSUM_NONE;
    if (!(status & regs::RXD_STAT_IXSM)) {
      if (d.errors & regs::RXD_ERR_TCPE) {
        ++m_stats.hw_csum_err;  // let the stack find and count it
      } else if (status & regs::RXD_STAT_TCPCS) {
        skb->ip_summed = CHECKSUM_UNNECESSARY;
        ++m_stats.hw_csum_good;
      }
    }
    cpu::this_cpu().charge(cost::eth_type_trans);
    skb->protocol = skb->len >= proto::ETH_HLEN ? proto::get_be16(skb->head + 12) : 0;
    // eth_type_trans / eth_skb_pkt_type (net/ethernet/eth.c, include/linux/etherdevice.h, v6.6):
    // a destination other than the device's address is multicast (its group bit), broadcast,
    // or another host's. The model's MAC has no unicast filter, so such frames get here, as
    // they do on a real NIC in promiscuous mode.
    if (skb->len >= proto::ETH_HLEN &&
        !std::equal(m_netdev.dev_addr.begin(), m_netdev.dev_addr.end(), skb->head)) {
      if (skb->head[0] & 1)
        skb->pkt_type = std::all_of(skb->head, skb->head + 6, [](uint8_t b) { return b == 0xFF; })
                            ? PACKET_BROADCAST
                            : PACKET_MULTICAST;
      else
        skb->pkt_type = PACKET_OTHERHOST;
    }
    skb->pull(std::min<unsigned>(skb->len, proto::ETH_HLEN));
    if (auto* o = cpu::this_cpu().observer()) {
      const int64_t seq = skb_frame_seq(*skb);
      if (seq >= 0) {
        o->frame(static_cast<uint64_t>(seq), waves::frame_stage::driver_clean, cpu::this_cpu().track());
        o->frame_cpu(static_cast<uint64_t>(seq), cpu::this_cpu().id());
      }
    }
    d.status = 0;
    regs::write_desc(ring.desc, i, d);
    if (++cleaned_count >= E1000_RX_BUFFER_WRITE) {
      ring.next_to_clean = (i + 1) % m_params.rx_ring_size;
      e1000_alloc_rx_buffers(ring, cleaned_count);
      cleaned_count = 0;
    }
    i = (i + 1) % m_params.rx_ring_size;
    ring.next_to_clean = i;
    if (m_params.napi)
      m_core.napi_gro_receive(ring.napi, skb);  // e1000_receive_skb / igb_clean_rx_irq (v6.6)
    else
      m_core.netif_rx(skb);  // no NAPI instance: the skb carries no napi_id
  }
  ring.next_to_clean = i;
  const unsigned unused = desc_unused(ring);
  if (unused) e1000_alloc_rx_buffers(ring, unused);
}

void e1000_adapter::e1000_alloc_rx_buffers(e1000_rx_ring& ring, unsigned cleaned_count) {
  unsigned i = ring.next_to_use;
  while (cleaned_count--) {
    const uint64_t buf = m_buffers.alloc();
    if (buf == 0) {
      ++m_stats.alloc_rx_buff_failed;
      break;
    }
    ring.buffer_info[i] = buf;  // the slot's at once (the frame ledger counts it in the ring)
    cpu::this_cpu().charge(cost::alloc_rx_buffer);
    regs::e1000_rx_desc d{};
    d.buffer_addr = buf;
    regs::write_desc(ring.desc, i, d);
    i = (i + 1) % m_params.rx_ring_size;
  }
  if (ring.next_to_use != i) {
    ring.next_to_use = i;
    const unsigned tail = i == 0 ? m_params.rx_ring_size - 1 : i - 1;
    ++m_stats.rx_tail_writes;
    ew32(regs::RXQ_BASE(ring.index) + regs::RDT_OFF, tail);  // after a write barrier: descriptors first
  }
}

}  // namespace nicsim::host
