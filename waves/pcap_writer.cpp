#include "waves/pcap_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace nicsim::waves {

// The pcapng blocks below are composed of 32-bit words in the host's order; the section's
// byte-order magic tells readers which, but the 16-bit halves are laid out little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pcapng blocks are written little-endian");

namespace {
constexpr uint32_t LINKTYPE_ETHERNET = 1;
}

pcap_writer::pcap_writer(const std::string& path, const std::string& name)
    : m_name(name.empty() ? path : name) {
  m_file = std::fopen(path.c_str(), "wb");
  if (m_file == nullptr) throw std::runtime_error(m_name + ": cannot write: " + std::strerror(errno));
  // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
  const uint32_t shb[7] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 0x00000001, 0xFFFFFFFF, 0xFFFFFFFF, 28};
  put(shb, sizeof shb);
  // Interface Description Block: LINKTYPE_ETHERNET, snaplen 65535, if_tsresol = 9 (ns).
  const uint32_t idb[8] = {0x00000001, 32, LINKTYPE_ETHERNET, 65535, 9u | 1u << 16, 9, 0, 32};
  put(idb, sizeof idb);
  m_bytes = PCAPNG_HEADER_BYTES;
}

pcap_writer::~pcap_writer() {
  if (m_file) std::fclose(m_file);
}

std::string pcap_writer::error() const {
  return failed() ? m_name + ": write failed: " + std::strerror(m_errno) : std::string();
}

void pcap_writer::put(const void* data, size_t len) {
  if (std::fwrite(data, 1, len, m_file) != len && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
}

void pcap_writer::write(uint64_t time_ps, const std::vector<uint8_t>& bytes, direction dir) {
  if (m_file == nullptr || m_errno != 0) return;
  const uint64_t ns = time_ps / 1000;
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
}

void pcap_writer::close() {
  if (m_file == nullptr) return;
  if (m_errno == 0 && std::fflush(m_file) != 0) m_errno = errno != 0 ? errno : EIO;
  if (std::fclose(m_file) != 0 && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
  m_file = nullptr;
  if (m_errno != 0) throw std::runtime_error(error());
}

}  // namespace nicsim::waves
