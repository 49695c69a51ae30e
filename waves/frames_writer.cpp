#include "waves/frames_writer.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace nicsim::waves {

const char* const frames_writer::header =
    "seq,src_port,dst_port,bytes,fate,wire_start_ns,wire_end_ns,fifo_out_ns,dma_done_ns,irq_ns,"
    "driver_clean_ns,socket_enqueue_ns,socket_dequeue_ns,recvfrom_return_ns\n";

namespace {
bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

frames_writer::frames_writer(const std::string& path, const std::string& name)
    : m_name(name.empty() ? path : name) {
  if (ends_with(m_name, ".gz") || ends_with(path, ".gz")) {
    m_gz = gzopen(path.c_str(), "wb6");
    if (m_gz == nullptr)
      throw std::runtime_error(m_name + ": cannot write: " + std::strerror(errno ? errno : EIO));
  } else {
    m_file = std::fopen(path.c_str(), "w");
    if (m_file == nullptr) throw std::runtime_error(m_name + ": cannot write: " + std::strerror(errno));
  }
  put(header, std::strlen(header));
}

frames_writer::~frames_writer() {
  if (m_file) std::fclose(m_file);
  if (m_gz) gzclose(static_cast<gzFile>(m_gz));
}

std::string frames_writer::error() const {
  return failed() ? m_name + ": write failed: " + std::strerror(m_errno) : std::string();
}

void frames_writer::put(const char* text, size_t len) {
  if (m_errno != 0 || len == 0) return;
  if (m_file) {
    if (std::fwrite(text, 1, len, m_file) != len) m_errno = errno != 0 ? errno : EIO;
  } else if (m_gz) {
    if (gzwrite(static_cast<gzFile>(m_gz), text, static_cast<unsigned>(len)) != static_cast<int>(len)) {
      int zerr = Z_OK;
      gzerror(static_cast<gzFile>(m_gz), &zerr);
      m_errno = zerr == Z_ERRNO && errno != 0 ? errno : EIO;
    }
  }
}

void frames_writer::row(uint64_t seq, uint16_t src_port, uint16_t dst_port, bool has_ports, uint64_t bytes,
                        const char* fate, const uint64_t (&times)[N_TIMES]) {
  if (m_errno != 0) return;
  char line[512];
  int n = has_ports
              ? std::snprintf(line, sizeof line, "%llu,%u,%u,%llu,%s", static_cast<unsigned long long>(seq),
                              static_cast<unsigned>(src_port), static_cast<unsigned>(dst_port),
                              static_cast<unsigned long long>(bytes), fate)
              : std::snprintf(line, sizeof line, "%llu,,,%llu,%s", static_cast<unsigned long long>(seq),
                              static_cast<unsigned long long>(bytes), fate);
  for (uint64_t t : times) {
    if (n < 0 || static_cast<size_t>(n) >= sizeof line - 32) break;
    if (t == UINT64_MAX) {
      line[n++] = ',';
    } else {
      n +=
          std::snprintf(line + n, sizeof line - static_cast<size_t>(n), ",%llu.%03llu",
                        static_cast<unsigned long long>(t / 1000), static_cast<unsigned long long>(t % 1000));
    }
  }
  if (n < 0) return;
  line[n++] = '\n';
  put(line, static_cast<size_t>(n));
  ++m_rows;
}

void frames_writer::close() {
  if (m_file) {
    if (m_errno == 0 && std::fflush(m_file) != 0) m_errno = errno != 0 ? errno : EIO;
    if (std::fclose(m_file) != 0 && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
    m_file = nullptr;
  }
  if (m_gz) {
    const int rc = gzclose(static_cast<gzFile>(m_gz));
    m_gz = nullptr;
    if (rc != Z_OK && m_errno == 0) m_errno = rc == Z_ERRNO && errno != 0 ? errno : EIO;
  }
  if (m_errno != 0) throw std::runtime_error(error());
}

}  // namespace nicsim::waves
