#pragma once
// Timer-wheel timers (include/linux/timer.h, kernel/time/timer.c, v6.6): struct timer_list with
// its expiry in jiffies, mod_timer / del_timer / timer_pending, and the per-CPU timer_base that
// run_timer_softirq works off in TIMER_SOFTIRQ. The kernel's wheel groups timers by level
// (granularity grows with the distance to expiry); the model keeps an exact ordered set, which
// is what level 0 (the next 63 jiffies) gives and all the model's timers (the delayed ACK,
// 40..200 ms at HZ <= 1000, and the SYN-ACK's 1 s retransmission) need at HZ 1000 within 8x.
// The tick side: a NOHZ kernel programs the clock event for the next timer's jiffy; the model
// arms an hrtimer at that jiffy's boundary whose handler (tick_sched_timer → run_local_timers)
// raises TIMER_SOFTIRQ when a timer is due.
#include <cstdint>
#include <functional>
#include <map>

namespace nicsim::host {

class cpu;

struct timer_list {
  uint64_t expires = 0;            // jiffies
  std::function<void()> function;  // runs in TIMER_SOFTIRQ on the CPU it was armed on
  // Where it is queued (nullptr: not pending) and its place there.
  struct timer_base* base = nullptr;
  std::multimap<uint64_t, timer_list*>::iterator node;
  timer_list() = default;
  timer_list(const timer_list&) = delete;
  timer_list& operator=(const timer_list&) = delete;
  ~timer_list();
};

struct timer_base {
  std::multimap<uint64_t, timer_list*> pending;  // by expires
  uint64_t programmed = UINT64_MAX;              // the jiffy the clock event is armed for
  bool softirq_opened = false;
  uint64_t expired = 0;  // timers run (for tests and reports)
};

// timer_pending: queued and not yet run.
inline bool timer_pending(const timer_list& t) { return t.base != nullptr; }
// mod_timer (v6.6): (re)queue t to expire at `expires` (jiffies) on the current CPU's base.
// Returns whether it was pending before.
bool mod_timer(timer_list& t, uint64_t expires);
// del_timer (v6.6; timer_delete in later kernels): dequeue; whether it was pending.
bool del_timer(timer_list& t);
// sk_reset_timer (net/core/sock.c, v6.6): mod_timer (the socket reference it takes is moot here).
inline void sk_reset_timer(timer_list& t, uint64_t expires) { mod_timer(t, expires); }

}  // namespace nicsim::host
