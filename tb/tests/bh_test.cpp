// Softirqs at local_bh_enable in process context and busy polling's stop path (issue 14,
// part 5), on a bare CPU: __local_bh_enable_ip / do_softirq (kernel/softirq.c, v6.6) and
// busy_poll_stop / __busy_poll_stop (net/core/dev.c, v6.6).
#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host/cost_table.h"
#include "host/kernel/cpu.h"
#include "host/net/core/dev.h"
#include "host/net/netstack.h"
#include "tb/system_top.h"
#include "tlm/host_memory.h"

using namespace nicsim::host;
using sc_core::sc_time;

namespace {
const cost_table& costs() {
  static const cost_table t = cost_table::defaults(3.0);
  return t;
}
struct dma_stub : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<dma_stub> socket{"socket"};
  explicit dma_stub(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {}
};
void sleep_forever(cpu& c) {
  c.current()->state = task_struct::TASK_INTERRUPTIBLE;
  c.schedule();
}
}  // namespace

// __local_bh_enable_ip (kernel/softirq.c, v6.6): a softirq raised with BH disabled waits
// (in_interrupt() holds, so neither raise nor irq_exit runs it) and runs at local_bh_enable,
// in the task's context, as a softirq; nested sections run it only at the outermost enable.
TEST(bh, a_softirq_raised_with_bh_disabled_runs_at_local_bh_enable_in_task_context_v6_6) {
  cpu c{"cpu", 0, costs()};
  std::vector<int> ran;  // the step at which NET_RX ran
  int step = 0;
  bool serving = false;
  std::string comm;
  c.open_softirq(NET_RX_SOFTIRQ, [&] {
    ran.push_back(step);
    serving = c.in_serving_softirq();
    comm = c.current()->comm;
  });
  c.kthread_create("reader", [&] {
    c.local_bh_disable();
    EXPECT_TRUE(c.in_interrupt());
    c.local_bh_disable();
    c.raise_softirq(NET_RX_SOFTIRQ);
    step = 1;
    c.local_bh_enable();  // still disabled once: nothing runs
    step = 2;
    c.local_bh_enable();
    step = 3;
    EXPECT_FALSE(c.in_interrupt());
    c.local_bh_disable();
    c.local_bh_enable();  // nothing pending: nothing runs
    sleep_forever(c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  EXPECT_EQ(ran, std::vector<int>{2});
  EXPECT_TRUE(serving);
  EXPECT_EQ(comm, "reader");
  EXPECT_EQ(c.stats().softirqs[NET_RX_SOFTIRQ], 1u);
  nicsim::tb::unwind_threads();
}

// irq_exit's invoke_softirq (v6.6) runs nothing while the interrupted task has BH disabled;
// the task's local_bh_enable does.
TEST(bh, an_interrupt_during_a_bh_disabled_section_leaves_its_softirq_to_local_bh_enable_v6_6) {
  cpu c{"cpu", 0, costs()};
  sc_time ran_at = sc_core::SC_ZERO_TIME;
  c.open_softirq(NET_RX_SOFTIRQ, [&] { ran_at = sc_core::sc_time_stamp(); });
  c.request_irq(0x40, [&](unsigned) { c.raise_softirq(NET_RX_SOFTIRQ); });
  sc_time enabled_at = sc_core::SC_ZERO_TIME;
  c.kthread_create("reader", [&] {
    c.local_bh_disable();
    c.charge(sc_time(10, sc_core::SC_US));  // the interrupt comes in here
    enabled_at = sc_core::sc_time_stamp();
    c.local_bh_enable();
    sleep_forever(c);
  });
  sc_core::sc_spawn([&] {
    sc_core::wait(sc_time(2, sc_core::SC_US));
    c.raise_irq(0x40);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  EXPECT_EQ(c.stats().softirqs[NET_RX_SOFTIRQ], 1u);
  EXPECT_GT(enabled_at, sc_time(10, sc_core::SC_US));
  EXPECT_GE(ran_at, enabled_at);  // not at the interrupt's irq_exit (2 us)
  nicsim::tb::unwind_threads();
}

// busy_poll_stop (net/core/dev.c, v6.6): the last poll gets the busy-poll budget (8), not the
// NAPI weight; when it uses the whole budget, __busy_poll_stop reschedules the instance and
// the NET_RX softirq runs at local_bh_enable before busy_poll_stop returns (net_rx_action
// polls it with its weight); below the budget the poll completes it.
TEST(bh, busy_poll_stop_polls_with_budget_8_and_a_full_poll_runs_net_rx_at_local_bh_enable_v6_6) {
  nicsim::tlm::host_memory mem{"mem", 1 << 20, sc_core::SC_ZERO_TIME};
  dma_stub dma{"dma"};
  dma.socket.bind(mem.socket);
  cpu c{"cpu", 0, costs()};
  skb_cache skbs;
  rx_buffer_pool buffers{mem, 0x10000, 2048, 16};
  netstack stack{{&c}, skbs, buffers, nullptr, netstack_params{}};
  napi_struct n;
  n.name = "eth0";
  int waiting = 20;
  std::vector<int> budgets;
  std::vector<bool> in_softirq;
  n.poll = [&](napi_struct& napi, int budget) {
    budgets.push_back(budget);
    in_softirq.push_back(c.in_serving_softirq());
    const int work = std::min(waiting, budget);
    waiting -= work;
    if (work < budget) stack.core().napi_complete_done(napi, work);
    return work;
  };
  std::vector<int> after;  // what was left when busy_poll_stop returned
  c.kthread_create("reader", [&] {
    n.sched = true;  // napi_busy_loop took the instance
    n.in_busy_poll = true;
    stack.core().busy_poll_stop(n, 8);
    after.push_back(waiting);
    // Below the budget: the last poll completes the instance, nothing is rescheduled.
    waiting = 3;
    n.sched = true;
    n.in_busy_poll = true;
    stack.core().busy_poll_stop(n, 8);
    after.push_back(waiting);
    sleep_forever(c);
  });
  sc_core::sc_start(sc_time(1, sc_core::SC_MS));
  EXPECT_EQ(budgets, (std::vector<int>{8, 64, 8}));
  EXPECT_EQ(in_softirq, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(after, (std::vector<int>{0, 0}));
  EXPECT_FALSE(n.sched);
  EXPECT_FALSE(n.in_busy_poll);
  EXPECT_EQ(c.stats().softirqs[NET_RX_SOFTIRQ], 1u);
  nicsim::tb::unwind_threads();
}

// The tick with CONFIG_NO_HZ_IDLE (kernel/time/tick-sched.c, v6.6): stopped only while the CPU
// is idle, so one busy task alone gets it at every jiffy (HZ 1000: each ms); an idle CPU, or
// one that only takes interrupts on top of its idle task, gets none.
TEST(tick, the_tick_fires_on_a_cpu_running_one_task_and_not_on_an_idle_one_no_hz_idle_v6_6) {
  cpu busy{"busy", 0, costs()};
  cpu idle{"idle", 1, costs()};
  idle.request_irq(0x40, [&](unsigned) { idle.charge(sc_time(300, sc_core::SC_US)); });
  busy.kthread_create("spin", [&] {
    busy.charge(sc_time(5500, sc_core::SC_US));  // one task, 5.5 ms of work
    sleep_forever(busy);
  });
  sc_core::sc_spawn([&] {
    sc_core::wait(sc_time(1900, sc_core::SC_US));
    idle.raise_irq(0x40);  // a handler running across the 2 ms boundary
  });
  sc_core::sc_start(sc_time(10, sc_core::SC_MS));
  const auto loc = [](const cpu& c) {
    const auto& counts = c.stats().irq_counts;
    return cpu::LOCAL_TIMER_VECTOR < counts.size() ? counts[cpu::LOCAL_TIMER_VECTOR] : 0;
  };
  EXPECT_EQ(loc(busy), 5u);  // at 1, 2, 3, 4 and 5 ms; none once it sleeps
  EXPECT_EQ(loc(idle), 0u);
  nicsim::tb::unwind_threads();
}
