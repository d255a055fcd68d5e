// `xpusim ptx-check`: the command line of isa/ptx/module.h's check_module.
#include "cli/ptx_check.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "isa/ptx/module.h"

namespace xpusim::cli {
namespace {

std::string path;

}  // namespace

CLI::App* add_ptx_check_command(CLI::App& app) {
  CLI::App* c = app.add_subcommand(
      "ptx-check",
      "parse and decode a PTX file (nvcc -ptx); list every instruction or directive xpusim "
      "does not support");
  c->add_option("file", path, "PTX file")->required();
  return c;
}

int run_ptx_check_command() {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const isa::ptx::Module m = isa::ptx::check_module(ss.str(), path);
  for (const isa::ptx::Unsupported& u : m.unsupported) {
    std::cout << isa::ptx::describe(u) << "\n";
  }
  size_t kernels = 0;
  for (const isa::ptx::Kernel& k : m.kernels) kernels += k.is_entry;
  std::cout << fmt::format("{} kernel{}, {} instructions, {} unsupported\n", kernels,
                           kernels == 1 ? "" : "s", m.instruction_count(), m.unsupported.size());
  return m.unsupported.empty() ? 0 : 1;
}

}  // namespace xpusim::cli
