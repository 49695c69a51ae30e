#include "hw/nic.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "hw/interrupts.h"
#include "hw/intr_moderation_rtl.h"
#include "hw/rx_frontend_rtl.h"
#include "hw/rx_mac.h"
#include "tlm/payload.h"

namespace nicsim::hw {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

const nic_params& nic::checked(const nic_params& params, const char* name) {
  if (params.desc_wb_batch == 0)
    throw std::invalid_argument(std::string(name) + ": desc_wb_batch must be >= 1");
  if (params.rx_queues == 0 || params.rx_queues > abi::MAX_RX_QUEUES)
    throw std::invalid_argument(std::string(name) + ": rx_queues must be 1.." +
                                std::to_string(abi::MAX_RX_QUEUES));
  // The FIFO must hold a maximum frame with a VLAN tag (store and forward).
  if (params.tx_fifo_bytes < proto::ETH_MAX_FRAME + 4)
    throw std::invalid_argument(std::string(name) +
                                ": tx_fifo_bytes must be >= " + std::to_string(proto::ETH_MAX_FRAME + 4));
  return params;
}

nic::rx_queue::rx_queue(unsigned index, const nic_params& params, reg_file& regs, desc_ring_dma& dma,
                        sc_core::sc_event& kick)
    : ring(ring_dir::rx, index, abi::RXQ_BASE(index),
           {params.desc_fetch_batch, params.desc_prefetch_threshold, params.desc_wb_batch}, regs, dma, kick),
      srrctl(index == 0 ? "SRRCTL" : "SRRCTL(" + std::to_string(index) + ")",
             abi::RXQ_BASE(index) + abi::SRRCTL_OFF) {
  srrctl.write_mask(abi::SRRCTL_DROP_EN).on_write([this, &kick](uint32_t v) {
    srrctl = v;
    kick.notify(SC_ZERO_TIME);  // a frame waiting for this queue may now be dropped
  });
  regs.add(srrctl);
}

nic::nic(const sc_core::sc_module_name& name, const nic_params& params)
    : sc_core::sc_module(name),
      ctrl("CTRL", abi::CTRL),
      status("STATUS", abi::STATUS, 0x2 /* LU: link up */),
      rctl("RCTL", abi::RCTL),
      gprc("GPRC", abi::GPRC),
      rnbc("RNBC", abi::RNBC),
      mmio("mmio"),
      dma("dma"),
      port("port"),
      m_params(checked(params, this->name())),
      m_queue_stats(m_params.rx_queues),
      m_mac(std::make_unique<rx_mac>(m_params, m_regs, m_stats)),
      m_irq(std::make_unique<interrupts>(m_params.rx_queues, m_regs, dma, m_stats, m_queue_stats)) {
  status.read_only();
  rctl.on_write([this](uint32_t v) {
    rctl = v;
    m_tail_ev.notify(SC_ZERO_TIME);
  });
  gprc.read_to_clear().read_only();
  rnbc.read_to_clear().read_only();
  for (reg* r : {&ctrl, &status, &rctl, &gprc, &rnbc}) m_regs.add(*r);
  desc_ring_dma& ring_dma = *this;
  for (unsigned i = 0; i < m_params.rx_queues; ++i)
    m_q.push_back(std::make_unique<rx_queue>(i, m_params, m_regs, ring_dma, m_tail_ev));
  tx_dma& tx_side = *this;
  m_tx = std::make_unique<tx_engine>("tx", m_params, m_regs, ring_dma, tx_side, *m_irq, m_stats);

  port.register_receive([this](const proto::wire_frame& f) { mac_rx(f); });
  mmio.register_b_transport(this, &nic::mmio_b_transport);
  mmio.register_transport_dbg(this, &nic::mmio_transport_dbg);
  SC_HAS_PROCESS(nic);
  SC_THREAD(rx_dma_thread);
  if (m_params.desc_prefetch_threshold > 0) SC_THREAD(desc_prefetch_thread);
}

nic::~nic() = default;

uint64_t nic::frames_held() const { return m_mac->frames(); }
uint64_t nic::fifo_bytes_used() const { return m_mac->bytes(); }
intr_moderation_rtl& nic::moderation(unsigned q) { return m_irq->moderation(q); }
rx_frontend_rtl& nic::frontend() { return m_mac->frontend(); }

void nic::reset() {
  m_regs.reset();
  for (auto& q : m_q) {
    q->ring.reset();
    q->wb_ids.clear();
  }
  m_mac->reset();
  m_tx->reset();
  m_irq->reset();
  if (m_obs) {
    m_probe.icr(m_irq->causes());
    probe_ring();
  }
}

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
  m_irq->messages_sent.attach(o, "nic.msi.count", 32);
  p.icr.attach(o, "nic.regs.icr", 32);
  p.reg_write.attach(o, "nic.regs.last_write");
  for (auto& qp : m_q) {
    rx_queue& q = *qp;
    // Queue 0 keeps the single-queue scopes (nic.ring, nic.moderation); queue n is nic.ring<n>.
    const unsigned index = q.ring.index();
    const std::string n = index == 0 ? "" : std::to_string(index);
    q.probe.rdh.attach(o, "nic.ring" + n + ".rdh", 16);
    q.probe.rdt.attach(o, "nic.ring" + n + ".rdt", 16);
    q.probe.hw_free.attach(o, "nic.ring" + n + ".hw_owned", 16);
    q.probe.masked.attach(o, "nic.moderation" + n + ".masked", 1);
    q.probe.pending.attach(o, "nic.moderation" + n + ".pending", 16);
    q.probe.timer_armed.attach(o, "nic.moderation" + n + ".timer_armed", 1);
    intr_moderation_rtl& m = m_irq->moderation(index);
    m.on_evaluate = [&q, &m] {
      q.probe.masked(m.masked());
      q.probe.pending(m.pending());
      q.probe.timer_armed(m.timer_armed());
    };
    m.on_evaluate();  // values at time zero
  }
  m_dma_track = o->track("nic", "rx_dma");
  m_tx->attach(o);
  probe_ring();
  p.dma_busy(0);
  p.dma_kind("idle");
  p.dma_addr(0);
  p.dma_len(0);
  m_irq->messages_sent(0);
  p.icr(0);
  p.reg_write("-");
}

void nic::probe_ring() {
  for (auto& qp : m_q) {
    rx_queue& q = *qp;
    const uint32_t n = q.ring.size();
    q.probe.rdh(q.ring.head);
    q.probe.rdt(q.ring.tail);
    q.probe.hw_free(n ? (q.ring.tail + n - q.ring.head) % n : 0);
  }
  m_probe.fifo_bytes(m_mac->bytes());
  m_probe.fifo_frames(m_mac->frames());
  m_tx->probe_queues();
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

// A debugger's or a test's view of BAR0: no time passes, and a read clears nothing.
unsigned nic::mmio_transport_dbg(::tlm::tlm_generic_payload& trans) { return m_regs.transport_dbg(trans); }

void nic::mac_rx(const proto::wire_frame& frame) {
  const rx_drop drop = m_mac->receive(frame);
  if (drop != rx_drop::none) {
    if (drop == rx_drop::missed) m_irq->latch(abi::ICR_RXO);
    if (m_obs) m_obs->frame_dropped(frame.id, drop_counter(drop));
    return;
  }
  m_fifo_ev.notify(SC_ZERO_TIME);
  if (m_obs) {
    m_obs->frame(frame.id, waves::frame_stage::mac_last_bit, -1);
    probe_ring();
  }
}

void nic::mac_tx(const proto::wire_frame& frame) { port.transmit(frame); }

void nic::dma_write(uint64_t addr, const uint8_t* data, unsigned len, sc_time& local, bool whole) {
  // A frame's data goes as one transaction (the link still sends it as one TLP per MPS): no
  // one reads the buffer before the descriptor's write-back, which follows it. Descriptor
  // write-backs go TLP by TLP, each one's descriptors visible when it lands.
  // The data is marked so: the link may write it when it is sent, annotated with its arrival.
  const unsigned chunk = whole ? len : m_params.max_payload_bytes;
  tlm::unread_until_later_write unread;
  // Cleared however the transaction ends: the extension is not the payload's to free.
  struct unmark {
    ::tlm::tlm_generic_payload* t = nullptr;
    tlm::unread_until_later_write* e = nullptr;
    ~unmark() {
      if (t != nullptr) t->clear_extension(e);
    }
  };
  for (unsigned off = 0; off < len; off += chunk) {
    const unsigned n = std::min(chunk, len - off);
    const auto t = m_payloads.take(::tlm::TLM_WRITE_COMMAND, addr + off, const_cast<uint8_t*>(data + off), n);
    {
      unmark guard;
      if (whole) {
        t->set_extension(&unread);
        guard.t = &*t;
        guard.e = &unread;
      }
      dma->b_transport(*t, local);
    }
    if (t->is_response_error())
      SC_REPORT_ERROR(name(), ("DMA write failed: " + t->get_response_string()).c_str());
  }
}

void nic::read_descriptors(ring_dir dir, uint64_t addr, uint8_t* data, unsigned len, sc_time& local) {
  const auto t = m_payloads.take(::tlm::TLM_READ_COMMAND, addr, data, len);
  ++(dir == ring_dir::tx ? m_stats.tx_desc_fetches : m_stats.rx_desc_fetches);
  if (m_obs) {
    m_probe.dma_busy(1);
    m_probe.dma_kind(dir == ring_dir::tx ? "tx_desc_read" : "desc_read");
    m_probe.dma_addr(addr);
    m_probe.dma_len(len);
  }
  dma->b_transport(*t, local);  // non-posted: returns when the completion is back
  if (m_obs) {
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
  }
  if (t->is_response_error())
    SC_REPORT_ERROR(name(), ("descriptor fetch failed: " + t->get_response_string()).c_str());
}

void nic::write_descriptors(ring_dir dir, uint64_t addr, const uint8_t* data, unsigned len, sc_time& local) {
  m_probe.dma_kind(dir == ring_dir::tx ? "tx_writeback" : "writeback");
  m_probe.dma_addr(addr);
  m_probe.dma_len(len);
  dma_write(addr, data, len, local);
  ++(dir == ring_dir::tx ? m_stats.tx_desc_writebacks : m_stats.rx_desc_writebacks);
  if (dir == ring_dir::tx && m_obs) {
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
  }
}

// A non-posted read of packet data for the TX engine: returns when the completions are back.
void nic::read_tx_data(uint64_t addr, uint8_t* data, unsigned len, sc_time& local) {
  const auto t = m_payloads.take(::tlm::TLM_READ_COMMAND, addr, data, len);
  if (m_obs) {
    m_probe.dma_busy(1);
    m_probe.dma_kind("tx_data");
    m_probe.dma_addr(addr);
    m_probe.dma_len(len);
  }
  dma->b_transport(*t, local);
  if (m_obs) {
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
  }
  if (t->is_response_error())
    SC_REPORT_ERROR(name(), ("TX data read failed: " + t->get_response_string()).c_str());
}

// Keeps every queue's descriptor cache topped up while the DMA engine moves data.
void nic::desc_prefetch_thread() {
  for (;;) {
    bool fetched = false;
    for (auto& qp : m_q) {
      rx_queue& q = *qp;
      if (!rx_enabled() || !q.ring.wants_prefetch()) continue;
      sc_time local = SC_ZERO_TIME;
      if (q.ring.fetch(local)) {
        m_cache_ev.notify(SC_ZERO_TIME);
        fetched = true;
      }
    }
    if (!fetched) sc_core::wait(m_tail_ev | m_cache_drained_ev);
  }
}

// Writes the queue's batch of finished descriptors back in one burst, then tells the
// interrupt unit how many frames it completed.
void nic::flush_writebacks(rx_queue& q, sc_time& local) {
  const unsigned done = q.ring.write_back(local);
  sc_core::wait(local);
  local = SC_ZERO_TIME;
  m_irq->queue_done(q.ring.index(), done);
  if (m_obs) {
    for (uint64_t id : q.wb_ids) {
      m_obs->frame(id, waves::frame_stage::dma_done, m_dma_track);
      m_obs->end(m_dma_track);
    }
    m_probe.dma_busy(0);
    m_probe.dma_kind("idle");
    m_probe.icr(m_irq->causes());
    probe_ring();
  }
  q.wb_ids.clear();
}

void nic::flush_all_writebacks(sc_time& local) {
  for (auto& q : m_q)
    if (q->ring.batched() != 0) flush_writebacks(*q, local);
}

void nic::rx_dma_thread() {
  sc_time local = SC_ZERO_TIME;
  for (;;) {
    while (m_mac->empty()) sc_core::wait(m_fifo_ev);
    local += m_params.fifo_to_dma;
    rx_queue& q = *m_q[m_mac->front().queue];
    const unsigned index = q.ring.index();
    bool counted_no_buffer = false, counted_stall = false, dropped = false;
    while (q.ring.cached() == 0) {
      sc_core::wait(local);  // sync before a non-posted read or a wait
      local = SC_ZERO_TIME;
      if (!rx_enabled()) {  // receiver off: frames wait in the FIFO
        sc_core::wait(m_tail_ev);
        continue;
      }
      if (q.ring.unfetched() == 0) {
        // SRRCTL.DROP_EN: drop rather than block every queue behind this one.
        if (q.srrctl & abi::SRRCTL_DROP_EN) {
          dropped = true;
          break;
        }
        if (!counted_no_buffer) {
          ++m_stats.rx_no_buffer_count;
          ++rnbc;
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
        q.ring.fetch(local);
    }
    rx_fifo_entry& e = m_mac->front();
    if (dropped) {
      ++m_stats.rx_no_dma_resources;
      ++m_queue_stats[index].drops;
      if (m_obs) m_obs->frame_dropped(e.frame.id, "nic.rx_no_dma_resources");
      m_mac->pop();
      if (m_obs) probe_ring();
      // The flush rule of a delivered frame: its queue's batch must not outlive its frames.
      if (q.ring.batched() != 0 && m_mac->frames_for(index) == 0) flush_writebacks(q, local);
      continue;
    }
    const uint64_t buffer = q.ring.take().buffer_addr;
    // Only the prefetcher waits for it: without one, the notification would only cost an
    // empty delta cycle a frame.
    if (m_params.desc_prefetch_threshold > 0) m_cache_drained_ev.notify(SC_ZERO_TIME);

    const uint64_t frame_id = e.frame.id;
    if (m_obs) {
      m_obs->begin(m_dma_track, "rx_dma");
      m_obs->frame(frame_id, waves::frame_stage::dma_start, m_dma_track);
      m_probe.dma_busy(1);
      m_probe.dma_kind("data");
      m_probe.dma_addr(buffer);
      m_probe.dma_len(e.frame.bytes.size());
    }
    const bool strip_fcs = (rctl & abi::RCTL_SECRC) != 0;
    const auto len = static_cast<unsigned>(e.frame.bytes.size() - (strip_fcs ? proto::ETH_FCS_LEN : 0));
    dma_write(buffer, e.frame.bytes.data(), len, local, /*whole=*/true);

    abi::e1000_rx_desc done{};
    done.buffer_addr = buffer;
    done.length = static_cast<uint16_t>(len);
    done.status = e.status;
    done.errors = e.errors;
    q.ring.complete(done);
    q.wb_ids.push_back(frame_id);

    m_stats.rx_packets++;
    m_stats.rx_bytes += len;
    ++m_queue_stats[index].packets;
    m_queue_stats[index].bytes += len;
    ++gprc;
    m_mac->pop();
    // Flush when the batch is due (WTHRESH, or the ring's end), or when no frame waits for
    // this queue.
    if (q.ring.write_back_due() || m_mac->frames_for(index) == 0) flush_writebacks(q, local);
  }
}

}  // namespace nicsim::hw
