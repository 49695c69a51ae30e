// TCP over real bytes (proto/tcp.h): headers and options round trip, the checksum agrees with
// one computed by hand, and frames carry what RFC 9293 and Linux put there.
#include <gtest/gtest.h>

#include <vector>

#include "proto/checksum.h"
#include "proto/tcp.h"

namespace {

namespace proto = nicsim::proto;

TEST(tcp_proto, header_with_every_option_round_trips) {
  proto::tcp_header h;
  h.src_port = 40000;
  h.dst_port = 9000;
  h.seq = 0xDEADBEEF;
  h.ack = 0x01020304;
  h.flags = proto::TCP_ACK | proto::TCP_PSH;
  h.window = 501;
  h.opt.has_timestamp = true;
  h.opt.tsval = 111;
  h.opt.tsecr = 222;
  h.opt.sack_count = 2;
  h.opt.sack[0] = {1000, 2000};
  h.opt.sack[1] = {3000, 4000};
  uint8_t buf[60] = {};
  const size_t len = proto::write_tcp_header(buf, h);
  EXPECT_EQ(len, 20u + 12 + 4 + 16);
  proto::tcp_header got;
  size_t off = 0;
  ASSERT_EQ(proto::parse_tcp_header(buf, len, &got, &off), proto::tcp_parse_error::none);
  EXPECT_EQ(off, len);
  EXPECT_EQ(got.src_port, 40000);
  EXPECT_EQ(got.dst_port, 9000);
  EXPECT_EQ(got.seq, 0xDEADBEEFu);
  EXPECT_EQ(got.ack, 0x01020304u);
  EXPECT_EQ(got.flags, h.flags);
  EXPECT_EQ(got.window, 501);
  EXPECT_TRUE(got.opt.has_timestamp);
  EXPECT_EQ(got.opt.tsval, 111u);
  EXPECT_EQ(got.opt.tsecr, 222u);
  ASSERT_EQ(got.opt.sack_count, 2u);
  EXPECT_EQ(got.opt.sack[1], (proto::sack_block{3000, 4000}));
  EXPECT_FALSE(got.opt.has_mss);
}

TEST(tcp_proto, syn_options_are_laid_out_as_linux_writes_them) {
  proto::tcp_header h;
  h.flags = proto::TCP_SYN;
  h.opt.has_mss = true;
  h.opt.mss = 1460;
  h.opt.sack_permitted = true;
  h.opt.has_timestamp = true;
  h.opt.tsval = 0x11223344;
  h.opt.has_wscale = true;
  h.opt.wscale = 7;
  uint8_t buf[60] = {};
  ASSERT_EQ(proto::write_tcp_header(buf, h), 40u);
  EXPECT_EQ(buf[12], 0xA0);  // data offset 10 words
  const std::vector<uint8_t> want{2,    4,    0x05, 0xB4, 4, 2, 8, 10, 0x11, 0x22,
                                  0x33, 0x44, 0,    0,    0, 0, 1, 3,  3,    7};
  EXPECT_EQ(std::vector<uint8_t>(buf + 20, buf + 40), want);
  proto::tcp_header got;
  size_t off = 0;
  ASSERT_EQ(proto::parse_tcp_header(buf, 40, &got, &off), proto::tcp_parse_error::none);
  EXPECT_TRUE(got.opt.has_mss && got.opt.sack_permitted && got.opt.has_timestamp && got.opt.has_wscale);
  EXPECT_EQ(got.opt.mss, 1460);
  EXPECT_EQ(got.opt.wscale, 7);
  // Without timestamps, SACK-permitted takes a word of its own behind two NOPs.
  h.opt.has_timestamp = false;
  ASSERT_EQ(proto::write_tcp_header(buf, h), 32u);
  EXPECT_EQ(std::vector<uint8_t>(buf + 24, buf + 28), (std::vector<uint8_t>{1, 1, 4, 2}));
}

TEST(tcp_proto, malformed_options_and_offsets_are_refused) {
  uint8_t buf[40] = {};
  buf[12] = 0x40;  // 16 bytes: shorter than the header
  proto::tcp_header h;
  size_t off = 0;
  EXPECT_EQ(proto::parse_tcp_header(buf, 40, &h, &off), proto::tcp_parse_error::bad_data_offset);
  buf[12] = 0x60;  // 24 bytes
  EXPECT_EQ(proto::parse_tcp_header(buf, 20, &h, &off), proto::tcp_parse_error::bad_data_offset);
  buf[20] = proto::TCPOPT_MSS;
  buf[21] = 9;  // runs past the header
  EXPECT_EQ(proto::parse_tcp_header(buf, 40, &h, &off), proto::tcp_parse_error::bad_option);
  buf[21] = 1;  // shorter than its own kind and length
  EXPECT_EQ(proto::parse_tcp_header(buf, 40, &h, &off), proto::tcp_parse_error::bad_option);
  buf[20] = proto::TCPOPT_EOL;  // ends the list: what follows is not read
  EXPECT_EQ(proto::parse_tcp_header(buf, 40, &h, &off), proto::tcp_parse_error::none);
  EXPECT_EQ(off, 24u);
  EXPECT_EQ(proto::parse_tcp_header(buf, 10, &h, &off), proto::tcp_parse_error::too_short);
}

// A checksum computed by hand: 10.0.0.1:40000 -> 10.0.0.2:9000, seq 1, ack 2, ACK, window
// 0x1000, no options, payload "ab".
//   pseudo-header: 0x0A00 + 0x0001 + 0x0A00 + 0x0002 + 0x0006 + 22 (0x0016)   = 0x141F
//   header: 0x9C40 + 0x2328 + 0x0000 + 0x0001 + 0x0000 + 0x0002 + 0x5010 + 0x1000 + 0 + 0
//                                                                          = 0x11F7B
//   payload: 0x6162                                                        = 0x6162
//   sum 0x141F + 0x11F7B + 0x6162 = 0x194FC -> 0x94FC + 0x1 = 0x94FD; checksum ~ = 0x6B02
TEST(tcp_proto, checksum_matches_a_hand_computed_one) {
  proto::tcp_header h;
  h.src_port = 40000;
  h.dst_port = 9000;
  h.seq = 1;
  h.ack = 2;
  h.flags = proto::TCP_ACK;
  h.window = 0x1000;
  std::vector<uint8_t> seg(22);
  ASSERT_EQ(proto::write_tcp_header(seg.data(), h), 20u);
  seg[20] = 'a';
  seg[21] = 'b';
  proto::tcp_set_checksum(0x0A000001, 0x0A000002, seg.data(), seg.size());
  EXPECT_EQ(proto::get_be16(seg.data() + 16), 0x6B02);
  EXPECT_EQ(proto::tcp_checksum_verify(0x0A000001, 0x0A000002, seg.data(), seg.size()), 0);
  seg[21] ^= 1;
  EXPECT_NE(proto::tcp_checksum_verify(0x0A000001, 0x0A000002, seg.data(), seg.size()), 0);
}

TEST(tcp_proto, frames_carry_df_ttl_the_id_padding_and_a_good_fcs) {
  proto::tcp_endpoints ep;
  proto::tcp_header h;
  h.src_port = 40000;
  h.dst_port = 9000;
  h.flags = proto::TCP_ACK;
  auto f = proto::build_tcp_frame(ep, 0xBEEF, h, nullptr, 0);
  EXPECT_EQ(f.size(), proto::ETH_MIN_FRAME);  // 54 bytes padded to 60, and the FCS
  EXPECT_TRUE(proto::fcs_ok(f.data(), f.size()));
  const uint8_t* ip = f.data() + proto::ETH_HLEN;
  EXPECT_EQ(proto::get_be16(ip + 2), 40);  // the padding is not in the IPv4 length
  EXPECT_EQ(proto::get_be16(ip + 4), 0xBEEF);
  EXPECT_EQ(proto::get_be16(ip + 6), 0x4000);
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], proto::IPPROTO_TCP);
  EXPECT_EQ(proto::csum_fold(proto::csum_partial(ip, proto::IPV4_HLEN)), 0);
  EXPECT_EQ(proto::tcp_checksum_verify(ep.src_ip, ep.dst_ip, ip + 20, 20), 0);

  h.opt.has_timestamp = true;
  std::vector<uint8_t> payload(1448);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  f = proto::build_tcp_frame(ep, 1, h, payload.data(), payload.size());
  EXPECT_EQ(f.size(), 1518u);  // a full segment with timestamps fills a 1518-byte frame
  EXPECT_EQ(f.size(), proto::tcp_frame_bytes(12, 1448));
  proto::tcp_header got;
  size_t off = 0;
  ip = f.data() + proto::ETH_HLEN;
  ASSERT_EQ(proto::parse_tcp_header(ip + 20, 1480, &got, &off), proto::tcp_parse_error::none);
  EXPECT_EQ(off, 32u);
  EXPECT_EQ(std::vector<uint8_t>(ip + 20 + off, ip + 20 + off + 1448), payload);
  EXPECT_EQ(proto::tcp_checksum_verify(ep.src_ip, ep.dst_ip, ip + 20, 1480), 0);
  EXPECT_THROW(proto::build_tcp_frame(ep, 1, h, payload.data(), 1449), std::invalid_argument);
}

}  // namespace
