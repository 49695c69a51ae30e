// The CPU token (model machinery, no kernel counterpart): the running context's charge()
// and stall(), the per-CPU state it holds, and its observation. cpu::this_cpu() is the
// kernel's smp_processor_id()/this_cpu_ptr (include/linux/smp.h, v6.x).
#include "host/kernel/cpu.h"

#include <algorithm>

#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

cpu* cpu::s_this = nullptr;

cpu::cpu(const sc_core::sc_module_name& name, int id, const cost_table& costs)
    : sc_core::sc_module(name), m_id(id), m_costs(costs) {
  m_idle_wake |= m_irq_ev;
  m_idle_wake |= m_resched_ev;
  auto idle = std::make_unique<task_struct>();
  idle->comm = "swapper/" + std::to_string(id);
  idle->pid = 0;
  idle->is_idle = true;
  idle->on_cpu = this;
  idle->allowed_cpu = id;
  idle->in_kernel = true;
  m_rq.idle = idle.get();
  m_rq.curr = m_rq.idle;
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
  sensitive << m_hrtimer_base.next_event;
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
  o->begin(m_track, m_rq.curr->comm.c_str());
  note_ctx();
}

void cpu::attach_task(task_struct* t) {
  if (m_obs == nullptr) return;
  t->track = m_obs->track("tasks", t->comm);
  std::string scope = t->comm;  // "ksoftirqd/0" → "ksoftirqd_0": a wave scope has no slashes
  std::replace(scope.begin(), scope.end(), '/', '_');
  std::replace(scope.begin(), scope.end(), ':', '_');
  t->state_probe.attach(m_obs, "host.task_state." + scope);
  t->state_probe(t == m_rq.curr ? "running" : t->state == task_struct::TASK_RUNNING ? "runnable" : "blocked");
}

void cpu::note_ctx() {
  if (m_obs == nullptr) return;
  m_probe.ctx(cpu_ctx_name(current_ctx()));
  m_probe.current(m_rq.curr->comm.c_str());
  m_probe.softirq_pending(m_softirq.pending);
  m_probe.need_resched(m_rq.need_resched);
}

void cpu::note_task(task_struct* t, const char* state) {
  if (m_obs) t->state_probe(state);
}

// ---------------------------------------------------------------- time

void cpu::charge(sc_time t) {
  if (t == SC_ZERO_TIME) return;
  sc_time& owed = tlm::decoupling::offset;
  const bool irq_due = m_irqs_off == 0 && !m_irq_pending.empty();
  // Nothing can happen before this charge ends: run on (tlm/local_time.h).
  if (!irq_due && tlm::decoupling::may_defer(t)) {
    owed += t;
    ++tlm::decoupling::deferred;
    return;
  }
  // Otherwise wait for what was deferred and this charge in one wait: nothing could
  // arrive during the deferred part, so an interrupt finds the same state at the same time.
  if (irq_due)
    sync_time();
  else {
    t += owed;
    owed = SC_ZERO_TIME;
  }
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
    // What the interrupt's handlers charged and did not wait for comes first.
    t += owed;
    owed = SC_ZERO_TIME;
    const sc_time start = tlm::sim_now();
    ++tlm::decoupling::waited;
    if (m_irqs_off == 0) {
      m_charge_ev.notify(t);
      m_charge_waiting = true;
      sc_core::wait(m_charge_ev);
      m_charge_waiting = false;
    } else {
      sc_core::wait(t);
    }
    resume();
    const sc_time ran = tlm::sim_now() - start;
    t = ran >= t ? SC_ZERO_TIME : t - ran;
  }
}

void cpu::stall(sc_time t) {
  t += tlm::decoupling::take();
  if (t > SC_ZERO_TIME) sc_core::wait(t);
  resume();
}

void cpu::sync_time() {
  if (tlm::decoupling::offset == SC_ZERO_TIME) return;
  cpu* const self = s_this;
  sc_core::wait(tlm::decoupling::take());
  s_this = self;
}
}  // namespace nicsim::host
