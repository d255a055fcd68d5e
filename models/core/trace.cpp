#include "models/core/trace.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/core/error.h"

namespace xpusim {

int TraceRecorder::track(const std::string& name) {
  tracks_.push_back(name);
  return int(tracks_.size()) - 1;
}

void TraceRecorder::slice(int track, const std::string& name, uint64_t start, uint64_t duration,
                          int layer) {
  if (enabled_) slices_.push_back({track, name, start, duration, layer});
}

void TraceRecorder::write(const std::string& path, double clock_mhz,
                          const std::string& process_name) const {
  nlohmann::json events = nlohmann::json::array();
  events.push_back(
      {{"ph", "M"}, {"pid", 1}, {"name", "process_name"}, {"args", {{"name", process_name}}}});
  for (size_t t = 0; t < tracks_.size(); ++t) {
    events.push_back({{"ph", "M"},
                      {"pid", 1},
                      {"tid", t},
                      {"name", "thread_name"},
                      {"args", {{"name", tracks_[t]}}}});
    events.push_back({{"ph", "M"},
                      {"pid", 1},
                      {"tid", t},
                      {"name", "thread_sort_index"},
                      {"args", {{"sort_index", t}}}});
  }
  for (const auto& s : slices_) {
    nlohmann::json e = {{"ph", "X"},
                        {"pid", 1},
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
