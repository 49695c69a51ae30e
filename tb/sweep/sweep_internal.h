#pragma once
// Internals of the sweep (tb/sweep/*.cpp), shared between its files; not part of tb/sweep.h.
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tb/sweep.h"

namespace nicsim::tb::sweep_internal {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr int EXIT_OK = 0;
constexpr int EXIT_INTERNAL = 1;
constexpr int EXIT_BAD_INPUT = 2;
constexpr int EXIT_INTERRUPTED = 130;
// A range this long is almost surely a typo (1:1e9:1), and a grid this large
// would run for days; both are refused before anything runs.
constexpr size_t MAX_VALUES_PER_GRID = 10000;
constexpr size_t MAX_POINTS = 100000;
// The report script exits with this when matplotlib is missing.
constexpr int REPORT_NO_MATPLOTLIB = 3;

const char* const SWEEP_FORMAT = "nicsim-sweep-1";

// The sweep directory cannot be written (a full disk, a read-only file system)
// once points have started: the sweep stops, keeps what finished, exits with 1.
struct sweep_io_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One sweep, merge into, or report of a directory at a time: an exclusive
// flock(2) on DIR/sweep.lock. The descriptor is inherited by the points (it is
// not close-on-exec), so the lock is held until the sweep and every point it
// started have exited. The kernel drops it when they die, even by kill -9; a
// lock never outlives its holders. The file itself says who holds it.
class dir_lock {
 public:
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() { release(); }

  // Takes the lock; throws config_error naming the holder when another process has it.
  void acquire(const fs::path& dir, const std::string& what);
  void release();

 private:
  // True when the holder line names a process of this host that no longer exists.
  static bool holder_gone(const std::string& holder);

  int m_fd = -1;
};

// tb/sweep/grid.cpp
std::string trim(const std::string& s);
std::vector<std::string> split(const std::string& s, char sep);
bool parse_double(const std::string& text, double& v);
std::string format_derived(double v);
std::string describe(const assignment& values);
[[noreturn]] void bad_input(const std::string& message);
config point_config(const sweep_plan& plan, const sweep_point& p);

// tb/sweep/sweep_dir.cpp
bool read_text(const fs::path& path, std::string& text);
json load_point_json(const fs::path& path, const sweep_plan& plan, const sweep_point& p, bool* mismatch);
std::string errno_text(int err);
void write_whole_file(const fs::path& path, const std::string& text);
int append_whole(const fs::path& path, const std::string& text);
fs::path points_dir(const std::string& dir);
fs::path running_dir(const std::string& dir);
void remove_leftovers(const fs::path& dir);
void open_sweep_dir(const sweep_plan& plan, const std::string& dir, dir_lock& lock, const std::string& what);
void append_log(const std::string& dir, const std::string& line);

// tb/sweep/runner.cpp
int run_and_wait(const std::vector<std::string>& args);

// tb/sweep/results.cpp
std::string csv_text(const sweep_plan& plan, const std::map<size_t, std::vector<std::string>>& rows);
std::vector<std::string> csv_row(const sweep_point& p, const json& j);
bool draw_report(const std::string& dir);

}  // namespace nicsim::tb::sweep_internal
