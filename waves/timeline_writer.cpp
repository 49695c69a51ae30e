#include "waves/timeline_writer.h"

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <stdexcept>

#include "waves/output_file.h"

namespace nicsim::waves {

namespace {
// A name as a JSON string's contents: quotes and backslashes escaped, control characters dropped.
void append_escaped(std::string& out, const char* s) {
  for (; *s != 0; ++s) {
    const char c = *s;
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
}
std::string json_escape(const std::string& s) {
  std::string out;
  append_escaped(out, s.c_str());
  return out;
}

// The per-event text without printf (it was most of a recorded run's cost): the same bytes
// "%d", "%llu" and the timestamp's "%llu.%06llu" give.
constexpr char two_digits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
void append_uint(std::string& out, unsigned long long v, int min_digits = 1) {
  char digits[24];
  char* const end = digits + sizeof digits;
  char* p = end;  // written from the last digits back, two at a time, then appended at once
  while (v >= 100) {
    const auto k = static_cast<size_t>(v % 100) * 2;
    v /= 100;
    *--p = two_digits[k + 1];
    *--p = two_digits[k];
  }
  if (v >= 10) {
    *--p = two_digits[v * 2 + 1];
    *--p = two_digits[v * 2];
  } else {
    *--p = static_cast<char>('0' + v);
  }
  while (end - p < min_digits) *--p = '0';
  out.append(p, static_cast<size_t>(end - p));
}
void append_int(std::string& out, int v) {
  if (v < 0) {
    out += '-';
    append_uint(out, static_cast<unsigned long long>(-static_cast<long long>(v)));
  } else {
    append_uint(out, static_cast<unsigned long long>(v));
  }
}
}  // namespace

timeline_writer::timeline_writer(const std::string& path, const std::string& name)
    : m_file(std::fopen(path.c_str(), "w")), m_name(name.empty() ? path : name) {
  if (m_file == nullptr)
    throw std::runtime_error(m_name + ": cannot write the timeline: " + std::strerror(errno));
  put("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
}

timeline_writer::~timeline_writer() {
  if (m_file) std::fclose(m_file);  // unfinished: whoever owns the file removes it
}

std::string timeline_writer::error() const {
  return failed() ? m_name + ": write failed: " + std::strerror(m_errno) : std::string();
}

void timeline_writer::put(const char* format, ...) {
  if (m_errno != 0 || m_file == nullptr) return;
  va_list args;
  va_start(args, format);
  checked_vfprintf(m_file, m_errno, m_bytes, format, args);
  va_end(args);
}

void timeline_writer::event_prefix() {
  if (m_events++) put(",\n");
}

void timeline_writer::write_raw(const std::string& text) {
  if (m_errno != 0 || m_file == nullptr) return;
  if (std::fwrite(text.data(), 1, text.size(), m_file) != text.size())
    m_errno = errno != 0 ? errno : EIO;
  else
    m_bytes += text.size();
}

void timeline_writer::finish_event(const track_info& t, uint64_t time_ps, const char* extra) {
  m_buf += "\"pid\":";
  append_int(m_buf, t.pid);
  m_buf += ",\"tid\":";
  append_int(m_buf, t.tid);
  m_buf += ',';
  m_buf += extra;
  // Microseconds with picosecond digits, printed exactly; the event's closing brace.
  m_buf += "\"ts\":";
  append_uint(m_buf, time_ps / 1000000);
  m_buf += '.';
  append_uint(m_buf, time_ps % 1000000, 6);
  m_buf += '}';
  write_raw(m_buf);
}

int timeline_writer::track(const std::string& group, const std::string& name) {
  auto [it, fresh] = m_groups.try_emplace(group, static_cast<int>(m_groups.size()) + 1);
  const int pid = it->second;
  if (fresh) {
    event_prefix();
    put("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":\"%s\"}}", pid,
        json_escape(group).c_str());
    event_prefix();
    put("{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"args\":{\"sort_index\":%d}}", pid, pid);
  }
  const int tid = static_cast<int>(m_tracks.size()) + 1;
  m_tracks.push_back({pid, tid, {}});
  event_prefix();
  put("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s\"}}", pid, tid,
      json_escape(name).c_str());
  return static_cast<int>(m_tracks.size()) - 1;
}

void timeline_writer::begin(int track, uint64_t time_ps, const char* name) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  ++t.open;
  m_buf.assign(m_events++ ? ",\n{\"ph\":\"B\",\"name\":\"" : "{\"ph\":\"B\",\"name\":\"");
  append_escaped(m_buf, name);
  m_buf += "\",";
  finish_event(t, time_ps);
}

void timeline_writer::end(int track, uint64_t time_ps) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  if (t.open == 0) return;
  --t.open;
  m_buf.assign(m_events++ ? ",\n{\"ph\":\"E\"," : "{\"ph\":\"E\",");
  finish_event(t, time_ps);
}

void timeline_writer::flow(int track, uint64_t time_ps, uint64_t id, char phase, const char* name) {
  if (track < 0 || !m_file) return;
  const track_info& t = m_tracks[static_cast<size_t>(track)];
  m_buf.assign(m_events++ ? ",\n{\"ph\":\"" : "{\"ph\":\"");
  m_buf += phase;
  m_buf += "\",\"name\":\"";
  append_escaped(m_buf, name);
  m_buf += "\",\"cat\":\"frame\",\"id\":";
  append_uint(m_buf, static_cast<unsigned long long>(id));
  m_buf += ',';
  finish_event(t, time_ps, phase == 'f' ? "\"bp\":\"e\"," : "");
}

void timeline_writer::close(uint64_t end_ps) {
  if (!m_file) return;
  for (size_t i = 0; i < m_tracks.size(); ++i)
    while (m_tracks[i].open != 0) end(static_cast<int>(i), end_ps);
  put("\n]}\n");
  if (m_errno == 0 && std::fflush(m_file) != 0) m_errno = errno != 0 ? errno : EIO;
  if (std::fclose(m_file) != 0 && m_errno == 0) m_errno = errno != 0 ? errno : EIO;
  m_file = nullptr;
  if (m_errno != 0) throw std::runtime_error(error());
}

}  // namespace nicsim::waves
