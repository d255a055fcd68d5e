// GraphIR: the workload as a graph of tensor operations with shapes and dtypes.
//
// Level 1 of the compiler (graph). Produced by the YAML frontend (frontend.h), checked by
// verify(), transformed by passes (compiler/passes), lowered per target (compiler/targets/X).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "models/core/dtype.h"
#include "models/core/error.h"

namespace xpusim::compiler {

// The element types (models/core/dtype.h), as the graph's.
using xpusim::DType;
using xpusim::dtype_name;
using xpusim::dtype_size;
using xpusim::parse_dtype;

// The op vocabulary every family supports (some targets lower only a part of it; an
// unsupported (op, target) pair is an error naming both).
enum class OpKind : uint8_t {
  gemm,       // [A (M,K), B (K,N) param(, bias (N) param)] -> (M,N) = A B (+ bias on each
              // row); an A of rank > 2 is read as (dim0, product of the rest), row-major (the
              // flatten before a classifier)
  matmul,     // [A (b,M,K), B (b,K,N)] -> (b,M,N); B is an activation or a param
  conv2d,     // [X (N,C,H,W), W (K,C/groups,R,S) param(, bias (K) param)] -> (N,K,OH,OW)
              // (+ bias[k] on output channel k). A bias is added to the accumulator before
              // the output's rounding and fused_relu; float dtypes only
  pool,       // [X (N,C,H,W)] -> (N,C,OH,OW); attrs.pool_max selects max or average
  add,        // [A, B] same shape -> same shape
  mul,        // [A, B] same shape -> same shape
  relu,       // [X] -> same shape
  gelu,       // [X] -> same shape (tanh approximation)
  silu,       // [X] -> same shape
  sigmoid,    // [X] -> same shape, 1 / (1 + exp(-x))
  softmax,    // [X] -> same shape, over the last axis
  layernorm,  // [X, gamma (D) param, beta (D) param] -> same shape, over the last axis D
  rmsnorm,    // [X, gamma (D) param] -> same shape, over the last axis D
  attention,  // [Q (b,h,sq,d), K (b,kvh,skv,d), V (b,kvh,skv,d)] -> (b,h,sq,d); h % kvh == 0.
              // Q, K, V may omit leading dims of 1: rank 3 is (h,s,d), rank 2 is (s,d)
              // (one head, as produced by a gemm); use attention_dims() to read the sizes.
  reshape,    // [X] -> attrs.shape (same element count): the same elements in row-major order
  transpose,  // [X] -> out.shape[k] = X.shape[attrs.perm[k]]: out[j] = X[i] with
              // i[perm[k]] = j[k] for every k
  clip,       // [X] -> same shape, min(max(x, attrs.clip_min), attrs.clip_max) (ReLU6: 0, 6)
  // ---- the ops of a Llama-style decoder ----
  concat,  // [X0, X1, ...] -> X0's shape with dim attrs.axis the sum of theirs (the others equal)
  slice,   // [X] -> elements attrs.start, start + step, ... below attrs.end of dim attrs.axis
  gather,  // [table (V,D) param, ids int32 (any shape)] -> (ids shape..., D): out[i] =
           // table[ids[i]] (an embedding lookup); the only op that reads an int32 tensor
  rope,    // [X (..., s, d), cos (s, d/2) param, sin (s, d/2) param] -> same shape: the
           // rotate-half rotary embedding, x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin over
           // the halves x1, x2 of each row; the tables hold position attrs.pos + i, theta
           // attrs.theta (rope_tables() computes them)
  kv_append,  // [cache (..., ctx, d) graph input, new (..., t, d)] -> (..., ctx + t, d): the
              // cache's rows, then the new ones; the output may take the cache's bytes (it is
              // the only reader of the cache), so that only the t new rows move
};

const char* op_name(OpKind k);
// Whether op k maps each element (or pair of elements, add and mul) on its own: any layout of
// its operands will do, the output's the same.
bool is_elementwise(OpKind k);
// Whether op k moves elements without changing them (reshape, transpose, concat, slice, gather,
// kv_append): exact for every dtype.
bool moves_elements(OpKind k);
// Parses an op name; throws Error at loc listing the known ops.
OpKind parse_op(const std::string& s, const SourceLoc& loc);

// Whether a workload may use dtype t for op k: bf16 and fp16 for every op; int8 for gemm,
// matmul, conv2d, pool, add, mul, relu, clip and the ops that move elements unchanged
// (moves_elements); fp32 for gemm, matmul, conv2d and those. int32 is the dtype of a gather's ids
// only (never an op's dtype).
bool op_supports_dtype(OpKind k, DType t);
// The dtypes an op takes, for messages: "bf16", "int8 or bf16", "int8, bf16 or fp32".
std::string op_dtypes(OpKind k);

// Attributes of every op kind in one struct; each op reads the fields that concern it.
struct OpAttrs {
  // conv2d / pool window
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t groups = 1;    // conv2d; groups == C is depthwise
  bool pool_max = true;  // pool: max (true) or average (false, padding excluded from the count)
  // layernorm / rmsnorm
  double eps = 1e-5;
  // attention
  bool causal = false;  // query i attends to keys j <= i + (skv - sq)
  double scale = 0.0;   // 0 means 1/sqrt(head_dim)
  // int8 outputs of gemm / matmul / conv2d: out = saturate(round(acc * multiplier / 2^shift)).
  // Chosen by the frontend from K when the workload does not give them.
  int32_t requant_multiplier = 1;
  int32_t requant_shift = 0;
  // A ReLU fused into gemm / matmul / conv2d by the fusion pass.
  bool fused_relu = false;
  // reshape: the output shape (the frontend has resolved a -1)
  std::vector<int64_t> shape;
  // transpose: output dim i is input dim perm[i]
  std::vector<int64_t> perm;
  // clip: the bounds (an infinite one is absent); int8 bounds are integers
  double clip_min = -std::numeric_limits<double>::infinity();
  double clip_max = std::numeric_limits<double>::infinity();
  // concat, slice: the dim (the frontend has resolved a negative one); slice: the elements
  // start, start + step, ... below end (resolved and clamped python-style, step >= 1)
  int64_t axis = 0;
  int64_t start = 0, end = 0, step = 1;
  // rope: theta of the frequencies theta^(-2j/d), and the position of the first row
  double theta = 10000.0;
  int64_t pos = 0;
};

// The most elements one tensor may hold; verify() refuses a larger one.
constexpr int64_t kMaxTensorElements = int64_t(1) << 40;
// The product of the dims in [b, e), or INT64_MAX when it does not fit in an int64_t (dims
// >= 0; a negative dim gives a product that is not the element count, which verify() refuses).
int64_t elements_of(std::vector<int64_t>::const_iterator b, std::vector<int64_t>::const_iterator e);

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::int8;
  bool is_param = false;  // weights and constants (initialised by the workload, not by a node)
  SourceLoc loc;
  // The values the workload gives (an ONNX initializer, a bound graph input): elements() *
  // dtype_size(dtype) bytes, row-major, little-endian. Empty: generated from the run's seed.
  std::vector<uint8_t> value;

  int64_t elements() const;
  int64_t bytes() const { return elements() * dtype_size(dtype); }
};

struct Node {
  std::string name;
  OpKind kind = OpKind::gemm;
  std::vector<int> inputs;   // tensor ids, in the order documented on OpKind
  std::vector<int> outputs;  // tensor ids (one output for every op kind today)
  OpAttrs attrs;
  SourceLoc loc;
};

struct Graph {
  std::string name;
  std::string file;                 // where it was loaded from
  std::vector<TensorInfo> tensors;  // indexed by tensor id
  std::vector<Node> nodes;          // in a topological order
  std::vector<int> inputs;          // graph inputs (activations fed from outside)
  std::vector<int> outputs;         // tensors no node consumes
  // The workload's params with the values this graph was built with, in declaration order;
  // `shown`: documented (a `doc`) or given a value, so reports name it.
  struct Param {
    std::string name, value;
    bool shown = false;
  };
  std::vector<Param> params;

  const TensorInfo& tensor(int id) const { return tensors.at(id); }
};

// Sizes of a gemm (batch = 1, A flattened to 2-D) or matmul node.
struct MatmulDims {
  int64_t batch = 1, m = 0, n = 0, k = 0;
};
MatmulDims matmul_dims(const Graph& g, const Node& n);

// Sizes of an attention node, with the leading dims its inputs omit taken as 1.
struct AttentionDims {
  int64_t batch = 1, heads = 1, kv_heads = 1, seq_q = 0, seq_kv = 0, head_dim = 0;
};
AttentionDims attention_dims(const Graph& g, const Node& n);

// The cos and sin tables of a rope node (s rows of d/2, row i at position attrs.pos + i,
// column j at frequency theta^(-2j/d)), in double: the values its params are generated with.
struct RopeTables {
  int64_t rows = 0, half = 0;
  std::vector<double> cos, sin;  // row-major rows x half
};
RopeTables rope_tables(int64_t rows, int64_t half, const OpAttrs& a);

// Whether perm holds each of 0..rank-1 once (a transpose's perm for an input of that rank).
bool valid_perm(const std::vector<int64_t>& perm, size_t rank);

// Checks node n against its op's rules (number, ranks, shapes and dtypes of the inputs,
// attributes) and returns the shape its output must have. Throws Error at n.loc naming the
// node and what was expected. Used by verify() and by whatever builds nodes (frontend,
// passes), so the rules live in one place.
std::vector<int64_t> infer_output_shape(const Graph& g, const Node& n);

// Multiply-accumulate count of one node (0 for ops without MACs). Same definition for every
// family, so reports compare like with like.
int64_t node_macs(const Graph& g, const Node& n);

// Checks the graph: ids in range, every tensor produced once, topological order, shapes and
// dtypes consistent with each op's rules (infers nothing). Throws Error at the node's loc.
void verify(const Graph& g);

// Prints the graph in the chained YAML workload form (readable and re-loadable).
std::string to_yaml(const Graph& g);

}  // namespace xpusim::compiler
