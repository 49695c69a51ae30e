#pragma once
// Frames as they cross the wire, with nanosecond timestamps, through libpcap
// (LINKTYPE_ETHERNET, FCS stripped as capture tools see it). A failed write
// stops the writing: failed() says so, close() throws.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct pcap;
struct pcap_dumper;

namespace nicsim::waves {

class pcap_writer {
 public:
  // Writes to path; name is what messages call it (default: path). Throws
  // std::runtime_error naming it when it cannot be opened.
  explicit pcap_writer(const std::string& path, const std::string& name = {});
  ~pcap_writer();
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;

  // bytes include the FCS; the capture holds the frame without it.
  void write(uint64_t time_ps, const std::vector<uint8_t>& bytes);
  // Flushes and closes; throws std::runtime_error naming the file when any write failed.
  void close();
  uint64_t packets() const { return m_packets; }
  uint64_t bytes() const { return m_bytes; }  // the file's size so far, buffered bytes included
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

  static constexpr uint64_t FILE_HEADER_BYTES = 24, RECORD_HEADER_BYTES = 16;

 private:
  void release();

  pcap* m_pcap = nullptr;
  pcap_dumper* m_dumper = nullptr;
  std::FILE* m_file = nullptr;
  std::string m_name;
  uint64_t m_packets = 0;
  uint64_t m_bytes = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
