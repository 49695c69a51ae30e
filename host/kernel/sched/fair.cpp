// The fair class: vruntime, pick, wake-up preemption, placement and load balancing
// (kernel/sched/fair.c). Two policies, chosen by the kernel profile (m_eevdf):
// - CFS as v6.1 has it (before EEVDF): the leftmost vruntime runs, check_preempt_tick and
//   the wake-up granularity decide preemption, a sleeper gets half a latency of credit.
// - EEVDF as v6.6 has it (147f3efaa241 and the rest of its series): the eligible task
//   (vruntime at or below the run queue's average) with the earliest virtual deadline runs;
//   a task's deadline is renewed when it has run its slice (update_deadline, which
//   reschedules); a woken task is placed at the average minus the lag it left with
//   (place_entity, PLACE_LAG) and preempts only if pick_eevdf would pick it
//   (check_preempt_wakeup); RUN_TO_PARITY keeps the current task until its deadline moves.
// Every task is nice 0, so the weights cancel and calc_delta_fair(d) is d.
#include <algorithm>

#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

namespace {
// The normalized scheduler tunables (kernel/sched/fair.c): sched_init_granularity ->
// update_sysctl multiplies each by get_update_sysctl_factor(), 1 + ilog2(min(online CPUs, 8))
// under the default SCHED_TUNABLESCALING_LOG (cpu::set_sched_tunable_factor). CFS (v6.1):
// latency, min_granularity and wakeup_granularity; EEVDF (v6.6): base_slice.
const sc_time normalized_sched_latency(6, sc_core::SC_MS);
const sc_time normalized_sched_wakeup_granularity(1, sc_core::SC_MS);
const sc_time normalized_sched_min_granularity(750, sc_core::SC_US);
const sc_time normalized_sched_base_slice(750, sc_core::SC_US);
// kernel/sched/features.h (v6.6): all three on by default.
constexpr bool PLACE_LAG = true;
constexpr bool PLACE_DEADLINE_INITIAL = true;
constexpr bool RUN_TO_PARITY = true;

int64_t signed_value(sc_time t) { return static_cast<int64_t>(t.value()); }
// vruntime cannot go below zero here (sc_time is unsigned): a lag larger than the average
// (only in the first milliseconds of a run) is cut at zero.
sc_time from_signed(int64_t v) {
  return v <= 0 ? SC_ZERO_TIME : sc_time::from_value(static_cast<uint64_t>(v));
}
}  // namespace

// get_update_sysctl_factor (kernel/sched/fair.c, v6.1 and v6.6), SCHED_TUNABLESCALING_LOG.
void cpu::set_sched_tunable_factor(unsigned online_cpus) {
  const unsigned cpus = std::min(online_cpus, 8u);
  unsigned factor = 1;
  for (unsigned c = cpus; c > 1; c >>= 1) ++factor;  // 1 + ilog2(cpus)
  m_sched_factor = factor;
}
sc_time cpu::sched_latency() const { return normalized_sched_latency * m_sched_factor; }
sc_time cpu::sched_min_granularity() const { return normalized_sched_min_granularity * m_sched_factor; }
sc_time cpu::sched_wakeup_granularity() const { return normalized_sched_wakeup_granularity * m_sched_factor; }
sc_time cpu::sched_base_slice() const { return normalized_sched_base_slice * m_sched_factor; }

// ---- EEVDF (kernel/sched/fair.c, v6.6)

// cfs_rq->curr while it is on the run queue (runnable): the running task when it is not on
// the list (the kernel keeps curr out of the tree) and has not blocked.
task_struct* cpu::cfs_curr() const {
  task_struct* c = m_rq.curr;
  return !c->is_idle && c->state == task_struct::TASK_RUNNING && !c->on_rq ? c : nullptr;
}

// avg_vruntime (v6.6): V, the load-weighted average of the queued tasks' vruntime and curr's
// (equal weights here), rounded down; min_vruntime when nothing is queued. also: a task that
// counts though it is neither listed nor runnable (one being dequeued: update_entity_lag).
sc_time cpu::avg_vruntime(const task_struct* also) const {
  uint64_t sum = 0, n = 0;
  for (const task_struct* t : m_rq.cfs.tasks) {
    sum += t->vruntime.value();
    ++n;
  }
  const task_struct* c = cfs_curr();
  if (c != nullptr && c != also) {
    sum += c->vruntime.value();
    ++n;
  }
  if (also != nullptr && !also->on_rq) {
    sum += also->vruntime.value();
    ++n;
  }
  return n == 0 ? m_rq.cfs.min_vruntime : sc_time::from_value(sum / n);
}

// entity_eligible (v6.6): lag >= 0, i.e. vruntime <= V, compared without the division
// (avg >= entity_key * load).
bool cpu::entity_eligible(const task_struct* se) const {
  uint64_t sum = 0, n = 0;
  for (const task_struct* t : m_rq.cfs.tasks) {
    sum += t->vruntime.value();
    ++n;
  }
  if (const task_struct* c = cfs_curr()) {
    sum += c->vruntime.value();
    ++n;
  }
  return sum >= n * se->vruntime.value();
}

// pick_eevdf (v6.6): the eligible task with the earliest virtual deadline. curr is the
// running task while it is runnable, listed (schedule() has put it back) or not; with
// RUN_TO_PARITY it keeps the CPU while eligible and on the deadline it was picked with.
task_struct* cpu::pick_eevdf() const {
  task_struct* curr = m_rq.curr;
  if (curr->is_idle || curr->state != task_struct::TASK_RUNNING || !entity_eligible(curr)) curr = nullptr;
  if (RUN_TO_PARITY && curr != nullptr && curr->deadline_at_pick == curr->deadline) return curr;
  task_struct* best = nullptr;
  for (task_struct* t : m_rq.cfs.tasks) {
    if (t == curr || !entity_eligible(t)) continue;
    // The kernel's tree walk meets equal deadlines leftmost (smallest vruntime) first.
    if (best == nullptr || t->deadline < best->deadline ||
        (t->deadline == best->deadline && t->vruntime < best->vruntime))
      best = t;
  }
  if (best == nullptr || (curr != nullptr && curr->deadline < best->deadline)) best = curr;
  if (best == nullptr && !m_rq.cfs.tasks.empty())  // "EEVDF scheduling fail, picking leftmost"
    best = *std::min_element(
        m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(),
        [](const task_struct* a, const task_struct* b) { return a->vruntime < b->vruntime; });
  return best;
}

// update_deadline (v6.6), from update_curr: once curr's vruntime reaches its deadline it
// gets a new request, vd_i = ve_i + r_i / w_i, and the CPU reschedules if anyone else is
// runnable. This replaces check_preempt_tick.
void cpu::update_deadline(task_struct* se) {
  if (se->vruntime < se->deadline) return;
  se->slice = sched_base_slice();
  se->deadline = se->vruntime + se->slice;
  if (nr_running() > 1) m_rq.need_resched = true;  // resched_curr
}

// update_entity_lag (v6.6), from dequeue_entity: vl_i = V - v_i, clamped to
// calc_delta_fair(max(2 * slice, TICK_NSEC)).
void cpu::update_entity_lag(task_struct* se) {
  const int64_t lag = signed_value(avg_vruntime(se)) - signed_value(se->vruntime);
  const int64_t limit = signed_value(std::max(2 * se->slice, m_tick));
  se->vlag = std::clamp(lag, -limit, limit);
}

// place_entity (v6.6): the task joins at V minus its lag, the lag scaled by (W + w_i) / W so
// that its own arrival (which moves V) does not eat it (PLACE_LAG, only when the run queue is
// not empty); its deadline is a slice later, half a slice for a new task
// (PLACE_DEADLINE_INITIAL with ENQUEUE_INITIAL, task_fork_fair).
void cpu::place_entity_eevdf(task_struct* p, bool initial) {
  update_curr();  // enqueue_entity (v6.6) brings curr up to date before it places
  const sc_time v = avg_vruntime();
  const uint64_t load = m_rq.cfs.tasks.size() + (cfs_curr() != nullptr ? 1 : 0);
  int64_t lag = 0;
  if (PLACE_LAG && load > 0) lag = p->vlag * static_cast<int64_t>(load + 1) / static_cast<int64_t>(load);
  p->vruntime = from_signed(signed_value(v) - lag);
  p->slice = sched_base_slice();
  const sc_time vslice = PLACE_DEADLINE_INITIAL && initial ? p->slice / 2 : p->slice;
  p->deadline = p->vruntime + vslice;
}

// check_preempt_tick: the current task has had its slice, or is too far ahead.
// EEVDF (entity_tick, v6.6): check_preempt_tick is gone; update_curr's update_deadline
// reschedules once curr has run its slice.
void cpu::scheduler_tick() {
  trigger_load_balance();
  if (m_eevdf) {
    if (!m_rq.curr->is_idle) update_curr();
    return;
  }
  if (m_rq.curr->is_idle || m_rq.cfs.tasks.empty()) return;
  update_curr();
  const sc_time ideal =
      std::max(sched_latency() / static_cast<double>(nr_running()), sched_min_granularity());
  const sc_time ran = m_rq.curr->sum_exec_runtime - m_rq.curr->prev_sum_exec_runtime;
  if (ran > ideal) {
    m_rq.need_resched = true;
    return;
  }
  if (ran < sched_min_granularity()) return;
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
  if (m_eevdf && !m_rq.curr->is_idle) update_deadline(m_rq.curr);
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
  auto it = m_eevdf ? std::find(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(), pick_eevdf())
                    : std::min_element(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(),
                                       [](const task_struct* a, const task_struct* b) {
                                         return a->vruntime < b->vruntime;
                                       });
  if (it == m_rq.cfs.tasks.end()) it = m_rq.cfs.tasks.begin();  // (schedule() lists a runnable prev)
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

// EEVDF (v6.6): detach_task's dequeue_entity saves the task's lag here (update_entity_lag)
// and attach_task's enqueue_entity places it by that lag there (place_entity).
void cpu::migrate_queued(task_struct* p, cpu* dst) {
  if (m_eevdf) update_entity_lag(p);
  m_rq.cfs.tasks.erase(std::find(m_rq.cfs.tasks.begin(), m_rq.cfs.tasks.end(), p));
  p->on_rq = false;
  update_min_vruntime();
  dst->update_min_vruntime();
  if (m_eevdf)
    dst->place_entity_eevdf(p, false);
  else
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
    if (this == &this_cpu()) {  // a remote idle CPU needs the IPI
      sync_time();
      m_resched_ev.notify();
    }
    return;
  }
  update_curr();
  if (m_eevdf) {
    // check_preempt_wakeup (v6.6): nothing to decide if curr is already to go; otherwise the
    // woken task preempts only if pick_eevdf would pick it now ("XXX pick_eevdf(cfs_rq) != se ?").
    if (m_rq.need_resched) return;
    if (pick_eevdf() == p) m_rq.need_resched = true;
    return;
  }
  if (m_rq.curr->vruntime > p->vruntime + sched_wakeup_granularity()) m_rq.need_resched = true;
}

// place_entity: CFS (v6.1) gives a sleeper at most half a latency period of credit; EEVDF
// places it by its lag (place_entity_eevdf).
void cpu::place_entity(task_struct* p, bool initial) {
  if (m_eevdf) {
    place_entity_eevdf(p, initial);
    return;
  }
  sc_time min_vruntime = m_rq.curr->is_idle ? p->vruntime : m_rq.curr->vruntime;
  for (const task_struct* t : m_rq.cfs.tasks) min_vruntime = std::min(min_vruntime, t->vruntime);
  const sc_time floor =
      min_vruntime > sched_latency() / 2 ? min_vruntime - sched_latency() / 2 : SC_ZERO_TIME;
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
