// CPU time accounting by context (kernel/sched/cputime.c, v6.x; /proc/stat).
#include "host/kernel/cpu.h"
#include "tlm/local_time.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

const char* cpu_ctx_name(cpu_ctx c) {
  static constexpr const char* names[] = {"user", "system", "hardirq", "softirq", "ksoftirqd", "idle"};
  return names[static_cast<size_t>(c)];
}

// ---------------------------------------------------------------- accounting

cpu_ctx cpu::current_ctx() const {
  if (m_hardirq_depth > 0) return cpu_ctx::hardirq;
  if (m_softirq.depth > 0) return m_rq.curr->is_ksoftirqd ? cpu_ctx::ksoftirqd : cpu_ctx::softirq;
  if (m_in_switch) return cpu_ctx::system;
  if (m_rq.curr->is_idle) return cpu_ctx::idle;
  if (m_rq.curr->is_ksoftirqd) return cpu_ctx::ksoftirqd;
  return m_rq.curr->in_kernel ? cpu_ctx::system : cpu_ctx::user;
}

void cpu::account_until_now() {
  const sc_time now = tlm::local_now();
  if (now > m_accounted_to) m_stats.time[static_cast<size_t>(current_ctx())] += now - m_accounted_to;
  m_accounted_to = now;
}

const cpu_stats& cpu::stats() const {
  const_cast<cpu*>(this)->account_until_now();
  return m_stats;
}
}  // namespace nicsim::host
