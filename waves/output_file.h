#pragma once
// Output files that are never half-written and never replace what they must not.
//
// A path given for an output is resolved and checked before anything is created:
// - a symlink is followed to the file it names (also a dangling one);
// - a regular file, or a new name in an existing writable directory, is written
//   under a temporary name next to it and renamed into place only when the whole
//   command succeeded, so a failed run leaves the old file (or nothing);
// - a character device or a FIFO (/dev/null, a named pipe), and whatever a path
//   through a descriptor names (/dev/stdout, /dev/fd/N), is written in place and
//   never replaced;
// - anything else (a directory, a block device, a socket, a missing directory,
//   one we may not write) is bad input, named.
#include <sys/types.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace nicsim::waves {

// A path that cannot be an output: bad input; the message names the option and the path.
struct output_path_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct output_target {
  std::string option;   // what asked for it, for messages ("--json")
  std::string path;     // as given
  std::string target;   // absolute, symlinks followed: the file that ends up holding the output
  bool stream = false;  // a character device, a FIFO or a descriptor's file: written in place
  bool exists = false;
  dev_t dev = 0;  // of an existing target
  ino_t ino = 0;
  dev_t rdev = 0;   // of a device
  mode_t mode = 0;  // of an existing target: the finished file keeps it
};

// Resolves and checks path as described above; creates nothing. Throws output_path_error.
output_target resolve_output(const std::string& path, const std::string& option);

// Writes text to path (resolved as above): through a temporary next to the
// target and a rename, or straight into a device or FIFO. Throws
// output_path_error for a path that cannot be an output, std::runtime_error when
// writing fails (the temporary is removed then).
void write_output_file(const std::string& path, const std::string& text);

// vfprintf for the writers: adds what it wrote to bytes, or keeps the errno of the first
// failure in err (EIO when the C library gives none) so that the run can report it.
void checked_vfprintf(std::FILE* file, int& err, uint64_t& bytes, const char* format, va_list args);

// The outputs of one command, written together or not at all.
//   add() each path (checked, nothing created; two outputs on one file are bad input),
//   open() makes a private staging directory next to each target (mode 0700, named
//   .nicsim-staging-XXXXXX) for writers to create their files in,
//   commit() renames every staged file onto its target.
// Until commit(), discard() -- also run by the destructor -- removes everything
// staged; so does SIGINT, SIGTERM, SIGHUP or SIGPIPE (when not otherwise handled),
// before the signal ends the process as it would have. A SIGBUS (the FST library
// touching a file that a full disk left short) ends it with exit status 1.
class output_set {
 public:
  output_set();
  ~output_set();
  output_set(const output_set&) = delete;
  output_set& operator=(const output_set&) = delete;

  // Returns the output's index. Throws output_path_error.
  size_t add(const std::string& path, const std::string& option);
  const output_target& target(size_t i) const { return m_out.at(i).t; }
  size_t size() const { return m_out.size(); }

  // Creates the staging directories; throws output_path_error when it cannot.
  void open();
  // Where a writer puts output i: its staged name, or the device or FIFO itself.
  const std::string& write_path(size_t i) const { return m_out.at(i).write; }
  // Output i is written by a library under another staged name (a name it derives
  // from another output's staged name, in the same staging directory).
  void set_write_path(size_t i, const std::string& staged);
  // Writes the whole of output i (after open()); throws std::runtime_error naming it.
  void write_text(size_t i, const std::string& text);

  void commit();  // throws std::runtime_error when a rename fails (what is left is removed)
  void discard();

 private:
  struct entry {
    output_target t;
    std::string write;  // staged name (a file output) or the target (a stream)
  };
  std::vector<entry> m_out;
  std::vector<std::string> m_staging;  // directories made by open()
  bool m_open = false;
  struct signal_guard;
  std::unique_ptr<signal_guard> m_guard;
};

// Whether the FST file at path is complete: its blocks chain from the header to the
// end of the file, none is still being written, the hierarchy and geometry are there
// and the header's count of value-change blocks matches. The FST library does not
// report failed writes; this finds what they leave behind (a full disk).
bool fst_file_complete(const std::string& path, std::string* why = nullptr);

}  // namespace nicsim::waves
