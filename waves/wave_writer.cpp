#include "waves/wave_writer.h"

#include <gtkwave/fstapi.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <stdexcept>

#include "waves/output_file.h"

namespace nicsim::waves {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}
std::string vcd_code(size_t index) {
  std::string code;
  do {
    code += static_cast<char>('!' + index % 94);
    index /= 94;
  } while (index > 0);
  return code;
}
}  // namespace

// Bytes an FST change costs before compression (value, handle and time deltas).
constexpr uint64_t FST_CHANGE_OVERHEAD = 4;
// The FST writer is flushed (a block compressed and written) after this many bytes of changes:
// left alone, the FST library holds up to 128 MB of changes in memory (FST_BREAK_SIZE in
// fstapi.c) and a long run's peak memory follows its length. Flushing early only cuts the file
// into more blocks; the values in it are the same.
constexpr uint64_t FST_FLUSH_CHUNK = 4u << 20;

wave_writer::wave_writer(const wave_options& options)
    : m_opt(options), m_vcd(ends_with(options.path, ".vcd")) {
  if (m_opt.name.empty()) m_opt.name = m_opt.path;
  // Everything that can be checked before a file exists is.
  if (m_opt.from_ps >= m_opt.to_ps) throw std::runtime_error("--waves-from must be before --waves-to");
  if (!m_vcd && !ends_with(options.path, ".fst"))
    throw std::runtime_error(m_opt.name + ": wave files end in .fst or .vcd");
  if (m_vcd) {
    m_file = std::fopen(options.path.c_str(), "w");
    if (m_file == nullptr)
      throw std::runtime_error(m_opt.name + ": cannot write the wave file: " + std::strerror(errno));
  } else {
    m_fst = fstWriterCreate(options.path.c_str(), 1);
    if (m_fst == nullptr) throw std::runtime_error(m_opt.name + ": cannot write the wave file");
    fstWriterSetTimescale(m_fst, -12);
    fstWriterSetPackType(m_fst, FST_WR_PT_LZ4);
  }
}

wave_writer::~wave_writer() {
  // Unfinished: whoever owns the file removes it; nothing here may throw.
  if (m_fst) fstWriterClose(m_fst);
  if (m_file) std::fclose(m_file);
}

std::string wave_writer::error() const {
  return m_opt.name + ": write failed: " + std::strerror(m_errno != 0 ? m_errno : EIO);
}

void wave_writer::put(const char* format, ...) {
  if (m_errno != 0) return;
  va_list args;
  va_start(args, format);
  checked_vfprintf(m_file, m_errno, m_disk_bytes, format, args);
  va_end(args);
}

void wave_writer::fst_wrote(uint64_t bytes) {
  m_pending_bytes += bytes;
  if (m_pending_bytes < FST_FLUSH_CHUNK) return;
  fstWriterFlushContext(m_fst);
  struct stat st {};
  if (::stat(m_opt.path.c_str(), &st) == 0) m_disk_bytes = static_cast<uint64_t>(st.st_size);
  m_pending_bytes = 0;
}

int wave_writer::declare(const std::string& path, unsigned width, bool text) {
  if (m_header_done) throw std::logic_error("wave signal declared after the first change: " + path);
  if (!m_opt.groups.empty()) {
    const std::string group = path.substr(0, path.find('.'));
    if (std::find(m_opt.groups.begin(), m_opt.groups.end(), group) == m_opt.groups.end()) return -1;
  }
  sig s;
  s.path = path;
  s.width = std::max(1u, width);
  s.text = text;
  m_sigs.push_back(s);
  return static_cast<int>(m_sigs.size() - 1);
}

// Scopes are opened and closed as the sorted paths need them.
void wave_writer::start_header() {
  m_header_done = true;
  std::vector<size_t> order(m_sigs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [this](size_t a, size_t b) { return m_sigs[a].path < m_sigs[b].path; });
  if (m_vcd) put("$version nicsim $end\n$timescale 1ps $end\n");
  std::vector<std::string> open;
  for (size_t i : order) {
    sig& s = m_sigs[i];
    auto parts = split_path(s.path);
    const std::string leaf = parts.back();
    parts.pop_back();
    size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) ++common;
    while (open.size() > common) {
      if (m_vcd)
        put("$upscope $end\n");
      else
        fstWriterSetUpscope(m_fst);
      open.pop_back();
    }
    for (size_t k = common; k < parts.size(); ++k) {
      if (m_vcd)
        put("$scope module %s $end\n", parts[k].c_str());
      else
        fstWriterSetScope(m_fst, FST_ST_VCD_MODULE, parts[k].c_str(), nullptr);
      open.push_back(parts[k]);
    }
    if (m_vcd) {
      s.code = vcd_code(i);
      if (s.text)
        put("$var string 1 %s %s $end\n", s.code.c_str(), leaf.c_str());
      else
        put("$var wire %u %s %s $end\n", s.width, s.code.c_str(), leaf.c_str());
    } else if (s.text) {
      s.handle = fstWriterCreateVar(m_fst, FST_VT_GEN_STRING, FST_VD_IMPLICIT, 0, leaf.c_str(), 0);
    } else {
      s.handle = fstWriterCreateVar(m_fst, FST_VT_VCD_WIRE, FST_VD_IMPLICIT, s.width, leaf.c_str(), 0);
    }
  }
  while (!open.empty()) {
    if (m_vcd)
      put("$upscope $end\n");
    else
      fstWriterSetUpscope(m_fst);
    open.pop_back();
  }
  if (m_vcd) put("$enddefinitions $end\n");
}

void wave_writer::advance(uint64_t time_ps) {
  if (m_time_emitted && time_ps == m_time) return;
  m_time = time_ps;
  m_time_emitted = true;
  if (m_vcd)
    put("#%llu\n", static_cast<unsigned long long>(time_ps));
  else
    fstWriterEmitTimeChange(m_fst, time_ps);
  if (m_fst) fst_wrote(FST_CHANGE_OVERHEAD);
}

namespace {
// The characters '0' and '1' of each byte value's eight bits, the most significant first.
const std::array<std::array<char, 8>, 256> bit_chars = [] {
  std::array<std::array<char, 8>, 256> t{};
  for (unsigned v = 0; v < 256; ++v)
    for (unsigned b = 0; b < 8; ++b) t[v][b] = ((v >> (7 - b)) & 1u) ? '1' : '0';
  return t;
}();

// Writes the low `width` bits of `value` as '0'/'1' characters, the most significant first;
// bits above the 64th are '0'.
void bits_text(char* p, unsigned width, uint64_t value) {
  if (width > 64) {
    std::memset(p, '0', width - 64);
    p += width - 64;
    width = 64;
  }
  const unsigned bytes = width / 8, head = width % 8;
  if (head != 0) {
    std::memcpy(p, bit_chars[(value >> (8 * bytes)) & 0xFFu].data() + (8 - head), head);
    p += head;
  }
  for (unsigned i = bytes; i-- > 0; p += 8) std::memcpy(p, bit_chars[(value >> (8 * i)) & 0xFFu].data(), 8);
}
}  // namespace

void wave_writer::emit(sig& s) {
  ++m_written;
  if (s.text) {
    static const std::string none = "-";
    const std::string& v = s.text_value.empty() ? none : s.text_value;
    if (m_vcd) {
      std::string t = v;
      std::replace(t.begin(), t.end(), ' ', '_');
      put("s%s %s\n", t.c_str(), s.code.c_str());
    } else {
      fstWriterEmitVariableLengthValueChange(m_fst, s.handle, v.data(), static_cast<uint32_t>(v.size()));
      fst_wrote(v.size() + FST_CHANGE_OVERHEAD);
    }
    return;
  }
  m_bits.resize(s.width);
  bits_text(m_bits.data(), s.width, s.value);
  if (m_vcd) {
    if (s.width == 1)
      put("%c%s\n", m_bits[0], s.code.c_str());
    else
      put("b%s %s\n", m_bits.c_str(), s.code.c_str());
  } else {
    fstWriterEmitValueChange(m_fst, s.handle, m_bits.data());
    fst_wrote(s.width + FST_CHANGE_OVERHEAD);
  }
}

// Returns whether a change at time_ps is inside the window, opening it with a
// dump of every known value the first time.
bool wave_writer::open_window(uint64_t time_ps) {
  // Until time moves past zero, signals may still be declared: values are
  // kept and written when the window opens.
  if (!m_header_done && time_ps == 0) return false;
  if (!m_header_done) start_header();
  if (time_ps < m_opt.from_ps || time_ps >= m_opt.to_ps) return false;
  if (!m_window_open) {
    m_window_open = true;
    advance(m_opt.from_ps);
    for (auto& s : m_sigs)
      if (s.known) emit(s);
  }
  advance(time_ps);
  return true;
}

void wave_writer::change(int id, uint64_t time_ps, uint64_t value) {
  if (id < 0 || m_stopped) return;
  sig& s = m_sigs[static_cast<size_t>(id)];
  if (s.width < 64) value &= (uint64_t{1} << s.width) - 1;
  if (s.known && s.value == value) return;
  // The window opens (if this is the first change in it) with the values before this change.
  const bool in_window = open_window(time_ps);
  s.value = value;
  s.known = true;
  if (in_window) emit(s);
}

void wave_writer::change_text(int id, uint64_t time_ps, const std::string& text) {
  if (id < 0 || m_stopped) return;
  sig& s = m_sigs[static_cast<size_t>(id)];
  if (s.known && s.text_value == text) return;
  const bool in_window = open_window(time_ps);  // with the values before this change
  s.text_value = text;
  s.known = true;
  if (in_window) emit(s);
}

void wave_writer::stop(uint64_t time_ps) {
  if (m_stopped) return;
  // The file's last time stamp is where recording stopped.
  if (m_window_open && time_ps >= m_opt.from_ps && time_ps < m_opt.to_ps) advance(time_ps);
  m_stopped = true;
}

void wave_writer::close() {
  if (!m_fst && !m_file) return;
  if (!m_window_open) {
    if (!m_header_done) start_header();
    if (m_opt.from_ps == 0 && !m_stopped) open_window(0);
  }
  if (m_fst) {
    fstWriterClose(m_fst);
    m_fst = nullptr;
    std::string why;
    if (!fst_file_complete(m_opt.path, &why))
      throw std::runtime_error(m_opt.name + ": write failed: the file did not come out whole (" + why + ")");
    struct stat st {};
    if (::stat(m_opt.path.c_str(), &st) == 0) m_disk_bytes = static_cast<uint64_t>(st.st_size);
    m_pending_bytes = 0;
  }
  if (m_file) {
    if (m_errno == 0 && std::fflush(m_file) != 0) m_errno = errno != 0 ? errno : EIO;
    if (std::fclose(m_file) != 0 && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
    m_file = nullptr;
    if (m_errno != 0) throw std::runtime_error(error());
  }
}

}  // namespace nicsim::waves
