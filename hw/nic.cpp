#include "hw/nic.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "hw/intr_moderation_rtl.h"
#include "hw/nic_regs.h"
#include "hw/rx_frontend_rtl.h"

namespace nicsim::hw {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

nic::nic(const sc_core::sc_module_name& name, const nic_params& params)
    : sc_core::sc_module(name),
      mmio("mmio"),
      dma("dma"),
      m_params(params),
      m_moderation(std::make_unique<intr_moderation_rtl>("moderation")),
      m_frontend(std::make_unique<rx_frontend_rtl>(512)) {
  mmio.register_b_transport(this, &nic::mmio_b_transport);
  m_moderation->on_irq = [this] { send_msi(); };

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
  m_regs.add("IMS", IMS, 0, reader(m_ims), [this](uint32_t v) {
    m_ims |= v;
    if (m_ims & ICR_RXT0) m_moderation->unmask();
  });
  m_regs.add(
      "IMC", IMC, 0, [] { return 0u; },
      [this](uint32_t v) {
        m_ims &= ~v;
        if (!(m_ims & ICR_RXT0)) m_moderation->mask();
      });
  m_regs.add("RCTL", RCTL, 0, reader(m_rctl), [this](uint32_t v) {
    m_rctl = v;
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  m_regs.add("RDBAL", RDBAL, 0, reader(m_rdbal), [this](uint32_t v) { m_rdbal = v & ~0xFu; });
  m_regs.add("RDBAH", RDBAH, 0, reader(m_rdbah), storage(m_rdbah));
  m_regs.add("RDLEN", RDLEN, 0, reader(m_rdlen), [this](uint32_t v) { m_rdlen = v & 0xFFF80u; });
  m_regs.add("RDH", RDH, 0, reader(m_rdh), [this](uint32_t v) {
    m_rdh = v;
    m_next_fetch = v;
    m_desc_cache.clear();
  });
  m_regs.add("RDT", RDT, 0, reader(m_rdt), [this](uint32_t v) {
    m_rdt = ring_size() ? v % ring_size() : 0;
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  m_regs.add("RXC_USECS", RXC_USECS, 0, {}, [this](uint32_t v) {
    m_regs.set(RXC_USECS, v & 0xFFFF);
    m_moderation->set_rx_usecs(static_cast<uint16_t>(v));
  });
  m_regs.add("RXC_FRAMES", RXC_FRAMES, 0, {}, [this](uint32_t v) {
    m_regs.set(RXC_FRAMES, v & 0xFFFF);
    m_moderation->set_rx_frames(static_cast<uint16_t>(v));
  });
  m_regs.add("RXC_MODE", RXC_MODE, RXC_MODE_ETHTOOL, {}, [this](uint32_t v) {
    // The unused encoding reads back as written and moderates like ethtool, as the RTL does.
    m_regs.set(RXC_MODE, v & RXC_MODE_MASK);
    m_moderation->set_mode(static_cast<intr_moderation_rtl::mode>(v & RXC_MODE_MASK));
  });
  m_regs.add("RXC_MIN_INTERVAL", RXC_MIN_INTERVAL, 0, {}, [this](uint32_t v) {
    m_regs.set(RXC_MIN_INTERVAL, v);
    m_moderation->set_min_interval_ns(v);
  });
  m_regs.add("ITR", ITR, 0, {}, [this](uint32_t v) {
    m_regs.set(ITR, v & 0xFFFF);
    m_moderation->set_itr(static_cast<uint16_t>(v));
  });
  m_regs.add("RDTR", RDTR, 0, {}, [this](uint32_t v) {
    m_regs.set(RDTR, v & 0xFFFF);
    m_moderation->set_rdtr(static_cast<uint16_t>(v));
  });
  m_regs.add("RADV", RADV, 0, {}, [this](uint32_t v) {
    m_regs.set(RADV, v & 0xFFFF);
    m_moderation->set_radv(static_cast<uint16_t>(v));
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

  SC_HAS_PROCESS(nic);
  SC_THREAD(rx_dma_thread);
  if (m_params.desc_prefetch_threshold > 0) SC_THREAD(desc_prefetch_thread);
  if (m_params.desc_wb_batch == 0)
    throw std::invalid_argument(std::string(this->name()) + ": desc_wb_batch must be >= 1");
}

nic::~nic() = default;

void nic::attach(waves::observer* o) {
  m_obs = o;
  if (o == nullptr) return;
  auto& p = m_probe;
  p.fifo_bytes.attach(o, "nic.rx_fifo.level_bytes", 32);
  p.fifo_frames.attach(o, "nic.rx_fifo.frames", 16);
  p.rdh.attach(o, "nic.ring.rdh", 16);
  p.rdt.attach(o, "nic.ring.rdt", 16);
  p.hw_free.attach(o, "nic.ring.hw_owned", 16);
  p.dma_busy.attach(o, "nic.dma.busy", 1);
  p.dma_addr.attach(o, "nic.dma.addr", 64);
  p.dma_len.attach(o, "nic.dma.len", 16);
  p.dma_kind.attach(o, "nic.dma.kind");
  p.msis.attach(o, "nic.msi.count", 32);
  p.icr.attach(o, "nic.regs.icr", 32);
  p.reg_write.attach(o, "nic.regs.last_write");
  p.masked.attach(o, "nic.moderation.masked", 1);
  p.pending.attach(o, "nic.moderation.pending", 16);
  p.timer_armed.attach(o, "nic.moderation.timer_armed", 1);
  m_dma_track = o->track("nic", "rx_dma");
  m_moderation->on_evaluate = [this] {
    m_probe.masked(m_moderation->masked());
    m_probe.pending(m_moderation->pending());
    m_probe.timer_armed(m_moderation->timer_armed());
  };
  m_moderation->on_evaluate();  // values at time zero
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
  m_probe.rdh(m_rdh);
  m_probe.rdt(m_rdt);
  m_probe.hw_free(ring_size() ? (m_rdt + ring_size() - m_rdh) % ring_size() : 0);
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
  // Legacy descriptor checksum reporting, as the 8254x does it.
  uint8_t status = regs::RXD_STAT_DD | regs::RXD_STAT_EOP;
  uint8_t errors = 0;
  if (!(m_rxcsum & (regs::RXCSUM_IPOFL | regs::RXCSUM_TUOFL)) || !st.is_ipv4) {
    status |= regs::RXD_STAT_IXSM;
  } else {
    if (m_rxcsum & regs::RXCSUM_IPOFL) {
      status |= regs::RXD_STAT_IPCS;
      if (!st.ip_hdr_ok) errors |= regs::RXD_ERR_IPE;
    }
    if ((m_rxcsum & regs::RXCSUM_TUOFL) && (st.is_tcp || st.is_udp)) {
      status |= regs::RXD_STAT_TCPCS | (st.is_udp ? regs::RXD_STAT_UDPCS : 0);
      if (st.l4_csum_ok) {
        ++m_stats.rx_csum_offload_good;
      } else {
        errors |= regs::RXD_ERR_TCPE;
        ++m_stats.rx_csum_offload_errors;
      }
    }
  }
  m_fifo_used += frame.bytes.size();
  m_fifo.push_back(frame);
  m_fifo_desc_bits.emplace_back(status, errors);
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
    t.set_command(::tlm::TLM_WRITE_COMMAND);
    t.set_address(addr + off);
    t.set_data_ptr(const_cast<uint8_t*>(data + off));
    t.set_data_length(n);
    t.set_streaming_width(n);
    t.set_byte_enable_ptr(nullptr);
    t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
    dma->b_transport(t, local);
    if (t.is_response_error())
      SC_REPORT_ERROR(name(), ("DMA write failed: " + t.get_response_string()).c_str());
  }
}

bool nic::fetch_descriptors(sc_time& local) {
  const uint32_t n = ring_size();
  if (n == 0 || !(m_rctl & regs::RCTL_EN)) return false;
  const uint32_t available = (m_rdt + n - m_next_fetch) % n;
  if (available == 0) return false;
  // Fetch up to a batch, never across the end of the ring in one read.
  const uint32_t count = std::min({available, m_params.desc_fetch_batch, n - m_next_fetch});
  std::vector<uint8_t>& buf = m_desc_fetch_buf;  // a member: the read suspends this thread
  buf.resize(count * regs::RX_DESC_SIZE);
  ::tlm::tlm_generic_payload t;
  t.set_command(::tlm::TLM_READ_COMMAND);
  t.set_address(ring_base() + uint64_t{m_next_fetch} * regs::RX_DESC_SIZE);
  t.set_data_ptr(buf.data());
  t.set_data_length(static_cast<unsigned>(buf.size()));
  t.set_streaming_width(static_cast<unsigned>(buf.size()));
  t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
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
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t addr = 0;
    std::memcpy(&addr, buf.data() + i * regs::RX_DESC_SIZE + regs::RXD_BUFFER_ADDR, 8);
    m_desc_cache.push_back(addr);
  }
  m_next_fetch = (m_next_fetch + count) % n;
  return true;
}

uint32_t nic::descriptors_available() const {
  const uint32_t n = ring_size();
  if (n == 0 || !(m_rctl & regs::RCTL_EN)) return 0;
  return (m_rdt + n - m_next_fetch) % n;
}

// Keeps the descriptor cache topped up while the DMA engine moves data.
void nic::desc_prefetch_thread() {
  for (;;) {
    while (m_desc_cache.size() >= m_params.desc_prefetch_threshold || descriptors_available() == 0)
      sc_core::wait(m_tail_ev | m_cache_drained_ev);
    sc_time local = SC_ZERO_TIME;
    if (fetch_descriptors(local)) m_cache_ev.notify(SC_ZERO_TIME);
  }
}

// Writes the batch of finished descriptors back in one burst, then tells the
// moderation block how many frames it completed.
void nic::flush_writebacks(sc_time& local) {
  const uint64_t desc_addr = ring_base() + uint64_t{m_rdh} * regs::RX_DESC_SIZE;
  {
    // Sync before the write-back so it books the link in time order with the host's
    // MMIO completions, whether or not anything is recorded.
    sc_core::wait(local);
    local = SC_ZERO_TIME;
    m_probe.dma_kind("writeback");
    m_probe.dma_addr(desc_addr);
    m_probe.dma_len(m_wb_count * regs::RX_DESC_SIZE);
  }
  dma_write(desc_addr, m_wb_buf.data(), m_wb_count * regs::RX_DESC_SIZE, local);
  ++m_stats.rx_desc_writebacks;
  m_rdh = ring_size() ? (m_rdh + m_wb_count) % ring_size() : 0;  // the driver may have shrunk the ring
  sc_core::wait(local);
  local = SC_ZERO_TIME;
  m_icr |= regs::ICR_RXT0;
  m_moderation->packet_done(m_wb_count);
  if (m_obs) {
    for (uint64_t id : m_wb_ids) {
      m_obs->frame(id, waves::frame_stage::dma_done, m_dma_track);
      m_obs->end(m_dma_track);
    }
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
    m_probe.icr(m_icr);
    probe_ring();
  }
  m_wb_count = 0;
  m_wb_ids.clear();
}

void nic::rx_dma_thread() {
  sc_time local = SC_ZERO_TIME;
  for (;;) {
    while (m_fifo.empty()) sc_core::wait(m_fifo_ev);
    local += m_params.fifo_to_dma;
    bool counted_no_buffer = false, counted_stall = false;
    while (m_desc_cache.empty()) {
      sc_core::wait(local);  // sync before a non-posted read or a wait
      local = SC_ZERO_TIME;
      if (descriptors_available() == 0) {
        if (!counted_no_buffer) {
          ++m_stats.rx_no_buffer_count;
          ++m_rnbc;
          counted_no_buffer = true;
        }
        if (m_params.desc_prefetch_threshold > 0)
          sc_core::wait(m_cache_ev);
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
        fetch_descriptors(local);
    }
    const uint64_t buffer = m_desc_cache.front();
    m_desc_cache.pop_front();
    m_cache_drained_ev.notify(SC_ZERO_TIME);

    const proto::wire_frame& frame = m_fifo.front();
    const uint64_t frame_id = frame.id;
    if (m_obs) {
      m_obs->begin(m_dma_track, "rx_dma");
      m_obs->frame(frame_id, waves::frame_stage::dma_start, m_dma_track);
      m_probe.dma_busy(1);
      m_probe.dma_kind("data");
      m_probe.dma_addr(buffer);
      m_probe.dma_len(frame.bytes.size());
    }
    const bool strip_fcs = (m_rctl & regs::RCTL_SECRC) != 0;
    const auto len = static_cast<unsigned>(frame.bytes.size() - (strip_fcs ? proto::ETH_FCS_LEN : 0));
    dma_write(buffer, frame.bytes.data(), len, local);

    m_wb_buf.resize(std::max<size_t>(m_wb_buf.size(), size_t{m_wb_count + 1} * regs::RX_DESC_SIZE));
    uint8_t* desc = m_wb_buf.data() + m_wb_count * regs::RX_DESC_SIZE;
    std::memset(desc, 0, regs::RX_DESC_SIZE);
    std::memcpy(desc + regs::RXD_BUFFER_ADDR, &buffer, 8);
    const auto len16 = static_cast<uint16_t>(len);
    std::memcpy(desc + regs::RXD_LENGTH, &len16, 2);
    desc[regs::RXD_STATUS] = m_fifo_desc_bits.front().first;
    desc[regs::RXD_ERRORS] = m_fifo_desc_bits.front().second;
    ++m_wb_count;
    m_wb_ids.push_back(frame_id);

    m_stats.rx_packets++;
    m_stats.rx_bytes += len;
    ++m_gprc;
    m_fifo_used -= frame.bytes.size();
    m_fifo.pop_front();
    m_fifo_desc_bits.pop_front();
    // Flush when the batch is full, when no frame waits, or before the ring wraps.
    const uint32_t n = ring_size();
    const bool wraps = n != 0 && (m_rdh + m_wb_count) % n == 0;
    if (m_wb_count >= m_params.desc_wb_batch || m_fifo.empty() || wraps) flush_writebacks(local);
  }
}

void nic::send_msi() {
  const uint64_t addr = (static_cast<uint64_t>(m_msi_addr_hi) << 32) | m_msi_addr_lo;
  if (addr == 0) return;  // MSI not configured by the driver yet
  ++m_stats.interrupts;
  m_probe.msis(m_stats.interrupts);
  uint32_t data = m_msi_data;
  ::tlm::tlm_generic_payload t;
  t.set_command(::tlm::TLM_WRITE_COMMAND);
  t.set_address(addr);
  t.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
  t.set_data_length(4);
  t.set_streaming_width(4);
  t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
  sc_time local = SC_ZERO_TIME;
  dma->b_transport(t, local);  // posted, queued behind the data it announces
  if (t.is_response_error())
    SC_REPORT_ERROR(name(), ("MSI write failed: " + t.get_response_string()).c_str());
}

}  // namespace nicsim::hw
