#include "tlm/address_router.h"

#include <stdexcept>

namespace nicsim::tlm {

address_router::address_router(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &address_router::b_transport);
  in.register_transport_dbg(this, &address_router::transport_dbg);
}

void address_router::add_range(uint64_t base, uint64_t size, const std::string& what) {
  if (size == 0) throw std::invalid_argument(std::string(name()) + ": empty range for " + what);
  for (const auto& r : m_ranges)
    if (base < r.base + r.size && r.base < base + size)
      throw std::invalid_argument(std::string(name()) + ": range of " + what + " overlaps " + r.what);
  m_ranges.push_back({base, size, what});
}

int address_router::decode(uint64_t address, unsigned len) const {
  for (size_t i = 0; i < m_ranges.size(); ++i) {
    const auto& r = m_ranges[i];
    if (address >= r.base && address - r.base <= r.size && len <= r.size - (address - r.base))
      return static_cast<int>(i);
  }
  return -1;
}

void address_router::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t address = trans.get_address();
  const int port = decode(address, trans.get_data_length());
  if (port < 0) {
    ++m_decode_errors;
    trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  trans.set_address(address - m_ranges[static_cast<size_t>(port)].base);
  out[port]->b_transport(trans, delay);
  trans.set_address(address);
}

unsigned int address_router::transport_dbg(::tlm::tlm_generic_payload& trans) {
  const uint64_t address = trans.get_address();
  const int port = decode(address, trans.get_data_length());
  if (port < 0) return 0;
  trans.set_address(address - m_ranges[static_cast<size_t>(port)].base);
  const unsigned n = out[port]->transport_dbg(trans);
  trans.set_address(address);
  return n;
}

}  // namespace nicsim::tlm
