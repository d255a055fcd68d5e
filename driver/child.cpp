#include "driver/child.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/start_dir.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "models/core/error.h"

// Boost.Process launches with the headers above alone: its search_path() would need the
// Boost.Filesystem library, but an argv whose argv[0] is not a path is looked up on PATH by the
// launcher itself, as execvp does.
namespace bp = boost::process;
namespace fs = std::filesystem;

namespace xpusim::child {
namespace {

// A log file, truncated, opened close-on-exec: only the child it is given to writes into it, and
// no child started later holds it open.
using File = std::unique_ptr<FILE, int (*)(FILE*)>;
File open_log(const Command& c) {
  FILE* f = std::fopen(c.log.c_str(), "we");
  if (!f)
    throw Error(fmt::format("cannot run '{}': cannot write its log '{}' ({})", c.argv.at(0), c.log,
                            std::strerror(errno)));
  return File(f, std::fclose);
}

// Starts the command with its stdout and stderr going to `out` (a FILE* or a pipe).
template <class Out>
bp::child start(const Command& c, Out&& out) {
  if (c.argv.empty()) throw std::logic_error("child::start: an empty command");
  const std::string& program = c.argv[0];
  std::error_code ec;
  if (!c.dir.empty() && !fs::is_directory(c.dir, ec))
    throw Error(fmt::format("cannot run '{}': no folder '{}' to run it in", program, c.dir));
  bp::child child(bp::args = c.argv, bp::start_dir = c.dir.empty() ? "." : c.dir,
                  (bp::std_out & bp::std_err) > out, ec);
  if (ec == std::errc::no_such_file_or_directory)
    throw Error(fmt::format("cannot run '{}': program not found{}", program,
                            program.find('/') == std::string::npos ? " on PATH" : ""));
  if (ec) throw Error(fmt::format("cannot run '{}': {}", program, ec.message()));
  return child;
}

// The result of a child that has ended.
Result ended(const bp::child& child) {
  const int status = child.native_exit_code();
  Result r;
  if (WIFSIGNALED(status))
    r.signal = WTERMSIG(status);
  else
    r.code = WEXITSTATUS(status);
  return r;
}

Result wait(bp::child& child, const Command& c) {
  std::error_code ec;
  child.wait(ec);
  if (ec) throw Error(fmt::format("waiting for '{}': {}", c.argv[0], ec.message()));
  return ended(child);
}

}  // namespace

std::string Result::status() const {
  return signal ? fmt::format("killed by signal {} ({})", signal, strsignal(signal))
                : fmt::format("exit status {}", code);
}

std::string failure(const Command& command, const Result& result) {
  std::string printed = result.output;
  if (!command.log.empty()) {
    std::stringstream log;
    log << std::ifstream(command.log).rdbuf();
    printed = log.str();
  }
  printed.erase(printed.find_last_not_of('\n') + 1);
  return fmt::format("failed ({}):\n  {}\n{}", result.status(), fmt::join(command.argv, " "),
                     printed);
}

Result run(const Command& command) {
  if (!command.log.empty()) {
    bp::child child = start(command, open_log(command).get());
    return wait(child, command);
  }
  bp::ipstream out;
  bp::child child = start(command, out);
  std::string text{std::istreambuf_iterator<char>(out), {}};
  Result r = wait(child, command);
  r.output = std::move(text);
  return r;
}

std::vector<Result> run_all(const std::vector<Command>& commands, unsigned jobs,
                            const std::function<void(size_t, const Result&)>& done,
                            const std::function<void()>& poll) {
  struct Running {
    size_t index;
    bp::child child;
  };
  // When this throws, destroying `running` kills the children still running (bp::child's
  // destructor).
  std::vector<Running> running;
  std::vector<Result> results(commands.size());
  size_t next = 0;
  while (next < commands.size() || !running.empty()) {
    while (next < commands.size() && running.size() < std::max(jobs, 1u)) {
      const Command& c = commands[next];
      if (c.log.empty()) throw std::logic_error("child::run_all: a command without a log");
      running.push_back({next++, start(c, open_log(c).get())});
    }
    // Boost.Process 1.74 waits for one given child only (or through Boost.Asio): poll them. A
    // few milliseconds are nothing next to a simulation.
    bool ended_one = false;
    for (auto r = running.begin(); r != running.end();) {
      std::error_code ec;
      if (r->child.running(ec)) {
        ++r;
        continue;
      }
      if (ec)
        throw Error(fmt::format("waiting for '{}': {}", commands[r->index].argv[0], ec.message()));
      const size_t i = r->index;
      results[i] = ended(r->child);
      r = running.erase(r);
      ended_one = true;
      done(i, results[i]);
    }
    if (poll) poll();
    if (!ended_one) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return results;
}

unsigned cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return unsigned(std::max(CPU_COUNT(&set), 1));
  return std::max(std::thread::hardware_concurrency(), 1u);
}

std::string self_path() {
  return fs::read_symlink("/proc/self/exe").string();
}

TempDir::TempDir() {
  std::string t = (fs::temp_directory_path() / "xpusim-XXXXXX").string();
  if (!mkdtemp(t.data()))
    throw Error("cannot create a temporary folder: " + std::string(std::strerror(errno)));
  path_ = t;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace xpusim::child
