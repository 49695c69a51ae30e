#pragma once
// A generic payload for a plain access: the whole buffer in one streaming beat, no byte
// enables, no response yet. Every initiator in nicsim fills its payloads through this.
#include <cstdint>
#include <exception>
#include <memory>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

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

// Generic payloads for an initiator without a memory manager, reused: a transaction leases
// one for as long as it is in flight and the lease gives it back, so that steady state
// constructs none (a payload's constructor allocates its extension array). Several may be out
// at once (threads blocked in a non-posted read). A leased payload is filled as
// prepare_payload does, with DMI not allowed and the minimal gp option, as a new one is.
class payload_pool {
 public:
  // `owner`, the initiator, is named in the error a payload that comes back with an extension
  // raises (IEEE 1666-2011, generic payload memory management: who sets an extension on a
  // payload without a memory manager clears it before b_transport returns; none may be left
  // for its next use).
  explicit payload_pool(const sc_core::sc_object& owner) : m_owner(owner) {}
  payload_pool(const payload_pool&) = delete;
  payload_pool& operator=(const payload_pool&) = delete;

  class lease {
   public:
    lease(payload_pool& pool, std::unique_ptr<::tlm::tlm_generic_payload> t)
        : m_pool(pool), m_t(std::move(t)) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    // Not noexcept: an extension left on the payload is reported with SC_REPORT_ERROR, which
    // throws (unless an exception is already on its way out).
    ~lease() noexcept(false) { m_pool.give_back(std::move(m_t)); }
    ::tlm::tlm_generic_payload& operator*() const { return *m_t; }
    ::tlm::tlm_generic_payload* operator->() const { return m_t.get(); }

   private:
    payload_pool& m_pool;
    std::unique_ptr<::tlm::tlm_generic_payload> m_t;
  };

  lease take(::tlm::tlm_command cmd, uint64_t address, void* data, unsigned len) {
    std::unique_ptr<::tlm::tlm_generic_payload> t;
    if (m_free.empty()) {
      t = std::make_unique<::tlm::tlm_generic_payload>();
    } else {
      t = std::move(m_free.back());
      m_free.pop_back();
    }
    prepare_payload(*t, cmd, address, data, len);
    t->set_dmi_allowed(false);
    t->set_gp_option(::tlm::TLM_MIN_PAYLOAD);
    return lease(*this, std::move(t));
  }

  size_t idle() const { return m_free.size(); }

 private:
  void give_back(std::unique_ptr<::tlm::tlm_generic_payload> t) {
    bool left = false;
    // Looked for on the first 1,024 returns and every 64th after: looking is a library call
    // per registered extension type, and an extension left behind stays on the payload, so a
    // later look still finds it.
    const uint64_t n = m_returns++;
    const bool look = n < 1024 || (n & 63) == 0;
    for (unsigned i = 0; look && i < m_extension_ids; ++i) {
      if (t->get_extension(i) == nullptr) continue;
      t->set_extension(i, nullptr);  // not the pool's to free: its owner set it, and lost it
      left = true;
    }
    m_free.push_back(std::move(t));
    if (left && std::uncaught_exceptions() == 0)
      SC_REPORT_ERROR(m_owner.name(), "a payload came back with an extension");
  }

  const sc_core::sc_object& m_owner;
  std::vector<std::unique_ptr<::tlm::tlm_generic_payload>> m_free;
  uint64_t m_returns = 0;
  // Extension types registered (at static initialisation, before any module exists).
  const unsigned m_extension_ids = ::tlm::max_num_extensions();
};

}  // namespace nicsim::tlm
