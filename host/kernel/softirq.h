#pragma once
// Softirq state (kernel/softirq.c, v6.x): the vector of actions open_softirq fills
// (softirq_vec), and per CPU the pending mask (irq_stat.__softirq_pending) and the
// SOFTIRQ_OFFSET part of preempt_count while __do_softirq runs.
#include <array>
#include <cstdint>
#include <functional>
#include <systemc>

namespace nicsim::host {

// The kernel's order (include/linux/interrupt.h): HI, TIMER, NET_TX, NET_RX, ...; __do_softirq
// runs pending ones lowest first, so NET_TX before NET_RX.
enum softirq_nr : unsigned { TIMER_SOFTIRQ = 1, NET_TX_SOFTIRQ = 2, NET_RX_SOFTIRQ = 3, NR_SOFTIRQS = 10 };

struct softirq_state {
  std::array<std::function<void()>, NR_SOFTIRQS> vec{};  // softirq_vec
  uint32_t pending = 0;                                  // __softirq_pending
  unsigned depth = 0;                                    // in_serving_softirq
  sc_core::sc_time max_time{2, sc_core::SC_MS};          // MAX_SOFTIRQ_TIME
  bool ksoftirqd_running_defers = false;                 // host.kernel 6.1: kernel_profile
  static constexpr int MAX_SOFTIRQ_RESTART = 10;
};

}  // namespace nicsim::host
