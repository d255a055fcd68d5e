#!/usr/bin/env bash
# Timing-only runs of the model zoo (workloads/zoo/, see bench/README.md, "Model zoo").
#
#   bench/zoo.sh [--xpusim PATH] [--arch A,B,...] [--out DIR] [MODEL[:NAME=VALUE,...] ...]
#
# Runs each model (default: every model of the zoo at its default params) on each architecture
# (default: a preset per family, tpu_v4,ascend910b,a100; the GPU family's others are v100, h100
# and gpu_lab) with --no-functional under /usr/bin/time, and prints a Markdown table: simulated
# cycles and microseconds (stats.json), wall seconds and peak RSS. Results go under --out
# (default /tmp/xpusim-zoo-bench), never into the source tree.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
xpusim="$root/build/release/cli/xpusim"
archs=tpu_v4,ascend910b,a100
out=/tmp/xpusim-zoo-bench
models=()
while (($#)); do
  case "$1" in
    --xpusim) xpusim=$2; shift 2 ;;
    --arch) archs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "zoo.sh: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[[ -x $xpusim ]] || { echo "zoo.sh: no xpusim binary at $xpusim (build first)" >&2; exit 1; }
if [ ${#models[@]} -eq 0 ]; then
  for f in "$root"/workloads/zoo/*.yaml; do models+=("$(basename "$f" .yaml)"); done
fi
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
mkdir -p "$out"

echo "| model | params | arch | simulated cycles | simulated us | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
IFS=, read -ra arch_list <<< "$archs"
for spec in "${models[@]}"; do
  model=${spec%%:*}
  params=()
  shown=defaults
  if [[ $spec == *:* ]]; then
    shown=${spec#*:}
    IFS=, read -ra kv <<< "$shown"
    for p in "${kv[@]}"; do params+=(--param "$p"); done
  fi
  for arch in "${arch_list[@]}"; do
    dir="$out/$model-$arch"
    if ! /usr/bin/time -f "%e %M" -o "$out/time.txt" "$xpusim" run --arch "$arch" \
      --workload "$model" "${params[@]}" --no-functional --quiet --force --out "$dir" \
      > "$out/run.log" 2>&1; then
      echo "| $model | $shown | $arch | failed: $(grep -m1 error "$out/run.log") | | | |"
      continue
    fi
    read -r wall rss < "$out/time.txt"
    python3 - "$dir/stats.json" "$model" "$shown" "$arch" "$wall" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
model, shown, arch, wall, rss = sys.argv[2:]
us = s["total_cycles"] / s["clock_mhz"]
print(f"| {model} | {shown} | {arch} | {s['total_cycles']:,} | {us:,.1f} | {float(wall):.2f} | {int(rss) / 1024:.0f} |")
PY
  done
done
