// Hard IRQ entry and exit (v6.x arch/x86/kernel/irq.c: common_interrupt/do_IRQ, kernel/softirq.c:
// irq_exit) and request_irq (kernel/irq/manage.c).
#include <algorithm>

#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

// ---------------------------------------------------------------- hard IRQs

void cpu::request_irq(unsigned vector, irq_handler handler, const char* name) {
  if (vector >= m_irq_handlers.size()) {
    m_irq_handlers.resize(vector + 1);
    m_irq_names.resize(vector + 1, "irq");
    m_stats.irq_counts.resize(vector + 1, 0);
  }
  m_irq_handlers[vector] = std::move(handler);
  m_irq_names[vector] = name;
}

void cpu::raise_irq(unsigned vector) {
  // The local APIC's IRR holds one pending request per vector.
  if (std::find(m_irq_pending.begin(), m_irq_pending.end(), vector) == m_irq_pending.end())
    m_irq_pending.push_back(vector);
  sync_time();
  m_irq_ev.notify();
  if (m_charge_waiting) {
    m_charge_ev.cancel();  // the charge's end, pending
    m_charge_ev.notify();
  }
}

void cpu::do_IRQ() {
  const unsigned vector = m_irq_pending.front();
  m_irq_pending.erase(m_irq_pending.begin());
  account_until_now();
  ++m_irqs_off;  // the CPU clears IF on interrupt entry
  ++m_hardirq_depth;
  ++m_stats.hardirqs;
  if (m_obs) {
    m_obs->begin(m_track, "do_IRQ");
    m_obs->hardirq(vector, m_id);
    note_ctx();
  }
  if (vector < m_stats.irq_counts.size()) ++m_stats.irq_counts[vector];
  charge(cost::irq_entry);
  if (vector < m_irq_handlers.size() && m_irq_handlers[vector]) {
    waves::slice s(m_obs, m_track, m_irq_names[vector]);
    m_irq_handlers[vector](vector);
  }
  account_until_now();
  --m_hardirq_depth;  // irq_exit
  note_ctx();
  // invoke_softirq (kernel/softirq.c): v6.5+ runs them here; 4.9 - 6.4 not while ksoftirqd is
  // runnable ("softirq: Let ksoftirqd do its job", reverted by d15121be7485 in v6.5).
  if (!in_interrupt() && softirq_pending() && !ksoftirqd_running()) do_softirq();
  --m_irqs_off;  // iret
  if (m_obs) m_obs->end(m_track);
  // Return to the interrupted context: PREEMPT_VOLUNTARY preempts only user mode here.
  if (m_rq.need_resched && m_irqs_off == 0 && !in_interrupt() && !m_rq.curr->is_idle &&
      !m_rq.curr->in_kernel && !m_in_switch) {
    schedule();
  }
}
}  // namespace nicsim::host
