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

  // Binds the next `out` port to target and maps [base, base + size) to it.
  template <typename Socket>
  void map(Socket& target, uint64_t base, uint64_t size, const std::string& what) {
    add_range(base, size, what);
    out.bind(target);
  }

  uint64_t decode_errors() const { return m_decode_errors; }

 private:
  struct range {
    uint64_t base, size;
    std::string what;
  };
  void add_range(uint64_t base, uint64_t size, const std::string& what);
  void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(::tlm::tlm_generic_payload& trans);
  int decode(uint64_t address, unsigned len) const;

  std::vector<range> m_ranges;
  uint64_t m_decode_errors = 0;
};

}  // namespace nicsim::tlm
