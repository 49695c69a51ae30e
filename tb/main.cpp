// nicsim: the command-line front end.
//   nicsim run [SCENARIO.yaml] [--set KEY=VALUE]... [--json FILE] [--quiet]
//   nicsim knobs        every scenario key with its default, range and meaning
//   nicsim costs        the built-in cost table with its sources
// Exit status: 0 success, 2 bad input, 1 internal failure (including a broken
// frame conservation check).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <systemc>

#include "host/cost_table.h"
#include "tb/report.h"
#include "tb/run.h"

namespace {

constexpr int EXIT_BAD_INPUT = 2;
constexpr int EXIT_INTERNAL = 1;

int cmd_run(const std::string& scenario, const std::vector<std::string>& sets, const std::string& json_path,
            bool quiet) {
  nicsim::tb::config cfg;
  try {
    cfg = nicsim::tb::load_config(scenario, sets);
  } catch (const nicsim::tb::config_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  }
  nlohmann::ordered_json results;
  try {
    results = nicsim::tb::run_simulation(cfg);
  } catch (const nicsim::tb::config_error& e) {
    std::cerr << "nicsim: " << e.what() << "\n";
    return EXIT_BAD_INPUT;
  } catch (const std::exception& e) {
    std::cerr << "nicsim: internal failure: " << e.what() << "\n";
    return EXIT_INTERNAL;
  }
  if (!json_path.empty()) {
    try {
      nicsim::tb::write_file_atomic(json_path, results.dump(2) + "\n");
    } catch (const std::exception& e) {
      std::cerr << "nicsim: " << e.what() << "\n";
      return EXIT_BAD_INPUT;
    }
  }
  if (!quiet) nicsim::tb::print_summary(std::cout, results);
  if (!results["conservation"]["ok"].get<bool>()) {
    std::cerr << "nicsim: frame conservation broken: " << results["conservation"].dump() << "\n";
    return EXIT_INTERNAL;
  }
  return 0;
}

int cmd_knobs() {
  nicsim::tb::config cfg;
  for (const auto& [key, k] : cfg.knobs()) {
    std::cout << key << " = " << k.value;
    if (!k.unit.empty()) std::cout << " " << k.unit;
    if (k.type == nicsim::tb::config::kind::choice) {
      std::string all;
      for (const auto& c : k.choices) all += (all.empty() ? "" : "|") + c;
      std::cout << "  (" << all << ")";
    } else {
      std::cout << "  [" << k.min << ", " << k.max << "]";
    }
    std::cout << "  " << k.help << "\n";
  }
  return 0;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  CLI::App app{"nicsim: a NIC and the Linux receive path on one SystemC time axis"};
  app.require_subcommand(1);

  std::string scenario, json_path;
  std::vector<std::string> sets;
  bool quiet = false;
  auto* run = app.add_subcommand("run", "run a scenario (the built-in default without a file)");
  run->add_option("scenario", scenario, "scenario YAML file")->check(CLI::ExistingFile);
  run->add_option("--set", sets, "KEY=VALUE, overrides the scenario (repeatable)");
  run->add_option("--json", json_path, "write the statistics as JSON to FILE");
  run->add_flag("--quiet", quiet, "no summary table");
  app.add_subcommand("knobs", "list every scenario key with its default and range");
  app.add_subcommand("costs", "print the built-in cost table (host/costs.yaml)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : EXIT_BAD_INPUT;
  }
  try {
    if (*run) return cmd_run(scenario, sets, json_path, quiet);
    if (app.got_subcommand("knobs")) return cmd_knobs();
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
