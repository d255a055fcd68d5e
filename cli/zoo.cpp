// `xpusim zoo`: lists workloads/zoo/*.yaml (or the installed copy) by what each file says of
// itself (compiler::workload_info).
#include "cli/zoo.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "compiler/ir/frontend.h"
#include "models/core/shipped.h"

namespace xpusim::cli {

namespace fs = std::filesystem;

CLI::App* add_zoo_command(CLI::App& app) {
  return app.add_subcommand(
      "zoo",
      "list the model zoo: real networks, run by name (--workload resnet-50) with their params "
      "(--param batch=8)");
}

int run_zoo_command() {
  const fs::path dir = shipped_dir("zoo");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const compiler::WorkloadInfo w = compiler::workload_info(f.string());
    std::cout << fmt::format("{}\n  {}\n", f.stem().string(), w.description);
    for (const auto& p : w.params)
      std::cout << fmt::format("  --param {}={}{}\n", p.name, p.default_value,
                               p.doc.empty() ? "" : "  (" + p.doc + ")");
    if (!w.source.empty()) std::cout << fmt::format("  source: {}\n", w.source);
  }
  std::cout << fmt::format(
      "{} models in {}; run one: xpusim run --arch tpu_v4 --workload NAME "
      "[--param NAME=VALUE ...]\n",
      files.size(), dir.string());
  return 0;
}

}  // namespace xpusim::cli
