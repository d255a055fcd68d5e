// The --arg NAME=FILE|VALUE bindings of a kernel launched from a file (KernelLaunch::args),
// checked against the kernel's parameter names the same way for every family that runs kernels.
#pragma once

#include <string>
#include <vector>

namespace xpusim {

// Per parameter (in `params` order), the text bound to it. Throws Error for a binding that is
// not NAME=TEXT, a name that is no parameter, a parameter bound twice, and parameters left
// unbound (naming `where`, the kernel's definition). `listing` lists the parameters for the
// user (one "\n  name (type)" per parameter); `option` names a binding in messages ("--arg").
std::vector<std::string> bind_kernel_args(const std::vector<std::string>& args,
                                          const std::vector<std::string>& params,
                                          const std::string& kernel, const std::string& where,
                                          const std::string& listing, const std::string& option);

// The bytes of the file at path; false when it cannot be read.
bool read_file_bytes(const std::string& path, std::string& bytes);

}  // namespace xpusim
