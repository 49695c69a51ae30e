#include "hw/reg_file.h"

#include <cstring>
#include <stdexcept>

namespace nicsim::hw {

void reg_file::add(const std::string& name, uint32_t offset, uint32_t reset, read_fn rd, write_fn wr) {
  if (offset % 4 != 0 || !m_regs.emplace(offset, reg{name, reset, std::move(rd), std::move(wr)}).second)
    throw std::logic_error("register " + name + " at a misaligned or taken offset");
}

void reg_file::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& /*delay*/) {
  const uint64_t addr = trans.get_address();
  if (trans.get_data_length() != 4 || addr % 4 != 0) {
    trans.set_response_status(::tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(::tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  auto it = m_regs.find(static_cast<uint32_t>(addr));
  if (it == m_regs.end()) {
    trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  reg& r = it->second;
  uint32_t v = 0;
  if (trans.is_write()) {
    std::memcpy(&v, trans.get_data_ptr(), 4);  // PCIe and x86 are little-endian
    if (r.wr)
      r.wr(v);
    else
      r.value = v;
  } else if (trans.is_read()) {
    v = r.rd ? r.rd() : r.value;
    std::memcpy(trans.get_data_ptr(), &v, 4);
  }
  trans.set_response_status(::tlm::TLM_OK_RESPONSE);
}

uint32_t reg_file::value(uint32_t offset) const { return m_regs.at(offset).value; }
void reg_file::set(uint32_t offset, uint32_t v) { m_regs.at(offset).value = v; }
const std::string& reg_file::name_of(uint32_t offset) const { return m_regs.at(offset).name; }

}  // namespace nicsim::hw
