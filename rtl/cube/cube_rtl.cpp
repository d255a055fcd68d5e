// The verilated cube unit as the RTL model of the DaVinci cube (models/npu_davinci/cube_unit.h),
// registered as davinci.cube: with davinci.cube.model rtl the owner runs every s8 mad on it.
#include <memory>
#include <utility>

#include "models/npu_davinci/cube_unit.h"
#include "rtl/common/rtl_unit.h"
#include "rtl/cube/harness.h"

namespace xpusim::rtl {
namespace {

struct Cube {
  using Model = davinci::CubeModel;
  using Config = davinci::CubeConfig;
  using Op = davinci::CubeOp;
  using Result = davinci::CubeResult;
  using Harness = CubeHarness;
  using RunOptions = CubeRunOptions;
  static constexpr const char* kName = davinci::kCubeUnit;
  static std::unique_ptr<Harness> harness(const Config& c) {
    return CubeHarness::create(c.rows, c.k0, c.latency);
  }
  // The harness checks the mad (s8, operands of the variant's fractal) before anything changes.
  static void check(const Op&) {}
  // The mad's last step (op_read) frees the fractal loop for the next mad and L0A / L0B; its last
  // C fractal written (c_last) is its done, C in the event.
  static Result result(const davinci::CubeTimes& t, CubeEvent& e) { return {t, std::move(e.c)}; }
};

const bool registered = register_rtl_model<Cube>();

}  // namespace
}  // namespace xpusim::rtl
