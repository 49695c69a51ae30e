#pragma once
// Real TCP bytes (RFC 9293) over IPv4: a header with its options (MSS, window scale,
// SACK-permitted, SACK blocks, timestamps of RFC 7323, NOP and EOL), the checksum over the
// IPv4 pseudo-header, and a builder of whole Ethernet II / IPv4 / TCP frames with their FCS.
// Options are written in the order and alignment Linux's tcp_options_write
// (net/ipv4/tcp_output.c, v6.6) uses, so a segment looks on the wire as Linux's would.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto/frame.h"

namespace nicsim::proto {

inline constexpr size_t TCP_HLEN = 20;      // without options
inline constexpr size_t TCP_MAX_HLEN = 60;  // data offset 15
// Flags (the low byte of the 13th and 14th header bytes).
inline constexpr uint8_t TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10,
                         TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80;
// Option kinds (RFC 9293, RFC 7323, RFC 2018).
inline constexpr uint8_t TCPOPT_EOL = 0, TCPOPT_NOP = 1, TCPOPT_MSS = 2, TCPOPT_WINDOW = 3,
                         TCPOPT_SACK_PERM = 4, TCPOPT_SACK = 5, TCPOPT_TIMESTAMP = 8;
// Space an option takes as Linux aligns it (include/net/tcp.h, v6.6).
inline constexpr size_t TCPOLEN_MSS = 4, TCPOLEN_WSCALE_ALIGNED = 4, TCPOLEN_SACKPERM_ALIGNED = 4,
                        TCPOLEN_TSTAMP_ALIGNED = 12, TCPOLEN_SACK_BASE_ALIGNED = 4, TCPOLEN_SACK_PERBLOCK = 8;
inline constexpr uint8_t TCP_MAX_WSCALE = 14;  // RFC 7323 2.3
inline constexpr unsigned TCP_MAX_SACK_BLOCKS = 4;
// A frame carrying no TCP options: Ethernet + IPv4 + TCP headers + FCS.
inline constexpr size_t TCP_FRAME_OVERHEAD = ETH_HLEN + IPV4_HLEN + TCP_HLEN + ETH_FCS_LEN;

struct sack_block {
  uint32_t start = 0, end = 0;  // [start, end) in sequence space
  bool operator==(const sack_block& o) const { return start == o.start && end == o.end; }
};

// The options a segment carries; absent ones are not written. When several are present
// they are written in Linux's order: MSS; SACK-permitted and timestamps (sharing a word
// when both are there); window scale; SACK blocks.
struct tcp_options {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;
  bool sack_permitted = false;
  bool has_timestamp = false;
  uint32_t tsval = 0, tsecr = 0;
  unsigned sack_count = 0;
  std::array<sack_block, TCP_MAX_SACK_BLOCKS> sack{};
  // Options the parser met that it does not know (skipped by their length).
  unsigned unknown = 0;

  // Bytes the options take in the header, padded to a multiple of 4.
  size_t length() const;
};

struct tcp_header {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  uint16_t urgent = 0;
  tcp_options opt;
};

// Writes the header (with options; checksum field zero) at p; returns its length.
// p must have room for TCP_HLEN + opt.length() bytes.
size_t write_tcp_header(uint8_t* p, const tcp_header& h);

// Why a segment does not parse.
enum class tcp_parse_error { none, too_short, bad_data_offset, bad_option };

// Parses the TCP header at p (the whole segment is tcp_len bytes); the payload starts at
// *payload_off. Options with a bad length give bad_option (as tcp_parse_options stops).
tcp_parse_error parse_tcp_header(const uint8_t* p, size_t tcp_len, tcp_header* out, size_t* payload_off);

// The TCP checksum of a segment (header and payload, checksum field as it is), folded: a
// segment with a correct checksum gives 0 (RFC 9293 3.1, RFC 1071).
uint16_t tcp_checksum_verify(uint32_t saddr, uint32_t daddr, const uint8_t* seg, size_t len);
// Computes the checksum field of a segment whose field is zero now, and writes it.
void tcp_set_checksum(uint32_t saddr, uint32_t daddr, uint8_t* seg, size_t len);

struct tcp_endpoints {
  mac_addr src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  mac_addr dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  uint32_t src_ip = 0x0A000001;
  uint32_t dst_ip = 0x0A000002;
};

// A whole frame, FCS included: Ethernet II, IPv4 (DF, TTL 64, Identification ip_id, no
// options) and the TCP segment with payload[0..payload_len) and a valid checksum. Frames
// shorter than ETH_ZLEN are padded with zeros as a MAC pads them (the IPv4 total length
// does not count the padding). Throws std::invalid_argument beyond ETH_MAX_FRAME.
std::vector<uint8_t> build_tcp_frame(const tcp_endpoints& ep, uint16_t ip_id, const tcp_header& h,
                                     const uint8_t* payload, size_t payload_len);
// The frame size build_tcp_frame makes (FCS included).
size_t tcp_frame_bytes(size_t option_bytes, size_t payload_len);

}  // namespace nicsim::proto
