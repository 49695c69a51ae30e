#include "proto/checksum.h"

#include <array>
#include <cstring>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) && defined(__GNUC__)
// Carry-less multiplication folding (Gopal, Ozturk et al., "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ Instruction", Intel, 2009), for the reflected CRC-32 polynomial
// 0x04C11DB7: the running 128-bit remainder is multiplied by x^(128*k+-32) mod P and folded
// into the next block, then reduced 128 -> 64 -> 32 bits with a Barrett step. The constants
// are that paper's (as in zlib's and Linux's crc32-pclmul). Takes and returns the CRC register
// (before the final inversion), over a length that is a multiple of 16 and at least 16: the
// same register the table loop keeps, bit for bit.
#define NICSIM_CLMUL __attribute__((target("pclmul,sse4.1")))
NICSIM_CLMUL inline __m128i load(const uint8_t* q) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
}
// x * k folded over 2^128 (k holds the constants for both halves), plus the next block.
NICSIM_CLMUL inline __m128i fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)),
                       next);
}

NICSIM_CLMUL uint32_t crc32_clmul(const uint8_t* p, size_t len, uint32_t crc) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);  // x^(4*128+-32): fold by 64 B
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);  // x^(128+-32): fold by 16 B
  const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
  const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);  // mu and P'
  const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(crc)));
  p += 16;
  len -= 16;
  if (len >= 48) {  // four lanes 64 bytes apart
    __m128i x2 = load(p), x3 = load(p + 16), x4 = load(p + 32);
    p += 48;
    len -= 48;
    for (; len >= 64; p += 64, len -= 64) {
      x1 = fold(x1, k1k2, load(p));
      x2 = fold(x2, k1k2, load(p + 16));
      x3 = fold(x3, k1k2, load(p + 32));
      x4 = fold(x4, k1k2, load(p + 48));
    }
    x1 = fold(fold(fold(x1, k3k4, x2), k3k4, x3), k3k4, x4);
  }
  for (; len >= 16; p += 16, len -= 16) x1 = fold(x1, k3k4, load(p));
  // 128 -> 64 bits.
  __m128i x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), x2);
  // Barrett reduction to 32 bits.
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, low32), poly, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

#undef NICSIM_CLMUL

// Asked once, at the first CRC (after libgcc's own start-up, which __builtin_cpu_init repeats
// harmlessly should a static initializer get here first).
bool has_clmul() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }();
  return yes;
}

// The sum of a vector's sixteen 16-bit lanes.
__attribute__((target("avx2"))) inline uint64_t lanes_total_avx2(__m256i v) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i w = _mm256_add_epi32(_mm256_unpacklo_epi16(v, zero), _mm256_unpackhi_epi16(v, zero));
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(x));
}

// The same exact word sum as csum_partial's eight-byte loop below, 32 bytes at a time with
// AVX2: sixteen 16-bit lanes for the high bytes and sixteen for the low bytes, each taking at
// most 255 per block, so 257 blocks cannot overflow a lane; then the lanes are widened to 32
// bits and added up. Over blocks * 32 bytes.
__attribute__((target("avx2"))) uint64_t word_sum_avx2(const uint8_t* data, size_t blocks) {
  const __m256i byte_lanes = _mm256_set1_epi16(0x00FF);
  const __m256i zero = _mm256_setzero_si256();
  uint64_t total = 0;
  while (blocks != 0) {
    const size_t steps = blocks < 257 ? blocks : 257;
    __m256i highs = zero, lows = zero;
    for (size_t k = 0; k < steps; ++k, data += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
      highs = _mm256_add_epi16(highs, _mm256_and_si256(x, byte_lanes));  // even offsets
      lows = _mm256_add_epi16(lows, _mm256_srli_epi16(x, 8));            // odd offsets
    }
    total += (lanes_total_avx2(highs) << 8) + lanes_total_avx2(lows);
    blocks -= steps;
  }
  return total;
}

bool has_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
  }();
  return yes;
}
#endif

}  // namespace

uint32_t crc32_table(const uint8_t* data, size_t len, uint32_t crc) {
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

uint32_t crc32(const uint8_t* data, size_t len, uint32_t crc) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (len >= 16 && has_clmul()) {
    const size_t blocks = len & ~size_t{15};
    crc = ~crc32_clmul(data, blocks, ~crc);
    data += blocks;
    len -= blocks;
  }
#endif
  return crc32_table(data, len, crc);
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
#if defined(__x86_64__) && defined(__GNUC__)
  if (little_endian && len >= 64 && has_avx2()) {
    i = len & ~size_t{31};
    acc += word_sum_avx2(data, i / 32);
  }
#endif
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
