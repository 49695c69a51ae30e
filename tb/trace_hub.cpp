#include "tb/trace_hub.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <systemc>

#include "tb/percentile.h"
#include "tlm/local_time.h"

namespace nicsim::tb {

using waves::frame_stage;

namespace {
// Room left under the size cap for what closing the files writes (the timeline's
// open slices, the FST hierarchy and geometry).
constexpr uint64_t CLOSE_RESERVE_BYTES = 64 * 1024;
// Upper bound of a fates CSV line's fate name ("nic.rx_short_length_errors" is 26).
constexpr uint64_t FATE_NAME_BYTES = 32;

uint64_t decimal_digits(uint64_t v) {
  uint64_t d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}
}  // namespace

trace_hub::journey* trace_hub::open_journeys::find(uint64_t seq) {
  if (seq - m_base < m_end - m_base) {  // in the window (unsigned: seq >= m_base and seq < m_end)
    if (const uint32_t k = m_ring[seq & m_mask]; k != 0) return &m_pool[k - 1];
  }
  if (m_far.empty()) return nullptr;
  auto it = m_far.find(seq);
  return it == m_far.end() ? nullptr : &it->second;
}

trace_hub::journey& trace_hub::open_journeys::open(uint64_t seq) {
  if (journey* j = find(seq)) return *j;
  if (m_ring.empty()) grow(INITIAL_SLOTS);
  const uint64_t slots = m_ring.size();
  if (m_count == 0) {
    m_base = m_end = seq;  // an empty ring starts its window anywhere
  } else if (seq - m_base >= slots) {
    if (seq >= m_base && seq - m_end < slots) {
      // Just past the window, as the next frames are: the window grows, or moves on from its
      // oldest frames when they are few (frames that stay in flight long after the others).
      if (slots < ANY_SLOTS || m_count * SPARSE_SLOTS >= slots)
        grow(2 * slots);
      else
        while (seq - m_base >= slots) evict_oldest();
    } else if (++m_far_streak < REBASE_AFTER) {
      return m_far[seq];  // behind the window or far ahead of it: an id apart from the others
    } else {
      // The ids have moved elsewhere for good (a source numbering from elsewhere): the window
      // follows them, and what the ring held goes to the map.
      while (m_count != 0) evict_oldest();
    }
    if (m_count == 0) m_base = m_end = seq;
  }
  m_far_streak = 0;
  uint32_t k;
  if (!m_free.empty()) {
    k = m_free.back();
    m_free.pop_back();
    m_pool[k] = journey{};
  } else {
    k = static_cast<uint32_t>(m_pool.size());
    m_pool.emplace_back();
  }
  m_ring[seq & m_mask] = k + 1;
  ++m_count;
  m_end = std::max(m_end, seq + 1);
  return m_pool[k];
}

void trace_hub::open_journeys::evict_oldest() {
  uint32_t& slot = m_ring[m_base & m_mask];
  m_far.emplace(m_base, m_pool[slot - 1]);
  m_free.push_back(slot - 1);
  slot = 0;
  if (--m_count == 0) {
    m_base = m_end;
    return;
  }
  do ++m_base;
  while (m_ring[m_base & m_mask] == 0);
}

void trace_hub::open_journeys::grow(size_t slots) {
  std::vector<uint32_t> ring(slots, 0);
  const uint64_t mask = slots - 1;
  for (uint64_t seq = m_base; seq != m_end; ++seq) ring[seq & mask] = m_ring[seq & m_mask];
  m_ring.swap(ring);
  m_mask = mask;
}

void trace_hub::open_journeys::erase(uint64_t seq) {
  if (seq - m_base < m_end - m_base) {
    uint32_t& slot = m_ring[seq & m_mask];
    if (slot != 0) {
      m_free.push_back(slot - 1);
      slot = 0;
      if (--m_count == 0) {
        m_base = m_end;
        return;
      }
      while (m_ring[m_base & m_mask] == 0) ++m_base;  // the oldest left: the window moves on
      return;
    }
  }
  m_far.erase(seq);
}

trace_hub::trace_hub(const trace_options& options) : m_opt(options) {
  if (!m_opt.waves.empty()) {
    waves::wave_options w;
    w.path = m_opt.waves;
    w.name = m_opt.names.waves;
    w.from_ps = m_opt.waves_from_ps;
    w.to_ps = m_opt.waves_to_ps;
    w.groups = m_opt.waves_groups;
    m_waves = std::make_unique<waves::wave_writer>(w);
  }
  if (!m_opt.timeline.empty())
    m_timeline = std::make_unique<waves::timeline_writer>(m_opt.timeline, m_opt.names.timeline);
  if (!m_opt.pcap.empty())
    m_pcap = std::make_unique<waves::pcap_writer>(m_opt.pcap, m_opt.names.pcap);  // pcapng, both directions
  if (!m_opt.frames.empty())
    m_frames_csv = std::make_unique<waves::frames_writer>(m_opt.frames, m_opt.names.frames);
  m_recording = m_waves || m_timeline || m_pcap;
  if (m_opt.max_output_bytes != 0)
    m_cap_bytes =
        m_opt.max_output_bytes > CLOSE_RESERVE_BYTES ? m_opt.max_output_bytes - CLOSE_RESERVE_BYTES : 0;
  m_wire_valid = signal("wire.frame_valid", 1);
  m_wire_seq = signal("wire.frame_seq", 32);
  m_wire_track = track("wire", "rx");
  set(m_wire_valid, 0);
  set(m_wire_seq, 0);
}

trace_hub::~trace_hub() = default;

uint64_t trace_hub::now_ps() { return tlm::local_now().value(); }

uint64_t trace_hub::output_bytes() const {
  return (m_waves ? m_waves->bytes() : 0) + (m_timeline ? m_timeline->bytes() : 0) +
         (m_pcap ? m_pcap->bytes() : 0) + m_fates_bytes;
}

size_t trace_hub::irq_times_kept() const { return m_irq_times; }

void trace_hub::wrote() {
  if (m_cap_bytes != 0 && output_bytes() >= m_cap_bytes) stop_recording();
  if (m_waves && m_waves->failed())
    write_failed(m_waves->error());
  else if (m_timeline && m_timeline->failed())
    write_failed(m_timeline->error());
  else if (m_pcap && m_pcap->failed())
    write_failed(m_pcap->error());
  else if (m_frames_csv && m_frames_csv->failed())
    write_failed(m_frames_csv->error());
}

void trace_hub::stop_recording() {
  if (!m_recording) return;
  m_recording = false;
  m_stopped_ps = now_ps();
  if (m_waves) m_waves->stop(m_stopped_ps);
}

void trace_hub::write_failed(const std::string& what) {
  if (!m_failure.empty()) return;
  m_failure = what;
  m_recording = false;
  // Nothing the run does now can be kept: end it at once. Paused, not stopped, so
  // that the caller can still unwind the threads' stacks (unwind_threads).
  if (sc_core::sc_is_running()) sc_core::sc_pause();
}

int trace_hub::signal(const std::string& path, unsigned width) {
  return m_waves ? m_waves->declare(path, width, false) : -1;
}
int trace_hub::text_signal(const std::string& path) { return m_waves ? m_waves->declare(path, 1, true) : -1; }
void trace_hub::set(int id, uint64_t value) {
  if (m_recording && m_waves && id >= 0) {
    m_waves->change(id, now_ps(), value);
    wrote();
  }
}
void trace_hub::set_text(int id, const char* text) {
  if (m_recording && m_waves && id >= 0) {
    m_waves->change_text(id, now_ps(), text);
    wrote();
  }
}
int trace_hub::track(const std::string& group, const std::string& name) {
  if (!m_timeline) return -1;
  const int id = m_timeline->track(group, name);
  wrote();
  return id;
}
void trace_hub::begin(int track, const char* name) {
  if (m_recording && m_timeline) {
    m_timeline->begin(track, now_ps(), name);
    wrote();
  }
}
void trace_hub::end(int track) {
  if (m_recording && m_timeline) {
    m_timeline->end(track, now_ps());
    wrote();
  }
}

uint8_t trace_hub::fate_code(const char* fate) {
  size_t code = 0;
  while (code < m_fate_names.size() && std::strcmp(m_fate_names[code], fate) != 0) ++code;
  if (code == m_fate_names.size()) m_fate_names.push_back(fate);
  return static_cast<uint8_t>(code);
}

void trace_hub::set_fate(uint64_t seq, const char* fate) {
  // Only the packets in the pcap have a line in the fates CSV.
  const uint64_t rx_packets = m_rx_in_pcap;
  if (!m_pcap || m_opt.fates.empty() || seq >= rx_packets) return;
  const uint8_t code = fate_code(fate);
  if (seq >= m_fates.size()) m_fates.resize(std::max<size_t>(seq + 1, m_fates.size() * 2), 0);
  m_fates[seq] = code;
}

void trace_hub::tx_frame_fate(uint64_t tx_id, const char* fate) {
  // Every TX frame that has a fate gets a line, on the wire (in the pcap) or not.
  if (!m_pcap || m_opt.fates.empty() || !m_recording) return;
  const uint8_t code = fate_code(fate);
  if (tx_id >= m_tx_fates.size()) {
    const size_t n = std::max<size_t>(tx_id + 1, m_tx_fates.size() * 2);
    m_tx_fates.resize(n, 0);
    m_tx_in_pcap.resize(n, false);
  }
  if (m_tx_fates[tx_id] == 0 && !m_tx_in_pcap[tx_id])
    m_fates_bytes += 2 * decimal_digits(tx_id + 1) + 7 + FATE_NAME_BYTES;  // "packet,out,id,fate\n"
  m_tx_fates[tx_id] = code;
}

uint64_t trace_hub::resolve(uint64_t seq) const {
  if (!(seq & waves::seq_ip_id)) return seq;
  uint64_t id = (m_last_wire_id & ~uint64_t{0xFFFF}) | (seq & 0xFFFF);
  if (id > m_last_wire_id) {
    if (id < 0x10000) return UINT64_MAX;
    id -= 0x10000;
  }
  return id;
}

void trace_hub::frame(uint64_t seq, frame_stage stage, int track) {
  if (stage != frame_stage::wire_first_bit && (seq = resolve(seq)) == UINT64_MAX) return;
  const auto s = static_cast<size_t>(stage);
  // A frame's journey starts on the wire; a later stage of a frame whose fate is
  // already known (or that never started) keeps nothing.
  journey* j = stage == frame_stage::wire_first_bit ? &m_open.open(seq) : m_open.find(seq);
  if (j != nullptr) {
    j->t[s] = now_ps();
    j->seen[s] = true;
  }
  if (m_recording && m_timeline && track >= 0) {
    const char phase = stage == frame_stage::delivered ? 'f' : 't';
    m_timeline->flow(track, now_ps(), seq, phase, "frame");
    wrote();
  }
  if (stage == frame_stage::delivered) {
    set_fate(seq, "delivered");
    if (j != nullptr) {
      finish_journey(*j);
      if (m_frames_csv) frame_row(seq, *j, "delivered");
      m_open.erase(seq);
    }
  }
}

void trace_hub::frame_dropped(uint64_t seq, const char* counter) {
  if ((seq = resolve(seq)) == UINT64_MAX) return;
  set_fate(seq, counter);
  const journey* j = m_open.find(seq);
  if (j == nullptr) return;
  if (m_frames_csv) frame_row(seq, *j, counter);
  m_open.erase(seq);
}

uint64_t trace_hub::irq_of(const journey& j) const {
  constexpr auto DONE = static_cast<size_t>(frame_stage::dma_done);
  constexpr auto CLEAN = static_cast<size_t>(frame_stage::driver_clean);
  if (!j.seen[DONE] || !j.seen[CLEAN]) return UINT64_MAX;
  // The first NIC interrupt after its write-back on the CPU that cleaned it (with several
  // queues, other queues' vectors go elsewhere); none before the clean: polled without one.
  static const std::deque<uint64_t> none;
  const auto cpu = static_cast<size_t>(j.clean_cpu);
  const auto& irqs = cpu < m_nic_irqs_ps.size() ? m_nic_irqs_ps[cpu] : none;
  auto it = std::lower_bound(irqs.begin(), irqs.end(), j.t[DONE]);
  return (it != irqs.end() && *it <= j.t[CLEAN]) ? *it : j.t[DONE];
}

void trace_hub::frame_row(uint64_t seq, const journey& j, const char* fate) {
  auto at = [&j](frame_stage s) {
    const auto i = static_cast<size_t>(s);
    return j.seen[i] ? j.t[i] : UINT64_MAX;
  };
  const uint64_t times[waves::frames_writer::N_TIMES] = {at(frame_stage::wire_first_bit),
                                                         at(frame_stage::mac_last_bit),
                                                         at(frame_stage::dma_start),
                                                         at(frame_stage::dma_done),
                                                         irq_of(j),
                                                         at(frame_stage::driver_clean),
                                                         at(frame_stage::socket_enqueue),
                                                         at(frame_stage::socket_dequeue),
                                                         at(frame_stage::delivered)};
  m_frames_csv->row(seq, j.src_port, j.dst_port, j.has_ports, j.bytes, fate, times);
  wrote();
}

// wire | fifo | dma | irq_delay | softirq_wait | protocol | socket_wait | copy
void trace_hub::finish_journey(const journey& j) {
  for (bool b : j.seen)
    if (!b) return;
  auto T = [&j](frame_stage s) { return j.t[static_cast<size_t>(s)]; };
  const uint64_t done = T(frame_stage::dma_done), clean = T(frame_stage::driver_clean);
  const uint64_t irq = irq_of(j);  // the NIC interrupt that led to this frame's poll
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
    const uint64_t ns = (stage_end[s] - prev) / 1000;
    m_span_ns[s].ns.add(ns);
    m_span_ns[s].sum_ns += ns;
    prev = stage_end[s];
  }
}

void trace_hub::hardirq(unsigned vector, int cpu) {
  if (vector < m_nic_vector || vector - m_nic_vector >= m_nic_vectors || cpu < 0) return;
  if (static_cast<size_t>(cpu) >= m_nic_irqs_ps.size()) m_nic_irqs_ps.resize(static_cast<size_t>(cpu) + 1);
  m_nic_irqs_ps[static_cast<size_t>(cpu)].push_back(now_ps());
  if (++m_irq_times >= m_irq_prune_at) prune_irq_times();
}

// A frame looks up the first interrupt at or after its write-back (dma_done), so
// interrupts before the earliest write-back of a frame still in flight, and before
// now (frames not written back yet will be later), can match no frame any more.
void trace_hub::prune_irq_times() {
  uint64_t keep_from = now_ps();
  constexpr auto DONE = static_cast<size_t>(frame_stage::dma_done);
  m_open.for_each([&keep_from](uint64_t, const journey& j) {
    if (j.seen[DONE]) keep_from = std::min(keep_from, j.t[DONE]);
  });
  m_irq_times = 0;
  for (auto& irqs : m_nic_irqs_ps) {
    while (!irqs.empty() && irqs.front() < keep_from) irqs.pop_front();
    m_irq_times += irqs.size();
  }
  m_irq_prune_at = std::max<size_t>(1024, 2 * m_irq_times);
}

void trace_hub::frame_cpu(uint64_t seq, int cpu) {
  if ((seq = resolve(seq)) == UINT64_MAX) return;
  if (journey* j = m_open.find(seq)) j->clean_cpu = cpu;
}

bool trace_hub::records_frames() const {
  return m_waves || m_timeline || m_pcap || m_frames_csv || !m_opt.fates.empty();
}

void trace_hub::wire_frame(const proto::wire_frame& f, uint64_t first_bit_ps) {
  m_last_wire_id = f.id;
  // The journey starts here (what frame() does for this stage, at the first bit's time).
  journey& j = m_open.open(f.id);
  constexpr auto first_bit = static_cast<size_t>(frame_stage::wire_first_bit);
  j.t[first_bit] = first_bit_ps;
  j.seen[first_bit] = true;
  if (m_frames_csv) {
    j.bytes = static_cast<uint32_t>(f.bytes.size());
    // The flow: the ports of UDP or TCP over IPv4, when the frame holds them.
    const uint8_t* p = f.bytes.data();
    const size_t n = f.bytes.size();
    if (n >= proto::ETH_HLEN + proto::IPV4_HLEN + 4 && proto::get_be16(p + 12) == proto::ETH_P_IP) {
      const uint8_t* ip = p + proto::ETH_HLEN;
      const size_t ihl = static_cast<size_t>(ip[0] & 0xF) * 4;
      const bool first_fragment = (proto::get_be16(ip + 6) & 0x1FFF) == 0;
      if ((ip[9] == proto::IPPROTO_UDP || ip[9] == 6) && first_fragment && ihl >= proto::IPV4_HLEN &&
          proto::ETH_HLEN + ihl + 4 <= n) {
        j.src_port = proto::get_be16(ip + ihl);
        j.dst_port = proto::get_be16(ip + ihl + 2);
        j.has_ports = true;
      }
    }
  }
  set(m_wire_valid, 1);
  set(m_wire_seq, f.id);
  if (!m_recording) return;
  if (m_timeline) {
    char name[32];
    std::snprintf(name, sizeof name, "frame %llu", static_cast<unsigned long long>(f.id));
    m_timeline->begin(m_wire_track, now_ps(), name);
    m_timeline->flow(m_wire_track, now_ps(), f.id, 's', "frame");
  }
  if (m_pcap) {
    // As seen at the host's port: when the first bit arrives (a link delay after it left).
    m_pcap->write(now_ps(), f.bytes, waves::pcap_writer::direction::inbound);
    ++m_rx_in_pcap;
    if (!m_opt.fates.empty()) {
      m_pcap_frames.push_back(f.id << 1);
      m_fates_bytes += 2 * decimal_digits(f.id + 1) + 6 + FATE_NAME_BYTES;  // "packet,in,seq,fate\n"
    }
  }
  wrote();
}

void trace_hub::wire_tx_frame(const proto::wire_frame& f) {
  if (!m_recording || !m_pcap) return;
  m_pcap->write(now_ps(), f.bytes, waves::pcap_writer::direction::outbound);
  if (!m_opt.fates.empty()) {
    m_pcap_frames.push_back(f.id << 1 | 1);
    tx_frame_fate(f.id, "sent");
    m_tx_in_pcap[f.id] = true;
  }
  wrote();
}

void trace_hub::wire_idle() {
  set(m_wire_valid, 0);
  if (m_recording && m_timeline) {
    m_timeline->end(m_wire_track, now_ps());
    wrote();
  }
}

nlohmann::ordered_json trace_hub::stage_latency() const {
  static constexpr const char* names[N_SPANS] = {"wire",         "fifo",     "dma",         "irq_delay",
                                                 "softirq_wait", "protocol", "socket_wait", "copy"};
  nlohmann::ordered_json out;
  for (size_t s = 0; s < N_SPANS; ++s) {
    const auto& h = m_span_ns[s].ns;
    const double mean =
        h.empty() ? 0.0 : static_cast<double>(m_span_ns[s].sum_ns) / static_cast<double>(h.samples());
    out[names[s]] = {
        {"p50", percentile(h, 0.5)}, {"p99", percentile(h, 0.99)}, {"max", h.max()}, {"mean", mean}};
  }
  out["frames"] = m_span_ns[0].ns.samples();
  return out;
}

void trace_hub::finish(uint64_t end_ps) {
  if (m_finished) return;
  m_finished = true;
  if (!m_failure.empty()) throw std::runtime_error(m_failure);
  const uint64_t last_ps = std::min(end_ps, m_stopped_ps);
  if (m_waves) m_waves->close();
  if (m_timeline) m_timeline->close(last_ps);
  if (m_pcap) m_pcap->close();
  if (m_frames_csv) {
    // Frames still on their way at the end, in sequence order.
    std::vector<uint64_t> open;
    open.reserve(m_open.size());
    m_open.for_each([&open](uint64_t seq, const journey&) { open.push_back(seq); });
    std::sort(open.begin(), open.end());
    for (uint64_t seq : open) frame_row(seq, *m_open.find(seq), "in_flight");
    if (!m_failure.empty()) throw std::runtime_error(m_failure);
    m_frames_csv->close();
  }
  if (m_pcap && !m_opt.fates.empty()) {
    const std::string& name = m_opt.names.fates.empty() ? m_opt.fates : m_opt.names.fates;
    std::FILE* f = std::fopen(m_opt.fates.c_str(), "w");
    if (f == nullptr) throw std::runtime_error(name + ": cannot write: " + std::strerror(errno));
    bool ok = write_fates(f);
    int err = errno;
    if (ok && std::fflush(f) != 0) {
      ok = false;
      err = errno;
    }
    if (std::fclose(f) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (!ok) throw std::runtime_error(name + ": write failed: " + std::strerror(err != 0 ? err : EIO));
  }
}

// packet,direction,seq,fate: one line per pcap packet in pcap order
// (direction in or out as seen from the host; seq is the frame's id in its direction's id
// space: RX frames as the partner numbers them, TX frames in the order the NIC sends them),
// then one line with an empty packet for each TX frame that ended before the wire (none
// yet: the host counts its TX drops by reason, tx_drops, without reporting each frame).
bool trace_hub::write_fates(std::FILE* f) const {
  using ull = unsigned long long;
  bool ok = std::fprintf(f, "packet,direction,seq,fate\n") >= 0;
  for (size_t k = 0; k < m_pcap_frames.size() && ok; ++k) {
    const uint64_t id = m_pcap_frames[k] >> 1;
    const bool tx = (m_pcap_frames[k] & 1) != 0;
    const auto& fates = tx ? m_tx_fates : m_fates;
    const char* fate = m_fate_names[id < fates.size() ? fates[id] : 0];
    ok = std::fprintf(f, "%llu,%s,%llu,%s\n", static_cast<ull>(k + 1), tx ? "out" : "in",
                      static_cast<ull>(id), fate) >= 0;
  }
  for (size_t id = 0; id < m_tx_fates.size() && ok; ++id)
    if (m_tx_fates[id] != 0 && !m_tx_in_pcap[id])
      ok = std::fprintf(f, ",out,%llu,%s\n", static_cast<ull>(id), m_fate_names[m_tx_fates[id]]) >= 0;
  return ok;
}

}  // namespace nicsim::tb
