#include "waves/timeline_writer.h"

#include <stdexcept>

namespace nicsim::waves {

namespace {
std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}
}  // namespace

timeline_writer::timeline_writer(const std::string& path)
    : m_file(std::fopen(path.c_str(), "w")), m_path(path) {
  if (m_file == nullptr) throw std::runtime_error(path + ": cannot write the timeline");
  std::fprintf(m_file, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
}

timeline_writer::~timeline_writer() {
  if (m_file) close(0);
}

void timeline_writer::event_prefix() { std::fprintf(m_file, "%s", m_events++ ? ",\n" : ""); }

void timeline_writer::write_ts(uint64_t time_ps) {
  // Microseconds with picosecond digits, printed exactly.
  std::fprintf(m_file, "\"ts\":%llu.%06llu", static_cast<unsigned long long>(time_ps / 1000000),
               static_cast<unsigned long long>(time_ps % 1000000));
}

int timeline_writer::track(const std::string& group, const std::string& name) {
  auto [it, fresh] = m_groups.try_emplace(group, static_cast<int>(m_groups.size()) + 1);
  const int pid = it->second;
  if (fresh) {
    event_prefix();
    std::fprintf(m_file, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":\"%s\"}}",
                 pid, json_escape(group).c_str());
    event_prefix();
    std::fprintf(m_file,
                 "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"args\":{\"sort_index\":%d}}",
                 pid, pid);
  }
  const int tid = static_cast<int>(m_tracks.size()) + 1;
  m_tracks.push_back({pid, tid, {}});
  event_prefix();
  std::fprintf(m_file,
               "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
               pid, tid, json_escape(name).c_str());
  return static_cast<int>(m_tracks.size()) - 1;
}

void timeline_writer::begin(int track, uint64_t time_ps, const char* name) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  t.open.emplace_back(name);
  event_prefix();
  std::fprintf(m_file, "{\"ph\":\"B\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,", json_escape(name).c_str(),
               t.pid, t.tid);
  write_ts(time_ps);
  std::fprintf(m_file, "}");
}

void timeline_writer::end(int track, uint64_t time_ps) {
  if (track < 0 || !m_file) return;
  track_info& t = m_tracks[static_cast<size_t>(track)];
  if (t.open.empty()) return;
  t.open.pop_back();
  event_prefix();
  std::fprintf(m_file, "{\"ph\":\"E\",\"pid\":%d,\"tid\":%d,", t.pid, t.tid);
  write_ts(time_ps);
  std::fprintf(m_file, "}");
}

void timeline_writer::flow(int track, uint64_t time_ps, uint64_t id, char phase, const char* name) {
  if (track < 0 || !m_file) return;
  const track_info& t = m_tracks[static_cast<size_t>(track)];
  event_prefix();
  std::fprintf(m_file,
               "{\"ph\":\"%c\",\"name\":\"%s\",\"cat\":\"frame\",\"id\":%llu,\"pid\":%d,\"tid\":%d,%s", phase,
               json_escape(name).c_str(), static_cast<unsigned long long>(id), t.pid, t.tid,
               phase == 'f' ? "\"bp\":\"e\"," : "");
  write_ts(time_ps);
  std::fprintf(m_file, "}");
}

void timeline_writer::close(uint64_t end_ps) {
  if (!m_file) return;
  for (size_t i = 0; i < m_tracks.size(); ++i)
    while (!m_tracks[i].open.empty()) end(static_cast<int>(i), end_ps);
  std::fprintf(m_file, "\n]}\n");
  const bool ok = std::fflush(m_file) == 0;
  std::fclose(m_file);
  m_file = nullptr;
  if (!ok) throw std::runtime_error(m_path + ": write failed");
}

}  // namespace nicsim::waves
