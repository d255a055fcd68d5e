#!/usr/bin/env bash
# The vector add kernels of bench/davinci on DaVinci presets, timing only: for each preset, on
# one AI core and on all of them, z = x + y in f16 and f32 with the operands in the UB already
# (vadd_ub.s: the vector pipe's own rate), and streamed from global memory and back
# (vadd.s: double buffered, GM -> UB on MTE2, or GM -> L1 on MTE2 and L1 -> UB on MTE1).
# Prints the simulated cycles, the adds per second (GFLOPS, one flop an add) and per cycle per
# core, the global-memory bytes (read + written) per cycle, core 0's pipe utilizations and the
# wall-clock seconds with the race check on and off.
#
#   bench/davinci_vadd.sh [XPUSIM] [--presets ascend910,ascend910b] [--tiles 64] [--rep 128]
#                         [--rounds 1000] [--check both|off]
#
# vadd.s: each block streams --tiles tiles of --rep x 256 bytes per operand (default 64 x 32 KiB,
# so 2 MiB per operand a core: 64 MiB on ascend910's 32 cores, more than its 32 MiB L2).
# vadd_ub.s: --rounds rounds of 8 vadds of 64 iterations on each core.
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
presets=ascend910,ascend910b
tiles=64
rep=128
rounds=1000
check=both
while [ $# -gt 0 ]; do
  case "$1" in
    --presets) presets=$2; shift 2 ;;
    --tiles) tiles=$2; shift 2 ;;
    --rep) rep=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-11s %-7s %-4s %5s %10s %10s %9s %10s %9s  %-44s %7s %7s\n' preset route type cores \
  adds cycles GFLOPS adds/cyc/c GM_B/cyc "pipe utilization (core 0)" wall_s nocheck
for p in ${presets//,/ }; do
  cores=$("$xpusim" describe "$p" | awk '$1 == "core.count" {print $2}')
  for g in 1 "$cores"; do
    head -c $((g * tiles * rep * 256)) /dev/zero > "$out/v.bin"
    head -c $((g << 17)) /dev/zero > "$out/z.bin"
    for route in ub gm l1; do
      for f32 in 0 1; do
        if [ "$route" = ub ]; then
          args=(--kernel bench/davinci/vadd_ub.s --entry vadd_ub --arg z="$out/z.bin"
                --arg rounds="$rounds" --arg f32="$f32")
          adds=$((g * rounds * 8 * (8192 >> f32)))
        else
          args=(--kernel bench/davinci/vadd.s --entry vadd --arg x="$out/v.bin" --arg y="$out/v.bin"
                --arg z="$out/v.bin" --arg tiles="$tiles" --arg rep="$rep" --arg f32="$f32"
                --arg via_l1=$([ "$route" = l1 ] && echo 1 || echo 0))
          adds=$((g * tiles * rep * (128 >> f32)))
        fi
        walls=()
        for c in true false; do
          if [ "$c" = true ] && [ "$check" = off ]; then walls+=(-); continue; fi
          start=$(date +%s.%N)
          SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch "$p" "${args[@]}" --grid "$g" \
            --set core.race_check=$c --no-functional --force --out "$out/run" > /dev/null
          end=$(date +%s.%N)
          walls+=("$(python3 -c "print(f'{$end - $start:.2f}')")")
        done
        python3 - "$out/run/stats.json" "$p" "$route" "$f32" "$g" "$adds" "${walls[@]}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p, route, f32, g, adds = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
cyc = s["total_cycles"]
groups = s["stats"]["groups"]
gm = sum(groups[f"core{i}"]["stats"][k]["value"] for i in range(g)
         for k in ("gm_bytes_read", "gm_bytes_written"))
pipes = " ".join(f"{k[5:]}:{v['stats']['utilization']['value']:.2f}"
                 for k, v in groups["core0"]["groups"].items()
                 if k.startswith("PIPE_") and k not in ("PIPE_M", "PIPE_FIX"))
print(f"{p:<11} {route:<7} {'f32' if f32 else 'f16':<4} {g:5d} {adds:10d} {cyc:10d} "
      f"{adds / s['seconds'] / 1e9:9.1f} {adds / cyc / g:10.1f} {gm / cyc:9.1f}  {pipes:<44} "
      f"{sys.argv[7]:>7} {sys.argv[8]:>7}")
PY
      done
    done
  done
done
