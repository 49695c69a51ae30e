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
  uint64_t bytes() const { return m_bytes; }  // the document's size so far, buffered bytes included
  bool failed() const { return m_errno != 0; }
  std::string error() const;  // what failed, naming the file

 private:
  struct track_info {
    int pid, tid;
    unsigned open = 0;  // slices begun and not yet ended
    std::string ids;    // `"pid":P,"tid":T,` as every event of the track writes it
  };
  void put(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void event_prefix();
  // The per-event path: each event is written into m_out, a buffer the writer empties into
  // the file once it holds 64 KiB (and before any put(), and at close). room(n) makes room
  // for n more bytes and returns where they go; the event's writer then calls done(end).
  // finish_event writes the track, `extra`, the timestamp and the closing brace.
  char* room(size_t n);
  void done(char* end);
  char* finish_event(char* p, const track_info& t, uint64_t time_ps, const char* extra = "");
  void flush_out();

  std::FILE* m_file;
  std::string m_name;
  std::map<std::string, int> m_groups;
  std::vector<track_info> m_tracks;
  uint64_t m_events = 0;
  std::vector<char> m_out;  // its size is the capacity; m_out_len bytes of it are pending
  size_t m_out_len = 0;
  uint64_t m_bytes = 0;  // handed to the writer so far, pending ones included
  int m_errno = 0;
  // The last timestamp written, as finish_event writes it (`"ts":U.UUUUUU}`): events come in
  // runs on the same picosecond (a slice's end and the next one's begin, a frame's flow step).
  uint64_t m_ts_ps = UINT64_MAX;
  char m_ts_text[48] = {};
  size_t m_ts_len = 0;
};

}  // namespace nicsim::waves
