#pragma once
// A generic payload for a plain access: the whole buffer in one streaming beat, no byte
// enables, no response yet. Every initiator in nicsim fills its payloads through this.
#include <cstdint>
#include <tlm>

namespace nicsim::tlm {

inline void prepare_payload(::tlm::tlm_generic_payload& t, ::tlm::tlm_command cmd, uint64_t address,
                            void* data, unsigned len) {
  t.set_command(cmd);
  t.set_address(address);
  t.set_data_ptr(static_cast<unsigned char*>(data));
  t.set_data_length(len);
  t.set_streaming_width(len);
  t.set_byte_enable_ptr(nullptr);
  t.set_byte_enable_length(0);
  t.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
}

// An ignorable extension (IEEE 1666-2011 §14.2.2) an initiator sets on a posted write whose
// bytes no one reads before a later write on the same path says they are there: a frame's
// buffer, read by the driver only after its descriptor's write-back. A link may then hand the
// write to its target when it is sent, with the delay annotated to its arrival (the
// loosely-timed coding style, §10.3.2), instead of holding it until then; the later write
// still arrives in the link's order and at its own time. Targets ignore it.
struct unread_until_later_write : ::tlm::tlm_extension<unread_until_later_write> {
  ::tlm::tlm_extension_base* clone() const override { return new unread_until_later_write(*this); }
  void copy_from(const ::tlm::tlm_extension_base& /*other*/) override {}
};

}  // namespace nicsim::tlm
