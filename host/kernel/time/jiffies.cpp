// The periodic tick at HZ and jiffies conversions (v6.x: kernel/time/tick-common.c
// tick_periodic, kernel/time/time.c usecs_to_jiffies).
#include <cmath>

#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

void cpu::tick_thread() {
  for (;;) {
    sc_core::wait(m_tick);
    if (nr_running() > 1) raise_irq(LOCAL_TIMER_VECTOR);
  }
}

uint64_t cpu::usecs_to_jiffies(double usecs) const {
  const double j = usecs * 1e-6 / m_tick.to_seconds();
  return static_cast<uint64_t>(std::ceil(j - 1e-9));  // rounds up, as the kernel's does
}
}  // namespace nicsim::host
