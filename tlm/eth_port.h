#pragma once
// One end of a full-duplex, point-to-point Ethernet link (after gem5's EtherInt and VCML's
// eth_initiator_socket/eth_target_socket): two ports bound to each other, each of which can
// send and receive frames. The sending port is the PHY: it serializes at the link's line
// rate, so a frame's first bit leaves when transmit() is called and its last bit reaches the
// peer one preamble+SFD (8) + frame (FCS included) later; the next frame's first bit leaves
// no earlier than the inter-frame gap (12 bytes) after that. A link may have a one-way
// propagation delay (set_delay, the same both ways): every bit then reaches the peer that
// much later, while the sender's port is free again after its own serialization, so frames
// can be in flight on the wire one behind the other. Counts are kept at the port, whoever
// is behind it.
#include <cstdint>
#include <deque>
#include <functional>
#include <systemc>

#include "proto/frame.h"

namespace nicsim::tlm {

struct eth_port_stats {
  // Sent by this port: first bit on the wire (frames, bytes) and last bit at the peer.
  uint64_t tx_frames = 0, tx_bytes = 0, tx_done = 0;
  // Coming in: first bit seen (frames, bytes) and last bit arrived (handed to the receiver).
  uint64_t rx_started = 0, rx_started_bytes = 0, rx_frames = 0, rx_bytes = 0;
};

class eth_port : public sc_core::sc_object {
 public:
  using handler = std::function<void(const proto::wire_frame&)>;

  // line_rate_gbps = 0: the port takes its peer's rate when bound (autonegotiation); two
  // ports with different nonzero rates cannot be bound.
  explicit eth_port(const char* name, double line_rate_gbps = 0);
  eth_port(const eth_port&) = delete;
  eth_port& operator=(const eth_port&) = delete;

  const char* kind() const override { return "eth_port"; }

  // Binds both directions at once; each port has exactly one peer (std::logic_error otherwise).
  void bind(eth_port& peer);
  bool bound() const { return m_peer != nullptr; }
  eth_port* peer() const { return m_peer; }
  double line_rate_gbps() const { return m_gbps; }
  // One-way propagation delay of the link (cable length / signal speed), both directions:
  // set on either port, before or after binding, it applies to both ends. Zero by default.
  void set_delay(sc_core::sc_time delay);
  sc_core::sc_time delay() const { return m_delay; }

  // Where a frame goes when its last bit has arrived at this port (the MAC, the partner).
  // A frame with no receiver registered is counted and discarded.
  void register_receive(handler fn) { m_receive = std::move(fn); }
  // Taps on frames coming in: the first bit is seen, the last bit has arrived (before the
  // receiver is called). For observers; they must not send.
  handler on_rx_first_bit, on_rx_last_bit;
  // Tap on frames going out: called as this port's first bit leaves (before the peer sees
  // it, a link delay earlier). For observers; it must not send.
  handler on_tx_first_bit;

  // Puts a frame on the wire from a SystemC thread and returns when its last bit has reached
  // the peer (with no link delay) or has left this port (with a delay: the wire keeps a copy
  // and delivers it a delay later). Waits first while this port is still sending or inside
  // the inter-frame gap. The frame must stay valid until the call returns.
  void transmit(const proto::wire_frame& frame);
  // transmit() in two halves, for a caller that is not a thread (an SC_METHOD): begin_transmit
  // puts the frame's first bit on the wire now and returns the time until its last bit is at
  // the peer (or has left, with a link delay); end_transmit, called that much later, hands it
  // over. The port must be free (not busy, next_start() now: std::logic_error otherwise);
  // transmit() is exactly these two with the waits between.
  sc_core::sc_time begin_transmit(const proto::wire_frame& frame);
  void end_transmit(const proto::wire_frame& frame);
  // begin_transmit for a first bit that left at `start`, up to one frame time ago (start no
  // earlier than the port was free, no later than now), for a sender that does the first bit's
  // work when its last bit is due (traffic_source's lazy first bit): the counts and taps are
  // the same, and first_bit_at() tells the taps when it was. No link delay.
  sc_core::sc_time begin_transmit_at(const proto::wire_frame& frame, sc_core::sc_time start);
  // When the first bit of the frame a tap is called for left (on_tx_first_bit) or arrived
  // (on_rx_first_bit): now, or earlier for begin_transmit_at.
  sc_core::sc_time first_bit_at() const { return m_first_bit_at; }
  // When the port is free again for a first bit (the current frame's gap is over).
  sc_core::sc_time free_at() const { return m_free_at; }
  bool busy() const { return m_busy; }
  // The earliest time a frame handed to transmit() now would put its first bit on the wire
  // (now, or when the current frame and the gap after it are over).
  sc_core::sc_time next_start() const;

  // Wire time of a frame of `bytes` (FCS included): preamble+SFD and frame; and with the gap.
  sc_core::sc_time frame_time(size_t bytes) const;
  sc_core::sc_time slot_time(size_t bytes) const;

  const eth_port_stats& stats() const { return m_stats; }
  // Frames this port has started and whose last bit has not reached the peer yet.
  uint64_t tx_in_flight() const { return m_stats.tx_frames - m_stats.tx_done; }

 private:
  struct propagating {
    proto::wire_frame frame;
    sc_core::sc_time first_bit_at, last_bit_at;  // at the peer
  };
  void deliver_delayed();  // the wire toward the peer, when the link has a delay
  void check_transmit() const;
  void cache_times(size_t bytes) const;
  sc_core::sc_time first_bit_left(const proto::wire_frame& frame, sc_core::sc_time start);
  void arrive_first_bit(const proto::wire_frame& frame, sc_core::sc_time at);
  void arrive_last_bit(const proto::wire_frame& frame);

  sc_core::sc_time m_delay{sc_core::SC_ZERO_TIME};
  std::deque<propagating> m_wire;  // frames on their way to the peer, oldest first
  sc_core::sc_event m_wire_ev;
  bool m_wire_running = false;
  eth_port* m_peer = nullptr;
  double m_gbps;
  handler m_receive;
  bool m_busy = false;
  sc_core::sc_time m_free_at{sc_core::SC_ZERO_TIME};       // the gap after the last frame ends here
  sc_core::sc_time m_first_bit_at{sc_core::SC_ZERO_TIME};  // for the taps: see first_bit_at()
  sc_core::sc_event m_idle_ev;  // notified when the port stops sending, if a thread waits
  unsigned m_waiting = 0;
  eth_port_stats m_stats;
  // frame_time and slot_time of the last size asked for (at the rate then).
  mutable size_t m_times_bytes = 0;
  mutable double m_times_gbps = 0;
  mutable sc_core::sc_time m_frame_time, m_slot_time;
};

}  // namespace nicsim::tlm
