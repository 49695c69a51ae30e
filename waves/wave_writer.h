#pragma once
// Writes value changes of named signals to FST (through the FST library that
// Verilator ships) or VCD, on the simulation's time axis in picoseconds.
// A window [from, to) keeps long runs small: changes outside it are dropped,
// and every signal's value at `from` is written when the window opens.
// A failed write is found and reported by close() (VCD: also by failed() as it
// happens); the FST library reports none, so close() reads the finished file's
// block structure back.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace nicsim::waves {

struct wave_options {
  std::string path;  // .fst, or .vcd for VCD
  std::string name;  // what messages call the file (default: path)
  uint64_t from_ps = 0;
  uint64_t to_ps = UINT64_MAX;
  std::vector<std::string> groups;  // first path components to keep; empty: all
};

class wave_writer {
 public:
  explicit wave_writer(const wave_options& options);  // throws std::runtime_error naming the file
  ~wave_writer();
  wave_writer(const wave_writer&) = delete;
  wave_writer& operator=(const wave_writer&) = delete;

  // Declares a signal; returns -1 when its group is not selected (changes to it are ignored).
  int declare(const std::string& path, unsigned width, bool text);
  void change(int id, uint64_t time_ps, uint64_t value);
  void change_text(int id, uint64_t time_ps, const std::string& text);
  // Records nothing after time_ps (the file ends there); the signals stay declared.
  void stop(uint64_t time_ps);
  // Writes out and closes; throws std::runtime_error naming the file when a write
  // failed or the file did not come out whole. The destructor closes without checking.
  void close();

  uint64_t changes_written() const { return m_written; }
  // The file's size so far: exact for VCD; for FST what is on disk plus what the
  // writer still buffers (at most a few MB: it is flushed every FST_FLUSH_CHUNK bytes of
  // changes), counted at its uncompressed size.
  uint64_t bytes() const { return m_disk_bytes + m_pending_bytes; }
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

 private:
  struct sig {
    std::string path;
    unsigned width;
    bool text;
    uint64_t value = 0;
    std::string text_value;
    bool known = false;
    uint32_t handle = 0;  // FST handle
    std::string code;     // VCD identifier
  };
  void start_header();
  bool open_window(uint64_t time_ps);
  void advance(uint64_t time_ps);
  void emit(sig& s);
  void put(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void fst_wrote(uint64_t bytes);

  wave_options m_opt;
  bool m_vcd;
  void* m_fst = nullptr;
  std::FILE* m_file = nullptr;
  std::vector<sig> m_sigs;
  bool m_header_done = false;
  bool m_window_open = false;
  uint64_t m_time = 0;
  bool m_time_emitted = false;
  uint64_t m_written = 0;
  std::string m_bits;
  bool m_stopped = false;
  uint64_t m_disk_bytes = 0, m_pending_bytes = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
