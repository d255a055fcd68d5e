#!/usr/bin/env bash
# The hand-written f16 GEMM kernel (tests/fixtures/davinci/gemm_f16.s: 64 x 64 x 64 steps,
# two-stage buffers, the 910 output path) on DaVinci presets, timing only: for each preset and
# size n (an n x n x n GEMM over all AI cores) the simulated cycles, the throughput in TFLOPS
# (2 n^3 / time), the cube's share of its peak, each core-0 pipe's utilization, and the wall-clock
# seconds the simulation took with the race check on and off (core.race_check).
#
#   bench/davinci_gemm.sh [XPUSIM] [--presets ascend910,ascend910b] [--sizes 512,1024,2048]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
presets=ascend910,ascend910b
sizes=512,1024,2048
while [ $# -gt 0 ]; do
  case "$1" in
    --presets) presets=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-11s %5s %10s %8s %6s  %-40s %7s %7s\n' preset n cycles TFLOPS cube "pipe utilization (core 0)" wall_s nocheck
for n in ${sizes//,/ }; do
  # Timing only: the operands' values are never read, only their sizes matter.
  head -c $((n * n * 2)) /dev/zero > "$out/a.bin"
  for p in ${presets//,/ }; do
    cores=$("$xpusim" describe "$p" | awk '$1 == "core.count" {print $2}')
    walls=()
    for check in true false; do
      start=$(date +%s.%N)
      SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch "$p" \
        --kernel tests/fixtures/davinci/gemm_f16.s --entry gemm_f16 --grid "$cores" \
        --arg a="$out/a.bin" --arg b="$out/a.bin" --arg c="$out/a.bin" \
        --arg m="$n" --arg n="$n" --arg k="$n" --set core.race_check=$check \
        --no-functional --force --out "$out/run-$check" > /dev/null
      end=$(date +%s.%N)
      walls+=("$(python3 -c "print(f'{$end - $start:.2f}')")")
    done
    python3 - "$out/run-true/stats.json" "$p" "$n" "${walls[0]}" "${walls[1]}" "$cores" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p, n, cores = sys.argv[2], int(sys.argv[3]), int(sys.argv[6])
tflops = 2 * n**3 / s["seconds"] / 1e12
core = s["stats"]["groups"]["core0"]["groups"]
pipes = " ".join(f"{k[5:]}:{g['stats']['utilization']['value']:.2f}"
                 for k, g in core.items() if k.startswith("PIPE_"))
print(f"{p:<11} {n:5d} {s['total_cycles']:10d} {tflops:8.1f} "
      f"{s['macs'] / s['total_cycles'] / (cores * 4096):6.1%}  {pipes:<40} {sys.argv[4]:>7} {sys.argv[5]:>7}")
PY
  done
done
