#!/usr/bin/env bash
# The main job: install what is missing, build xpusim (Release), and compare a transformer block
# (bf16 layernorm, attention, GEMMs, GELU, residuals) on a TPU v4-like chip, an A100-like GPU
# and an Ascend 910B-like NPU (one preset of each family), values checked, writing
# results/quickstart/{report.html,report.md,results.json} and each run's own results under runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target xpusim -j "$(nproc)"  # as scripts/test.sh builds
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
build/release/cli/xpusim compare --arch tpu_v4,a100,ascend910b \
  --workload workloads/examples/transformer-block.yaml --out results/quickstart
echo
cat results/quickstart/report.md
