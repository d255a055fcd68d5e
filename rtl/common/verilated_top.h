// What every harness of a verilated unit does alike: the verilated top model in a Verilator
// context of its own (so that each model runs alone), the rising clock edge, and the VCD trace.
// A harness derives its verilated class from VerilatedTop<V, ItsHarness> and writes only how
// its ports are driven and sampled.
#pragma once

#include <verilated.h>
#include <verilated_vcd_c.h>

#include <cstdint>
#include <memory>
#include <string>

namespace xpusim::rtl {

template <class V, class Harness>
class VerilatedTop : public Harness {
 public:
  // `name`: the top instance's name in the trace; `args`: the harness's own.
  template <class... Args>
  explicit VerilatedTop(const char* name, Args... args) : Harness(args...) {
    ctx_.traceEverOn(true);
    top_ = std::make_unique<V>(&ctx_, name);
  }
  ~VerilatedTop() override {
    trace_close();
    top_->final();
  }

 protected:
  void tick() override {
    top_->clk = 1;
    top_->eval();
  }
  void trace_open(const std::string& path) override {
    trace_close();
    vcd_ = std::make_unique<VerilatedVcdC>();
    top_->trace(vcd_.get(), 99);
    vcd_->open(path.c_str());
  }
  void trace_dump(uint64_t time) override {
    if (vcd_) vcd_->dump(time);
  }
  void trace_close() override {
    if (vcd_) vcd_->close();
    vcd_.reset();
  }

  VerilatedContext ctx_;
  std::unique_ptr<V> top_;

 private:
  std::unique_ptr<VerilatedVcdC> vcd_;
};

}  // namespace xpusim::rtl
