// Timer-wheel timers (kernel/time/timer.c, v6.6): mod_timer, del_timer, run_timer_softirq.
#include "host/kernel/time/timer.h"

#include "host/kernel/cpu.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;

namespace {
void program_next(cpu& c);
// __run_timers (v6.6): every timer whose expiry has come, earliest first, each dequeued
// before its function runs (detach_timer), so the function may re-arm it.
void run_timer_softirq(cpu& c) {
  timer_base& base = c.timers();
  c.charge(cost::run_timer_softirq);
  const uint64_t now = c.jiffies();
  while (!base.pending.empty() && base.pending.begin()->first <= now) {
    timer_list* t = base.pending.begin()->second;
    base.pending.erase(base.pending.begin());
    t->base = nullptr;
    ++base.expired;
    c.charge(cost::call_timer_fn);
    const std::function<void()> fn = t->function;  // the function may free its timer
    fn();                                          // call_timer_fn
  }
  program_next(c);
}

// tick_nohz_next_event / the clock event for the base's earliest timer: an hrtimer at the
// start of the jiffy it expires in (jiffy j begins at j / HZ), whose handler raises
// TIMER_SOFTIRQ (run_local_timers) and programs the next one.
void program_next(cpu& c) {
  timer_base& base = c.timers();
  if (base.pending.empty()) return;
  const uint64_t next = base.pending.begin()->first;
  if (next >= base.programmed) return;  // an earlier (or this) event is armed already
  base.programmed = next;
  const uint64_t now = c.jiffies();
  const sc_time at = next <= now ? tlm::local_now() : c.tick() * static_cast<double>(next);
  c.hrtimer_start(at - tlm::local_now(), [&c] {
    timer_base& b = c.timers();
    b.programmed = UINT64_MAX;
    if (!b.pending.empty() && b.pending.begin()->first <= c.jiffies())
      c.raise_softirq(TIMER_SOFTIRQ);  // run_timer_softirq programs the next one
    else
      program_next(c);
  });
}
}  // namespace

timer_list::~timer_list() { del_timer(*this); }

bool mod_timer(timer_list& t, uint64_t expires) {
  const bool was = del_timer(t);
  cpu& c = cpu::this_cpu();
  timer_base& base = c.timers();
  if (!base.softirq_opened) {  // init_timers: open_softirq(TIMER_SOFTIRQ, run_timer_softirq)
    c.open_softirq(TIMER_SOFTIRQ, [&c] { run_timer_softirq(c); });
    base.softirq_opened = true;
  }
  t.expires = expires;
  t.base = &base;
  t.node = base.pending.emplace(expires, &t);
  program_next(c);
  return was;
}

bool del_timer(timer_list& t) {
  if (t.base == nullptr) return false;
  t.base->pending.erase(t.node);
  t.base = nullptr;
  return true;
}

}  // namespace nicsim::host
