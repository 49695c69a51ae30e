#pragma once
// One CPU of the host. The CPU is a token: whoever holds it runs, and every
// piece of kernel or user code runs in the SystemC thread of the task that
// holds it, calling charge() for the time it spends. A hard IRQ runs on top of
// whoever is running (inside their charge(), on their "stack"), then the rest
// of the charge resumes; pending softirqs run at irq_exit when not nested.
// Tasks are scheduled on the token with a context-switch cost on every switch.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "host/cost_table.h"
#include "host/kernel/sched/sched.h"
#include "host/kernel/softirq.h"
#include "host/kernel/time/hrtimer.h"
#include "host/kernel/time/timer.h"
#include "tlm/local_time.h"
#include "waves/observer.h"

namespace nicsim::host {

// /proc/stat-like buckets (ksoftirqd kept apart from softirq-on-irq-exit).
enum class cpu_ctx : unsigned { user, system, hardirq, softirq, ksoftirqd, idle, count_ };
inline constexpr size_t cpu_ctx_count = static_cast<size_t>(cpu_ctx::count_);
const char* cpu_ctx_name(cpu_ctx c);

class cpu;

struct cpu_stats {
  std::array<sc_core::sc_time, cpu_ctx_count> time{};
  uint64_t context_switches = 0;
  uint64_t wakeups = 0;  // successful try_to_wake_up
  uint64_t ksoftirqd_wakeups = 0;
  uint64_t ipis_sent = 0;      // reschedule IPIs to other CPUs
  uint64_t ipis_received = 0;  // /proc/interrupts RES
  uint64_t hardirqs = 0;
  std::array<uint64_t, NR_SOFTIRQS> softirqs{};  // /proc/softirqs
  std::vector<uint64_t> irq_counts;              // /proc/interrupts per vector
};

class cpu : public sc_core::sc_module {
 public:
  cpu(const sc_core::sc_module_name& name, int id, const cost_table& costs);

  int id() const { return m_id; }
  const cost_table& costs() const { return m_costs; }

  // ---- time
  // The running context spends t. Interruptible by hard IRQs unless they are off.
  void charge(sc_core::sc_time t);
  void charge(cost c, uint64_t bytes = 0) { charge(m_costs(c, bytes)); }
  // A stall that no interrupt can break (an uncached load waiting for its completion).
  void stall(sc_core::sc_time t);
  // The running CPU thread waits for the time it has charged and not yet waited for
  // (tlm/local_time.h). Every wait, event notification and device access of the CPU
  // threads' code calls it first; a no-op when nothing is owed.
  static void sync_time();

  // ---- hard IRQs
  using irq_handler = std::function<void(unsigned vector)>;
  void request_irq(unsigned vector, irq_handler handler, const char* name = "irq");
  void raise_irq(unsigned vector);  // from the interrupt controller (any process)
  bool irqs_disabled() const { return m_irqs_off > 0; }
  void local_irq_disable() { ++m_irqs_off; }
  void local_irq_enable() { --m_irqs_off; }

  // ---- softirqs
  void open_softirq(softirq_nr nr, std::function<void()> action);
  void raise_softirq(softirq_nr nr) {
    m_softirq.pending |= 1u << nr;
    m_probe.softirq_pending(m_softirq.pending);
  }
  bool softirq_pending() const { return m_softirq.pending != 0; }
  bool in_hardirq() const { return m_hardirq_depth > 0; }
  bool in_serving_softirq() const { return m_softirq.depth > 0; }
  // in_interrupt (include/linux/preempt.h, v6.6): irq_count(), whose SOFTIRQ_MASK part counts
  // both a running softirq and local_bh_disable sections.
  bool in_interrupt() const { return in_hardirq() || in_serving_softirq() || m_bh_disabled > 0; }
  // local_bh_disable / local_bh_enable in process context (kernel/softirq.c, v6.6,
  // !PREEMPT_RT): while disabled, irq_exit runs no softirq (in_interrupt() holds);
  // __local_bh_enable_ip then runs what is pending through do_softirq, in the task's context.
  void local_bh_disable() { ++m_bh_disabled; }
  void local_bh_enable();
  void set_max_softirq_time(sc_core::sc_time t) { m_softirq.max_time = t; }
  // Kernels 4.9 - 6.4 (kernel_profile::ksoftirqd_running_defers): invoke_softirq leaves the
  // pending softirqs to ksoftirqd while it is runnable.
  void set_ksoftirqd_running_defers(bool on) { m_softirq.ksoftirqd_running_defers = on; }
  // ksoftirqd_running (kernel/softirq.c, v4.9 - v6.4): ksoftirqd is TASK_RUNNING and none of
  // the pending softirqs is in SOFTIRQ_NOW_MASK (HI, TASKLET; the model raises neither).
  bool ksoftirqd_running() const;
  // The fair class's policy: EEVDF (v6.6+, the default) or CFS (kernel_profile::eevdf false,
  // 6.1). Set before the simulation starts.
  void set_eevdf(bool on) { m_eevdf = on; }
  bool eevdf() const { return m_eevdf; }
  // The scheduler tunables' scale, 1 + ilog2(min(online CPUs, 8)) (update_sysctl). Set before
  // the simulation starts; 1 (one CPU) until then.
  void set_sched_tunable_factor(unsigned online_cpus);
  unsigned sched_tunable_factor() const { return m_sched_factor; }
  sc_core::sc_time sched_latency() const;             // sysctl_sched_latency (CFS)
  sc_core::sc_time sched_min_granularity() const;     // sysctl_sched_min_granularity (CFS)
  sc_core::sc_time sched_wakeup_granularity() const;  // sysctl_sched_wakeup_granularity (CFS)
  sc_core::sc_time sched_base_slice() const;          // sysctl_sched_base_slice (EEVDF)
  // The scheduler tick (local APIC timer) at HZ, on every CPU that is not idle (NO_HZ_IDLE).
  static constexpr unsigned LOCAL_TIMER_VECTOR = 0xEC;
  static constexpr unsigned RESCHEDULE_VECTOR = 0xFD;
  static constexpr unsigned HRTIMER_VECTOR =
      0xEB;  // high-resolution timers (the local APIC in one-shot mode)
  // hrtimer_start: fn runs in hard IRQ context on this CPU after delay.
  void hrtimer_start(sc_core::sc_time delay, std::function<void()> fn);
  // This CPU's timer wheel (kernel/time/timer.c: per-CPU timer_bases); see timer.h.
  timer_base& timers() { return m_timer_base; }
  // The CPU whose code is executing now (the kernel's smp_processor_id()).
  static cpu& this_cpu() { return *s_this; }
  // All CPUs of the machine, for wake-ups across them (set once by the host).
  void set_siblings(const std::vector<cpu*>& all) { m_siblings = all; }
  bool idle() const { return m_rq.curr->is_idle && m_rq.cfs.tasks.empty(); }
  // This CPU's code runs again after a wait outside the CPU model (an MMIO read).
  void resume() { s_this = this; }
  sc_core::sc_time tick() const { return m_tick; }  // 1/HZ
  void set_hz(unsigned hz) { m_tick = sc_core::sc_time(1.0 / hz, sc_core::SC_SEC); }
  // The jiffies counter: ticks of 1/HZ since boot.
  uint64_t jiffies() const { return tlm::local_now().value() / m_tick.value(); }
  uint64_t usecs_to_jiffies(double usecs) const;

  // ---- tasks and the scheduler
  // A task on this CPU's run queue; pinned to it unless allowed_cpu says -1 (free).
  task_struct* kthread_create(const std::string& comm, std::function<void()> body, bool pinned = true);
  task_struct* current() const { return m_rq.curr; }
  // The current task gives up the CPU. Its state says whether it stays runnable.
  void schedule();
  // Returns true when p was sleeping and is now runnable (and charges the waker).
  // Equal to ttwu_finish(ttwu_locked(p)) when ttwu_locked finds p asleep.
  bool try_to_wake_up(task_struct* p);
  // try_to_wake_up's work under its locks, in zero simulated time (it never yields):
  // p's state, the CPU it will run on, the enqueue and the preemption check. Returns
  // that CPU, or nullptr when p was not sleeping. For wake functions inside a
  // wait-queue walk, which must pay with ttwu_finish after the walk.
  cpu* ttwu_locked(task_struct* p);
  // The current CPU's time for one wake-up ttwu_locked made, then the reschedule IPI
  // it owes target. May yield: call it with no wait-queue entry in hand.
  void ttwu_finish(cpu* target);
  bool need_resched() const { return m_rq.need_resched; }
  void cond_resched();
  // Enter/leave a syscall: accounting moves between user and system time.
  void syscall_enter();
  void syscall_exit();
  void wakeup_softirqd();

  const cpu_stats& stats() const;  // accounting brought up to now
  uint64_t nr_running() const { return m_rq.cfs.tasks.size() + (m_rq.curr->is_idle ? 0 : 1); }
  const std::vector<std::unique_ptr<task_struct>>& tasks() const { return m_tasks; }

  // ---- observation (waves, timeline); nullptr when nothing records
  void attach(waves::observer* o);
  waves::observer* observer() const { return m_obs; }
  int track() const { return m_track; }  // this CPU's timeline track

 private:
  void idle_loop();
  void tick_thread();
  void scheduler_tick();
  void ksoftirqd_fn();
  void task_trampoline(task_struct* t);
  void do_IRQ();
  void do_softirq();  // __do_softirq
  cpu_ctx current_ctx() const;
  void account_until_now();
  void update_curr();
  void enqueue(task_struct* p);
  task_struct* pick_next();
  void check_preempt_wakeup(task_struct* p);
  void wait_for_cpu(task_struct* t);
  void note_ctx();
  cpu* select_task_rq(task_struct* p);
  void place_entity(task_struct* p, bool initial = false);
  // EEVDF (kernel/sched/fair.c, v6.6). The running task counts in the run queue's average
  // while it is runnable and not on the list (cfs_curr).
  task_struct* cfs_curr() const;
  sc_core::sc_time avg_vruntime(const task_struct* also = nullptr) const;
  bool entity_eligible(const task_struct* se) const;
  task_struct* pick_eevdf() const;
  void update_deadline(task_struct* se);
  void update_entity_lag(task_struct* se);
  void place_entity_eevdf(task_struct* p, bool initial);
  // cfs_rq->min_vruntime: never goes back; a migrating task's vruntime is rebased on it.
  void update_min_vruntime();
  sc_core::sc_time clock_task();
  task_struct* queued_migratable() const;
  static sc_core::sc_time rebase_vruntime(sc_core::sc_time v, sc_core::sc_time from_min,
                                          sc_core::sc_time to_min);
  void migrate_queued(task_struct* p, cpu* dst);
  void trigger_load_balance();
  void newidle_balance();
  void smp_send_reschedule(cpu* target);
  void ipi_method();
  void hrtimer_method();
  void hrtimer_interrupt();
  void note_task(task_struct* t, const char* state);
  void attach_task(task_struct* t);

  int m_id;
  const cost_table& m_costs;
  struct rq m_rq;  // curr, idle, the CFS tasks, need_resched
  task_struct* m_ksoftirqd = nullptr;
  std::vector<std::unique_ptr<task_struct>> m_tasks;

  unsigned m_irqs_off = 0;
  unsigned m_hardirq_depth = 0;
  unsigned m_bh_disabled = 0;  // SOFTIRQ_DISABLE_OFFSET units of preempt_count
  softirq_state m_softirq;
  bool m_eevdf = true;
  unsigned m_sched_factor = 1;
  std::vector<irq_handler> m_irq_handlers;
  std::vector<const char*> m_irq_names;
  std::vector<unsigned> m_irq_pending;  // vectors raised and not yet taken, in order
  sc_core::sc_event m_irq_ev;
  sc_core::sc_event m_resched_ev;
  // A charge that an interrupt may cut short waits on this one event, notified for the
  // charge's end and, by raise_irq, at once: cheaper than a wait for a time or m_irq_ev (no
  // timeout event, no second event to leave), and the same wake-ups at the same times.
  sc_core::sc_event m_charge_ev;
  bool m_charge_waiting = false;
  // What wakes the idle loop (m_irq_ev | m_resched_ev), built once: a list made for each wait
  // allocates.
  sc_core::sc_event_or_list m_idle_wake;
  bool m_in_switch = false;
  sc_core::sc_time m_tick{1, sc_core::SC_MS};  // 1/HZ

  mutable cpu_stats m_stats;
  mutable sc_core::sc_time m_accounted_to{sc_core::SC_ZERO_TIME};
  int m_next_pid = 1;

  waves::observer* m_obs = nullptr;
  int m_track = -1;
  std::vector<cpu*> m_siblings;
  sc_core::sc_event m_ipi_ev;
  hrtimer_cpu_base m_hrtimer_base;
  timer_base m_timer_base;
  // The CPU whose code runs now. SystemC runs one process at a time, and every wait in
  // the CPU model sets it again when it returns (resume), so it is what the kernel's
  // per-CPU register (%gs) is on one core. Deriving it from the running task instead
  // would need a process-to-task lookup on every access, and code outside any task
  // (the tests' threads, SC_METHODs) has no task to derive it from.
  static cpu* s_this;
  struct {
    waves::text_probe ctx, current;
    waves::probe softirq_pending, need_resched;
  } m_probe;
};

}  // namespace nicsim::host
