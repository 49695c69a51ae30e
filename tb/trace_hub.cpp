#include "tb/trace_hub.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <systemc>

#include "tb/percentile.h"

namespace nicsim::tb {

using waves::frame_stage;

trace_hub::trace_hub(const trace_options& options) : m_opt(options) {
  if (!m_opt.waves.empty()) {
    waves::wave_options w;
    w.path = m_opt.waves;
    w.from_ps = m_opt.waves_from_ps;
    w.to_ps = m_opt.waves_to_ps;
    w.groups = m_opt.waves_groups;
    m_waves = std::make_unique<waves::wave_writer>(w);
  }
  if (!m_opt.timeline.empty()) m_timeline = std::make_unique<waves::timeline_writer>(m_opt.timeline);
  if (!m_opt.pcap.empty()) m_pcap = std::make_unique<waves::pcap_writer>(m_opt.pcap);
  m_wire_valid = signal("wire.frame_valid", 1);
  m_wire_seq = signal("wire.frame_seq", 32);
  m_wire_track = track("wire", "rx");
  set(m_wire_valid, 0);
  set(m_wire_seq, 0);
}

trace_hub::~trace_hub() = default;

uint64_t trace_hub::now_ps() { return sc_core::sc_time_stamp().value(); }

int trace_hub::signal(const std::string& path, unsigned width) {
  return m_waves ? m_waves->declare(path, width, false) : -1;
}
int trace_hub::text_signal(const std::string& path) { return m_waves ? m_waves->declare(path, 1, true) : -1; }
void trace_hub::set(int id, uint64_t value) {
  if (m_waves && id >= 0) m_waves->change(id, now_ps(), value);
}
void trace_hub::set_text(int id, const char* text) {
  if (m_waves && id >= 0) m_waves->change_text(id, now_ps(), text);
}
int trace_hub::track(const std::string& group, const std::string& name) {
  return m_timeline ? m_timeline->track(group, name) : -1;
}
void trace_hub::begin(int track, const char* name) {
  if (m_timeline) m_timeline->begin(track, now_ps(), name);
}
void trace_hub::end(int track) {
  if (m_timeline) m_timeline->end(track, now_ps());
}

void trace_hub::set_fate(uint64_t seq, const char* fate) {
  if (!m_pcap) return;
  size_t code = 0;
  while (code < m_fate_names.size() && std::string(m_fate_names[code]) != fate) ++code;
  if (code == m_fate_names.size()) m_fate_names.push_back(fate);
  if (seq >= m_fates.size()) m_fates.resize(std::max<size_t>(seq + 1, m_fates.size() * 2), 0);
  m_fates[seq] = static_cast<uint8_t>(code);
}

void trace_hub::frame(uint64_t seq, frame_stage stage, int track) {
  journey& j = m_open[seq];
  const auto s = static_cast<size_t>(stage);
  j.t[s] = now_ps();
  j.seen[s] = true;
  if (m_timeline && track >= 0) {
    const char phase = stage == frame_stage::delivered ? 'f' : 't';
    m_timeline->flow(track, now_ps(), seq, phase, "frame");
  }
  if (stage == frame_stage::delivered) {
    set_fate(seq, "delivered");
    finish_journey(j);
    m_open.erase(seq);
  }
}

void trace_hub::frame_dropped(uint64_t seq, const char* counter) {
  set_fate(seq, counter);
  m_open.erase(seq);
}

// wire | fifo | dma | irq_delay | softirq_wait | protocol | socket_wait | copy
void trace_hub::finish_journey(const journey& j) {
  for (bool b : j.seen)
    if (!b) return;
  auto T = [&j](frame_stage s) { return j.t[static_cast<size_t>(s)]; };
  const uint64_t done = T(frame_stage::dma_done), clean = T(frame_stage::driver_clean);
  // The NIC interrupt that led to this frame's poll: the first one after its write-back on
  // the CPU that cleaned it (with several queues, other queues' vectors go elsewhere).
  static const std::vector<uint64_t> none;
  const auto cpu = static_cast<size_t>(j.clean_cpu);
  const auto& irqs = cpu < m_nic_irqs_ps.size() ? m_nic_irqs_ps[cpu] : none;
  auto it = std::lower_bound(irqs.begin(), irqs.end(), done);
  const uint64_t irq = (it != irqs.end() && *it <= clean) ? *it : done;  // polled without a new IRQ
  const uint64_t stage_end[N_SPANS] = {T(frame_stage::mac_last_bit),
                                       T(frame_stage::dma_start),
                                       done,
                                       irq,
                                       clean,
                                       T(frame_stage::socket_enqueue),
                                       T(frame_stage::socket_dequeue),
                                       T(frame_stage::delivered)};
  uint64_t prev = T(frame_stage::wire_first_bit);
  for (size_t s = 0; s < N_SPANS; ++s) {
    m_span_ns[s].push_back((stage_end[s] - prev) / 1000);
    prev = stage_end[s];
  }
}

void trace_hub::hardirq(unsigned vector, int cpu) {
  if (vector < m_nic_vector || vector - m_nic_vector >= m_nic_vectors || cpu < 0) return;
  if (static_cast<size_t>(cpu) >= m_nic_irqs_ps.size()) m_nic_irqs_ps.resize(static_cast<size_t>(cpu) + 1);
  m_nic_irqs_ps[static_cast<size_t>(cpu)].push_back(now_ps());
}

void trace_hub::frame_cpu(uint64_t seq, int cpu) {
  auto it = m_open.find(seq);
  if (it != m_open.end()) it->second.clean_cpu = cpu;
}

void trace_hub::wire_frame(const proto::wire_frame& f) {
  frame(f.id, frame_stage::wire_first_bit, -1);
  set(m_wire_valid, 1);
  set(m_wire_seq, f.id);
  if (m_timeline) {
    char name[32];
    std::snprintf(name, sizeof name, "frame %llu", static_cast<unsigned long long>(f.id));
    m_timeline->begin(m_wire_track, now_ps(), name);
    m_timeline->flow(m_wire_track, now_ps(), f.id, 's', "frame");
  }
  if (m_pcap) m_pcap->write(f.first_bit_ps, f.bytes);
}

void trace_hub::wire_idle() {
  set(m_wire_valid, 0);
  if (m_timeline) m_timeline->end(m_wire_track, now_ps());
}

nlohmann::ordered_json trace_hub::stage_latency() const {
  static constexpr const char* names[N_SPANS] = {"wire",         "fifo",     "dma",         "irq_delay",
                                                 "softirq_wait", "protocol", "socket_wait", "copy"};
  auto v = m_span_ns;
  nlohmann::ordered_json out;
  for (size_t s = 0; s < N_SPANS; ++s) {
    auto& x = v[s];
    std::sort(x.begin(), x.end());
    double sum = 0;
    for (uint64_t y : x) sum += static_cast<double>(y);
    out[names[s]] = {{"p50", percentile_sorted(x, 0.5)},
                     {"p99", percentile_sorted(x, 0.99)},
                     {"max", x.empty() ? 0 : x.back()},
                     {"mean", x.empty() ? 0.0 : sum / static_cast<double>(x.size())}};
  }
  out["frames"] = v[0].size();
  return out;
}

void trace_hub::finish(uint64_t end_ps) {
  if (m_finished) return;
  m_finished = true;
  if (m_waves) m_waves->close();
  if (m_timeline) m_timeline->close(end_ps);
  if (m_pcap) {
    m_pcap->close();
    const std::string path = m_opt.pcap + ".fates.csv";
    std::FILE* f = std::fopen((path + ".tmp").c_str(), "w");
    if (f == nullptr) throw std::runtime_error(path + ": cannot write");
    std::fprintf(f, "packet,seq,fate\n");
    const uint64_t n = m_pcap->packets();
    for (uint64_t seq = 0; seq < n; ++seq) {
      const char* fate = m_fate_names[seq < m_fates.size() ? m_fates[seq] : 0];
      std::fprintf(f, "%llu,%llu,%s\n", static_cast<unsigned long long>(seq + 1),
                   static_cast<unsigned long long>(seq), fate);
    }
    const bool ok = std::fclose(f) == 0;
    if (!ok || std::rename((path + ".tmp").c_str(), path.c_str()) != 0)
      throw std::runtime_error(path + ": write failed");
  }
}

}  // namespace nicsim::tb
