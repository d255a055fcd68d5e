#include "models/tpu/check.h"

#include <fmt/format.h>

#include <optional>

#include "isa/tpu/semantics.h"
#include "models/core/error.h"
#include "models/core/range.h"

namespace xpusim::tpu {

using isa::tpu::DType;
using isa::tpu::Instr;
using isa::tpu::Opcode;

ProgramCheck::ProgramCheck(const TpuParams& p, const std::vector<Instr>& prog, std::string file)
    : p_(p), prog_(prog), file_(std::move(file)) {}

std::string ProgramCheck::who(const Instr& in) const {
  if (in.line > 0) return fmt::format("{}:{}: {}", file_, in.line, isa::tpu::opcode_name(in.op));
  return fmt::format("{}: {} (instruction {}, layer {})", file_, isa::tpu::opcode_name(in.op),
                     &in - prog_.data(), in.layer);
}

void ProgramCheck::instrs(size_t begin, size_t end) const {
  for (size_t i = begin; i < end; ++i) instr(prog_[i]);
}

std::vector<std::pair<size_t, size_t>> ProgramCheck::core_lists(const std::string& arch) const {
  if (prog_.empty() || prog_.back().op != Opcode::halt)
    throw Error(file_ + ": the program ends without halt");
  const auto lists = isa::tpu::core_programs(prog_);
  if (lists.size() != size_t(p_.cores))
    throw Error(fmt::format(
        "{}: the program holds {} core program(s) (halt-terminated lists) but '{}' has {} "
        "core(s) (chip.cores)",
        file_, lists.size(), arch, p_.cores));
  return lists;
}

void ProgramCheck::instr(const Instr& in) const {
  // Messages are formatted only when a check fails: validation runs for every instruction.
  auto need = [&](bool ok, fmt::string_view format, auto&&... args) {
    if (!ok) throw Error(who(in) + ": " + fmt::vformat(format, fmt::make_format_args(args...)));
  };
  auto range = [&](const char* mem, uint64_t capacity, uint64_t addr, uint64_t n,
                   const char* what) {
    const std::optional<uint64_t> hi = range_end(addr, n);
    if (!fits(hi, capacity))
      need(false, "{} {} is outside {} (capacity {} bytes)", what, range_str(addr, hi), mem,
           capacity);
  };
  // `rows` rows of `row_bytes` bytes every `stride` bytes from `base` in DRAM.
  auto dram_rows = [&](uint64_t base, uint64_t rows, uint64_t stride, uint64_t row_bytes,
                       const char* what) {
    const std::optional<uint64_t> hi = rows_end(base, rows, stride, row_bytes);
    if (!fits(hi, p_.dram_bytes))
      need(false, "{} {} is outside DRAM ({} bytes)", what, range_str(base, hi), p_.dram_bytes);
  };
  const uint64_t e = uint64_t(isa::tpu::elem_bytes(in.dtype));
  if (isa::tpu::loads_weights(in.op) || in.op == Opcode::matmul)
    need(in.mxu < p_.count,
         "mxu={} but the core has {} systolic array(s) "
         "(array.count)",
         in.mxu, p_.count);
  auto dram_range = [&](uint64_t row_bytes) {
    need(in.rows > 0 && row_bytes > 0, "rows and the row size must be positive");
    dram_rows(in.dram, in.rows, in.stride, row_bytes, "DRAM range");
  };
  // fp32 operands are multiplied as bf16 parts: they need bf16 arrays.
  auto dtype_ok = [&]() {
    need(in.dtype == DType::int8 ? p_.int8 : p_.bf16,
         "the arrays of this configuration do not multiply {} (array.dtypes)",
         dtype_name(in.dtype));
  };
  auto fifo_tile = [&]() {
    const uint64_t tile = saturating_mul(uint64_t(in.rows) * in.cols, e);
    need(tile <= p_.fifo_tile_bytes,
         "a {}x{} tile is {} bytes, more than a weight FIFO tile ({} bytes)", in.rows, in.cols,
         tile, p_.fifo_tile_bytes);
  };
  switch (in.op) {
    case Opcode::rdhost:
    case Opcode::wrhost:
      dram_range(in.cols);
      range("ub", p_.ub_bytes, in.ub, uint64_t(in.rows) * in.cols, "unified buffer range");
      break;
    case Opcode::rdrows:
      need(in.rows > 0 && in.cols > 0 && in.k > 0, "rows, bytes and table must be positive");
      dram_rows(in.dram, in.k, in.stride, in.cols, "table");
      range("ub", p_.ub_bytes, in.src, uint64_t(in.rows) * 4, "ids range");
      range("ub", p_.ub_bytes, in.ub, uint64_t(in.rows) * in.cols, "unified buffer range");
      break;
    case Opcode::rdconv:
    case Opcode::im2col: {
      const isa::tpu::ConvGeom g = isa::tpu::conv_geom(in);
      const uint32_t m0 = isa::tpu::conv_m0(in);
      need(g.c && g.h && g.w && g.r && g.s && g.stride_h && g.stride_w && in.rows && in.cols,
           "image, window, stride, rows and kt must be positive");
      need(g.h + 2 * g.pad_h >= g.r && g.w + 2 * g.pad_w >= g.s, "window larger than the image");
      need(g.cg <= g.c, "gathered channels exceed the pixel's channels");
      need(uint64_t(in.k) + in.cols <= uint64_t(g.r) * g.s * g.cg,
           "im2col columns [{}, {}) beyond r*s*cg = {}", in.k, in.k + in.cols, g.r * g.s * g.cg);
      need(uint64_t(m0) + in.rows <= uint64_t(g.out_h()) * g.out_w(),
           "output pixels [{}, {}) beyond {}x{}", m0, m0 + in.rows, g.out_h(), g.out_w());
      const uint64_t pixel = uint64_t(g.c) * e;
      const uint64_t out = saturating_mul(uint64_t(in.rows) * in.cols, e);
      if (in.op == Opcode::rdconv) dram_rows(in.dram, uint64_t(g.h) * g.w, pixel, pixel, "image");
      range("ub", p_.ub_bytes, in.ub, out, "unified buffer range");
      if (in.op == Opcode::rdconv) break;
      // im2col: the band holds image rows from h0 on, and the rows it reads lie in the UB,
      // apart from the destination.
      const isa::tpu::ImageRows r = isa::tpu::conv_rows_read(in);
      if (r.lo == r.hi) break;
      const uint32_t h0 = isa::tpu::conv_h0(in);
      need(r.lo >= h0, "reads image rows [{}, {}), the band starts at row h0 = {}", r.lo, r.hi, h0);
      const uint64_t row = saturating_mul(uint64_t(g.w), pixel);
      const uint64_t lo = uint64_t(in.src) + uint64_t(r.lo - h0) * row;
      const uint64_t bytes = saturating_mul(uint64_t(r.hi - r.lo), row);
      range("ub", p_.ub_bytes, lo, bytes, "image rows");
      need(lo + bytes <= in.ub || uint64_t(in.ub) + out <= lo,
           "the image rows it reads [{:#x}, {:#x}) overlap its destination [{:#x}, {:#x})", lo,
           lo + bytes, in.ub, uint64_t(in.ub) + out);
      break;
    }
    case Opcode::rdweight: {
      dtype_ok();
      if (in.flags & 1) {
        need(in.cols > 0 && in.rows > 0, "k and n must be positive");
        dram_rows(in.dram, in.cols, in.stride, in.rows * e, "DRAM range");
      } else {
        dram_range(in.cols * e);
      }
      fifo_tile();
      break;
    }
    case Opcode::ldweight: {
      dtype_ok();
      need(in.cols > 0 && in.rows > 0, "k and n must be positive");
      const uint64_t row = saturating_mul(in.flags & 1 ? in.rows : in.cols, e);
      const std::optional<uint64_t> hi =
          rows_end(in.ub, in.flags & 1 ? in.cols : in.rows, in.stride, row);
      if (!fits(hi, p_.ub_bytes))
        need(false, "weights {} are outside ub (capacity {} bytes)", range_str(in.ub, hi),
             p_.ub_bytes);
      fifo_tile();
      break;
    }
    case Opcode::matmul: {
      dtype_ok();
      need(!p_.array_model.rtl || in.dtype == DType::int8,
           "--rtl: the RTL array multiplies int8, not {}", dtype_name(in.dtype));
      need(in.rows > 0 && in.k > 0 && in.cols > 0, "m, k and n must be positive");
      const uint32_t R = uint32_t(p_.rows), C = uint32_t(p_.cols);
      switch (p_.dataflow) {
        case Dataflow::ws:
          need(in.k <= R && in.cols <= C,
               "weight-stationary needs k <= {} and n <= {} (got k={}, n={})", R, C, in.k, in.cols);
          break;
        case Dataflow::os:
          need(in.rows <= R && in.cols <= C,
               "output-stationary needs m <= {} and n <= {} (got m={}, n={})", R, C, in.rows,
               in.cols);
          break;
        case Dataflow::is:
          need(in.k <= R && in.rows <= C,
               "input-stationary needs k <= {} and m <= {} (got k={}, m={})", R, C, in.k, in.rows);
          break;
      }
      range("ub", p_.ub_bytes, in.ub, saturating_mul(uint64_t(in.rows) * in.k, e), "operand");
      range("acc", p_.acc_bytes, in.src, saturating_mul(uint64_t(in.rows) * in.cols, 4),
            "accumulator range");
      break;
    }
    case Opcode::activate:
      need(in.rows > 0 && in.cols > 0, "rows and cols must be positive");
      range("acc", p_.acc_bytes, in.src,
            saturating_mul(uint64_t(in.rows) * in.cols, 4) +
                saturating_mul(isa::tpu::activate_tiles(in) - 1, in.stride),
            "accumulator range");
      range("ub", p_.ub_bytes, in.ub, saturating_mul(uint64_t(in.rows) * in.cols, e),
            "destination");
      need(!(in.flags & 1) || in.dtype != DType::int8,
           "bias=1 with dtype int8 (an int8 result is requantised; a bias is bf16 or fp32)");
      range("ub", p_.ub_bytes, in.src2, isa::tpu::activate_bias_bytes(in), "bias row");
      break;
    case Opcode::vector:
      need(p_.vpu, "this configuration has no vector unit (vpu.enabled: false)");
      need(in.rows > 0 && in.cols > 0, "rows and cols must be positive");
      range("ub", p_.ub_bytes, in.src, isa::tpu::vector_src_bytes(in), "source");
      range("ub", p_.ub_bytes, in.src2, isa::tpu::vector_src2_bytes(in), "second source");
      range("ub", p_.ub_bytes, in.ub, isa::tpu::vector_dst_bytes(in), "destination");
      break;
    default:
      break;
  }
}

}  // namespace xpusim::tpu
