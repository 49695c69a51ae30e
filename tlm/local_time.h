#pragma once
// Temporal decoupling of the host CPUs without a quantum (issue 15; after TLM-2.0's
// tlm_quantumkeeper, but bounded by the simulation's own next event instead of a fixed
// quantum, so that no result changes).
//
// A CPU thread that charges time it spends (host::cpu::charge) need not wait for it when
// nothing else in the simulation can happen before that time has passed: no other process
// is runnable, no event is pending (sc_time_to_pending_activity) before the charge's end,
// and the run does not end first (the horizon, the end of the current sc_start). It then
// runs on with its local time ahead of the kernel's by `offset`, and waits for the
// accumulated time in one wait at the next charge that cannot be deferred, or before it
// does anything another process could see: any wait, any event notification, any
// transaction into the device models (sync()). A non-posted read may instead carry the
// offset as its annotation (TLM-2.0's loosely-timed style; host::e1000_adapter::er32): the
// target books it at the same time, and the wait for its completion is the sync. Because no
// other process can run inside the window, every process sees the same state at the same
// simulated time as with one wait per charge, and only the number of thread switches falls.
// What can differ is the order of processes woken on the same picosecond, which SystemC's
// timed-event queue leaves to its history (README, "Model limits").
//
// SystemC runs one process at a time and the running CPU thread syncs before it yields,
// so one offset serves every CPU: it is zero whenever any other process runs. Code the CPU
// threads run reads the time with local_now(); elsewhere it equals sc_time_stamp().
#include <cstdint>
#include <systemc>

namespace nicsim::tlm {

// sc_time_stamp(), inline: the library's function is not, and the hot paths ask for the time
// a dozen times a frame.
inline const sc_core::sc_time& sim_now() { return sc_core::sc_get_curr_simcontext()->time_stamp(); }

struct decoupling {
  // How far the running CPU thread's local time is ahead of sc_time_stamp().
  static sc_core::sc_time offset;
  // Deferral only while the local time stays strictly before this: the end of the current
  // sc_start (set by whoever starts the simulation; zero, the default, turns deferral off).
  static sc_core::sc_time horizon;
  // May a thread at local time (sc_time_stamp() + offset) run on for t more without waiting?
  static bool may_defer(const sc_core::sc_time& t) {
    const sc_core::sc_time now = sim_now(), end = now + offset + t;
    if (end >= horizon) return false;
    // The next activity is asked for once per delta cycle. An answer kept that long is never
    // later than the truth: while another process is runnable in this delta the answer is
    // "now", which defers nothing, and a process made runnable later in the delta is made so by
    // one that was runnable when it was asked, or by the asking thread, which waits or (having
    // deferred) syncs before it notifies. Asking less often would change which cancelled events
    // SystemC's queue drops, and with it the order of same-picosecond events (issue 15's
    // seventh round).
    const auto delta = sc_core::sc_delta_count();
    if (delta != s_delta || now != s_at) {
      s_next = now + sc_core::sc_time_to_pending_activity();
      s_delta = delta;
      s_at = now;
    }
    return end < s_next;
  }
  // Charges that ran on instead of waiting, since the process started (for tests and
  // profiling; no result depends on it).
  static uint64_t deferred;
  // Waits host::cpu::charge made, one thread switch each (a charge an interrupt breaks waits
  // more than once). With several busy CPUs nearly every charge ends after another CPU's next
  // event and must wait: the benchmark reports both counts per frame.
  static uint64_t waited;
  // Hands the running thread's offset over to one wait, or to one transaction's annotation,
  // and leaves it zero.
  static sc_core::sc_time take() {
    const sc_core::sc_time owed = offset;
    offset = sc_core::SC_ZERO_TIME;
    return owed;
  }
  // Runs the simulation for t with deferral allowed up to its end (sc_start(t)).
  static void start(const sc_core::sc_time& t, bool defer);

 private:
  static sc_core::sc_time s_next, s_at;  // the next activity, as asked at time s_at,
  static sc_dt::uint64 s_delta;          // in delta cycle s_delta
};

// The simulated time as the running code sees it.
inline sc_core::sc_time local_now() { return sim_now() + decoupling::offset; }

}  // namespace nicsim::tlm
