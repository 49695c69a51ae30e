#include "hw/nic.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "hw/intr_moderation_rtl.h"
#include "hw/nic_regs.h"
#include "hw/rx_frontend_rtl.h"
#include "tlm/payload.h"

namespace nicsim::hw {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

nic::nic(const sc_core::sc_module_name& name, const nic_params& params)
    : sc_core::sc_module(name),
      mmio("mmio"),
      dma("dma"),
      m_params(params),
      m_frontend(std::make_unique<rx_frontend_rtl>(512)) {
  if (m_params.desc_wb_batch == 0)
    throw std::invalid_argument(std::string(this->name()) + ": desc_wb_batch must be >= 1");
  if (m_params.rx_queues == 0 || m_params.rx_queues > regs::MAX_RX_QUEUES)
    throw std::invalid_argument(std::string(this->name()) + ": rx_queues must be 1.." +
                                std::to_string(regs::MAX_RX_QUEUES));
  mmio.register_b_transport(this, &nic::mmio_b_transport);
  for (unsigned i = 0; i < m_params.rx_queues; ++i) {
    auto q = std::make_unique<rx_queue>();
    q->index = i;
    // Queue 0's block keeps the single-queue name (and its waves' scope).
    q->moderation = std::make_unique<intr_moderation_rtl>(
        i == 0 ? std::string("moderation").c_str() : ("moderation" + std::to_string(i)).c_str());
    rx_queue* qp = q.get();
    q->moderation->on_irq = [this, qp] { queue_irq(*qp); };
    m_q.push_back(std::move(q));
  }

  using namespace regs;
  auto storage = [](uint32_t& r) { return [&r](uint32_t v) { r = v; }; };
  auto reader = [](const uint32_t& r) { return [&r] { return r; }; };
  auto read_clear = [](uint32_t& r) {
    return [&r] {
      const uint32_t v = r;
      r = 0;
      return v;
    };
  };
  // Every queue's moderation block takes the same settings.
  auto moderate = [this](auto apply) {
    for (auto& q : m_q) apply(*q->moderation);
  };
  m_regs.add("CTRL", CTRL, 0);
  m_regs.add(
      "STATUS", STATUS, 0x2 /* LU: link up */, [] { return 0x2u; }, [](uint32_t) {});
  m_regs.add("ICR", ICR, 0, read_clear(m_icr), [this](uint32_t v) { m_icr &= ~v; });
  m_regs.add(
      "ICS", ICS, 0, [this] { return m_icr; },
      [this](uint32_t v) {
        m_icr |= v;
        if (v & m_ims) send_msi();
      });
  // Without MSI-X, IMS/IMC's RXT0 bit masks every queue's moderation block at once.
  m_regs.add("IMS", IMS, 0, reader(m_ims), [this](uint32_t v) {
    m_ims |= v;
    if (!msix_mode() && (m_ims & ICR_RXT0))
      for (auto& q : m_q) q->moderation->unmask();
  });
  m_regs.add(
      "IMC", IMC, 0, [] { return 0u; },
      [this](uint32_t v) {
        m_ims &= ~v;
        if (!msix_mode() && !(m_ims & ICR_RXT0))
          for (auto& q : m_q) q->moderation->mask();
      });
  m_regs.add("RCTL", RCTL, 0, reader(m_rctl), [this](uint32_t v) {
    m_rctl = v;
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  for (auto& q : m_q) add_queue_registers(*q);
  m_regs.add("RXC_USECS", RXC_USECS, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(RXC_USECS, v & 0xFFFF);
    moderate([v](intr_moderation_rtl& m) { m.set_rx_usecs(static_cast<uint16_t>(v)); });
  });
  m_regs.add("RXC_FRAMES", RXC_FRAMES, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(RXC_FRAMES, v & 0xFFFF);
    moderate([v](intr_moderation_rtl& m) { m.set_rx_frames(static_cast<uint16_t>(v)); });
  });
  m_regs.add("RXC_MODE", RXC_MODE, RXC_MODE_ETHTOOL, {}, [this, moderate](uint32_t v) {
    // The unused encoding reads back as written and moderates like ethtool, as the RTL does.
    m_regs.set(RXC_MODE, v & RXC_MODE_MASK);
    moderate([v](intr_moderation_rtl& m) {
      m.set_mode(static_cast<intr_moderation_rtl::mode>(v & RXC_MODE_MASK));
    });
  });
  m_regs.add("RXC_MIN_INTERVAL", RXC_MIN_INTERVAL, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(RXC_MIN_INTERVAL, v);
    moderate([v](intr_moderation_rtl& m) { m.set_min_interval_ns(v); });
  });
  m_regs.add("ITR", ITR, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(ITR, v & 0xFFFF);
    moderate([v](intr_moderation_rtl& m) { m.set_itr(static_cast<uint16_t>(v)); });
  });
  m_regs.add("RDTR", RDTR, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(RDTR, v & 0xFFFF);
    moderate([v](intr_moderation_rtl& m) { m.set_rdtr(static_cast<uint16_t>(v)); });
  });
  m_regs.add("RADV", RADV, 0, {}, [this, moderate](uint32_t v) {
    m_regs.set(RADV, v & 0xFFFF);
    moderate([v](intr_moderation_rtl& m) { m.set_radv(static_cast<uint16_t>(v)); });
  });
  m_regs.add("RXCSUM", RXCSUM, 0, reader(m_rxcsum), [this](uint32_t v) {
    m_rxcsum = v & (RXCSUM_IPOFL | RXCSUM_TUOFL);
    m_frontend->set_rx_csum((m_rxcsum & RXCSUM_TUOFL) != 0);
  });
  m_regs.add("MSI_ADDR_LO", MSI_ADDR_LO, 0, reader(m_msi_addr_lo), storage(m_msi_addr_lo));
  m_regs.add("MSI_ADDR_HI", MSI_ADDR_HI, 0, reader(m_msi_addr_hi), storage(m_msi_addr_hi));
  m_regs.add("MSI_DATA", MSI_DATA, 0, reader(m_msi_data), storage(m_msi_data));
  m_regs.add("CRCERRS", CRCERRS, 0, read_clear(m_crcerrs), [](uint32_t) {});
  m_regs.add("MPC", MPC, 0, read_clear(m_mpc), [](uint32_t) {});
  m_regs.add("GPRC", GPRC, 0, read_clear(m_gprc), [](uint32_t) {});
  m_regs.add("RNBC", RNBC, 0, read_clear(m_rnbc), [](uint32_t) {});

  // ---- Multi-queue: extended interrupts, RSS.
  const uint32_t queue_bits = m_params.rx_queues >= 32 ? ~0u : (1u << m_params.rx_queues) - 1;
  m_regs.add("GPIE", GPIE, 0, reader(m_gpie), [this](uint32_t v) {
    m_gpie = v & (GPIE_MSIX_MODE | GPIE_EIAME);
    sync_queue_masks();  // EIMS or IMS now decides
  });
  m_regs.add("EICR", EICR, 0, read_clear(m_eicr), [this](uint32_t v) { m_eicr &= ~v; });
  m_regs.add(
      "EICS", EICS, 0, [this] { return m_eicr; },
      [this, queue_bits](uint32_t v) {
        v &= queue_bits;
        m_eicr |= v;
        for (auto& q : m_q)
          if (v & m_eims & (1u << q->index)) queue_irq(*q);
      });
  // As IMS does for RXT0, every EIMS write of a bit unmasks (in arm mode: re-arms) that queue.
  m_regs.add("EIMS", EIMS, 0, reader(m_eims), [this, queue_bits](uint32_t v) {
    m_eims |= v & queue_bits;
    if (msix_mode())
      for (auto& q : m_q)
        if (v & (1u << q->index)) q->moderation->unmask();
  });
  m_regs.add(
      "EIMC", EIMC, 0, [] { return 0u; },
      [this, queue_bits](uint32_t v) {
        m_eims &= ~(v & queue_bits);
        if (msix_mode())
          for (auto& q : m_q)
            if (v & (1u << q->index)) q->moderation->mask();
      });
  m_regs.add("EIAC", EIAC, 0, reader(m_eiac), [this, queue_bits](uint32_t v) { m_eiac = v & queue_bits; });
  m_regs.add("EIAM", EIAM, 0, reader(m_eiam), [this, queue_bits](uint32_t v) { m_eiam = v & queue_bits; });
  m_regs.add("MRQC", MRQC, 0, reader(m_mrqc), [this](uint32_t v) {
    m_mrqc = v & (MRQC_ENABLE_MASK | MRQC_RSS_FIELD_IPV4 | MRQC_RSS_FIELD_IPV4_TCP | MRQC_RSS_FIELD_IPV4_UDP);
    m_frontend->set_rss_l4((m_mrqc & MRQC_RSS_FIELD_IPV4_TCP) != 0, (m_mrqc & MRQC_RSS_FIELD_IPV4_UDP) != 0);
  });
  for (unsigned i = 0; i < RETA_ENTRIES / 4; ++i) {
    const uint32_t off = RETA_BASE + 4 * i;
    m_regs.add(
        "RETA" + std::to_string(i), off, 0,
        [this, i] {
          uint32_t v = 0;
          for (unsigned b = 0; b < 4; ++b) v |= uint32_t{m_reta[4 * i + b]} << (8 * b);
          return v;
        },
        [this, i](uint32_t v) {
          for (unsigned b = 0; b < 4; ++b) m_reta[4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
        });
  }
  for (unsigned i = 0; i < RSS_KEY_BYTES / 4; ++i) {
    m_regs.add("RSSRK" + std::to_string(i), RSSRK_BASE + 4 * i, 0, reader(m_rssrk[i]), [this, i](uint32_t v) {
      m_rssrk[i] = v;
      std::array<uint8_t, RSS_KEY_BYTES> key{};
      for (unsigned k = 0; k < RSS_KEY_BYTES; ++k)
        key[k] = static_cast<uint8_t>(m_rssrk[k / 4] >> (8 * (k % 4)));
      m_frontend->set_rss_key(key);
    });
  }

  SC_HAS_PROCESS(nic);
  SC_THREAD(rx_dma_thread);
  if (m_params.desc_prefetch_threshold > 0) SC_THREAD(desc_prefetch_thread);
}

void nic::add_queue_registers(rx_queue& q) {
  using namespace regs;
  const uint32_t base = RXQ_BASE(q.index);
  // Queue 0 keeps the e1000 names; queue n's are igb's, RDBAL(n) and so on.
  const std::string sfx = q.index == 0 ? "" : "(" + std::to_string(q.index) + ")";
  auto reader = [](const uint32_t& r) { return [&r] { return r; }; };
  rx_queue* qp = &q;
  m_regs.add("RDBAL" + sfx, base + RDBAL_OFF, 0, reader(q.rdbal),
             [qp](uint32_t v) { qp->rdbal = v & ~0xFu; });
  m_regs.add("RDBAH" + sfx, base + RDBAH_OFF, 0, reader(q.rdbah), [qp](uint32_t v) { qp->rdbah = v; });
  m_regs.add("RDLEN" + sfx, base + RDLEN_OFF, 0, reader(q.rdlen),
             [qp](uint32_t v) { qp->rdlen = v & 0xFFF80u; });
  m_regs.add("SRRCTL" + sfx, base + SRRCTL_OFF, 0, reader(q.srrctl), [this, qp](uint32_t v) {
    qp->srrctl = v & SRRCTL_DROP_EN;
    m_tail_ev.notify(SC_ZERO_TIME);  // a frame waiting for this queue may now be dropped
  });
  m_regs.add("RDH" + sfx, base + RDH_OFF, 0, reader(q.rdh), [this, qp](uint32_t v) {
    qp->rdh = v;
    qp->next_fetch = v;
    qp->desc_cache.clear();
    ++qp->fetch_generation;  // a descriptor read in flight lands in a cache that no longer is
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  m_regs.add("RDT" + sfx, base + RDT_OFF, 0, reader(q.rdt), [this, qp](uint32_t v) {
    qp->rdt = qp->ring_size() ? v % qp->ring_size() : 0;
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  // Its MSI-X table entry.
  const uint32_t entry = MSIX_TABLE + MSIX_ENTRY_SIZE * q.index;
  const std::string vec = "MSIX" + std::to_string(q.index);
  m_regs.add(vec + "_ADDR_LO", entry + 0, 0, reader(q.msix_addr_lo),
             [qp](uint32_t v) { qp->msix_addr_lo = v & ~3u; });
  m_regs.add(vec + "_ADDR_HI", entry + 4, 0, reader(q.msix_addr_hi),
             [qp](uint32_t v) { qp->msix_addr_hi = v; });
  m_regs.add(vec + "_DATA", entry + 8, 0, reader(q.msix_data), [qp](uint32_t v) { qp->msix_data = v; });
  m_regs.add(vec + "_CTRL", entry + 12, rx_queue::MSIX_CTRL_RESET, reader(q.msix_ctrl),
             [this, qp](uint32_t v) {
               qp->msix_ctrl = v & MSIX_VECTOR_CTRL_MASKED;
               // Unmasking a vector with its pending bit set sends the message then.
               if (!(qp->msix_ctrl & MSIX_VECTOR_CTRL_MASKED) && qp->msix_pending) {
                 qp->msix_pending = false;
                 fire_msix(*qp);
               }
             });
}

nic::~nic() = default;

void nic::attach(waves::observer* o) {
  m_obs = o;
  if (o == nullptr) return;
  auto& p = m_probe;
  p.fifo_bytes.attach(o, "nic.rx_fifo.level_bytes", 32);
  p.fifo_frames.attach(o, "nic.rx_fifo.frames", 16);
  p.dma_busy.attach(o, "nic.dma.busy", 1);
  p.dma_addr.attach(o, "nic.dma.addr", 64);
  p.dma_len.attach(o, "nic.dma.len", 16);
  p.dma_kind.attach(o, "nic.dma.kind");
  p.msis.attach(o, "nic.msi.count", 32);
  p.icr.attach(o, "nic.regs.icr", 32);
  p.reg_write.attach(o, "nic.regs.last_write");
  for (auto& qp : m_q) {
    rx_queue& q = *qp;
    // Queue 0 keeps the single-queue scopes (nic.ring, nic.moderation); queue n is nic.ring<n>.
    const std::string n = q.index == 0 ? "" : std::to_string(q.index);
    q.probe.rdh.attach(o, "nic.ring" + n + ".rdh", 16);
    q.probe.rdt.attach(o, "nic.ring" + n + ".rdt", 16);
    q.probe.hw_free.attach(o, "nic.ring" + n + ".hw_owned", 16);
    q.probe.masked.attach(o, "nic.moderation" + n + ".masked", 1);
    q.probe.pending.attach(o, "nic.moderation" + n + ".pending", 16);
    q.probe.timer_armed.attach(o, "nic.moderation" + n + ".timer_armed", 1);
    intr_moderation_rtl& m = *q.moderation;
    m.on_evaluate = [&q, &m] {
      q.probe.masked(m.masked());
      q.probe.pending(m.pending());
      q.probe.timer_armed(m.timer_armed());
    };
    m.on_evaluate();  // values at time zero
  }
  m_dma_track = o->track("nic", "rx_dma");
  probe_ring();
  p.dma_busy(0);
  p.dma_kind("idle");
  p.dma_addr(0);
  p.dma_len(0);
  p.msis(0);
  p.icr(0);
  p.reg_write("-");
}

void nic::probe_ring() {
  for (auto& qp : m_q) {
    rx_queue& q = *qp;
    const uint32_t n = q.ring_size();
    q.probe.rdh(q.rdh);
    q.probe.rdt(q.rdt);
    q.probe.hw_free(n ? (q.rdt + n - q.rdh) % n : 0);
  }
  m_probe.fifo_bytes(m_fifo_used);
  m_probe.fifo_frames(m_fifo.size());
}

void nic::mmio_b_transport(::tlm::tlm_generic_payload& trans, sc_time& delay) {
  m_regs.b_transport(trans, delay);
  // Only when the waves record it: no string building per register write otherwise.
  if (m_probe.reg_write && trans.is_write() && trans.is_response_ok()) {
    uint32_t v = 0;
    std::memcpy(&v, trans.get_data_ptr(), 4);
    char text[48];
    std::snprintf(text, sizeof text, "%s=0x%x",
                  m_regs.name_of(static_cast<uint32_t>(trans.get_address())).c_str(), v);
    m_probe.reg_write(text);
    probe_ring();
  }
}

// With MRQC.MRQE = RSS, the low 7 bits of the front end's hash index RETA; frames the
// hash does not cover (not IPv4, or IPv4 with the IPv4 field off) go to queue 0.
unsigned nic::rss_queue(const rx_status& st) const {
  if ((m_mrqc & regs::MRQC_ENABLE_MASK) != regs::MRQC_ENABLE_RSS || !st.is_ipv4) return 0;
  const bool l4 = (st.is_tcp && (m_mrqc & regs::MRQC_RSS_FIELD_IPV4_TCP)) ||
                  (st.is_udp && (m_mrqc & regs::MRQC_RSS_FIELD_IPV4_UDP));
  if (!l4 && !(m_mrqc & regs::MRQC_RSS_FIELD_IPV4)) return 0;
  const unsigned q = m_reta[st.rss_hash & (regs::RETA_ENTRIES - 1)];
  // A RETA entry naming a queue the NIC does not have lands on queue 0 (the 82576 masks it).
  return q < m_q.size() ? q : 0;
}

void nic::mac_rx(const proto::wire_frame& frame) {
  ++m_stats.frames_in;
  // The RTL front end checks the frame as its beats stream in; its verdict is
  // ready a clock after the last beat, well inside the inter-frame gap.
  rx_status st;
  if (m_params.rtl_frontend) {
    st = m_frontend->check(frame.bytes);
  } else {
    st.fcs_ok = proto::fcs_ok(frame.bytes.data(), frame.bytes.size());
  }
  if (st.runt || st.oversize) {
    ++(st.runt ? m_stats.rx_short_length_errors : m_stats.rx_long_length_errors);
    if (m_obs)
      m_obs->frame_dropped(frame.id, st.runt ? "nic.rx_short_length_errors" : "nic.rx_long_length_errors");
    return;
  }
  if (!st.fcs_ok) {
    ++m_stats.rx_crc_errors;
    ++m_crcerrs;
    if (m_obs) m_obs->frame_dropped(frame.id, "nic.rx_crc_errors");
    return;
  }
  if (m_fifo_used + frame.bytes.size() > m_params.rx_fifo_bytes) {
    ++m_stats.rx_missed_errors;
    ++m_mpc;
    m_icr |= regs::ICR_RXO;
    if (m_obs) m_obs->frame_dropped(frame.id, "nic.rx_missed");
    return;
  }
  fifo_entry e{frame, regs::RXD_STAT_DD | regs::RXD_STAT_EOP, 0, m_params.rtl_frontend ? rss_queue(st) : 0};
  // Legacy descriptor checksum reporting, as the 8254x does it.
  if (!(m_rxcsum & (regs::RXCSUM_IPOFL | regs::RXCSUM_TUOFL)) || !st.is_ipv4) {
    e.status |= regs::RXD_STAT_IXSM;
  } else {
    if (m_rxcsum & regs::RXCSUM_IPOFL) {
      e.status |= regs::RXD_STAT_IPCS;
      if (!st.ip_hdr_ok) e.errors |= regs::RXD_ERR_IPE;
    }
    if ((m_rxcsum & regs::RXCSUM_TUOFL) && (st.is_tcp || st.is_udp)) {
      e.status |= regs::RXD_STAT_TCPCS | (st.is_udp ? regs::RXD_STAT_UDPCS : 0);
      if (st.l4_csum_ok) {
        ++m_stats.rx_csum_offload_good;
      } else {
        e.errors |= regs::RXD_ERR_TCPE;
        ++m_stats.rx_csum_offload_errors;
      }
    }
  }
  m_fifo_used += frame.bytes.size();
  ++m_q[e.queue]->fifo_frames;
  m_fifo.push_back(std::move(e));
  m_fifo_ev.notify(SC_ZERO_TIME);
  if (m_obs) {
    m_obs->frame(frame.id, waves::frame_stage::mac_last_bit, -1);
    probe_ring();
  }
}

void nic::dma_write(uint64_t addr, const uint8_t* data, unsigned len, sc_time& local) {
  ::tlm::tlm_generic_payload t;
  for (unsigned off = 0; off < len; off += m_params.max_payload_bytes) {
    const unsigned n = std::min(m_params.max_payload_bytes, len - off);
    tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, addr + off, const_cast<uint8_t*>(data + off), n);
    dma->b_transport(t, local);
    if (t.is_response_error())
      SC_REPORT_ERROR(name(), ("DMA write failed: " + t.get_response_string()).c_str());
  }
}

bool nic::fetch_descriptors(rx_queue& q, sc_time& local) {
  const uint32_t n = q.ring_size();
  const uint32_t available = descriptors_available(q);
  if (available == 0) return false;
  // Fetch up to a batch, never across the end of the ring in one read.
  const uint32_t count = std::min({available, m_params.desc_fetch_batch, n - q.next_fetch});
  const uint32_t start = q.next_fetch;
  const uint64_t generation = q.fetch_generation;
  std::vector<uint8_t>& buf = q.desc_fetch_buf;  // a member: the read suspends this thread
  buf.resize(count * regs::RX_DESC_SIZE);
  ::tlm::tlm_generic_payload t;
  tlm::prepare_payload(t, ::tlm::TLM_READ_COMMAND, q.ring_base() + uint64_t{start} * regs::RX_DESC_SIZE,
                       buf.data(), static_cast<unsigned>(buf.size()));
  ++m_stats.rx_desc_fetches;
  if (m_obs) {
    m_probe.dma_busy(1);
    m_probe.dma_kind("desc_read");
    m_probe.dma_addr(t.get_address());
    m_probe.dma_len(buf.size());
  }
  dma->b_transport(t, local);  // non-posted: returns when the completion is back
  if (m_obs) {
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
  }
  if (t.is_response_error())
    SC_REPORT_ERROR(name(), ("descriptor fetch failed: " + t.get_response_string()).c_str());
  if (generation != q.fetch_generation) return false;  // RDH was rewritten meanwhile: drop the stale read
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t addr = 0;
    std::memcpy(&addr, buf.data() + i * regs::RX_DESC_SIZE + regs::RXD_BUFFER_ADDR, 8);
    q.desc_cache.push_back(addr);
  }
  q.next_fetch = (start + count) % n;
  return true;
}

uint32_t nic::descriptors_available(const rx_queue& q) const {
  const uint32_t n = q.ring_size();
  if (n == 0 || !(m_rctl & regs::RCTL_EN)) return 0;
  return (q.rdt + n - q.next_fetch) % n;
}

// Keeps every queue's descriptor cache topped up while the DMA engine moves data.
void nic::desc_prefetch_thread() {
  for (;;) {
    bool fetched = false;
    for (auto& qp : m_q) {
      rx_queue& q = *qp;
      if (q.desc_cache.size() >= m_params.desc_prefetch_threshold || descriptors_available(q) == 0) continue;
      sc_time local = SC_ZERO_TIME;
      if (fetch_descriptors(q, local)) {
        m_cache_ev.notify(SC_ZERO_TIME);
        fetched = true;
      }
    }
    if (!fetched) sc_core::wait(m_tail_ev | m_cache_drained_ev);
  }
}

// Writes the queue's batch of finished descriptors back in one burst, then tells
// its moderation block how many frames it completed.
void nic::flush_writebacks(rx_queue& q, sc_time& local) {
  const uint64_t desc_addr = q.ring_base() + uint64_t{q.rdh} * regs::RX_DESC_SIZE;
  {
    // Sync before the write-back so it books the link in time order with the host's
    // MMIO completions, whether or not anything is recorded.
    sc_core::wait(local);
    local = SC_ZERO_TIME;
    m_probe.dma_kind("writeback");
    m_probe.dma_addr(desc_addr);
    m_probe.dma_len(q.wb_count * regs::RX_DESC_SIZE);
  }
  dma_write(desc_addr, q.wb_buf.data(), q.wb_count * regs::RX_DESC_SIZE, local);
  ++m_stats.rx_desc_writebacks;
  q.rdh = q.ring_size() ? (q.rdh + q.wb_count) % q.ring_size() : 0;  // the driver may have shrunk the ring
  sc_core::wait(local);
  local = SC_ZERO_TIME;
  if (msix_mode())
    m_eicr |= 1u << q.index;
  else
    m_icr |= regs::ICR_RXT0;
  q.moderation->packet_done(q.wb_count);
  if (m_obs) {
    for (uint64_t id : q.wb_ids) {
      m_obs->frame(id, waves::frame_stage::dma_done, m_dma_track);
      m_obs->end(m_dma_track);
    }
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
    m_probe.icr(msix_mode() ? m_eicr : m_icr);
    probe_ring();
  }
  q.wb_count = 0;
  q.wb_ids.clear();
}

void nic::flush_all_writebacks(sc_time& local) {
  for (auto& q : m_q)
    if (q->wb_count != 0) flush_writebacks(*q, local);
}

void nic::rx_dma_thread() {
  sc_time local = SC_ZERO_TIME;
  for (;;) {
    while (m_fifo.empty()) sc_core::wait(m_fifo_ev);
    local += m_params.fifo_to_dma;
    rx_queue& q = *m_q[m_fifo.front().queue];
    bool counted_no_buffer = false, counted_stall = false, dropped = false;
    while (q.desc_cache.empty()) {
      sc_core::wait(local);  // sync before a non-posted read or a wait
      local = SC_ZERO_TIME;
      if (!(m_rctl & regs::RCTL_EN)) {  // receiver off: frames wait in the FIFO
        sc_core::wait(m_tail_ev);
        continue;
      }
      if (descriptors_available(q) == 0) {
        // SRRCTL.DROP_EN: drop rather than block every queue behind this one.
        if (q.srrctl & regs::SRRCTL_DROP_EN) {
          dropped = true;
          break;
        }
        if (!counted_no_buffer) {
          ++m_stats.rx_no_buffer_count;
          ++m_rnbc;
          counted_no_buffer = true;
        }
        // Descriptors done but not written back would never reach the driver while this
        // frame waits (it may be waiting for exactly those): write every batch back first.
        flush_all_writebacks(local);
        if (m_params.desc_prefetch_threshold > 0)
          sc_core::wait(m_cache_ev | m_tail_ev);
        else
          sc_core::wait(m_tail_ev);
        continue;
      }
      if (!counted_stall) {
        ++m_stats.rx_desc_fetch_stalls;
        counted_stall = true;
      }
      if (m_params.desc_prefetch_threshold > 0)
        sc_core::wait(m_cache_ev);  // the prefetcher's read is on its way
      else
        fetch_descriptors(q, local);
    }
    fifo_entry& e = m_fifo.front();
    if (dropped) {
      ++m_stats.rx_no_dma_resources;
      ++q.stats.drops;
      if (m_obs) m_obs->frame_dropped(e.frame.id, "nic.rx_no_dma_resources");
      m_fifo_used -= e.frame.bytes.size();
      --q.fifo_frames;
      m_fifo.pop_front();
      if (m_obs) probe_ring();
      // The flush rule of a delivered frame: its queue's batch must not outlive its frames.
      if (q.wb_count != 0 && q.fifo_frames == 0) flush_writebacks(q, local);
      continue;
    }
    const uint64_t buffer = q.desc_cache.front();
    q.desc_cache.pop_front();
    m_cache_drained_ev.notify(SC_ZERO_TIME);

    const uint64_t frame_id = e.frame.id;
    if (m_obs) {
      m_obs->begin(m_dma_track, "rx_dma");
      m_obs->frame(frame_id, waves::frame_stage::dma_start, m_dma_track);
      m_probe.dma_busy(1);
      m_probe.dma_kind("data");
      m_probe.dma_addr(buffer);
      m_probe.dma_len(e.frame.bytes.size());
    }
    const bool strip_fcs = (m_rctl & regs::RCTL_SECRC) != 0;
    const auto len = static_cast<unsigned>(e.frame.bytes.size() - (strip_fcs ? proto::ETH_FCS_LEN : 0));
    dma_write(buffer, e.frame.bytes.data(), len, local);

    q.wb_buf.resize(std::max<size_t>(q.wb_buf.size(), size_t{q.wb_count + 1} * regs::RX_DESC_SIZE));
    uint8_t* desc = q.wb_buf.data() + q.wb_count * regs::RX_DESC_SIZE;
    std::memset(desc, 0, regs::RX_DESC_SIZE);
    std::memcpy(desc + regs::RXD_BUFFER_ADDR, &buffer, 8);
    const auto len16 = static_cast<uint16_t>(len);
    std::memcpy(desc + regs::RXD_LENGTH, &len16, 2);
    desc[regs::RXD_STATUS] = e.status;
    desc[regs::RXD_ERRORS] = e.errors;
    ++q.wb_count;
    q.wb_ids.push_back(frame_id);

    m_stats.rx_packets++;
    m_stats.rx_bytes += len;
    ++q.stats.packets;
    q.stats.bytes += len;
    ++m_gprc;
    m_fifo_used -= e.frame.bytes.size();
    --q.fifo_frames;
    m_fifo.pop_front();
    // Flush when the batch is full, when no frame waits for this queue, or before the ring wraps.
    const uint32_t n = q.ring_size();
    const bool wraps = n != 0 && (q.rdh + q.wb_count) % n == 0;
    if (q.wb_count >= m_params.desc_wb_batch || q.fifo_frames == 0 || wraps) flush_writebacks(q, local);
  }
}

// Brings every queue's moderation block in line with what masks it: its EIMS bit in
// MSI-X mode, IMS's RXT0 otherwise.
void nic::sync_queue_masks() {
  for (auto& q : m_q) {
    const bool enabled = msix_mode() ? ((m_eims >> q->index) & 1u) != 0 : (m_ims & regs::ICR_RXT0) != 0;
    if (enabled)
      q->moderation->unmask();
    else
      q->moderation->mask();
  }
}

// A queue's moderation block fired: its MSI-X vector, or the one MSI.
void nic::queue_irq(rx_queue& q) {
  if (!msix_mode()) {
    if (send_msi()) ++q.stats.interrupts;
    return;
  }
  if (q.msix_ctrl & regs::MSIX_VECTOR_CTRL_MASKED) {
    q.msix_pending = true;  // the PBA bit: sent when the vector is unmasked
    return;
  }
  fire_msix(q);
}

// The vector's message goes out: EIAC and EIAM act now, as the message is sent.
void nic::fire_msix(rx_queue& q) {
  const uint32_t bit = 1u << q.index;
  if (m_eiac & bit) m_eicr &= ~bit;  // auto-cleared: the driver need not read EICR
  if ((m_gpie & regs::GPIE_EIAME) && (m_eiam & bit)) {
    m_eims &= ~bit;  // auto-masked until the driver writes EIMS
    q.moderation->mask();
  }
  if (post_message((static_cast<uint64_t>(q.msix_addr_hi) << 32) | q.msix_addr_lo, q.msix_data))
    ++q.stats.interrupts;
}

bool nic::send_msi() {
  return post_message((static_cast<uint64_t>(m_msi_addr_hi) << 32) | m_msi_addr_lo, m_msi_data);
}

bool nic::post_message(uint64_t addr, uint32_t data) {
  if (addr == 0) return false;  // not configured by the driver yet
  ++m_stats.interrupts;
  m_probe.msis(m_stats.interrupts);
  ::tlm::tlm_generic_payload t;
  tlm::prepare_payload(t, ::tlm::TLM_WRITE_COMMAND, addr, &data, 4);
  sc_time local = SC_ZERO_TIME;
  dma->b_transport(t, local);  // posted, queued behind the data it announces
  if (t.is_response_error())
    SC_REPORT_ERROR(name(), ("MSI write failed: " + t.get_response_string()).c_str());
  return true;
}

}  // namespace nicsim::hw
