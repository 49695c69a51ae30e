#pragma once
// One CSV row per wire frame toward the host (--frames FILE.csv, or FILE.csv.gz through
// zlib), written as each frame's fate becomes known, so memory stays bounded by what is in
// flight. A failed write stops the writing: failed() says so, close() throws.
#include <cstdint>
#include <cstdio>
#include <string>

namespace nicsim::waves {

class frames_writer {
 public:
  // The stages a row has a time for (ns, to the ps; empty when the frame never got there).
  static constexpr size_t N_TIMES = 9;
  static const char* const header;  // the CSV's first line, with its newline

  // Writes to path (gzip when name or path ends in .gz); name is what messages call it.
  // Throws std::runtime_error naming it when it cannot be opened.
  explicit frames_writer(const std::string& path, const std::string& name = {});
  ~frames_writer();
  frames_writer(const frames_writer&) = delete;
  frames_writer& operator=(const frames_writer&) = delete;

  // One frame: ports 0 when it is not UDP or TCP over IPv4 (the flow cells stay empty);
  // times[k] in ps, UINT64_MAX for a stage it did not reach.
  void row(uint64_t seq, uint16_t src_port, uint16_t dst_port, bool has_ports, uint64_t bytes,
           const char* fate, const uint64_t (&times)[N_TIMES]);
  void close();  // throws std::runtime_error naming the file when a write failed

  uint64_t rows() const { return m_rows; }
  bool failed() const { return m_errno != 0; }
  std::string error() const;

 private:
  void put(const char* text, size_t len);

  std::FILE* m_file = nullptr;
  void* m_gz = nullptr;  // gzFile
  std::string m_name;
  uint64_t m_rows = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
