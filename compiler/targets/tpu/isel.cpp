// Instruction selection: one TPU instruction per tile op, the symbolic regions given their
// addresses (the UB as [A0 | A1 | O0 | O1 | P], each nest's accumulator ring from address 0);
// and its verifier.
#include <fmt/format.h>

#include <cstring>

#include "compiler/targets/tpu/passes.h"
#include "isa/tpu/operands.h"
#include "isa/tpu/semantics.h"

namespace xpusim::compiler::tpu {
namespace {

using isa::tpu::Instr;
using isa::tpu::Opcode;

class Selector {
 public:
  Selector(const TileProgram& t, std::vector<Instr>& code) : t_(t), code_(code) {}

  // One halt-terminated list per core, in core order; on a chip of several cores a barrier
  // ends every layer that has instructions, so that a layer reads what all cores wrote before
  // it.
  void run() {
    for (int core = 0; core < t_.cores; ++core) {
      for (const TileLayer& l : t_.layers) {
        layer_ = l.layer;
        for (const Nest& n : l.nests) {
          if (n.core != core) continue;
          nest_ = &n;
          for (const TileOp& op : n.ops) std::visit([this](const auto& o) { select(o); }, op);
        }
        if (t_.cores > 1 && !l.nests.empty()) {  // a layer that moves nothing needs none
          Instr barrier;
          barrier.op = Opcode::barrier;
          emit(barrier);
        }
      }
      Instr halt;
      halt.op = Opcode::halt;
      code_.push_back(halt);
    }
  }

 private:
  uint32_t address(const Place& p) const {
    uint64_t base = 0;
    switch (p.region) {
      case Region::A:
        base = p.index * t_.a_bytes;
        break;
      case Region::O:
        base = 2 * t_.a_bytes + p.index * t_.o_bytes;
        break;
      case Region::P:
        base = 2 * (t_.a_bytes + t_.o_bytes);
        break;
      case Region::acc:
        base = p.index * nest_->acc_slot_bytes;
        break;
      case Region::fifo:  // a FIFO is named by its array, not addressed
        break;
    }
    return uint32_t(base + p.offset);
  }

  void emit(Instr in) {
    in.layer = layer_;
    code_.push_back(in);
  }

  // rdhost or wrhost: rows of bytes between DRAM (row stride `stride`) and contiguous UB.
  void copy(Opcode op, const DramTile& d, const Place& p) {
    Instr in;
    in.op = op;
    in.dram = d.addr;
    in.ub = address(p);
    const uint64_t row = d.cols * d.elem;
    in.rows = uint32_t(d.run ? 1 : d.rows);
    in.cols = uint32_t(d.run ? d.rows * row : row);
    in.stride = uint32_t(d.run ? d.rows * row : d.stride);
    emit(in);
  }

  void select(const Load& o) { copy(Opcode::rdhost, o.src, o.dst); }
  void select(const Store& o) { copy(Opcode::wrhost, o.dst, o.src); }
  void select(const Gather& o) {
    Instr in;
    in.op = Opcode::rdconv;
    in.dtype = o.dtype;
    in.dram = o.image;
    in.ub = address(o.dst);
    in.rows = uint32_t(o.rows);
    in.src = uint32_t(o.m0);
    in.k = uint32_t(o.k0);
    in.cols = uint32_t(o.cols);
    in.flags = o.pad_lowest ? 1 : 0;
    isa::tpu::set_conv_geom(in, o.geom);
    emit(in);
  }
  void select(const Im2col& o) {
    Instr in;
    in.op = Opcode::im2col;
    in.dtype = o.dtype;
    in.src = address(o.band);
    in.ub = address(o.dst);
    in.dram = o.h0 << 32 | o.m0;
    in.rows = uint32_t(o.rows);
    in.k = uint32_t(o.k0);
    in.cols = uint32_t(o.cols);
    isa::tpu::set_conv_geom(in, o.geom);
    emit(in);
  }
  void select(const Lookup& o) {
    Instr in;
    in.op = Opcode::rdrows;
    in.dram = o.table;
    in.ub = address(o.dst);
    in.src = address(o.ids);
    in.rows = uint32_t(o.rows);
    in.cols = uint32_t(o.cols * o.elem);
    in.stride = in.cols;
    in.k = uint32_t(o.table_rows);
    emit(in);
  }
  void select(const LoadWeights& o) {
    Instr w;
    w.op = Opcode::rdweight;
    w.mxu = uint8_t(o.dst.index);
    w.dtype = o.dtype;
    w.rows = uint32_t(o.src.rows);
    w.cols = uint32_t(o.src.cols);
    w.stride = uint32_t(o.src.stride);
    w.flags = o.transposed ? 1 : 0;
    w.dram = o.src.addr;
    emit(w);
  }
  void select(const StagedWeights& o) {
    Instr w;
    w.op = Opcode::ldweight;
    w.mxu = uint8_t(o.dst.index);
    w.dtype = o.dtype;
    w.rows = uint32_t(o.k);
    w.cols = uint32_t(o.n);
    w.stride = uint32_t(o.n * uint64_t(isa::tpu::elem_bytes(o.dtype)));
    w.ub = address(o.src);
    emit(w);
  }
  void select(const Sync&) {
    Instr s;
    s.op = Opcode::sync;
    emit(s);
  }
  void select(const Barrier&) {
    Instr b;
    b.op = Opcode::barrier;
    emit(b);
  }
  void select(const Matmul& o) {
    Instr mm;
    mm.op = Opcode::matmul;
    mm.mxu = uint8_t(o.weights.index);
    mm.dtype = o.dtype;
    mm.ub = address(o.a);
    mm.src = address(o.acc);
    mm.rows = uint32_t(o.m);
    mm.k = uint32_t(o.k);
    mm.cols = uint32_t(o.n);
    mm.flags = uint8_t(o.accumulate ? isa::tpu::AccMode::acc : isa::tpu::AccMode::set);
    if (o.keep) mm.flags |= isa::tpu::kMatmulKeep;
    emit(mm);
  }
  void select(const Drain& o) {
    Instr a;
    a.op = Opcode::activate;
    a.dtype = o.dtype;
    a.src = address(o.acc);
    a.ub = address(o.dst);
    a.rows = uint32_t(o.rows);
    a.cols = uint32_t(o.cols);
    a.func = uint8_t(o.func);
    a.imm = o.mult;
    a.shift = o.shift;
    if (o.sum > 1) {
      a.k = o.sum;
      a.stride = uint32_t(nest_->acc_slot_bytes);
    }
    if (o.bias) {
      a.flags = 1;
      a.src2 = address(*o.bias);
    }
    emit(a);
  }
  void select(const Vector& o) {
    Instr v;
    v.op = Opcode::vector;
    v.func = uint8_t(o.func);
    v.dtype = o.dtype;
    v.src = address(o.src);
    v.src2 = o.src2 ? address(*o.src2) : 0;
    v.ub = address(o.dst);
    v.rows = uint32_t(o.rows);
    v.cols = uint32_t(o.cols);
    v.k = uint32_t(o.groups);
    v.flags = uint8_t((o.causal ? 1 : 0) | (o.fp32_src ? 2 : 0));
    v.shift = o.offset;
    std::memcpy(&v.imm, &o.imm, 4);
    emit(v);
  }

  const TileProgram& t_;
  std::vector<Instr>& code_;
  const Nest* nest_ = nullptr;
  int layer_ = -1;
};

// The instruction as one line of assembly, for messages.
std::string one_line(const Instr& in) {
  const std::string s = isa::tpu::disassemble({in});
  const size_t first = s.find_first_not_of(' '), last = s.find_last_not_of('\n');
  return first > last ? s : s.substr(first, last + 1 - first);
}

}  // namespace

std::vector<Instr> isel(const TileProgram& tiles) {
  std::vector<Instr> code;
  Selector(tiles, code).run();
  return code;
}

void verify_isel(const Graph& g, const std::vector<Instr>& code, const TpuParams& p) {
  auto fail = [&](size_t i, const std::string& what) {
    std::string where;
    if (i < code.size()) {
      const int l = code[i].layer;
      if (l >= 0 && size_t(l) < g.nodes.size())
        where = fmt::format("layer {} '{}', ", l, g.nodes[size_t(l)].name);
      where += fmt::format("instruction {} ({}): ", i, one_line(code[i]));
    }
    throw Error("internal: pass 'isel' verifier: " + where + what);
  };
  if (code.empty() || code.back().op != Opcode::halt)
    fail(code.size(), "the program does not end with halt");
  if (isa::tpu::core_programs(code).size() != size_t(p.cores))
    fail(code.size(), fmt::format("{} core lists for a chip of {} cores",
                                  isa::tpu::core_programs(code).size(), p.cores));
  for (size_t i = 0; i < code.size(); ++i) {
    const Instr& in = code[i];
    if (in.op != Opcode::halt && (in.layer < 0 || size_t(in.layer) >= g.nodes.size()))
      fail(i, fmt::format("layer {} is not a node of the graph", in.layer));
    const std::string own = isa::tpu::detail::check_instr(in);
    if (!own.empty()) fail(i, own);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(in.dtype));
    auto within = [&](uint64_t addr, uint64_t bytes, uint64_t cap, const char* what) {
      if (addr > cap || bytes > cap - addr)
        fail(i,
             fmt::format("{} [{:#x}, {:#x}) is outside it ({} B)", what, addr, addr + bytes, cap));
    };
    switch (in.op) {
      case Opcode::rdhost:
      case Opcode::wrhost:
        within(in.ub, uint64_t(in.rows) * in.cols, p.ub_bytes, "the unified buffer range");
        within(in.dram, uint64_t(in.rows - 1) * in.stride + in.cols, p.dram_bytes,
               "the DRAM range");
        break;
      case Opcode::rdconv:
        within(in.ub, uint64_t(in.rows) * in.cols * e, p.ub_bytes, "the unified buffer range");
        break;
      case Opcode::im2col: {
        within(in.ub, uint64_t(in.rows) * in.cols * e, p.ub_bytes, "the unified buffer range");
        const isa::tpu::ConvGeom geom = isa::tpu::conv_geom(in);
        const isa::tpu::ImageRows r = isa::tpu::conv_rows_read(in);
        const uint64_t row = uint64_t(geom.w) * geom.c * e;
        if (r.lo == r.hi) break;  // only padding
        if (r.lo < isa::tpu::conv_h0(in)) fail(i, "it reads an image row before its band");
        within(in.src + (r.lo - isa::tpu::conv_h0(in)) * row, (r.hi - r.lo) * row, p.ub_bytes,
               "the image rows");
        break;
      }
      case Opcode::rdrows:
        within(in.src, uint64_t(in.rows) * 4, p.ub_bytes, "the ids' range");
        within(in.ub, uint64_t(in.rows) * in.cols, p.ub_bytes, "the unified buffer range");
        within(in.dram, uint64_t(in.k - 1) * in.stride + in.cols, p.dram_bytes, "the table");
        break;
      case Opcode::ldweight:
        within(in.ub, uint64_t(in.rows) * in.cols * e, p.ub_bytes, "the weights' range");
        [[fallthrough]];
      case Opcode::rdweight:
        if (in.mxu >= uint32_t(p.count)) fail(i, fmt::format("the core has {} array(s)", p.count));
        if (uint64_t(in.rows) * in.cols * e > p.fifo_tile_bytes)
          fail(i, fmt::format("the tile exceeds a weight FIFO tile ({} B)", p.fifo_tile_bytes));
        break;
      case Opcode::matmul:
        if (in.mxu >= uint32_t(p.count)) fail(i, fmt::format("the core has {} array(s)", p.count));
        within(in.ub, uint64_t(in.rows) * in.k * e, p.ub_bytes, "the operand range");
        within(in.src, uint64_t(in.rows) * in.cols * 4, p.acc_bytes, "the accumulator range");
        break;
      case Opcode::activate:
        within(in.src, isa::tpu::activate_acc_end(in) - in.src, p.acc_bytes,
               "the accumulator range");
        within(in.ub, uint64_t(in.rows) * in.cols * e, p.ub_bytes, "the unified buffer range");
        break;
      case Opcode::vector:
        within(in.src, isa::tpu::vector_src_bytes(in), p.ub_bytes, "the source range");
        within(in.src2, isa::tpu::vector_src2_bytes(in), p.ub_bytes, "the second source range");
        within(in.ub, isa::tpu::vector_dst_bytes(in), p.ub_bytes, "the destination range");
        break;
      default:
        break;
    }
  }
}

}  // namespace xpusim::compiler::tpu
