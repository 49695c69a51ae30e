#pragma once
// A PCIe link between the NIC and the host: per direction a serializer with
// bandwidth and TLP overhead, then a flight latency. Posted writes (DMA data,
// descriptor write-back, MSI, MMIO writes) are buffered and delivered in order
// at their arrival time; non-posted reads travel the same ordered queue, so a
// read never passes an earlier write (PCIe ordering), and pay the round trip
// including the completion's trip back on the opposite direction. A posted write longer than
// the MPS goes out as its TLPs back to back and arrives with the last one: its initiator uses
// that only for data nobody reads before a later write says it is there (a frame's buffer,
// before its descriptor's write-back), and marks it unread_until_later_write (tlm/payload.h).
// Such a write is handed to its target when it is sent, its delay annotated to its arrival,
// and takes no place in the queue: the write that makes it visible keeps the lane's order.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "tlm/payload.h"

namespace nicsim::tlm {

struct link_params {
  double gbps = 63.0;                             // data rate per direction (PCIe Gen3 x8 after 128b/130b)
  sc_core::sc_time latency{250, sc_core::SC_NS};  // one-way flight + switch/root complex
  unsigned tlp_overhead_bytes =
      24;  // STP/SDP framing 4 + seq 2 + 4DW header 16 + LCRC 4 ≈ 24 (PCIe 3.0 §4.2)
  unsigned max_payload_bytes = 256;  // MPS
};

struct link_direction_stats {
  uint64_t tlps = 0;
  uint64_t payload_bytes = 0;
  uint64_t wire_bytes = 0;
  sc_core::sc_time busy{sc_core::SC_ZERO_TIME};
};

class pcie_link : public sc_core::sc_module {
 public:
  enum direction { UPSTREAM = 0, DOWNSTREAM = 1 };  // device→host, host→device

  tlm_utils::simple_target_socket<pcie_link> up_in;        // from the device (DMA, MSI)
  tlm_utils::simple_initiator_socket<pcie_link> up_out;    // to the host fabric
  tlm_utils::simple_target_socket<pcie_link> down_in;      // from the CPU (MMIO)
  tlm_utils::simple_initiator_socket<pcie_link> down_out;  // to the device's BAR

  pcie_link(const sc_core::sc_module_name& name, const link_params& params);

  const link_params& params() const { return m_params; }
  const link_direction_stats& stats(direction d) const { return m_dir[d].stats; }
  // Wire time of len bytes of payload including per-TLP overhead.
  sc_core::sc_time serialization(unsigned payload_bytes) const;
  unsigned tlps_for(unsigned payload_bytes) const;

 private:
  struct pending {
    ::tlm::tlm_generic_payload* read = nullptr;  // non-posted: the caller's payload
    sc_core::sc_event* done = nullptr;           // non-posted: notified when the completion is back
    ::tlm::tlm_command cmd = ::tlm::TLM_WRITE_COMMAND;
    uint64_t address = 0;
    std::vector<uint8_t> data;  // posted: a copy, the initiator has moved on
    sc_core::sc_time arrival;
  };
  // A lane's transactions in order: a ring of slots that keep their data buffers, so that
  // queueing a posted write copies its bytes into storage an earlier one left (no allocation
  // once ring and buffers have grown to the traffic).
  class pending_queue {
   public:
    bool empty() const { return m_size == 0; }
    size_t size() const { return m_size; }
    pending& front() { return m_slots[m_head]; }
    // A slot at the back: no read, no event, empty data (its buffer kept from its last use).
    pending& push_back();
    void pop_front() {
      m_head = (m_head + 1) & (m_slots.size() - 1);
      --m_size;
    }

   private:
    std::vector<pending> m_slots;  // a power of two of them
    size_t m_head = 0, m_size = 0;
  };
  struct lane {
    sc_core::sc_time busy_until{sc_core::SC_ZERO_TIME};
    pending_queue queue;
    sc_core::sc_event arrived;
    link_direction_stats stats;
    // The posted write being delivered, out of the queue (a target may queue another on this
    // lane meanwhile): its bytes, in a buffer reused from write to write (deliver is a method,
    // never re-entered).
    std::vector<uint8_t> delivering;
  };

  void up_b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void down_b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void transport(direction d, ::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  // Occupies lane d for payload_bytes from no earlier than earliest; returns when the last bit left.
  sc_core::sc_time occupy(direction d, sc_core::sc_time earliest, unsigned payload_bytes);
  // A posted write as its TLPs (one per MPS of payload), each occupying the lane in turn as if
  // its initiator had sent them one by one; returns when the last one's last bit left.
  sc_core::sc_time occupy_posted(direction d, sc_core::sc_time earliest, unsigned payload_bytes);
  void deliver_upstream() { deliver(UPSTREAM); }
  void deliver_downstream() { deliver(DOWNSTREAM); }
  void deliver(direction d);
  tlm_utils::simple_initiator_socket<pcie_link>& out(direction d) {
    return d == UPSTREAM ? up_out : down_out;
  }

  link_params m_params;
  double m_ns_per_byte;
  // serialization(n) for n = 0..MPS, the sizes of every TLP: an sc_time from a double is a
  // library call with a rounding per TLP otherwise. The same values, computed once.
  std::vector<sc_core::sc_time> m_tlp_time;
  // Completion events of non-posted reads no one waits on any more, for the next reads.
  std::vector<std::unique_ptr<sc_core::sc_event>> m_spare_events;
  lane m_dir[2];
  // The payloads posted writes are delivered in, reused.
  payload_pool m_posts{*this};
};

}  // namespace nicsim::tlm
