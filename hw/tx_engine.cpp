#include "hw/tx_engine.h"

#include <algorithm>

#include "hw/interrupts.h"
#include "proto/checksum.h"

namespace nicsim::hw {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

namespace {
// TIDV/TADV count in 1.024 us units (8254x SDM 13.4.44, 13.4.46).
sc_time delay_units(uint32_t units) { return sc_time(1024.0 * (units & 0xFFFF), sc_core::SC_NS); }
}  // namespace

tx_engine::tx_queue::tx_queue(unsigned index, const nic_params& params, reg_file& regs, desc_ring_dma& dma,
                              sc_core::sc_event& kick)
    : ring(ring_dir::tx, index, abi::TXQ_BASE(index), {params.desc_fetch_batch, 0, 1}, regs, dma, kick),
      txdctl(index == 0 ? "TXDCTL" : "TXDCTL(" + std::to_string(index) + ")",
             abi::TXQ_BASE(index) + abi::TXDCTL_OFF) {
  txdctl
      .write_mask(abi::TXDCTL_PTHRESH | abi::TXDCTL_HTHRESH | abi::TXDCTL_WTHRESH | abi::TXDCTL_QUEUE_ENABLE)
      .on_write([this](uint32_t v) {
        txdctl =
            v & (abi::TXDCTL_PTHRESH | abi::TXDCTL_HTHRESH | abi::TXDCTL_WTHRESH | abi::TXDCTL_QUEUE_ENABLE);
        ring.set_writeback_threshold((txdctl & abi::TXDCTL_WTHRESH) >> abi::TXDCTL_WTHRESH_SHIFT);
      });
  regs.add(txdctl);
}

tx_engine::tx_engine(const sc_core::sc_module_name& name, const nic_params& params, reg_file& regs,
                     desc_ring_dma& ring_dma, tx_dma& dma, interrupts& irq, nic_stats& stats)
    : sc_core::sc_module(name),
      tctl("TCTL", abi::TCTL),
      tipg("TIPG", abi::TIPG),
      tidv("TIDV", abi::TIDV),
      tadv("TADV", abi::TADV),
      gptc("GPTC", abi::GPTC),
      gotcl("GOTCL", abi::GOTCL),
      gotch("GOTCH", abi::GOTCH),
      m_params(params),
      m_dma(dma),
      m_irq(irq),
      m_stats(stats) {
  tctl.write_mask(abi::TCTL_EN | abi::TCTL_PSP | abi::TCTL_CT | abi::TCTL_COLD | abi::TCTL_SWXOFF |
                  abi::TCTL_RTLC)
      .on_write([this](uint32_t v) {
        tctl = v & (abi::TCTL_EN | abi::TCTL_PSP | abi::TCTL_CT | abi::TCTL_COLD | abi::TCTL_SWXOFF |
                    abi::TCTL_RTLC);
        m_kick.notify(SC_ZERO_TIME);
      });
  tipg.write_mask(0x3FFFFFFF);  // IPGT 9:0, IPGR1 19:10, IPGR2 29:20: stored
  // FPD reads 0: it is an action, not a setting.
  tidv.write_mask(0xFFFF | abi::TIDV_FPD).on_write([this](uint32_t v) {
    tidv = v & 0xFFFF;
    if (v & abi::TIDV_FPD)
      for (auto& q : m_q)
        if (q->delay_armed || q->abs_armed) fire(*q);
  });
  tadv.write_mask(0xFFFF);
  for (reg* r : {&gptc, &gotcl, &gotch}) r->read_to_clear().read_only();
  for (reg* r : {&tctl, &tipg, &tidv, &tadv, &gptc, &gotcl, &gotch}) regs.add(*r);
  for (unsigned i = 0; i < params.rx_queues; ++i)
    m_q.push_back(std::make_unique<tx_queue>(i, params, regs, ring_dma, m_kick));

  SC_HAS_PROCESS(tx_engine);
  SC_THREAD(dma_thread);
  SC_THREAD(mac_thread);
  SC_METHOD(timer_method);
  sensitive << m_timer_ev;
  dont_initialize();
}

tx_engine::~tx_engine() = default;

void tx_engine::reset() {
  for (auto& q : m_q) {
    q->ring.reset();
    q->ring.set_writeback_threshold(0);  // TXDCTL's reset value
    q->delay_armed = q->abs_armed = false;
    q->batch_rs = 0;
    q->batch_immediate = false;
  }
  m_timer_ev.cancel();
  probe_queues();
}

void tx_engine::attach(waves::observer* o) {
  m_obs = o;
  if (o == nullptr) return;
  for (auto& qp : m_q) {
    tx_queue& q = *qp;
    // Queue 0 is nic.tx_ring, queue n nic.tx_ring<n>, as the RX rings are named.
    const std::string n = q.ring.index() == 0 ? "" : std::to_string(q.ring.index());
    q.probe.tdh.attach(o, "nic.tx_ring" + n + ".tdh", 16);
    q.probe.tdt.attach(o, "nic.tx_ring" + n + ".tdt", 16);
    q.probe.hw_owned.attach(o, "nic.tx_ring" + n + ".hw_owned", 16);
  }
  m_probe.fifo_bytes.attach(o, "nic.tx_fifo.level_bytes", 32);
  m_probe.fifo_frames.attach(o, "nic.tx_fifo.frames", 16);
  m_track = o->track("nic", "tx_dma");
  probe_queues();
}

void tx_engine::probe_queues() {
  if (m_obs == nullptr) return;
  for (auto& qp : m_q) {
    tx_queue& q = *qp;
    const uint32_t n = q.ring.size();
    q.probe.tdh(q.ring.head);
    q.probe.tdt(q.ring.tail);
    q.probe.hw_owned(n ? (q.ring.tail + n - q.ring.head) % n : 0);
  }
  m_probe.fifo_bytes(m_fifo_bytes);
  m_probe.fifo_frames(m_fifo.size());
}

bool tx_engine::has_work(const tx_queue& q) const {
  return enabled() && q.ring.size() != 0 && (q.ring.cached() != 0 || q.ring.unfetched() != 0);
}

// The DMA engine serves the queues round robin, a packet at a time.
tx_engine::tx_queue* tx_engine::pick() {
  for (unsigned k = 0; k < m_q.size(); ++k) {
    const unsigned i = (m_next + k) % static_cast<unsigned>(m_q.size());
    if (has_work(*m_q[i])) {
      m_next = i + 1;
      return m_q[i].get();
    }
  }
  return nullptr;
}

void tx_engine::dma_thread() {
  sc_time local = SC_ZERO_TIME;
  for (;;) {
    tx_queue* q = pick();
    if (q == nullptr) {
      // Nothing more to send: no write-back batch waits. A flush takes time, in which the
      // driver may post more; so look again before sleeping until the next register write.
      if (flush_all(local)) continue;
      probe_queues();
      sc_core::wait(m_kick);
      continue;
    }
    send_packet(*q, local);
  }
}

bool tx_engine::flush_all(sc_time& local) {
  bool any = false;
  for (auto& q : m_q)
    if (q->ring.batched() != 0) {
      write_back(*q, local);
      any = true;
    }
  return any;
}

// Fetches the packet's descriptors, reads its data, puts the frame in the TX FIFO, and
// writes the descriptors back.
void tx_engine::send_packet(tx_queue& q, sc_time& local) {
  if (m_obs) m_obs->begin(m_track, "tx_dma");
  m_descs.clear();
  m_frame.clear();
  bool eop = false;
  while (!eop) {
    while (q.ring.cached() == 0) {
      sc_core::wait(local);  // sync before a non-posted read or a wait
      local = SC_ZERO_TIME;
      if (q.ring.unfetched() == 0) {
        // The rest of the packet is not posted yet (drivers post a whole packet before
        // moving TDT, so this is rare): release the batches and wait for the tail.
        if (!flush_all(local)) sc_core::wait(m_kick);
        continue;
      }
      q.ring.fetch(local);
    }
    const abi::e1000_tx_desc d = q.ring.take();
    m_descs.push_back(d);
    const uint32_t cmd = d.lower.data;
    if ((cmd & abi::TXD_CMD_DEXT) && (cmd & abi::ADVTXD_DTYP_MASK) == abi::ADVTXD_DTYP_CTXT)
      continue;  // a context descriptor: offload settings only, no data
    const unsigned len = cmd & abi::TXD_LENGTH_MASK;
    if (len != 0) {
      // One non-posted read per buffer: the link returns its completions split at MPS.
      const size_t at = m_frame.size();
      m_frame.resize(at + len);
      m_dma.read_tx_data(d.buffer_addr, m_frame.data() + at, len, local);
    }
    eop = (cmd & abi::TXD_CMD_EOP) != 0;
  }
  sc_core::wait(local);  // the data is on chip
  local = SC_ZERO_TIME;

  const uint64_t data_bytes = m_frame.size();
  if (data_bytes != 0) {
    if (m_descs.back().lower.data & abi::TXD_CMD_IFCS) {
      if ((tctl & abi::TCTL_PSP) && m_frame.size() < proto::ETH_ZLEN) m_frame.resize(proto::ETH_ZLEN, 0);
      const uint32_t fcs = proto::crc32(m_frame.data(), m_frame.size());
      for (unsigned b = 0; b < proto::ETH_FCS_LEN; ++b)
        m_frame.push_back(static_cast<uint8_t>(fcs >> (8 * b)));
    }
    // A frame waits for room in the FIFO; one larger than the whole FIFO enters it empty.
    if (m_fifo_bytes + m_frame.size() > m_params.tx_fifo_bytes && !m_fifo.empty()) {
      ++m_stats.tx_fifo_stalls;
      flush_all(local);
      sc_core::wait(local);
      local = SC_ZERO_TIME;
      while (m_fifo_bytes + m_frame.size() > m_params.tx_fifo_bytes && !m_fifo.empty())
        sc_core::wait(m_drained_ev);
    }
    fifo_entry e;
    e.frame.id = ++m_next_id;
    e.frame.bytes = m_frame;
    e.queue = q.ring.index();
    e.data_bytes = data_bytes;
    m_fifo_bytes += e.frame.bytes.size();
    m_fifo.push_back(std::move(e));
    m_fifo_ev.notify(SC_ZERO_TIME);
  }

  // Write-back: DD on the descriptors with RS; the others move TDH without DMA unless a
  // batch is open (WTHRESH > 1), which they then join.
  for (abi::e1000_tx_desc d : m_descs) {
    const uint32_t cmd = d.lower.data;
    if (cmd & (abi::TXD_CMD_RS | abi::TXD_CMD_RPS)) {
      d.upper.data |= abi::TXD_STAT_DD;
      ++q.batch_rs;
      if (!(cmd & abi::TXD_CMD_IDE)) q.batch_immediate = true;
      q.ring.complete(d);
    } else if (q.ring.batched() == 0) {
      q.ring.retire();
    } else {
      q.ring.complete(d);
    }
    if (q.ring.write_back_due()) write_back(q, local);
  }
  if (q.ring.batched() != 0 && !has_work(q)) write_back(q, local);
  if (q.ring.batched() == 0 && q.ring.head == q.ring.tail) m_irq.latch(abi::ICR_TXQE);
  if (m_obs) {
    m_obs->end(m_track);
    probe_queues();
  }
}

// Writes the queue's batch back in one burst; an RS descriptor in it raises the TX cause.
void tx_engine::write_back(tx_queue& q, sc_time& local) {
  q.ring.write_back(local);
  sc_core::wait(local);  // the burst has left the NIC
  local = SC_ZERO_TIME;
  const bool delayed = !q.batch_immediate;
  const bool report_it = q.batch_rs != 0;
  q.batch_rs = 0;
  q.batch_immediate = false;
  if (report_it) report(q, delayed);
  probe_queues();
}

// TIDV / TADV (8254x SDM 3.4.1 "Transmit Interrupt Delay"): a write-back of a descriptor
// with IDE re-arms the packet timer; the first arms the absolute timer.
void tx_engine::report(tx_queue& q, bool delayed) {
  if (!delayed || (tidv & 0xFFFF) == 0) {
    fire(q);
    return;
  }
  const sc_time now = sc_core::sc_time_stamp();
  q.delay_deadline = now + delay_units(tidv);
  q.delay_armed = true;
  if ((tadv & 0xFFFF) != 0 && !q.abs_armed) {
    q.abs_deadline = now + delay_units(tadv);
    q.abs_armed = true;
  }
  rearm_timer();
}

// The cause goes to the interrupt unit; both timers stop.
void tx_engine::fire(tx_queue& q) {
  q.delay_armed = q.abs_armed = false;
  m_irq.tx_done(q.ring.index());
  rearm_timer();
}

void tx_engine::timer_method() {
  const sc_time now = sc_core::sc_time_stamp();
  for (auto& qp : m_q) {
    tx_queue& q = *qp;
    if ((q.delay_armed && now >= q.delay_deadline) || (q.abs_armed && now >= q.abs_deadline)) fire(q);
  }
  rearm_timer();
}

void tx_engine::rearm_timer() {
  m_timer_ev.cancel();
  bool any = false;
  sc_time earliest;
  for (auto& qp : m_q) {
    const tx_queue& q = *qp;
    for (const auto& [armed, at] :
         {std::pair{q.delay_armed, q.delay_deadline}, std::pair{q.abs_armed, q.abs_deadline}})
      if (armed && (!any || at < earliest)) {
        earliest = at;
        any = true;
      }
  }
  if (!any) return;
  const sc_time now = sc_core::sc_time_stamp();
  m_timer_ev.notify(earliest > now ? earliest - now : SC_ZERO_TIME);
}

// The MAC's transmit side: frames leave the FIFO in order, one slot (preamble, frame, IFG)
// apart at line rate.
void tx_engine::mac_thread() {
  for (;;) {
    while (m_fifo.empty()) sc_core::wait(m_fifo_ev);
    const sc_time now = sc_core::sc_time_stamp();
    if (now < m_port_free) sc_core::wait(m_port_free - now);
    fifo_entry& e = m_fifo.front();
    const sc_time first_bit = sc_core::sc_time_stamp();
    e.frame.first_bit_ps = first_bit.value() / sc_time(1, sc_core::SC_PS).value();
    m_port_free = first_bit + m_dma.slot_time(e.frame.bytes.size());
    m_dma.transmit(e.frame);  // returns when the last bit has reached the partner

    fifo_entry& sent = m_fifo.front();
    const uint64_t wire_bytes = sent.frame.bytes.size();
    ++m_stats.tx_packets;
    m_stats.tx_bytes += sent.data_bytes;
    nic_queue_stats& qs = m_q[sent.queue]->stats;
    ++qs.packets;
    qs.bytes += sent.data_bytes;
    ++gptc;
    const uint64_t octets = uint64_t{gotcl} + wire_bytes;
    gotcl = static_cast<uint32_t>(octets);
    gotch = gotch + static_cast<uint32_t>(octets >> 32);
    m_fifo_bytes -= wire_bytes;
    m_fifo.pop_front();
    m_drained_ev.notify(SC_ZERO_TIME);
    if (m_obs) probe_queues();
  }
}

}  // namespace nicsim::hw
