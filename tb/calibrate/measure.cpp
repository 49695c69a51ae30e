// Measuring the machine: system calls, context switches, copies and UDP over loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <new>
#include <sstream>

#include "host/cost_table.h"
#include "tb/calibrate.h"
#include "tb/calibrate/calibrate_internal.h"
#include "tb/run.h"
#include "waves/output_file.h"

namespace nicsim::tb {

namespace calibrate_internal {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace calibrate_internal

using calibrate_internal::median;

namespace {

using clk = std::chrono::steady_clock;

double ns_between(clk::time_point a, clk::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

clk::time_point after(double seconds) {
  return clk::now() + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(seconds));
}

[[noreturn]] void fail(const std::string& what) { throw calibrate_error(what); }

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

// Keeps the compiler from dropping a copy nobody reads.
void keep(void* p) { __asm__ __volatile__("" : : "r"(p) : "memory"); }

double cputime_ns(clockid_t id) {
  timespec ts{};
  if (clock_gettime(id, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// ------------------------------------------------------------------ the machine

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  return cpus;
}

// Pins the calling thread for its lifetime and then puts the old mask back.
class scoped_pin {
 public:
  explicit scoped_pin(int cpu) {
    CPU_ZERO(&m_saved);
    if (cpu < 0 || sched_getaffinity(0, sizeof m_saved, &m_saved) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    m_pinned = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~scoped_pin() {
    if (m_pinned) sched_setaffinity(0, sizeof m_saved, &m_saved);
  }
  scoped_pin(const scoped_pin&) = delete;
  scoped_pin& operator=(const scoped_pin&) = delete;
  bool pinned() const { return m_pinned; }

 private:
  cpu_set_t m_saved;
  bool m_pinned = false;
};

bool pin_self(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof one, &one) == 0;
}

std::string cpuinfo_field(const std::string& name) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {  // the first block is cpu0
    if (line.compare(0, name.size(), name) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

uint64_t l2_cache_bytes() {
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level(dir + "level"), size(dir + "size");
    int lv = 0;
    std::string s;
    if (!(level >> lv) || !(size >> s) || lv != 2 || s.empty()) continue;
    uint64_t v = std::strtoull(s.c_str(), nullptr, 10);
    if (s.back() == 'K') v *= 1024;
    if (s.back() == 'M') v *= 1024 * 1024;
    if (v > 0) return v;
  }
  const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return v > 0 ? static_cast<uint64_t>(v) : 1024 * 1024;
}

struct udp_snmp {
  uint64_t in_datagrams = 0;
  uint64_t rcvbuf_errors = 0;
};

udp_snmp read_udp_snmp() {
  std::ifstream in("/proc/net/snmp");
  std::string names, values, line;
  while (std::getline(in, line)) {
    if (line.compare(0, 4, "Udp:") != 0) continue;
    if (names.empty())
      names = line;
    else
      values = line;
  }
  udp_snmp s;
  std::istringstream n(names), v(values);
  std::string name, value;
  while (n >> name && v >> value) {
    if (name == "InDatagrams") s.in_datagrams = std::strtoull(value.c_str(), nullptr, 10);
    if (name == "RcvbufErrors") s.rcvbuf_errors = std::strtoull(value.c_str(), nullptr, 10);
  }
  return s;
}

// user, nice, system, idle, iowait, irq, softirq, steal of one CPU, in USER_HZ ticks.
std::vector<uint64_t> read_cpu_stat(int cpu) {
  std::ifstream in("/proc/stat");
  const std::string name = "cpu" + std::to_string(cpu);
  std::string line;
  std::vector<uint64_t> v;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string first;
    ls >> first;
    if (first != name) continue;
    uint64_t x;
    while (v.size() < 8 && ls >> x) v.push_back(x);
    break;
  }
  v.resize(8, 0);
  return v;
}

// user (with nice), system, irq, softirq, idle (with iowait), steal: fractions of the window.
std::vector<double> cpu_split(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b,
                              double window_s) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto d = [&](size_t i) { return static_cast<double>(b[i] - a[i]) / hz / window_s; };
  return {d(0) + d(1), d(2), d(5), d(6), d(3) + d(4), d(7)};
}

// Waits for a child, killing it if it is not gone within `grace_s`.
void reap(pid_t pid, double grace_s) {
  const auto end = after(grace_s);
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    if (clk::now() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return;
    }
    usleep(1000);
  }
}

// ------------------------------------------------------------------ syscall

void measure_syscall(calibration& c, double budget_s) {
  constexpr int BATCH = 1000;
  constexpr size_t MAX_BATCHES = 1000000;
  std::vector<double> per_call;
  for (int i = 0; i < BATCH; ++i) syscall(SYS_getppid);  // warm
  const auto end = after(budget_s);
  do {
    const auto t0 = clk::now();
    for (int i = 0; i < BATCH; ++i) syscall(SYS_getppid);
    per_call.push_back(ns_between(t0, clk::now()) / BATCH);
  } while (clk::now() < end && per_call.size() < MAX_BATCHES);
  c.syscall_ns = median(per_call);
  c.syscall_calls = per_call.size() * BATCH;
  if (!(c.syscall_ns > 0)) fail("syscall: no time measured");
}

// ------------------------------------------------------------------ context switch

void measure_pipe_pair(calibration& c, double budget_s) {
  int p[2];
  if (pipe(p) != 0) fail_errno("pipe");
  constexpr int BATCH = 500;
  constexpr size_t MAX_BATCHES = 1000000;
  std::vector<double> per_pair;
  char b = 'x';
  const auto end = after(budget_s);
  bool ok = true;
  do {
    const auto t0 = clk::now();
    for (int i = 0; i < BATCH && ok; ++i) ok = write(p[1], &b, 1) == 1 && read(p[0], &b, 1) == 1;
    per_pair.push_back(ns_between(t0, clk::now()) / BATCH);
  } while (ok && clk::now() < end && per_pair.size() < MAX_BATCHES);
  close(p[0]);
  close(p[1]);
  if (!ok) fail_errno("pipe write/read");
  c.pipe_pair_ns = median(per_pair);
}

void measure_pingpong(calibration& c, double budget_s) {
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) fail_errno("context switch: pipe");
  // Both processes on one CPU, so that each hand-over is a switch on that CPU
  // and not a wake-up of the other CPU. The child inherits the mask.
  const int cpu = c.cpus.empty() ? -1 : c.cpus.front();
  scoped_pin pin(cpu);
  c.pingpong_cpu = pin.pinned() ? cpu : -1;
  const pid_t pid = fork();
  if (pid < 0) fail_errno("context switch: fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(ping[1]);
    close(pong[0]);
    char b;
    while (read(ping[0], &b, 1) == 1)
      if (write(pong[1], &b, 1) != 1) break;
    _exit(0);
  }
  close(ping[0]);
  close(pong[1]);
  char b = 'x';
  auto round_trip = [&] { return write(ping[1], &b, 1) == 1 && read(pong[0], &b, 1) == 1; };
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = round_trip();  // warm
  constexpr int BATCH = 200;
  constexpr size_t MAX_BATCHES = 100000;
  std::vector<double> per_trip;
  rusage r0{}, r1{};
  getrusage(RUSAGE_THREAD, &r0);
  const auto end = after(budget_s);
  while (ok && clk::now() < end && per_trip.size() < MAX_BATCHES) {
    const auto t0 = clk::now();
    for (int i = 0; i < BATCH && ok; ++i) ok = round_trip();
    per_trip.push_back(ns_between(t0, clk::now()) / BATCH);
  }
  getrusage(RUSAGE_THREAD, &r1);
  close(ping[1]);  // the child reads end-of-file and exits
  close(pong[0]);
  reap(pid, 2.0);
  if (!ok || per_trip.empty()) fail("context switch: the ping-pong child stopped answering");
  c.pingpong_round_trip_ns = median(per_trip);
  c.pingpong_round_trips = per_trip.size() * BATCH;
  c.pingpong_switches_per_round_trip =
      static_cast<double>((r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw)) /
      static_cast<double>(c.pingpong_round_trips);
  // Half a round trip is one write that wakes the other process (ttwu), one
  // read that blocks (the switch), and the two syscalls' own work, which the
  // pipe pair without a waiter measures.
  const double half = c.pingpong_round_trip_ns / 2;
  if (!(half > c.pipe_pair_ns))
    fail("context switch: half a ping-pong round trip (" + std::to_string(half) +
         " ns) is not more than a pipe write+read without a waiter (" + std::to_string(c.pipe_pair_ns) +
         " ns): the processes did not hand the CPU over");
  c.context_switch_ns = half - c.pipe_pair_ns - c.ttwu_ns;
  // On a machine whose wake-up is much cheaper than the table's ttwu, keep a
  // tenth of the half trip rather than a switch that costs nothing.
  c.context_switch_floored = c.context_switch_ns < 0.1 * half;
  if (c.context_switch_floored) c.context_switch_ns = 0.1 * half;
}

// ------------------------------------------------------------------ copy

void measure_copy(calibration& c, double budget_s) {
  c.l2_bytes = l2_cache_bytes();
  c.copy_buffer_bytes = std::max<uint64_t>(4 * c.l2_bytes, 4u << 20);
  const size_t n = c.copy_buffer_bytes;
  std::unique_ptr<char[]> src(new (std::nothrow) char[n]), dst(new (std::nothrow) char[n]);
  if (!src || !dst) fail("copy: cannot allocate two buffers of " + std::to_string(n) + " bytes");
  std::memset(src.get(), 1, n);  // fault the pages in before timing
  std::memset(dst.get(), 2, n);
  std::vector<double> gb_s;
  constexpr size_t MAX_COPIES = 100000;
  const auto end = after(budget_s);
  do {
    const auto t0 = clk::now();
    std::memcpy(dst.get(), src.get(), n);
    keep(dst.get());
    gb_s.push_back(static_cast<double>(n) / ns_between(t0, clk::now()));
  } while (clk::now() < end && gb_s.size() < MAX_COPIES);
  c.copy_gb_s = median(gb_s);
  if (!(c.copy_gb_s > 0)) fail("copy: no bandwidth measured");
  c.copy_ns_per_byte = 1.0 / c.copy_gb_s;

  constexpr size_t HOT = 1472;
  constexpr int BATCH = 1000;
  std::vector<double> hot;
  const auto hot_end = after(budget_s / 4);
  do {
    const auto t0 = clk::now();
    for (int i = 0; i < BATCH; ++i) {
      std::memcpy(dst.get(), src.get() + (i & 1) * 64, HOT);
      keep(dst.get());
    }
    hot.push_back(ns_between(t0, clk::now()) / BATCH);
  } while (clk::now() < hot_end && hot.size() < MAX_COPIES);
  c.copy_hot_1472_ns = median(hot);
}

// ------------------------------------------------------------------ UDP over loopback

// Lives in a MAP_SHARED page: the sender publishes its count, the receiver says stop.
struct sender_state {
  std::atomic<uint32_t> stop{0};
  std::atomic<uint32_t> setup_errno{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_errors{0};
};

[[noreturn]] void run_sender(sender_state* st, int cpu, uint16_t port, unsigned payload, double failsafe_s) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (cpu >= 0) pin_self(cpu);
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    st->setup_errno.store(static_cast<uint32_t>(errno));
    _exit(1);
  }
  std::vector<char> buf(payload, 'u');
  const auto end = after(failsafe_s);
  constexpr uint64_t MAX_SENDS = uint64_t{1} << 40;
  uint64_t sent = 0, errors = 0;
  for (uint64_t i = 0; i < MAX_SENDS && st->stop.load(std::memory_order_relaxed) == 0; ++i) {
    if (send(fd, buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size()))
      st->sent.store(++sent, std::memory_order_relaxed);
    else
      st->send_errors.store(++errors, std::memory_order_relaxed);
    if ((i & 63) == 0 && clk::now() >= end) break;
  }
  _exit(0);
}

udp_loopback_run measure_udp(const calibration& c, unsigned payload, bool same_cpu, double budget_s) {
  udp_loopback_run run;
  run.payload_bytes = payload;
  run.same_cpu = same_cpu;
  const std::string what =
      "UDP loopback " + std::to_string(payload) + " B (" + (same_cpu ? "one CPU" : "two CPUs") + ")";
  const int rfd = socket(AF_INET, SOCK_DGRAM, 0);
  if (rfd < 0) fail_errno(what + ": socket");
  struct fd_closer {
    int fd;
    ~fd_closer() { close(fd); }
  } closer{rfd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t alen = sizeof addr;
  if (bind(rfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(rfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0)
    fail_errno(what + ": bind 127.0.0.1");
  timeval tv{};
  tv.tv_sec = 1;
  setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  void* mem = mmap(nullptr, sizeof(sender_state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail_errno(what + ": mmap");
  auto* st = new (mem) sender_state;
  struct unmapper {
    void* p;
    ~unmapper() { munmap(p, sizeof(sender_state)); }
  } unmap{mem};

  const bool two = !same_cpu && c.cpus.size() >= 2;
  const int rcpu = c.cpus.empty() ? -1 : c.cpus.front();
  const int scpu = two ? c.cpus[1] : rcpu;
  scoped_pin pin(rcpu);
  run.receiver_cpu = pin.pinned() ? rcpu : -1;
  run.sender_cpu = pin.pinned() ? scpu : -1;
  const double warm_s = std::max(0.01, budget_s * 0.1);
  const double window_s = budget_s - warm_s;
  const pid_t pid = fork();
  if (pid < 0) fail_errno(what + ": fork");
  if (pid == 0) {
    close(rfd);
    run_sender(st, two ? scpu : -1, ntohs(addr.sin_port), payload, budget_s + 5);
  }
  struct child_stopper {
    sender_state* st;
    pid_t pid;
    ~child_stopper() {
      st->stop.store(1);
      reap(pid, 2.0);
    }
  } stopper{st, pid};
  clockid_t sender_clock{};
  const bool have_sender_clock = clock_getcpuclockid(pid, &sender_clock) == 0;

  std::vector<char> buf(65536);
  sockaddr_in from{};
  // One datagram; false when interrupted by a signal before it came.
  auto receive = [&]() -> bool {
    socklen_t flen = sizeof from;
    const ssize_t n = recvfrom(rfd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) {
      if (errno == EINTR) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (const uint32_t e = st->setup_errno.load()) {
          errno = static_cast<int>(e);
          fail_errno(what + ": the sender cannot send");
        }
        fail(what + ": nothing arrived for 1 s");
      }
      fail_errno(what + ": recvfrom");
    }
    if (static_cast<size_t>(n) != payload)
      fail(what + ": received " + std::to_string(n) + " bytes, expected " + std::to_string(payload));
    return true;
  };

  while (!receive()) {  // the sender is up
  }
  const auto warm_end = after(warm_s);
  while (clk::now() < warm_end) receive();

  const udp_snmp snmp0 = read_udp_snmp();
  const int stat_rcpu = std::max(rcpu, 0), stat_scpu = std::max(scpu, 0);
  const auto rstat0 = read_cpu_stat(stat_rcpu), sstat0 = read_cpu_stat(stat_scpu);
  rusage r0{}, r1{};
  getrusage(RUSAGE_THREAD, &r0);
  const double s0 = have_sender_clock ? cputime_ns(sender_clock) : 0;
  const uint64_t sent0 = st->sent.load();
  const double cpu0 = cputime_ns(CLOCK_THREAD_CPUTIME_ID);
  const auto t0 = clk::now();
  const auto t_end = t0 + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(window_s));
  constexpr uint64_t MAX_DATAGRAMS = uint64_t{1} << 36;
  uint64_t received = 0;
  while (received < MAX_DATAGRAMS) {
    if (receive() && (++received & 31) == 0 && clk::now() >= t_end) break;
  }
  const auto t1 = clk::now();
  const double cpu1 = cputime_ns(CLOCK_THREAD_CPUTIME_ID);
  const uint64_t sent1 = st->sent.load();
  const double s1 = have_sender_clock ? cputime_ns(sender_clock) : 0;
  getrusage(RUSAGE_THREAD, &r1);
  const udp_snmp snmp1 = read_udp_snmp();
  const auto rstat1 = read_cpu_stat(stat_rcpu), sstat1 = read_cpu_stat(stat_scpu);

  const double elapsed_ns = ns_between(t0, t1);
  run.window_s = elapsed_ns * 1e-9;
  run.received = received;
  run.sent = sent1 - sent0;
  run.rcvbuf_errors = snmp1.rcvbuf_errors - snmp0.rcvbuf_errors;
  run.rate_dgram_s = static_cast<double>(received) / run.window_s;
  run.sent_rate_dgram_s = static_cast<double>(run.sent) / run.window_s;
  run.receiver_cpu_ns = (cpu1 - cpu0) / static_cast<double>(received);
  run.receiver_busy = (cpu1 - cpu0) / elapsed_ns;
  run.sender_cpu_ns = run.sent > 0 ? (s1 - s0) / static_cast<double>(run.sent) : 0;
  run.receiver_switches = static_cast<double>((r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw)) /
                          static_cast<double>(received);
  if (run.receiver_cpu >= 0) {
    run.receiver_cpu_split = cpu_split(rstat0, rstat1, run.window_s);
    run.sender_cpu_split = cpu_split(sstat0, sstat1, run.window_s);
    auto busy = [](const std::vector<double>& f) { return f[0] + f[1] + f[2] + f[3]; };
    const double recv_share = (cpu1 - cpu0) / elapsed_ns;
    const double send_share = have_sender_clock ? (s1 - s0) / elapsed_ns : 0;
    run.others_busy = same_cpu || !two ? busy(run.receiver_cpu_split) - recv_share - send_share
                                       : busy(run.receiver_cpu_split) - recv_share +
                                             busy(run.sender_cpu_split) - send_share;
    run.others_busy = std::max(0.0, run.others_busy);
  }
  if (received == 0 || !(run.receiver_cpu_ns > 0)) fail(what + ": nothing measured");
  return run;
}

udp_queue_run measure_udp_queue(const calibration& c, unsigned payload, double budget_s) {
  udp_queue_run q;
  q.payload_bytes = payload;
  const std::string what = "UDP loopback queue-and-drain " + std::to_string(payload) + " B";
  const int rfd = socket(AF_INET, SOCK_DGRAM, 0), sfd = socket(AF_INET, SOCK_DGRAM, 0);
  struct fd_closer {
    int a, b;
    ~fd_closer() {
      if (a >= 0) close(a);
      if (b >= 0) close(b);
    }
  } closer{rfd, sfd};
  if (rfd < 0 || sfd < 0) fail_errno(what + ": socket");
  int want = 4 << 20;  // as much as net.core.rmem_max allows: many datagrams per round
  setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  int rcvbuf = 0;
  socklen_t olen = sizeof rcvbuf;
  getsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &olen);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (bind(rfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(rfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0 ||
      connect(sfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    fail_errno(what + ": bind/connect on 127.0.0.1");
  // A datagram's skb takes its payload plus about 2 KiB of truesize; stay well under the buffer.
  q.batch = static_cast<unsigned>(
      std::clamp<int64_t>(rcvbuf / (2 * (static_cast<int64_t>(payload) + 2048)), 16, 1000));
  const int cpu = c.cpus.empty() ? -1 : c.cpus.front();
  scoped_pin pin(cpu);
  q.cpu = pin.pinned() ? cpu : -1;
  std::vector<char> out(payload, 'q'), in(65536);
  std::vector<double> send_ns, recv_ns;
  constexpr size_t MAX_ROUNDS = 100000;
  const auto end = after(budget_s);
  for (bool warm = true; (warm || clk::now() < end) && send_ns.size() < MAX_ROUNDS; warm = false) {
    const double c0 = cputime_ns(CLOCK_THREAD_CPUTIME_ID);
    unsigned sent = 0;
    for (unsigned i = 0; i < q.batch; ++i)
      if (send(sfd, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size())) ++sent;
    const double c1 = cputime_ns(CLOCK_THREAD_CPUTIME_ID);
    unsigned got = 0;
    for (;;) {
      const ssize_t n = recvfrom(rfd, in.data(), in.size(), MSG_DONTWAIT, nullptr, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        fail_errno(what + ": recvfrom");
      }
      if (static_cast<size_t>(n) != payload) fail(what + ": received " + std::to_string(n) + " bytes");
      ++got;
    }
    const double c2 = cputime_ns(CLOCK_THREAD_CPUTIME_ID);
    if (sent == 0 || got == 0) fail(what + ": nothing went through (sent " + std::to_string(sent) + ")");
    if (warm) continue;
    send_ns.push_back((c1 - c0) / sent);
    recv_ns.push_back((c2 - c1) / got);
    q.datagrams += got;
    q.lost += sent - std::min(sent, got);
  }
  q.rounds = send_ns.size();
  q.send_cpu_ns = median(send_ns);
  q.recv_cpu_ns = median(recv_ns);
  return q;
}

double table_ns(const host::cost_table& t, host::cost k) { return t.at(k).cycles / t.cpu_ghz(); }

}  // namespace

// ------------------------------------------------------------------ public

calibration measure_machine(const calibrate_options& opt) {
  calibration c;
  const auto start = clk::now();
  c.seconds = opt.seconds;
  c.cpu_model = cpuinfo_field("model name");
  utsname u{};
  if (uname(&u) == 0) c.kernel = std::string(u.sysname) + " " + u.release;
  c.cpus = allowed_cpus();
  {
    std::ifstream la("/proc/loadavg");
    std::getline(la, c.loadavg);
  }
  if (opt.cpu_ghz > 0) {
    c.cpu_ghz = opt.cpu_ghz;
    c.cpu_ghz_source = "--cpu-ghz";
  } else {
    const double mhz = std::strtod(cpuinfo_field("cpu MHz").c_str(), nullptr);
    c.cpu_ghz = mhz > 0 ? mhz / 1000 : 3.0;
    c.cpu_ghz_source =
        mhz > 0 ? "/proc/cpuinfo \"cpu MHz\" of cpu0" : "no \"cpu MHz\" in /proc/cpuinfo: 3.0 assumed";
  }
  // The cost the model already charges for a wake-up; measured switches exclude it.
  const auto defaults = host::cost_table::defaults(c.cpu_ghz);
  c.ttwu_ns = table_ns(defaults, host::cost::ttwu);

  signal(SIGPIPE, SIG_IGN);  // a child that dies shows as a failed write, not a dead nicsim
  const double s = opt.seconds;
  const unsigned udp_runs = c.cpus.size() >= 2 ? 4 : 2;
  measure_syscall(c, s * 0.05);
  measure_pipe_pair(c, s * 0.04);
  measure_pingpong(c, s * 0.15);
  measure_copy(c, s * 0.08);
  for (const unsigned payload : {64u, 1472u}) {
    c.udp_queue.push_back(measure_udp_queue(c, payload, s * 0.06));
    if (c.cpus.size() >= 2) c.udp.push_back(measure_udp(c, payload, false, s * 0.52 / udp_runs));
    c.udp.push_back(measure_udp(c, payload, true, s * 0.52 / udp_runs));
  }
  c.elapsed_s = ns_between(start, clk::now()) * 1e-9;
  return c;
}

}  // namespace nicsim::tb
