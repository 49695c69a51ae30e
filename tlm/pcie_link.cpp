#include "tlm/pcie_link.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "tlm/payload.h"

namespace nicsim::tlm {

using sc_core::sc_time;

pcie_link::pcie_link(const sc_core::sc_module_name& name, const link_params& params)
    : sc_core::sc_module(name),
      up_in("up_in"),
      up_out("up_out"),
      down_in("down_in"),
      down_out("down_out"),
      m_params(params),
      m_ns_per_byte(8.0 / params.gbps) {
  if (!(params.gbps > 0) || params.max_payload_bytes == 0)
    throw std::invalid_argument(std::string(this->name()) + ": link bandwidth and MPS must be positive");
  m_tlp_time.reserve(params.max_payload_bytes + 1);
  for (unsigned n = 0; n <= params.max_payload_bytes; ++n) m_tlp_time.push_back(serialization(n));
  up_in.register_b_transport(this, &pcie_link::up_b_transport);
  down_in.register_b_transport(this, &pcie_link::down_b_transport);
  SC_HAS_PROCESS(pcie_link);
  // Methods, not threads: delivering never waits (the targets answer at once), and a method
  // activation costs no stack switch.
  SC_METHOD(deliver_upstream);
  SC_METHOD(deliver_downstream);
}

pcie_link::pending& pcie_link::pending_queue::push_back() {
  if (m_size == m_slots.size()) {
    std::vector<pending> slots(std::max<size_t>(8, 2 * m_slots.size()));
    for (size_t i = 0; i < m_size; ++i) slots[i] = std::move(m_slots[(m_head + i) & (m_slots.size() - 1)]);
    m_slots.swap(slots);
    m_head = 0;
  }
  pending& p = m_slots[(m_head + m_size) & (m_slots.size() - 1)];
  ++m_size;
  p.read = nullptr;
  p.done = nullptr;
  p.data.clear();
  return p;
}

unsigned pcie_link::tlps_for(unsigned payload_bytes) const {
  return std::max(1u, (payload_bytes + m_params.max_payload_bytes - 1) / m_params.max_payload_bytes);
}

sc_time pcie_link::serialization(unsigned payload_bytes) const {
  const unsigned wire = payload_bytes + tlps_for(payload_bytes) * m_params.tlp_overhead_bytes;
  return sc_time(wire * m_ns_per_byte, sc_core::SC_NS);
}

sc_time pcie_link::occupy(direction d, sc_time earliest, unsigned payload_bytes) {
  lane& l = m_dir[d];
  const sc_time start = std::max(earliest, l.busy_until);
  const sc_time ser =
      payload_bytes < m_tlp_time.size() ? m_tlp_time[payload_bytes] : serialization(payload_bytes);
  l.busy_until = start + ser;
  l.stats.tlps += tlps_for(payload_bytes);
  l.stats.payload_bytes += payload_bytes;
  l.stats.wire_bytes += payload_bytes + tlps_for(payload_bytes) * m_params.tlp_overhead_bytes;
  l.stats.busy += ser;
  return l.busy_until;
}

sc_time pcie_link::occupy_posted(direction d, sc_time earliest, unsigned payload_bytes) {
  sc_time sent = earliest;
  unsigned left = payload_bytes;
  do {
    const unsigned n = std::min(left, m_params.max_payload_bytes);
    sent = occupy(d, sent, n);
    left -= n;
  } while (left != 0);
  return sent;
}

void pcie_link::up_b_transport(::tlm::tlm_generic_payload& trans, sc_time& delay) {
  transport(UPSTREAM, trans, delay);
}
void pcie_link::down_b_transport(::tlm::tlm_generic_payload& trans, sc_time& delay) {
  transport(DOWNSTREAM, trans, delay);
}

void pcie_link::transport(direction d, ::tlm::tlm_generic_payload& trans, sc_time& delay) {
  const sc_time now = sc_core::sc_time_stamp();
  const unsigned len = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(::tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);  // whole-dword TLPs only here
    return;
  }
  if (trans.get_streaming_width() != 0 && trans.get_streaming_width() < len) {
    trans.set_response_status(::tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  lane& l = m_dir[d];
  if (trans.is_write()) {
    // Posted: the initiator is free once its TLPs have left.
    const sc_time sent = occupy_posted(d, now + delay, len);
    delay = sent - now;
    if (trans.get_extension<unread_until_later_write>() != nullptr) {
      // Nobody reads it before a later write on this lane lands: the target takes it now,
      // annotated with its arrival, and no delivery is scheduled for it.
      sc_time at = sent + m_params.latency - now;
      out(d)->b_transport(trans, at);
      if (trans.is_response_error())
        SC_REPORT_ERROR(name(), ("posted write failed: " + trans.get_response_string()).c_str());
      return;
    }
    pending& p = l.queue.push_back();
    p.cmd = trans.get_command();
    p.address = trans.get_address();
    p.data.assign(trans.get_data_ptr(), trans.get_data_ptr() + len);
    p.arrival = sent + m_params.latency;
    if (l.queue.size() == 1) l.arrived.notify(l.queue.front().arrival - now);
    trans.set_response_status(::tlm::TLM_OK_RESPONSE);
    return;
  }
  if (!trans.is_read()) {
    trans.set_response_status(::tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  // Non-posted: the caller blocks until the completion is back, so this must be a thread.
  if (sc_core::sc_get_current_process_handle().proc_kind() != sc_core::SC_THREAD_PROC_) {
    trans.set_response_status(::tlm::TLM_GENERIC_ERROR_RESPONSE);
    SC_REPORT_ERROR(name(), "non-posted read issued from a method process");
    return;
  }
  // The completion's event, from the link's spares (an event a waiter has left keeps the room
  // its waiter list grew, so a read allocates nothing); back among them once notified.
  std::unique_ptr<sc_core::sc_event> done;
  if (m_spare_events.empty()) {
    done = std::make_unique<sc_core::sc_event>();
  } else {
    done = std::move(m_spare_events.back());
    m_spare_events.pop_back();
  }
  const sc_time sent = occupy(d, now + delay, 0);  // the request TLP carries no data
  pending& p = l.queue.push_back();
  p.cmd = trans.get_command();
  p.address = trans.get_address();
  p.read = &trans;
  p.done = done.get();
  p.arrival = sent + m_params.latency;
  if (l.queue.size() == 1) l.arrived.notify(l.queue.front().arrival - now);
  sc_core::wait(*done);
  m_spare_events.push_back(std::move(done));
  delay = sc_core::SC_ZERO_TIME;
}

void pcie_link::deliver(direction d) {
  lane& l = m_dir[d];
  const direction back = d == UPSTREAM ? DOWNSTREAM : UPSTREAM;
  for (;;) {
    if (l.queue.empty()) {
      next_trigger(l.arrived);
      return;
    }
    const sc_time now = sc_core::sc_time_stamp();
    if (l.queue.front().arrival > now) {
      next_trigger(l.queue.front().arrival - now);
      return;
    }
    pending& p = l.queue.front();
    sc_time target_delay = sc_core::SC_ZERO_TIME;
    if (p.read == nullptr) {
      // Out of the queue first: the target may queue a transaction on this lane. The data
      // buffers trade places, each keeping its storage.
      const ::tlm::tlm_command cmd = p.cmd;
      const uint64_t address = p.address;
      l.delivering.swap(p.data);
      l.queue.pop_front();
      const auto t =
          m_posts.take(cmd, address, l.delivering.data(), static_cast<unsigned>(l.delivering.size()));
      out(d)->b_transport(*t, target_delay);
      if (t->is_response_error()) {
        // A posted write has no completion to carry the error back: report it.
        SC_REPORT_ERROR(name(), ("posted write failed: " + t->get_response_string()).c_str());
      }
    } else {
      ::tlm::tlm_generic_payload* read = p.read;
      sc_core::sc_event* done = p.done;
      l.queue.pop_front();
      out(d)->b_transport(*read, target_delay);
      const unsigned len = read->is_response_ok() ? read->get_data_length() : 0;
      const sc_time back_sent = occupy(back, now + target_delay, len);
      done->notify(back_sent + m_params.latency - now);
    }
  }
}

}  // namespace nicsim::tlm
