#include "tb/testbench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>

#include "tb/run_internal.h"
#include "tlm/local_time.h"
#include "waves/output_file.h"

namespace nicsim::tb {

namespace {

// SystemC builds one design per process; the first testbench takes it.
std::atomic<bool> g_elaborated{false};

void claim_process() {
  const bool taken = g_elaborated.exchange(true) || sc_core::sc_find_object("top") != nullptr ||
                     sc_core::sc_get_status() != sc_core::SC_ELABORATION;
  if (!taken) return;
  throw std::logic_error(
      "nicsim::tb::testbench: this process has already built a simulation, and SystemC builds one per "
      "process (a second one would fail with \"W505 object already exists: top\" or \"E529 insert module "
      "failed: elaboration done\"). Give each testbench a process of its own: link nicsim::gtest_main, which "
      "runs every TEST of a binary in a process of its own, and register the tests with "
      "gtest_discover_tests so that ctest runs each alone; in your own sc_main, build one testbench "
      "(docs/testbench.md, \"One simulation per process\").");
}

double wall_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

testbench::testbench(const std::vector<std::string>& sets)
    : testbench([&sets] {
        testbench_options o;
        o.sets = sets;
        return o;
      }()) {}

testbench::testbench(const testbench_options& options) : m_costs_path(options.costs), m_trace(options.trace) {
  m_cfg = load_config(options.scenario, options.sets);  // as `nicsim run`: file, then --set, validated
  m_params = make_system_params(m_cfg);
  if (options.external_partner) m_params.partner = system_params::partner_kind::external;
  m_params.host.app.record = options.record_messages;
  m_costs = std::make_unique<host::cost_table>(load_cost_table(m_costs_path, m_params.host.cpu_ghz));
  // The outputs as run_simulation makes them: checked first, written under staged names, put in
  // place together by finish().
  m_outputs = std::make_unique<run_outputs>(m_trace, std::string());
  const trace_options staged = m_outputs->open(m_trace);
  try {
    m_hub = std::make_unique<trace_hub>(staged);
  } catch (const std::runtime_error& e) {
    throw output_error(e.what());
  }
  claim_process();
  m_top = std::make_unique<system_top>("top", m_params, *m_costs, m_hub.get());
  if (!m_hub->failure().empty()) throw std::runtime_error(m_hub->failure());
}

testbench::~testbench() {
  if (m_finished) return;
  try {
    finish();
  } catch (const std::exception& e) {
    std::cerr << "nicsim::tb::testbench: " << e.what() << "\n";
  }
}

void testbench::check_running(const char* what) const {
  if (m_finished)
    throw std::logic_error(std::string("nicsim::tb::testbench::") + what +
                           ": the run is finished (finish() took the system down)");
}

tlm::eth_port& testbench::nic_port() {
  check_running("nic_port");
  return m_top->nic_port();
}

const sc_core::sc_event& testbench::link_up() const {
  check_running("link_up");
  return m_top->host().link_up();
}

system_top& testbench::top() {
  check_running("top");
  return *m_top;
}

void testbench::run() {
  check_running("run");
  const sc_core::sc_time end = m_params.duration;
  if (now() < end) run_for(end - now());
}

void testbench::run_for(const sc_core::sc_time& t) {
  check_running("run_for");
  const auto t0 = std::chrono::steady_clock::now();
  tlm::decoupling::start(t, m_params.decouple);
  back_on_main_stack();
  m_wall_s += wall_since(t0);
  // A failed write (waves, timeline, pcap) pauses the simulation early.
  if (!m_hub->failure().empty()) throw std::runtime_error(m_hub->failure());
}

bool testbench::run_until(const std::function<bool()>& done, const sc_core::sc_time& limit,
                          const sc_core::sc_time& step) {
  check_running("run_until");
  if (step == sc_core::SC_ZERO_TIME)
    throw std::invalid_argument("nicsim::tb::testbench::run_until: step is 0");
  while (!done()) {
    if (now() >= limit) return false;
    run_for(std::min(step, limit - now()));
  }
  return true;
}

nlohmann::ordered_json testbench::results() {
  if (m_finished) return m_final;
  auto j = m_top->results(m_wall_s);
  j["latency_stages_ns"] = m_hub->stage_latency();
  add_run_record(j, m_cfg, m_trace, *m_hub, m_costs_path);
  return j;
}

system_top::ledger testbench::ledger() const {
  check_running("ledger");
  return m_top->account();
}

testbench::counter_set testbench::counters() {
  const auto j = results();
  auto u = [&j](const char* group, const char* key) { return j.at(group).at(key).get<uint64_t>(); };
  counter_set c{};
  c.wire_frames = u("wire", "frames");
  c.rx_frames = u("nic", "rx_frames");
  c.rx_missed = u("nic", "rx_missed");
  c.rx_no_buffer_count = u("nic", "rx_no_buffer_count");
  c.rx_crc_errors = u("nic", "rx_crc_errors");
  c.interrupts = u("nic", "interrupts");
  c.tx_frames = u("nic", "tx_frames");
  c.udp_in_datagrams = u("udp", "InDatagrams");
  c.udp_rcvbuf_errors = u("udp", "RcvbufErrors");
  c.app_messages = u("app", "messages");
  c.dropped = u("conservation", "dropped");
  c.latency_p50_ns = u("latency_ns", "p50");
  c.latency_p99_ns = u("latency_ns", "p99");
  c.conservation_ok = j.at("conservation").at("ok").get<bool>();
  return c;
}

const std::vector<uint32_t>& testbench::app_record_seqs() {
  // A TCP run has no UDP application: nothing recorded.
  if (!m_finished && !m_top->host().apps().empty()) m_seqs = m_top->host().app().record().seqs;
  return m_seqs;
}

const std::vector<uint64_t>& testbench::app_record_latency_ns() {
  if (!m_finished && !m_top->host().apps().empty()) m_latency = m_top->host().app().record().latency_ns;
  return m_latency;
}

void testbench::finish() {
  if (m_finished) return;
  m_final = results();
  if (!m_top->host().apps().empty()) {  // a TCP run has no UDP application
    m_seqs = m_top->host().app().record().seqs;
    m_latency = m_top->host().app().record().latency_ns;
  }
  m_finished = true;
  // As run_simulation: unwind the threads, close the recordings, take the system down (the
  // verilated block closes its own wave file then), check the waves came out whole, commit.
  unwind_threads();
  back_on_main_stack();
  m_hub->finish(sc_core::sc_time_stamp().value());
  m_top.reset();
  if (!m_trace.waves.empty()) {
    std::string why;
    const std::string rtl = rtl_companion_path(m_hub->options().waves);
    if (!waves::fst_file_complete(rtl, &why))
      throw std::runtime_error(rtl_companion_path(m_trace.waves) +
                               ": write failed: the file did not come out whole (" + why + ")");
  }
  m_outputs->commit();
}

}  // namespace nicsim::tb
