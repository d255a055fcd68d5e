#include "models/core/kernel_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>

#include "models/core/error.h"

namespace xpusim {

std::vector<std::string> bind_kernel_args(const std::vector<std::string>& args,
                                          const std::vector<std::string>& params,
                                          const std::string& kernel, const std::string& where,
                                          const std::string& listing, const std::string& option) {
  std::map<std::string, std::string> given;
  for (const std::string& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format("{} '{}': expected NAME=FILE or NAME=VALUE; kernel {} takes:{}",
                              option, a, kernel, listing));
    const std::string name = a.substr(0, eq);
    if (std::find(params.begin(), params.end(), name) == params.end())
      throw Error(fmt::format("{} {}: kernel {} has no parameter '{}'; it takes:{}", option, a,
                              kernel, name, listing));
    if (!given.emplace(name, a.substr(eq + 1)).second)
      throw Error(fmt::format("{} {}: parameter '{}' of kernel {} is bound twice", option, a, name,
                              kernel));
  }
  std::string missing;
  std::vector<std::string> bound;
  for (const std::string& p : params) {
    const auto it = given.find(p);
    if (it == given.end()) missing += (missing.empty() ? "" : ", ") + p;
    bound.push_back(it == given.end() ? "" : it->second);
  }
  if (!missing.empty())
    throw Error(fmt::format("{}: kernel {}: no {} for {}; every parameter needs one:{}", where,
                            kernel, option, missing, listing));
  return bound;
}

bool read_file_bytes(const std::string& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace xpusim
