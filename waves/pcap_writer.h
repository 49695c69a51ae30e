#pragma once
// Frames as they cross the wire, with nanosecond timestamps, through libpcap
// (LINKTYPE_ETHERNET, FCS stripped as capture tools see it). A failed write
// stops the writing: failed() says so, close() throws.
//
// Two formats: classic pcap (libpcap's nanosecond variant), for runs where frames only
// come in; and pcapng (IETF draft-ietf-opsawg-pcapng: a Section Header Block, one Interface
// Description Block with if_tsresol 9, an Enhanced Packet Block per frame whose epb_flags
// option gives the direction, bits 0-1: 01 inbound, 10 outbound, as seen from the host),
// for runs where frames flow both ways. libpcap reads pcapng but cannot write it, so the
// blocks are written here.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct pcap;
struct pcap_dumper;

namespace nicsim::waves {

class pcap_writer {
 public:
  enum class format { pcap, pcapng };
  enum class direction : uint32_t { unknown = 0, inbound = 1, outbound = 2 };  // epb_flags bits 0-1

  // Writes to path; name is what messages call it (default: path). Throws
  // std::runtime_error naming it when it cannot be opened.
  explicit pcap_writer(const std::string& path, const std::string& name = {}, format fmt = format::pcap);
  ~pcap_writer();
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;

  // bytes include the FCS; the capture holds the frame without it.
  // The direction goes into pcapng's epb_flags; classic pcap has no place for it.
  void write(uint64_t time_ps, const std::vector<uint8_t>& bytes, direction dir = direction::unknown);
  format file_format() const { return m_format; }
  // Flushes and closes; throws std::runtime_error naming the file when any write failed.
  void close();
  uint64_t packets() const { return m_packets; }
  uint64_t bytes() const { return m_bytes; }  // the file's size so far, buffered bytes included
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

  static constexpr uint64_t FILE_HEADER_BYTES = 24, RECORD_HEADER_BYTES = 16;
  // pcapng: Section Header Block 28 + Interface Description Block 32; an Enhanced Packet
  // Block is 32 bytes around the data (padded to 4) and 12 of options (epb_flags, end).
  static constexpr uint64_t PCAPNG_HEADER_BYTES = 28 + 32, PCAPNG_RECORD_BYTES = 32 + 12;

 private:
  void release();
  void put(const void* data, size_t len);
  void put32(uint32_t v) { put(&v, 4); }

  pcap* m_pcap = nullptr;
  pcap_dumper* m_dumper = nullptr;
  std::FILE* m_file = nullptr;
  std::string m_name;
  format m_format;
  uint64_t m_packets = 0;
  uint64_t m_bytes = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
