#!/usr/bin/env bash
# fp16 GEMMs on GPU presets, timing only: for each preset and size n (an n x n x n fp16 GEMM,
# fp32 accumulation) the simulated cycles and time, the throughput in TFLOPS (2 n^3 / time), the
# tensor-core peak's share, and the wall-clock seconds the simulation took. The kernel is the
# hand-written tensor-core HGEMM (bench/ptx/hgemm.ptx), or with --compiled the GPU compiler
# target's own lowering of a one-gemm workload (its tile choice per size; fp16 output).
# --waves W samples waves of blocks (sampling.waves, docs/models/gpu.md) for sizes of at least
# --sample-from (default 8192). docs/validation/gpu.md compares the throughput with published
# cuBLAS figures.
#
#   bench/gpu_gemm.sh [XPUSIM] [--presets a100,h100] [--sizes 1024,2048,4096] [--compiled]
#                     [--waves W] [--sample-from N]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
presets=a100,h100
sizes=1024,2048,4096
compiled=0
waves=0
sample_from=8192
while [ $# -gt 0 ]; do
  case "$1" in
    --presets) presets=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --compiled) compiled=1; shift ;;
    --waves) waves=$2; shift 2 ;;
    --sample-from) sample_from=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-8s %6s %12s %12s %9s %7s %9s\n' preset n cycles seconds TFLOPS peak wall_s
for n in ${sizes//,/ }; do
  sampling=(--set sampling.waves=0)
  [ "$n" -ge "$sample_from" ] && sampling=(--set sampling.waves="$waves")
  if [ "$compiled" = 1 ]; then
    printf 'name: gemm-%s\nops:\n  - {name: gemm, op: gemm, M: %s, N: %s, K: %s, dtype: fp16}\n' \
      "$n" "$n" "$n" "$n" > "$out/gemm.yaml"
    what=(--workload "$out/gemm.yaml")
  else
    # Timing only: the operands' values are never read, only their sizes matter.
    head -c $((n * n * 2)) /dev/zero > "$out/a.bin"
    head -c $((n * n * 4)) /dev/zero > "$out/c.bin"
    what=(--kernel bench/ptx/hgemm.ptx --entry hgemm --grid $((n / 256)),$((n / 128))
      --block 256 --shared 98304 --arg hgemm_param_0="$out/a.bin"
      --arg hgemm_param_1="$out/a.bin" --arg hgemm_param_2="$out/c.bin"
      --arg hgemm_param_3="$n" --arg hgemm_param_4="$n")
  fi
  for p in ${presets//,/ }; do
    start=$(date +%s.%N)
    SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch "$p" "${what[@]}" "${sampling[@]}" \
      --no-functional --force --out "$out/run" > /dev/null
    end=$(date +%s.%N)
    python3 - "$out/run/stats.json" "$p" "$n" "$start" "$end" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
p, n, wall = sys.argv[2], int(sys.argv[3]), float(sys.argv[5]) - float(sys.argv[4])
tflops = 2 * n**3 / s["seconds"] / 1e12
peak = next(o for o in s["ops"] if o["dtype"] == "fp16")
peak_tflops = 2 * peak["peak_per_cycle"] * s["clock_mhz"] * 1e6 / 1e12
print(f"{p:<8} {n:6d} {s['total_cycles']:12d} {s['seconds']:12.6g} {tflops:9.1f} "
      f"{100 * tflops / peak_tflops:6.1f}% {wall:9.1f}")
EOF
  done
done
