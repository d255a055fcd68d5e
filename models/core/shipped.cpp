#include "models/core/shipped.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace xpusim {

std::string shipped_dir(const std::string& what) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path() / XPUSIM_INSTALLED_SHARE_DIR / what;
    if (fs::is_directory(installed, ec)) return installed.lexically_normal().string();
  }
  const std::string source = what == "labs" ? "docs/labs" : what == "zoo" ? "workloads/zoo" : what;
  return (fs::path(XPUSIM_SOURCE_DIR) / source).string();
}

}  // namespace xpusim
