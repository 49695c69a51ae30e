#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hw/reg_file.h"
#include "hw/rx_frontend_rtl.h"
#include "hw/rx_mac.h"
#include "proto/checksum.h"
#include "proto/frame.h"
#include "tb/tests/rss_reference.h"

namespace {

using nicsim::hw::rx_frontend_rtl;
using nicsim::hw::rx_status;
using namespace nicsim::proto;

using bytes = std::vector<uint8_t>;
using nicsim::test::rss_input;
using nicsim::test::toeplitz;

constexpr uint16_t ETH_P_ARP = 0x0806;
constexpr size_t TCP_HLEN = 20;

uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return static_cast<uint32_t>(a) << 24 | static_cast<uint32_t>(b) << 16 | static_cast<uint32_t>(c) << 8 | d;
}

void append_fcs(bytes& f) {
  const uint32_t fcs = crc32(f.data(), f.size());
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<uint8_t>(fcs >> (8 * i)));
}

// Recomputes the FCS after a test has changed bytes in front of it.
void refresh_fcs(bytes& f) {
  f.resize(f.size() - ETH_FCS_LEN);
  append_fcs(f);
}

struct ipv4_packet {
  uint32_t src = ipv4(10, 0, 0, 1);
  uint32_t dst = ipv4(10, 0, 0, 2);
  uint8_t proto = IPPROTO_UDP;
  uint8_t ihl = 5;
  uint16_t frag = 0x4000;  // DF
  bytes l4;
};

// Ethernet + IPv4 header (options as NOPs) + l4, padded to the minimum frame, FCS appended.
bytes build_ipv4_frame(const ipv4_packet& p) {
  bytes f(ETH_HLEN, 0);
  f[0] = 0x02;
  f[6] = 0x02;
  f[11] = 0x01;
  put_be16(&f[12], ETH_P_IP);
  const size_t hlen = 4u * p.ihl;
  bytes ip(hlen, 0x01);
  ip[0] = static_cast<uint8_t>(0x40 | p.ihl);
  ip[1] = 0;
  put_be16(&ip[2], static_cast<uint16_t>(hlen + p.l4.size()));
  put_be16(&ip[4], 0x1234);
  put_be16(&ip[6], p.frag);
  ip[8] = 64;
  ip[9] = p.proto;
  put_be16(&ip[10], 0);
  put_be32(&ip[12], p.src);
  put_be32(&ip[16], p.dst);
  put_be16(&ip[10], csum_fold(csum_partial(ip.data(), hlen)));
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), p.l4.begin(), p.l4.end());
  if (f.size() < ETH_ZLEN) f.resize(ETH_ZLEN, 0);
  append_fcs(f);
  return f;
}

uint16_t l4_checksum(uint32_t src, uint32_t dst, uint8_t proto, const bytes& seg) {
  return csum_fold(csum_tcpudp_nofold(src, dst, static_cast<uint16_t>(seg.size()), proto,
                                      csum_partial(seg.data(), seg.size())));
}

bytes udp_segment(const ipv4_packet& p, uint16_t sport, uint16_t dport, const bytes& payload) {
  // Header and payload in one allocation (no insert that grows the vector: GCC 12 at -O3 then
  // sees the copy of an 8-byte buffer into the new one and warns of -Warray-bounds).
  bytes seg(UDP_HLEN + payload.size(), 0);
  std::copy(payload.begin(), payload.end(), seg.begin() + UDP_HLEN);
  put_be16(&seg[0], sport);
  put_be16(&seg[2], dport);
  put_be16(&seg[4], static_cast<uint16_t>(UDP_HLEN + payload.size()));
  const uint16_t check = l4_checksum(p.src, p.dst, IPPROTO_UDP, seg);
  put_be16(&seg[6], check == 0 ? 0xFFFF : check);
  return seg;
}

bytes tcp_segment(const ipv4_packet& p, uint16_t sport, uint16_t dport, const bytes& payload) {
  bytes seg(TCP_HLEN + payload.size(), 0);  // in one allocation, as udp_segment
  std::copy(payload.begin(), payload.end(), seg.begin() + TCP_HLEN);
  put_be16(&seg[0], sport);
  put_be16(&seg[2], dport);
  put_be32(&seg[4], 0x01020304);  // seq
  put_be32(&seg[8], 0x0a0b0c0d);  // ack
  seg[12] = 5 << 4;               // data offset
  seg[13] = 0x18;                 // PSH ACK
  put_be16(&seg[14], 65535);      // window
  put_be16(&seg[16], l4_checksum(p.src, p.dst, IPPROTO_TCP, seg));
  return seg;
}

bytes counting_payload(size_t n, uint8_t seed = 0) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + 7 * i + 3);
  return b;
}

bytes udp_frame(size_t payload_len, uint8_t seed = 0) {
  ipv4_packet p;
  p.l4 = udp_segment(p, 40000, 9000, counting_payload(payload_len, seed));
  return build_ipv4_frame(p);
}

bytes tcp_frame(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, size_t payload_len) {
  ipv4_packet p;
  p.src = src;
  p.dst = dst;
  p.proto = IPPROTO_TCP;
  p.l4 = tcp_segment(p, sport, dport, counting_payload(payload_len));
  return build_ipv4_frame(p);
}

// "Verifying the RSS Hash Calculation", Microsoft RSS documentation, IPv4 table.
struct rss_vector {
  uint32_t dst;
  uint16_t dport;
  uint32_t src;
  uint16_t sport;
  uint32_t hash_ip_only;
  uint32_t hash_tcp;
};

const std::array<rss_vector, 5> microsoft_rss_vectors{{
    {ipv4(161, 142, 100, 80), 1766, ipv4(66, 9, 149, 187), 2794, 0x323e8fc2, 0x51ccc178},
    {ipv4(65, 69, 140, 83), 4739, ipv4(199, 92, 111, 2), 14230, 0xd718262a, 0xc626b0ea},
    {ipv4(12, 22, 207, 184), 38024, ipv4(24, 19, 198, 95), 12898, 0xd2d0a5de, 0x5c2b394a},
    {ipv4(209, 142, 163, 6), 2217, ipv4(38, 27, 205, 30), 48228, 0x82989176, 0xafc7327f},
    {ipv4(202, 188, 127, 2), 1303, ipv4(153, 39, 163, 191), 44251, 0x5d1809c5, 0x10e828a2},
}};

void expect_good_udp(const rx_status& s, size_t len) {
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_EQ(s.len, len);
  EXPECT_TRUE(s.is_ipv4);
  EXPECT_TRUE(s.ip_hdr_ok);
  EXPECT_EQ(s.l4_proto, IPPROTO_UDP);
  EXPECT_TRUE(s.is_udp);
  EXPECT_FALSE(s.is_tcp);
  EXPECT_TRUE(s.l4_csum_ok);
  EXPECT_EQ(s.runt, len < ETH_MIN_FRAME);
  EXPECT_EQ(s.oversize, len > ETH_MAX_FRAME);
}

class rx_frontend : public ::testing::TestWithParam<unsigned> {
 protected:
  rx_frontend_rtl dut{GetParam()};
};

std::string width_name(const ::testing::TestParamInfo<unsigned>& info) {
  return "w" + std::to_string(info.param);
}

INSTANTIATE_TEST_SUITE_P(data_w, rx_frontend, ::testing::Values(64u, 512u), width_name);

TEST_P(rx_frontend, reference_toeplitz_matches_microsoft_vectors) {
  for (const auto& v : microsoft_rss_vectors) {
    EXPECT_EQ(toeplitz(nicsim::hw::rss_default_key, rss_input(v.src, v.dst)), v.hash_ip_only);
    EXPECT_EQ(toeplitz(nicsim::hw::rss_default_key, rss_input(v.src, v.dst, v.sport, v.dport)), v.hash_tcp);
  }
}

TEST_P(rx_frontend, built_udp_frames_pass_every_check) {
  for (size_t len : {size_t{64}, size_t{65}, size_t{127}, size_t{128}, size_t{129}, size_t{1000},
                     size_t{1517}, size_t{1518}}) {
    SCOPED_TRACE(len);
    const bytes f = build_udp_frame(udp_flow{}, len, payload_stamp{static_cast<uint32_t>(len), 12345});
    expect_good_udp(dut.check(f), len);
  }
}

TEST_P(rx_frontend, fcs_matches_crc32_check_value) {
  // "123456789" has the CRC-32 check value 0xCBF43926.
  bytes f{'1', '2', '3', '4', '5', '6', '7', '8', '9', 0x26, 0x39, 0xf4, 0xcb};
  const rx_status s = dut.check(f);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_EQ(s.len, 13u);
  EXPECT_TRUE(s.runt);
  EXPECT_FALSE(s.is_ipv4);
}

TEST_P(rx_frontend, any_flipped_byte_fails_fcs) {
  const bytes good = build_udp_frame(udp_flow{}, 200, payload_stamp{7, 0});
  for (size_t pos : {size_t{0}, size_t{7}, size_t{8}, size_t{63}, size_t{64}, size_t{100}, size_t{195},
                     size_t{196}, size_t{199}}) {
    SCOPED_TRACE(pos);
    bytes f = good;
    f[pos] ^= 0x10;
    EXPECT_FALSE(dut.check(f).fcs_ok);
  }
  EXPECT_TRUE(dut.check(good).fcs_ok);
}

TEST_P(rx_frontend, runt_and_oversize_by_length) {
  bytes runt = build_udp_frame(udp_flow{}, 64, payload_stamp{});
  runt.resize(63 - ETH_FCS_LEN);
  append_fcs(runt);
  rx_status s = dut.check(runt);
  EXPECT_TRUE(s.runt);
  EXPECT_FALSE(s.oversize);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_EQ(s.len, 63u);

  s = dut.check(build_udp_frame(udp_flow{}, 64, payload_stamp{}));
  EXPECT_FALSE(s.runt);
  s = dut.check(build_udp_frame(udp_flow{}, 1518, payload_stamp{}));
  EXPECT_FALSE(s.oversize);

  const bytes big = udp_frame(ETH_MAX_FRAME + 1 - UDP_FRAME_OVERHEAD);
  ASSERT_EQ(big.size(), 1519u);
  s = dut.check(big);
  EXPECT_TRUE(s.oversize);
  EXPECT_FALSE(s.runt);
  expect_good_udp(s, 1519);

  const bytes jumbo = udp_frame(9000 - UDP_FRAME_OVERHEAD);
  s = dut.check(jumbo);
  expect_good_udp(s, 9000);
}

TEST_P(rx_frontend, bad_ip_header_checksum_fails_ip_hdr_ok) {
  bytes f = udp_frame(100);
  f[ETH_HLEN + 10] ^= 0x01;
  refresh_fcs(f);
  const rx_status s = dut.check(f);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_TRUE(s.is_ipv4);
  EXPECT_FALSE(s.ip_hdr_ok);
  EXPECT_FALSE(s.is_udp);
  EXPECT_FALSE(s.l4_csum_ok);
}

TEST_P(rx_frontend, ip_options_move_the_l4_header) {
  for (uint8_t ihl : {uint8_t{6}, uint8_t{7}, uint8_t{15}}) {
    SCOPED_TRACE(static_cast<int>(ihl));
    ipv4_packet p;
    p.ihl = ihl;
    p.l4 = udp_segment(p, 1234, 5678, counting_payload(33));
    const rx_status s = dut.check(build_ipv4_frame(p));
    EXPECT_TRUE(s.ip_hdr_ok);
    EXPECT_TRUE(s.is_udp);
    EXPECT_TRUE(s.l4_csum_ok);
    EXPECT_EQ(s.rss_hash, toeplitz(nicsim::hw::rss_default_key, rss_input(p.src, p.dst, 1234, 5678)));
  }
}

TEST_P(rx_frontend, ihl_below_five_or_wrong_version_fails_ip_hdr_ok) {
  ipv4_packet p;
  p.l4 = udp_segment(p, 1, 2, counting_payload(30));
  bytes f = build_ipv4_frame(p);
  bytes short_ihl = f;
  short_ihl[ETH_HLEN] = 0x44;
  put_be16(&short_ihl[ETH_HLEN + 10], 0);
  put_be16(&short_ihl[ETH_HLEN + 10], csum_fold(csum_partial(&short_ihl[ETH_HLEN], 16)));
  refresh_fcs(short_ihl);
  EXPECT_FALSE(dut.check(short_ihl).ip_hdr_ok);

  bytes v6 = f;
  v6[ETH_HLEN] = 0x65;
  put_be16(&v6[ETH_HLEN + 10], 0);
  put_be16(&v6[ETH_HLEN + 10], csum_fold(csum_partial(&v6[ETH_HLEN], IPV4_HLEN)));
  refresh_fcs(v6);
  const rx_status s = dut.check(v6);
  EXPECT_TRUE(s.is_ipv4);
  EXPECT_FALSE(s.ip_hdr_ok);
}

TEST_P(rx_frontend, datagram_longer_than_frame_fails_ip_hdr_ok) {
  ipv4_packet p;
  p.l4 = udp_segment(p, 1, 2, counting_payload(40));
  bytes f = build_ipv4_frame(p);
  f.resize(f.size() - ETH_FCS_LEN - 1);
  append_fcs(f);
  const rx_status s = dut.check(f);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_FALSE(s.ip_hdr_ok);
  EXPECT_FALSE(s.l4_csum_ok);
}

TEST_P(rx_frontend, udp_checksum_with_odd_payload_lengths) {
  for (size_t n = 0; n < 160; ++n) {
    SCOPED_TRACE(n);
    const bytes f = udp_frame(n, static_cast<uint8_t>(n));
    const rx_status s = dut.check(f);
    expect_good_udp(s, f.size());
  }
}

TEST_P(rx_frontend, udp_corrupt_payload_fails_l4_checksum_only) {
  bytes f = udp_frame(51);
  f[ETH_HLEN + IPV4_HLEN + UDP_HLEN + 50] ^= 0x40;  // the odd last byte
  refresh_fcs(f);
  rx_status s = dut.check(f);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_TRUE(s.ip_hdr_ok);
  EXPECT_TRUE(s.is_udp);
  EXPECT_FALSE(s.l4_csum_ok);
}

TEST_P(rx_frontend, ethernet_padding_is_not_summed) {
  // A 1-byte payload is padded to the minimum frame; the pad must not count.
  bytes f = udp_frame(1);
  ASSERT_EQ(f.size(), ETH_MIN_FRAME);
  f[ETH_ZLEN - 1] = 0xAB;
  refresh_fcs(f);
  expect_good_udp(dut.check(f), ETH_MIN_FRAME);
}

TEST_P(rx_frontend, udp_checksum_zero_means_not_computed) {
  ipv4_packet p;
  p.l4 = udp_segment(p, 40000, 9000, counting_payload(45));
  put_be16(&p.l4[6], 0);
  const rx_status s = dut.check(build_ipv4_frame(p));
  EXPECT_TRUE(s.is_udp);
  EXPECT_TRUE(s.l4_csum_ok);
}

TEST_P(rx_frontend, udp_checksum_computed_as_zero_is_sent_as_ffff) {
  ipv4_packet p;
  bytes payload = counting_payload(20);
  // Choose the last payload word so that the checksum comes out as 0.
  put_be16(&payload[18], 0);
  bytes probe(UDP_HLEN, 0);
  put_be16(&probe[0], 40000);
  put_be16(&probe[2], 9000);
  put_be16(&probe[4], static_cast<uint16_t>(UDP_HLEN + payload.size()));
  probe.insert(probe.end(), payload.begin(), payload.end());
  put_be16(&payload[18], l4_checksum(p.src, p.dst, IPPROTO_UDP, probe));
  p.l4 = udp_segment(p, 40000, 9000, payload);
  ASSERT_EQ(get_be16(&p.l4[6]), 0xFFFF);
  const rx_status s = dut.check(build_ipv4_frame(p));
  EXPECT_TRUE(s.is_udp);
  EXPECT_TRUE(s.l4_csum_ok);
}

TEST_P(rx_frontend, tcp_checksum_verified_in_hand_built_segment) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{6}, size_t{7}, size_t{100}, size_t{1460}}) {
    SCOPED_TRACE(n);
    bytes f = tcp_frame(ipv4(192, 168, 1, 10), 443, ipv4(192, 168, 1, 20), 51000, n);
    rx_status s = dut.check(f);
    EXPECT_TRUE(s.fcs_ok);
    EXPECT_TRUE(s.ip_hdr_ok);
    EXPECT_EQ(s.l4_proto, IPPROTO_TCP);
    EXPECT_TRUE(s.is_tcp);
    EXPECT_FALSE(s.is_udp);
    EXPECT_TRUE(s.l4_csum_ok);

    f[ETH_HLEN + IPV4_HLEN + 4] ^= 0x80;  // sequence number
    refresh_fcs(f);
    s = dut.check(f);
    EXPECT_TRUE(s.is_tcp);
    EXPECT_FALSE(s.l4_csum_ok);
  }
}

TEST_P(rx_frontend, rx_csum_off_reports_no_l4_checksum) {
  dut.set_rx_csum(false);
  rx_status s = dut.check(udp_frame(30));
  EXPECT_TRUE(s.is_udp);
  EXPECT_FALSE(s.l4_csum_ok);
  dut.set_rx_csum(true);
  s = dut.check(udp_frame(30));
  EXPECT_TRUE(s.l4_csum_ok);
}

TEST_P(rx_frontend, rss_hash_matches_microsoft_vectors) {
  for (const auto& v : microsoft_rss_vectors) {
    rx_status s = dut.check(tcp_frame(v.src, v.sport, v.dst, v.dport, 10));
    EXPECT_TRUE(s.is_tcp);
    EXPECT_EQ(s.rss_hash, v.hash_tcp);

    ipv4_packet icmp;
    icmp.src = v.src;
    icmp.dst = v.dst;
    icmp.proto = IPPROTO_ICMP;
    icmp.l4 = counting_payload(16);
    s = dut.check(build_ipv4_frame(icmp));
    EXPECT_TRUE(s.ip_hdr_ok);
    EXPECT_EQ(s.l4_proto, IPPROTO_ICMP);
    EXPECT_EQ(s.rss_hash, v.hash_ip_only);
  }
}

TEST_P(rx_frontend, rss_hash_follows_the_configured_key) {
  std::array<uint8_t, 40> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x9d * i + 0x31);
  dut.set_rss_key(key);
  const auto& v = microsoft_rss_vectors[2];
  const rx_status s = dut.check(tcp_frame(v.src, v.sport, v.dst, v.dport, 0));
  EXPECT_EQ(s.rss_hash, toeplitz(key, rss_input(v.src, v.dst, v.sport, v.dport)));
  EXPECT_NE(s.rss_hash, v.hash_tcp);
}

TEST_P(rx_frontend, fragment_hashes_addresses_only) {
  ipv4_packet p;
  p.src = microsoft_rss_vectors[0].src;
  p.dst = microsoft_rss_vectors[0].dst;
  p.frag = 0x2000;  // MF: the first fragment
  p.l4 = udp_segment(p, 2794, 1766, counting_payload(40));
  const rx_status s = dut.check(build_ipv4_frame(p));
  EXPECT_TRUE(s.ip_hdr_ok);
  EXPECT_EQ(s.l4_proto, IPPROTO_UDP);
  EXPECT_FALSE(s.is_udp);
  EXPECT_FALSE(s.l4_csum_ok);
  EXPECT_EQ(s.rss_hash, microsoft_rss_vectors[0].hash_ip_only);
}

TEST_P(rx_frontend, non_ip_frame_has_no_hash) {
  bytes f = udp_frame(40);
  put_be16(&f[12], ETH_P_ARP);
  refresh_fcs(f);
  const rx_status s = dut.check(f);
  EXPECT_TRUE(s.fcs_ok);
  EXPECT_FALSE(s.is_ipv4);
  EXPECT_FALSE(s.ip_hdr_ok);
  EXPECT_FALSE(s.is_udp);
  EXPECT_EQ(s.l4_proto, 0u);
  EXPECT_EQ(s.rss_hash, 0u);
}

TEST_P(rx_frontend, each_status_belongs_to_its_own_frame) {
  const bytes good = udp_frame(200);
  bytes bad = good;
  bad[30] ^= 1;
  const bytes arp_runt{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 0x08, 0x06};
  for (int round = 0; round < 3; ++round) {
    expect_good_udp(dut.check(good), good.size());
    EXPECT_FALSE(dut.check(bad).fcs_ok);
    const rx_status s = dut.check(arp_runt);
    EXPECT_FALSE(s.is_ipv4);
    EXPECT_TRUE(s.runt);
    EXPECT_EQ(s.rss_hash, 0u);
  }
}

TEST_P(rx_frontend, idle_block_costs_no_cycles) {
  EXPECT_EQ(dut.cycles(), 0u);
  const unsigned beat_bytes = GetParam() / 8;
  EXPECT_EQ(dut.beats(64), 64u / beat_bytes);
  EXPECT_EQ(dut.beats(65), 64u / beat_bytes + 1);
  EXPECT_EQ(dut.beats(1518), (1518u + beat_bytes - 1) / beat_bytes);

  uint64_t expected = 0;
  for (size_t len : {size_t{64}, size_t{1518}, size_t{65}}) {
    dut.check(build_udp_frame(udp_flow{}, len, payload_stamp{}));
    expected += dut.beats(len);
    EXPECT_EQ(dut.cycles(), expected);
  }
  dut.set_rss_key(nicsim::hw::rss_default_key);
  dut.set_rx_csum(false);
  EXPECT_EQ(dut.cycles(), expected);
}

// What the front end reports for a frame, computed from the bytes in plain C++:
// the reference for frames that go wrong in every way. Header bytes past the
// end of the frame read as zero; a one's complement sum verifies when it folds
// to all ones, that is when it is a non-zero multiple of 0xFFFF.
struct frontend_config {
  std::array<uint8_t, 40> key = nicsim::hw::rss_default_key;
  bool rx_csum = true, l4_tcp = true, l4_udp = true;
};

rx_status reference_status(const bytes& f, const frontend_config& c) {
  const size_t n = f.size();
  const auto at = [&](size_t i) -> uint32_t { return i < n ? f[i] : 0; };
  const auto range_sum = [&](size_t first, size_t past) {
    uint64_t sum = 0;
    for (size_t i = first; i < past && i < n; ++i) sum += i % 2 == 0 ? f[i] << 8 : f[i];
    return sum;
  };
  const auto verifies = [](uint64_t sum) { return sum != 0 && sum % 0xFFFF == 0; };

  rx_status s;
  uint32_t crc = 0xFFFFFFFF;  // the register runs over the FCS and must end at the residue
  for (uint8_t b : f) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  s.fcs_ok = crc == 0xDEBB20E3;
  s.len = static_cast<uint16_t>(std::min<size_t>(n, 0xFFFF));
  s.runt = n < ETH_MIN_FRAME;
  s.oversize = n > ETH_MAX_FRAME;
  s.is_ipv4 = n >= ETH_HLEN && at(12) == 0x08 && at(13) == 0x00;
  if (!s.is_ipv4) return s;

  const uint32_t hlen = 4 * (at(14) & 0xF), total = at(16) << 8 | at(17);
  const size_t l4_start = ETH_HLEN + hlen, ip_end = ETH_HLEN + total;
  const uint32_t proto = at(23);
  const uint32_t src = at(26) << 24 | at(27) << 16 | at(28) << 8 | at(29);
  const uint32_t dst = at(30) << 24 | at(31) << 16 | at(32) << 8 | at(33);
  const bool fragment = (at(20) & 0x3F) != 0 || at(21) != 0;
  const uint32_t l4_len = total - hlen;
  s.l4_proto = static_cast<uint8_t>(proto);
  s.ip_hdr_ok = at(14) >> 4 == 4 && hlen >= 20 && verifies(range_sum(ETH_HLEN, l4_start)) && total >= hlen &&
                ip_end + ETH_FCS_LEN <= n;
  s.is_udp = s.ip_hdr_ok && !fragment && proto == IPPROTO_UDP && l4_len >= UDP_HLEN;
  s.is_tcp = s.ip_hdr_ok && !fragment && proto == IPPROTO_TCP && l4_len >= TCP_HLEN;
  const uint64_t pseudo =
      (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + (l4_len & 0xFFFF);
  const bool l4_verifies = verifies(range_sum(l4_start, ip_end) + pseudo);
  const bool udp_unchecked = (at(l4_start + 6) | at(l4_start + 7)) == 0;
  s.l4_csum_ok = c.rx_csum && ((s.is_udp && (udp_unchecked || l4_verifies)) || (s.is_tcp && l4_verifies));
  const bool hash_l4 = (s.is_udp && c.l4_udp) || (s.is_tcp && c.l4_tcp);
  const uint16_t sport = static_cast<uint16_t>(at(l4_start) << 8 | at(l4_start + 1));
  const uint16_t dport = static_cast<uint16_t>(at(l4_start + 2) << 8 | at(l4_start + 3));
  s.rss_hash = toeplitz(c.key, hash_l4 ? rss_input(src, dst, sport, dport) : rss_input(src, dst));
  return s;
}

std::string describe(const rx_status& s) {
  return "fcs_ok " + std::to_string(s.fcs_ok) + " len " + std::to_string(s.len) + " is_ipv4 " +
         std::to_string(s.is_ipv4) + " ip_hdr_ok " + std::to_string(s.ip_hdr_ok) + " l4_proto " +
         std::to_string(s.l4_proto) + " is_udp " + std::to_string(s.is_udp) + " is_tcp " +
         std::to_string(s.is_tcp) + " l4_csum_ok " + std::to_string(s.l4_csum_ok) + " rss_hash " +
         std::to_string(s.rss_hash) + " runt " + std::to_string(s.runt) + " oversize " +
         std::to_string(s.oversize);
}

// A UDP, TCP or other IPv4 frame, then as often as not broken: IHL, total
// length, EtherType, a flipped bit, truncation, bytes after the datagram, the FCS.
bytes random_frame(std::mt19937& rng) {
  const auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  ipv4_packet p;
  p.src = static_cast<uint32_t>(rng());
  p.dst = static_cast<uint32_t>(rng());
  p.proto = pick(5) == 0 ? static_cast<uint8_t>(rng()) : pick(2) ? IPPROTO_UDP : IPPROTO_TCP;
  p.ihl = static_cast<uint8_t>(pick(3) == 0 ? 5 + pick(11) : 5);
  p.frag = pick(4) == 0 ? static_cast<uint16_t>(rng()) : 0x4000;
  const bytes payload = counting_payload(pick(2) ? pick(100) : pick(1500), static_cast<uint8_t>(rng()));
  const auto sport = static_cast<uint16_t>(rng()), dport = static_cast<uint16_t>(rng());
  p.l4 = p.proto == IPPROTO_UDP   ? udp_segment(p, sport, dport, payload)
         : p.proto == IPPROTO_TCP ? tcp_segment(p, sport, dport, payload)
                                  : payload;
  if (p.proto == IPPROTO_UDP && pick(8) == 0) put_be16(&p.l4[6], 0);
  bytes f = build_ipv4_frame(p);
  f.resize(f.size() - ETH_FCS_LEN);
  switch (pick(12)) {
    case 0:
      f[ETH_HLEN] = static_cast<uint8_t>(0x40 | pick(5));
      break;
    case 1:
      put_be16(&f[ETH_HLEN + 2], static_cast<uint16_t>(pick(3) ? f.size() - ETH_HLEN - pick(3) : rng()));
      break;
    case 2:
      f[pick(static_cast<uint32_t>(f.size()))] ^= static_cast<uint8_t>(1 << pick(8));
      break;
    case 3:
      put_be16(&f[12], pick(2) ? ETH_P_ARP : static_cast<uint16_t>(rng()));
      break;
    case 4:
      f.resize(pick(static_cast<uint32_t>(f.size())));
      break;
    case 5:
      f.resize(f.size() + pick(70), static_cast<uint8_t>(rng()));
      break;
    default:
      break;
  }
  append_fcs(f);
  if (pick(10) == 0) f[f.size() - 1 - pick(4)] ^= 0x80;
  if (pick(15) == 0) f.resize(pick(static_cast<uint32_t>(f.size()) + 1));
  return f;
}

TEST_P(rx_frontend, every_status_matches_a_reference_model_on_random_frames) {
  std::mt19937 rng(20240611);
  frontend_config c;
  for (int i = 0; i < 2000; ++i) {
    if (i % 50 == 0) {
      for (auto& k : c.key) k = static_cast<uint8_t>(rng());
      c.rx_csum = rng() % 4 != 0;
      c.l4_tcp = rng() % 2 != 0;
      c.l4_udp = rng() % 2 != 0;
      dut.set_rss_key(c.key);
      dut.set_rx_csum(c.rx_csum);
      dut.set_rss_l4(c.l4_tcp, c.l4_udp);
    }
    const bytes f = random_frame(rng);
    const std::string got = describe(dut.check(f)), want = describe(reference_status(f, c));
    ASSERT_EQ(got, want) << "frame " << i << " of " << f.size() << " bytes";
  }
}

// A skipped frame (rx_mac: one the full FIFO drops) counts its beats and leaves no trace in
// the block: every frame checked after it gets the status a block that checked everything gives.
TEST_P(rx_frontend, skipped_frames_count_their_beats_and_leave_later_statuses_alone) {
  rx_frontend_rtl all(GetParam());
  std::mt19937 rng(77);
  for (int i = 0; i < 600; ++i) {
    const bytes f = random_frame(rng);
    const rx_status want = all.check(f);
    if (i % 3 == 1) {
      dut.skip(f.size());
    } else {
      ASSERT_EQ(describe(dut.check(f)), describe(want)) << "frame " << i << " of " << f.size() << " bytes";
    }
    ASSERT_EQ(dut.cycles(), all.cycles());
  }
}

// The MAC drops a legal-size frame the full FIFO has no room for without the verilated model:
// a good one as rx_missed_errors, a bad FCS as rx_crc_errors (as the block says), a runt as
// rx_short_length_errors still; every frame's beats are counted, and the frame taken once the
// FIFO has room carries the descriptor status and queue a MAC that never skipped reports.
TEST(rx_mac_full_fifo, drops_without_the_model_and_counts_every_beat) {
  nicsim::hw::nic_params params;
  params.rx_fifo_bytes = 2 * 512;
  nicsim::hw::reg_file regs, fresh_regs;
  nicsim::hw::nic_stats stats, fresh_stats;
  nicsim::hw::rx_mac mac(params, regs, stats), fresh(params, fresh_regs, fresh_stats);
  auto frame = [](size_t len, uint32_t seq) {
    payload_stamp st;
    st.seq = seq;
    wire_frame w;
    w.id = seq;
    w.bytes = build_udp_frame(udp_flow{}, len, st);
    return w;
  };
  using nicsim::hw::rx_drop;
  EXPECT_EQ(mac.receive(frame(512, 0)), rx_drop::none);
  EXPECT_EQ(mac.receive(frame(512, 1)), rx_drop::none);
  EXPECT_EQ(mac.receive(frame(512, 2)), rx_drop::missed);
  wire_frame bad = frame(1518, 3);
  bad.bytes[100] ^= 0x10;
  EXPECT_EQ(mac.receive(bad), rx_drop::crc);
  wire_frame runt = frame(64, 4);
  runt.bytes.resize(60);
  EXPECT_EQ(mac.receive(runt), rx_drop::short_length);
  EXPECT_EQ(stats.rx_missed_errors, 1u);
  EXPECT_EQ(stats.rx_crc_errors, 1u);
  EXPECT_EQ(stats.rx_short_length_errors, 1u);
  const auto& fe = mac.frontend();
  EXPECT_EQ(fe.cycles(), 3 * fe.beats(512) + fe.beats(1518) + fe.beats(60));

  mac.pop();  // frame 0: room for one more
  const wire_frame next = frame(300, 5);
  ASSERT_EQ(mac.receive(next), rx_drop::none);
  ASSERT_EQ(fresh.receive(next), rx_drop::none);
  mac.pop();  // frame 1
  const auto& got = mac.front();
  ASSERT_EQ(got.frame.id, next.id);
  EXPECT_EQ(got.status, fresh.front().status);
  EXPECT_EQ(got.errors, fresh.front().errors);
  EXPECT_EQ(got.queue, fresh.front().queue);
}

TEST(rx_frontend_widths, datapath_of_512_bits_takes_a_beat_per_64_bytes) {
  const rx_frontend_rtl dut;
  EXPECT_EQ(dut.data_w(), 512u);
  EXPECT_EQ(dut.beats(64), 1u);
  EXPECT_EQ(dut.beats(1518), 24u);
  EXPECT_THROW(rx_frontend_rtl{128}, std::invalid_argument);
}

}  // namespace
