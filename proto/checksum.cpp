#include "proto/checksum.h"

#include <array>
#include <cstring>

namespace nicsim::proto {
namespace {

// Slicing-by-8 (Kounavis and Berry, "A Systematic Approach to Building High Performance
// Software-based CRC Generators", 2005): table k maps a byte to its CRC contribution k
// bytes further down the stream, so eight table look-ups fold eight bytes at once. The
// result is bit for bit the byte-at-a-time reflected CRC (t[0] is that table).
using crc_tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr crc_tables make_crc_tables() {
  crc_tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t k = 1; k < 8; ++k) t[k][i] = t[0][t[k - 1][i] & 0xFF] ^ (t[k - 1][i] >> 8);
  return t;
}
constexpr crc_tables crc_table = make_crc_tables();

// Four bytes as a little-endian word, whatever the host's byte order (one load on x86).
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

constexpr bool little_endian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

}  // namespace

uint32_t crc32(const uint8_t* data, size_t len, uint32_t crc) {
  crc = ~crc;
  const auto& t = crc_table;
  for (; len >= 8; len -= 8, data += 8) {
    const uint32_t lo = load_le32(data) ^ crc;
    const uint32_t hi = load_le32(data + 4);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; len != 0; --len, ++data) crc = t[0][(crc ^ *data) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// The sum of the big-endian 16-bit words of data, exactly (the same integer a word-by-word
// loop adds up, so the 64-to-32-bit fold below gives the same partial sum), eight bytes at a
// time: the words' high bytes (even offsets) and low bytes (odd offsets) are summed apart in
// four 16-bit lanes each, and the total is 256 * highs + lows. A lane takes at most 255 per
// step, so it cannot overflow within LANE_STEPS steps.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum) {
  constexpr size_t LANE_STEPS = 257;
  constexpr uint64_t BYTE_LANES = 0x00FF00FF00FF00FFull;
  auto lanes_total = [](uint64_t v) {
    return (v & 0xFFFF) + (v >> 16 & 0xFFFF) + (v >> 32 & 0xFFFF) + (v >> 48);
  };
  uint64_t acc = sum;
  size_t i = 0;
  while (len - i >= 8) {
    uint64_t highs = 0, lows = 0;
    for (size_t steps = 0; steps < LANE_STEPS && len - i >= 8; ++steps, i += 8) {
      uint64_t x;
      std::memcpy(&x, data + i, 8);
      if constexpr (!little_endian) x = __builtin_bswap64(x);  // byte k at bits 8k either way
      highs += x & BYTE_LANES;
      lows += (x >> 8) & BYTE_LANES;
    }
    acc += (lanes_total(highs) << 8) + lanes_total(lows);
  }
  for (; i + 1 < len; i += 2) acc += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < len) acc += static_cast<uint32_t>(data[i] << 8);
  while (acc >> 32) acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xFFFF);
}

uint32_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, uint16_t len, uint8_t proto, uint32_t sum) {
  uint64_t acc = sum;
  acc += (saddr >> 16) + (saddr & 0xFFFF) + (daddr >> 16) + (daddr & 0xFFFF);
  acc += proto;
  acc += len;
  while (acc >> 32) acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

}  // namespace nicsim::proto
