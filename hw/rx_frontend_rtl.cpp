#include "hw/rx_frontend_rtl.h"

#include <Vrx_frontend.h>
#include <Vrx_frontend_w64.h>
#include <verilated.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace nicsim::hw {

namespace {

constexpr unsigned reset_cycles = 2;

// Writes the little-endian bit vector held in words into a Verilator port,
// whether the port is a plain integer or a VlWide array of 32-bit words.
template <typename Port, size_t N>
void assign_port(Port& port, const std::array<uint32_t, N>& words) {
  if constexpr (std::is_integral_v<Port>) {
    uint64_t v = words[0];
    if constexpr (N > 1) v |= static_cast<uint64_t>(words[1]) << 32;
    port = static_cast<Port>(v);
  } else {
    for (size_t w = 0; w < N; ++w) port[w] = words[w];
  }
}

template <size_t N>
void put_byte(std::array<uint32_t, N>& words, unsigned byte_index, uint8_t value) {
  words[byte_index / 4] |= static_cast<uint32_t>(value) << (8 * (byte_index % 4));
}

template <typename Model>
void clock(Model& m) {
  m.clk = 0;
  m.eval();
  m.clk = 1;
  m.eval();
}

template <typename Model>
void reset(Model& m) {
  m.rst_n = 0;
  m.s_axis_tvalid = 0;
  m.s_axis_tlast = 0;
  m.s_axis_tkeep = 0;
  m.rx_csum_en = 0;
  for (unsigned i = 0; i < reset_cycles; ++i) clock(m);
  m.rst_n = 1;
}

template <typename Model>
void apply_config(Model& m, const std::array<uint8_t, 40>& key, bool rx_csum, bool l4_tcp, bool l4_udp) {
  // Key byte 0 is the most significant byte of the 320-bit port.
  std::array<uint32_t, 10> words{};
  for (unsigned i = 0; i < key.size(); ++i)
    put_byte(words, static_cast<unsigned>(key.size()) - 1 - i, key[i]);
  assign_port(m.rss_key, words);
  m.rx_csum_en = rx_csum ? 1 : 0;
  m.rss_l4_tcp = l4_tcp ? 1 : 0;
  m.rss_l4_udp = l4_udp ? 1 : 0;
}

// Bytes p[0..3] as a little-endian word (compilers make one load of it).
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

template <unsigned DataW, typename Model>
rx_status stream_frame(Model& m, const std::vector<uint8_t>& frame, unsigned beats) {
  constexpr unsigned beat_bytes = DataW / 8;
  constexpr size_t words = (DataW + 31) / 32;
  static_assert(beat_bytes % 4 == 0 && beat_bytes <= 64, "beats of whole words, tkeep of at most 64 bits");
  const uint8_t* p = frame.data();
  size_t left = frame.size();
  for (unsigned beat = 0; beat < beats; ++beat) {
    const auto n = static_cast<unsigned>(std::min<size_t>(beat_bytes, left));
    std::array<uint32_t, words> data{};
    uint64_t keep = ~uint64_t{0};
    if (n == beat_bytes) {
      for (size_t w = 0; w < words; ++w) data[w] = le32(p + 4 * w);
    } else {
      for (unsigned i = 0; i < n; ++i) put_byte(data, i, p[i]);
      keep = (uint64_t{1} << n) - 1;
    }
    p += n;
    left -= n;
    assign_port(m.s_axis_tdata, data);
    m.s_axis_tkeep = static_cast<std::remove_reference_t<decltype(m.s_axis_tkeep)>>(keep);
    m.s_axis_tvalid = 1;
    m.s_axis_tlast = beat + 1 == beats ? 1 : 0;
    clock(m);
  }
  m.s_axis_tvalid = 0;
  m.s_axis_tlast = 0;

  if (!m.m_status_valid) throw std::logic_error("rx_frontend: no status after the last beat");
  rx_status s;
  s.fcs_ok = m.fcs_ok != 0;
  s.is_ipv4 = m.is_ipv4 != 0;
  s.ip_hdr_ok = m.ip_hdr_ok != 0;
  s.is_udp = m.is_udp != 0;
  s.is_tcp = m.is_tcp != 0;
  s.l4_csum_ok = m.l4_csum_ok != 0;
  s.runt = m.runt != 0;
  s.oversize = m.oversize != 0;
  s.l4_proto = m.l4_proto;
  s.len = m.len;
  s.rss_hash = m.rss_hash;
  return s;
}

}  // namespace

rx_frontend_rtl::rx_frontend_rtl(unsigned data_w)
    : m_data_w(data_w), m_context(std::make_unique<VerilatedContext>()), m_rss_key(rss_default_key) {
  if (data_w == 512) {
    m_model = std::make_unique<Vrx_frontend>(m_context.get(), "rx_frontend");
    reset(*m_model);
  } else if (data_w == 64) {
    m_model_w64 = std::make_unique<Vrx_frontend_w64>(m_context.get(), "rx_frontend");
    reset(*m_model_w64);
  } else {
    throw std::invalid_argument("rx_frontend_rtl: data_w " + std::to_string(data_w) +
                                " is not verilated (512 or 64)");
  }
  apply();
}

void rx_frontend_rtl::apply() {
  if (m_model) apply_config(*m_model, m_rss_key, m_rx_csum, m_rss_l4_tcp, m_rss_l4_udp);
  if (m_model_w64) apply_config(*m_model_w64, m_rss_key, m_rx_csum, m_rss_l4_tcp, m_rss_l4_udp);
}

rx_frontend_rtl::~rx_frontend_rtl() {
  if (m_model) m_model->final();
  if (m_model_w64) m_model_w64->final();
}

void rx_frontend_rtl::set_rss_key(const std::array<uint8_t, 40>& key) {
  m_rss_key = key;
  apply();
}

void rx_frontend_rtl::set_rss_l4(bool tcp, bool udp) {
  m_rss_l4_tcp = tcp;
  m_rss_l4_udp = udp;
  apply();
}

void rx_frontend_rtl::set_rx_csum(bool enable) {
  m_rx_csum = enable;
  apply();
}

unsigned rx_frontend_rtl::beats(size_t frame_len) const {
  const size_t beat_bytes = m_data_w / 8;
  return static_cast<unsigned>(std::max<size_t>(1, (frame_len + beat_bytes - 1) / beat_bytes));
}

rx_status rx_frontend_rtl::check(const std::vector<uint8_t>& frame) {
  const unsigned n = beats(frame.size());
  m_cycles += n;
  if (m_model) return stream_frame<512>(*m_model, frame, n);
  return stream_frame<64>(*m_model_w64, frame, n);
}

}  // namespace nicsim::hw
