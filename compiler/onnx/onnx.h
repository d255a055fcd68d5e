// ONNX frontend: reads a .onnx model into a Graph (docs/onnx.md). Its own library, so that the
// protobuf and ONNX headers stay inside compiler/onnx/onnx.cpp.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/reference/tensor.h"

namespace xpusim::compiler {

// Whether a workload path names an ONNX model (it ends in ".onnx").
bool is_onnx_path(const std::string& path);

struct OnnxOptions {
  // The dtype the model's float tensors (weights, inputs, every op) are computed in: bf16 (the
  // default: every op and every target takes it), fp16, or fp32 (gemm, matmul, conv2d, reshape
  // and transpose only).
  DType dtype = DType::bf16;
  // A folder of ONNX test data (input_N.pb, output_N.pb, TensorProto files): the values of the
  // graph inputs, in the order of the graph's inputs that are not initializers, and of the
  // graph outputs. Empty: inputs generated from the run's seed, nothing expected.
  std::string test_data;
  // Sizes of the graph inputs' named dims (dim_param: "batch", "seq_len", ...), by name
  // (`--param NAME=VALUE`); a named dim without one needs the test data's values.
  std::map<std::string, int64_t> dims;
};

struct OnnxModel {
  Graph graph;
  // Each graph output of the model, in order: its ONNX name and the tensor that holds it.
  std::vector<std::pair<std::string, int>> outputs;
  // The test data's output_N.pb values (fp32), one per output; empty without test data.
  std::vector<Tensor> expected;
};

// Reads, checks (onnx::checker::check_model) and shape-infers the model, then maps its nodes
// onto the op vocabulary (the table of docs/onnx.md). Throws Error naming the file: for a file
// that is not an ONNX model or fails the checker; one error listing every op type that has no
// mapping with its count; an error naming the node for anything else that cannot be mapped
// (an attribute value, a broadcast of an activation, a dtype).
OnnxModel import_onnx(const std::string& path, const OnnxOptions& opt);
// The same on a model file's contents; `path` names it in errors (and the graph, when the
// model's graph has no name).
OnnxModel import_onnx_bytes(const std::string& bytes, const std::string& path,
                            const OnnxOptions& opt);

// The tolerance an ONNX model's fp32 outputs are checked with when computed in dtype t
// (compare_within): a few units of t's precision, as every op rounds its output to t.
double onnx_tolerance(DType t);

}  // namespace xpusim::compiler
