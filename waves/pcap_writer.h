#pragma once
// Frames as they cross the wire, both directions, with nanosecond timestamps
// (LINKTYPE_ETHERNET, FCS stripped as capture tools see it). A failed write
// stops the writing: failed() says so, close() throws.
//
// The file is pcapng (IETF draft-ietf-opsawg-pcapng): a Section Header Block, one Interface
// Description Block with if_tsresol 9, and an Enhanced Packet Block per frame whose epb_flags
// option gives the direction (bits 0-1: 01 inbound, 10 outbound, as seen from the host).
// libpcap, tshark and Wireshark read it; libpcap cannot write it, so the blocks are written here.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace nicsim::waves {

class pcap_writer {
 public:
  enum class direction : uint32_t { unknown = 0, inbound = 1, outbound = 2 };  // epb_flags bits 0-1

  // Writes to path; name is what messages call it (default: path). Throws
  // std::runtime_error naming it when it cannot be opened.
  explicit pcap_writer(const std::string& path, const std::string& name = {});
  ~pcap_writer();
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;

  // bytes include the FCS; the capture holds the frame without it.
  // The direction goes into the packet's epb_flags.
  void write(uint64_t time_ps, const std::vector<uint8_t>& bytes, direction dir = direction::unknown);
  // Flushes and closes; throws std::runtime_error naming the file when any write failed.
  void close();
  uint64_t packets() const { return m_packets; }
  uint64_t bytes() const { return m_bytes; }  // the file's size so far, buffered bytes included
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

  // Section Header Block 28 + Interface Description Block 32; an Enhanced Packet
  // Block is 32 bytes around the data (padded to 4) and 12 of options (epb_flags, end).
  static constexpr uint64_t PCAPNG_HEADER_BYTES = 28 + 32, PCAPNG_RECORD_BYTES = 32 + 12;

 private:
  void put(const void* data, size_t len);

  std::FILE* m_file = nullptr;
  std::string m_name;
  uint64_t m_packets = 0;
  uint64_t m_bytes = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
