// Feature maps in NC1HWC0 through the DaVinci target's copies and selections: nearest upsampling
// written out as reshapes and concats of one map repeated (views of rank 5 on the same bytes),
// concats along C (whole slices; channels repacked on the cube), along W and along N, a split of
// C into pixel dims (a ConvTranspose's 1x1 conv into its blocks), a transpose of pixel dims, maps
// to and from padded matrices whose last dim is C (a Squeeze and the transposes around a
// transformer block), a sigmoid over maps with padding channels and pixels; and transposes of
// heads whose runs are not whole 32-byte blocks (15 elements) as GEMMs with selection matrices.
// Values checked against the reference in fp16 on the three Ascend presets, in int8 (the row ops
// aside) and in bf16 where the cube has it.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

// The workload in dtype `dt`; `row_op` after the heads' transpose (softmax, or relu for int8,
// which leaves out the sigmoids and softmaxes the int8 target does not lower).
std::string maps_yaml(const std::string& dt, const std::string& row_op) {
  std::string y =
      "name: maps\n"
      "inputs:\n"
      "  - {name: x, shape: [2, 24, 6, 5], dtype: DT}\n"
      "  - {name: s, shape: [2, 20, 24], dtype: DT}\n"
      "  - {name: t, shape: [40, 120], dtype: DT}\n"
      "ops:\n"
      "  - {name: a, op: conv2d, inputs: [x], K: 24, R: 3, S: 3, pad: 1}\n"
      "  - {name: u1, op: reshape, inputs: [a.out], shape: [2, 24, 6, 5, 1]}\n"
      "  - {name: r1, op: concat, inputs: [u1.out, u1.out], axis: 4}\n"
      "  - {name: m1, op: reshape, inputs: [r1.out], shape: [2, 24, 6, 10]}\n"
      "  - {name: u2, op: reshape, inputs: [m1.out], shape: [2, 24, 6, 1, 10]}\n"
      "  - {name: r2, op: concat, inputs: [u2.out, u2.out, u2.out], axis: 3}\n"
      "  - {name: up, op: reshape, inputs: [r2.out], shape: [2, 24, 18, 10]}\n"
      "  - {name: b, op: conv2d, inputs: [up.out], K: 40, R: 1, S: 1}\n"
      "  - {name: c, op: conv2d, inputs: [up.out], K: 8, R: 3, S: 3, pad: 1}\n"
      "  - {name: cat, op: concat, inputs: [up.out, b.out, c.out], axis: 1}\n"
      "  - {name: d, op: conv2d, inputs: [cat.out], K: 32, R: 1, S: 1}\n"
      "  - {name: cat2, op: concat, inputs: [d.out, c.out], axis: 1}\n"
      "  - {name: e, op: conv2d, inputs: [cat2.out], K: 16, R: 3, S: 3, pad: 1}\n"
      "  - {name: c16, op: conv2d, inputs: [up.out], K: 16, R: 1, S: 5}\n"
      "  - {name: wide, op: concat, inputs: [e.out, c16.out], axis: 3}\n"
      "  - {name: imgs, op: concat, inputs: [wide.out, wide.out], axis: 0}\n"
      "  - {name: f, op: conv2d, inputs: [imgs.out], K: 96, R: 1, S: 1}\n"
      "  - {name: blocks, op: reshape, inputs: [f.out], shape: [4, 24, 2, 2, 18, 16]}\n"
      "  - {name: place, op: transpose, inputs: [blocks.out], perm: [0, 1, 4, 2, 5, 3]}\n"
      "  - {name: merged, op: reshape, inputs: [place.out], shape: [4, 24, 36, 32]}\n"
      "  - {name: g, op: conv2d, inputs: [merged.out], K: 24, R: 1, S: 1, stride: 3}\n"
      "  - {name: sq, op: reshape, inputs: [g.out], shape: [4, 24, 132]}\n"
      "  - {name: tr, op: transpose, inputs: [sq.out], perm: [0, 2, 1]}\n"
      "  - {name: sm, op: softmax, inputs: [tr.out]}\n"
      "  - {name: s4, op: reshape, inputs: [s], shape: [2, 1, 20, 24]}\n"
      "  - {name: back, op: transpose, inputs: [s4.out], perm: [0, 3, 1, 2]}\n"
      "  - {name: h, op: conv2d, inputs: [back.out], K: 1, R: 1, S: 3, pad_h: 0, pad_w: 1}\n"
      "  - {name: sig, op: sigmoid, inputs: [h.out]}\n"
      "  - {name: k, op: conv2d, inputs: [back.out], K: 20, R: 1, S: 1}\n"
      "  - {name: sig2, op: sigmoid, inputs: [k.out]}\n"
      "  - {name: qkv, op: gemm, inputs: [t], N: 360}\n"
      "  - {name: split, op: reshape, inputs: [qkv.out], shape: [1, 40, 3, 8, 15]}\n"
      "  - {name: heads, op: transpose, inputs: [split.out], perm: [2, 0, 3, 1, 4]}\n"
      "  - {name: hs, op: ROWOP, inputs: [heads.out]}\n"
      "  - {name: one, op: slice, inputs: [hs.out], axis: 0, start: 1, end: 2}\n"
      "  - {name: o4, op: reshape, inputs: [one.out], shape: [1, 8, 40, 15]}\n"
      "  - {name: o3, op: transpose, inputs: [o4.out], perm: [0, 2, 1, 3]}\n"
      "  - {name: rows, op: reshape, inputs: [o3.out], shape: [40, 120]}\n"
      "  - {name: proj, op: gemm, inputs: [rows.out], N: 16}\n";
  std::string out;
  size_t at = 0;
  while (at < y.size()) {
    const size_t end = y.find('\n', at);
    std::string line = y.substr(at, end - at);
    at = end + 1;
    if (dt == "int8" &&
        (line.find("sigmoid") != std::string::npos || line.find("softmax") != std::string::npos))
      continue;
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"DT", dt}, {"ROWOP", row_op}})
      if (const size_t k = line.find(key); k != std::string::npos)
        line.replace(k, key.size(), value);
    out += line + "\n";
  }
  return out;
}

void check_maps(const std::string& arch, const std::string& dt, const std::string& row_op) {
  const std::string dir = temp_dir("dv-maps-" + dt + "-" + arch);
  const std::string w = write_text(dir, "maps.yaml", maps_yaml(dt, row_op));
  const Cli r = run_cli({"run", "--arch", arch, "--workload", w, "--out", dir + "/out"});
  INFO(arch << " " << dt << "\n" << r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed"));
}

}  // namespace

TEST_CASE("DaVinci: concats, splits and transposes of NC1HWC0 feature maps, values checked",
          "[golden]") {
  for (const char* arch : {"ascend910b", "ascend910", "ascend310"}) {
    check_maps(arch, "fp16", "softmax");
    check_maps(arch, "int8", "relu");
  }
  check_maps("ascend910b", "bf16", "softmax");
}

TEST_CASE("DaVinci: a split of C whose pixels are not a multiple of 16 is refused, naming the node",
          "[golden]") {
  const std::string dir = temp_dir("dv-maps-refused");
  const std::string w =
      write_text(dir, "split.yaml",
                 "name: split\n"
                 "inputs:\n"
                 "  - {name: x, shape: [1, 8, 3, 5], dtype: fp16}\n"
                 "ops:\n"
                 "  - {name: a, op: conv2d, inputs: [x], K: 8, R: 1, S: 1}\n"
                 "  - {name: b, op: reshape, inputs: [a.out], shape: [1, 2, 4, 3, 5]}\n"
                 "  - {name: c, op: relu, inputs: [b.out]}\n");
  const Cli r = run_cli({"run", "--arch", "ascend910b", "--workload", w, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("node 'b'"));
  CHECK_THAT(r.output, Contains("a split of C in front of the pixel dims of a map of 15 pixels"));
}

TEST_CASE("DaVinci: TransData from matrices to a map is a GEMM per 16 pixels, values checked",
          "[golden]") {
  // A map to (C x H*W) matrices, a softmax over the pixels, and back (TransData both ways), at
  // a pixel count that is not a multiple of 16 (63: the last block of 16 pixels part padding).
  const std::string dir = temp_dir("dv-transdata");
  for (const char* dt : {"fp16", "bf16"})
    for (const char* arch : {"ascend910b", "ascend910", "ascend310"}) {
      if (std::string(dt) == "bf16" && std::string(arch) != "ascend910b") continue;
      const std::string w = write_text(
          dir, std::string(dt) + ".yaml",
          std::string("name: transdata\ninputs:\n  - {name: x, shape: [2, 40, 7, 9], dtype: ") +
              dt +
              "}\nops:\n"
              "  - {name: c1, op: conv2d, inputs: [x], K: 40, R: 3, S: 3, pad: 1}\n"
              "  - {name: r1, op: reshape, inputs: [c1.out], shape: [2, 40, 63]}\n"
              "  - {name: s, op: softmax, inputs: [r1.out]}\n"
              "  - {name: r2, op: reshape, inputs: [s.out], shape: [2, 40, 7, 9]}\n"
              "  - {name: c2, op: conv2d, inputs: [r2.out], K: 24, R: 1, S: 1}\n");
      const Cli r = run_cli({"run", "--arch", arch, "--workload", w, "--dump-after=lower", "--out",
                             dir + "/" + dt + arch});
      INFO(arch << " " << dt << "\n" << r.output.substr(r.output.size() - 2000));
      CHECK(r.status == 0);
      CHECK_THAT(r.output, Contains("functional check: passed"));
      // The GEMMs back to the map: 2 images x 4 blocks of 16 pixels, K = 16.
      CHECK_THAT(r.output, Contains("C 16x48 = A 16x16 x B 16x48 (given transposed) (padded), 8 "
                                    "batch(es)"));
    }
}
