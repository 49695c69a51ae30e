// `nicsim sweep --slurm`: a sweep as a Slurm job array of shards and a merge job after it.
//
// DIR/slurm/sweep.sbatch  array task k (0-based) runs this sweep's own arguments with
//                         --shard k+1/N --out DIR/shards/k, and records its exit status in
//                         DIR/slurm/status/k
// DIR/slurm/merge.sbatch  once every task has ended: nicsim merge DIR DIR/shards/* (and the
//                         report), naming the shards that failed or never finished and how to
//                         resubmit one
// DIR/slurm/logs/         the jobs' output (sweep-<array job>_<task>.out, merge-<job>.out)
//
// N: each task runs --jobs J points at once (default 1) and gets --cpus-per-task=J, so
// N = ceil(points / J), at most MAX_ARRAY_TASKS (Slurm's default MaxArraySize is 1001); with
// fewer tasks than that needs, each task runs its points J at a time until its shard is done.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tb/sweep.h"
#include "tb/sweep/sweep_internal.h"

namespace nicsim::tb {

using namespace sweep_internal;

namespace {

constexpr size_t MAX_ARRAY_TASKS = 1000;

// A word for bash, single-quoted: safe for any text.
std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// #SBATCH lines are parsed by sbatch, not bash: a path there must be plain, and '%' is a
// filename pattern (%A, %a, %j) in --output.
void check_sbatch_path(const std::string& path) {
  for (const char c : path)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '\\' || c == '%' ||
        static_cast<unsigned char>(c) < 0x20)
      bad_input("--slurm: the path " + path +
                " holds a space, a quote, a backslash or '%', which sbatch's #SBATCH lines cannot carry; "
                "choose an --out directory without them");
}

std::string self_exe() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) bad_input("--slurm: cannot find the nicsim binary (/proc/self/exe: " + ec.message() + ")");
  return p.string();
}

// The program on PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "", ':')) {
    if (dir.empty()) continue;
    const auto candidate = (fs::path(dir) / name).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs argv, returns its exit status (-1: could not start) and its stdout in `out`; stderr
// goes to ours.
int run_capture(const std::vector<std::string>& args, std::string& out) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string sbatch_header(const std::string& job_name, const std::vector<std::string>& opts) {
  std::string s = "#SBATCH --job-name=" + job_name + "\n";
  for (const auto& o : opts) s += "#SBATCH " + o + "\n";
  return s;
}

// The arguments that rebuild this sweep in an array task (paths made absolute), without
// --shard and --out, which the task adds.
std::vector<std::string> sweep_args(const sweep_options& opts, unsigned jobs) {
  std::vector<std::string> a;
  if (!opts.scenario.empty()) a.push_back(fs::absolute(opts.scenario).lexically_normal().string());
  for (const auto& g : opts.grids) a.insert(a.end(), {"--grid", g});
  for (const auto& s : opts.sets) a.insert(a.end(), {"--set", s});
  if (opts.seeds > 0) a.insert(a.end(), {"--seeds", std::to_string(opts.seeds)});
  a.insert(a.end(), {"--jobs", std::to_string(jobs)});
  return a;
}

}  // namespace

int slurm_command(const sweep_options& opts) {
  std::string dir, exe, sbatch;
  sweep_plan plan;
  size_t tasks = 0;
  unsigned jobs = opts.jobs > 0 ? opts.jobs : 1;
  dir_lock lock;  // held while the scripts are written
  try {
    if (!opts.shard.empty())
      bad_input("--slurm and --shard: --slurm makes the shards itself (one per array task); drop --shard");
    if (opts.array_parallel == 0 || opts.array_parallel < -1)
      bad_input("--array-parallel " + std::to_string(opts.array_parallel) +
                ": give the number of array tasks that may run at once, 1 or more");
    if (opts.out.empty()) bad_input("--slurm needs --out DIR (the merged sweep; shards go to DIR/shards)");
    for (const auto& o : opts.slurm_opts)
      if (o.empty() || o[0] != '-' || o.find('\n') != std::string::npos)
        bad_input("--slurm-opt '" + o + "': expected one sbatch option, e.g. --slurm-opt=--partition=p");
    plan = make_sweep_plan(opts.scenario, opts.grids, opts.sets, opts.seeds);
    dir = fs::absolute(opts.out).lexically_normal().string();
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    check_sbatch_path(dir);
    exe = self_exe();
    if (!opts.dry_run) {
      sbatch = find_on_path("sbatch");
      if (sbatch.empty())
        bad_input(
            "--slurm: sbatch is not on PATH (is this a Slurm login node?); --dry-run writes the "
            "scripts without submitting them");
    }
    tasks = std::min(MAX_ARRAY_TASKS, (plan.size() + jobs - 1) / jobs);
    open_sweep_dir(plan, dir, lock, "nicsim sweep --slurm");
  } catch (const config_error& e) {
    std::cerr << "nicsim sweep: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  const fs::path slurm_dir = fs::path(dir) / "slurm";
  const std::string sweep_script = (slurm_dir / "sweep.sbatch").string();
  const std::string merge_script = (slurm_dir / "merge.sbatch").string();
  const std::string n = std::to_string(tasks);
  std::string cwd;
  {
    std::error_code ec;
    cwd = fs::current_path(ec).string();
  }
  std::string array = "0-" + std::to_string(tasks - 1);
  if (opts.array_parallel > 0) array += "%" + std::to_string(opts.array_parallel);

  std::string task_cmd = sh_quote(exe) + " sweep";
  for (const auto& a : sweep_args(opts, jobs)) task_cmd += " " + sh_quote(a);
  task_cmd += " --no-report --shard \"$((k + 1))/" + n + "\" --out \"$dir/shards/$k\"";

  std::ostringstream sweep;
  sweep << "#!/bin/bash\n"
        << "# Written by nicsim sweep --slurm: " << plan.size() << " points in " << n
        << " array tasks; task k runs shard k+1/" << n << " into " << dir << "/shards/k.\n"
        << "# Resubmit one task: sbatch --array=K " << sweep_script
        << " (it resumes: finished points are kept).\n"
        << "# Then merge again: sbatch " << merge_script << "\n"
        << sbatch_header("nicsim-sweep", opts.slurm_opts) << "#SBATCH --array=" << array << "\n"
        << "#SBATCH --cpus-per-task=" << jobs << "\n"
        << "#SBATCH --output=" << dir << "/slurm/logs/sweep-%A_%a.out\n"
        << "#SBATCH --error=" << dir << "/slurm/logs/sweep-%A_%a.out\n"
        << "set -u\n"
        << "dir=" << sh_quote(dir) << "\n"
        << "k=${SLURM_ARRAY_TASK_ID:?not an array task: submit with sbatch " << sweep_script << "}\n"
        << "if [ \"$k\" -ge " << n << " ]; then echo \"task $k: this sweep has " << n << " tasks (0-"
        << tasks - 1 << ")\" >&2; exit 2; fi\n"
        << "mkdir -p \"$dir/slurm/status\" && rm -f \"$dir/slurm/status/$k\"\n"
        << "# The directory the sweep was written from (a relative --set path resolves there).\n"
        << "cd " << sh_quote(cwd) << " || exit 1\n"
        << task_cmd << "\n"
        << "status=$?\n"
        << "echo \"$status\" > \"$dir/slurm/status/$k\"\n"
        << "exit \"$status\"\n";

  std::ostringstream merge;
  merge
      << "#!/bin/bash\n"
      << "# Written by nicsim sweep --slurm: merges the " << n << " shards in " << dir << "/shards into "
      << dir << " and draws the report,\n"
      << "# after every array task has ended (submitted with --dependency=afterany:<array job>).\n"
      << sbatch_header("nicsim-merge", opts.slurm_opts) << "#SBATCH --output=" << dir
      << "/slurm/logs/merge-%j.out\n"
      << "#SBATCH --error=" << dir << "/slurm/logs/merge-%j.out\n"
      << "set -u\n"
      << "dir=" << sh_quote(dir) << "\n"
      << "n=" << n << "\n"
      << "shards=()\n"
      << "bad=()\n"
      << "for ((k = 0; k < n; k++)); do\n"
      << "  [ -f \"$dir/shards/$k/sweep.json\" ] && shards+=(\"$dir/shards/$k\")\n"
      << "  status=$(cat \"$dir/slurm/status/$k\" 2>/dev/null || true)\n"
      << "  if [ \"$status\" = 0 ]; then continue; fi\n"
      << "  bad+=(\"$k\")\n"
      << "  if [ -z \"$status\" ]; then\n"
      << "    echo \"nicsim merge job: shard $k did not finish (cancelled, timed out, its node failed, or it "
         "never ran); its log: $dir/slurm/logs/sweep-*_$k.out\" >&2\n"
      << "  else\n"
      << "    echo \"nicsim merge job: shard $k exited with $status (failed points are in "
         "$dir/shards/$k/points/*.err); its log: $dir/slurm/logs/sweep-*_$k.out\" >&2\n"
      << "  fi\n"
      << "done\n"
      << "status=1\n"
      << "if [ ${#shards[@]} -gt 0 ]; then\n"
      << "  " << sh_quote(exe) << " merge \"$dir\" \"${shards[@]}\"\n"
      << "  status=$?\n"
      << "else\n"
      << "  echo \"nicsim merge job: no shard has started; nothing to merge\" >&2\n"
      << "fi\n"
      << "if [ ${#bad[@]} -gt 0 ]; then\n"
      << "  echo \"nicsim merge job: ${#bad[@]} of $n shards incomplete: ${bad[*]}. Resubmit each (it "
         "resumes, "
         "keeping its finished points):\" >&2\n"
      << "  for k in \"${bad[@]}\"; do echo \"  sbatch --array=$k $dir/slurm/sweep.sbatch\" >&2; done\n"
      << "  echo \"then merge again: sbatch $dir/slurm/merge.sbatch\" >&2\n"
      << "  exit 1\n"
      << "fi\n"
      << "exit \"$status\"\n";

  try {
    std::error_code ec;
    fs::create_directories(slurm_dir / "logs", ec);
    if (ec) throw sweep_io_error((slurm_dir / "logs").string() + ": cannot create: " + ec.message());
    fs::create_directories(fs::path(dir) / "shards", ec);
    if (ec) throw sweep_io_error(dir + "/shards: cannot create: " + ec.message());
    write_whole_file(sweep_script, sweep.str());
    write_whole_file(merge_script, merge.str());
    for (const auto& p : {sweep_script, merge_script})
      fs::permissions(p, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ec);
  } catch (const sweep_io_error& e) {
    std::cerr << "nicsim sweep: " << e.what() << "\n";
    return EXIT_INTERNAL;
  }
  std::error_code ec;
  fs::remove(running_dir(dir), ec);  // runs no points here
  append_log(dir, "slurm: " + n + " array tasks written to " + sweep_script);
  std::cerr << "nicsim sweep: " << plan.size() << " points in " << n << " array tasks of " << jobs
            << " job(s) each (N = ceil(points / jobs)); scripts in " << slurm_dir.string() << "\n";
  if (opts.dry_run) {
    std::cout << sweep_script << "\n" << merge_script << "\n";
    std::cerr << "nicsim sweep: --dry-run: nothing submitted. To submit:\n"
              << "  id=$(sbatch --parsable " << sweep_script << ")\n"
              << "  sbatch --dependency=afterany:${id%%;*} " << merge_script << "\n";
    return EXIT_OK;
  }
  std::string out;
  int status = run_capture({sbatch, "--parsable", sweep_script}, out);
  const std::string array_id = trim(split(split(out, '\n').front(), ';').front());
  if (status != 0 || array_id.empty()) {
    std::cerr << "nicsim sweep: sbatch " << sweep_script << " failed (exit " << status
              << "); the scripts are written: fix the cause and submit them as --dry-run prints\n";
    return EXIT_INTERNAL;
  }
  out.clear();
  status = run_capture({sbatch, "--parsable", "--dependency=afterany:" + array_id, merge_script}, out);
  const std::string merge_id = trim(split(split(out, '\n').front(), ';').front());
  if (status != 0 || merge_id.empty()) {
    std::cerr << "nicsim sweep: array job " << array_id << " submitted, but sbatch " << merge_script
              << " failed (exit " << status
              << "); submit it yourself: sbatch --dependency=afterany:" << array_id << " " << merge_script
              << "\n";
    return EXIT_INTERNAL;
  }
  append_log(dir, "slurm: submitted array job " + array_id + ", merge job " + merge_id);
  std::cout << "array job " << array_id << " (" << n << " tasks)\nmerge job " << merge_id << "\n";
  std::cerr << "nicsim sweep: submitted; logs in " << (slurm_dir / "logs").string() << ", results in " << dir
            << "/results.csv once merge job " << merge_id << " ends\n";
  return EXIT_OK;
}

}  // namespace nicsim::tb
