#include "waves/pcap_writer.h"

#include <pcap/pcap.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace nicsim::waves {

// The pcapng blocks below are composed of 32-bit words in the host's order; the section's
// byte-order magic tells readers which, but the 16-bit halves are laid out little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pcapng blocks are written little-endian");

pcap_writer::pcap_writer(const std::string& path, const std::string& name, format fmt)
    : m_name(name.empty() ? path : name), m_format(fmt) {
  if (m_format == format::pcapng) {
    m_file = std::fopen(path.c_str(), "wb");
    if (m_file == nullptr) throw std::runtime_error(m_name + ": cannot write: " + std::strerror(errno));
    // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
    const uint32_t shb[7] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 0x00000001, 0xFFFFFFFF, 0xFFFFFFFF, 28};
    put(shb, sizeof shb);
    // Interface Description Block: LINKTYPE_ETHERNET, snaplen 65535, if_tsresol = 9 (ns).
    const uint32_t idb[8] = {0x00000001, 32, DLT_EN10MB, 65535, 9u | 1u << 16, 9, 0, 32};
    put(idb, sizeof idb);
    m_bytes = PCAPNG_HEADER_BYTES;
    if (std::ferror(m_file)) m_errno = errno != 0 ? errno : EIO;
    return;
  }
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

void pcap_writer::put(const void* data, size_t len) {
  if (std::fwrite(data, 1, len, m_file) != len && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
}

void pcap_writer::write(uint64_t time_ps, const std::vector<uint8_t>& bytes, direction dir) {
  const uint64_t ns = time_ps / 1000;
  if (m_format == format::pcapng) {
    if (m_file == nullptr || m_errno != 0) return;
    const size_t len = bytes.size() >= 4 ? bytes.size() - 4 : bytes.size();
    const size_t padded = (len + 3) & ~size_t{3};
    const auto total = static_cast<uint32_t>(PCAPNG_RECORD_BYTES + padded);
    const uint32_t head[7] = {0x00000006,
                              total,
                              0,  // interface 0
                              static_cast<uint32_t>(ns >> 32),
                              static_cast<uint32_t>(ns),
                              static_cast<uint32_t>(len),
                              static_cast<uint32_t>(len)};
    put(head, sizeof head);
    put(bytes.data(), len);
    static const uint8_t zeros[4] = {};
    put(zeros, padded - len);
    const uint32_t tail[4] = {2u | 4u << 16, static_cast<uint32_t>(dir), 0, total};  // epb_flags, end
    put(tail, sizeof tail);
    ++m_packets;
    m_bytes += total;
    return;
  }
  if (m_dumper == nullptr || m_errno != 0) return;
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
  if (m_format == format::pcapng) {
    if (m_file == nullptr) return;
    if (m_errno == 0 && std::fflush(m_file) != 0) m_errno = errno != 0 ? errno : EIO;
    if (std::fclose(m_file) != 0 && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
    m_file = nullptr;
    release();
    if (m_errno != 0) throw std::runtime_error(error());
    return;
  }
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
