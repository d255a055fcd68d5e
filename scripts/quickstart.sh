#!/usr/bin/env bash
# The main job: install missing packages, build xpusim (Release), and simulate the quick-start
# workload on a TPU v4-like chip (two TensorCores), writing
# results/quickstart/{report.md,stats.json,...}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target xpusim
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
build/release/cli/xpusim run --arch tpu_v4 --workload workloads/examples/quickstart.yaml \
  --out results/quickstart --trace
echo
cat results/quickstart/report.md
