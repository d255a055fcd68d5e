// Names from user files (a configuration's or workload's `name:`, a layer's name) become file
// and folder names only through here, so that no name can point outside the folder it is
// meant for.
#pragma once

#include <string>

#include "models/core/error.h"

namespace xpusim {

constexpr size_t kMaxFileNameBytes = 100;

// Returns name unchanged when it is a safe single path component: not empty, not "." or
// "..", no '/' or '\\', no control characters, at most kMaxFileNameBytes bytes. Otherwise
// throws Error at `where` saying what `what` (e.g. "configuration name") may not contain.
const std::string& safe_file_name(const std::string& name, const std::string& what,
                                  const SourceLoc& where = {});

}  // namespace xpusim
