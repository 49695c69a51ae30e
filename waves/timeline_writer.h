#pragma once
// Chrome trace event JSON (opens in Perfetto and chrome://tracing): one
// process per group (a CPU, the NIC, each task), one thread per track, B/E
// slices and flow arrows. Written as it goes; close() finishes the document.
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace nicsim::waves {

class timeline_writer {
 public:
  explicit timeline_writer(const std::string& path);  // throws std::runtime_error naming the file
  ~timeline_writer();
  timeline_writer(const timeline_writer&) = delete;
  timeline_writer& operator=(const timeline_writer&) = delete;

  int track(const std::string& group, const std::string& name);
  void begin(int track, uint64_t time_ps, const char* name);
  void end(int track, uint64_t time_ps);
  // Flow arrows: phase 's' starts, 't' continues, 'f' finishes a flow, bound to
  // the slice enclosing time_ps on track.
  void flow(int track, uint64_t time_ps, uint64_t id, char phase, const char* name);
  void close(uint64_t end_ps);  // ends open slices at end_ps

  uint64_t events() const { return m_events; }

 private:
  struct track_info {
    int pid, tid;
    std::vector<std::string> open;
  };
  void event_prefix();
  void write_ts(uint64_t time_ps);

  std::FILE* m_file;
  std::string m_path;
  std::map<std::string, int> m_groups;
  std::vector<track_info> m_tracks;
  uint64_t m_events = 0;
};

}  // namespace nicsim::waves
