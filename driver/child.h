// Child processes, on Boost.Process. SystemC elaborates once per process, so a command that runs
// several simulations (lab check, validate) runs this same binary once per simulation, and the
// tests run the built binary. A command is an argv, run without a shell; its stdout and stderr go
// together to a log file or are captured. The heavy Boost headers stay in child.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace xpusim::child {

struct Command {
  std::vector<std::string> argv;  // argv[0]: a path, or a program name looked up on PATH
  std::string dir;                // the working folder; empty: this process's
  std::string log;  // stdout and stderr go to this file (created or truncated); empty: captured
};

// How a child ended.
struct Result {
  int code = 0;        // its exit status, when it exited
  int signal = 0;      // the signal that ended it, else 0
  std::string output;  // stdout and stderr, when the command had no log
  bool ok() const { return signal == 0 && code == 0; }
  // "exit status 3" or "killed by signal 9 (Killed)".
  std::string status() const;
};

// "failed (exit status 1):", the command line and what it printed (its log, or the captured
// output), for the message of an Error about a command that did not succeed.
std::string failure(const Command& command, const Result& result);

// Runs the command and waits for it. An Error when it cannot be started: program not found or
// not executable, no such working folder, a log that cannot be written.
Result run(const Command& command);

// Runs every command (each with a log), at most `jobs` at once, and returns their results in
// order. `done(i, result)` is called in this thread as command i ends, and `poll()` (when given)
// every few milliseconds while any runs, for instance to follow their logs. When a command cannot
// be started or a callback throws, no more are started, the running ones are killed and the
// exception is passed on.
std::vector<Result> run_all(const std::vector<Command>& commands, unsigned jobs,
                            const std::function<void(size_t, const Result&)>& done,
                            const std::function<void()>& poll = nullptr);

// The number of CPUs this process may use (at least 1): the default number of jobs.
unsigned cpu_count();

// This program's own path, for running itself.
std::string self_path();

// A fresh private folder for children's files, removed with everything in it when this goes out
// of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace xpusim::child
