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

}  // namespace nicsim::tlm
