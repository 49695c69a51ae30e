#include "proto/frame.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "proto/checksum.h"

namespace nicsim::proto {

namespace {
// payload_fill(seq, i) is (seq * 31 + i) mod 256: a ramp that wraps every 256 bytes. Any run of
// it is a slice of this table, starting at the run's first byte.
constexpr size_t RAMP_BYTES = 512;
struct ramp_table {
  uint8_t b[RAMP_BYTES];
  constexpr ramp_table() : b{} {
    for (size_t i = 0; i < RAMP_BYTES; ++i) b[i] = static_cast<uint8_t>(i);
  }
};
constexpr ramp_table ramp{};
constexpr size_t RAMP_CHUNK = RAMP_BYTES - 256;  // from any start, this many bytes fit in the table
}  // namespace

void fill_payload(uint8_t* out, size_t len, uint32_t seq, size_t from) {
  for (size_t k = 0; k < len;) {
    const size_t n = std::min(len - k, RAMP_CHUNK);
    std::memcpy(out + k, ramp.b + payload_fill(seq, from + k), n);
    k += n;
  }
}

bool payload_fill_matches(const uint8_t* payload, size_t len, uint32_t seq, size_t from) {
  for (size_t k = from; k < len;) {
    const size_t n = std::min(len - k, RAMP_CHUNK);
    if (std::memcmp(payload + k, ramp.b + payload_fill(seq, k), n) != 0) return false;
    k += n;
  }
  return true;
}

void write_payload(uint8_t* payload, size_t len, const payload_stamp& stamp) {
  if (len < payload_stamp::SIZE) {
    fill_payload(payload, len, stamp.seq);
    return;
  }
  fill_payload(payload + payload_stamp::SIZE, len - payload_stamp::SIZE, stamp.seq, payload_stamp::SIZE);
  put_be32(payload, payload_stamp::MAGIC);
  put_be32(payload + 4, stamp.seq);
  put_be64(payload + 8, stamp.tx_ns);
}

bool read_payload_stamp(const uint8_t* payload, size_t len, payload_stamp* out) {
  if (len < payload_stamp::SIZE || get_be32(payload) != payload_stamp::MAGIC) return false;
  out->seq = get_be32(payload + 4);
  out->tx_ns = get_be64(payload + 8);
  return true;
}

std::vector<uint8_t> build_udp_frame(const udp_flow& flow, size_t frame_bytes, const payload_stamp& stamp) {
  if (frame_bytes < ETH_MIN_FRAME || frame_bytes > ETH_MAX_FRAME)
    throw std::invalid_argument("frame size out of range 64..1518");
  std::vector<uint8_t> f(frame_bytes, 0);
  uint8_t* p = f.data();
  std::copy(flow.dst_mac.begin(), flow.dst_mac.end(), p);
  std::copy(flow.src_mac.begin(), flow.src_mac.end(), p + ETH_ALEN);
  put_be16(p + 12, ETH_P_IP);

  const size_t payload_len = udp_payload_len(frame_bytes);
  const auto udp_len = static_cast<uint16_t>(UDP_HLEN + payload_len);
  uint8_t* ip = p + ETH_HLEN;
  ip[0] = 0x45;  // version 4, IHL 5
  ip[1] = 0;
  put_be16(ip + 2, static_cast<uint16_t>(IPV4_HLEN + udp_len));
  put_be16(ip + 4, static_cast<uint16_t>(stamp.seq));
  put_be16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  put_be32(ip + 12, flow.src_ip);
  put_be32(ip + 16, flow.dst_ip);
  put_be16(ip + 10, csum_fold(csum_partial(ip, IPV4_HLEN)));

  uint8_t* udp = ip + IPV4_HLEN;
  put_be16(udp, flow.src_port);
  put_be16(udp + 2, flow.dst_port);
  put_be16(udp + 4, udp_len);
  write_payload(udp + UDP_HLEN, payload_len, stamp);
  uint32_t sum = csum_partial(udp, udp_len);
  uint16_t check = csum_fold(csum_tcpudp_nofold(flow.src_ip, flow.dst_ip, udp_len, IPPROTO_UDP, sum));
  put_be16(udp + 6, check == 0 ? 0xFFFF : check);  // RFC 768: a zero result is sent as all ones

  const size_t body = frame_bytes - ETH_FCS_LEN;
  const uint32_t fcs = crc32(p, body);
  for (int i = 0; i < 4; ++i) p[body + static_cast<size_t>(i)] = static_cast<uint8_t>(fcs >> (8 * i));
  return f;
}

bool fcs_ok(const uint8_t* frame, size_t len_with_fcs) {
  if (len_with_fcs < ETH_FCS_LEN) return false;
  const size_t body = len_with_fcs - ETH_FCS_LEN;
  const uint32_t want = crc32(frame, body);
  uint32_t got = 0;
  for (int i = 0; i < 4; ++i) got |= static_cast<uint32_t>(frame[body + static_cast<size_t>(i)]) << (8 * i);
  return want == got;
}

}  // namespace nicsim::proto
