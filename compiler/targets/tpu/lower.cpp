// The TPU family's compiler target: the passes of passes.h (layout, tiling, isel), each
// followed by its verifier, with the result of each printable by `--dump-after`.
#include "compiler/target.h"
#include "compiler/targets/tpu/passes.h"
#include "isa/tpu/program.h"

namespace xpusim::compiler::tpu {
namespace {

class TpuTarget final : public Target {
 public:
  explicit TpuTarget(const ArchConfig& cfg) : name_(cfg.name), p_(cfg.values) {}

  // "lower" is the whole lowering: its dump is the final program, the same text as isel's (the
  // name `--dump-after` has always accepted for the program).
  std::vector<std::string> pass_names() const override {
    return {"layout", "tiling", "isel", "lower"};
  }

  Lowered lower(const Graph& g, const Dump& dump) const override {
    LayoutPlan plan = layout(g, p_, name_);
    verify_layout(g, plan, p_);
    if (dump.wants("layout")) dump.print("layout", "TPU DRAM layout", to_text(g, plan));
    const TileProgram tiles = tiling(g, plan, p_, name_);
    verify_tiling(tiles, p_);
    if (dump.wants("tiling")) dump.print("tiling", "TPU tile IR", to_text(tiles));
    std::vector<isa::tpu::Instr> code = isel(tiles);
    verify_isel(g, code, p_);
    Lowered out;
    out.program = std::make_unique<isa::tpu::Program>(std::move(code));
    out.tensors = std::move(plan.tensors);
    if (dump.wants("isel") || dump.wants("lower")) {
      const std::string text = out.program->disassemble();
      dump.print("isel", "TPU program", text);
      dump.print("lower", "TPU program", text);
    }
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
}  // namespace xpusim::compiler::tpu
