// The CFS class: vruntime, pick, wake-up preemption, placement and load balancing
// (kernel/sched/fair.c, v6.x before EEVDF).
#include <algorithm>

#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

namespace {
// CFS tunables for one CPU (kernel/sched/fair.c, scaled by 1 + ilog2(ncpus) = 1).
const sc_time sched_latency(6, sc_core::SC_MS);
const sc_time sched_wakeup_granularity(1, sc_core::SC_MS);
const sc_time sched_min_granularity(750, sc_core::SC_US);
}  // namespace

// check_preempt_tick: the current task has had its slice, or is too far ahead.
void cpu::scheduler_tick() {
  trigger_load_balance();
  if (m_rq.curr->is_idle || m_rq.cfs.tasks.empty()) return;
  update_curr();
  const sc_time ideal = std::max(sched_latency / static_cast<double>(nr_running()), sched_min_granularity);
  const sc_time ran = m_rq.curr->sum_exec_runtime - m_rq.curr->prev_sum_exec_runtime;
  if (ran > ideal) {
    m_rq.need_resched = true;
    return;
  }
  if (ran < sched_min_granularity) return;
  const task_struct* leftmost =
      *std::min_element(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(),
                        [](const task_struct* a, const task_struct* b) { return a->vruntime < b->vruntime; });
  if (m_rq.curr->vruntime > leftmost->vruntime + ideal) m_rq.need_resched = true;
}

void cpu::update_curr() {
  const sc_time now = clock_task();
  if (!m_rq.curr->is_idle) {
    m_rq.curr->vruntime += now - m_rq.curr->exec_start;
    m_rq.curr->sum_exec_runtime += now - m_rq.curr->exec_start;
  }
  m_rq.curr->exec_start = now;
  update_min_vruntime();
}

void cpu::update_min_vruntime() {
  bool any = false;
  sc_time v;
  if (!m_rq.curr->is_idle) {
    v = m_rq.curr->vruntime;
    any = true;
  }
  for (const task_struct* t : m_rq.cfs.tasks)
    if (!any || t->vruntime < v) {
      v = t->vruntime;
      any = true;
    }
  if (any) m_rq.cfs.min_vruntime = std::max(m_rq.cfs.min_vruntime, v);
}

void cpu::enqueue(task_struct* p) {
  if (p->on_rq || p->is_idle) return;
  p->on_rq = true;
  m_rq.cfs.tasks.push_back(p);
}

task_struct* cpu::pick_next() {
  if (m_rq.cfs.tasks.empty()) return m_rq.idle;
  auto it =
      std::min_element(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(),
                       [](const task_struct* a, const task_struct* b) { return a->vruntime < b->vruntime; });
  task_struct* next = *it;
  m_rq.cfs.tasks.erase(it);
  next->on_rq = false;
  return next;
}

// ---- load balancing, reduced to what idle CPUs get: a busy CPU's tick hands a waiting
// task to an idle CPU (nohz idle balance), and a CPU about to go idle pulls one
// (newidle_balance). Pinned tasks never move.

// vruntime is relative to the run queue's min_vruntime: keep the task's distance from it,
// ahead or behind (a sleeper's credit survives the move), never below zero.
sc_time cpu::rebase_vruntime(sc_time v, sc_time from_min, sc_time to_min) {
  if (v >= from_min) return to_min + (v - from_min);
  const sc_time credit = from_min - v;
  return to_min > credit ? to_min - credit : SC_ZERO_TIME;
}

task_struct* cpu::queued_migratable() const {
  // Not one still current here (queued as prev of a switch in progress): can_migrate_task
  // refuses a task that is on a CPU.
  for (task_struct* t : m_rq.cfs.tasks)
    if (t->allowed_cpu < 0 && !t->is_ksoftirqd && t != m_rq.curr) return t;
  return nullptr;
}

void cpu::migrate_queued(task_struct* p, cpu* dst) {
  m_rq.cfs.tasks.erase(std::find(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(), p));
  p->on_rq = false;
  update_min_vruntime();
  dst->update_min_vruntime();
  p->vruntime = rebase_vruntime(p->vruntime, m_rq.cfs.min_vruntime, dst->m_rq.cfs.min_vruntime);
  ++p->migrations;
  p->on_cpu = dst;
  dst->enqueue(p);
}

void cpu::trigger_load_balance() {
  for (cpu* c : m_siblings) {
    if (c == this || !c->idle()) continue;
    task_struct* p = queued_migratable();
    if (p == nullptr) return;
    migrate_queued(p, c);
    c->m_rq.need_resched = true;
    smp_send_reschedule(c);
  }
}

void cpu::newidle_balance() {
  cpu* busiest = nullptr;
  for (cpu* c : m_siblings)
    if (c != this && c->queued_migratable() != nullptr &&
        (busiest == nullptr || c->m_rq.cfs.tasks.size() > busiest->m_rq.cfs.tasks.size()))
      busiest = c;
  if (busiest != nullptr) busiest->migrate_queued(busiest->queued_migratable(), this);
}

void cpu::check_preempt_wakeup(task_struct* p) {
  if (m_rq.curr->is_idle) {
    m_rq.need_resched = true;
    if (this == &this_cpu()) m_resched_ev.notify();  // a remote idle CPU needs the IPI
    return;
  }
  update_curr();
  if (m_rq.curr->vruntime > p->vruntime + sched_wakeup_granularity) m_rq.need_resched = true;
}

// place_entity: a sleeper gets at most half a latency period of credit.
void cpu::place_entity(task_struct* p) {
  sc_time min_vruntime = m_rq.curr->is_idle ? p->vruntime : m_rq.curr->vruntime;
  for (const task_struct* t : m_rq.cfs.tasks) min_vruntime = std::min(min_vruntime, t->vruntime);
  const sc_time floor = min_vruntime > sched_latency / 2 ? min_vruntime - sched_latency / 2 : SC_ZERO_TIME;
  p->vruntime = std::max(p->vruntime, floor);
}

// select_task_rq_fair, reduced: a pinned task stays; a free one prefers its
// previous CPU if idle, then the waker's, then any idle CPU, then its previous.
cpu* cpu::select_task_rq(task_struct* p) {
  if (p->allowed_cpu >= 0) return m_siblings.at(static_cast<size_t>(p->allowed_cpu));
  if (p->on_cpu->idle()) return p->on_cpu;
  if (idle()) return this;
  for (cpu* c : m_siblings)
    if (c->idle()) return c;
  return p->on_cpu;
}
}  // namespace nicsim::host
