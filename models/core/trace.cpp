#include "models/core/trace.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/core/error.h"

namespace xpusim {

int TraceRecorder::track(const std::string& name, const std::string& process) {
  int pid = 1;
  if (!process.empty()) {
    const auto it = std::find(processes_.begin(), processes_.end(), process);
    pid = int(it - processes_.begin()) + 2;
    if (it == processes_.end()) processes_.push_back(process);
  }
  tracks_.push_back({name, pid});
  return int(tracks_.size()) - 1;
}

void TraceRecorder::slice(int track, const std::string& name, uint64_t start, uint64_t duration,
                          int layer) {
  if (enabled_) slices_.push_back({track, name, start, duration, layer});
}

void TraceRecorder::write(const std::string& path, double clock_mhz,
                          const std::string& process_name) const {
  nlohmann::json events = nlohmann::json::array();
  // The first process, for the tracks named without one (all of them, for most families).
  if (processes_.empty() ||
      std::any_of(tracks_.begin(), tracks_.end(), [](const Track& t) { return t.pid == 1; }))
    events.push_back(
        {{"ph", "M"}, {"pid", 1}, {"name", "process_name"}, {"args", {{"name", process_name}}}});
  for (size_t p = 0; p < processes_.size(); ++p) {
    events.push_back({{"ph", "M"},
                      {"pid", p + 2},
                      {"name", "process_name"},
                      {"args", {{"name", processes_[p]}}}});
    events.push_back({{"ph", "M"},
                      {"pid", p + 2},
                      {"name", "process_sort_index"},
                      {"args", {{"sort_index", p + 2}}}});
  }
  for (size_t t = 0; t < tracks_.size(); ++t) {
    events.push_back({{"ph", "M"},
                      {"pid", tracks_[t].pid},
                      {"tid", t},
                      {"name", "thread_name"},
                      {"args", {{"name", tracks_[t].name}}}});
    events.push_back({{"ph", "M"},
                      {"pid", tracks_[t].pid},
                      {"tid", t},
                      {"name", "thread_sort_index"},
                      {"args", {{"sort_index", t}}}});
  }
  for (const auto& s : slices_) {
    nlohmann::json e = {{"ph", "X"},
                        {"pid", tracks_[size_t(s.track)].pid},
                        {"tid", s.track},
                        {"name", s.name},
                        {"ts", double(s.start) / clock_mhz},
                        {"dur", double(s.duration) / clock_mhz}};
    e["args"] = {{"start_cycle", s.start}, {"cycles", s.duration}};
    if (s.layer >= 0) e["args"]["layer"] = s.layer;
    events.push_back(std::move(e));
  }
  std::ofstream out(path);
  if (!out) throw Error("cannot write trace file '" + path + "'");
  out << nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ns"}}.dump() << "\n";
}

}  // namespace xpusim
