#include "host/cpu.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

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

cpu* cpu::s_this = nullptr;

const char* cpu_ctx_name(cpu_ctx c) {
  static constexpr const char* names[] = {"user", "system", "hardirq", "softirq", "ksoftirqd", "idle"};
  return names[static_cast<size_t>(c)];
}

cpu::cpu(const sc_core::sc_module_name& name, int id, const cost_table& costs)
    : sc_core::sc_module(name), m_id(id), m_costs(costs) {
  auto idle = std::make_unique<task_struct>();
  idle->comm = "swapper/" + std::to_string(id);
  idle->pid = 0;
  idle->is_idle = true;
  idle->on_cpu = this;
  idle->allowed_cpu = id;
  idle->in_kernel = true;
  m_idle = idle.get();
  m_current = m_idle;
  m_tasks.push_back(std::move(idle));
  m_ksoftirqd = kthread_create("ksoftirqd/" + std::to_string(id), [this] { ksoftirqd_fn(); });
  m_ksoftirqd->is_ksoftirqd = true;
  m_ksoftirqd->in_kernel = true;
  request_irq(
      LOCAL_TIMER_VECTOR, [this](unsigned) { scheduler_tick(); }, "scheduler_tick");
  // The reschedule IPI does its work by arriving: need_resched is already set.
  request_irq(
      RESCHEDULE_VECTOR, [this](unsigned) { ++m_stats.ipis_received; }, "scheduler_ipi");
  if (s_this == nullptr) s_this = this;
  m_siblings = {this};
  SC_HAS_PROCESS(cpu);
  SC_THREAD(idle_loop);
  SC_THREAD(tick_thread);
  SC_METHOD(ipi_method);
  sensitive << m_ipi_ev;
  dont_initialize();
  request_irq(
      HRTIMER_VECTOR, [this](unsigned) { hrtimer_interrupt(); }, "hrtimer_interrupt");
  SC_METHOD(hrtimer_method);
  sensitive << m_hrtimer_ev;
  dont_initialize();
}

void cpu::attach(waves::observer* o) {
  m_obs = o;
  if (o == nullptr) return;
  const std::string name = "cpu" + std::to_string(m_id);
  m_track = o->track(name, name);
  m_probe.ctx.attach(o, name + ".context");
  m_probe.current.attach(o, name + ".current");
  m_probe.softirq_pending.attach(o, name + ".softirq_pending", NR_SOFTIRQS);
  m_probe.need_resched.attach(o, name + ".need_resched", 1);
  for (auto& t : m_tasks) attach_task(t.get());
  o->begin(m_track, m_current->comm.c_str());
  note_ctx();
}

void cpu::attach_task(task_struct* t) {
  if (m_obs == nullptr) return;
  t->track = m_obs->track("tasks", t->comm);
  std::string scope = t->comm;  // "ksoftirqd/0" → "ksoftirqd_0": a wave scope has no slashes
  std::replace(scope.begin(), scope.end(), '/', '_');
  std::replace(scope.begin(), scope.end(), ':', '_');
  t->state_probe.attach(m_obs, "host.task_state." + scope);
  t->state_probe(t == m_current ? "running" : t->state == task_struct::TASK_RUNNING ? "runnable" : "blocked");
}

void cpu::note_ctx() {
  if (m_obs == nullptr) return;
  m_probe.ctx(cpu_ctx_name(current_ctx()));
  m_probe.current(m_current->comm.c_str());
  m_probe.softirq_pending(m_softirq_pending);
  m_probe.need_resched(m_need_resched);
}

void cpu::note_task(task_struct* t, const char* state) {
  if (m_obs) t->state_probe(state);
}

void cpu::ipi_method() { raise_irq(RESCHEDULE_VECTOR); }

void cpu::hrtimer_start(sc_time delay, std::function<void()> fn) {
  m_hrtimers.emplace_back(sc_time_stamp() + delay, std::move(fn));
  m_hrtimer_ev.notify(delay);  // keeps the earliest pending expiry
}

void cpu::hrtimer_method() { raise_irq(HRTIMER_VECTOR); }

void cpu::hrtimer_interrupt() {
  const sc_time now = sc_time_stamp();
  std::vector<std::function<void()>> expired;
  sc_time next = SC_ZERO_TIME;
  for (auto it = m_hrtimers.begin(); it != m_hrtimers.end();) {
    if (it->first <= now) {
      expired.push_back(std::move(it->second));
      it = m_hrtimers.erase(it);
    } else {
      next = next == SC_ZERO_TIME ? it->first : std::min(next, it->first);
      ++it;
    }
  }
  if (next > SC_ZERO_TIME) m_hrtimer_ev.notify(next - now);
  for (auto& fn : expired) fn();
}

void cpu::smp_send_reschedule(cpu* target) {
  ++m_stats.ipis_sent;
  charge(cost::ipi_send);
  target->m_ipi_ev.notify(m_costs(cost::ipi_delivery));
}

void cpu::tick_thread() {
  for (;;) {
    sc_core::wait(m_tick);
    if (nr_running() > 1) raise_irq(LOCAL_TIMER_VECTOR);
  }
}

// check_preempt_tick: the current task has had its slice, or is too far ahead.
void cpu::scheduler_tick() {
  trigger_load_balance();
  if (m_current->is_idle || m_runqueue.empty()) return;
  update_curr();
  const sc_time ideal = std::max(sched_latency / static_cast<double>(nr_running()), sched_min_granularity);
  const sc_time ran = m_current->sum_exec_runtime - m_current->prev_sum_exec_runtime;
  if (ran > ideal) {
    m_need_resched = true;
    return;
  }
  if (ran < sched_min_granularity) return;
  const task_struct* leftmost =
      *std::min_element(m_runqueue.begin(), m_runqueue.end(),
                        [](const task_struct* a, const task_struct* b) { return a->vruntime < b->vruntime; });
  if (m_current->vruntime > leftmost->vruntime + ideal) m_need_resched = true;
}

// ---------------------------------------------------------------- accounting

cpu_ctx cpu::current_ctx() const {
  if (m_hardirq_depth > 0) return cpu_ctx::hardirq;
  if (m_softirq_depth > 0) return m_current->is_ksoftirqd ? cpu_ctx::ksoftirqd : cpu_ctx::softirq;
  if (m_in_switch) return cpu_ctx::system;
  if (m_current->is_idle) return cpu_ctx::idle;
  if (m_current->is_ksoftirqd) return cpu_ctx::ksoftirqd;
  return m_current->in_kernel ? cpu_ctx::system : cpu_ctx::user;
}

void cpu::account_until_now() {
  const sc_time now = sc_time_stamp();
  if (now > m_accounted_to) m_stats.time[static_cast<size_t>(current_ctx())] += now - m_accounted_to;
  m_accounted_to = now;
}

const cpu_stats& cpu::stats() const {
  const_cast<cpu*>(this)->account_until_now();
  return m_stats;
}

// ---------------------------------------------------------------- time

void cpu::charge(sc_time t) {
  while (t > SC_ZERO_TIME) {
    if (m_irqs_off == 0 && !m_irq_pending.empty()) {
      do_IRQ();
      // Preempted at irq_exit and since moved by load balancing: the rest of the work
      // runs on the CPU the task is on now.
      if (s_this != this) {
        s_this->charge(t);
        return;
      }
      continue;
    }
    const sc_time start = sc_time_stamp();
    if (m_irqs_off == 0)
      sc_core::wait(t, m_irq_ev);
    else
      sc_core::wait(t);
    resume();
    const sc_time ran = sc_time_stamp() - start;
    t = ran >= t ? SC_ZERO_TIME : t - ran;
  }
}

void cpu::stall(sc_time t) {
  if (t > SC_ZERO_TIME) sc_core::wait(t);
  resume();
}

// ---------------------------------------------------------------- hard IRQs

void cpu::request_irq(unsigned vector, irq_handler handler, const char* name) {
  if (vector >= m_irq_handlers.size()) {
    m_irq_handlers.resize(vector + 1);
    m_irq_names.resize(vector + 1, "irq");
    m_stats.irq_counts.resize(vector + 1, 0);
  }
  m_irq_handlers[vector] = std::move(handler);
  m_irq_names[vector] = name;
}

void cpu::raise_irq(unsigned vector) {
  // The local APIC's IRR holds one pending request per vector.
  if (std::find(m_irq_pending.begin(), m_irq_pending.end(), vector) == m_irq_pending.end())
    m_irq_pending.push_back(vector);
  m_irq_ev.notify();
}

void cpu::do_IRQ() {
  const unsigned vector = m_irq_pending.front();
  m_irq_pending.erase(m_irq_pending.begin());
  account_until_now();
  ++m_irqs_off;  // the CPU clears IF on interrupt entry
  ++m_hardirq_depth;
  ++m_stats.hardirqs;
  if (m_obs) {
    m_obs->begin(m_track, "do_IRQ");
    m_obs->hardirq(vector, m_id);
    note_ctx();
  }
  if (vector < m_stats.irq_counts.size()) ++m_stats.irq_counts[vector];
  charge(cost::irq_entry);
  if (vector < m_irq_handlers.size() && m_irq_handlers[vector]) {
    waves::slice s(m_obs, m_track, m_irq_names[vector]);
    m_irq_handlers[vector](vector);
  }
  account_until_now();
  --m_hardirq_depth;  // irq_exit
  note_ctx();
  if (!in_interrupt() && softirq_pending()) do_softirq();
  --m_irqs_off;  // iret
  if (m_obs) m_obs->end(m_track);
  // Return to the interrupted context: PREEMPT_VOLUNTARY preempts only user mode here.
  if (m_need_resched && m_irqs_off == 0 && !in_interrupt() && !m_current->is_idle && !m_current->in_kernel &&
      !m_in_switch) {
    schedule();
  }
}

// ---------------------------------------------------------------- softirqs

void cpu::open_softirq(softirq_nr nr, std::function<void()> action) {
  m_softirq_actions[nr] = std::move(action);
}

uint64_t cpu::usecs_to_jiffies(double usecs) const {
  const double j = usecs * 1e-6 / m_tick.to_seconds();
  return static_cast<uint64_t>(std::ceil(j - 1e-9));  // rounds up, as the kernel's does
}

void cpu::do_softirq() {
  account_until_now();
  // MAX_SOFTIRQ_TIME is msecs_to_jiffies(2): jiffies-grained like the kernel's check.
  const uint64_t end = jiffies() + usecs_to_jiffies(m_max_softirq_time.to_seconds() * 1e6);
  int restart = MAX_SOFTIRQ_RESTART;
  ++m_softirq_depth;  // __local_bh_disable_ip(SOFTIRQ_OFFSET)
  waves::slice s(m_obs, m_track, "__do_softirq");
  note_ctx();
  for (;;) {
    uint32_t pending = m_softirq_pending;
    m_softirq_pending = 0;
    local_irq_enable();
    charge(cost::softirq_entry);
    for (unsigned nr = 0; pending != 0; ++nr, pending >>= 1) {
      if (!(pending & 1u)) continue;
      ++m_stats.softirqs[nr];
      if (m_softirq_actions[nr]) m_softirq_actions[nr]();
    }
    local_irq_disable();
    if (m_softirq_pending == 0) break;
    if (jiffies() < end && !m_need_resched && --restart > 0) continue;
    wakeup_softirqd();
    break;
  }
  account_until_now();
  --m_softirq_depth;
  note_ctx();
}

void cpu::wakeup_softirqd() {
  if (m_ksoftirqd->state != task_struct::TASK_INTERRUPTIBLE) return;
  ++m_stats.ksoftirqd_wakeups;
  try_to_wake_up(m_ksoftirqd);
}

void cpu::ksoftirqd_fn() {
  for (;;) {
    m_current->state = task_struct::TASK_INTERRUPTIBLE;  // set_current_state
    if (!softirq_pending()) schedule();
    m_current->state = task_struct::TASK_RUNNING;
    while (softirq_pending()) {  // run_ksoftirqd
      charge(cost::ksoftirqd_loop);
      local_irq_disable();
      if (softirq_pending()) do_softirq();
      local_irq_enable();
      cond_resched();
    }
  }
}

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
  p->vruntime = m_current->is_idle ? SC_ZERO_TIME : m_current->vruntime;
  enqueue(p);
  m_need_resched = true;
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
  while (t->on_cpu->m_current != t) sc_core::wait(t->run_ev);
  t->on_cpu->resume();
}

void cpu::idle_loop() {
  m_current->exec_start = clock_task();
  resume();
  for (;;) {
    while (!m_need_resched) {
      if (!m_irq_pending.empty()) {
        do_IRQ();
        continue;
      }
      sc_core::wait(m_irq_ev | m_resched_ev);
      resume();
    }
    schedule();
  }
}

// rq_clock_task with CONFIG_IRQ_TIME_ACCOUNTING (as distribution kernels build it): time
// spent in hard and soft interrupts is not charged to the task they interrupted.
sc_time cpu::clock_task() {
  account_until_now();
  return sc_time_stamp() - m_stats.time[static_cast<size_t>(cpu_ctx::hardirq)] -
         m_stats.time[static_cast<size_t>(cpu_ctx::softirq)];
}

void cpu::update_curr() {
  const sc_time now = clock_task();
  if (!m_current->is_idle) {
    m_current->vruntime += now - m_current->exec_start;
    m_current->sum_exec_runtime += now - m_current->exec_start;
  }
  m_current->exec_start = now;
  update_min_vruntime();
}

void cpu::update_min_vruntime() {
  bool any = false;
  sc_time v;
  if (!m_current->is_idle) {
    v = m_current->vruntime;
    any = true;
  }
  for (const task_struct* t : m_runqueue)
    if (!any || t->vruntime < v) {
      v = t->vruntime;
      any = true;
    }
  if (any) m_min_vruntime = std::max(m_min_vruntime, v);
}

void cpu::enqueue(task_struct* p) {
  if (p->on_rq || p->is_idle) return;
  p->on_rq = true;
  m_runqueue.push_back(p);
}

task_struct* cpu::pick_next() {
  if (m_runqueue.empty()) return m_idle;
  auto it =
      std::min_element(m_runqueue.begin(), m_runqueue.end(),
                       [](const task_struct* a, const task_struct* b) { return a->vruntime < b->vruntime; });
  task_struct* next = *it;
  m_runqueue.erase(it);
  next->on_rq = false;
  return next;
}

void cpu::schedule() {
  task_struct* prev = m_current;
  if (m_irqs_off != 0 || in_interrupt()) throw std::logic_error("schedule() in atomic context");
  update_curr();
  m_need_resched = false;
  if (prev->state == task_struct::TASK_RUNNING) enqueue(prev);
  if (m_runqueue.empty()) newidle_balance();
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
  m_current = next;
  // next's clock starts now, before anything below accounts runtime for it.
  next->exec_start = clock_task();
  next->prev_sum_exec_runtime = next->sum_exec_runtime;
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
  if (next->is_idle && !m_runqueue.empty()) m_need_resched = true;
  note_ctx();
  next->run_ev.notify();
  wait_for_cpu(prev);
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
  for (task_struct* t : m_runqueue)
    if (t->allowed_cpu < 0 && !t->is_ksoftirqd && t != m_current) return t;
  return nullptr;
}

void cpu::migrate_queued(task_struct* p, cpu* dst) {
  m_runqueue.erase(std::find(m_runqueue.begin(), m_runqueue.end(), p));
  p->on_rq = false;
  update_min_vruntime();
  dst->update_min_vruntime();
  p->vruntime = rebase_vruntime(p->vruntime, m_min_vruntime, dst->m_min_vruntime);
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
    c->m_need_resched = true;
    smp_send_reschedule(c);
  }
}

void cpu::newidle_balance() {
  cpu* busiest = nullptr;
  for (cpu* c : m_siblings)
    if (c != this && c->queued_migratable() != nullptr &&
        (busiest == nullptr || c->m_runqueue.size() > busiest->m_runqueue.size()))
      busiest = c;
  if (busiest != nullptr) busiest->migrate_queued(busiest->queued_migratable(), this);
}

void cpu::check_preempt_wakeup(task_struct* p) {
  if (m_current->is_idle) {
    m_need_resched = true;
    if (this == &this_cpu()) m_resched_ev.notify();  // a remote idle CPU needs the IPI
    return;
  }
  update_curr();
  if (m_current->vruntime > p->vruntime + sched_wakeup_granularity) m_need_resched = true;
}

// place_entity: a sleeper gets at most half a latency period of credit.
void cpu::place_entity(task_struct* p) {
  sc_time min_vruntime = m_current->is_idle ? p->vruntime : m_current->vruntime;
  for (const task_struct* t : m_runqueue) min_vruntime = std::min(min_vruntime, t->vruntime);
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

// try_to_wake_up (kernel/sched/core.c) in two halves. ttwu_locked is what the kernel does
// under p->pi_lock and the run queue's lock, where nothing sleeps: it takes no simulated
// time, so a wait-queue walk that calls it never yields while it holds an entry.
cpu* cpu::ttwu_locked(task_struct* p) {
  if (p->state != task_struct::TASK_INTERRUPTIBLE) return nullptr;
  p->state = task_struct::TASK_RUNNING;
  ++m_stats.wakeups;
  cpu* target = p->on_cpu;
  if (p != p->on_cpu->m_current) {  // not still on its way into schedule()
    target = select_task_rq(p);
    if (target != p->on_cpu) {
      // migrate_task_rq_fair: vruntime is relative to its run queue's min_vruntime, so
      // a task from a busier CPU does not wait there for everyone's runtime to catch up.
      cpu* from = p->on_cpu;
      from->update_min_vruntime();
      target->update_min_vruntime();
      p->vruntime = rebase_vruntime(p->vruntime, from->m_min_vruntime, target->m_min_vruntime);
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
  if (target != this && target->m_need_resched) smp_send_reschedule(target);
}

bool cpu::try_to_wake_up(task_struct* p) {
  cpu* target = ttwu_locked(p);
  if (target == nullptr) return false;
  ttwu_finish(target);
  return true;
}

void cpu::cond_resched() {
  if (m_need_resched) schedule();
}

void cpu::syscall_enter() {
  account_until_now();
  m_current->in_kernel = true;
  note_ctx();
  charge(cost::syscall);
}

void cpu::syscall_exit() {
  // exit_to_user_mode_loop: reschedule before returning to user space.
  while (m_need_resched) {
    schedule();
    if (s_this != this) {  // it was moved while preempted: return from the CPU it is on now
      s_this->syscall_exit();
      return;
    }
  }
  account_until_now();
  m_current->in_kernel = false;
  note_ctx();
}

}  // namespace nicsim::host
