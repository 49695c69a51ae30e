// libFuzzer target: the frame code of proto/. Any bytes go through the FCS
// check, the checksum and the payload stamp reader (which must never read out
// of bounds), compared with plain reference implementations; and the input
// picks a flow, a frame size and a stamp for build_udp_frame, whose frame must
// parse back to exactly them with every checksum valid.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "proto/checksum.h"
#include "proto/frame.h"

namespace {

using namespace nicsim::proto;

[[noreturn]] void crash(const char* what) {
  std::fprintf(stderr, "fuzz_frame: %s\n", what);
  std::abort();
}

// IEEE 802.3 CRC-32, bit by bit.
uint32_t reference_crc32(const uint8_t* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// RFC 1071, folded to 16 bits and complemented.
uint16_t reference_csum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint64_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint64_t>(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct reader {
  const uint8_t* p;
  size_t n, at = 0;
  uint64_t take(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | (at < n ? p[at++] : 0);
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly the input's bytes on the heap, so that ASan sees any read past them.
  const std::vector<uint8_t> bytes(data, data + size);
  const uint8_t* b = bytes.data();
  if (crc32(b, size) != reference_crc32(b, size)) crash("crc32 differs from the reference");
  if (csum_fold(csum_partial(b, size)) != reference_csum(b, size))
    crash("csum_partial differs from RFC 1071");
  if (size >= ETH_FCS_LEN) {
    uint32_t got = 0;
    for (int i = 0; i < 4; ++i) got |= static_cast<uint32_t>(b[size - 4 + static_cast<size_t>(i)]) << (8 * i);
    if (fcs_ok(b, size) != (got == reference_crc32(b, size - 4))) crash("fcs_ok disagrees with the FCS");
  } else if (fcs_ok(b, size)) {
    crash("fcs_ok accepted a frame shorter than its FCS");
  }
  payload_stamp stamp;
  if (read_payload_stamp(b, size, &stamp) &&
      (size < payload_stamp::SIZE || get_be32(b) != payload_stamp::MAGIC || stamp.seq != get_be32(b + 4)))
    crash("read_payload_stamp accepted a payload without a stamp");

  // Build a frame from parameters the input picks, and read everything back.
  reader r{b, size};
  udp_flow flow;
  for (auto& m : flow.src_mac) m = static_cast<uint8_t>(r.take(1));
  for (auto& m : flow.dst_mac) m = static_cast<uint8_t>(r.take(1));
  flow.src_ip = static_cast<uint32_t>(r.take(4));
  flow.dst_ip = static_cast<uint32_t>(r.take(4));
  flow.src_port = static_cast<uint16_t>(r.take(2));
  flow.dst_port = static_cast<uint16_t>(r.take(2));
  const size_t frame_bytes = ETH_MIN_FRAME + r.take(2) % (ETH_MAX_FRAME - ETH_MIN_FRAME + 1);
  const payload_stamp sent{static_cast<uint32_t>(r.take(4)), r.take(8)};
  const auto f = build_udp_frame(flow, frame_bytes, sent);
  if (f.size() != frame_bytes) crash("build_udp_frame: wrong size");
  if (!fcs_ok(f.data(), f.size())) crash("build_udp_frame: bad FCS");
  const uint8_t* ip = f.data() + ETH_HLEN;
  if (reference_csum(ip, IPV4_HLEN) != 0) crash("build_udp_frame: bad IPv4 header checksum");
  if (get_be16(ip + 2) != frame_bytes - ETH_HLEN - ETH_FCS_LEN)
    crash("build_udp_frame: bad IPv4 total length");
  const uint8_t* udp = ip + IPV4_HLEN;
  const uint16_t udp_len = get_be16(udp + 4);
  if (udp_len != UDP_HLEN + udp_payload_len(frame_bytes)) crash("build_udp_frame: bad UDP length");
  if (get_be16(udp) != flow.src_port || get_be16(udp + 2) != flow.dst_port) crash("build_udp_frame: ports");
  // The UDP checksum over the pseudo-header verifies to zero (0xFFFF stands for a zero result).
  const uint32_t sum = csum_partial(udp, udp_len);
  if (csum_fold(csum_tcpudp_nofold(flow.src_ip, flow.dst_ip, udp_len, IPPROTO_UDP, sum)) != 0)
    crash("build_udp_frame: bad UDP checksum");
  payload_stamp got;
  const size_t payload_len = udp_payload_len(frame_bytes);
  const bool stamped = read_payload_stamp(udp + UDP_HLEN, payload_len, &got);
  if (stamped != (payload_len >= payload_stamp::SIZE)) crash("build_udp_frame: stamp missing");
  if (stamped && (got.seq != sent.seq || got.tx_ns != sent.tx_ns)) crash("build_udp_frame: stamp differs");
  for (size_t i = stamped ? payload_stamp::SIZE : 0; i < payload_len; ++i)
    if (udp[UDP_HLEN + i] != payload_fill(sent.seq, i)) crash("build_udp_frame: payload filler differs");
  return 0;
}
