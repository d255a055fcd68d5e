#!/usr/bin/env bash
# A compiled GEMM split over 1, 2, 4, ... AI cores of a DaVinci preset (core.count), timing only:
# per core count the simulated cycles, the speedup over one core and its efficiency, the cube's
# share of its peak, and the contention on the shared memory side: the L2 slices' and the HBM
# channels' busy share, and how many requests (L2) and 32-byte transfers (HBM) wait for their
# server on average (their queueing cycles per cycle of the run, Little's law).
#
#   bench/davinci_scaling.sh [XPUSIM] [--preset ascend910] [--size 2048] [--dtype fp16]
#                            [--cores 1,2,4,8,16,32]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
preset=ascend910
size=2048
dtype=fp16
cores=1,2,4,8,16,32
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --dtype) dtype=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/gemm.yaml" <<YAML
name: gemm-$size
inputs:
  - {name: a, shape: [$size, $size], dtype: $dtype}
ops:
  - {name: fc, op: gemm, inputs: [a], N: $size}
YAML
printf '%-11s %5s %5s %10s %7s %6s %6s %7s %9s %7s %9s\n' preset n cores cycles speedup eff cube \
  l2_busy l2_wait dram dram_wait
param() { "$xpusim" describe "$preset" | awk -v k="$1" '$1 == k {print $2}'; }
slices=$(param l2.slices)
channels=$(param memory.channels)
base=""
for c in ${cores//,/ }; do
  SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$xpusim" run --arch "$preset" --workload "$out/gemm.yaml" \
    --set core.count="$c" --no-functional --force --out "$out/run-$c" > /dev/null
  cycles=$(python3 -c "import json; print(json.load(open('$out/run-$c/stats.json'))['total_cycles'])")
  base=${base:-$cycles}
  python3 - "$out/run-$c/stats.json" "$preset" "$size" "$c" "$base" "$slices" "$channels" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
preset, n, c, base = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
slices, channels = int(sys.argv[6]), int(sys.argv[7])
t = s["total_cycles"]
g = s["stats"]["groups"]
l2, dram = g["l2"]["stats"], g["dram"]["stats"]
speedup = base / t
print(f"{preset:<11} {n:5d} {c:5d} {t:10d} {speedup:7.2f} {speedup / c:6.1%} "
      f"{s['macs'] / (t * c * 4096):6.1%} {l2['busy_cycles']['value'] / (t * slices):7.1%} "
      f"{l2['queue_cycles']['value'] / t:9.1f} {dram['busy_cycles']['value'] / (t * channels):7.1%} "
      f"{dram['queue_cycles']['value'] / t:9.1f}")
PY
done
