// The periodic tick at HZ and jiffies conversions (v6.x: kernel/time/tick-common.c
// tick_periodic, kernel/time/time.c usecs_to_jiffies).
#include <cmath>

#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

// The tick at every jiffy boundary with CONFIG_NO_HZ_IDLE (v6.6, kernel/time/tick-sched.c): the
// idle loop stops it (tick_nohz_idle_stop_tick) and idle exit restarts it on the jiffy grid
// (tick_nohz_idle_exit → tick_nohz_restart), so it fires on every CPU whose current task is
// not the idle task, however many tasks are runnable; interrupts and softirqs taken on top of
// the idle task leave it stopped. Timers in an idle CPU's wheel come through their hrtimer
// (host/kernel/time/timer.cpp).
void cpu::tick_thread() {
  for (;;) {
    sc_core::wait(m_tick);
    if (!m_rq.curr->is_idle) raise_irq(LOCAL_TIMER_VECTOR);
  }
}

uint64_t cpu::usecs_to_jiffies(double usecs) const {
  const double j = usecs * 1e-6 / m_tick.to_seconds();
  return static_cast<uint64_t>(std::ceil(j - 1e-9));  // rounds up, as the kernel's does
}
}  // namespace nicsim::host
