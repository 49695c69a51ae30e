#pragma once
// Real Ethernet II / IPv4 / UDP bytes: constants, byte order and a frame builder.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nicsim::proto {

inline constexpr size_t ETH_ALEN = 6;
inline constexpr size_t ETH_HLEN = 14;
inline constexpr size_t ETH_FCS_LEN = 4;
inline constexpr size_t ETH_ZLEN = 60;         // minimum frame without FCS
inline constexpr size_t ETH_MIN_FRAME = 64;    // with FCS
inline constexpr size_t ETH_MAX_FRAME = 1518;  // with FCS, no VLAN tag
inline constexpr size_t ETH_PREAMBLE_SFD = 8;
inline constexpr size_t ETH_IFG = 12;
inline constexpr uint16_t ETH_P_IP = 0x0800;
inline constexpr size_t IPV4_HLEN = 20;
inline constexpr uint8_t IPPROTO_ICMP = 1;
inline constexpr uint8_t IPPROTO_TCP = 6;
inline constexpr uint8_t IPPROTO_UDP = 17;
inline constexpr size_t UDP_HLEN = 8;
inline constexpr size_t UDP_FRAME_OVERHEAD = ETH_HLEN + IPV4_HLEN + UDP_HLEN + ETH_FCS_LEN;

inline uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get_be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline uint64_t get_be64(const uint8_t* p) {
  return static_cast<uint64_t>(get_be32(p)) << 32 | get_be32(p + 4);
}
inline void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_be32(uint8_t* p, uint32_t v) {
  put_be16(p, static_cast<uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<uint16_t>(v));
}
inline void put_be64(uint8_t* p, uint64_t v) {
  put_be32(p, static_cast<uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<uint32_t>(v));
}

using mac_addr = std::array<uint8_t, ETH_ALEN>;

struct udp_flow {
  mac_addr src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  mac_addr dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  uint32_t src_ip = 0x0A000001;  // 10.0.0.1
  uint32_t dst_ip = 0x0A000002;  // 10.0.0.2
  uint16_t src_port = 40000;
  uint16_t dst_port = 9000;
};

// A stamp at the start of every generated UDP payload, in the spirit of
// pktgen's header: it lets the receiving application measure latency from the
// bytes it reads, with no side channel.
struct payload_stamp {
  static constexpr uint32_t MAGIC = 0x6e696373;  // "nics"
  static constexpr size_t SIZE = 16;
  uint32_t seq = 0;
  uint64_t tx_ns = 0;  // first bit on the wire
};
void write_payload(uint8_t* payload, size_t len, const payload_stamp& stamp);
// Returns false when the bytes do not start with a stamp.
bool read_payload_stamp(const uint8_t* payload, size_t len, payload_stamp* out);
// The filler byte at payload offset i of message seq (so a test can check every byte).
inline uint8_t payload_fill(uint32_t seq, size_t i) { return static_cast<uint8_t>(seq * 31u + i); }
// Writes payload_fill(seq, from + k) to out[k] for k < len (block copies of one ramp).
void fill_payload(uint8_t* out, size_t len, uint32_t seq, size_t from = 0);
// Whether payload[k] == payload_fill(seq, k) for every k in [from, len): the check a reader
// makes of every byte (block compares against the same ramp).
bool payload_fill_matches(const uint8_t* payload, size_t len, uint32_t seq, size_t from);

// Builds a complete frame, FCS included, of frame_bytes (ETH_MIN_FRAME..ETH_MAX_FRAME)
// carrying a UDP payload with a stamp; valid IPv4 header checksum and UDP checksum.
std::vector<uint8_t> build_udp_frame(const udp_flow& flow, size_t frame_bytes, const payload_stamp& stamp);
// UDP payload bytes a frame of frame_bytes carries.
inline size_t udp_payload_len(size_t frame_bytes) { return frame_bytes - UDP_FRAME_OVERHEAD; }

// A frame as it crosses the wire: its bytes (FCS included) and when its first
// bit was sent. The id exists for accounting and tracing only; nothing on the
// receive path reads it to decide anything.
struct wire_frame {
  uint64_t id = 0;
  uint64_t first_bit_ps = 0;
  std::vector<uint8_t> bytes;
};

// FCS over everything but the last four bytes, compared little-endian as sent.
bool fcs_ok(const uint8_t* frame, size_t len_with_fcs);

}  // namespace nicsim::proto
