// The scheduler core (kernel/sched/core.c, v6.x): schedule, try_to_wake_up, cond_resched;
// kthread_create (kernel/kthread.c) and the idle loop (kernel/sched/idle.c: do_idle).
#include <algorithm>
#include <stdexcept>

#include "host/kernel/cpu.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

// ---------------------------------------------------------------- scheduler

task_struct* cpu::kthread_create(const std::string& comm, std::function<void()> body, bool pinned) {
  auto t = std::make_unique<task_struct>();
  t->on_cpu = this;
  t->allowed_cpu = pinned ? m_id : -1;
  t->comm = comm;
  t->pid = m_next_pid++;
  t->body = std::move(body);
  task_struct* p = t.get();
  m_tasks.push_back(std::move(t));
  attach_task(p);
  if (m_eevdf) {
    // task_fork_fair (v6.6): place_entity(cfs_rq, se, ENQUEUE_INITIAL), no lag yet.
    p->vlag = 0;
    if (!m_rq.curr->is_idle) update_curr();
    place_entity(p, /*initial=*/true);
  } else {
    p->vruntime = m_rq.curr->is_idle ? SC_ZERO_TIME : m_rq.curr->vruntime;
  }
  enqueue(p);
  m_rq.need_resched = true;
  sync_time();
  m_resched_ev.notify(SC_ZERO_TIME);
  sc_core::sc_spawn([this, p] { task_trampoline(p); }, (comm + "_thread").c_str());
  return p;
}

void cpu::task_trampoline(task_struct* t) {
  wait_for_cpu(t);
  t->body();
  // A task whose body returns exits: it never runs again (on the CPU it is on by then).
  t->state = task_struct::TASK_INTERRUPTIBLE;
  t->on_cpu->schedule();
}

void cpu::wait_for_cpu(task_struct* t) {
  sync_time();
  while (t->on_cpu->m_rq.curr != t) sc_core::wait(t->run_ev);
  t->on_cpu->resume();
}

void cpu::idle_loop() {
  m_rq.curr->exec_start = clock_task();
  resume();
  for (;;) {
    while (!m_rq.need_resched) {
      if (!m_irq_pending.empty()) {
        do_IRQ();
        continue;
      }
      sync_time();
      sc_core::wait(m_idle_wake);
      resume();
    }
    schedule();
  }
}

// rq_clock_task with CONFIG_IRQ_TIME_ACCOUNTING (as distribution kernels build it): time
// spent in hard and soft interrupts is not charged to the task they interrupted.
sc_time cpu::clock_task() {
  account_until_now();
  return tlm::local_now() - m_stats.time[static_cast<size_t>(cpu_ctx::hardirq)] -
         m_stats.time[static_cast<size_t>(cpu_ctx::softirq)];
}

void cpu::schedule() {
  task_struct* prev = m_rq.curr;
  if (m_irqs_off != 0 || in_interrupt()) throw std::logic_error("schedule() in atomic context");
  update_curr();
  m_rq.need_resched = false;
  // EEVDF (dequeue_entity, v6.6): a task going to sleep leaves with its lag.
  if (m_eevdf && prev->state != task_struct::TASK_RUNNING && !prev->is_idle) update_entity_lag(prev);
  if (prev->state == task_struct::TASK_RUNNING) enqueue(prev);
  if (m_rq.cfs.tasks.empty()) newidle_balance();
  task_struct* next = pick_next();
  if (next == prev) return;
  if (prev->state == task_struct::TASK_RUNNING)
    ++prev->nivcsw;
  else
    ++prev->nvcsw;
  account_until_now();
  m_in_switch = true;  // __schedule runs with the run queue locked, interrupts off
  note_ctx();
  if (m_obs) m_obs->begin(m_track, "__schedule");
  stall(m_costs(cost::context_switch));
  ++m_stats.context_switches;
  account_until_now();
  m_in_switch = false;
  if (m_obs) {
    m_obs->end(m_track);  // __schedule
    m_obs->end(m_track);  // prev's stretch on this CPU
    m_obs->begin(m_track, next->comm.c_str());
    note_task(prev, prev->state == task_struct::TASK_RUNNING ? "runnable" : "blocked");
    note_task(next, "running");
  }
  m_rq.curr = next;
  // next's clock starts now, before anything below accounts runtime for it.
  next->exec_start = clock_task();
  next->prev_sum_exec_runtime = next->sum_exec_runtime;
  next->deadline_at_pick = next->deadline;  // set_next_entity (v6.6), for RUN_TO_PARITY
  // A wake-up that came while prev was switching out (after it was taken off the run
  // queue, before another task became current) found it still current and only made it
  // runnable; queue it now, as ttwu does once p->on_cpu clears, or it is lost.
  if (prev->state == task_struct::TASK_RUNNING && !prev->on_rq && !prev->is_idle) {
    place_entity(prev);
    enqueue(prev);
    check_preempt_wakeup(prev);
  }
  // A task another CPU queued here during the switch was checked against prev, not next:
  // going idle with it queued would leave it there, so run the scheduler again.
  if (next->is_idle && !m_rq.cfs.tasks.empty()) m_rq.need_resched = true;
  note_ctx();
  sync_time();
  next->run_ev.notify();
  wait_for_cpu(prev);
}

// try_to_wake_up (kernel/sched/core.c) in two halves. ttwu_locked is what the kernel does
// under p->pi_lock and the run queue's lock, where nothing sleeps: it takes no simulated
// time, so a wait-queue walk that calls it never yields while it holds an entry.
cpu* cpu::ttwu_locked(task_struct* p) {
  if (p->state != task_struct::TASK_INTERRUPTIBLE) return nullptr;
  p->state = task_struct::TASK_RUNNING;
  ++m_stats.wakeups;
  cpu* target = p->on_cpu;
  if (p != p->on_cpu->m_rq.curr) {  // not still on its way into schedule()
    target = select_task_rq(p);
    if (target != p->on_cpu) {
      // migrate_task_rq_fair: under CFS (v6.1) vruntime is relative to its run queue's
      // min_vruntime, so a task from a busier CPU does not wait there for everyone's runtime
      // to catch up. EEVDF (v6.6) carries the lag saved at sleep, which place_entity uses
      // ("sched/smp: Use lag to simplify cross-runqueue placement", e8f331bcc270).
      cpu* from = p->on_cpu;
      from->update_min_vruntime();
      target->update_min_vruntime();
      if (!m_eevdf)
        p->vruntime =
            rebase_vruntime(p->vruntime, from->m_rq.cfs.min_vruntime, target->m_rq.cfs.min_vruntime);
      ++p->migrations;
      p->on_cpu = target;
    }
    target->note_task(p, "runnable");
    target->place_entity(p);
    target->enqueue(p);
    target->check_preempt_wakeup(p);
  }
  return target;
}

// The waker's time for one wake-up, and resched_curr's IPI to a target CPU it asked to
// reschedule (sent once that time is spent, as before the split).
void cpu::ttwu_finish(cpu* target) {
  charge(cost::ttwu);
  if (target != this && target->m_rq.need_resched) smp_send_reschedule(target);
}

bool cpu::try_to_wake_up(task_struct* p) {
  cpu* target = ttwu_locked(p);
  if (target == nullptr) return false;
  ttwu_finish(target);
  return true;
}

void cpu::cond_resched() {
  if (m_rq.need_resched) schedule();
}
}  // namespace nicsim::host
