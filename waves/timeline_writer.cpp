#include "waves/timeline_writer.h"

#include <algorithm>
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

// The per-event text without printf or std::string (they were most of a recorded run's
// cost): the same bytes "%d", "%llu" and the timestamp's "%llu.%06llu" give, written at p,
// each returning the end of what it wrote.
template <size_t N>
char* put_literal(char* p, const char (&s)[N]) {
  std::memcpy(p, s, N - 1);
  return p + N - 1;
}
char* put_string(char* p, const char* s) {
  const size_t n = std::strlen(s);
  std::memcpy(p, s, n);
  return p + n;
}
// At most 2 * strlen(s) bytes.
char* put_escaped(char* p, const char* s) {
  for (; *s != 0; ++s) {
    const char c = *s;
    if (c == '"' || c == '\\') *p++ = '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    *p++ = c;
  }
  return p;
}
constexpr char two_digits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
// At most 20 bytes (or min_digits, up to 24).
char* put_uint(char* out, unsigned long long v, int min_digits = 1) {
  char digits[24];
  char* const end = digits + sizeof digits;
  char* p = end;  // written from the last digits back, two at a time, then copied at once
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
  const auto n = static_cast<size_t>(end - p);
  std::memcpy(out, p, n);
  return out + n;
}
// At most 21 bytes.
char* put_int(char* p, int v) {
  if (v >= 0) return put_uint(p, static_cast<unsigned long long>(v));
  *p++ = '-';
  return put_uint(p, static_cast<unsigned long long>(-static_cast<long long>(v)));
}
// What an event's text takes besides its name and `extra`: the longest opening (a flow's,
// with its 20-digit id), the track and the timestamp, with room to spare.
constexpr size_t EVENT_BYTES = 192;
// The buffer is emptied into the file once it holds this much.
constexpr size_t FLUSH_AT = 64 * 1024;
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
  flush_out();  // what the events wrote comes first
  if (m_errno != 0 || m_file == nullptr) return;
  va_list args;
  va_start(args, format);
  checked_vfprintf(m_file, m_errno, m_bytes, format, args);
  va_end(args);
}

void timeline_writer::event_prefix() {
  if (m_events++) put(",\n");
}

char* timeline_writer::room(size_t n) {
  if (m_out.size() - m_out_len < n) {
    flush_out();
    if (m_out.size() < n) m_out.resize(std::max(n, FLUSH_AT + EVENT_BYTES));
  }
  return m_out.data() + m_out_len;
}

void timeline_writer::done(char* end) {
  const auto n = static_cast<size_t>(end - (m_out.data() + m_out_len));
  m_out_len += n;
  m_bytes += n;
  if (m_out_len >= FLUSH_AT) flush_out();
}

void timeline_writer::flush_out() {
  if (m_out_len == 0) return;
  const size_t n = m_out_len;
  m_out_len = 0;
  if (m_errno != 0 || m_file == nullptr) return;
  if (std::fwrite(m_out.data(), 1, n, m_file) != n) m_errno = errno != 0 ? errno : EIO;
}

char* timeline_writer::finish_event(char* p, const track_info& t, uint64_t time_ps, const char* extra) {
  std::memcpy(p, t.ids.data(), t.ids.size());
  p += t.ids.size();
  p = put_string(p, extra);
  // Microseconds with picosecond digits, printed exactly; the event's closing brace.
  if (time_ps != m_ts_ps) {
    char* q = put_literal(m_ts_text, "\"ts\":");
    q = put_uint(q, time_ps / 1000000);
    *q++ = '.';
    q = put_uint(q, time_ps % 1000000, 6);
    *q++ = '}';
    m_ts_len = static_cast<size_t>(q - m_ts_text);
    m_ts_ps = time_ps;
  }
  std::memcpy(p, m_ts_text, m_ts_len);
  return p + m_ts_len;
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
  char ids[64];
  char* p = put_literal(ids, "\"pid\":");
  p = put_int(p, pid);
  p = put_literal(p, ",\"tid\":");
  p = put_int(p, tid);
  *p++ = ',';
  m_tracks.push_back({pid, tid, 0, std::string(ids, p)});
  event_prefix();
  put("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s\"}}", pid, tid,
      json_escape(name).c_str());
  return static_cast<int>(m_tracks.size()) - 1;
}

void timeline_writer::begin(int track, uint64_t time_ps, const char* name) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  ++t.open;
  char* p = room(EVENT_BYTES + 2 * std::strlen(name));
  p = m_events++ ? put_literal(p, ",\n{\"ph\":\"B\",\"name\":\"")
                 : put_literal(p, "{\"ph\":\"B\",\"name\":\"");
  p = put_escaped(p, name);
  p = put_literal(p, "\",");
  done(finish_event(p, t, time_ps));
}

void timeline_writer::end(int track, uint64_t time_ps) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  if (t.open == 0) return;
  --t.open;
  char* p = room(EVENT_BYTES);
  p = m_events++ ? put_literal(p, ",\n{\"ph\":\"E\",") : put_literal(p, "{\"ph\":\"E\",");
  done(finish_event(p, t, time_ps));
}

void timeline_writer::flow(int track, uint64_t time_ps, uint64_t id, char phase, const char* name) {
  if (track < 0 || !m_file) return;
  const track_info& t = m_tracks[static_cast<size_t>(track)];
  char* p = room(EVENT_BYTES + 2 * std::strlen(name));
  p = m_events++ ? put_literal(p, ",\n{\"ph\":\"") : put_literal(p, "{\"ph\":\"");
  *p++ = phase;
  p = put_literal(p, "\",\"name\":\"");
  p = put_escaped(p, name);
  p = put_literal(p, "\",\"cat\":\"frame\",\"id\":");
  p = put_uint(p, static_cast<unsigned long long>(id));
  *p++ = ',';
  done(finish_event(p, t, time_ps, phase == 'f' ? "\"bp\":\"e\"," : ""));
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
