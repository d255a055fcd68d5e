// Trace recorder: unit activity as a Chrome/Perfetto JSON timeline (open it in
// https://ui.perfetto.dev or chrome://tracing). One track (a thread row) per unit, grouped
// into processes (one per core where a family wants the vendor's view: a process per core, a
// thread per pipe); one slice per instruction with its name and arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xpusim {

class TraceRecorder {
 public:
  explicit TraceRecorder(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }

  // A track (one timeline row), returned as an id for slice(). `process` groups tracks: empty
  // puts the track in the first process, which write() names.
  int track(const std::string& name, const std::string& process = {});
  // An interval [start, start + duration) cycles on a track, for a layer (-1: none). Slices
  // on one track must not overlap.
  void slice(int track, const std::string& name, uint64_t start, uint64_t duration, int layer);
  // Writes the JSON; timestamps in microseconds at the given clock.
  void write(const std::string& path, double clock_mhz, const std::string& process_name) const;

 private:
  struct Slice {
    int track;
    std::string name;
    uint64_t start, duration;
    int layer;
  };
  bool enabled_;
  struct Track {
    std::string name;
    int pid;
  };
  std::vector<Track> tracks_;
  std::vector<std::string> processes_;  // pid 2, 3, ... (pid 1: the unnamed process)
  std::vector<Slice> slices_;
};

}  // namespace xpusim
