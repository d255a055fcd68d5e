// Workload parameters (docs/workloads.md, "Parameters and repeats"): the `$` forms a workload's
// scalars may hold, and the `--param NAME=VALUE` options that set them.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace xpusim::compiler {

// Values given for a workload's params, by name.
using WorkloadParams = std::map<std::string, std::string>;

// Parses `NAME=VALUE` options (`--param`); Error naming the option when one is malformed or a
// name is given twice.
WorkloadParams parse_param_options(const std::vector<std::string>& options);

// The names a `$` may refer to (params, then the variables of the repeats around), with their
// values.
using Scope = std::map<std::string, std::string>;

// A letter or '_', then letters, digits and '_'.
bool is_identifier(const std::string& s);

// `text` with every `$name` replaced by the name's value, every `$(expression)` by the
// expression's integer value and every `$$` by `$`. An expression has integers, names whose
// values are integers, + - * / % (a division must be exact), unary minus and parentheses,
// evaluated in 64-bit integers. Throws Error (without a place: the caller adds it) on an
// unknown name, a malformed expression, a division that is not exact or by zero, an overflow.
std::string substitute(const std::string& text, const Scope& scope);

}  // namespace xpusim::compiler
