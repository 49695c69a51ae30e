#include "proto/tcp.h"

#include <algorithm>
#include <stdexcept>

#include "proto/checksum.h"

namespace nicsim::proto {

size_t tcp_options::length() const {
  size_t n = 0;
  if (has_mss) n += TCPOLEN_MSS;
  if (has_timestamp) n += TCPOLEN_TSTAMP_ALIGNED;  // SACK-permitted rides in its first word
  if (sack_permitted && !has_timestamp) n += TCPOLEN_SACKPERM_ALIGNED;
  if (has_wscale) n += TCPOLEN_WSCALE_ALIGNED;
  if (sack_count != 0) n += TCPOLEN_SACK_BASE_ALIGNED + TCPOLEN_SACK_PERBLOCK * sack_count;
  return n;
}

namespace {
uint8_t* put_word(uint8_t* p, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  p[0] = a, p[1] = b, p[2] = c, p[3] = d;
  return p + 4;
}
}  // namespace

// tcp_options_write (net/ipv4/tcp_output.c, v6.6): the same words in the same order.
size_t write_tcp_header(uint8_t* p, const tcp_header& h) {
  const tcp_options& o = h.opt;
  if (o.sack_count > TCP_MAX_SACK_BLOCKS) throw std::invalid_argument("tcp: more than 4 SACK blocks");
  const size_t len = TCP_HLEN + o.length();
  if (len > TCP_MAX_HLEN) throw std::invalid_argument("tcp: options longer than 40 bytes");
  put_be16(p, h.src_port);
  put_be16(p + 2, h.dst_port);
  put_be32(p + 4, h.seq);
  put_be32(p + 8, h.ack);
  p[12] = static_cast<uint8_t>((len / 4) << 4);
  p[13] = h.flags;
  put_be16(p + 14, h.window);
  put_be16(p + 16, 0);
  put_be16(p + 18, h.urgent);
  uint8_t* q = p + TCP_HLEN;
  if (o.has_mss) {
    q = put_word(q, TCPOPT_MSS, 4, 0, 0);
    put_be16(q - 2, o.mss);
  }
  if (o.has_timestamp) {
    q = o.sack_permitted ? put_word(q, TCPOPT_SACK_PERM, 2, TCPOPT_TIMESTAMP, 10)
                         : put_word(q, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10);
    put_be32(q, o.tsval);
    put_be32(q + 4, o.tsecr);
    q += 8;
  }
  if (o.sack_permitted && !o.has_timestamp) q = put_word(q, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, 2);
  if (o.has_wscale) q = put_word(q, TCPOPT_NOP, TCPOPT_WINDOW, 3, o.wscale);
  if (o.sack_count != 0) {
    q = put_word(q, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, static_cast<uint8_t>(2 + 8 * o.sack_count));
    for (unsigned i = 0; i < o.sack_count; ++i) {
      put_be32(q, o.sack[i].start);
      put_be32(q + 4, o.sack[i].end);
      q += 8;
    }
  }
  return len;
}

// tcp_parse_options (net/ipv4/tcp_input.c, v6.6): EOL ends the list, NOP is one byte, every
// other option has a length byte of at least 2 that must fit; an option of a known kind with
// the wrong length is ignored as Linux ignores it, a length that runs past the header is an error.
tcp_parse_error parse_tcp_header(const uint8_t* p, size_t tcp_len, tcp_header* out, size_t* payload_off) {
  if (tcp_len < TCP_HLEN) return tcp_parse_error::too_short;
  const size_t doff = static_cast<size_t>(p[12] >> 4) * 4;
  if (doff < TCP_HLEN || doff > tcp_len) return tcp_parse_error::bad_data_offset;
  tcp_header h;
  h.src_port = get_be16(p);
  h.dst_port = get_be16(p + 2);
  h.seq = get_be32(p + 4);
  h.ack = get_be32(p + 8);
  h.flags = p[13];
  h.window = get_be16(p + 14);
  h.urgent = get_be16(p + 18);
  tcp_options& o = h.opt;
  const uint8_t* q = p + TCP_HLEN;
  const uint8_t* end = p + doff;
  while (q < end) {
    const uint8_t kind = *q;
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) {
      ++q;
      continue;
    }
    if (end - q < 2) return tcp_parse_error::bad_option;
    const uint8_t olen = q[1];
    if (olen < 2 || olen > end - q) return tcp_parse_error::bad_option;
    switch (kind) {
      case TCPOPT_MSS:
        if (olen == 4) o.has_mss = true, o.mss = get_be16(q + 2);
        break;
      case TCPOPT_WINDOW:
        if (olen == 3) o.has_wscale = true, o.wscale = q[2];
        break;
      case TCPOPT_SACK_PERM:
        if (olen == 2) o.sack_permitted = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (olen == 10) o.has_timestamp = true, o.tsval = get_be32(q + 2), o.tsecr = get_be32(q + 6);
        break;
      case TCPOPT_SACK:
        if (olen >= 10 && (olen - 2) % 8 == 0) {
          const unsigned n = std::min<unsigned>((olen - 2) / 8, TCP_MAX_SACK_BLOCKS);
          o.sack_count = n;
          for (unsigned i = 0; i < n; ++i) o.sack[i] = {get_be32(q + 2 + 8 * i), get_be32(q + 6 + 8 * i)};
        }
        break;
      default:
        ++o.unknown;
        break;
    }
    q += olen;
  }
  *out = h;
  *payload_off = doff;
  return tcp_parse_error::none;
}

uint16_t tcp_checksum_verify(uint32_t saddr, uint32_t daddr, const uint8_t* seg, size_t len) {
  return csum_fold(
      csum_tcpudp_nofold(saddr, daddr, static_cast<uint16_t>(len), IPPROTO_TCP, csum_partial(seg, len)));
}

void tcp_set_checksum(uint32_t saddr, uint32_t daddr, uint8_t* seg, size_t len) {
  put_be16(seg + 16, 0);
  put_be16(seg + 16, tcp_checksum_verify(saddr, daddr, seg, len));
}

size_t tcp_frame_bytes(size_t option_bytes, size_t payload_len) {
  return std::max(ETH_ZLEN, ETH_HLEN + IPV4_HLEN + TCP_HLEN + option_bytes + payload_len) + ETH_FCS_LEN;
}

std::vector<uint8_t> build_tcp_frame(const tcp_endpoints& ep, uint16_t ip_id, const tcp_header& h,
                                     const uint8_t* payload, size_t payload_len) {
  const size_t opt_len = h.opt.length();
  const size_t tcp_len = TCP_HLEN + opt_len + payload_len;
  const size_t frame_bytes = tcp_frame_bytes(opt_len, payload_len);
  if (frame_bytes > ETH_MAX_FRAME || opt_len > TCP_MAX_HLEN - TCP_HLEN)
    throw std::invalid_argument("tcp: segment does not fit a 1518-byte frame");
  std::vector<uint8_t> f(frame_bytes, 0);
  uint8_t* p = f.data();
  std::copy(ep.dst_mac.begin(), ep.dst_mac.end(), p);
  std::copy(ep.src_mac.begin(), ep.src_mac.end(), p + ETH_ALEN);
  put_be16(p + 12, ETH_P_IP);
  uint8_t* ip = p + ETH_HLEN;
  ip[0] = 0x45;
  ip[1] = 0;
  put_be16(ip + 2, static_cast<uint16_t>(IPV4_HLEN + tcp_len));
  put_be16(ip + 4, ip_id);
  put_be16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  put_be32(ip + 12, ep.src_ip);
  put_be32(ip + 16, ep.dst_ip);
  put_be16(ip + 10, csum_fold(csum_partial(ip, IPV4_HLEN)));
  uint8_t* tcp = ip + IPV4_HLEN;
  const size_t hlen = write_tcp_header(tcp, h);
  if (payload_len != 0) std::copy(payload, payload + payload_len, tcp + hlen);
  tcp_set_checksum(ep.src_ip, ep.dst_ip, tcp, tcp_len);
  const size_t body = frame_bytes - ETH_FCS_LEN;
  const uint32_t fcs = crc32(p, body);
  for (int i = 0; i < 4; ++i) p[body + static_cast<size_t>(i)] = static_cast<uint8_t>(fcs >> (8 * i));
  return f;
}

}  // namespace nicsim::proto
