#include "hw/rx_mac.h"

#include <array>
#include <string>
#include <utility>

#include "abi/e1000_hw.h"
#include "hw/rx_frontend_rtl.h"

namespace nicsim::hw {

const char* drop_counter(rx_drop d) {
  switch (d) {
    case rx_drop::short_length:
      return "nic.rx_short_length_errors";
    case rx_drop::long_length:
      return "nic.rx_long_length_errors";
    case rx_drop::crc:
      return "nic.rx_crc_errors";
    case rx_drop::missed:
      return "nic.rx_missed";
    case rx_drop::none:
      break;
  }
  return "";
}

rx_mac::rx_mac(const nic_params& params, reg_file& regs, nic_stats& stats)
    : rxcsum("RXCSUM", abi::RXCSUM),
      mrqc("MRQC", abi::MRQC),
      crcerrs("CRCERRS", abi::CRCERRS),
      mpc("MPC", abi::MPC),
      m_params(params),
      m_stats(stats),
      m_frontend(std::make_unique<rx_frontend_rtl>(512)),
      m_frames_for(params.rx_queues, 0) {
  rxcsum.write_mask(abi::RXCSUM_IPOFL | abi::RXCSUM_TUOFL).on_write([this](uint32_t v) {
    rxcsum = v;
    m_frontend->set_rx_csum((v & abi::RXCSUM_TUOFL) != 0);
  });
  mrqc.write_mask(abi::MRQC_ENABLE_MASK | abi::MRQC_RSS_FIELD_IPV4 | abi::MRQC_RSS_FIELD_IPV4_TCP |
                  abi::MRQC_RSS_FIELD_IPV4_UDP)
      .on_write([this](uint32_t v) {
        mrqc = v;
        m_frontend->set_rss_l4((v & abi::MRQC_RSS_FIELD_IPV4_TCP) != 0,
                               (v & abi::MRQC_RSS_FIELD_IPV4_UDP) != 0);
      });
  for (unsigned i = 0; i < abi::RETA_ENTRIES / 4; ++i)
    regs.add(reta.emplace_back("RETA" + std::to_string(i), abi::RETA_BASE + 4 * i));
  // Every RSSRK write reloads the front end's whole key.
  for (unsigned i = 0; i < abi::RSS_KEY_BYTES / 4; ++i) {
    reg& r = rssrk.emplace_back("RSSRK" + std::to_string(i), abi::RSSRK_BASE + 4 * i);
    r.on_write([this, &r](uint32_t v) {
      r = v;
      m_frontend->set_rss_key(rss_key());
    });
    regs.add(r);
  }
  crcerrs.read_to_clear().read_only();
  mpc.read_to_clear().read_only();
  for (reg* r : {&rxcsum, &mrqc, &crcerrs, &mpc}) regs.add(*r);
  apply_registers();
}

rx_mac::~rx_mac() = default;

abi::rss_key rx_mac::rss_key() const {
  std::array<uint32_t, abi::RSS_KEY_BYTES / 4> words{};
  for (unsigned i = 0; i < words.size(); ++i) words[i] = rssrk[i];
  return abi::rss_key_from_rssrk(words);
}

// The front end takes its settings as inputs; at construction and reset they follow the
// registers' reset values.
void rx_mac::apply_registers() {
  m_frontend->set_rss_key(rss_key());
  m_frontend->set_rss_l4((mrqc & abi::MRQC_RSS_FIELD_IPV4_TCP) != 0,
                         (mrqc & abi::MRQC_RSS_FIELD_IPV4_UDP) != 0);
  m_frontend->set_rx_csum((rxcsum & abi::RXCSUM_TUOFL) != 0);
}

void rx_mac::reset() { apply_registers(); }

rx_drop rx_mac::receive(const proto::wire_frame& frame) {
  ++m_stats.frames_in;
  rx_status st;
  const size_t len = frame.bytes.size();
  const bool fifo_full = m_bytes + len > m_params.rx_fifo_bytes;
  if (m_params.rtl_frontend && fifo_full && len >= proto::ETH_MIN_FRAME && len <= proto::ETH_MAX_FRAME) {
    // A frame of a legal size that the full FIFO drops: its fate (rx_crc_errors or
    // rx_missed_errors) depends only on its FCS, which the block's CRC and fcs_ok agree on,
    // and the block keeps no state from one frame to the next (every accumulator is reset at
    // the last beat). So the verilated model is not evaluated for it; its beats are still
    // counted in frontend_cycles, as the hardware still clocks the frame through.
    m_frontend->skip(len);
    st.fcs_ok = proto::fcs_ok(frame.bytes.data(), len);
  } else if (m_params.rtl_frontend) {
    st = m_frontend->check(frame.bytes);
  } else {
    st.fcs_ok = proto::fcs_ok(frame.bytes.data(), frame.bytes.size());
  }
  if (st.runt || st.oversize) {
    ++(st.runt ? m_stats.rx_short_length_errors : m_stats.rx_long_length_errors);
    return st.runt ? rx_drop::short_length : rx_drop::long_length;
  }
  if (!st.fcs_ok) {
    ++m_stats.rx_crc_errors;
    ++crcerrs;
    return rx_drop::crc;
  }
  if (fifo_full) {
    ++m_stats.rx_missed_errors;
    ++mpc;
    return rx_drop::missed;
  }
  rx_fifo_entry e{{}, abi::RXD_STAT_DD | abi::RXD_STAT_EOP, 0, m_params.rtl_frontend ? rss_queue(st) : 0};
  // The copy lands in the room a frame that left the FIFO had: no allocation once the spares
  // have grown to the traffic.
  if (!m_spare_bytes.empty()) {
    e.frame.bytes = std::move(m_spare_bytes.back());
    m_spare_bytes.pop_back();
  }
  e.frame = frame;
  // Legacy descriptor checksum reporting, as the 8254x does it.
  if (!(rxcsum & (abi::RXCSUM_IPOFL | abi::RXCSUM_TUOFL)) || !st.is_ipv4) {
    e.status |= abi::RXD_STAT_IXSM;
  } else {
    if (rxcsum & abi::RXCSUM_IPOFL) {
      e.status |= abi::RXD_STAT_IPCS;
      if (!st.ip_hdr_ok) e.errors |= abi::RXD_ERR_IPE;
    }
    if ((rxcsum & abi::RXCSUM_TUOFL) && (st.is_tcp || st.is_udp)) {
      e.status |= abi::RXD_STAT_TCPCS | (st.is_udp ? abi::RXD_STAT_UDPCS : 0);
      if (st.l4_csum_ok) {
        ++m_stats.rx_csum_offload_good;
      } else {
        e.errors |= abi::RXD_ERR_TCPE;
        ++m_stats.rx_csum_offload_errors;
      }
    }
  }
  m_bytes += frame.bytes.size();
  ++m_frames_for[e.queue];
  m_fifo.push_back(std::move(e));
  return rx_drop::none;
}

void rx_mac::pop() {
  rx_fifo_entry& e = m_fifo.front();
  m_bytes -= e.frame.bytes.size();
  --m_frames_for[e.queue];
  if (m_spare_bytes.size() < max_spares) m_spare_bytes.push_back(std::move(e.frame.bytes));
  m_fifo.pop_front();
}

// With MRQC.MRQE = RSS, the low 7 bits of the front end's hash index RETA; frames the
// hash does not cover (not IPv4, or IPv4 with the IPv4 field off) go to queue 0.
unsigned rx_mac::rss_queue(const rx_status& st) const {
  if ((mrqc & abi::MRQC_ENABLE_MASK) != abi::MRQC_ENABLE_RSS || !st.is_ipv4) return 0;
  const bool l4 = (st.is_tcp && (mrqc & abi::MRQC_RSS_FIELD_IPV4_TCP)) ||
                  (st.is_udp && (mrqc & abi::MRQC_RSS_FIELD_IPV4_UDP));
  if (!l4 && !(mrqc & abi::MRQC_RSS_FIELD_IPV4)) return 0;
  const unsigned entry = st.rss_hash & (abi::RETA_ENTRIES - 1);
  const unsigned q = abi::reta_entry(reta[entry / 4], entry);
  // A RETA entry naming a queue the NIC does not have lands on queue 0 (the 82576 masks it).
  return q < m_params.rx_queues ? q : 0;
}

}  // namespace nicsim::hw
