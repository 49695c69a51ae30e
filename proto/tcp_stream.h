#pragma once
// The bytes of a TCP stream the link partner sends: a pure function of the connection and the
// stream offset, so that the host's reader can check every byte it reads (in order, once)
// however the sender segmented, retransmitted or the host coalesced them. Four bytes at a time
// come from a 32-bit mix of (conn, offset / 4): a byte moved, repeated or lost is caught unless
// the mix repeats, which for a shift by any amount is a 2^-32 chance per word.
#include <cstddef>
#include <cstdint>

namespace nicsim::proto {

inline uint32_t tcp_stream_word(uint32_t conn, uint64_t word) {
  uint64_t z = word * 0x9E3779B97F4A7C15ull + (uint64_t{conn} << 32 | 0x5bd1e995u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

// The byte at stream offset `offset` (0 = the first byte after the SYN) of connection `conn`.
inline uint8_t tcp_stream_byte(uint32_t conn, uint64_t offset) {
  return static_cast<uint8_t>(tcp_stream_word(conn, offset >> 2) >> (8 * (offset & 3)));
}

// Fills out[0..len) with the stream's bytes from `offset`.
inline void tcp_stream_fill(uint32_t conn, uint64_t offset, uint8_t* out, size_t len) {
  for (size_t i = 0; i < len; ++i) out[i] = tcp_stream_byte(conn, offset + i);
}

// The first offset in [offset, offset + len) whose byte in `data` is not the stream's, or
// offset + len when every byte is right.
inline uint64_t tcp_stream_check(uint32_t conn, uint64_t offset, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i)
    if (data[i] != tcp_stream_byte(conn, offset + i)) return offset + i;
  return offset + len;
}

}  // namespace nicsim::proto
