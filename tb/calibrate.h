#pragma once
// `nicsim calibrate`: measures this machine's real kernel (a null syscall, a
// context switch, memcpy bandwidth, UDP receive over loopback) and writes a
// complete cost table in the format of host/costs.yaml. Entries it cannot
// measure from user space keep their built-in defaults and sources.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace nicsim::tb {

struct calibrate_options {
  std::string out;      // the cost table; empty: YAML on stdout, the table of measurements on stderr
  std::string json;     // the measurements as JSON; empty: none
  double seconds = 10;  // wall-time budget of all measurements together
  double cpu_ghz = 0;   // 0: /proc/cpuinfo "cpu MHz" of cpu0, or 3.0 without one
};

// A measurement could not be made; the message says which and why.
struct calibrate_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One run of a sender process blasting datagrams at a receiver doing blocking
// recvfrom on 127.0.0.1, over a measured window while the sender is running.
struct udp_loopback_run {
  unsigned payload_bytes = 0;
  bool same_cpu = false;  // both processes pinned to one CPU; else one CPU each
  int receiver_cpu = -1;  // -1: not pinned
  int sender_cpu = -1;
  double window_s = 0;
  uint64_t received = 0;
  uint64_t sent = 0;           // during the window
  uint64_t rcvbuf_errors = 0;  // /proc/net/snmp Udp RcvbufErrors during the window (whole host)
  double rate_dgram_s = 0;     // datagrams received per second
  double sent_rate_dgram_s = 0;
  double receiver_cpu_ns = 0;    // CPU time of the receiver per datagram received
  double receiver_busy = 0;      // receiver CPU time / window
  double sender_cpu_ns = 0;      // CPU time of the sender per datagram sent
  double receiver_switches = 0;  // the receiver's context switches per datagram received
  // /proc/stat of the receiver's and the sender's CPU during the window, as
  // fractions of the window: user, system, irq, softirq, idle, steal.
  std::vector<double> receiver_cpu_split;
  std::vector<double> sender_cpu_split;
  // Busy time of those CPUs that was neither the receiver's nor the sender's:
  // other processes competing for them (a fraction of the window, -1 unknown).
  double others_busy = -1;
};

// Datagrams sent on 127.0.0.1 into a socket nobody reads at the time, then
// drained with non-blocking recvfrom: the send side (sendto, the TX path, and
// the whole receive path up to the socket queue, run in the sender's softirq)
// and the recvfrom side apart, with no waiting, waking or switching.
struct udp_queue_run {
  unsigned payload_bytes = 0;
  int cpu = -1;        // -1: not pinned
  unsigned batch = 0;  // datagrams queued per round
  uint64_t rounds = 0;
  uint64_t datagrams = 0;  // received
  uint64_t lost = 0;       // sent but not received (the queue was full)
  double send_cpu_ns = 0;  // median over rounds, per datagram, CPU time of the thread
  double recv_cpu_ns = 0;
};

struct calibration {
  double cpu_ghz = 0;
  std::string cpu_ghz_source;
  std::string cpu_model;
  std::string kernel;
  std::vector<int> cpus;  // CPUs this process may run on
  std::string loadavg;    // /proc/loadavg when calibration started
  double seconds = 0;     // the budget asked for
  double elapsed_s = 0;   // what all measurements took

  double syscall_ns = 0;  // syscall(SYS_getppid)
  uint64_t syscall_calls = 0;

  double pipe_pair_ns = 0;  // write(1 byte) + read(1 byte) on a pipe nobody waits on
  double pingpong_round_trip_ns = 0;
  uint64_t pingpong_round_trips = 0;
  int pingpong_cpu = -1;                        // -1: the two processes could not be pinned to one CPU
  double pingpong_switches_per_round_trip = 0;  // the parent's switches (voluntary or not)
  double ttwu_ns = 0;  // the table's ttwu (not measured), subtracted from the half round trip
  double context_switch_ns = 0;
  bool context_switch_floored = false;  // the subtraction left less than a tenth of the half trip

  uint64_t l2_bytes = 0;
  uint64_t copy_buffer_bytes = 0;
  double copy_gb_s = 0;
  double copy_ns_per_byte = 0;
  double copy_hot_1472_ns = 0;  // 1472 bytes within L1, not used by the table

  std::vector<udp_queue_run> udp_queue;
  std::vector<udp_loopback_run> udp;
};

// Runs every measurement within about opt.seconds; throws calibrate_error.
calibration measure_machine(const calibrate_options& opt);
// The complete cost table: measured entries replaced, the rest the built-in defaults.
std::string calibrated_costs_yaml(const calibration& c);
nlohmann::ordered_json calibration_json(const calibration& c);
void print_calibration(std::ostream& os, const calibration& c);
// `nicsim calibrate`; returns the exit status (0, 1 measurement failed, 2 bad input).
int calibrate_command(const calibrate_options& opt);

// The cpu_ghz a calibrated cost table was written for (its "# calibrated at
// cpu_ghz:" line), or 0 if the text has none. Inline: `nicsim run` (nicsim_tb)
// reads it without linking the calibrate tool.
inline double calibrated_cpu_ghz(const std::string& yaml_text) {
  static const std::string marker = "# calibrated at cpu_ghz:";
  const size_t at = yaml_text.find(marker);
  return at == std::string::npos ? 0 : std::strtod(yaml_text.c_str() + at + marker.size(), nullptr);
}

}  // namespace nicsim::tb
