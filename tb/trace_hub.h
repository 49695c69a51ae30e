#pragma once
// The observer the whole system reports to: it feeds the wave file, the
// timeline and the pcap when they are asked for, and always keeps the stage
// times of each frame in flight (for the latency split). Nothing it keeps per
// frame outlives the frame, unless a recording needs it (the pcap's fates).
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/value_histogram.h"
#include "proto/frame.h"
#include "waves/frames_writer.h"
#include "waves/observer.h"
#include "waves/pcap_writer.h"
#include "waves/timeline_writer.h"
#include "waves/wave_writer.h"

namespace nicsim::tb {

struct trace_options {
  std::string waves;  // .fst or .vcd; empty: none
  uint64_t waves_from_ps = 0;
  uint64_t waves_to_ps = UINT64_MAX;
  std::vector<std::string> waves_groups;
  std::string timeline;  // Chrome trace JSON; empty: none
  std::string pcap;      // empty: none
  // Each pcap packet's fate as CSV. Empty: FILE.fates.csv next to a pcap that is
  // a file, none for a pcap that is a device or FIFO (run_simulation decides; the
  // hub writes exactly this path, if any).
  std::string fates;
  // One CSV row per wire frame toward the host, written as its fate is known (.gz: gzip);
  // empty: none. Not capped by max_output_bytes.
  std::string frames;
  // Stop recording (cleanly: the files stay whole) once waves, timeline, pcap and
  // fates together reach this many bytes; 0: no cap. The simulation runs on.
  uint64_t max_output_bytes = 0;
  // A progress line on stderr while the run goes (simulated time, rate, ETA); the CLI asks
  // for it when stderr is a terminal and --quiet is not given.
  bool progress = false;
  // What messages call each output (the path the user gave); empty: the path itself.
  struct output_names {
    std::string waves, timeline, pcap, fates, frames;
  } names;
};

class trace_hub : public waves::observer {
 public:
  explicit trace_hub(const trace_options& options);  // opens the files; throws naming the file
  ~trace_hub() override;

  int signal(const std::string& path, unsigned width) override;
  int text_signal(const std::string& path) override;
  void set(int id, uint64_t value) override;
  void set_text(int id, const char* text) override;
  int track(const std::string& group, const std::string& name) override;
  void begin(int track, const char* name) override;
  void end(int track) override;
  void frame(uint64_t seq, waves::frame_stage stage, int track) override;
  void frame_dropped(uint64_t seq, const char* counter) override;
  void hardirq(unsigned vector, int cpu) override;
  void frame_cpu(uint64_t seq, int cpu) override;
  void tx_frame_fate(uint64_t tx_id, const char* fate) override;

  // The wire: called by the traffic source with each frame as its first bit leaves, or (the
  // generator's lazy first bit) later, with the time it left: first_bit_ps.
  void wire_frame(const proto::wire_frame& f) { wire_frame(f, now_ps()); }
  void wire_frame(const proto::wire_frame& f, uint64_t first_bit_ps);
  // Whether any output records what happens at a frame's first bit at that time (waves,
  // timeline, pcap, fates, frames CSV): the lazy first bit is for runs where none does.
  bool records_frames() const;
  void wire_idle();
  // The other way: the NIC's port puts a frame's first bit on the wire (f.id: its TX id).
  void wire_tx_frame(const proto::wire_frame& f);
  // The NIC's vectors: first, first + 1, ... (one per queue).
  void set_nic_vectors(unsigned first, unsigned count) {
    m_nic_vector = first;
    m_nic_vectors = count;
  }

  // Per-stage latency of delivered frames: {stage: {p50, p99, max, mean}}.
  nlohmann::ordered_json stage_latency() const;
  // Writes and closes every file (and the fates CSV); throws std::runtime_error
  // naming the file when a write failed.
  void finish(uint64_t end_ps);
  const trace_options& options() const { return m_opt; }

  // A write failed during the run (recording stopped then, and the simulation was
  // paused: sc_start returns): what failed, naming the file; empty when nothing did.
  const std::string& failure() const { return m_failure; }
  // Where the size cap stopped recording (ps); UINT64_MAX when it did not.
  uint64_t stopped_at_ps() const { return m_stopped_ps; }
  // What the outputs take so far (the measure of max_output_bytes).
  uint64_t output_bytes() const;
  // Per-frame state held now: frames in flight, NIC interrupt times kept for them.
  size_t frames_tracked() const { return m_open.size(); }
  size_t irq_times_kept() const;

 private:
  static constexpr size_t N_STAGES = static_cast<size_t>(waves::frame_stage::count_);
  struct journey {
    std::array<uint64_t, N_STAGES> t{};  // ps
    std::array<bool, N_STAGES> seen{};
    int clean_cpu = 0;  // where the driver cleaned it: its interrupt came there
    // For the frames CSV: the frame's size and, for UDP or TCP over IPv4, its ports.
    uint32_t bytes = 0;
    uint16_t src_port = 0, dst_port = 0;
    bool has_ports = false;
  };
  void finish_journey(const journey& j);
  // The NIC interrupt that led to the frame's poll (UINT64_MAX when it was not cleaned).
  uint64_t irq_of(const journey& j) const;
  void frame_row(uint64_t seq, const journey& j, const char* fate);
  void set_fate(uint64_t seq, const char* fate);
  uint8_t fate_code(const char* fate);
  bool write_fates(std::FILE* f) const;
  static uint64_t now_ps();
  // After a write: stops recording at the size cap, or on a failed write.
  void wrote();
  void stop_recording();
  void write_failed(const std::string& what);
  void prune_irq_times();

  trace_options m_opt;
  std::unique_ptr<waves::wave_writer> m_waves;
  std::unique_ptr<waves::timeline_writer> m_timeline;
  std::unique_ptr<waves::pcap_writer> m_pcap;
  std::unique_ptr<waves::frames_writer> m_frames_csv;
  // Frames on their way by sequence number, erased when their fate is known (memory stays
  // bounded by what is in flight, not by the run's length). The sources number their frames
  // 0, 1, 2, ... as their first bits leave, and fates come roughly in that order: a ring
  // indexed by seq spans the window from the oldest frame in flight to the newest, each slot
  // the index of the frame's journey in a pool (which keeps as many as are in flight at
  // once), so that opening, finding and closing a journey costs O(1) and, once ring and pool
  // have grown, no allocation. A window mostly of frames already gone (a FIFO dropping most
  // of them) costs 4 bytes per frame. A frame outside the window (an id far from the others,
  // or one that stays in flight while the window moves on far beyond it) goes to a map.
  class open_journeys {
   public:
    journey* find(uint64_t seq);
    journey& open(uint64_t seq);  // the frame's journey, a new one when it has none
    void erase(uint64_t seq);
    size_t size() const { return m_count + m_far.size(); }
    // f(seq, journey) for each, in no particular order.
    template <class F>
    void for_each(F&& f) const {
      for (uint64_t seq = m_base; seq != m_end; ++seq)
        if (const uint32_t k = m_ring[seq & m_mask]; k != 0) f(seq, m_pool[k - 1]);
      for (const auto& [seq, j] : m_far) f(seq, j);
    }

   private:
    static constexpr size_t INITIAL_SLOTS = 256;
    // The ring grows to this many slots whatever it holds; beyond, only while at least one
    // slot in SPARSE_SLOTS holds a frame.
    static constexpr size_t ANY_SLOTS = 4096, SPARSE_SLOTS = 64;
    // Frames opened in a row outside the window before the window moves to them.
    static constexpr unsigned REBASE_AFTER = 64;
    void evict_oldest();  // the ring's oldest frame to the map
    void grow(size_t slots);
    // Per slot (a power of two of them; seq's: seq & m_mask), 1 + its journey's index in
    // m_pool; 0: none.
    std::vector<uint32_t> m_ring;
    uint64_t m_mask = 0;
    std::vector<journey> m_pool;
    std::vector<uint32_t> m_free;  // indices of m_pool not in use
    // The window: every frame in the ring is in [m_base, m_end), m_base's among them (when
    // the ring holds any), and m_end - m_base <= m_ring.size().
    uint64_t m_base = 0, m_end = 0;
    size_t m_count = 0;  // frames in the ring
    unsigned m_far_streak = 0;
    std::unordered_map<uint64_t, journey> m_far;
  };
  open_journeys m_open;
  static constexpr size_t N_SPANS = 8;
  // Per stage, the spans of delivered frames (ns): exact percentiles in memory
  // bounded by the values' range, and an exact sum for the mean.
  struct span_stats {
    host::value_histogram ns;
    uint64_t sum_ns = 0;
  };
  std::array<span_stats, N_SPANS> m_span_ns;
  // Fates by sequence number, kept only when the fates CSV is written: an index into m_fate_names.
  std::vector<uint8_t> m_fates;
  std::vector<const char*> m_fate_names{"in_flight"};
  // Two-way runs: TX fates by TX id, which TX ids are in the pcap, and each pcap packet's
  // frame as (id << 1 | 1 for TX).
  std::vector<uint8_t> m_tx_fates;
  std::vector<bool> m_tx_in_pcap;
  std::vector<uint64_t> m_pcap_frames;
  uint64_t m_rx_in_pcap = 0;
  uint64_t m_last_wire_id = 0;  // the latest frame the partner put on the wire
  // A sequence number as the host reported it: a TCP frame's (waves::seq_ip_id | IPv4 ID) is
  // the most recent wire frame with those low 16 bits; UINT64_MAX when there is none.
  uint64_t resolve(uint64_t seq) const;
  uint64_t m_fates_bytes = 0;  // what the fates CSV will take, at most
  // Per CPU, in time order, the NIC interrupts a frame in flight may still match.
  std::vector<std::deque<uint64_t>> m_nic_irqs_ps;
  size_t m_irq_times = 0, m_irq_prune_at = 1024;
  bool m_recording = false;  // some output is written and recording has not stopped
  uint64_t m_cap_bytes = 0;  // stop recording above this (room for the files' endings kept)
  uint64_t m_stopped_ps = UINT64_MAX;
  std::string m_failure;
  unsigned m_nic_vector = ~0u, m_nic_vectors = 0;
  int m_wire_track = -1;
  int m_wire_valid = -1, m_wire_seq = -1;
  bool m_finished = false;
};

}  // namespace nicsim::tb
