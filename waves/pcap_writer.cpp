#include "waves/pcap_writer.h"

#include <pcap/pcap.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace nicsim::waves {

pcap_writer::pcap_writer(const std::string& path, const std::string& name)
    : m_name(name.empty() ? path : name) {
  m_pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
  if (m_pcap == nullptr) throw std::runtime_error(m_name + ": cannot open a pcap handle");
  // Opened here, not by libpcap, so that every write and the close can be checked.
  m_file = std::fopen(path.c_str(), "wb");
  if (m_file == nullptr) {
    const int err = errno;
    release();
    throw std::runtime_error(m_name + ": cannot write: " + std::strerror(err));
  }
  m_dumper = pcap_dump_fopen(m_pcap, m_file);
  if (m_dumper == nullptr) {
    const std::string err = pcap_geterr(m_pcap);
    release();
    throw std::runtime_error(m_name + ": " + err);
  }
  m_bytes = FILE_HEADER_BYTES;
}

pcap_writer::~pcap_writer() { release(); }

std::string pcap_writer::error() const {
  return failed() ? m_name + ": write failed: " + std::strerror(m_errno) : std::string();
}

void pcap_writer::write(uint64_t time_ps, const std::vector<uint8_t>& bytes) {
  if (m_dumper == nullptr || m_errno != 0) return;
  const uint64_t ns = time_ps / 1000;
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  h.ts.tv_usec = static_cast<suseconds_t>(ns % 1000000000);  // nanoseconds in a nano-precision file
  const size_t len = bytes.size() >= 4 ? bytes.size() - 4 : bytes.size();
  h.caplen = static_cast<bpf_u_int32>(len);
  h.len = static_cast<bpf_u_int32>(len);
  pcap_dump(reinterpret_cast<u_char*>(m_dumper), &h, bytes.data());
  ++m_packets;
  m_bytes += RECORD_HEADER_BYTES + len;
  // pcap_dump reports nothing; the stream's error flag is set by any failed write.
  if (std::ferror(m_file)) m_errno = errno != 0 ? errno : EIO;
}

void pcap_writer::close() {
  if (m_dumper == nullptr) return;
  if (m_errno == 0 && pcap_dump_flush(m_dumper) != 0) m_errno = errno != 0 ? errno : EIO;
  if (m_errno == 0 && std::ferror(m_file)) m_errno = EIO;
  // pcap_dump_close closes the stream without telling how that went: close a
  // duplicate of its descriptor last, which reports a failure the close would.
  const int fd = dup(fileno(m_file));
  pcap_dump_close(m_dumper);
  m_dumper = nullptr;
  m_file = nullptr;
  if (fd >= 0 && ::close(fd) != 0 && m_errno == 0) m_errno = errno;
  release();
  if (m_errno != 0) throw std::runtime_error(error());
}

void pcap_writer::release() {
  if (m_dumper) {
    pcap_dump_close(m_dumper);  // also closes m_file
    m_dumper = nullptr;
    m_file = nullptr;
  }
  if (m_file) {
    std::fclose(m_file);
    m_file = nullptr;
  }
  if (m_pcap) {
    pcap_close(m_pcap);
    m_pcap = nullptr;
  }
}

}  // namespace nicsim::waves
