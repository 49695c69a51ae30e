#include "tlm/eth_port.h"

#include <stdexcept>
#include <string>
#include <utility>

#include "tlm/local_time.h"

namespace nicsim::tlm {

eth_port::eth_port(const char* name, double line_rate_gbps)
    : sc_core::sc_object(name), m_gbps(line_rate_gbps) {
  if (!(line_rate_gbps >= 0))
    throw std::invalid_argument(std::string(this->name()) + ": line rate must be >= 0 Gb/s");
}

void eth_port::bind(eth_port& peer) {
  if (&peer == this) throw std::logic_error(std::string(name()) + ": cannot bind a port to itself");
  if (m_peer != nullptr || peer.m_peer != nullptr)
    throw std::logic_error(std::string(name()) + " <-> " + peer.name() + ": a port has one peer; " +
                           (m_peer != nullptr ? name() : peer.name()) + " is already bound");
  if (m_gbps != 0 && peer.m_gbps != 0 && m_gbps != peer.m_gbps)
    throw std::logic_error(std::string(name()) + " (" + std::to_string(m_gbps) + " Gb/s) <-> " + peer.name() +
                           " (" + std::to_string(peer.m_gbps) + " Gb/s): line rates differ");
  if (m_delay != sc_core::SC_ZERO_TIME && peer.m_delay != sc_core::SC_ZERO_TIME && m_delay != peer.m_delay)
    throw std::logic_error(std::string(name()) + " <-> " + peer.name() + ": link delays differ");
  const double rate = m_gbps != 0 ? m_gbps : peer.m_gbps;
  m_gbps = peer.m_gbps = rate;
  m_peer = &peer;
  peer.m_peer = this;
  const sc_core::sc_time delay = m_delay > peer.m_delay ? m_delay : peer.m_delay;
  m_delay = peer.m_delay = delay;
}

void eth_port::set_delay(sc_core::sc_time delay) {
  m_delay = delay;
  if (m_peer != nullptr) m_peer->m_delay = delay;
}

sc_core::sc_time eth_port::next_start() const {
  const sc_core::sc_time now = sim_now();
  return m_free_at > now ? m_free_at : now;
}

// The same expressions the traffic source paced with before the port existed, so that
// times round to the same picosecond.
// The last size's two times are kept (the same expressions, so the same picoseconds): a
// generator sends one size, and an sc_time built from a double is not free.
sc_core::sc_time eth_port::frame_time(size_t bytes) const {
  if (bytes != m_times_bytes || m_gbps != m_times_gbps) cache_times(bytes);
  return m_frame_time;
}

sc_core::sc_time eth_port::slot_time(size_t bytes) const {
  if (bytes != m_times_bytes || m_gbps != m_times_gbps) cache_times(bytes);
  return m_slot_time;
}

void eth_port::cache_times(size_t bytes) const {
  const double frame_bits = 8.0 * static_cast<double>(proto::ETH_PREAMBLE_SFD + bytes);
  const double slot_bits = 8.0 * static_cast<double>(proto::ETH_PREAMBLE_SFD + bytes + proto::ETH_IFG);
  m_frame_time = sc_core::sc_time(frame_bits / m_gbps, sc_core::SC_NS);
  m_slot_time = sc_core::sc_time(slot_bits / m_gbps, sc_core::SC_NS);
  m_times_bytes = bytes;
  m_times_gbps = m_gbps;
}

void eth_port::transmit(const proto::wire_frame& frame) {
  check_transmit();
  while (m_busy) {
    ++m_waiting;
    sc_core::wait(m_idle_ev);
    --m_waiting;
  }
  const sc_core::sc_time now = sim_now();
  if (now < m_free_at) sc_core::wait(m_free_at - now);
  sc_core::wait(begin_transmit(frame));
  end_transmit(frame);
}

void eth_port::check_transmit() const {
  if (m_peer == nullptr) throw std::logic_error(std::string(name()) + ": transmit on an unbound port");
  if (m_gbps == 0)
    throw std::logic_error(std::string(name()) + ": transmit with no line rate (neither end sets one)");
}

sc_core::sc_time eth_port::begin_transmit(const proto::wire_frame& frame) {
  check_transmit();
  if (m_busy || sim_now() < m_free_at)
    throw std::logic_error(std::string(name()) + ": begin_transmit while the port is not free");
  const sc_core::sc_time start = sim_now();
  const sc_core::sc_time ft = first_bit_left(frame, start);
  if (m_delay != sc_core::SC_ZERO_TIME) {
    // The wire carries a copy; the sender is free once its last bit has left.
    m_wire.push_back({frame, start + m_delay, start + ft + m_delay});
    if (!m_wire_running) {
      m_wire_running = true;
      sc_core::sc_spawn([this] { deliver_delayed(); }, sc_core::sc_gen_unique_name("wire"));
    }
    m_wire_ev.notify(sc_core::SC_ZERO_TIME);
    return ft;
  }
  m_peer->arrive_first_bit(frame, start);
  return ft;  // the last bit arrives
}

sc_core::sc_time eth_port::begin_transmit_at(const proto::wire_frame& frame, sc_core::sc_time start) {
  check_transmit();
  const sc_core::sc_time now = sim_now();
  if (m_busy || start < m_free_at || start > now || now > start + frame_time(frame.bytes.size()) ||
      m_delay != sc_core::SC_ZERO_TIME)
    throw std::logic_error(std::string(name()) + ": begin_transmit_at outside the frame's time on the wire");
  const sc_core::sc_time ft = first_bit_left(frame, start);
  m_peer->arrive_first_bit(frame, start);
  return start + ft - now;  // until the last bit arrives
}

// The sender's side of a first bit that left at start: busy, the gap measured from it (a
// slot, as the traffic source paces its frames), the counts, the tap. Returns the frame time.
sc_core::sc_time eth_port::first_bit_left(const proto::wire_frame& frame, sc_core::sc_time start) {
  m_busy = true;
  const auto size = frame.bytes.size();
  m_free_at = start + slot_time(size);
  ++m_stats.tx_frames;
  m_stats.tx_bytes += size;
  m_first_bit_at = start;
  if (on_tx_first_bit) on_tx_first_bit(frame);
  return frame_time(size);
}

void eth_port::end_transmit(const proto::wire_frame& frame) {
  m_busy = false;
  if (m_waiting != 0) m_idle_ev.notify(sc_core::SC_ZERO_TIME);  // no empty delta cycles otherwise
  if (m_delay != sc_core::SC_ZERO_TIME) return;                 // the wire delivers it
  ++m_stats.tx_done;
  m_peer->arrive_last_bit(frame);
}

void eth_port::arrive_first_bit(const proto::wire_frame& frame, sc_core::sc_time at) {
  m_first_bit_at = at;
  ++m_stats.rx_started;
  m_stats.rx_started_bytes += frame.bytes.size();
  if (on_rx_first_bit) on_rx_first_bit(frame);
}

void eth_port::arrive_last_bit(const proto::wire_frame& frame) {
  ++m_stats.rx_frames;
  m_stats.rx_bytes += frame.bytes.size();
  if (on_rx_last_bit) on_rx_last_bit(frame);
  if (m_receive) m_receive(frame);
}

// Frames leave one after another with a gap, and all take the same delay: each one's first
// bit arrives after the previous one's last bit, so the wire delivers them in order.
void eth_port::deliver_delayed() {
  for (;;) {
    while (m_wire.empty()) sc_core::wait(m_wire_ev);
    const propagating& p = m_wire.front();
    const sc_core::sc_time now = sim_now();
    if (p.first_bit_at > now) sc_core::wait(p.first_bit_at - now);
    m_peer->arrive_first_bit(p.frame, sim_now());
    sc_core::wait(p.last_bit_at - sim_now());
    ++m_stats.tx_done;
    const proto::wire_frame frame = std::move(m_wire.front().frame);  // the receiver may send
    m_wire.pop_front();
    m_peer->arrive_last_bit(frame);
  }
}

}  // namespace nicsim::tlm
