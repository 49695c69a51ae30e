// High-resolution timers on the local APIC in one-shot mode (kernel/time/hrtimer.c, v6.x:
// hrtimer_start, hrtimer_interrupt).
#include <algorithm>

#include "host/kernel/cpu.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

void cpu::hrtimer_start(sc_time delay, std::function<void()> fn) {
  sync_time();
  m_hrtimer_base.active.emplace_back(tlm::local_now() + delay, std::move(fn));
  m_hrtimer_base.next_event.notify(delay);  // keeps the earliest pending expiry
}

void cpu::hrtimer_method() { raise_irq(HRTIMER_VECTOR); }

void cpu::hrtimer_interrupt() {
  const sc_time now = tlm::local_now();
  std::vector<std::function<void()>> expired;
  sc_time next = SC_ZERO_TIME;
  for (auto it = m_hrtimer_base.active.begin(); it != m_hrtimer_base.active.end();) {
    if (it->first <= now) {
      expired.push_back(std::move(it->second));
      it = m_hrtimer_base.active.erase(it);
    } else {
      next = next == SC_ZERO_TIME ? it->first : std::min(next, it->first);
      ++it;
    }
  }
  if (next > SC_ZERO_TIME) {
    sync_time();
    m_hrtimer_base.next_event.notify(next - tlm::local_now());
  }
  for (auto& fn : expired) fn();
}
}  // namespace nicsim::host
