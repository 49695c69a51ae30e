#include "tlm/host_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace nicsim::tlm {

host_memory::host_memory(const sc_core::sc_module_name& name, uint64_t size_bytes,
                         sc_core::sc_time access_latency)
    : sc_core::sc_module(name), socket("socket"), m_size(size_bytes), m_latency(access_latency) {
  if (size_bytes != 0) {
    // MAP_NORESERVE: no swap is set aside either; pages are committed one by one when written.
    void* p = ::mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (p == MAP_FAILED) {
      std::ostringstream os;
      os << this->name() << ": cannot reserve " << size_bytes
         << " bytes of address space for host memory: " << std::strerror(errno);
      throw std::runtime_error(os.str());
    }
    m_bytes = static_cast<uint8_t*>(p);
  }
  socket.register_b_transport(this, &host_memory::b_transport);
  socket.register_transport_dbg(this, &host_memory::transport_dbg);
  socket.register_get_direct_mem_ptr(this, &host_memory::get_direct_mem_ptr);
}

host_memory::~host_memory() {
  if (m_bytes != nullptr) ::munmap(m_bytes, m_size);
}

uint8_t* host_memory::ptr(uint64_t addr, uint64_t len) {
  if (addr > m_size || len > m_size - addr) {
    std::ostringstream os;
    os << name() << ": access [0x" << std::hex << addr << ", +0x" << len << ") outside memory of 0x" << m_size
       << " bytes";
    throw std::out_of_range(os.str());
  }
  return m_bytes + addr;
}

const uint8_t* host_memory::ptr(uint64_t addr, uint64_t len) const {
  return const_cast<host_memory*>(this)->ptr(addr, len);
}

::tlm::tlm_response_status host_memory::access(::tlm::tlm_generic_payload& trans) {
  const uint64_t addr = trans.get_address();
  const unsigned len = trans.get_data_length();
  const unsigned width = trans.get_streaming_width();
  if (addr > m_size || len > m_size - addr) return ::tlm::TLM_ADDRESS_ERROR_RESPONSE;
  if (width != 0 && width < len) return ::tlm::TLM_BURST_ERROR_RESPONSE;  // no streaming into DRAM
  const auto cmd = trans.get_command();
  if (cmd == ::tlm::TLM_IGNORE_COMMAND) return ::tlm::TLM_OK_RESPONSE;
  uint8_t* mem = m_bytes + addr;
  uint8_t* data = trans.get_data_ptr();
  const uint8_t* be = trans.get_byte_enable_ptr();
  const unsigned be_len = trans.get_byte_enable_length();
  if (be != nullptr && be_len == 0) return ::tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE;
  if (be == nullptr) {
    // Every byte enabled: one bulk copy. A write commits the pages it touches, a read of
    // a page never written copies the shared zero page's zeros, as the byte loop did.
    if (len == 0) return ::tlm::TLM_OK_RESPONSE;
    if (cmd == ::tlm::TLM_WRITE_COMMAND)
      std::memcpy(mem, data, len);
    else
      std::memcpy(data, mem, len);
    return ::tlm::TLM_OK_RESPONSE;
  }
  for (unsigned i = 0; i < len; ++i) {
    if (be[i % be_len] != TLM_BYTE_ENABLED) continue;
    if (cmd == ::tlm::TLM_WRITE_COMMAND)
      mem[i] = data[i];
    else
      data[i] = mem[i];
  }
  return ::tlm::TLM_OK_RESPONSE;
}

void host_memory::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const auto status = access(trans);
  if (status == ::tlm::TLM_OK_RESPONSE) {
    if (trans.is_write())
      ++m_writes;
    else if (trans.is_read())
      ++m_reads;
    delay += m_latency;
    trans.set_dmi_allowed(true);
  }
  trans.set_response_status(status);
}

unsigned int host_memory::transport_dbg(::tlm::tlm_generic_payload& trans) {
  return access(trans) == ::tlm::TLM_OK_RESPONSE ? trans.get_data_length() : 0;
}

bool host_memory::get_direct_mem_ptr(::tlm::tlm_generic_payload& /*trans*/, ::tlm::tlm_dmi& dmi) {
  if (m_size == 0) return false;
  // The whole memory in one grant: pages still untouched are committed by the host OS
  // when the initiator first writes them through the pointer.
  dmi.set_dmi_ptr(m_bytes);
  dmi.set_start_address(0);
  dmi.set_end_address(m_size - 1);
  dmi.set_read_latency(m_latency);
  dmi.set_write_latency(m_latency);
  dmi.allow_read_write();
  return true;
}

}  // namespace nicsim::tlm
