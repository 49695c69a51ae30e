#pragma once
// The observer the whole system reports to: it feeds the wave file, the
// timeline and the pcap when they are asked for, and always keeps each
// frame's stage times (for the latency split) and its fate.
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/frame.h"
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

  // The wire: called by the traffic source with each frame as its first bit leaves.
  void wire_frame(const proto::wire_frame& f);
  void wire_idle();
  // The NIC's vectors: first, first + 1, ... (one per queue).
  void set_nic_vectors(unsigned first, unsigned count) {
    m_nic_vector = first;
    m_nic_vectors = count;
  }

  // Per-stage latency of delivered frames: {stage: {p50, p99, max, mean}}.
  nlohmann::ordered_json stage_latency() const;
  // Writes and closes every file; the fates file goes next to the pcap.
  void finish(uint64_t end_ps);
  const trace_options& options() const { return m_opt; }

 private:
  static constexpr size_t N_STAGES = static_cast<size_t>(waves::frame_stage::count_);
  struct journey {
    std::array<uint64_t, N_STAGES> t{};  // ps
    std::array<bool, N_STAGES> seen{};
    int clean_cpu = 0;  // where the driver cleaned it: its interrupt came there
  };
  void finish_journey(const journey& j);
  void set_fate(uint64_t seq, const char* fate);
  static uint64_t now_ps();

  trace_options m_opt;
  std::unique_ptr<waves::wave_writer> m_waves;
  std::unique_ptr<waves::timeline_writer> m_timeline;
  std::unique_ptr<waves::pcap_writer> m_pcap;
  // Frames on their way (memory stays bounded by what is in flight, not by the run's length).
  std::unordered_map<uint64_t, journey> m_open;
  static constexpr size_t N_SPANS = 8;
  std::array<std::vector<uint64_t>, N_SPANS> m_span_ns;  // per delivered frame, per stage
  // Fates by sequence number, kept only when a pcap is written: an index into m_fate_names.
  std::vector<uint8_t> m_fates;
  std::vector<const char*> m_fate_names{"in_flight"};
  std::vector<std::vector<uint64_t>> m_nic_irqs_ps;  // per CPU, in time order
  unsigned m_nic_vector = ~0u, m_nic_vectors = 0;
  int m_wire_track = -1;
  int m_wire_valid = -1, m_wire_seq = -1;
  bool m_finished = false;
};

}  // namespace nicsim::tb
