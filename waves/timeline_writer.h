#pragma once
// Chrome trace event JSON (opens in Perfetto and chrome://tracing): one
// process per group (a CPU, the NIC, each task), one thread per track, B/E
// slices and flow arrows. Written as it goes; close() finishes the document.
// A failed write stops the writing: failed() says so, close() throws.
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace nicsim::waves {

class timeline_writer {
 public:
  // Writes to path; name is what messages call it (default: path). Throws
  // std::runtime_error naming it when it cannot be opened.
  explicit timeline_writer(const std::string& path, const std::string& name = {});
  ~timeline_writer();
  timeline_writer(const timeline_writer&) = delete;
  timeline_writer& operator=(const timeline_writer&) = delete;

  int track(const std::string& group, const std::string& name);
  void begin(int track, uint64_t time_ps, const char* name);
  void end(int track, uint64_t time_ps);
  // Flow arrows: phase 's' starts, 't' continues, 'f' finishes a flow, bound to
  // the slice enclosing time_ps on track.
  void flow(int track, uint64_t time_ps, uint64_t id, char phase, const char* name);
  // Ends open slices at end_ps and finishes the document; throws std::runtime_error
  // naming the file when any write or the close failed.
  void close(uint64_t end_ps);

  uint64_t events() const { return m_events; }
  uint64_t bytes() const { return m_bytes; }  // written so far
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

 private:
  struct track_info {
    int pid, tid;
    unsigned open = 0;  // slices begun and not yet ended
  };
  void put(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void event_prefix();
  // The per-event path: the event is built in m_buf; finish_event appends the track, `extra`
  // and the timestamp, closes it and writes it in one call.
  void finish_event(const track_info& t, uint64_t time_ps, const char* extra = "");
  void write_raw(const std::string& text);

  std::FILE* m_file;
  std::string m_name;
  std::map<std::string, int> m_groups;
  std::vector<track_info> m_tracks;
  uint64_t m_events = 0;
  std::string m_buf;
  uint64_t m_bytes = 0;
  int m_errno = 0;
};

}  // namespace nicsim::waves
