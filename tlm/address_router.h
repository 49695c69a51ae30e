#pragma once
// Decodes addresses to targets, as the host's root complex does for inbound
// TLPs: each target owns a range; the address is made relative to its base.
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

namespace nicsim::tlm {

class address_router : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<address_router> in;
  tlm_utils::multi_passthrough_initiator_socket<address_router> out;

  explicit address_router(const sc_core::sc_module_name& name);

  // Binds the next `out` port to target and maps [base, base + size) to it, at the
  // target's addresses [0, size). Returns the port.
  template <typename Socket>
  unsigned map(Socket& target, uint64_t base, uint64_t size, const std::string& what) {
    add_range(base, size, what, m_ports, 0);
    out.bind(target);
    return m_ports++;
  }
  // Maps [base, base + size) to the target already bound to port, at its addresses
  // [target_base, target_base + size): one target seen through a second window, as a
  // root complex remaps DRAM above the PCI hole.
  void alias(unsigned port, uint64_t base, uint64_t size, uint64_t target_base, const std::string& what);

  uint64_t decode_errors() const { return m_decode_errors; }

 private:
  struct range {
    uint64_t base, size;
    std::string what;
    unsigned port;
    uint64_t target_base;  // the target's address of base
  };
  void add_range(uint64_t base, uint64_t size, const std::string& what, unsigned port, uint64_t target_base);
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(::tlm::tlm_generic_payload& trans);
  // The range holding [address, address + len), or null.
  const range* decode(uint64_t address, unsigned len) const;

  std::vector<range> m_ranges;
  unsigned m_ports = 0;
  uint64_t m_decode_errors = 0;
};

}  // namespace nicsim::tlm
