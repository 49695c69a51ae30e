#pragma once
// The host's interrupt controller as PCIe sees it: an MSI is a posted write of
// the vector (data) to 0xFEE0_0000 | destination APIC ID << 12.
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <systemc>
#include <tlm>
#include <vector>

namespace nicsim::host {

class cpu;

class apic : public sc_core::sc_module {
 public:
  static constexpr uint64_t MSI_BASE = 0xFEE00000;
  static constexpr uint64_t MSI_SIZE = 0x100000;
  tlm_utils::simple_target_socket<apic> socket;

  apic(const sc_core::sc_module_name& name, std::vector<cpu*> cpus);
  uint64_t msis() const { return m_msis; }

 private:
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  std::vector<cpu*> m_cpus;
  uint64_t m_msis = 0;
};

}  // namespace nicsim::host
