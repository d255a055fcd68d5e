// Where the data shipped with xpusim is (the presets, the course labs, the report page): beside an
// installed binary (<prefix>/bin/xpusim finds <prefix>/share/xpusim/<what>), else in the source
// tree the binary was built from.
#pragma once

#include <string>

namespace xpusim {

// `what`: "configs" (source: configs/), "labs" (source: docs/labs/) or "report" (source: report/).
std::string shipped_dir(const std::string& what);

}  // namespace xpusim
