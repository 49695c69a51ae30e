#pragma once
// What the model reports for waves, the software timeline and a frame's
// journey. Modules in hw/ and host/ call an observer through a pointer that is
// null when nothing is recorded, so observing costs one branch when off. All
// calls happen at the current simulation time. tb/ implements it.
#include <cstdint>
#include <string>

namespace nicsim::waves {

enum class frame_stage : unsigned {
  wire_first_bit,  // the traffic source starts sending
  mac_last_bit,    // the MAC has the whole frame
  dma_start,       // the DMA engine takes it from the RX FIFO
  dma_done,        // its descriptor write-back has left the NIC
  driver_clean,    // the driver turns its descriptor into an skb
  socket_enqueue,  // queued on the socket (protocol work done)
  socket_dequeue,  // recvfrom takes it off the queue
  delivered,       // recvfrom returns it to the application
  count_
};

// A frame's sequence number as the host can read it from a TCP frame: the partner puts the
// low 16 bits of the frame's wire number in its IPv4 Identification (TCP payloads are the
// stream's bytes, with no stamp), and the host reports seq_ip_id | that ID; the observer
// takes it as the most recent wire frame with those low bits.
inline constexpr uint64_t seq_ip_id = uint64_t{1} << 62;

class observer {
 public:
  virtual ~observer() = default;

  // ---- waves: a signal per path ("nic.rx_fifo.level"); ids are only valid for this observer.
  virtual int signal(const std::string& path, unsigned width) = 0;
  virtual int text_signal(const std::string& path) = 0;
  virtual void set(int id, uint64_t value) = 0;
  virtual void set_text(int id, const char* text) = 0;

  // ---- timeline: tracks grouped by process ("cpu0", "nic", a task's comm); slices nest per track.
  virtual int track(const std::string& group, const std::string& name) = 0;
  virtual void begin(int track, const char* name) = 0;
  virtual void end(int track) = 0;

  // ---- a frame's journey, keyed by the sequence number it carries; track: where it happens.
  virtual void frame(uint64_t seq, frame_stage stage, int track) = 0;
  virtual void frame_dropped(uint64_t seq, const char* counter) = 0;
  // A hard IRQ is entered for vector on CPU cpu (the latency split needs the NIC's).
  virtual void hardirq(unsigned vector, int cpu) = 0;
  // Which CPU the driver cleaned frame seq on (called right after its driver_clean stage).
  virtual void frame_cpu(uint64_t seq, int cpu) = 0;
  // ---- the transmit direction: a frame the host sends has an id of the TX id space (0, 1,
  // ... in the order the host hands frames to the driver), carried as proto::wire_frame::id
  // when the NIC puts it on the wire. Its fate when it ends before the wire (a qdisc drop,
  // a full ring: the counter's name); on the wire it is "sent" (the trace hub sees that).
  virtual void tx_frame_fate(uint64_t tx_id, const char* fate) { (void)tx_id, (void)fate; }
};

// A wave signal bound to an observer; no-op without one.
class probe {
 public:
  void attach(observer* o, const std::string& path, unsigned width) {
    m_id = o ? o->signal(path, width) : -1;
    m_obs = m_id >= 0 ? o : nullptr;  // a signal nobody records costs one branch
  }
  void operator()(uint64_t value) const {
    if (m_obs) m_obs->set(m_id, value);
  }
  explicit operator bool() const { return m_obs != nullptr; }

 private:
  observer* m_obs = nullptr;
  int m_id = -1;
};

class text_probe {
 public:
  void attach(observer* o, const std::string& path) {
    m_id = o ? o->text_signal(path) : -1;
    m_obs = m_id >= 0 ? o : nullptr;
  }
  void operator()(const char* text) const {
    if (m_obs) m_obs->set_text(m_id, text);
  }
  explicit operator bool() const { return m_obs != nullptr; }

 private:
  observer* m_obs = nullptr;
  int m_id = -1;
};

// A timeline slice for the extent of a scope.
class slice {
 public:
  slice(observer* o, int track, const char* name) : m_obs(o), m_track(track) {
    if (m_obs) m_obs->begin(track, name);
  }
  ~slice() {
    if (m_obs) m_obs->end(m_track);
  }
  slice(const slice&) = delete;
  slice& operator=(const slice&) = delete;

 private:
  observer* m_obs;
  int m_track;
};

}  // namespace nicsim::waves
