#include "tlm/address_router.h"

#include <stdexcept>

namespace nicsim::tlm {

address_router::address_router(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &address_router::b_transport);
  in.register_transport_dbg(this, &address_router::transport_dbg);
}

void address_router::add_range(uint64_t base, uint64_t size, const std::string& what, unsigned port,
                               uint64_t target_base) {
  if (size == 0) throw std::invalid_argument(std::string(name()) + ": empty range for " + what);
  if (base + size < base) throw std::invalid_argument(std::string(name()) + ": range of " + what + " wraps");
  for (const auto& r : m_ranges)
    if (base < r.base + r.size && r.base < base + size)
      throw std::invalid_argument(std::string(name()) + ": range of " + what + " overlaps " + r.what);
  m_ranges.push_back({base, size, what, port, target_base});
}

void address_router::alias(unsigned port, uint64_t base, uint64_t size, uint64_t target_base,
                           const std::string& what) {
  if (port >= m_ports)
    throw std::invalid_argument(std::string(name()) + ": " + what + " aliases port " + std::to_string(port) +
                                ", which is not bound");
  add_range(base, size, what, port, target_base);
}

const address_router::range* address_router::decode(uint64_t address, unsigned len) const {
  for (const auto& r : m_ranges)
    if (address >= r.base && address - r.base <= r.size && len <= r.size - (address - r.base)) return &r;
  return nullptr;
}

void address_router::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t address = trans.get_address();
  const range* r = decode(address, trans.get_data_length());
  if (r == nullptr) {
    ++m_decode_errors;
    trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  trans.set_address(address - r->base + r->target_base);
  out[static_cast<int>(r->port)]->b_transport(trans, delay);
  trans.set_address(address);
}

unsigned int address_router::transport_dbg(::tlm::tlm_generic_payload& trans) {
  const uint64_t address = trans.get_address();
  const range* r = decode(address, trans.get_data_length());
  if (r == nullptr) return 0;
  trans.set_address(address - r->base + r->target_base);
  const unsigned n = out[static_cast<int>(r->port)]->transport_dbg(trans);
  trans.set_address(address);
  return n;
}

}  // namespace nicsim::tlm
