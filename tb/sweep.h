#pragma once
// Parameter sweeps: the cartesian product of grids over scenario knobs, one
// `nicsim run` child process per point (SystemC elaborates once per process),
// results written point by point so that a killed sweep resumes where it
// stopped, shards for job arrays, a merge of shards, and the report.
//
// Directory layout of a sweep (--out DIR):
//   DIR/sweep.json          what the sweep is: base knobs and grids (its identity)
//   DIR/points/<id>.json    the full statistics of each finished point
//   DIR/points/<id>.err     the output of a point that failed
//   DIR/running/            points in progress (a point is finished once renamed into points/)
//   DIR/results.csv         one row per finished point, in point order
//   DIR/sweep.log           start/done/failed per point, appended
//   DIR/sweep.lock          flock(2)ed by the one sweep or merge using DIR; says who that is
//   DIR/report.html, DIR/plots/   drawn by scripts/sweep_report.py from results.csv
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tb/config.h"

namespace nicsim::tb {

// KEY=VALUE pairs in the order they apply.
using assignment = std::vector<std::pair<std::string, std::string>>;

// key_aliases, resolve_key, short_name: tb/config.h (one alias table for run --set and sweep --grid).

// Expands a grid spec for one knob into its values, each checked against the
// knob's type and range. A spec is a comma-separated list whose items are
// values or numeric ranges:
//   A:B       A to B in steps of 1        A:B:S     A to B in steps of S (inclusive)
//   A:B:logN  N log-spaced values A..B    A:B:*F    A, A*F, A*F^2, ... up to B
// Integer knobs round log-spaced values; duplicates are dropped, order kept.
std::vector<std::string> expand_grid_values(const config& scratch, const std::string& key,
                                            const std::string& spec, const std::string& origin);

struct grid_axis {
  std::string key;  // full dotted key
  std::string spec;
  std::vector<std::string> values;
  // The axis of --seeds K: sim.seed = S, S+1, ..., S+K-1 (S: the base seed). Always the last
  // axis, so a point's seeds are adjacent rows; its results.csv column is `seed`.
  bool seeds = false;
};

struct sweep_point {
  size_t index;    // position in the full grid (last grid varies fastest)
  std::string id;  // "p0007-1a2b3c4d": index and a hash of the assignment
  assignment values;
};

struct sweep_plan {
  std::string scenario;  // as given; informative only
  std::string title;
  assignment sets;                          // --set, keys resolved
  std::vector<grid_axis> grids;             // scenario's sweep.grid, then --grid, then --seeds
  nlohmann::ordered_json choose;            // the scenario's sweep.choose (null if none): for the report
  std::map<std::string, std::string> base;  // every knob after scenario and --set
  std::vector<std::string> child_sets;      // KEY=VALUE that rebuild `base` in a child
  size_t size() const;
  sweep_point point(size_t index) const;
  // What two sweeps must agree on to share points (base knobs and grids); empty when they do.
  std::string difference(const sweep_plan& other) const;
  nlohmann::ordered_json to_json() const;
};

// Reads the scenario (its optional `sweep:` section holds `grid:`, `title:` and `choose:`),
// applies --set and --grid (KEY=SPEC; aliases allowed), adds the --seeds axis (seeds > 0; a
// grid over sim.seed as well is refused), and validates every point's full configuration.
// Throws config_error naming the key, value or file.
sweep_plan make_sweep_plan(const std::string& scenario, const std::vector<std::string>& grid_args,
                           const std::vector<std::string>& set_args, unsigned seeds = 0);
// The plan stored in DIR/sweep.json (for merge).
sweep_plan load_sweep_plan(const std::string& sweep_json_path);

struct shard_spec {
  size_t k = 1, n = 1;  // 1-based: this shard runs the points with index % n == k - 1
  bool contains(size_t index) const { return index % n == k - 1; }
};
shard_spec parse_shard(const std::string& text);

std::string point_id(size_t index, size_t total, const assignment& values);

// results.csv: point, id, the grid keys, then result_columns() (from sim_time_ns on).
const std::vector<std::string>& result_columns();
std::vector<std::string> result_row(const nlohmann::json& point_json);
// Rebuilds results.csv text from DIR/points for every finished point of the plan.
std::string results_csv(const sweep_plan& plan, const std::string& dir);

struct sweep_options {
  std::string scenario;
  std::vector<std::string> grids, sets;
  unsigned jobs = 0;   // 0: one per core
  std::string shard;   // "K/N"
  unsigned seeds = 0;  // --seeds K: every point with K seeds (0: not given)
  std::string out;
  bool report = true;
  bool dry_run = false;
  // --slurm: write DIR/slurm/{sweep,merge}.sbatch (a job array of shards, then their merge) and
  // submit them with sbatch (with dry_run: only write them). tb/sweep/slurm.cpp.
  bool slurm = false;
  std::vector<std::string> slurm_opts;  // --slurm-opt: one #SBATCH line each
  int array_parallel = -1;              // --array-parallel M: %M on --array (-1: not given)
};

// Writes (and unless dry_run submits) the Slurm scripts of a sweep; called by sweep_command.
int slurm_command(const sweep_options& opts);

// The subcommands; each returns the process exit code (0, 1 internal/failed points or a
// directory that could not be written once points ran, 2 bad input or a directory in use).
int sweep_command(const sweep_options& opts);
int merge_command(const std::string& out, const std::vector<std::string>& shard_dirs, bool report);
int report_command(const std::string& dir);

// Text for `nicsim sweep --help`.
std::string sweep_help_footer();

}  // namespace nicsim::tb
