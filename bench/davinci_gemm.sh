#!/usr/bin/env bash
# f16 GEMM kernels on DaVinci presets, timing only: for each preset and size n (an n x n x n
# GEMM, or n x n x K with --k) the simulated cycles, the throughput in TFLOPS (2 n^2 K / time), the cube's share of the
# peak of the cores used, each core-0 pipe's utilization, and the wall-clock seconds the
# simulation took with the race check on and off (core.race_check).
#
#   bench/davinci_gemm.sh [XPUSIM] [--presets ascend910,ascend910b] [--sizes 512,1024,2048]
#                         [--kernel 64|256|compiled] [--tn auto|256|128] [--fix auto|0|1]
#                         [--k K] [--grid N] [--check both|off]
#
# --kernel 64 (default): tests/fixtures/davinci/gemm_f16.s, 64 x 64 x 64 steps, the 910 output
#   path; 256: bench/davinci/gemm_f16_256.s, 256 x TN tiles, K steps of 64 (--tn auto: 256 where
#   L0C holds 256 x 256 f32, else 128; --fix auto: the FIX pipe where the preset has one);
#   compiled: a one-gemm fp16 workload through the compiler target (xpusim run --workload).
# --grid N: N blocks (default: one per AI core; not for compiled). --check off: skip the run
#   with the race check on (slow for large n).
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
presets=ascend910,ascend910b
sizes=512,1024,2048
kernel=64
tn=auto
fix=auto
grid=
kdim=
check=both
while [ $# -gt 0 ]; do
  case "$1" in
    --presets) presets=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --tn) tn=$2; shift 2 ;;
    --fix) fix=$2; shift 2 ;;
    --grid) grid=$2; shift 2 ;;
    --k) kdim=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-11s %-12s %5s %10s %8s %6s  %-52s %7s %7s\n' preset kernel n cycles TFLOPS cube \
  "pipe utilization (core 0)" wall_s nocheck
for n in ${sizes//,/ }; do
  k=${kdim:-$n}
  # Timing only: the operands' values are never read, only their sizes matter.
  head -c $((n * (n > k ? n : k) * 2)) /dev/zero > "$out/a.bin"
  printf 'name: gemm-%s\nops:\n  - {name: gemm, op: gemm, M: %s, N: %s, K: %s, dtype: fp16}\n' \
    "$n" "$n" "$n" "$k" > "$out/gemm.yaml"
  for p in ${presets//,/ }; do
    desc=$("$xpusim" describe "$p")
    cores=$(awk '$1 == "core.count" {print $2}' <<< "$desc")
    blocks=${grid:-$cores}
    case "$kernel" in
      64) args=(--kernel tests/fixtures/davinci/gemm_f16.s --entry gemm_f16 --grid "$blocks")
          name=gemm_f16 ;;
      256)
        t=$tn; f=$fix
        [ "$t" = auto ] && t=$(awk '$1 == "buffer.l0c_bytes" {print ($2 >= 262144 ? 256 : 128)}' <<< "$desc")
        [ "$f" = auto ] && f=$(awk '$1 == "core.fix" {print ($2 == "true" ? 1 : 0)}' <<< "$desc")
        args=(--kernel bench/davinci/gemm_f16_256.s --entry gemm_f16_256 --grid "$blocks"
              --arg tn="$t" --arg fix="$f")
        name="256x$t/$([ "$f" = 1 ] && echo fix || echo ub)" ;;
      compiled) args=(--workload "$out/gemm.yaml"); blocks=$cores; name=compiled ;;
      *) echo "unknown --kernel $kernel" >&2; exit 2 ;;
    esac
    if [ "$kernel" != compiled ]; then
      args+=(--arg a="$out/a.bin" --arg b="$out/a.bin" --arg c="$out/a.bin"
             --arg m="$n" --arg n="$n" --arg k="$k")
    fi
    walls=()
    for c in true false; do
      if [ "$c" = true ] && [ "$check" = off ]; then walls+=(-); continue; fi
      start=$(date +%s.%N)
      SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch "$p" "${args[@]}" \
        --set core.race_check=$c --no-functional --force --out "$out/run" > /dev/null
      end=$(date +%s.%N)
      walls+=("$(python3 -c "print(f'{$end - $start:.2f}')")")
    done
    python3 - "$out/run/stats.json" "$p" "$n" "${walls[0]}" "${walls[1]}" "$((blocks < cores ? blocks : cores))" "$name" "$k" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p, n, used, name, k = sys.argv[2], int(sys.argv[3]), int(sys.argv[6]), sys.argv[7], int(sys.argv[8])
tflops = 2 * n * n * k / s["seconds"] / 1e12
core = s["stats"]["groups"]["core0"]["groups"]
pipes = " ".join(f"{k[5:]}:{g['stats']['utilization']['value']:.2f}"
                 for k, g in core.items() if k.startswith("PIPE_"))
print(f"{p:<11} {name:<12} {n:5d} {s['total_cycles']:10d} {tflops:8.1f} "
      f"{s['macs'] / s['total_cycles'] / (used * 4096):6.1%}  {pipes:<52} {sys.argv[4]:>7} {sys.argv[5]:>7}")
PY
  done
done
