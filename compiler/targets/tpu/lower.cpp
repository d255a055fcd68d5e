// The TPU family's compiler target: lowering a graph to the TPU ISA with tiling under the
// buffer capacities the preset gives, double buffering (ping-pong regions in the unified
// buffer and the accumulators) and instruction selection.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compiler/reference/tensor.h"
#include "compiler/target.h"
#include "isa/tpu/program.h"
#include "isa/tpu/semantics.h"
#include "models/tpu/params.h"

namespace xpusim::compiler {
namespace {

using isa::tpu::Dtype;
using isa::tpu::Instr;
using isa::tpu::Opcode;
using isa::tpu::VecFunc;
using tpu::Dataflow;
using tpu::TpuParams;

constexpr uint64_t kAlign = 64;

// A GEMM C (M x N) = A (M x K) * B (K x N) with its operands' places in DRAM.
struct GemmSpec {
  int64_t M = 0, N = 0, K = 0;
  Dtype dt = Dtype::int8;
  bool a_conv = false;           // A is the im2col view of an NHWC image at a_addr
  isa::tpu::ConvGeom geom{};     // when a_conv
  uint64_t a_addr = 0, lda = 0;  // lda: bytes between rows of A
  uint64_t b_addr = 0, ldb = 0;  // ldb: bytes between rows of B as stored
  bool b_trans = false;          // B stored as N x K
  uint64_t c_addr = 0, ldc = 0;
  bool c_fp32 = false;  // store the accumulators unrounded (fp32) instead of dt
  int32_t mult = 1, shift = 0;
  bool relu = false;
};

class Lowerer {
 public:
  Lowerer(const Graph& g, const TpuParams& c, const std::string& target)
      : g_(g), c_(c), target_(target) {
    const uint64_t ub = c.ub_bytes;
    // UB: [A0 | A1 | O0 | O1 | params], the params region for norm weights.
    params_bytes_ = 0;
    for (const auto& n : g.nodes)
      if (n.kind == OpKind::layernorm || n.kind == OpKind::rmsnorm)
        params_bytes_ =
            std::max<uint64_t>(params_bytes_, 2 * uint64_t(g.tensor(n.inputs[0]).shape.back()) * 2);
    if (params_bytes_ * 2 > ub) params_bytes_ = 0;  // reported when a norm is lowered
    quarter_ = ((ub - params_bytes_) / 4) / kAlign * kAlign;
    // Accumulators: two regions per array, so an array fills one while the activation
    // pipeline drains the other.
    acc_part_ = c.acc_bytes / (2 * uint64_t(c.count)) / kAlign * kAlign;
  }

  Lowered run() {
    place_.assign(g_.tensors.size(), Placement{});
    choose_layouts();
    for (size_t t = 0; t < g_.tensors.size(); ++t)
      place_[t].addr = alloc(uint64_t(g_.tensors[t].bytes()), g_.tensors[t].loc);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      layer_ = int(i);
      lower(g_.nodes[i]);
    }
    Instr halt;
    halt.op = Opcode::halt;
    code_.push_back(halt);
    Lowered out;
    out.program = std::make_unique<isa::tpu::Program>(std::move(code_));
    out.tensors = std::move(place_);
    return out;
  }

 private:
  [[noreturn]] void unsupported(const Node& n, const std::string& why) const {
    throw Error(n.loc, fmt::format("op '{}' (node '{}') cannot be lowered to target '{}': {}",
                                   op_name(n.kind), n.name, target_, why));
  }

  uint64_t alloc(uint64_t bytes, const SourceLoc& loc) {
    uint64_t a = dram_top_;
    dram_top_ = (dram_top_ + bytes + kAlign - 1) / kAlign * kAlign;
    if (dram_top_ > c_.dram_bytes)
      throw Error(loc,
                  fmt::format("the workload needs more than the {} bytes of DRAM of target '{}'",
                              c_.dram_bytes, target_));
    return a;
  }

  void emit(Instr in) {
    in.layer = layer_;
    code_.push_back(in);
  }

  Dtype dtype_of(const Node& n, DType t) const {
    if (t == DType::int8) return Dtype::int8;
    if (t == DType::bf16) return Dtype::bf16;
    unsupported(n, fmt::format("dtype {} is not a TPU operand type", dtype_name(t)));
  }

  void need_array_dtype(const Node& n, Dtype d) const {
    if (d == Dtype::int8 ? !c_.int8 : !c_.bf16)
      unsupported(n,
                  fmt::format("the arrays do not multiply {}", d == Dtype::int8 ? "int8" : "bf16"));
  }

  // The layout step: 4-D tensors around conv2d/pool are NHWC (channels innermost, so an
  // im2col row is a run of whole pixels); elementwise ops pass the layout through.
  void choose_layouts() {
    std::vector<bool> nhwc(g_.tensors.size(), false);
    for (const auto& n : g_.nodes)
      if (n.kind == OpKind::conv2d || n.kind == OpKind::pool)
        nhwc[n.inputs[0]] = nhwc[n.outputs[0]] = true;
    auto elementwise = [](OpKind k) {
      return k == OpKind::add || k == OpKind::mul || k == OpKind::relu || k == OpKind::gelu ||
             k == OpKind::silu;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& n : g_.nodes) {
        if (!elementwise(n.kind)) continue;
        bool any = nhwc[n.outputs[0]];
        for (int t : n.inputs) any = any || nhwc[t];
        if (!any) continue;
        for (int t : n.inputs) changed |= !nhwc[t], nhwc[t] = true;
        changed |= !nhwc[n.outputs[0]];
        nhwc[n.outputs[0]] = true;
      }
    }
    for (const auto& n : g_.nodes) {
      if (n.kind == OpKind::conv2d) {
        Layout& l = place_[size_t(n.inputs[1])].layout;
        l.kind = Layout::conv_weight;
        l.groups = n.attrs.groups;
      } else if (n.kind == OpKind::gemm && nhwc[n.inputs[0]]) {
        const auto& s = g_.tensor(n.inputs[0]).shape;
        place_[size_t(n.inputs[1])].layout = {Layout::gemm_b_nhwc, 1, s[1], s[2], s[3]};
      } else if (!elementwise(n.kind) && n.kind != OpKind::conv2d && n.kind != OpKind::pool &&
                 n.kind != OpKind::gemm) {
        for (int t : n.inputs)
          if (nhwc[t])
            unsupported(n, fmt::format("tensor '{}' is an image in NHWC layout (it meets a conv2d "
                                       "or pool) and this op needs it row-major",
                                       g_.tensor(t).name));
      }
    }
    for (size_t t = 0; t < nhwc.size(); ++t)
      if (nhwc[t]) place_[t].layout.kind = Layout::nhwc;
  }

  void lower(const Node& n) {
    switch (n.kind) {
      case OpKind::gemm:
        return lower_gemm(n);
      case OpKind::matmul:
        return lower_matmul(n);
      case OpKind::conv2d:
        return lower_conv(n);
      case OpKind::pool:
        return lower_pool(n);
      case OpKind::attention:
        return lower_attention(n);
      case OpKind::add:
        return lower_vector(n, VecFunc::add);
      case OpKind::mul:
        return lower_vector(n, VecFunc::mul);
      case OpKind::relu:
        return lower_vector(n, VecFunc::relu);
      case OpKind::gelu:
        return lower_vector(n, VecFunc::gelu);
      case OpKind::silu:
        return lower_vector(n, VecFunc::silu);
      case OpKind::softmax:
        return lower_vector(n, VecFunc::softmax);
      case OpKind::layernorm:
        return lower_vector(n, VecFunc::layernorm);
      case OpKind::rmsnorm:
        return lower_vector(n, VecFunc::rmsnorm);
    }
  }

  // ---- GEMM: tiles chosen from the dataflow and the buffer capacities ----
  void gemm(const Node& n, const GemmSpec& s) {
    need_array_dtype(n, s.dt);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t R = uint64_t(c_.rows), C = uint64_t(c_.cols);
    const uint64_t M = uint64_t(s.M), N = uint64_t(s.N), K = uint64_t(s.K);
    const uint64_t fifo = c_.fifo_tile_bytes;
    const uint64_t eo = s.c_fp32 ? 4 : e;  // output element bytes
    uint64_t Mt = 0, Nt = 0, Kt = 0;
    auto lim = [](uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; };
    switch (c_.dataflow) {
      case Dataflow::ws:  // K over rows, N over columns, M streamed
        Kt = std::min(K, R);
        Nt = std::min({N, C, lim(fifo, Kt * e)});
        Mt = std::min({M, lim(acc_part_, Nt * 4), lim(quarter_, Kt * e), lim(quarter_, Nt * eo)});
        break;
      case Dataflow::os:  // M over rows, N over columns, K streamed
        Mt = std::min(M, R);
        Nt = std::min(N, C);
        Kt = std::min({K, lim(fifo, Nt * e), lim(quarter_, Mt * e)});
        if (Mt * Nt * 4 > acc_part_ || Mt * Nt * eo > quarter_) Mt = 0;
        break;
      case Dataflow::is:  // K over rows, M over columns, N streamed
        Kt = std::min(K, R);
        Mt = std::min(M, C);
        Nt = std::min({N, lim(fifo, Kt * e), lim(acc_part_, Mt * 4), lim(quarter_, Mt * eo)});
        if (Mt * Kt * e > quarter_) Mt = 0;
        break;
    }
    if (!Mt || !Nt || !Kt)
      unsupported(n, fmt::format("no {}x{}x{} GEMM tile fits the buffers (unified buffer quarter "
                                 "{} B, accumulator region {} B, weight tile {} B)",
                                 M, N, K, quarter_, acc_part_, fifo));
    // Accumulator regions form a ring (at least two per array, so an array fills one while
    // the activation pipeline drains another; up to four per array when tiles are small, so
    // a short stream does not wait for the drain of the tile before last).
    const uint64_t acc_bytes = Mt * Nt * 4 / kAlign * kAlign + (Mt * Nt * 4 % kAlign ? kAlign : 0);
    const uint64_t acc_slots = std::min<uint64_t>(4 * uint64_t(c_.count), c_.acc_bytes / acc_bytes);
    // Keep a whole row block of A (Mt x K) in the UB across the N tiles when it fits.
    const bool reuse = Mt * K * e <= quarter_;
    uint64_t tile = 0, a_load = 0;
    for (uint64_t m0 = 0, mi = 0; m0 < M; m0 += Mt, ++mi) {
      const uint64_t mt = std::min(Mt, M - m0);
      const uint64_t block = (mi % 2) * quarter_;
      auto a_tile_addr = [&](uint64_t k0) { return block + mt * k0 * e; };
      if (reuse)
        for (uint64_t k0 = 0; k0 < K; k0 += Kt)
          load_a(s, a_tile_addr(k0), m0, mt, k0, std::min(Kt, K - k0));
      for (uint64_t n0 = 0; n0 < N; n0 += Nt, ++tile) {
        const uint64_t nt = std::min(Nt, N - n0);
        const uint32_t acc = uint32_t((tile % acc_slots) * acc_bytes);
        const uint8_t mxu = uint8_t(tile % uint64_t(c_.count));
        for (uint64_t k0 = 0; k0 < K; k0 += Kt) {
          const uint64_t kt = std::min(Kt, K - k0);
          uint64_t a_addr = a_tile_addr(k0);
          if (!reuse) {
            a_addr = (a_load++ % 2) * quarter_;
            load_a(s, a_addr, m0, mt, k0, kt);
          }
          Instr w;
          w.op = Opcode::rdweight;
          w.func = mxu;
          w.dtype = s.dt;
          w.rows = uint32_t(kt);
          w.cols = uint32_t(nt);
          w.stride = uint32_t(s.ldb);
          if (s.b_trans) {
            w.flags = 1;
            w.dram = s.b_addr + n0 * s.ldb + k0 * e;
          } else {
            w.dram = s.b_addr + k0 * s.ldb + n0 * e;
          }
          emit(w);
          Instr mm;
          mm.op = Opcode::matmul;
          mm.func = mxu;
          mm.dtype = s.dt;
          mm.ub = uint32_t(a_addr);
          mm.src = acc;
          mm.rows = uint32_t(mt);
          mm.k = uint32_t(kt);
          mm.cols = uint32_t(nt);
          mm.flags = uint8_t(k0 == 0 ? isa::tpu::AccMode::set : isa::tpu::AccMode::acc);
          emit(mm);
        }
        const uint32_t o = uint32_t(2 * quarter_ + (tile % 2) * quarter_);
        Instr a;
        a.op = Opcode::activate;
        a.dtype = s.c_fp32 ? Dtype::fp32 : s.dt;
        a.src = acc;
        a.ub = o;
        a.rows = uint32_t(mt);
        a.cols = uint32_t(nt);
        a.func = uint8_t(s.relu ? isa::tpu::ActFunc::relu : isa::tpu::ActFunc::none);
        a.imm = s.mult;
        a.shift = s.shift;
        emit(a);
        emit_wrhost(s.c_addr + m0 * s.ldc + n0 * eo, o, mt, nt * eo, s.ldc);
      }
    }
  }

  void load_a(const GemmSpec& s, uint64_t ub, uint64_t m0, uint64_t mt, uint64_t k0, uint64_t kt) {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    if (!s.a_conv) return emit_rdhost(s.a_addr + m0 * s.lda + k0 * e, ub, mt, kt * e, s.lda);
    Instr in;
    in.op = Opcode::rdconv;
    in.dtype = s.dt;
    in.dram = s.a_addr;
    in.ub = uint32_t(ub);
    in.rows = uint32_t(mt);
    in.src = uint32_t(m0);
    in.k = uint32_t(k0);
    in.cols = uint32_t(kt);
    isa::tpu::set_conv_geom(in, s.geom);
    emit(in);
  }

  // rdhost or wrhost: rows of `bytes` between DRAM (row stride `stride`) and the UB
  // (contiguous).
  void emit_copy(Opcode op, uint64_t dram, uint64_t ub, uint64_t rows, uint64_t bytes,
                 uint64_t stride) {
    Instr in;
    in.op = op;
    in.dram = dram;
    in.ub = uint32_t(ub);
    in.rows = uint32_t(rows);
    in.cols = uint32_t(bytes);
    in.stride = uint32_t(stride);
    emit(in);
  }
  void emit_rdhost(uint64_t dram, uint64_t ub, uint64_t rows, uint64_t bytes, uint64_t stride) {
    emit_copy(Opcode::rdhost, dram, ub, rows, bytes, stride);
  }
  void emit_wrhost(uint64_t dram, uint64_t ub, uint64_t rows, uint64_t bytes, uint64_t stride) {
    emit_copy(Opcode::wrhost, dram, ub, rows, bytes, stride);
  }

  uint64_t addr(int t) const { return place_[size_t(t)].addr; }

  void lower_gemm(const Node& n) {
    const auto& a = g_.tensor(n.inputs[0]);
    const auto& b = g_.tensor(n.inputs[1]);
    GemmSpec s;
    s.dt = dtype_of(n, a.dtype);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    s.K = b.shape[0];
    s.N = b.shape[1];
    s.M = a.elements() / s.K;
    s.a_addr = addr(n.inputs[0]);
    s.lda = uint64_t(s.K) * e;
    s.b_addr = addr(n.inputs[1]);
    s.ldb = uint64_t(s.N) * e;
    s.c_addr = addr(n.outputs[0]);
    s.ldc = uint64_t(s.N) * e;
    set_out(n, s);
    gemm(n, s);
  }

  void set_out(const Node& n, GemmSpec& s) const {
    s.mult = n.attrs.requant_multiplier;
    s.shift = n.attrs.requant_shift;
    s.relu = n.attrs.fused_relu;
  }

  void lower_matmul(const Node& n) {
    const auto& a = g_.tensor(n.inputs[0]);
    const auto& b = g_.tensor(n.inputs[1]);
    const int64_t batch = a.shape[0];
    GemmSpec s;
    s.dt = dtype_of(n, a.dtype);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    s.M = a.shape[1];
    s.K = a.shape[2];
    s.N = b.shape[2];
    s.lda = uint64_t(s.K) * e;
    s.ldb = s.ldc = uint64_t(s.N) * e;
    set_out(n, s);
    for (int64_t i = 0; i < batch; ++i) {
      s.a_addr = addr(n.inputs[0]) + uint64_t(i * s.M * s.K) * e;
      s.b_addr = addr(n.inputs[1]) + uint64_t(i * s.K * s.N) * e;
      s.c_addr = addr(n.outputs[0]) + uint64_t(i * s.M * s.N) * e;
      gemm(n, s);
    }
  }

  void lower_conv(const Node& n) {
    const auto& x = g_.tensor(n.inputs[0]).shape;   // N, C, H, W
    const auto& w = g_.tensor(n.inputs[1]).shape;   // K, C/g, R, S
    const auto& y = g_.tensor(n.outputs[0]).shape;  // N, K, OH, OW
    const OpAttrs& at = n.attrs;
    if (at.kernel_h > 255 || w[2] > 255 || w[3] > 255 || at.stride_h > 255 || at.stride_w > 255 ||
        at.pad_h > 255 || at.pad_w > 255 || x[2] > 65535 || x[3] > 65535)
      unsupported(n, "window, stride or padding above 255, or an image side above 65535");
    GemmSpec s;
    s.dt = dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const int64_t groups = at.groups, cg = x[1] / groups, kg = w[0] / groups;
    s.a_conv = true;
    s.geom = {uint32_t(x[1]),     uint32_t(cg),      uint32_t(x[2]),        uint32_t(x[3]),
              uint32_t(w[2]),     uint32_t(w[3]),    uint32_t(at.stride_h), uint32_t(at.stride_w),
              uint32_t(at.pad_h), uint32_t(at.pad_w)};
    s.M = y[2] * y[3];
    s.K = cg * w[2] * w[3];
    s.N = kg;
    s.ldb = uint64_t(kg) * e;
    s.ldc = uint64_t(w[0]) * e;
    set_out(n, s);
    for (int64_t img = 0; img < x[0]; ++img)
      for (int64_t grp = 0; grp < groups; ++grp) {
        s.a_addr = addr(n.inputs[0]) + uint64_t((img * x[2] * x[3] * x[1]) + grp * cg) * e;
        s.b_addr = addr(n.inputs[1]) + uint64_t(grp * s.K * kg) * e;
        s.c_addr = addr(n.outputs[0]) + uint64_t(img * y[2] * y[3] * w[0] + grp * kg) * e;
        gemm(n, s);
      }
  }

  void need_vpu(const Node& n) const {
    if (!c_.vpu) unsupported(n, "the target has no vector unit (vpu.enabled: false)");
  }

  void lower_pool(const Node& n) {
    need_vpu(n);
    const auto& x = g_.tensor(n.inputs[0]).shape;
    const auto& y = g_.tensor(n.outputs[0]).shape;
    const OpAttrs& at = n.attrs;
    if (!at.pool_max && (at.pad_h || at.pad_w))
      unsupported(n, "average pooling with padding (the divisor varies per pixel)");
    const Dtype dt = dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(dt));
    const uint64_t win = uint64_t(at.kernel_h * at.kernel_w), C = uint64_t(x[1]);
    const uint64_t pixels = uint64_t(y[2] * y[3]);
    const uint64_t pt = std::min(pixels, quarter_ / (win * C * e));
    if (!pt) unsupported(n, "one pixel's window does not fit a quarter of the unified buffer");
    isa::tpu::ConvGeom geom{uint32_t(C),           uint32_t(C),           uint32_t(x[2]),
                            uint32_t(x[3]),        uint32_t(at.kernel_h), uint32_t(at.kernel_w),
                            uint32_t(at.stride_h), uint32_t(at.stride_w), uint32_t(at.pad_h),
                            uint32_t(at.pad_w)};
    uint64_t t = 0;
    for (int64_t img = 0; img < x[0]; ++img)
      for (uint64_t p0 = 0; p0 < pixels; p0 += pt, ++t) {
        const uint64_t rows = std::min(pt, pixels - p0);
        const uint64_t a = (t % 2) * quarter_, o = 2 * quarter_ + (t % 2) * quarter_;
        Instr in;
        in.op = Opcode::rdconv;
        in.dtype = dt;
        in.dram = addr(n.inputs[0]) + uint64_t(img * x[1] * x[2] * x[3]) * e;
        in.ub = uint32_t(a);
        in.rows = uint32_t(rows);
        in.src = uint32_t(p0);
        in.k = 0;
        in.cols = uint32_t(win * C);
        in.flags = at.pool_max ? 1 : 0;
        isa::tpu::set_conv_geom(in, geom);
        emit(in);
        Instr v;
        v.op = Opcode::vector;
        v.func = uint8_t(at.pool_max ? VecFunc::rowmax : VecFunc::rowavg);
        v.dtype = dt;
        v.src = uint32_t(a);
        v.ub = uint32_t(o);
        v.rows = uint32_t(rows);
        v.cols = uint32_t(C);
        v.k = uint32_t(win);
        emit(v);
        emit_wrhost(addr(n.outputs[0]) + (uint64_t(img) * pixels + p0) * C * e, o, 1, rows * C * e,
                    rows * C * e);
      }
  }

  // Row-wise and elementwise ops on the vector unit, a tile of rows at a time.
  void lower_vector(const Node& n, VecFunc f) {
    need_vpu(n);
    const auto& x = g_.tensor(n.inputs[0]);
    const Dtype dt = dtype_of(n, x.dtype);
    const bool int8_ok = f == VecFunc::add || f == VecFunc::relu;
    if (dt == Dtype::int8 && !int8_ok)
      unsupported(n, "the vector unit computes this function on bf16 only");
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(dt));
    const bool two = f == VecFunc::add || f == VecFunc::mul;
    const bool norm = f == VecFunc::layernorm || f == VecFunc::rmsnorm;
    const uint64_t cols = uint64_t(x.shape.back());
    uint64_t rows = uint64_t(x.elements()) / cols;
    uint64_t width = cols;
    if (f != VecFunc::softmax && !norm) {  // elementwise: any row shape will do
      width = std::min<uint64_t>(uint64_t(x.elements()), 4096);
      while (uint64_t(x.elements()) % width) --width;
      rows = uint64_t(x.elements()) / width;
    }
    const uint64_t row_bytes = width * e;
    const uint64_t rt = std::min(rows, quarter_ / (two ? 2 * row_bytes : row_bytes));
    if (!rt) unsupported(n, "one row does not fit the unified buffer");
    const uint64_t params = 4 * quarter_;
    if (norm) {
      if (!params_bytes_) unsupported(n, "the norm weights do not fit the unified buffer");
      emit_rdhost(addr(n.inputs[1]), params, 1, row_bytes, row_bytes);
      if (f == VecFunc::layernorm)
        emit_rdhost(addr(n.inputs[2]), params + row_bytes, 1, row_bytes, row_bytes);
    }
    float imm = 0;
    if (norm) imm = float(n.attrs.eps);
    if (f == VecFunc::softmax) imm = 1.0f;
    for (uint64_t r0 = 0, t = 0; r0 < rows; r0 += rt, ++t) {
      const uint64_t r = std::min(rt, rows - r0);
      const uint64_t a = (t % 2) * quarter_, o = 2 * quarter_ + (t % 2) * quarter_;
      emit_rdhost(addr(n.inputs[0]) + r0 * row_bytes, a, 1, r * row_bytes, r * row_bytes);
      if (two)
        emit_rdhost(addr(n.inputs[1]) + r0 * row_bytes, a + r * row_bytes, 1, r * row_bytes,
                    r * row_bytes);
      Instr v;
      v.op = Opcode::vector;
      v.func = uint8_t(f);
      v.dtype = dt;
      v.src = uint32_t(a);
      v.src2 = uint32_t(two ? a + r * row_bytes : norm ? params : 0);
      v.ub = uint32_t(o);
      v.rows = uint32_t(r);
      v.cols = uint32_t(width);
      std::memcpy(&v.imm, &imm, 4);
      emit(v);
      emit_wrhost(addr(n.outputs[0]) + r0 * row_bytes, o, 1, r * row_bytes, r * row_bytes);
    }
  }

  // Attention per (batch, head): S = Q K^T on the array, kept in fp32; softmax (scale, causal
  // mask) on the vector unit, rounding P to bf16; O = P V on the array. S and P pass through
  // DRAM (no on-chip fusion).
  void lower_attention(const Node& n) {
    need_vpu(n);
    const AttentionDims ad = attention_dims(g_, n);
    const Dtype dt = dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    if (dt != Dtype::bf16) unsupported(n, "attention runs on bf16 only");
    const uint64_t e = 2, B = uint64_t(ad.batch), H = uint64_t(ad.heads), SQ = uint64_t(ad.seq_q),
                   D = uint64_t(ad.head_dim), KVH = uint64_t(ad.kv_heads),
                   SKV = uint64_t(ad.seq_kv);
    const double scale = n.attrs.scale > 0 ? n.attrs.scale : 1.0 / std::sqrt(double(D));
    const uint64_t s_buf = alloc(SQ * SKV * 4, n.loc), p_buf = alloc(SQ * SKV * e, n.loc);
    for (uint64_t b = 0; b < B; ++b)
      for (uint64_t h = 0; h < H; ++h) {
        const uint64_t kvh = h / (H / KVH);
        GemmSpec s;
        s.dt = dt;
        s.M = int64_t(SQ), s.N = int64_t(SKV), s.K = int64_t(D);
        s.a_addr = addr(n.inputs[0]) + ((b * H + h) * SQ * D) * e;
        s.lda = D * e;
        s.b_addr = addr(n.inputs[1]) + ((b * KVH + kvh) * SKV * D) * e;
        s.ldb = D * e;
        s.b_trans = true;
        s.c_addr = s_buf;
        s.c_fp32 = true;
        s.ldc = SKV * 4;
        gemm(n, s);
        softmax_rows(s_buf, p_buf, SQ, SKV, float(scale), n.attrs.causal, SKV - SQ);
        GemmSpec o;
        o.dt = dt;
        o.M = int64_t(SQ), o.N = int64_t(D), o.K = int64_t(SKV);
        o.a_addr = p_buf;
        o.lda = SKV * e;
        o.b_addr = addr(n.inputs[2]) + ((b * KVH + kvh) * SKV * D) * e;
        o.ldb = D * e;
        o.c_addr = addr(n.outputs[0]) + ((b * H + h) * SQ * D) * e;
        o.ldc = D * e;
        gemm(n, o);
      }
  }

  void softmax_rows(uint64_t src, uint64_t dst, uint64_t rows, uint64_t cols, float scale,
                    bool causal, uint64_t offset) {
    const uint64_t in_bytes = cols * 4, row_bytes = cols * 2;  // fp32 scores, bf16 result
    const uint64_t rt = std::min(rows, quarter_ / in_bytes);
    if (!rt)
      throw Error(
          fmt::format("attention: a row of {} fp32 scores does not fit a quarter of "
                      "the unified buffer of '{}'",
                      cols, target_));
    for (uint64_t r0 = 0, t = 0; r0 < rows; r0 += rt, ++t) {
      const uint64_t r = std::min(rt, rows - r0);
      const uint64_t a = (t % 2) * quarter_, o = 2 * quarter_ + (t % 2) * quarter_;
      emit_rdhost(src + r0 * in_bytes, a, 1, r * in_bytes, r * in_bytes);
      Instr v;
      v.op = Opcode::vector;
      v.func = uint8_t(VecFunc::softmax);
      v.dtype = Dtype::bf16;
      v.src = uint32_t(a);
      v.ub = uint32_t(o);
      v.rows = uint32_t(r);
      v.cols = uint32_t(cols);
      v.flags = uint8_t((causal ? 1 : 0) | 2);
      v.shift = int32_t(offset + r0);
      std::memcpy(&v.imm, &scale, 4);
      emit(v);
      emit_wrhost(dst + r0 * row_bytes, o, 1, r * row_bytes, r * row_bytes);
    }
  }

  const Graph& g_;
  const TpuParams& c_;
  const std::string& target_;
  std::vector<Instr> code_;
  std::vector<Placement> place_;  // per tensor id
  uint64_t dram_top_ = 0, quarter_ = 0, acc_part_ = 0, params_bytes_ = 0;
  int layer_ = -1;
};

class TpuTarget final : public Target {
 public:
  explicit TpuTarget(const ArchConfig& cfg) : name_(cfg.name), p_(cfg.values) {}
  std::vector<std::string> pass_names() const override { return {"lower"}; }
  Lowered lower(const Graph& g, const Dump& dump) const override {
    Lowered out = Lowerer(g, p_, name_).run();
    dump.print("lower", "TPU program", out.program->disassemble());
    return out;
  }

 private:
  std::string name_;
  TpuParams p_;
};

const bool registered =
    register_target(TargetInfo{"tpu", [](const ArchConfig& cfg) -> std::unique_ptr<Target> {
                                 return std::make_unique<TpuTarget>(cfg);
                               }});

}  // namespace
}  // namespace xpusim::compiler
