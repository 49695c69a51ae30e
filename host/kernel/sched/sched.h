#pragma once
// The scheduler's types: a task (struct task_struct, include/linux/sched.h, v6.x) and a
// CPU's run queue with its CFS part (struct rq and struct cfs_rq, kernel/sched/sched.h).
// The functions that work on them are in kernel/sched/{core,fair}.cpp.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <systemc>

#include "waves/observer.h"

namespace nicsim::host {

class cpu;

struct task_struct {
  enum state_t { TASK_RUNNING, TASK_INTERRUPTIBLE };
  std::string comm;
  int pid = 0;
  state_t state = TASK_RUNNING;
  bool on_rq = false;      // queued on the run queue (runnable, not current)
  bool in_kernel = false;  // in a syscall (system time) rather than user code
  bool is_idle = false;
  bool is_ksoftirqd = false;
  sc_core::sc_time vruntime{sc_core::SC_ZERO_TIME};
  sc_core::sc_time sum_exec_runtime{sc_core::SC_ZERO_TIME};
  sc_core::sc_time prev_sum_exec_runtime{sc_core::SC_ZERO_TIME};  // at the last pick
  sc_core::sc_time exec_start{sc_core::SC_ZERO_TIME};
  // EEVDF (struct sched_entity, v6.6), used by the 6.6 and 6.12 profiles: the virtual
  // deadline (vd_i = ve_i + r_i / w_i), the request (slice, sysctl_sched_base_slice), and the
  // lag saved when the task leaves the run queue (update_entity_lag), in units of the
  // SystemC time resolution since it may be negative. deadline_at_pick is the deadline when
  // the task was last picked: v6.6 stashes it in vlag while the task runs ("HACK, stash a
  // copy of deadline at the point of pick in vlag", set_next_entity) for RUN_TO_PARITY.
  sc_core::sc_time deadline{sc_core::SC_ZERO_TIME};
  sc_core::sc_time slice{sc_core::SC_ZERO_TIME};
  sc_core::sc_time deadline_at_pick{sc_core::SC_ZERO_TIME};
  int64_t vlag = 0;
  uint64_t nvcsw = 0;     // voluntary context switches (blocked)
  uint64_t nivcsw = 0;    // involuntary (preempted)
  cpu* on_cpu = nullptr;  // the run queue it belongs to
  int allowed_cpu = -1;   // pinned to this CPU (sched_setaffinity), or -1: any
  uint64_t migrations = 0;
  sc_core::sc_event run_ev;
  int track = -1;  // timeline track of the task's own activity (syscalls, work)
  waves::text_probe state_probe;
  std::function<void()> body;
};

// struct cfs_rq: the runnable tasks (the kernel's rbtree by vruntime; a short list here,
// searched for the leftmost, or with EEVDF for the eligible task with the earliest deadline)
// and min_vruntime, which never goes back and is what a migrating task's vruntime is rebased
// on under CFS (EEVDF carries its lag instead).
struct cfs_rq {
  std::deque<task_struct*> tasks;
  sc_core::sc_time min_vruntime{sc_core::SC_ZERO_TIME};
};

// struct rq: one CPU's run queue. curr is the task holding the CPU (the idle task when
// nothing else runs); need_resched is TIF_NEED_RESCHED of curr.
struct rq {
  task_struct* curr = nullptr;
  task_struct* idle = nullptr;
  cfs_rq cfs;
  bool need_resched = false;
};

}  // namespace nicsim::host
