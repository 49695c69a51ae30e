// Running a sweep: the child processes of its points, progress, `nicsim sweep`.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "host/yaml_input.h"
#include "tb/run.h"
#include "tb/sweep.h"
#include "tb/sweep/sweep_internal.h"

namespace nicsim::tb {

using namespace sweep_internal;

namespace sweep_internal {

std::string format_duration(double secs) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, secs)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string last_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

std::string indent(const std::string& text) {
  std::string out;
  for (const auto& line : split(text, '\n'))
    if (!line.empty()) out += "    " + line + "\n";
  return out;
}

// Runs argv as a child with the given signal mask cleared; returns its exit status
// (as from waitpid) or -1 when it could not be started.
int run_and_wait(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

struct failure {
  sweep_point point;
  std::string why;
};

// One sweep's run: spawns children, reaps them, keeps results.csv and the
// progress line current.
class sweep_runner {
 public:
  sweep_runner(const sweep_plan& plan, const std::string& dir, unsigned jobs)
      : m_plan(plan), m_dir(dir), m_jobs(jobs), m_tty(isatty(STDERR_FILENO) != 0) {}

  void add_finished(const sweep_point& p, const json& j) { m_rows[p.index] = csv_row(p, j); }

  enum class outcome { complete, interrupted, cannot_write };

  // complete: every pending point ran (failed or not); interrupted: a signal
  // stopped the sweep; cannot_write: the sweep directory could not be written
  // (io_error() says why) and the points not yet started were left for a rerun.
  outcome run(std::vector<sweep_point> pending, size_t shard_total, size_t already_done) {
    m_total = shard_total;
    m_done = already_done;
    m_start = std::chrono::steady_clock::now();
    m_last_csv = m_start;
    sigset_t mask, old;
    sigemptyset(&mask);
    for (const int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, &old);
    std::reverse(pending.begin(), pending.end());
    while (!m_running.empty() || (!pending.empty() && may_spawn())) {
      while (may_spawn() && !pending.empty() && m_running.size() < m_jobs) {
        spawn(pending.back());
        pending.pop_back();
      }
      bool reaped = false;
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        reaped = true;
        finish(pid, status);
      }
      if (reaped) continue;
      if (m_running.empty()) break;  // nothing left to wait for (spawning failed)
      siginfo_t info;
      const timespec tick{1, 0};
      const int sig = sigtimedwait(&mask, &info, &tick);
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) stop();
      if (sig < 0 && m_tty) progress("");
    }
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (m_tty && m_printed_progress) std::cerr << "\n";
    write_csv();
    if (m_stopping) return outcome::interrupted;
    return m_io_error.empty() ? outcome::complete : outcome::cannot_write;
  }

  const std::vector<failure>& failures() const { return m_failures; }
  size_t ran() const { return m_ran; }
  const std::string& io_error() const { return m_io_error; }

 private:
  struct child {
    sweep_point point;
    fs::path json_tmp, log;
    std::chrono::steady_clock::time_point start;
  };

  std::string child_command_line(const std::vector<std::string>& args) const {
    std::string s;
    for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
    return s;
  }

  bool may_spawn() const { return !m_stopping && m_io_error.empty(); }

  // The sweep cannot write its directory: no new points start; those running finish.
  void cannot_write(const std::string& why) {
    if (!m_io_error.empty()) return;
    m_io_error = why;
    if (m_tty && m_printed_progress) std::cerr << "\r\x1b[K";
    std::cerr << "nicsim sweep: " << why << "; no more points start\n";
  }

  void write_csv() {
    try {
      write_whole_file(fs::path(m_dir) / "results.csv", csv_text(m_plan, m_rows));
    } catch (const sweep_io_error& e) {
      cannot_write(e.what());
    }
    m_last_csv = std::chrono::steady_clock::now();
  }

  // A child's files in running/: its JSON, the .tmp its writer may leave, its output.
  static void remove_child_files(const child& c) {
    std::error_code ec;
    fs::remove(c.json_tmp, ec);
    fs::remove(c.json_tmp.string() + ".tmp", ec);
    fs::remove(c.log, ec);
  }

  void spawn(const sweep_point& p) {
    child c{p, running_dir(m_dir) / (p.id + ".json"), running_dir(m_dir) / (p.id + ".log"),
            std::chrono::steady_clock::now()};
    std::error_code ec;
    remove_child_files(c);
    const char* wrapper = std::getenv("NICSIM_SWEEP_CHILD");
    const std::string exe = wrapper ? wrapper : "/proc/self/exe";
    std::vector<std::string> args{wrapper ? wrapper : self_path(), "run", "--quiet", "--json",
                                  c.json_tmp.string()};
    for (const auto& s : m_plan.child_sets) args.insert(args.end(), {"--set", s});
    for (const auto& [k, v] : p.values) args.insert(args.end(), {"--set", k + "=" + v});
    // The output file starts with the command, so that a failed point's .err is never empty.
    if (const int err = append_whole(c.log, "$ " + child_command_line(args) + "\n")) {
      fs::remove(c.log, ec);
      cannot_write("cannot write " + c.log.string() + ": " + errno_text(err));
      return;
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log_path = c.log.string();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      // A killed sweep takes its points with it, so that a resumed sweep never
      // races a stray child writing the same point.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
      execv(exe.c_str(), argv.data());
      const char msg[] = "nicsim sweep: cannot execute the point\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      _exit(127);
    }
    if (pid < 0) {
      ++m_ran;
      record_failure(c, std::string("cannot start: ") + errno_text(errno));
      return;
    }
    append_log(m_dir, "start " + p.id + " " + describe(p.values));
    m_running.emplace(pid, std::move(c));
  }

  static std::string self_path() {
    std::error_code ec;
    const auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("nicsim") : p.string();
  }

  void finish(pid_t pid, int status) {
    auto it = m_running.find(pid);
    if (it == m_running.end()) return;
    child c = std::move(it->second);
    m_running.erase(it);
    std::error_code ec;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
    if (WIFSIGNALED(status) &&
        (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGHUP)) {
      // Interrupted with the sweep (Ctrl-C reaches the whole process group): not a failure.
      stop();
      remove_child_files(c);
      append_log(m_dir, "interrupted " + c.point.id);
      return;
    }
    ++m_ran;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::exists(c.json_tmp, ec)) {
      std::string text;
      json j = read_text(c.json_tmp, text) ? json::parse(text, nullptr, false) : json();
      if (!j.is_discarded() && j.is_object()) {
        const auto final_path = points_dir(m_dir) / (c.point.id + ".json");
        fs::rename(c.json_tmp, final_path, ec);
        if (!ec) {
          remove_child_files(c);
          fs::remove(points_dir(m_dir) / (c.point.id + ".err"), ec);
          fs::remove(points_dir(m_dir) / (c.point.id + ".failed.json"), ec);
          append_log(m_dir, "done " + c.point.id + " " + format_derived(secs) + "s");
          m_rows[c.point.index] = csv_row(c.point, j);
          ++m_done;
          progress(describe(c.point.values));
          if (std::chrono::steady_clock::now() - m_last_csv > std::chrono::seconds(2)) write_csv();
          return;
        }
      }
      record_failure(c, "its JSON could not be read or moved into points/");
      return;
    }
    std::string why;
    if (WIFEXITED(status))
      why = "exit " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      why = std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
            strsignal(WTERMSIG(status)) + ")";
    else
      why = "status " + std::to_string(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) why = "exit 0 without writing its JSON";
    record_failure(c, why + low_space_note());
  }

  // A point that fails on a nearly full disk most likely failed because of it.
  std::string low_space_note() const {
    struct statvfs st {};
    if (::statvfs(m_dir.c_str(), &st) != 0) return "";
    const auto free_bytes = static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
    if (free_bytes >= (1ull << 20)) return "";
    return " (the file system of " + m_dir + " has " + std::to_string(free_bytes / 1024) + " KiB free)";
  }

  void record_failure(const child& c, const std::string& why) {
    std::error_code ec;
    const auto err_path = points_dir(m_dir) / (c.point.id + ".err");
    // The output holds at least the command line (spawn wrote it), so the .err is never empty.
    std::string text;
    fs::rename(c.log, err_path, ec);
    if (!ec) {
      read_text(err_path, text);
      if (const int err = append_whole(err_path, "nicsim sweep: " + why + "\n"))
        cannot_write("cannot write " + err_path.string() + ": " + errno_text(err));
    }
    if (fs::exists(c.json_tmp, ec))
      fs::rename(c.json_tmp, points_dir(m_dir) / (c.point.id + ".failed.json"), ec);
    remove_child_files(c);
    append_log(m_dir, "failed " + c.point.id + " " + why);
    m_failures.push_back({c.point, why});
    ++m_done;
    if (m_tty && m_printed_progress) std::cerr << "\r\x1b[K";
    std::cerr << "nicsim sweep: point " << c.point.id << " (" << describe(c.point.values)
              << ") failed: " << why << "; output in " << err_path.string() << "\n"
              << indent(last_lines(text, 20));
    progress(describe(c.point.values) + " failed");
  }

  void progress(const std::string& what) {
    if (!what.empty()) m_last_what = what;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const size_t now_done = m_ran;
    const size_t remaining = m_total > m_done ? m_total - m_done : 0;
    std::string eta = "?";
    if (now_done > 0)
      eta = format_duration(elapsed / static_cast<double>(now_done) * static_cast<double>(remaining));
    const auto pct = m_total ? 100 * m_done / m_total : 100;
    std::ostringstream line;
    line << "[" << m_done << "/" << m_total << "] " << pct << "% eta " << eta << "  " << m_last_what;
    if (m_tty) {
      const size_t filled = m_total ? 20 * m_done / m_total : 20;
      std::cerr << "\r\x1b[K" << std::string(filled, '#') << std::string(20 - filled, '.') << " "
                << line.str() << std::flush;
      m_printed_progress = true;
    } else if (!what.empty()) {
      std::cerr << line.str() << "\n";
    }
  }

  void stop() {
    if (m_stopping) return;
    m_stopping = true;
    for (const auto& [pid, c] : m_running) kill(pid, SIGTERM);
  }

  const sweep_plan& m_plan;
  std::string m_dir;
  unsigned m_jobs;
  bool m_tty;
  bool m_printed_progress = false;
  bool m_stopping = false;
  size_t m_total = 0, m_done = 0, m_ran = 0;
  std::string m_last_what;
  std::chrono::steady_clock::time_point m_start, m_last_csv;
  std::map<pid_t, child> m_running;
  std::map<size_t, std::vector<std::string>> m_rows;
  std::vector<failure> m_failures;
  std::string m_io_error;
};

}  // namespace sweep_internal

int sweep_command(const sweep_options& opts) {
  sweep_plan plan;
  shard_spec shard;
  dir_lock lock;  // held until the sweep returns
  if (opts.slurm) return slurm_command(opts);
  try {
    if (!opts.slurm_opts.empty() || opts.array_parallel != -1)
      bad_input(std::string(opts.slurm_opts.empty() ? "--array-parallel" : "--slurm-opt") +
                " is for --slurm (the Slurm job array); add --slurm or drop it");
    if (opts.out.empty() && !opts.dry_run) bad_input("--out DIR is required");
    plan = make_sweep_plan(opts.scenario, opts.grids, opts.sets, opts.seeds);
    if (!opts.shard.empty()) shard = parse_shard(opts.shard);
    if (opts.dry_run) {
      size_t in_shard = 0;
      for (size_t i = 0; i < plan.size(); ++i) in_shard += shard.contains(i) ? 1 : 0;
      std::cout << plan.size() << " points";
      if (shard.n > 1) std::cout << ", " << in_shard << " in shard " << shard.k << "/" << shard.n;
      std::cout << "\n";
      for (size_t i = 0; i < plan.size(); ++i)
        if (shard.contains(i)) {
          const auto p = plan.point(i);
          std::cout << p.id << "  " << describe(p.values) << "\n";
        }
      return EXIT_OK;
    }
    open_sweep_dir(plan, opts.out, lock, "nicsim sweep");
  } catch (const config_error& e) {
    std::cerr << "nicsim sweep: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }

  unsigned jobs = opts.jobs;
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  sweep_runner runner(plan, opts.out, jobs);
  std::vector<sweep_point> pending;
  size_t in_shard = 0, already = 0;
  std::error_code ec;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto p = plan.point(i);
    const auto path = points_dir(opts.out) / (p.id + ".json");
    json j;
    bool mismatch = false;
    if (fs::exists(path, ec)) j = load_point_json(path, plan, p, &mismatch);
    if (mismatch)
      std::cerr << "nicsim sweep: " << path.string() << " is not a complete result of point " << p.id
                << "; it runs again\n";
    if (!j.is_null()) runner.add_finished(p, j);
    if (!shard.contains(i)) continue;
    ++in_shard;
    if (j.is_null())
      pending.push_back(p);
    else
      ++already;
  }
  std::cerr << "nicsim sweep: " << plan.size() << " points";
  if (shard.n > 1) std::cerr << ", " << in_shard << " in shard " << shard.k << "/" << shard.n;
  if (already > 0) std::cerr << ", " << already << " already finished";
  if (pending.empty())
    std::cerr << "; nothing to run in " << opts.out << "\n";
  else
    std::cerr << "; running " << pending.size() << " with " << std::min<size_t>(jobs, pending.size())
              << " job(s) into " << opts.out << "\n";
  append_log(opts.out,
             "sweep " + std::to_string(pending.size()) + " to run" +
                 (shard.n > 1 ? " (shard " + std::to_string(shard.k) + "/" + std::to_string(shard.n) + ")"
                              : std::string()));
  const auto outcome = runner.run(pending, in_shard, already);
  fs::remove(running_dir(opts.out), ec);  // only when empty: a finished sweep keeps no running/
  // The CSV holds every finished point found in the directory (a merge may have added some).
  std::string io_error = runner.io_error();
  if (io_error.empty()) {
    try {
      write_whole_file(fs::path(opts.out) / "results.csv", results_csv(plan, opts.out));
    } catch (const sweep_io_error& e) {
      io_error = e.what();
    }
  }
  const auto csv = (fs::path(opts.out) / "results.csv").string();
  if (!io_error.empty()) {
    append_log(opts.out, "stopped: " + io_error);
    std::cerr << "nicsim sweep: stopped: " << io_error << ". The finished points are kept in "
              << points_dir(opts.out).string() << "; make room and run the same command again to resume.\n";
    return EXIT_INTERNAL;
  }
  if (outcome == sweep_runner::outcome::interrupted) {
    append_log(opts.out, "interrupted");
    std::cerr << "nicsim sweep: interrupted; finished points are kept in " << csv
              << ". Run the same command again to resume.\n";
    return EXIT_INTERRUPTED;
  }
  const auto& failed = runner.failures();
  std::cerr << "nicsim sweep: " << (in_shard - failed.size()) << " of " << in_shard << " points done ("
            << runner.ran() - failed.size() << " ran now";
  if (already > 0) std::cerr << ", " << already << " finished before";
  std::cerr << ")";
  if (!failed.empty()) std::cerr << ", " << failed.size() << " failed";
  std::cerr << "; results in " << csv << "\n";
  if (opts.report) {
    if (shard.n > 1)
      std::cerr
          << "nicsim sweep: no report for a shard; `nicsim merge OUT SHARD_DIR...` joins the shards and "
             "draws it\n";
    else if (!draw_report(opts.out))
      remove_leftovers(opts.out);  // what a failed report script left half-written
  }
  if (!failed.empty()) {
    std::cerr << "nicsim sweep: failed points (their output is in points/<id>.err; rerun the same command to "
                 "retry them):\n";
    for (const auto& f : failed)
      std::cerr << "  " << f.point.id << "  " << describe(f.point.values) << ": " << f.why << "\n";
    return EXIT_INTERNAL;
  }
  return EXIT_OK;
}

std::string sweep_help_footer() {
  std::string aliases;
  for (const auto& a : key_aliases()) aliases += std::string("  ") + a.alias + " = " + a.key + "\n";
  return "Grid values (--grid KEY=SPEC, repeatable; SPEC is a comma-separated list of values and ranges):\n"
         "  0,20,50      these values          1:10      1 to 10 in steps of 1\n"
         "  0:100:25     0,25,50,75,100        1:1000:log4   4 log-spaced values: 1,10,100,1000\n"
         "  64:1024:*2   64,128,...,1024       true,false    values of a non-numeric knob\n"
         "Ranges include both ends. Log-spaced values of integer knobs are rounded; duplicates are dropped.\n"
         "A scenario file may carry its grids: `sweep: {title: ..., grid: {rx-usecs: 0:100:25}}`;\n"
         "a --grid on the same key replaces the file's.\n"
         "Short names (also for --set):\n" +
         aliases +
         "Every point is a `nicsim run` child process. Points are validated before any runs.\n"
         "DIR gets sweep.json, points/<id>.json (full statistics), results.csv (one row per point),\n"
         "sweep.log, and report.html with plots/ (drawn by /usr/bin/python3 scripts/sweep_report.py).\n"
         "Rerunning the same command resumes: finished points are skipped, failed ones retried, and\n"
         "what a killed sweep left half-written is removed. One sweep at a time uses DIR (DIR/sweep.lock).\n"
         "Exit status: 0 all points done, 1 some points failed (the rest still ran) or DIR could not be\n"
         "written (a full disk), 2 bad input or DIR in use, 130 interrupted.";
}

}  // namespace nicsim::tb
