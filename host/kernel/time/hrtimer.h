#pragma once
// struct hrtimer_cpu_base (include/linux/hrtimer.h, v6.x): one CPU's armed timers and
// the clock event (the local APIC in one-shot mode) programmed for the earliest.
#include <functional>
#include <systemc>
#include <utility>
#include <vector>

namespace nicsim::host {

struct hrtimer_cpu_base {
  std::vector<std::pair<sc_core::sc_time, std::function<void()>>> active;  // armed, any order
  sc_core::sc_event next_event;                                            // clockevents_program_event
};

}  // namespace nicsim::host
