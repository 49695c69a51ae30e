#pragma once
// The Toeplitz hash as the Microsoft RSS specification defines it, in plain C++,
// for checking the RTL front end and the NIC's queue choice against.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto/frame.h"

namespace nicsim::test {

inline uint32_t toeplitz(const std::array<uint8_t, 40>& key, const std::vector<uint8_t>& input) {
  uint32_t result = 0;
  uint64_t window = proto::get_be64(key.data());  // key bits [0, 64) of the sliding window
  size_t next_key_byte = 8;
  for (uint8_t byte : input) {
    for (int bit = 7; bit >= 0; --bit) {
      if (byte >> bit & 1) result ^= static_cast<uint32_t>(window >> 32);
      window <<= 1;
    }
    // Refill the low byte that the eight shifts emptied.
    window |= next_key_byte < key.size() ? key[next_key_byte] : 0;
    ++next_key_byte;
  }
  return result;
}

// The hash input: source and destination address, then (4-tuple) the ports.
inline std::vector<uint8_t> rss_input(uint32_t src, uint32_t dst) {
  std::vector<uint8_t> in(8);
  proto::put_be32(&in[0], src);
  proto::put_be32(&in[4], dst);
  return in;
}

inline std::vector<uint8_t> rss_input(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> in = rss_input(src, dst);
  in.resize(12);
  proto::put_be16(&in[8], sport);
  proto::put_be16(&in[10], dport);
  return in;
}

}  // namespace nicsim::test
