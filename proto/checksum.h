#pragma once
// Checksums of the wire and of the internet protocols, shared by the traffic
// source (which makes them), the NIC model (which checks the FCS) and the host
// stack (which checks IP and L4 checksums as the kernel does).
#include <cstddef>
#include <cstdint>

namespace nicsim::proto {

// IEEE 802.3 CRC-32 (reflected, poly 0xEDB88320), as the FCS is computed.
uint32_t crc32(const uint8_t* data, size_t len, uint32_t crc = 0);
// The same CRC by table look-ups alone (slicing-by-8): what crc32 gives on a CPU without
// carry-less multiplication, and its reference in the tests.
uint32_t crc32_table(const uint8_t* data, size_t len, uint32_t crc = 0);

// RFC 1071 one's-complement sum of 16-bit big-endian words, not folded.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum = 0);
// Folds a partial sum to 16 bits and complements it (the kernel's csum_fold).
uint16_t csum_fold(uint32_t sum);
// IPv4 pseudo-header sum for TCP/UDP (saddr, daddr in host order).
uint32_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, uint16_t len, uint8_t proto, uint32_t sum);

}  // namespace nicsim::proto
