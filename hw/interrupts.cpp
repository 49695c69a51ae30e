#include "hw/interrupts.h"

#include <string>

#include "abi/e1000_hw.h"
#include "hw/intr_moderation_rtl.h"
#include "tlm/payload.h"

namespace nicsim::hw {

interrupts::msix_vector::msix_vector(unsigned n, reg_file& regs)
    : addr_lo("MSIX" + std::to_string(n) + "_ADDR_LO", abi::MSIX_TABLE + abi::MSIX_ENTRY_SIZE * n + 0),
      addr_hi("MSIX" + std::to_string(n) + "_ADDR_HI", abi::MSIX_TABLE + abi::MSIX_ENTRY_SIZE * n + 4),
      data("MSIX" + std::to_string(n) + "_DATA", abi::MSIX_TABLE + abi::MSIX_ENTRY_SIZE * n + 8),
      ctrl("MSIX" + std::to_string(n) + "_CTRL", abi::MSIX_TABLE + abi::MSIX_ENTRY_SIZE * n + 12,
           abi::MSIX_VECTOR_CTRL_MASKED) {
  addr_lo.write_mask(~3u);  // DWORD aligned
  ctrl.write_mask(abi::MSIX_VECTOR_CTRL_MASKED);
  for (reg* r : {&addr_lo, &addr_hi, &data, &ctrl}) regs.add(*r);
}

interrupts::interrupts(unsigned queues, reg_file& regs, ::tlm::tlm_initiator_socket<>& dma, nic_stats& stats,
                       std::vector<nic_queue_stats>& queue_stats)
    : icr("ICR", abi::ICR),
      ics("ICS", abi::ICS),
      ims("IMS", abi::IMS),
      imc("IMC", abi::IMC),
      itr("ITR", abi::ITR),
      rdtr("RDTR", abi::RDTR),
      radv("RADV", abi::RADV),
      rxc_usecs("RXC_USECS", abi::RXC_USECS),
      rxc_frames("RXC_FRAMES", abi::RXC_FRAMES),
      rxc_mode("RXC_MODE", abi::RXC_MODE, abi::RXC_MODE_ETHTOOL),
      rxc_min_interval("RXC_MIN_INTERVAL", abi::RXC_MIN_INTERVAL),
      msi_addr_lo("MSI_ADDR_LO", abi::MSI_ADDR_LO),
      msi_addr_hi("MSI_ADDR_HI", abi::MSI_ADDR_HI),
      msi_data("MSI_DATA", abi::MSI_DATA),
      gpie("GPIE", abi::GPIE),
      eicr("EICR", abi::EICR),
      eics("EICS", abi::EICS),
      eims("EIMS", abi::EIMS),
      eimc("EIMC", abi::EIMC),
      eiac("EIAC", abi::EIAC),
      eiam("EIAM", abi::EIAM),
      m_dma(dma),
      m_stats(stats),
      m_queue_stats(queue_stats) {
  for (unsigned i = 0; i < queues; ++i) {
    // Queue 0's block keeps the single-queue name (and its waves' scope).
    const std::string name = i == 0 ? "moderation" : "moderation" + std::to_string(i);
    m_moderation.push_back(std::make_unique<intr_moderation_rtl>(name.c_str()));
    m_moderation.back()->on_irq = [this, i] { queue_irq(i); };
    m_msix.emplace_back(i, regs);
    m_msix.back().ctrl.on_write([this, i](uint32_t v) { write_msix_ctrl(i, v); });
    // EITR(i): stored as written (interval field and flags); queue i's block gets the gap.
    eitr.emplace_back("EITR" + std::to_string(i), abi::EITR(i));
    eitr.back().on_write([this, i](uint32_t v) {
      eitr[i] = v;
      m_moderation[i]->set_min_interval_ns((v & abi::EITR_INTERVAL_MASK) * abi::EITR_NS_PER_UNIT);
    });
    regs.add(eitr.back());
  }

  icr.read_to_clear().on_write(this, &interrupts::write_icr);
  ics.on_read([this] { return icr.get(); }).on_write(this, &interrupts::write_ics);
  ims.on_write(this, &interrupts::write_ims);
  imc.on_read([] { return 0u; }).on_write(this, &interrupts::write_imc);

  // Stored with the reserved bits dropped, and given to every queue's block.
  itr.write_mask(0xFFFF).on_write([this](uint32_t v) {
    itr = v;
    moderate([v](intr_moderation_rtl& m) { m.set_itr(static_cast<uint16_t>(v)); });
  });
  rdtr.write_mask(0xFFFF).on_write([this](uint32_t v) {
    rdtr = v;
    moderate([v](intr_moderation_rtl& m) { m.set_rdtr(static_cast<uint16_t>(v)); });
  });
  radv.write_mask(0xFFFF).on_write([this](uint32_t v) {
    radv = v;
    moderate([v](intr_moderation_rtl& m) { m.set_radv(static_cast<uint16_t>(v)); });
  });
  rxc_usecs.write_mask(0xFFFF).on_write([this](uint32_t v) {
    rxc_usecs = v;
    moderate([v](intr_moderation_rtl& m) { m.set_rx_usecs(static_cast<uint16_t>(v)); });
  });
  rxc_frames.write_mask(0xFFFF).on_write([this](uint32_t v) {
    rxc_frames = v;
    moderate([v](intr_moderation_rtl& m) { m.set_rx_frames(static_cast<uint16_t>(v)); });
  });
  // The unused encoding reads back as written and moderates like ethtool, as the RTL does.
  rxc_mode.write_mask(abi::RXC_MODE_MASK).on_write([this](uint32_t v) {
    rxc_mode = v;
    moderate([v](intr_moderation_rtl& m) { m.set_mode(static_cast<intr_moderation_rtl::mode>(v)); });
  });
  rxc_min_interval.on_write([this](uint32_t v) {
    rxc_min_interval = v;
    moderate([v](intr_moderation_rtl& m) { m.set_min_interval_ns(v); });
  });

  const uint32_t queue_bits = queues >= 32 ? ~0u : (1u << queues) - 1;
  gpie.write_mask(abi::GPIE_MSIX_MODE | abi::GPIE_EIAME).on_write(this, &interrupts::write_gpie);
  eicr.read_to_clear().on_write(this, &interrupts::write_eicr);
  eics.write_mask(queue_bits).on_read([this] { return eicr.get(); }).on_write(this, &interrupts::write_eics);
  eims.write_mask(queue_bits).on_write(this, &interrupts::write_eims);
  eimc.write_mask(queue_bits).on_read([] { return 0u; }).on_write(this, &interrupts::write_eimc);
  eiac.write_mask(queue_bits);
  eiam.write_mask(queue_bits);

  for (reg* r : {&icr,
                 &ics,
                 &ims,
                 &imc,
                 &itr,
                 &rdtr,
                 &radv,
                 &rxc_usecs,
                 &rxc_frames,
                 &rxc_mode,
                 &rxc_min_interval,
                 &msi_addr_lo,
                 &msi_addr_hi,
                 &msi_data,
                 &gpie,
                 &eicr,
                 &eics,
                 &eims,
                 &eimc,
                 &eiac,
                 &eiam})
    regs.add(*r);
}

interrupts::~interrupts() = default;

template <class F>
void interrupts::moderate(F apply) {
  for (auto& m : m_moderation) apply(*m);
}

bool interrupts::throttles_every_cause() const {
  const uint32_t mode = rxc_mode & abi::RXC_MODE_MASK;
  return mode == abi::RXC_MODE_E1000 || mode == abi::RXC_MODE_ITR;
}

bool interrupts::msix_mode() const { return (gpie & abi::GPIE_MSIX_MODE) != 0; }

uint32_t interrupts::causes() const { return msix_mode() ? eicr : icr; }

void interrupts::latch(uint32_t icr_causes) { icr |= icr_causes; }

void interrupts::queue_done(unsigned q, unsigned frames) {
  if (msix_mode())
    eicr |= 1u << q;
  else
    icr |= abi::ICR_RXT0;
  m_moderation[q]->packet_done(frames);
}

void interrupts::tx_done(unsigned q) {
  if (msix_mode()) {
    eicr |= 1u << q;
    m_moderation[q]->packet_done(1);
    return;
  }
  icr |= abi::ICR_TXDW;
  if (!(ims & abi::ICR_TXDW)) return;
  // The 8254x's ITR paces the interrupt whatever its cause, and the 82576's EITR every cause of
  // its vector: TXDW waits out the same gap as RXT0.
  if (throttles_every_cause()) {
    m_moderation[0]->cause();
    return;
  }
  if (send_msi()) ++m_queue_stats[q].interrupts;
}

void interrupts::reset() {
  for (auto& v : m_msix) v.pending = false;
  moderate([](intr_moderation_rtl& m) { m.reset(); });
}

void interrupts::write_icr(uint32_t v) { icr &= ~v; }

// Bypasses moderation: an enabled cause sends the MSI at once.
void interrupts::write_ics(uint32_t v) {
  icr |= v;
  if (v & ims) send_msi();
}

// Without MSI-X, IMS/IMC's RXT0 bit masks every queue's moderation block at once; every
// IMS write that leaves it set unmasks them (in arm mode: re-arms).
// Enabling TXDW while it is latched sends the MSI then (the moderation blocks do this for
// RXT0, and for TXDW too in the modes that throttle every cause).
void interrupts::write_ims(uint32_t v) {
  const uint32_t newly = v & ~ims;
  ims |= v;
  if (!msix_mode() && !throttles_every_cause() && (newly & icr & abi::ICR_TXDW) && send_msi())
    ++m_queue_stats[0].interrupts;
  if (!msix_mode() && (ims & abi::ICR_RXT0)) moderate([](intr_moderation_rtl& m) { m.unmask(); });
}

void interrupts::write_imc(uint32_t v) {
  ims &= ~v;
  if (!msix_mode() && !(ims & abi::ICR_RXT0)) moderate([](intr_moderation_rtl& m) { m.mask(); });
}

void interrupts::write_gpie(uint32_t v) {
  gpie = v;
  sync_queue_masks();  // EIMS or IMS now decides
}

void interrupts::write_eicr(uint32_t v) { eicr &= ~v; }

void interrupts::write_eics(uint32_t v) {
  eicr |= v;
  for (unsigned q = 0; q < m_moderation.size(); ++q)
    if (v & eims & (1u << q)) queue_irq(q);
}

// As IMS does for RXT0, every EIMS write of a bit unmasks (in arm mode: re-arms) that queue.
void interrupts::write_eims(uint32_t v) {
  eims |= v;
  if (msix_mode())
    for (unsigned q = 0; q < m_moderation.size(); ++q)
      if (v & (1u << q)) m_moderation[q]->unmask();
}

void interrupts::write_eimc(uint32_t v) {
  eims &= ~v;
  if (msix_mode())
    for (unsigned q = 0; q < m_moderation.size(); ++q)
      if (v & (1u << q)) m_moderation[q]->mask();
}

// Unmasking a vector with its pending bit set sends the message then.
void interrupts::write_msix_ctrl(unsigned q, uint32_t v) {
  msix_vector& vec = m_msix[q];
  vec.ctrl = v;
  if (!(vec.ctrl & abi::MSIX_VECTOR_CTRL_MASKED) && vec.pending) {
    vec.pending = false;
    fire_msix(q);
  }
}

// Brings every queue's moderation block in line with what masks it: its EIMS bit in
// MSI-X mode, IMS's RXT0 otherwise.
void interrupts::sync_queue_masks() {
  for (unsigned q = 0; q < m_moderation.size(); ++q) {
    const bool enabled = msix_mode() ? ((eims >> q) & 1u) != 0 : (ims & abi::ICR_RXT0) != 0;
    if (enabled)
      m_moderation[q]->unmask();
    else
      m_moderation[q]->mask();
  }
}

// A queue's moderation block fired: its MSI-X vector, or the one MSI.
void interrupts::queue_irq(unsigned q) {
  if (!msix_mode()) {
    if (send_msi()) ++m_queue_stats[q].interrupts;
    return;
  }
  if (m_msix[q].ctrl & abi::MSIX_VECTOR_CTRL_MASKED) {
    m_msix[q].pending = true;  // the PBA bit: sent when the vector is unmasked
    return;
  }
  fire_msix(q);
}

// The vector's message goes out: EIAC and EIAM act now, as the message is sent.
void interrupts::fire_msix(unsigned q) {
  const uint32_t bit = 1u << q;
  if (eiac & bit) eicr &= ~bit;  // auto-cleared: the driver need not read EICR
  if ((gpie & abi::GPIE_EIAME) && (eiam & bit)) {
    eims &= ~bit;  // auto-masked until the driver writes EIMS
    m_moderation[q]->mask();
  }
  const msix_vector& vec = m_msix[q];
  if (post_message((static_cast<uint64_t>(vec.addr_hi) << 32) | vec.addr_lo, vec.data))
    ++m_queue_stats[q].interrupts;
}

bool interrupts::send_msi() {
  return post_message((static_cast<uint64_t>(msi_addr_hi) << 32) | msi_addr_lo, msi_data);
}

bool interrupts::post_message(uint64_t addr, uint32_t data) {
  if (addr == 0) return false;  // not configured by the driver yet
  ++m_stats.interrupts;
  messages_sent(m_stats.interrupts);
  const auto t = m_payloads.take(::tlm::TLM_WRITE_COMMAND, addr, &data, 4);
  sc_core::sc_time local = sc_core::SC_ZERO_TIME;
  m_dma->b_transport(*t, local);  // posted, queued behind the data it announces
  if (t->is_response_error())
    SC_REPORT_ERROR(m_dma.name(), ("MSI write failed: " + t->get_response_string()).c_str());
  return true;
}

}  // namespace nicsim::hw
