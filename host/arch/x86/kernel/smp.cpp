// Reschedule IPIs (v6.x arch/x86/kernel/smp.c: native_smp_send_reschedule, sysvec_reschedule_ipi).
#include "host/kernel/cpu.h"

namespace nicsim::host {

using sc_core::sc_time;
using sc_core::sc_time_stamp;
using sc_core::SC_ZERO_TIME;

void cpu::ipi_method() { raise_irq(RESCHEDULE_VECTOR); }

void cpu::smp_send_reschedule(cpu* target) {
  ++m_stats.ipis_sent;
  charge(cost::ipi_send);
  sync_time();
  target->m_ipi_ev.notify(m_costs(cost::ipi_delivery));
}
}  // namespace nicsim::host
