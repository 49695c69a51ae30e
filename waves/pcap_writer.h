#pragma once
// Frames as they cross the wire, with nanosecond timestamps, through libpcap
// (LINKTYPE_ETHERNET, FCS stripped as capture tools see it).
#include <cstdint>
#include <string>
#include <vector>

struct pcap;
struct pcap_dumper;

namespace nicsim::waves {

class pcap_writer {
 public:
  explicit pcap_writer(const std::string& path);  // throws std::runtime_error naming the file
  ~pcap_writer();
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;

  // bytes include the FCS; the capture holds the frame without it.
  void write(uint64_t time_ps, const std::vector<uint8_t>& bytes);
  void close();
  uint64_t packets() const { return m_packets; }

 private:
  pcap* m_pcap = nullptr;
  pcap_dumper* m_dumper = nullptr;
  std::string m_path;
  uint64_t m_packets = 0;
};

}  // namespace nicsim::waves
