// Reference implementations of every op: plain loops, written for clarity, used to check
// the functional results of every model. int8 ops accumulate in int32 and requantise with
// numeric::requantize; bf16 ops compute in fp32 (double where it costs nothing) and round
// once at the output.
#pragma once

#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/reference/tensor.h"

namespace xpusim::compiler {

// Computes the output of node n from its input values (in the order of n.inputs).
// Throws Error naming the node when the dtype is not supported by the reference
// (for example softmax on int8).
Tensor reference_eval(const Graph& g, const Node& n, const std::vector<const Tensor*>& inputs);

// Values of every tensor of the graph: graph inputs and params are generated with
// random_tensor (seeded by seed and the tensor id), then every node is evaluated in order.
std::vector<Tensor> reference_run(const Graph& g, uint64_t seed);

// The generated values of graph inputs and params only (the same as reference_run's), for a
// model to load into its memories. Entries for node outputs are empty tensors.
std::vector<Tensor> initial_values(const Graph& g, uint64_t seed);

}  // namespace xpusim::compiler
