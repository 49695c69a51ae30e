#include "waves/pcap_writer.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace nicsim::waves {

pcap_writer::pcap_writer(const std::string& path) : m_path(path) {
  m_pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
  if (m_pcap == nullptr) throw std::runtime_error(path + ": cannot open a pcap handle");
  m_dumper = pcap_dump_open(m_pcap, path.c_str());
  if (m_dumper == nullptr) {
    const std::string err = pcap_geterr(m_pcap);
    pcap_close(m_pcap);
    m_pcap = nullptr;
    throw std::runtime_error(path + ": " + err);
  }
}

pcap_writer::~pcap_writer() { close(); }

void pcap_writer::write(uint64_t time_ps, const std::vector<uint8_t>& bytes) {
  if (m_dumper == nullptr) return;
  const uint64_t ns = time_ps / 1000;
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  h.ts.tv_usec = static_cast<suseconds_t>(ns % 1000000000);  // nanoseconds in a nano-precision file
  const size_t len = bytes.size() >= 4 ? bytes.size() - 4 : bytes.size();
  h.caplen = static_cast<bpf_u_int32>(len);
  h.len = static_cast<bpf_u_int32>(len);
  pcap_dump(reinterpret_cast<u_char*>(m_dumper), &h, bytes.data());
  ++m_packets;
}

void pcap_writer::close() {
  if (m_dumper) {
    pcap_dump_close(m_dumper);
    m_dumper = nullptr;
  }
  if (m_pcap) {
    pcap_close(m_pcap);
    m_pcap = nullptr;
  }
}

}  // namespace nicsim::waves
