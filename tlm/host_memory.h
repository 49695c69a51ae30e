#pragma once
// Host DRAM: real bytes, a TLM-2.0 target for the device side and DMI for the CPU side.
//
// The bytes live in one anonymous mapping that reserves address space for the whole
// memory and commits nothing: the host OS backs a 4 KiB page the first time it is
// written, and a read of a page never written sees zeros (the shared zero page). So a
// memory sized for the worst case a run's knobs allow costs only what the run touches,
// and a direct pointer (DMI, ptr()) stays valid and contiguous over the whole memory:
// no page is ever moved, so no DMI grant is ever invalidated.
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <systemc>
#include <tlm>

namespace nicsim::tlm {

class host_memory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<host_memory> socket;

  // Throws std::runtime_error when the host cannot reserve size_bytes of address space
  // (e.g. vm.overcommit_memory=2 or ulimit -v).
  host_memory(const sc_core::sc_module_name& name, uint64_t size_bytes, sc_core::sc_time access_latency);
  ~host_memory() override;
  host_memory(const host_memory&) = delete;
  host_memory& operator=(const host_memory&) = delete;

  uint64_t size() const { return m_size; }
  // The CPU's direct view (DMI): a pointer valid for len bytes at addr, or an
  // exception naming the range when it is outside memory.
  uint8_t* ptr(uint64_t addr, uint64_t len);
  const uint8_t* ptr(uint64_t addr, uint64_t len) const;

  uint64_t reads() const { return m_reads; }
  uint64_t writes() const { return m_writes; }

 private:
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(::tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(::tlm::tlm_generic_payload& trans, ::tlm::tlm_dmi& dmi);
  // Checks range, streaming width and byte enables; copies data; returns the response.
  ::tlm::tlm_response_status access(::tlm::tlm_generic_payload& trans);

  uint8_t* m_bytes = nullptr;  // the reservation, m_size bytes (null when empty)
  uint64_t m_size = 0;
  sc_core::sc_time m_latency;
  uint64_t m_reads = 0;
  uint64_t m_writes = 0;
};

}  // namespace nicsim::tlm
