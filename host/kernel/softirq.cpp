// Softirqs (kernel/softirq.c, v6.x): open_softirq, raise_softirq, __do_softirq, ksoftirqd.
#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

// ---------------------------------------------------------------- softirqs

void cpu::open_softirq(softirq_nr nr, std::function<void()> action) { m_softirq.vec[nr] = std::move(action); }

void cpu::do_softirq() {
  account_until_now();
  // MAX_SOFTIRQ_TIME is msecs_to_jiffies(2): jiffies-grained like the kernel's check.
  const uint64_t end = jiffies() + usecs_to_jiffies(m_softirq.max_time.to_seconds() * 1e6);
  int restart = softirq_state::MAX_SOFTIRQ_RESTART;
  ++m_softirq.depth;  // __local_bh_disable_ip(SOFTIRQ_OFFSET)
  waves::slice s(m_obs, m_track, "__do_softirq");
  note_ctx();
  for (;;) {
    uint32_t pending = m_softirq.pending;
    m_softirq.pending = 0;
    local_irq_enable();
    charge(cost::softirq_entry);
    for (unsigned nr = 0; pending != 0; ++nr, pending >>= 1) {
      if (!(pending & 1u)) continue;
      ++m_stats.softirqs[nr];
      if (m_softirq.vec[nr]) m_softirq.vec[nr]();
    }
    local_irq_disable();
    if (m_softirq.pending == 0) break;
    if (jiffies() < end && !m_rq.need_resched && --restart > 0) continue;
    wakeup_softirqd();
    break;
  }
  account_until_now();
  --m_softirq.depth;
  note_ctx();
}

// __local_bh_enable_ip (kernel/softirq.c, v6.6): preempt_count_sub(cnt - 1); if
// (!in_interrupt() && local_softirq_pending()) do_softirq(). do_softirq (v6.6): with irqs
// saved off, run __do_softirq on the softirq stack if anything is pending; 4.9 - 6.4
// (host.kernel 6.1) not while ksoftirqd is runnable (ksoftirqd_running).
void cpu::local_bh_enable() {
  --m_bh_disabled;
  if (in_interrupt() || !softirq_pending()) return;
  local_irq_disable();  // local_irq_save
  if (softirq_pending() && !ksoftirqd_running()) do_softirq();
  local_irq_enable();  // local_irq_restore
}

bool cpu::ksoftirqd_running() const {
  return m_softirq.ksoftirqd_running_defers && m_ksoftirqd->state == task_struct::TASK_RUNNING;
}

void cpu::wakeup_softirqd() {
  if (m_ksoftirqd->state != task_struct::TASK_INTERRUPTIBLE) return;
  ++m_stats.ksoftirqd_wakeups;
  try_to_wake_up(m_ksoftirqd);
}

void cpu::ksoftirqd_fn() {
  for (;;) {
    m_rq.curr->state = task_struct::TASK_INTERRUPTIBLE;  // set_current_state
    if (!softirq_pending()) schedule();
    m_rq.curr->state = task_struct::TASK_RUNNING;
    while (softirq_pending()) {  // run_ksoftirqd
      charge(cost::ksoftirqd_loop);
      local_irq_disable();
      if (softirq_pending()) do_softirq();
      local_irq_enable();
      cond_resched();
    }
  }
}
}  // namespace nicsim::host
