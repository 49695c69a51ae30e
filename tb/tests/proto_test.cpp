#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "proto/checksum.h"
#include "proto/frame.h"

namespace {

namespace proto = nicsim::proto;

constexpr size_t ip_offset = proto::ETH_HLEN;
constexpr size_t udp_offset = proto::ETH_HLEN + proto::IPV4_HLEN;
constexpr size_t payload_offset = udp_offset + proto::UDP_HLEN;

// What the receiver computes over a UDP datagram: 0 when the checksum field is right.
uint16_t udp_verify(const proto::udp_flow& flow, const std::vector<uint8_t>& frame) {
  const uint8_t* udp = frame.data() + udp_offset;
  const uint16_t udp_len = proto::get_be16(udp + 4);
  return proto::csum_fold(proto::csum_tcpudp_nofold(flow.src_ip, flow.dst_ip, udp_len, proto::IPPROTO_UDP,
                                                    proto::csum_partial(udp, udp_len)));
}

TEST(proto_test, crc32_matches_ieee_check_value) {
  const std::string check = "123456789";
  EXPECT_EQ(proto::crc32(reinterpret_cast<const uint8_t*>(check.data()), check.size()), 0xCBF43926u);
}

TEST(proto_test, crc32_continues_across_split_buffers) {
  const std::string check = "123456789";
  const auto* p = reinterpret_cast<const uint8_t*>(check.data());
  EXPECT_EQ(proto::crc32(p + 4, 5, proto::crc32(p, 4)), 0xCBF43926u);
}

// The CRC-32 one bit at a time, straight from the polynomial: the reference the
// table-driven crc32 (slicing-by-8) must match bit for bit.
uint32_t crc32_bitwise(const uint8_t* p, size_t n, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (0xEDB88320u ^ (crc >> 1)) : (crc >> 1);
  }
  return ~crc;
}

TEST(proto_test, crc32_matches_bitwise_reference_on_every_length_alignment_and_seed) {
  std::mt19937_64 rng(0x15);
  std::vector<uint8_t> buf(2100 + 8);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  // Every length 0..64 at every start offset 0..7 (unaligned starts, tails of 0..7 bytes).
  for (size_t off = 0; off < 8; ++off)
    for (size_t len = 0; len <= 64; ++len) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(proto::crc32(buf.data() + off, len, seed), crc32_bitwise(buf.data() + off, len, seed))
          << "offset " << off << " length " << len;
      ASSERT_EQ(proto::crc32(buf.data() + off, len), crc32_bitwise(buf.data() + off, len, 0));
    }
  // Random lengths up to a jumbo-ish frame, random starts and seeds, fresh bytes each time.
  std::uniform_int_distribution<size_t> len_d(0, 2100), off_d(0, 7);
  for (int i = 0; i < 2000; ++i) {
    const size_t off = off_d(rng), len = len_d(rng);
    for (size_t k = off; k < off + len; ++k) buf[k] = static_cast<uint8_t>(rng());
    const uint32_t seed = i % 3 == 0 ? 0u : static_cast<uint32_t>(rng());
    ASSERT_EQ(proto::crc32(buf.data() + off, len, seed), crc32_bitwise(buf.data() + off, len, seed))
        << "offset " << off << " length " << len << " seed " << seed;
  }
  // crc32 folds 16-byte blocks with carry-less multiplication where the CPU has it (one
  // block, four lanes from 64 bytes, the tail by table): every length through those paths,
  // against the bitwise reference and the table-only crc32_table.
  for (size_t len = 0; len <= 2100; ++len) {
    const size_t off = len % 8;
    const uint32_t seed = static_cast<uint32_t>(rng());
    const uint32_t want = crc32_bitwise(buf.data() + off, len, seed);
    ASSERT_EQ(proto::crc32(buf.data() + off, len, seed), want) << "length " << len;
    ASSERT_EQ(proto::crc32_table(buf.data() + off, len, seed), want) << "length " << len;
  }
  // A CRC continued across any split equals the CRC of the whole.
  for (size_t split = 0; split <= 100; ++split)
    ASSERT_EQ(proto::crc32(buf.data() + split, 100 - split, proto::crc32(buf.data(), split)),
              crc32_bitwise(buf.data(), 100, 0));
}

TEST(proto_test, udp_frame_fcs_checks_and_fails_after_one_byte_flip) {
  std::vector<uint8_t> frame = proto::build_udp_frame({}, 128, {});
  ASSERT_EQ(frame.size(), 128u);
  EXPECT_TRUE(proto::fcs_ok(frame.data(), frame.size()));

  frame[60] ^= 0x01;
  EXPECT_FALSE(proto::fcs_ok(frame.data(), frame.size()));
  frame[60] ^= 0x01;
  frame[frame.size() - 1] ^= 0x80;  // the FCS itself
  EXPECT_FALSE(proto::fcs_ok(frame.data(), frame.size()));
}

TEST(proto_test, udp_frame_fcs_is_sent_least_significant_byte_first) {
  const std::vector<uint8_t> frame = proto::build_udp_frame({}, 100, {});
  const size_t body = frame.size() - proto::ETH_FCS_LEN;
  const uint32_t fcs = proto::crc32(frame.data(), body);
  EXPECT_EQ(frame[body + 0], static_cast<uint8_t>(fcs));
  EXPECT_EQ(frame[body + 3], static_cast<uint8_t>(fcs >> 24));
  // The CRC-32 over a frame and its FCS is the 802.3 residue.
  EXPECT_EQ(proto::crc32(frame.data(), frame.size()), 0x2144DF1Cu);
}

TEST(proto_test, fcs_ok_rejects_frame_shorter_than_fcs) {
  const uint8_t bytes[3] = {0, 0, 0};
  EXPECT_FALSE(proto::fcs_ok(bytes, sizeof bytes));
}

TEST(proto_test, udp_frame_carries_flow_addresses_and_lengths) {
  proto::udp_flow flow;
  flow.src_ip = 0xC0A80001;
  flow.dst_ip = 0xC0A80002;
  flow.src_port = 1234;
  flow.dst_port = 5678;
  flow.dst_mac = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
  const std::vector<uint8_t> frame = proto::build_udp_frame(flow, 200, {});
  const uint8_t* ip = frame.data() + ip_offset;
  const uint8_t* udp = frame.data() + udp_offset;

  EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.begin() + 6),
            std::vector<uint8_t>(flow.dst_mac.begin(), flow.dst_mac.end()));
  EXPECT_EQ(proto::get_be16(frame.data() + 12), proto::ETH_P_IP);
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(ip[9], proto::IPPROTO_UDP);
  EXPECT_EQ(proto::get_be16(ip + 2), 200 - proto::ETH_HLEN - proto::ETH_FCS_LEN);
  EXPECT_EQ(proto::get_be32(ip + 12), flow.src_ip);
  EXPECT_EQ(proto::get_be32(ip + 16), flow.dst_ip);
  EXPECT_EQ(proto::get_be16(udp), 1234);
  EXPECT_EQ(proto::get_be16(udp + 2), 5678);
  EXPECT_EQ(proto::get_be16(udp + 4), proto::UDP_HLEN + proto::udp_payload_len(200));
}

TEST(proto_test, ipv4_header_checksum_folds_to_zero_over_header) {
  for (size_t bytes : {size_t{64}, size_t{333}, size_t{1518}}) {
    const std::vector<uint8_t> frame = proto::build_udp_frame({}, bytes, {7, 0});
    const uint8_t* ip = frame.data() + ip_offset;
    EXPECT_NE(proto::get_be16(ip + 10), 0) << bytes;
    EXPECT_EQ(proto::csum_fold(proto::csum_partial(ip, proto::IPV4_HLEN)), 0) << bytes;
  }
}

TEST(proto_test, udp_checksum_over_pseudo_header_verifies_to_zero) {
  const proto::udp_flow flow;
  // 65 bytes of frame leave an odd UDP length, exercising the padded last byte.
  for (size_t bytes : {size_t{64}, size_t{65}, size_t{255}, size_t{1518}}) {
    std::vector<uint8_t> frame = proto::build_udp_frame(flow, bytes, {3, 123456789});
    EXPECT_EQ(udp_verify(flow, frame), 0) << bytes;
    frame[payload_offset + 1] ^= 0x10;
    EXPECT_NE(udp_verify(flow, frame), 0) << bytes;
  }
}

TEST(proto_test, csum_partial_pads_odd_trailing_byte_as_high_byte) {
  const uint8_t bytes[3] = {0x01, 0x02, 0x03};
  EXPECT_EQ(proto::csum_partial(bytes, 3), 0x0102u + 0x0300u);
  EXPECT_EQ(proto::csum_partial(bytes, 1), 0x0100u);
  EXPECT_EQ(proto::csum_partial(bytes, 3, 0x10000u), 0x10402u);
}

TEST(proto_test, csum_matches_rfc1071_worked_example) {
  // RFC 1071 section 3: the sum of these words is 0x2ddf0, which folds to 0xddf2.
  const uint8_t bytes[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(proto::csum_partial(bytes, 8), 0x2ddf0u);
  EXPECT_EQ(proto::csum_fold(0x2ddf0u), static_cast<uint16_t>(~0xddf2u));
}

// The internet checksum's partial sum a word at a time, as RFC 1071 writes it: the reference
// the eight-bytes-at-a-time csum_partial (and its 32-bytes-at-a-time AVX2 path, from 64 bytes
// where the CPU has AVX2) must equal exactly (the unfolded 32-bit sum too).
uint32_t csum_partial_wordwise(const uint8_t* p, size_t n, uint32_t sum) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (i < n) acc += static_cast<uint32_t>(p[i] << 8);
  while (acc >> 32) acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

TEST(proto_test, csum_partial_matches_wordwise_reference_on_every_length_alignment_and_seed) {
  std::mt19937 rng(3);
  std::vector<uint8_t> buf(2100);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 8; ++off)
    for (size_t len = 0; len <= 600; ++len)
      for (uint32_t seed : {0u, 1u, 0xFFFFFFFFu, 0x89ABCDEFu})
        ASSERT_EQ(proto::csum_partial(buf.data() + off, len, seed),
                  csum_partial_wordwise(buf.data() + off, len, seed))
            << "off " << off << " len " << len << " seed " << seed;
  for (int k = 0; k < 2000; ++k) {
    const size_t off = rng() % 64, len = rng() % (buf.size() - off);
    const uint32_t seed = rng();
    ASSERT_EQ(proto::csum_partial(buf.data() + off, len, seed),
              csum_partial_wordwise(buf.data() + off, len, seed));
  }
  // All ones over far more than one block of lane steps: the lanes' carries are all kept.
  std::vector<uint8_t> ones(300001, 0xFF);
  EXPECT_EQ(proto::csum_partial(ones.data(), ones.size(), 0xFFFFFFFFu),
            csum_partial_wordwise(ones.data(), ones.size(), 0xFFFFFFFFu));
}

// The payload filler written and checked in blocks gives payload_fill byte for byte, from any
// start, and the check finds a single wrong byte wherever it is.
TEST(proto_test, payload_filler_blocks_match_payload_fill_and_find_any_wrong_byte) {
  for (uint32_t seq : {0u, 1u, 7u, 255u, 256u, 123457u, 0xFFFFFFFFu})
    for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{255}, size_t{256}, size_t{257},
                       size_t{600}, size_t{1472}, size_t{9000}})
      for (size_t from : {size_t{0}, size_t{3}, size_t{16}}) {
        std::vector<uint8_t> out(len, 0xEE);
        proto::fill_payload(out.data(), len, seq, from);
        for (size_t k = 0; k < len; ++k)
          ASSERT_EQ(out[k], proto::payload_fill(seq, from + k))
              << seq << " " << len << " " << from << " " << k;
        std::vector<uint8_t> payload(len);
        for (size_t k = 0; k < len; ++k) payload[k] = proto::payload_fill(seq, k);
        ASSERT_TRUE(proto::payload_fill_matches(payload.data(), len, seq, from));
        for (size_t k = from; k < len; k += 97) {
          payload[k] ^= 0x01;
          ASSERT_FALSE(proto::payload_fill_matches(payload.data(), len, seq, from))
              << seq << " " << len << " " << k;
          payload[k] ^= 0x01;
        }
        if (from > 0 && len > 0) {
          payload[0] ^= 0x01;  // before `from`: not checked
          ASSERT_TRUE(proto::payload_fill_matches(payload.data(), len, seq, from));
        }
      }
}

TEST(proto_test, csum_fold_carries_twice) {
  // 0xFFFF + 0xFFFF = 0x1FFFE → 0xFFFF after the first fold's carry.
  EXPECT_EQ(proto::csum_fold(0xFFFFFFFFu), 0);
  EXPECT_EQ(proto::csum_fold(0x0001FFFFu), static_cast<uint16_t>(~0x0001u));
}

TEST(proto_test, pseudo_header_sum_adds_addresses_protocol_and_length) {
  const uint32_t sum = proto::csum_tcpudp_nofold(0x0A000001, 0x0A000002, 0x0010, proto::IPPROTO_UDP, 5);
  EXPECT_EQ(sum, 0x0A00u + 0x0001u + 0x0A00u + 0x0002u + 17u + 0x0010u + 5u);
}

TEST(proto_test, payload_stamp_round_trips_through_frame) {
  const proto::payload_stamp sent{42, 0x0123456789ABCDEFull};
  const std::vector<uint8_t> frame = proto::build_udp_frame({}, 300, sent);
  const uint8_t* payload = frame.data() + payload_offset;
  const size_t len = proto::udp_payload_len(300);

  proto::payload_stamp got;
  ASSERT_TRUE(proto::read_payload_stamp(payload, len, &got));
  EXPECT_EQ(got.seq, 42u);
  EXPECT_EQ(got.tx_ns, 0x0123456789ABCDEFull);
  for (size_t i = proto::payload_stamp::SIZE; i < len; ++i)
    ASSERT_EQ(payload[i], proto::payload_fill(42, i)) << "payload byte " << i;
}

TEST(proto_test, payload_without_stamp_is_not_read_as_one) {
  std::vector<uint8_t> payload(32, 0);
  proto::payload_stamp got;
  EXPECT_FALSE(proto::read_payload_stamp(payload.data(), payload.size(), &got));

  proto::write_payload(payload.data(), payload.size(), {9, 1});
  EXPECT_FALSE(proto::read_payload_stamp(payload.data(), proto::payload_stamp::SIZE - 1, &got));

  // Too short for a stamp: filler only.
  std::vector<uint8_t> short_payload(proto::payload_stamp::SIZE - 1, 0);
  proto::write_payload(short_payload.data(), short_payload.size(), {9, 1});
  EXPECT_EQ(short_payload[0], proto::payload_fill(9, 0));
  EXPECT_FALSE(proto::read_payload_stamp(short_payload.data(), short_payload.size(), &got));
}

TEST(proto_test, frame_sizes_outside_64_to_1518_throw) {
  EXPECT_THROW(proto::build_udp_frame({}, 63, {}), std::invalid_argument);
  EXPECT_THROW(proto::build_udp_frame({}, 1519, {}), std::invalid_argument);
  EXPECT_EQ(proto::build_udp_frame({}, 64, {}).size(), 64u);
  EXPECT_EQ(proto::build_udp_frame({}, 1518, {}).size(), 1518u);
}

TEST(proto_test, zero_udp_checksum_is_sent_as_all_ones) {
  const proto::udp_flow flow;
  // The stamp's tx_ns is summed as-is: its low word set to the checksum found
  // with tx_ns = 0 makes the one's-complement sum all ones, a computed checksum of 0.
  const std::vector<uint8_t> base = proto::build_udp_frame(flow, 128, {5, 0});
  const uint16_t base_check = proto::get_be16(base.data() + udp_offset + 6);

  std::vector<uint8_t> frame = proto::build_udp_frame(flow, 128, {5, base_check});
  uint8_t* check = frame.data() + udp_offset + 6;
  EXPECT_EQ(proto::get_be16(check), 0xFFFF);
  EXPECT_EQ(udp_verify(flow, frame), 0);

  // With the field zeroed the sum is what the builder computed: it must have been 0.
  proto::put_be16(check, 0);
  EXPECT_EQ(udp_verify(flow, frame), 0) << "the construction did not reach a computed checksum of 0";
}

}  // namespace
