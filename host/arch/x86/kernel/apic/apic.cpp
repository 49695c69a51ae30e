#include "host/arch/x86/kernel/apic/apic.h"

#include <cstring>

#include "host/kernel/cpu.h"

namespace nicsim::host {

apic::apic(const sc_core::sc_module_name& name, std::vector<cpu*> cpus)
    : sc_core::sc_module(name), socket("socket"), m_cpus(std::move(cpus)) {
  socket.register_b_transport(this, &apic::b_transport);
}

void apic::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& /*delay*/) {
  // Offsets are relative to MSI_BASE (the router strips the base).
  const uint64_t dest = (trans.get_address() >> 12) & 0xFF;
  if (!trans.is_write() || trans.get_data_length() != 4 || (trans.get_address() & 0xFFF) != 0) {
    trans.set_response_status(::tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  if (dest >= m_cpus.size()) {
    trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  uint32_t data = 0;
  std::memcpy(&data, trans.get_data_ptr(), 4);
  ++m_msis;
  m_cpus[dest]->raise_irq(data & 0xFF);
  trans.set_response_status(::tlm::TLM_OK_RESPONSE);
}

}  // namespace nicsim::host
