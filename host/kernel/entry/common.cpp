// Syscall entry and exit (kernel/entry/common.c, v6.x: syscall_enter_from_user_mode,
// exit_to_user_mode_loop).
#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

void cpu::syscall_enter() {
  account_until_now();
  m_rq.curr->in_kernel = true;
  note_ctx();
  charge(cost::syscall);
}

void cpu::syscall_exit() {
  // exit_to_user_mode_loop: reschedule before returning to user space.
  while (m_rq.need_resched) {
    schedule();
    if (s_this != this) {  // it was moved while preempted: return from the CPU it is on now
      s_this->syscall_exit();
      return;
    }
  }
  account_until_now();
  m_rq.curr->in_kernel = false;
  note_ctx();
}
}  // namespace nicsim::host
