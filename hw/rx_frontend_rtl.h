#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

// Verilator's types stay out of this header so that users of the adapter do
// not need Verilator's include directories.
class Vrx_frontend;
class Vrx_frontend_w64;
class VerilatedContext;

namespace nicsim::hw {

// What rtl/rx_frontend.v reports for one frame (FCS included).
struct rx_status {
  bool fcs_ok = false;
  bool is_ipv4 = false;
  bool ip_hdr_ok = false;
  // Unfragmented TCP/UDP in a good IPv4 header.
  bool is_udp = false;
  bool is_tcp = false;
  // Checksum verified (or a UDP checksum of 0); false while rx-checksumming is off.
  bool l4_csum_ok = false;
  bool runt = false;
  bool oversize = false;
  uint8_t l4_proto = 0;
  uint16_t len = 0;
  uint32_t rss_hash = 0;
};

// Adapter around the verilated rtl/rx_frontend.v: the checks the NIC makes on
// a frame as it streams in from the MAC (FCS, IPv4 header and TCP/UDP
// checksums, RSS hash, size).
//
// A plain class rather than a SystemC module: the block has no timing of its
// own beyond one clock per beat, which the caller accounts for with beats().
// It is clocked only while a frame streams through.
class rx_frontend_rtl {
 public:
  // AXI-stream widths verilated: 512 (64 B beats, the NIC's datapath) and 64.
  static constexpr unsigned default_data_w = 512;

  explicit rx_frontend_rtl(unsigned data_w = default_data_w);
  ~rx_frontend_rtl();

  rx_frontend_rtl(const rx_frontend_rtl&) = delete;
  rx_frontend_rtl& operator=(const rx_frontend_rtl&) = delete;

  // ethtool -X hkey; byte 0 is the most significant key byte.
  void set_rss_key(const std::array<uint8_t, 40>& key);
  // MRQC's hash fields: TCP / UDP hashed over the 4-tuple (true, "sdfn") or the addresses
  // only (false, "sd"). Both on after construction.
  void set_rss_l4(bool tcp, bool udp);
  // ethtool -K rx on|off.
  void set_rx_csum(bool enable);

  // Streams the frame in beats, one clock each, and returns the status the
  // block reports after the last beat.
  rx_status check(const std::vector<uint8_t>& frame);

  // A frame the caller drops whatever the block would report (rx_mac: a full FIFO): not
  // streamed through the model, only its beats counted in cycles(), as the hardware would
  // still clock it through. The block keeps no state across frames, so the next check() is
  // the same either way.
  void skip(size_t frame_len) { m_cycles += beats(frame_len); }

  unsigned data_w() const { return m_data_w; }
  // Beats (= clock cycles) a frame of frame_len bytes takes; an empty frame still takes one.
  unsigned beats(size_t frame_len) const;
  // Clock cycles of the frames streamed in since reset (skipped ones included); stays flat
  // while no frame arrives.
  uint64_t cycles() const { return m_cycles; }

 private:
  unsigned m_data_w;
  // Model time is kept in its own context rather than Verilator's global one.
  std::unique_ptr<VerilatedContext> m_context;
  // Exactly one of the two is instantiated, by data_w.
  std::unique_ptr<Vrx_frontend> m_model;
  std::unique_ptr<Vrx_frontend_w64> m_model_w64;

  std::array<uint8_t, 40> m_rss_key{};
  bool m_rx_csum = true;
  bool m_rss_l4_tcp = true, m_rss_l4_udp = true;
  void apply();
  uint64_t m_cycles = 0;
};

// The Microsoft RSS verification key, which is also the default key of many drivers.
inline constexpr std::array<uint8_t, 40> rss_default_key{
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

}  // namespace nicsim::hw
