#!/usr/bin/env bash
# Speed of the GPU family's functional executor: simulated warp-instructions per second of wall
# time on one core, for bench/ptx/fma_loop.ptx (fp32 fma, integer add, compare, branch per
# iteration). Usage: bench/gpu_speed.sh [XPUSIM] [BLOCKS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=${1:-build/release/cli/xpusim}
blocks=${2:-216}
iters=${3:-2000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
head -c $((blocks * 256 * 4)) /dev/zero > "$out/y.bin"
start=$(date +%s.%N)
SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch a100 --kernel bench/ptx/fma_loop.ptx \
  --entry fma_loop --grid "$blocks" --block 256 --arg fma_loop_param_0="$out/y.bin" \
  --arg fma_loop_param_1="$iters" --out "$out/run" --quiet
end=$(date +%s.%N)
warp_instrs=$(python3 -c "import json, sys
s = json.load(open(sys.argv[1]))['stats']['groups']['executed']['stats']
print(s['warp_instructions']['value'])" "$out/run/stats.json")
python3 -c "import sys; w=int(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]); print(f'{w:,} warp-instructions in {t:.2f} s: {w/t/1e6:.2f} M warp-instructions/s')" "$warp_instrs" "$start" "$end"
