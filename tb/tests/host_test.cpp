// Kernel-path mechanisms on a bare CPU: charges under interrupts, softirq
// hand-over to ksoftirqd, NAPI budget rules, wait queue exclusivity.
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "host/cost_table.h"
#include "host/kernel/cpu.h"
#include "host/kernel/sched/wait.h"
#include "host/net/netstack.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/system_top.h"
#include "tlm/host_memory.h"

using namespace nicsim::host;
using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {
const cost_table& costs() {
  static const cost_table t = cost_table::defaults(3.0);
  return t;
}
// The default cost table with one step's cycles replaced (key as costs.yaml spells it).
cost_table costs_with(const std::string& key, const std::string& cycles) {
  std::string yaml = cost_table::default_yaml();
  const size_t at = yaml.find("{cycles:", yaml.find("\n" + key + ":"));
  yaml.replace(at, yaml.find('}', at) + 1 - at, "{cycles: " + cycles + "}");
  return cost_table::parse(yaml, "test_costs.yaml", 3.0);
}
// A test task's last act: it sleeps and is never woken.
void sleep_forever(cpu& c) {
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
  c.schedule();
}
// Raises vector on c at time t from outside the CPU (as the APIC does).
void raise_at(cpu& c, unsigned vector, sc_time t) {
  sc_core::sc_spawn([&c, vector, t] {
    sc_core::wait(t);
    c.raise_irq(vector);
  });
}
}  // namespace

TEST(host_cpu, hard_irq_interrupts_a_charge_which_then_resumes_its_remaining_time) {
  cpu c("cpu", 0, costs());
  sc_time done;
  sc_time handler_at;
  c.request_irq(0x30, [&](unsigned) {
    handler_at = sc_core::sc_time_stamp();
    c.charge(sc_time(1, SC_US));
  });
  c.kthread_create("worker", [&] {
    const sc_time start = sc_core::sc_time_stamp();
    c.charge(sc_time(10, SC_US));
    done = sc_core::sc_time_stamp() - start;
    sleep_forever(c);
  });
  raise_at(c, 0x30, sc_time(6, SC_US));
  sc_core::sc_start(sc_time(100, SC_US));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  ASSERT_GT(handler_at, sc_time(6, SC_US) - sc_time(1, SC_NS));
  // The worker's 10 µs, plus the IRQ entry and the handler's 1 µs on top of it.
  EXPECT_EQ(done, sc_time(10, SC_US) + costs()(cost::irq_entry) + sc_time(1, SC_US));
  EXPECT_EQ(c.stats().hardirqs, 1u);
  EXPECT_EQ(c.stats().time[static_cast<size_t>(cpu_ctx::hardirq)],
            costs()(cost::irq_entry) + sc_time(1, SC_US));
}

TEST(host_cpu, interrupts_off_delays_the_irq_until_they_are_on) {
  cpu c("cpu", 0, costs());
  sc_time handler_at = sc_core::SC_ZERO_TIME;
  c.request_irq(0x30, [&](unsigned) { handler_at = sc_core::sc_time_stamp(); });
  c.kthread_create("worker", [&] {
    c.local_irq_disable();
    c.charge(sc_time(10, SC_US));
    c.local_irq_enable();
    c.charge(sc_time(1, SC_US));
    sleep_forever(c);
  });
  raise_at(c, 0x30, sc_time(2, SC_US));
  sc_core::sc_start(sc_time(100, SC_US));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_GE(handler_at, sc_time(10, SC_US));
}

TEST(host_cpu, softirq_restarts_ten_times_then_wakes_ksoftirqd) {
  cpu c("cpu", 0, costs());
  int on_irq_exit = 0, in_ksoftirqd = 0;
  c.open_softirq(NET_RX_SOFTIRQ, [&] {
    (c.current()->is_ksoftirqd ? in_ksoftirqd : on_irq_exit)++;
    if (on_irq_exit + in_ksoftirqd < 50) c.raise_softirq(NET_RX_SOFTIRQ);  // always more work
    c.charge(sc_time(100, SC_NS));
  });
  c.request_irq(0x30, [&](unsigned) { c.raise_softirq(NET_RX_SOFTIRQ); });
  raise_at(c, 0x30, sc_time(5, SC_US));
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(on_irq_exit, 10);    // MAX_SOFTIRQ_RESTART passes in __do_softirq
  EXPECT_EQ(in_ksoftirqd, 40);
  EXPECT_EQ(c.stats().ksoftirqd_wakeups, 1u);
  EXPECT_GT(c.stats().time[static_cast<size_t>(cpu_ctx::ksoftirqd)], sc_core::SC_ZERO_TIME);
}

TEST(host_cpu, softirq_time_limit_hands_over_before_ten_passes) {
  cpu c("cpu", 0, costs());
  int on_irq_exit = 0;
  c.set_max_softirq_time(sc_time(2, sc_core::SC_MS));
  c.open_softirq(NET_RX_SOFTIRQ, [&] {
    if (!c.current()->is_ksoftirqd) ++on_irq_exit;
    c.raise_softirq(NET_RX_SOFTIRQ);
    c.charge(sc_time(700, SC_US));  // three passes exceed MAX_SOFTIRQ_TIME
  });
  c.request_irq(0x30, [&](unsigned) { c.raise_softirq(NET_RX_SOFTIRQ); });
  raise_at(c, 0x30, sc_time(5, SC_US));
  sc_core::sc_start(sc_time(5, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(on_irq_exit, 3);
  EXPECT_EQ(c.stats().ksoftirqd_wakeups, 1u);
}

TEST(host_wait_queue, nr_exclusive_limits_only_exclusive_waiters) {
  wait_queue_head wq;
  std::vector<std::string> woken;
  wait_queue_entry a, b, c, d;
  auto waker = [&woken](const std::string& name) {
    return [&woken, name](wait_queue_entry&, ttwu_batch&) {
      woken.push_back(name);
      return 1;
    };
  };
  a.func = waker("excl-a");
  b.func = waker("excl-b");
  c.func = waker("shared-c");
  d.func = waker("shared-d");
  add_wait_queue_exclusive(wq, a);
  add_wait_queue_exclusive(wq, b);
  add_wait_queue(wq, c);  // non-exclusive waiters go to the head
  add_wait_queue(wq, d);
  ttwu_batch done;
  EXPECT_EQ(__wake_up_common(wq, 1, done), 3);
  EXPECT_EQ(woken, (std::vector<std::string>{"shared-d", "shared-c", "excl-a"}));
}

TEST(host_wait_queue, exclusive_reader_wait_wakes_one_task_per_wake_up) {
  cpu c("cpu", 0, costs());
  wait_queue_head wq;
  int woke = 0;
  for (int i = 0; i < 3; ++i)
    c.kthread_create("reader" + std::to_string(i), [&] {
      wait_queue_entry w;
      init_wait(w, c);
      prepare_to_wait_exclusive(wq, w, c);
      c.schedule();
      finish_wait(w, c);
      ++woke;
      sleep_forever(c);
    });
  c.kthread_create("waker", [&] {
    c.charge(sc_time(10, SC_US));
    __wake_up(wq, 1);
    sleep_forever(c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(woke, 1);
  EXPECT_EQ(wq.head.size(), 2u);
}

namespace {
struct dma_stub : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<dma_stub> socket{"socket"};
  explicit dma_stub(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};
struct napi_bench {
  nicsim::tlm::host_memory mem{"mem", 1 << 20, sc_core::SC_ZERO_TIME};
  dma_stub dma{"dma"};
  napi_bench() { dma.socket.bind(mem.socket); }
  cpu c{"cpu", 0, costs()};
  skb_cache skbs;
  rx_buffer_pool buffers{mem, 0x10000, 2048, 16};
  netstack stack{{&c}, skbs, buffers, nullptr, netstack_params{}};
  // From a task: schedules every instance, runs one net_rx_action, then sleeps.
  void one_net_rx_action(std::vector<napi_struct>& n) {
    c.kthread_create("t", [this, &n] {
      for (auto& i : n) {
        ASSERT_TRUE(stack.core().napi_schedule_prep(i));
        stack.core().__napi_schedule(i);
      }
      stack.core().net_rx_action();
      sleep_forever(c);
    });
  }
};

// Two CPUs that know each other, for wake-ups and migrations between them.
struct two_cpus {
  cpu c0{"cpu0", 0, costs()};
  cpu c1{"cpu1", 1, costs()};
  two_cpus() {
    const std::vector<cpu*> all{&c0, &c1};
    c0.set_siblings(all);
    c1.set_siblings(all);
  }
};

// From a task on waker: waits until blocked_at is set (a task has called schedule()), then
// half a context switch more, so that the caller acts while that switch is in progress.
void wait_until_inside_the_switch(cpu& waker, const sc_time& blocked_at) {
  while (blocked_at == sc_core::SC_ZERO_TIME) waker.charge(sc_time(10, SC_NS));
  waker.charge(costs()(cost::context_switch) / 2);
}
}  // namespace

TEST(host_napi, poll_using_whole_weight_is_requeued_and_softirq_raised_again) {
  napi_bench b;
  napi_struct n;
  n.weight = 64;
  n.poll = [](napi_struct&, int budget) { return budget; };  // endless work: never completes
  b.c.kthread_create("t", [&] {
    ASSERT_TRUE(b.stack.core().napi_schedule_prep(n));
    b.stack.core().__napi_schedule(n);
    b.stack.core().net_rx_action();
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  // One pass over the list per net_rx_action: the instance goes to repoll, not round again.
  EXPECT_EQ(n.polls, 1u);
  EXPECT_EQ(b.stack.core().softnet(0).time_squeeze, 0u);
  EXPECT_TRUE(n.sched);
  ASSERT_EQ(b.stack.core().softnet(0).poll_list.size(), 1u);
  EXPECT_TRUE(b.c.softirq_pending());
}

TEST(host_napi, netdev_budget_runs_out_across_instances_and_counts_time_squeeze) {
  napi_bench b;
  std::vector<napi_struct> n(6);
  for (auto& i : n) i.poll = [](napi_struct&, int budget) { return budget; };
  b.one_net_rx_action(n);
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  uint64_t polls = 0;
  for (const auto& i : n) polls += i.polls;
  EXPECT_EQ(polls, 5u);  // 5 × 64 ≥ netdev_budget 300
  EXPECT_EQ(b.stack.core().softnet(0).time_squeeze, 1u);
  EXPECT_EQ(b.stack.core().softnet(0).poll_list.size(), 6u);
  EXPECT_EQ(b.stack.core().softnet(0).poll_list.front(),
            &n[5]);  // the unpolled instance goes first next time
}

TEST(host_napi, exact_budget_keeps_polling_and_completion_below_it_leaves_the_list) {
  napi_bench b;
  napi_struct n;
  n.weight = 4;
  int calls = 0;
  n.poll = [&](napi_struct& self, int budget) {
    ++calls;
    if (calls == 1) return budget;  // exactly the budget: must not complete
    b.stack.core().napi_complete_done(self, 1);
    return 1;
  };
  b.c.kthread_create("t", [&] {
    ASSERT_TRUE(b.stack.core().napi_schedule_prep(n));
    b.stack.core().__napi_schedule(n);
    b.stack.core().net_rx_action();
    EXPECT_TRUE(n.sched);
    EXPECT_EQ(b.stack.core().softnet(0).poll_list.size(), 1u);
    b.stack.core().net_rx_action();
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(n.sched);
  EXPECT_TRUE(b.stack.core().softnet(0).poll_list.empty());
  EXPECT_EQ(b.stack.core().softnet(0).time_squeeze, 0u);
}

TEST(host_napi, interrupt_during_poll_is_not_lost) {
  napi_bench b;
  napi_struct n;
  n.weight = 64;
  int calls = 0;
  n.poll = [&](napi_struct& self, int) {
    if (++calls == 1) {
      EXPECT_FALSE(b.stack.core().napi_schedule_prep(self));  // an IRQ while polling
    }
    b.stack.core().napi_complete_done(self, 1);
    return 1;
  };
  b.c.kthread_create("t", [&] {
    ASSERT_TRUE(b.stack.core().napi_schedule_prep(n));
    b.stack.core().__napi_schedule(n);
    b.stack.core().net_rx_action();
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(calls, 2);           // NAPI_STATE_MISSED made it poll once more
  EXPECT_FALSE(n.sched);
}

TEST(host_costs, table_rejects_unknown_missing_and_negative_entries) {
  const std::string good = cost_table::default_yaml();
  EXPECT_NO_THROW(cost_table::parse(good, "t.yaml", 3.0));
  EXPECT_THROW(cost_table::parse(good + "bogus: {cycles: 1}\n", "t.yaml", 3.0), std::invalid_argument);
  EXPECT_THROW(cost_table::parse("irq_entry: {cycles: 1}\n", "t.yaml", 3.0), std::invalid_argument);
  std::string negative = good;
  negative.replace(negative.find("{cycles: 600}"), 13, "{cycles: -1}");
  EXPECT_THROW(cost_table::parse(negative, "t.yaml", 3.0), std::invalid_argument);
  const auto t = cost_table::parse(good, "t.yaml", 2.0);
  EXPECT_EQ(t(cost::irq_entry), sc_time(300, SC_NS));  // 600 cycles at 2 GHz
  EXPECT_EQ(t(cost::copy_to_user, 1000), sc_time((50 + 150) / 2.0, SC_NS));
}

TEST(host_cpu, jiffies_follow_config_hz) {
  cpu c("cpu", 0, costs());
  c.set_hz(250);
  EXPECT_EQ(c.usecs_to_jiffies(2000), 1u);  // half a jiffy rounds up
  EXPECT_EQ(c.usecs_to_jiffies(8000), 2u);
  c.set_hz(1000);
  EXPECT_EQ(c.usecs_to_jiffies(2000), 2u);
  EXPECT_EQ(c.usecs_to_jiffies(1), 1u);
}

TEST(host_napi, netdev_budget_usecs_squeezes_after_two_jiffies) {
  napi_bench b;
  std::vector<napi_struct> n(6);
  for (auto& i : n)
    i.poll = [&b](napi_struct& self, int) {
      cpu::this_cpu().charge(sc_time(900, SC_US));  // a slow poll that finds one packet
      b.stack.core().napi_complete_done(self, 1);
      return 1;
    };
  b.one_net_rx_action(n);
  sc_core::sc_start(sc_time(20, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  uint64_t polls = 0;
  for (const auto& i : n) polls += i.polls;
  // Budget left, but jiffies reached start + 2 (netdev_budget_usecs = 2000 at HZ=1000) after 3 polls.
  EXPECT_EQ(polls, 3u);
  EXPECT_EQ(b.stack.core().softnet(0).time_squeeze, 1u);
  EXPECT_EQ(b.stack.core().softnet(0).poll_list.size(), 3u);
}

TEST(host_cpu, scheduler_tick_shares_the_cpu_between_two_busy_tasks) {
  cpu c("cpu", 0, costs());
  task_struct* a = c.kthread_create("a", [&] {
    for (;;) c.charge(sc_time(100, SC_US));
  });
  task_struct* b = c.kthread_create("b", [&] {
    for (;;) c.charge(sc_time(100, SC_US));
  });
  sc_core::sc_start(sc_time(60, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  const double ta = a->sum_exec_runtime.to_seconds(), tb = b->sum_exec_runtime.to_seconds();
  EXPECT_GT(ta, 0.020);
  EXPECT_GT(tb, 0.020);
  EXPECT_NEAR(ta / (ta + tb), 0.5, 0.1);  // CFS: equal weights, equal shares
  EXPECT_GT(a->nivcsw + b->nivcsw, 5u);   // by preemption at the tick, not by blocking
}

TEST(host_cpu, irq_time_is_not_charged_to_the_interrupted_task) {
  // CONFIG_IRQ_TIME_ACCOUNTING: the task's runtime (and so its vruntime) leaves out the
  // hard IRQ that interrupted it.
  cpu c("cpu", 0, costs());
  c.request_irq(0x30, [&](unsigned) { c.charge(sc_time(50, SC_US)); });
  sc_time ran;
  task_struct* t = c.kthread_create("worker", [&] {
    const sc_time before = c.current()->sum_exec_runtime;
    c.charge(sc_time(100, SC_US));
    c.schedule();  // nothing else to run: returns, after accounting the runtime
    ran = c.current()->sum_exec_runtime - before;
    sleep_forever(c);
  });
  raise_at(c, 0x30, sc_time(30, SC_US));
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_EQ(ran, sc_time(100, SC_US));
  EXPECT_EQ(t->vruntime, t->sum_exec_runtime);
}

TEST(host_cpu, wake_up_while_the_task_is_still_switching_out_is_not_lost) {
  two_cpus m;
  cpu &c0 = m.c0, &c1 = m.c1;
  task_struct* sleeper = nullptr;
  sc_time blocked_at = sc_core::SC_ZERO_TIME;
  bool ran_again = false;
  sleeper = c0.kthread_create("sleeper", [&] {
    c0.charge(sc_time(10, SC_US));
    blocked_at = sc_core::sc_time_stamp();
    c0.current()->state = task_struct::TASK_INTERRUPTIBLE;
    c0.schedule();  // the switch to idle takes cost::context_switch
    ran_again = true;
    sleep_forever(c0);
  });
  c1.kthread_create("waker", [&] {
    wait_until_inside_the_switch(c1, blocked_at);
    ASSERT_EQ(c0.current(), sleeper) << "the wake-up must land while it is still current";
    EXPECT_TRUE(c1.try_to_wake_up(sleeper));
    sleep_forever(c1);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_TRUE(ran_again);
}

TEST(host_cpu, idle_cpu_takes_a_waiting_task_from_a_busy_one) {
  two_cpus m;
  cpu &c0 = m.c0, &c1 = m.c1;
  // Each task checks, after every stretch of work, that the CPU it runs on has it as
  // current: a task preempted inside charge() and moved must finish it on its new CPU.
  int confused = 0;
  auto busy = [&confused](const std::string& comm) {
    return [&confused, comm] {
      for (;;) {
        cpu::this_cpu().charge(sc_time(100, SC_US));
        if (cpu::this_cpu().current()->comm != comm) ++confused;
      }
    };
  };
  task_struct* a = c0.kthread_create("a", busy("a"), /*pinned=*/false);
  task_struct* b = c0.kthread_create("b", busy("b"), /*pinned=*/false);
  task_struct* pinned = c0.kthread_create("pinned", busy("pinned"));
  // c1 is busy for the first 5 ms, so a and b have both been preempted on c0 when it
  // frees up and pulls one of them.
  c1.kthread_create("first", [&c1] {
    c1.charge(sc_time(5, sc_core::SC_MS));
    sleep_forever(c1);
  });
  sc_core::sc_start(sc_time(20, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  // c0's tick hands a waiting free task to idle c1; the pinned one stays.
  EXPECT_EQ(pinned->on_cpu, &c0);
  EXPECT_EQ(pinned->migrations, 0u);
  EXPECT_EQ((a->on_cpu == &c1) + (b->on_cpu == &c1), 1);
  EXPECT_GT(a->nivcsw, 0u);
  EXPECT_GT(b->nivcsw, 0u);
  EXPECT_EQ(confused, 0);
  EXPECT_GT(c1.stats().time[static_cast<size_t>(cpu_ctx::system)] +
                c1.stats().time[static_cast<size_t>(cpu_ctx::user)],
            sc_time(19, sc_core::SC_MS));
}

TEST(host_cpu, a_wake_up_during_a_switch_to_another_task_charges_that_task_nothing) {
  // A blocks while B waits its first turn; A's wake-up lands inside the switch to B. B's
  // clock must start at the switch: it has run for nothing when its body begins.
  two_cpus m;
  cpu &c0 = m.c0, &c1 = m.c1;
  task_struct* a = nullptr;
  sc_time blocked_at = sc_core::SC_ZERO_TIME;
  sc_time b_runtime_at_start(1, SC_US);
  a = c0.kthread_create("A", [&] {
    c0.charge(sc_time(100, SC_US));
    blocked_at = sc_core::sc_time_stamp();
    c0.current()->state = task_struct::TASK_INTERRUPTIBLE;
    c0.schedule();
    sleep_forever(cpu::this_cpu());
  });
  c0.kthread_create("B", [&] {
    b_runtime_at_start = cpu::this_cpu().current()->sum_exec_runtime;
    sleep_forever(cpu::this_cpu());
  });
  c1.kthread_create("waker", [&] {
    wait_until_inside_the_switch(c1, blocked_at);
    EXPECT_TRUE(c1.try_to_wake_up(a));
    sleep_forever(c1);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_EQ(b_runtime_at_start, sc_core::SC_ZERO_TIME);
}

TEST(host_cpu, a_task_queued_during_a_switch_to_idle_still_runs) {
  // c0 is switching from A to idle when c1 wakes B, which belongs to c0: B is queued on
  // c0 and checked against A, so c0 must look at its run queue again once idle.
  two_cpus m;
  cpu &c0 = m.c0, &c1 = m.c1;
  sc_time blocked_at = sc_core::SC_ZERO_TIME;
  bool b_ran_again = false;
  task_struct* b = c0.kthread_create("B", [&] {
    c0.current()->state = task_struct::TASK_INTERRUPTIBLE;
    c0.schedule();
    b_ran_again = true;
    sleep_forever(c0);
  });
  c0.kthread_create("A", [&] {
    c0.charge(sc_time(10, SC_US));
    blocked_at = sc_core::sc_time_stamp();
    sleep_forever(c0);  // the switch to idle takes cost::context_switch
  });
  c1.kthread_create("waker", [&] {
    wait_until_inside_the_switch(c1, blocked_at);
    EXPECT_TRUE(c1.try_to_wake_up(b));
    for (;;) c1.charge(sc_time(100, SC_US));  // c1 stays busy: it does not come to pull B
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_TRUE(b_ran_again);
}

// Issue 10: a wake function charged cost::ttwu inside the walk, so the waker yielded while it
// still held the entry; the woken reader ran on another CPU, returned (its entry died) and
// waited again in the same place, and the waker's autoremove then unlinked that new entry.
// Here the wake-up costs the waker longer than the reader needs to come back (20 µs of ttwu
// against 1.5 µs switches). The walk must be over, the entry unlinked, before the waker
// spends any time.
TEST(host_wait_queue, a_wakee_that_returns_while_its_waker_pays_keeps_its_next_wait) {
  static const cost_table slow_ttwu = costs_with("ttwu", "60000");
  cpu c0("cpu0", 0, slow_ttwu), c1("cpu1", 1, slow_ttwu);
  const std::vector<cpu*> all{&c0, &c1};
  c0.set_siblings(all);
  c1.set_siblings(all);
  wait_queue_head wq;
  std::optional<wait_queue_entry> slot;  // one place for both waits, as a reader's stack frame is
  sc_time blocked_at = sc_core::SC_ZERO_TIME;
  int woke = 0;
  c0.kthread_create("reader", [&] {
    c0.charge(sc_time(10, SC_US));
    for (int i = 0; i < 2; ++i) {
      slot.emplace();
      init_wait(*slot, c0);
      prepare_to_wait_exclusive(wq, *slot, c0);
      if (i == 0) blocked_at = sc_core::sc_time_stamp();
      c0.schedule();
      finish_wait(*slot, c0);
      slot.reset();  // out of scope
      ++woke;
    }
    sleep_forever(c0);
  });
  size_t queued_after_first = 99;
  int second = -1;
  c1.kthread_create("waker", [&] {
    // The reader is still switching out, so it runs again without waiting for an IPI.
    wait_until_inside_the_switch(c1, blocked_at);
    const sc_time start = sc_core::sc_time_stamp();
    EXPECT_EQ(__wake_up(wq, 1), 1);
    EXPECT_GE(sc_core::sc_time_stamp() - start, slow_ttwu(cost::ttwu));
    queued_after_first = wq.head.size();
    c1.charge(sc_time(100, SC_US));
    second = __wake_up(wq, 1);
    sleep_forever(c1);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();
  EXPECT_EQ(queued_after_first, 1u) << "the reader's second wait must still be queued";
  EXPECT_EQ(second, 1);
  EXPECT_EQ(woke, 2);
  EXPECT_TRUE(wq.head.empty());
}

// A walk that wakes several waiters (non-exclusive ones and the first exclusive one) decides
// and unlinks all of them before the waker spends time on any: seen from outside during the
// first wake-up's cost, every woken task is runnable and off the queue, the rest still on it.
TEST(host_wait_queue, a_walk_wakes_and_unlinks_every_waiter_before_the_waker_spends_time) {
  two_cpus m;
  cpu &c0 = m.c0, &c1 = m.c1;
  wait_queue_head wq;
  struct waiter {
    const char* comm;
    bool exclusive;
    task_struct* task = nullptr;
    int runs = 0;
  };
  std::vector<waiter> w{{"shared-a", false}, {"shared-b", false}, {"excl-c", true}, {"excl-d", true}};
  for (auto& x : w)
    x.task = c0.kthread_create(x.comm, [&c0, &wq, &x] {
      wait_queue_entry e;
      init_wait(e, c0);
      if (x.exclusive)
        prepare_to_wait_exclusive(wq, e, c0);
      else
        prepare_to_wait(wq, e, c0);
      c0.schedule();
      finish_wait(e, c0);
      ++x.runs;
      sleep_forever(c0);
    });
  sc_time walk_at = sc_core::SC_ZERO_TIME, waker_spent = sc_core::SC_ZERO_TIME;
  int woken = 0;
  c1.kthread_create("waker", [&] {
    c1.charge(sc_time(20, SC_US));  // every waiter is asleep by now
    walk_at = sc_core::sc_time_stamp();
    woken = __wake_up(wq, 1);
    waker_spent = sc_core::sc_time_stamp() - walk_at;
    sleep_forever(c1);
  });
  // Outside any CPU, 10 ns into the waker's first wake-up cost.
  size_t queued_mid = 99;
  std::vector<task_struct::state_t> state_mid;
  sc_core::sc_spawn([&] {
    while (walk_at == sc_core::SC_ZERO_TIME) sc_core::wait(sc_time(1, SC_NS));
    sc_core::wait(sc_time(10, SC_NS));
    queued_mid = wq.head.size();
    for (const auto& x : w) state_mid.push_back(x.task->state);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  const size_t queued_end = wq.head.size();  // entries live on stacks the unwinding ends
  const task_struct* still_waiting = queued_end == 1 ? wq.head.front()->private_ : nullptr;
  nicsim::tb::unwind_threads();
  ASSERT_LT(sc_time(10, SC_NS), costs()(cost::ttwu));
  EXPECT_EQ(woken, 3);
  EXPECT_EQ(queued_mid, 1u);
  EXPECT_EQ(state_mid,
            (std::vector<task_struct::state_t>{task_struct::TASK_RUNNING, task_struct::TASK_RUNNING,
                                               task_struct::TASK_RUNNING, task_struct::TASK_INTERRUPTIBLE}));
  // The waker pays each wake-up once the walk is over (and the IPIs it sends).
  EXPECT_GE(waker_spent, 3 * costs()(cost::ttwu));
  EXPECT_GE(c1.stats().ipis_sent, 1u);
  std::vector<int> runs;
  for (const auto& x : w) runs.push_back(x.runs);
  EXPECT_EQ(runs, (std::vector<int>{1, 1, 1, 0}));
  EXPECT_EQ(queued_end, 1u);
  EXPECT_EQ(still_waiting, w[3].task);
}

// ip_local_deliver dispatches through inet_protos[]: UDP and ICMP hold their slots, and a
// protocol that registers with inet_add_protocol gets its frames with no change elsewhere.
TEST(host_net, a_protocol_registered_in_inet_protos_receives_its_frames) {
  napi_bench b;
  net_protocol tcp;
  int delivered = 0;
  tcp.handler = [&](sk_buff* skb) {
    ++delivered;
    b.stack.skb().kfree_skb(skb, skb_drop_reason::NOT_SPECIFIED);
  };
  EXPECT_FALSE(b.stack.ip().inet_add_protocol(&tcp, nicsim::proto::IPPROTO_UDP));
  EXPECT_FALSE(b.stack.ip().inet_add_protocol(&tcp, nicsim::proto::IPPROTO_ICMP));
  EXPECT_FALSE(b.stack.ip().inet_add_protocol(&tcp, nicsim::proto::IPPROTO_TCP));  // TCP's own (issue 13)
  // A frame for a protocol nothing registered (IPPROTO_SCTP, 132) before and after a handler does.
  constexpr uint8_t IPPROTO_SCTP = 132;
  auto tcp_frame = [&] {
    const uint64_t addr = b.buffers.alloc();
    uint8_t* iph = b.buffers.ptr(addr);
    std::fill(iph, iph + 40, uint8_t{0});
    iph[0] = 0x45;
    nicsim::proto::put_be16(iph + 2, 40);
    iph[8] = 64;
    iph[9] = IPPROTO_SCTP;
    nicsim::proto::put_be32(iph + 12, 0x0A000001);
    nicsim::proto::put_be32(iph + 16, b.stack.params().local_ip);  // the bench's own address
    nicsim::proto::put_be16(iph + 10, nicsim::proto::csum_fold(nicsim::proto::csum_partial(iph, 20)));
    sk_buff* skb = b.skbs.alloc();
    *skb = sk_buff{};
    skb->buf_addr = addr;
    skb->head = iph;
    skb->len = 40;
    skb->truesize = 2048;
    skb->protocol = nicsim::proto::ETH_P_IP;
    return skb;
  };
  b.c.kthread_create("t", [&] {
    b.stack.core().netif_receive_skb(tcp_frame());
    EXPECT_TRUE(b.stack.ip().inet_add_protocol(&tcp, IPPROTO_SCTP));
    b.stack.core().netif_receive_skb(tcp_frame());
    sleep_forever(b.c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  nicsim::tb::unwind_threads();  // before the modules on this stack go away
  EXPECT_EQ(b.stack.init_net().mib.ip_statistics.InUnknownProtos, 1u);
  EXPECT_EQ(b.stack.init_net().mib.ip_statistics.InDelivers, 1u);
  EXPECT_EQ(delivered, 1);
}

// skb_shinfo frags and frag_list (include/linux/skbuff.h, v6.6): skb_copy_bits walks the linear
// part, the frags and the frag_list in order, and releasing the head gives every buffer back.
TEST(skb, copy_bits_walks_linear_part_frags_and_frag_list_and_release_frees_every_buffer) {
  nicsim::tlm::host_memory mem{"mem", 1 << 20, sc_core::SC_ZERO_TIME};
  skb_cache skbs;
  rx_buffer_pool buffers{mem, 0x10000, 2048, 8};
  skb_allocator alloc{skbs, buffers, nullptr};
  // Bytes 0..99 linear, 100..149 and 150..179 in two frags, 180..219 in a frag_list skb.
  auto fill = [&](uint64_t buf, unsigned at, unsigned first, unsigned n) {
    for (unsigned i = 0; i < n; ++i) buffers.ptr(buf)[at + i] = static_cast<uint8_t>(first + i);
  };
  sk_buff* head = skbs.alloc();
  head->buf_addr = buffers.alloc();
  head->head = buffers.ptr(head->buf_addr);
  head->data = 64;
  fill(head->buf_addr, 64, 0, 100);
  for (const auto& [first, n] : {std::pair<unsigned, unsigned>{100, 50}, {150, 30}}) {
    skb_frag_t& f = head->frags[head->nr_frags++];
    f.buf_addr = buffers.alloc();
    f.base = buffers.ptr(f.buf_addr);
    f.offset = 42;
    f.size = n;
    fill(f.buf_addr, 42, first, n);
  }
  sk_buff* tail = skbs.alloc();
  tail->buf_addr = buffers.alloc();
  tail->head = buffers.ptr(tail->buf_addr);
  tail->data = 10;
  tail->len = 40;
  fill(tail->buf_addr, 10, 180, 40);
  head->frag_list = tail;
  head->len = 220;
  head->data_len = 120;
  EXPECT_EQ(head->headlen(), 100u);
  EXPECT_EQ(buffers.available(), 4u);
  EXPECT_EQ(skbs.in_use(), 2u);

  std::vector<uint8_t> out(220);
  ASSERT_TRUE(skb_copy_bits(*head, 0, out.data(), 220));
  for (unsigned i = 0; i < 220; ++i) ASSERT_EQ(out[i], i) << "byte " << i;
  std::vector<uint8_t> mid(75);  // 95..169: across the linear end and both frags
  ASSERT_TRUE(skb_copy_bits(*head, 95, mid.data(), 75));
  for (unsigned i = 0; i < 75; ++i) ASSERT_EQ(mid[i], 95 + i) << "byte " << 95 + i;
  uint8_t one = 0;
  ASSERT_TRUE(skb_copy_bits(*head, 200, &one, 1));  // inside the frag_list skb
  EXPECT_EQ(one, 200);
  EXPECT_FALSE(skb_copy_bits(*head, 200, out.data(), 21));  // one past the end

  alloc.__consume_stateless_skb(head);
  EXPECT_EQ(buffers.available(), 8u);
  EXPECT_EQ(skbs.in_use(), 0u);
}
