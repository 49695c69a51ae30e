#include "tlm/eth_port.h"

#include <stdexcept>
#include <string>

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
  const double rate = m_gbps != 0 ? m_gbps : peer.m_gbps;
  m_gbps = peer.m_gbps = rate;
  m_peer = &peer;
  peer.m_peer = this;
}

// The same expressions the traffic source paced with before the port existed, so that
// times round to the same picosecond.
sc_core::sc_time eth_port::frame_time(size_t bytes) const {
  const double bits = 8.0 * static_cast<double>(proto::ETH_PREAMBLE_SFD + bytes);
  return sc_core::sc_time(bits / m_gbps, sc_core::SC_NS);
}

sc_core::sc_time eth_port::slot_time(size_t bytes) const {
  const double bits = 8.0 * static_cast<double>(proto::ETH_PREAMBLE_SFD + bytes + proto::ETH_IFG);
  return sc_core::sc_time(bits / m_gbps, sc_core::SC_NS);
}

void eth_port::transmit(const proto::wire_frame& frame) {
  if (m_peer == nullptr) throw std::logic_error(std::string(name()) + ": transmit on an unbound port");
  if (m_gbps == 0)
    throw std::logic_error(std::string(name()) + ": transmit with no line rate (neither end sets one)");
  while (m_busy) {
    ++m_waiting;
    sc_core::wait(m_idle_ev);
    --m_waiting;
  }
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (now < m_free_at) sc_core::wait(m_free_at - now);
  m_busy = true;
  const auto size = frame.bytes.size();
  // The gap is measured from this first bit (a slot), as the traffic source paces its frames.
  m_free_at = sc_core::sc_time_stamp() + slot_time(size);
  ++m_stats.tx_frames;
  m_stats.tx_bytes += size;
  eth_port& rx = *m_peer;
  ++rx.m_stats.rx_started;
  rx.m_stats.rx_started_bytes += size;
  if (rx.on_rx_first_bit) rx.on_rx_first_bit(frame);
  sc_core::wait(frame_time(size));  // the last bit arrives
  ++m_stats.tx_done;
  ++rx.m_stats.rx_frames;
  rx.m_stats.rx_bytes += size;
  m_busy = false;
  if (m_waiting != 0) m_idle_ev.notify(sc_core::SC_ZERO_TIME);  // no empty delta cycles otherwise
  if (rx.on_rx_last_bit) rx.on_rx_last_bit(frame);
  if (rx.m_receive) rx.m_receive(frame);
}

}  // namespace nicsim::tlm
