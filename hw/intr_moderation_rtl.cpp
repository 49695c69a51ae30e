#include "hw/intr_moderation_rtl.h"

#include <algorithm>
#include <limits>

// With SystemC already included, Verilator's headers call sc_time_stamp() unqualified.
using sc_core::sc_time_stamp;

#include <Vintr_moderation.h>
#include <verilated.h>
#include <verilated_fst_c.h>

namespace nicsim::hw {

namespace {

constexpr unsigned reset_cycles = 2;
// pkt_done is 8 bits wide: larger batches take several cycles.
constexpr uint64_t max_pkt_done_per_cycle = std::numeric_limits<uint8_t>::max();
// Waves are dumped in the RTL's `timescale precision.
constexpr int ps_precision_exponent = -12;
// Waves: dumps between two flushes of the FST writer (a dump of this block's few signals
// buffers well under 200 bytes).
constexpr uint64_t dumps_per_flush = 16384;

}  // namespace

intr_moderation_rtl::intr_moderation_rtl(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name),
      m_context(std::make_unique<VerilatedContext>()),
      m_ticks_per_ns(sc_core::sc_time(1, sc_core::SC_NS).value()) {
  if (m_ticks_per_ns == 0) {
    SC_REPORT_FATAL(this->name(), "intr_moderation_rtl needs a SystemC time resolution of 1 ns or finer");
  }
  m_model = std::make_unique<Vintr_moderation>(m_context.get(), this->name());
  m_model->now_ns = 0;
  assert_reset();

  SC_METHOD(evaluate);
  sensitive << m_wake;
  dont_initialize();
}

void intr_moderation_rtl::assert_reset() {
  m_model->rst_n = 0;
  m_model->rx_usecs = 0;
  m_model->rx_frames = 0;
  m_model->mode = 0;
  m_model->itr = 0;
  m_model->rdtr = 0;
  m_model->radv = 0;
  m_model->min_interval_ns = 0;
  m_model->pkt_done = 0;
  m_model->cause_set = 0;
  m_model->mask_set = 0;
  m_model->mask_clr = 0;
  for (unsigned i = 0; i < reset_cycles; ++i) {
    m_model->clk = 0;
    m_model->eval();
    m_model->clk = 1;
    m_model->eval();
  }
  m_model->rst_n = 1;
}

void intr_moderation_rtl::reset() {
  m_rx_usecs = 0;
  m_rx_frames = 0;
  m_mode = mode::ethtool;
  m_itr = 0;
  m_rdtr = 0;
  m_radv = 0;
  m_min_interval_ns = 0;
  m_pkt_done = 0;
  m_cause = false;
  m_mask_set = false;
  m_mask_clr = false;
  m_wake.cancel();  // a deadline armed before the reset is gone with it
  assert_reset();
  if (on_evaluate) on_evaluate();
}

intr_moderation_rtl::~intr_moderation_rtl() {
  if (m_trace) {
    m_trace->close();
  }
  m_model->final();
}

void intr_moderation_rtl::set_rx_usecs(uint16_t usecs) { m_rx_usecs = usecs; }

void intr_moderation_rtl::set_rx_frames(uint16_t frames) { m_rx_frames = frames; }

void intr_moderation_rtl::set_mode(mode m) { m_mode = m; }

void intr_moderation_rtl::set_itr(uint16_t units_256ns) { m_itr = units_256ns; }

void intr_moderation_rtl::set_rdtr(uint16_t units_1024ns) { m_rdtr = units_1024ns; }

void intr_moderation_rtl::set_radv(uint16_t units_1024ns) { m_radv = units_1024ns; }

void intr_moderation_rtl::set_min_interval_ns(uint32_t ns) { m_min_interval_ns = ns; }

void intr_moderation_rtl::packet_done(unsigned n) {
  if (n == 0) {
    return;
  }
  m_pkt_done += n;
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

void intr_moderation_rtl::cause() {
  m_cause = true;
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

void intr_moderation_rtl::mask() {
  m_mask_set = true;
  m_mask_clr = false;
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

void intr_moderation_rtl::unmask() {
  m_mask_clr = true;
  m_mask_set = false;
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

bool intr_moderation_rtl::masked() const { return m_model->masked != 0; }

unsigned intr_moderation_rtl::pending() const { return m_model->pending; }

bool intr_moderation_rtl::timer_armed() const { return m_model->timer_armed != 0; }

uint64_t intr_moderation_rtl::evaluations() const { return m_evaluations; }

uint64_t intr_moderation_rtl::interrupts() const { return m_interrupts; }

void intr_moderation_rtl::trace_fst(const std::string& path) {
  if (m_trace) {
    SC_REPORT_ERROR(name(), "intr_moderation_rtl is already writing waves");
    return;
  }
  if (m_context->timeprecision() != ps_precision_exponent) {
    SC_REPORT_ERROR(name(), "intr_moderation_rtl waves assume the RTL's 1 ps time precision");
    return;
  }
  m_context->traceEverOn(true);
  m_trace = std::make_unique<VerilatedFstC>();
  m_model->trace(m_trace.get(), 99);
  m_trace->open(path.c_str());
  m_last_dump_ps = sc_core::sc_time_stamp().value() / m_ticks_per_ns * 1000;
  m_trace->dump(m_last_dump_ps);
}

void intr_moderation_rtl::evaluate() {
  // Consume the requests first: calls made from on_irq belong to the next delta cycle.
  uint64_t pkt_done = m_pkt_done;
  bool cause_set = m_cause;
  bool mask_set = m_mask_set;
  bool mask_clr = m_mask_clr;
  m_pkt_done = 0;
  m_cause = false;
  m_mask_set = false;
  m_mask_clr = false;

  const uint64_t now_ticks = sc_core::sc_time_stamp().value();
  // The block samples time at its next nanosecond edge: a request mid-ns counts from the edge after it.
  const uint64_t now_ns = (now_ticks + m_ticks_per_ns - 1) / m_ticks_per_ns;

  uint64_t irqs = 0;
  do {
    const uint64_t batch = std::min(pkt_done, max_pkt_done_per_cycle);
    clock_cycle(now_ns, static_cast<uint8_t>(batch), cause_set, mask_set, mask_clr);
    pkt_done -= batch;
    cause_set = false;
    mask_set = false;
    mask_clr = false;
    if (m_model->irq) {
      ++irqs;
    }
  } while (pkt_done > 0);

  // Only an unmasked block needs waking at its deadline: while masked, the unmask
  // itself is the next evaluation, and the RTL judges timers that ran out meanwhile.
  if (m_model->timer_armed && !m_model->masked) {
    const uint64_t deadline_ticks = m_model->deadline_ns * m_ticks_per_ns;
    if (deadline_ticks > now_ticks) {
      m_wake.notify(sc_core::sc_time::from_value(deadline_ticks - now_ticks));
    }
  }

  for (uint64_t i = 0; i < irqs; ++i) {
    ++m_interrupts;
    if (on_irq) {
      on_irq();
    }
  }
  if (on_evaluate) on_evaluate();
}

void intr_moderation_rtl::clock_cycle(uint64_t now_ns, uint8_t pkt_done, bool cause_set, bool mask_set,
                                      bool mask_clr) {
  const uint64_t now_ps = now_ns * 1000;
  m_model->now_ns = now_ns;
  m_model->rx_usecs = m_rx_usecs;
  m_model->rx_frames = m_rx_frames;
  m_model->mode = static_cast<uint8_t>(m_mode);
  m_model->itr = m_itr;
  m_model->rdtr = m_rdtr;
  m_model->radv = m_radv;
  m_model->min_interval_ns = m_min_interval_ns;
  m_model->pkt_done = pkt_done;
  m_model->cause_set = cause_set;
  m_model->mask_set = mask_set;
  m_model->mask_clr = mask_clr;

  m_model->clk = 0;
  m_model->eval();
  dump_trace(now_ps);
  m_model->clk = 1;
  m_model->eval();
  dump_trace(now_ps + 1);

  m_model->pkt_done = 0;
  m_model->cause_set = 0;
  m_model->mask_set = 0;
  m_model->mask_clr = 0;
  ++m_evaluations;
}

void intr_moderation_rtl::dump_trace(uint64_t time_ps) {
  if (!m_trace) {
    return;
  }
  // Several evaluations can share one simulation time (delta cycles); waves need
  // strictly increasing time stamps.
  m_last_dump_ps = std::max(time_ps, m_last_dump_ps + 1);
  m_trace->dump(m_last_dump_ps);
  // The FST library holds up to 128 MB of changes in memory before it writes a block
  // (FST_BREAK_SIZE in fstapi.c): flushed every few thousand dumps (a few MB), the peak
  // memory of a long run does not follow its length. The values written are the same.
  if (++m_dumps >= dumps_per_flush) {
    m_trace->flush();
    m_dumps = 0;
  }
}

}  // namespace nicsim::hw
