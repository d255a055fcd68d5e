// Where the data shipped with xpusim is (the presets, the course labs, the report page, the model
// zoo): beside an installed binary (<prefix>/bin/xpusim finds <prefix>/share/xpusim/<what>), else
// in the source tree the binary was built from.
#pragma once

#include <string>

namespace xpusim {

// `what`: "configs" (source: configs/), "labs" (source: docs/labs/), "report" (source: report/)
// or "zoo" (source: workloads/zoo/).
std::string shipped_dir(const std::string& what);

}  // namespace xpusim
