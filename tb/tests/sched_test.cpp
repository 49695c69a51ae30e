// The fair class per kernel profile: CFS (host.kernel=6.1) and EEVDF (6.6, 6.12) as
// kernel/sched/fair.c has them. Each test runs the same tasks under both policies and checks
// the rule that tells them apart, so none of them passes on CFS alone.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "host/cost_table.h"
#include "host/kernel/cpu.h"
#include "host/kernel/version.h"
#include "tb/system_top.h"

using namespace nicsim::host;
using sc_core::SC_MS;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {
const cost_table& costs() {
  static const cost_table t = cost_table::defaults(3.0);
  return t;
}
void block(cpu& c) {
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
  c.schedule();
}
double us(sc_time t) { return t.to_seconds() * 1e6; }

// Two busy tasks on c.
std::pair<task_struct*, task_struct*> two_busy_tasks(cpu& c) {
  auto busy = [&c] {
    for (;;) c.charge(sc_time(50, SC_US));
  };
  const std::string n = c.basename();
  return {c.kthread_create(n + "_a", busy), c.kthread_create(n + "_b", busy)};
}

// A runs without a break on c; B (created first, so it runs and blocks before A has run: no
// lag) wakes at wake_at (from an hrtimer, in hard IRQ context)
// after sleeping; before that (first_run > 0) it is woken at 2.5 ms and runs first_run.
// One simulation runs the EEVDF and the CFS CPU side by side (SystemC elaborates once).
struct wake_probe {
  sc_time woken_at, ran_at;        // the wake-up under test and B's first run after it
  sc_time b_vruntime, a_vruntime;  // right after B's placement
  int64_t b_vlag = 0;              // B's lag when it went to sleep
  bool preempted_at_wakeup = false;
  task_struct* a = nullptr;
  task_struct* b = nullptr;
  void setup(cpu& c, sc_time wake_at, sc_time first_run) {
    b = c.kthread_create(std::string(c.basename()) + "_b", [this, &c, wake_at, first_run] {
      if (first_run > sc_core::SC_ZERO_TIME) {
        c.hrtimer_start(sc_time(2.5, SC_MS) - sc_core::sc_time_stamp(), [this, &c] { c.try_to_wake_up(b); });
        block(c);
        c.charge(first_run);
      }
      c.hrtimer_start(wake_at - sc_core::sc_time_stamp(), [this, &c] {
        b_vlag = b->vlag;
        woken_at = sc_core::sc_time_stamp();
        EXPECT_TRUE(c.try_to_wake_up(b));
        b_vruntime = b->vruntime;
        a_vruntime = a->vruntime;
        preempted_at_wakeup = c.need_resched();
      });
      block(c);
      ran_at = sc_core::sc_time_stamp();
      for (;;) block(c);
    });
    a = c.kthread_create(std::string(c.basename()) + "_a", [&c] {
      for (;;) c.charge(sc_time(10, SC_US));
    });
  }
};
struct eevdf_and_cfs {
  cpu e{"eevdf", 0, costs()};
  cpu f{"cfs", 0, costs()};  // id 0 too: each CPU is alone (its own siblings)
  eevdf_and_cfs() {
    e.set_eevdf(true);
    f.set_eevdf(false);
  }
};
}  // namespace

// update_deadline (kernel/sched/fair.c, v6.6): a task that has run its request
// (sysctl_sched_base_slice, 0.75 ms) gets a new deadline and the CPU is rescheduled at the next
// tick; CFS's check_preempt_tick (v6.1) lets it run sched_latency / nr_running = 3 ms.
TEST(sched_eevdf, update_deadline_at_the_tick_reschedules_after_the_base_slice_v6_6) {
  eevdf_and_cfs m;
  const auto [ea, eb] = two_busy_tasks(m.e);
  const auto [fa, fb] = two_busy_tasks(m.f);
  sc_core::sc_start(sc_time(20, SC_MS));
  nicsim::tb::unwind_threads();
  for (const task_struct* t : {ea, fa})  // both share evenly
    EXPECT_NEAR(t->sum_exec_runtime.to_seconds(), 0.010, 0.002) << t->on_cpu->name();
  const uint64_t eevdf = ea->nivcsw + eb->nivcsw, cfs = fa->nivcsw + fb->nivcsw;
  // 20 ms of 1 ms ticks: about one switch per tick on EEVDF, one per 3-4 ms on CFS.
  EXPECT_GE(eevdf, 15u);
  EXPECT_LE(cfs, 8u);
}

// check_preempt_wakeup (v6.6): the woken task preempts only if pick_eevdf would pick it. B
// slept with no lag, so place_entity puts it at V with a full slice to its deadline, later
// than A's (renewed at the last tick): A keeps the CPU until its own deadline passes. CFS
// (check_preempt_wakeup, v6.1) gives the sleeper sched_latency / 2 of credit, more than the
// wake-up granularity, and B preempts at once.
TEST(sched_eevdf, a_woken_task_without_lag_waits_for_the_earlier_deadline_pick_eevdf_v6_6) {
  const sc_time wake_at(5.3, SC_MS);
  eevdf_and_cfs m;
  wake_probe e, f;
  e.setup(m.e, wake_at, sc_core::SC_ZERO_TIME);
  f.setup(m.f, wake_at, sc_core::SC_ZERO_TIME);
  sc_core::sc_start(wake_at + sc_time(3, SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_FALSE(e.preempted_at_wakeup);
  EXPECT_GT(us(e.ran_at - e.woken_at), 200.0);  // until the tick after A's deadline
  EXPECT_LT(us(e.ran_at - e.woken_at), 1100.0);
  EXPECT_NEAR(us(e.b_vruntime), us(e.a_vruntime), 1.0);  // lag 0: placed at V
  EXPECT_TRUE(f.preempted_at_wakeup);
  EXPECT_LT(us(f.ran_at - f.woken_at), 50.0);
  EXPECT_GE(us(f.a_vruntime - f.b_vruntime), 2999.0);  // CFS: half of sched_latency of credit
}

// place_entity with PLACE_LAG (v6.6): B went to sleep having run less than its share
// (update_entity_lag: positive lag); it comes back at V - lag * (W + w) / W, ahead of A,
// eligible with the earlier deadline, and preempts at once.
TEST(sched_eevdf, a_woken_task_keeps_its_lag_and_preempts_place_entity_v6_6) {
  const sc_time wake_at(5.05, SC_MS);
  eevdf_and_cfs m;
  wake_probe e, f;
  e.setup(m.e, wake_at, sc_time(100, SC_US));
  f.setup(m.f, wake_at, sc_time(100, SC_US));
  sc_core::sc_start(wake_at + sc_time(3, SC_MS));
  nicsim::tb::unwind_threads();
  ASSERT_GT(e.b_vlag, 0) << "B must have slept owed CPU time";
  // V is A's vruntime (A alone on the run queue), one task: the lag counts twice.
  EXPECT_NEAR(us(e.a_vruntime - e.b_vruntime), 2 * us(sc_time::from_value(static_cast<uint64_t>(e.b_vlag))),
              1.0);
  EXPECT_TRUE(e.preempted_at_wakeup);
  EXPECT_LT(us(e.ran_at - e.woken_at), 50.0);
  EXPECT_EQ(f.b_vlag, 0);  // CFS keeps no lag
}

// entity_eligible (v6.6): a task whose vruntime is above the average is not eligible, however
// early its deadline; with RUN_TO_PARITY the current task keeps the CPU while eligible and on
// the deadline it was picked with. Shown on three busy tasks: EEVDF shares the CPU evenly in
// runs of about one tick, each task's vruntime stays within a slice and a tick of the others'.
TEST(sched_eevdf, three_busy_tasks_take_turns_of_one_slice_entity_eligible_v6_6) {
  cpu c("cpu", 0, costs());
  c.set_eevdf(true);
  task_struct* last = nullptr;
  int turns = 0;
  auto busy = [&c, &last, &turns] {
    for (;;) {
      if (c.current() != last) {
        ++turns;
        last = c.current();
      }
      c.charge(sc_time(20, SC_US));
    }
  };
  task_struct* t[3] = {c.kthread_create("a", busy), c.kthread_create("b", busy), c.kthread_create("c", busy)};
  sc_core::sc_start(sc_time(30, SC_MS));
  nicsim::tb::unwind_threads();
  for (task_struct* p : t) {
    EXPECT_NEAR(p->sum_exec_runtime.to_seconds(), 0.010, 0.0015) << p->comm;
    // Every task's vruntime stays within a slice and a tick of the others' (lag is bounded).
    for (task_struct* q : t)
      EXPECT_LT(us(p->vruntime > q->vruntime ? p->vruntime - q->vruntime : q->vruntime - p->vruntime),
                1800.0);
  }
  EXPECT_GE(turns, 25);  // about one turn per tick
}

// The profiles (host/kernel/version.h): 6.1 schedules with CFS, 6.6 and 6.12 with EEVDF
// (147f3efaa241, v6.6-rc1), and host_system hands that to every CPU.
TEST(sched_eevdf, the_kernel_profile_chooses_the_policy_147f3efaa241_v6_6) {
  EXPECT_FALSE(make_kernel_profile(kernel_version::v6_1).eevdf);
  EXPECT_TRUE(make_kernel_profile(kernel_version::v6_6).eevdf);
  EXPECT_TRUE(make_kernel_profile(kernel_version::v6_12).eevdf);
  EXPECT_TRUE(kernel_profile{}.eevdf);  // the default profile is 6.6
}

// get_update_sysctl_factor (kernel/sched/fair.c, v6.1 and v6.6; SCHED_TUNABLESCALING_LOG):
// the tunables scale with 1 + ilog2(min(online CPUs, 8)), so on two CPUs EEVDF's base slice is
// 1.5 ms and a busy pair switches half as often as on one.
TEST(sched_eevdf, the_base_slice_scales_with_one_plus_ilog2_of_the_cpus_update_sysctl_v6_6) {
  cpu one{"one", 0, costs()};
  cpu two{"two", 0, costs()};
  for (const auto& [cpus, factor] : std::initializer_list<std::pair<unsigned, unsigned>>{
           {1, 1}, {2, 2}, {3, 2}, {4, 3}, {8, 4}, {64, 4}}) {
    two.set_sched_tunable_factor(cpus);
    EXPECT_EQ(two.sched_tunable_factor(), factor) << cpus;
  }
  one.set_sched_tunable_factor(1);
  two.set_sched_tunable_factor(2);
  EXPECT_EQ(two.sched_base_slice(), sc_time(1.5, SC_MS));
  EXPECT_EQ(two.sched_latency(), sc_time(12, SC_MS));
  const auto [oa, ob] = two_busy_tasks(one);
  const auto [ta, tb] = two_busy_tasks(two);
  sc_core::sc_start(sc_time(20, SC_MS));
  nicsim::tb::unwind_threads();
  const uint64_t switches_one = oa->nivcsw + ob->nivcsw, switches_two = ta->nivcsw + tb->nivcsw;
  EXPECT_GE(switches_one, 15u);  // a new deadline every 0.75 ms, noticed at the 1 ms tick
  EXPECT_LE(switches_two, 11u);  // every 1.5 ms: at every second tick
  EXPECT_GE(switches_two, 7u);
}
