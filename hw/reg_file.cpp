#include "hw/reg_file.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace nicsim::hw {

reg::reg(std::string name, uint32_t offset, uint32_t reset_value)
    : m_name(std::move(name)), m_offset(offset), m_reset(reset_value), m_value(reset_value) {}

reg& reg::write_mask(uint32_t bits) {
  m_write_mask = bits;
  return *this;
}

reg& reg::read_to_clear() {
  m_read_to_clear = true;
  return *this;
}

reg& reg::read_only() {
  m_read_only = true;
  return *this;
}

reg& reg::on_read(read_fn fn) {
  m_read = std::move(fn);
  return *this;
}

reg& reg::on_write(write_fn fn) {
  m_write = std::move(fn);
  return *this;
}

uint32_t reg::read() {
  const uint32_t v = peek();
  if (m_read_to_clear) m_value = 0;
  return v;
}

void reg::write(uint32_t v) {
  if (m_read_only) return;
  v &= m_write_mask;
  if (m_write)
    m_write(v);
  else
    m_value = v;
}

uint32_t reg::peek() const { return m_read ? m_read() : m_value; }

bool reg::poke(uint32_t v) {
  if (m_read_only) return false;
  m_value = v & m_write_mask;
  return true;
}

void reg_file::add(reg& r) {
  if (r.offset() % 4 != 0 || !m_regs.emplace(r.offset(), &r).second)
    throw std::logic_error("register " + r.name() + " at a misaligned or taken offset");
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
  reg* r = addr > UINT32_MAX ? nullptr : find(static_cast<uint32_t>(addr));
  if (r == nullptr) {
    trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  uint32_t v = 0;
  if (trans.is_write()) {
    std::memcpy(&v, trans.get_data_ptr(), 4);  // PCIe and x86 are little-endian
    r->write(v);
  } else if (trans.is_read()) {
    v = r->read();
    std::memcpy(trans.get_data_ptr(), &v, 4);
  }
  trans.set_response_status(::tlm::TLM_OK_RESPONSE);
}

unsigned reg_file::transport_dbg(::tlm::tlm_generic_payload& trans) {
  const uint64_t addr = trans.get_address();
  const unsigned len = trans.get_data_length();
  if (addr % 4 != 0 || len % 4 != 0 || trans.get_byte_enable_ptr() != nullptr) return 0;
  unsigned done = 0;
  for (; done < len; done += 4) {
    reg* r = addr + done > UINT32_MAX ? nullptr : find(static_cast<uint32_t>(addr + done));
    if (r == nullptr) break;
    uint32_t v = 0;
    if (trans.is_write()) {
      std::memcpy(&v, trans.get_data_ptr() + done, 4);
      if (!r->poke(v)) break;
    } else if (trans.is_read()) {
      v = r->peek();
      std::memcpy(trans.get_data_ptr() + done, &v, 4);
    } else {
      break;  // TLM_IGNORE_COMMAND moves no data
    }
  }
  return done;
}

void reg_file::reset() {
  for (auto& entry : m_regs) entry.second->reset();
}

reg* reg_file::find(uint32_t offset) const {
  auto it = m_regs.find(offset);
  return it == m_regs.end() ? nullptr : it->second;
}

const std::string& reg_file::name_of(uint32_t offset) const { return m_regs.at(offset)->name(); }

}  // namespace nicsim::hw
