// nicsim: the command-line front end.
//   nicsim run [SCENARIO.yaml] [--set KEY=VALUE]... [--json FILE] [--costs FILE] [--quiet]
//              [--waves FILE.fst|.vcd [--waves-from US] [--waves-to US] [--waves-groups G,...]]
//              [--timeline FILE.json] [--pcap FILE [--fates FILE.csv]] [--frames FILE.csv[.gz]]
//              [--max-output-mb N]
//   nicsim sweep [SCENARIO.yaml] --grid KEY=SPEC... [--jobs N] [--shard K/N] [--seeds K] --out DIR
//   nicsim sweep ... --slurm [--slurm-opt=OPT...] [--array-parallel M] [--dry-run] --out DIR
//   nicsim merge OUT SHARD_DIR...   /   nicsim report DIR
//   nicsim calibrate [--out FILE] [--seconds S] [--cpu-ghz G]   measure this machine's cost table
//   nicsim knobs        every scenario key with its default, range and meaning
//   nicsim costs        the built-in cost table with its sources
// Exit status: 0 success, 2 bad input, 1 internal failure (including a broken
// frame conservation check).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <systemc>

#include "host/cost_table.h"
#include "tb/calibrate.h"
#include "tb/knobs.h"
#include "tb/report.h"
#include "tb/run.h"
#include "tb/sweep.h"
#include "tb/system_top.h"
#include "tb/trace_hub.h"
#include "tb/version.h"

namespace {

constexpr int EXIT_BAD_INPUT = 2;
constexpr int EXIT_INTERNAL = 1;
// Sweep points run at once; each is a process of its own.
constexpr unsigned MAX_JOBS = 1024;

// A wave window edge in us: a finite time no later than the longest run
// (sim.duration_us's maximum); 0 only for --waves-from.
CLI::Validator waves_time(bool zero_ok) {
  const double max = nicsim::tb::config().knobs().at("sim.duration_us").max;
  const std::string range =
      std::string(zero_ok ? "[0, " : "(0, ") + nicsim::tb::config::format_number(max) + "]";
  return CLI::Validator(
      [zero_ok, max, range](std::string& in) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(in.c_str(), &end);
        if (in.empty() || end == in.c_str() || *end != '\0' || !std::isfinite(v) || v < 0 ||
            (v == 0 && !zero_ok) || v > max)
          return "'" + in + "' is not a time in " + range + " us";
        return std::string();
      },
      "US in " + range);
}

// --waves-groups names: the first component of the signals' paths.
std::vector<std::string> split_groups(const std::string& list) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// cpuN (N without leading zeros) -> N; -1 for any other name.
long wave_group_cpu(const std::string& g) {
  if (g.size() < 4 || g.size() > 6 || g.compare(0, 3, "cpu") != 0 || (g[3] == '0' && g.size() > 4)) return -1;
  for (size_t i = 3; i < g.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(g[i]))) return -1;
  return std::stol(g.substr(3));
}

std::string wave_group_list(int64_t cpus) {
  return "wire, nic, host, " + std::string(cpus == 1   ? "cpu0"
                                           : cpus == 2 ? "cpu0, cpu1"
                                                       : "cpu0 ... cpu" + std::to_string(cpus - 1));
}

CLI::Validator waves_groups_check() {
  const double max_cpus = nicsim::tb::config().knobs().at("host.cpus").max;
  return CLI::Validator(
      [max_cpus](std::string& in) -> std::string {
        for (const auto& g : split_groups(in))
          if (g != "wire" && g != "nic" && g != "host" &&
              !(wave_group_cpu(g) >= 0 && wave_group_cpu(g) < max_cpus))
            return "'" + g + "' is not a signal group; the groups are " +
                   wave_group_list(static_cast<int64_t>(max_cpus));
        return std::string();
      },
      "GROUP,...");
}

// A cpuN group needs the host to have CPU N.
void check_wave_cpus(const std::vector<std::string>& groups, int64_t cpus) {
  for (const auto& g : groups)
    if (wave_group_cpu(g) >= cpus)
      throw nicsim::tb::config_error("--waves-groups " + g + ": the host has host.cpus = " +
                                     std::to_string(cpus) + "; the groups are " + wave_group_list(cpus));
}

int cmd_run(const std::string& scenario, const std::vector<std::string>& sets, const std::string& json_path,
            bool quiet, const nicsim::tb::trace_options& trace, const std::string& costs_path,
            const std::vector<std::string>& command_line) {
  nicsim::tb::config cfg;
  try {
    cfg = nicsim::tb::load_config(scenario, sets);
    check_wave_cpus(trace.waves_groups, cfg.integer("host.cpus"));
  } catch (const nicsim::tb::config_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  // Every output is checked before anything runs or is created; a run that fails
  // leaves none of them behind (outputs' destructor), one that succeeds all of them.
  std::unique_ptr<nicsim::tb::run_outputs> outputs;
  try {
    outputs = std::make_unique<nicsim::tb::run_outputs>(trace, json_path);
  } catch (const nicsim::tb::output_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  for (const auto& note : outputs->notes()) std::cerr << "nicsim: note: " << note << "\n";
  const std::string size_warning = nicsim::tb::output_size_warning(cfg, trace);
  if (!size_warning.empty()) std::cerr << "nicsim: warning: " << size_warning << "\n";
  const auto ignored = nicsim::tb::pcap_ignored_knobs(cfg);
  if (!ignored.empty()) {
    std::string list;
    for (const auto& k : ignored) list += (list.empty() ? "" : ", ") + k;
    std::cerr << "nicsim: warning: traffic.pcap replays " << cfg.text("traffic.pcap")
              << ", so the generator's knobs are ignored: " << list << "\n";
  }
  nlohmann::ordered_json results;
  try {
    results = nicsim::tb::run_simulation(cfg, trace, costs_path, outputs.get());
  } catch (const nicsim::tb::config_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  } catch (const nicsim::tb::output_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  } catch (const std::exception& e) {
    std::cerr << "nicsim: internal failure: " << e.what() << "\n";
    return EXIT_INTERNAL;
  }
  results["meta"] = nicsim::tb::run_meta(cfg, command_line, scenario, costs_path);
  try {
    outputs->write_json(results.dump(2) + "\n");
    outputs->commit();
  } catch (const std::exception& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_INTERNAL;
  }
  std::string stopped;
  if (results.contains("recording") && results["recording"]["stopped"].get<bool>()) {
    const auto& r = results["recording"];
    stopped = "recording stopped at " + std::to_string(r["stopped_at_ns"].get<uint64_t>() / 1000) +
              " us: the outputs reached --max-output-mb " +
              std::to_string(r["max_output_mb"].get<uint64_t>()) + " (the simulation ran to its end)";
    std::cerr << "nicsim: note: " << stopped << "\n";
  }
  if (!quiet) {
    nicsim::tb::print_summary(std::cout, results);
    if (!stopped.empty()) std::cout << "  " << stopped << "\n";
  }
  if (!results["conservation"]["ok"].get<bool>()) {
    std::cerr << "nicsim: frame conservation broken: " << results["conservation"].dump() << "\n";
    return EXIT_INTERNAL;
  }
  return 0;
}

int cmd_knobs(bool markdown) {
  nicsim::tb::config cfg;
  if (markdown) {
    std::cout << cfg.markdown_table();
    return 0;
  }
  // key = default  range unit  help: the unit follows the range, so "[1, 64] CPUs" and
  // "[0, 65535] × 256 ns" read as they should; ranges are exact integers where they are whole.
  for (const auto& [key, k] : cfg.knobs()) {
    std::cout << key << " = " << (k.value.empty() ? "\"\"" : k.value) << "  ";
    if (k.type == nicsim::tb::config::kind::choice) {
      std::string all;
      for (const auto& c : k.choices) all += (all.empty() ? "" : "|") + c;
      std::cout << "(" << all << ")";
    } else if (k.type == nicsim::tb::config::kind::hex) {
      std::cout << "(" << nicsim::tb::config::format_number(k.min) << " bytes, hex)";
    } else if (k.type == nicsim::tb::config::kind::path) {
      std::cout << "(a file)";
    } else if (k.type == nicsim::tb::config::kind::triple) {
      std::cout << "(min,default,max in " << nicsim::tb::config::range_text(k) << ")";
    } else {
      std::cout << nicsim::tb::config::range_text(k);
      if (!k.unit.empty()) std::cout << " " << k.unit;
    }
    std::cout << "  " << k.help << "\n";
  }
  std::cout << "\nDefaults each nic.model sets (a knob set in the scenario or with --set wins):\n"
            << nicsim::tb::model_defaults_markdown();
  return 0;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  CLI::App app{"nicsim: a NIC and the Linux receive path on one SystemC time axis"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string("nicsim ") + nicsim::tb::nicsim_version() + " (git " +
                           nicsim::tb::nicsim_git_revision() + ")",
                       "print nicsim's version and the git revision it was built from");

  std::string scenario, json_path;
  std::vector<std::string> sets;
  bool quiet = false;
  auto* run = app.add_subcommand("run", "run a scenario (the built-in default without a file)");
  run->add_option("scenario", scenario, "scenario YAML file")->check(CLI::ExistingFile);
  run->add_option("--set", sets, "KEY=VALUE, overrides the scenario (repeatable)");
  run->add_option("--json", json_path, "write the statistics as JSON to FILE");
  run->add_flag("--quiet", quiet, "no summary table");
  std::string costs_path;
  run->add_option("--costs", costs_path, "cost table replacing the built-in one (host/costs.yaml format)");
  nicsim::tb::trace_options trace;
  double waves_from_us = 0, waves_to_us = -1;
  std::string waves_groups;
  run->add_option("--waves", trace.waves, "write waves to FILE (.fst, or .vcd)");
  run->add_option("--waves-from", waves_from_us, "start the wave window at this time (us)")
      ->check(waves_time(true));
  run->add_option("--waves-to", waves_to_us, "end the wave window at this time (us)")
      ->check(waves_time(false));
  run->add_option("--waves-groups", waves_groups,
                  "only these signal groups, comma-separated (wire,nic,host,cpu0,cpu1,...)")
      ->check(waves_groups_check());
  run->add_option("--timeline", trace.timeline,
                  "write the software timeline (Chrome trace JSON, for Perfetto)");
  auto* pcap_opt =
      run->add_option("--pcap", trace.pcap, "write the frames on the wire as pcap (fates in FILE.fates.csv)");
  run->add_option("--fates", trace.fates,
                  "write each pcap packet's fate to this CSV instead of FILE.fates.csv")
      ->needs(pcap_opt);
  run->add_option("--frames", trace.frames,
                  "write one CSV row per wire frame (seq, flow, size, fate, each stage's time); "
                  "FILE.csv.gz is gzipped");
  uint64_t max_output_mb = 0;
  run->add_option("--max-output-mb", max_output_mb,
                  "stop recording waves, timeline and pcap once they take N MB (the run goes on)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000000}));
  auto* knobs = app.add_subcommand("knobs", "list every scenario key with its default and range");
  bool knobs_markdown = false;
  knobs->add_flag("--markdown", knobs_markdown, "print the README's knob table (Markdown)");
  app.add_subcommand("costs", "print the built-in cost table (host/costs.yaml)");
  nicsim::tb::calibrate_options calib;
  auto* calibrate = app.add_subcommand("calibrate", "measure this machine's kernel and write a cost table");
  calibrate->add_option("--out", calib.out, "write the cost table to FILE (default: YAML on stdout)");
  calibrate->add_option("--json", calib.json, "write the measurements as JSON to FILE");
  calibrate->add_option("--seconds", calib.seconds, "wall-time budget of all measurements")
      ->check(CLI::Range(0.2, 600.0));
  calibrate->add_option("--cpu-ghz", calib.cpu_ghz, "clock for ns -> cycles (default: /proc/cpuinfo)")
      ->check(CLI::Range(0.1, 10.0));
  nicsim::tb::sweep_options sweep_opts;
  bool no_report = false;
  auto* sweep = app.add_subcommand("sweep", "run the product of the --grid values, one process per point");
  sweep->add_option("scenario", sweep_opts.scenario, "scenario YAML file (its sweep: section holds grids)")
      ->check(CLI::ExistingFile);
  sweep->add_option("--grid", sweep_opts.grids, "KEY=V1,V2,... or A:B:STEP, A:B:logN, A:B:*F (repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--set", sweep_opts.sets, "KEY=VALUE for every point (repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--jobs,-j", sweep_opts.jobs, "points at a time (default: one per core)")
      ->check(CLI::Range(1u, MAX_JOBS));
  sweep->add_option("--shard", sweep_opts.shard, "K/N: run only the points with index % N == K-1");
  sweep
      ->add_option(
          "--seeds", sweep_opts.seeds,
          "run every point with K seeds: sim.seed S..S+K-1 (S: the scenario's seed); a `seed` column")
      ->check(CLI::Range(1u, 10000u));
  sweep->add_flag("--slurm", sweep_opts.slurm,
                  "write DIR/slurm/sweep.sbatch (a job array of shards) and merge.sbatch, and submit them");
  sweep
      ->add_option("--slurm-opt", sweep_opts.slurm_opts,
                   "an sbatch option for both jobs, e.g. --slurm-opt=--partition=p (repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--array-parallel", sweep_opts.array_parallel,
                    "M: at most M array tasks at once (#SBATCH --array=0-(N-1)%M)");
  sweep->add_option("--out,-o", sweep_opts.out, "directory of the results (resumes a sweep already there)");
  sweep->add_flag("--no-report", no_report, "skip report.html and the plots");
  sweep->add_flag("--dry-run", sweep_opts.dry_run,
                  "list the points and exit (with --slurm: write, not submit)");
  sweep->footer(nicsim::tb::sweep_help_footer());
  std::string merge_out;
  std::vector<std::string> merge_dirs;
  auto* merge = app.add_subcommand("merge", "join the results of sweep shards into one sweep directory");
  merge->add_option("out", merge_out, "directory of the merged sweep")->required();
  merge->add_option("shards", merge_dirs, "the shards' --out directories")->required();
  merge->add_flag("--no-report", no_report, "skip report.html and the plots");
  std::string report_dir;
  auto* report = app.add_subcommand("report", "draw DIR/report.html from DIR/results.csv again");
  report->add_option("dir", report_dir, "sweep directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : EXIT_BAD_INPUT;
  }
  try {
    if (*run) {
      trace.waves_from_ps = static_cast<uint64_t>(waves_from_us * 1e6);
      if (waves_to_us > 0) trace.waves_to_ps = static_cast<uint64_t>(waves_to_us * 1e6);
      if (!waves_groups.empty()) trace.waves_groups = split_groups(waves_groups);
      trace.max_output_bytes = max_output_mb * 1000000;
      trace.progress = !quiet && isatty(STDERR_FILENO) != 0;
      return cmd_run(scenario, sets, json_path, quiet, trace, costs_path,
                     std::vector<std::string>(argv, argv + argc));
    }
    sweep_opts.report = !no_report;
    if (*sweep) return nicsim::tb::sweep_command(sweep_opts);
    if (*merge) return nicsim::tb::merge_command(merge_out, merge_dirs, !no_report);
    if (*report) return nicsim::tb::report_command(report_dir);
    if (*calibrate) return nicsim::tb::calibrate_command(calib);
    if (app.got_subcommand("knobs")) return cmd_knobs(knobs_markdown);
    if (app.got_subcommand("costs")) {
      std::cout << nicsim::host::cost_table::default_yaml();
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "nicsim: internal failure: " << e.what() << "\n";
    return EXIT_INTERNAL;
  }
  return EXIT_INTERNAL;
}

// SystemC prints its banner before sc_main unless told not to; a CLI's output is its own.
int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
