#!/usr/bin/env bash
# Timing-only runs of the model zoo (workloads/zoo/, see bench/README.md, "Model zoo").
#
#   bench/zoo.sh [--xpusim PATH] [--arch A,B,...] [--out DIR] [--sampled] [MODEL[:NAME=VALUE,...] ...]
#
# Runs each model (default: every model of the zoo at its default params) on each architecture
# (default: a preset per family, tpu_v4,ascend910b,a100; the GPU family's others are v100, h100
# and gpu_lab) with --no-functional under /usr/bin/time, and prints a Markdown table: simulated
# cycles and microseconds (stats.json), wall seconds and peak RSS. Results go under --out
# (default /tmp/xpusim-zoo-bench), never into the source tree. --sampled runs the GPU presets with
# sampling.waves=2 and sampling.launches=1 and the DaVinci ones with sampling.ops=1 (the params
# column says so; docs/models/gpu.md, docs/models/davinci.md), the TPU presets as they are.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
xpusim="$root/build/release/cli/xpusim"
archs=tpu_v4,ascend910b,a100
out=/tmp/xpusim-zoo-bench
sampled=0
models=()
while (($#)); do
  case "$1" in
    --xpusim) xpusim=$2; shift 2 ;;
    --arch) archs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sampled) sampled=1; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
    sets=()
    label=$shown
    if ((sampled)); then  # the sampling parameters the architecture has
      described=$("$xpusim" describe "$arch")
      names=()
      if grep -q '^ *sampling.launches ' <<< "$described"; then
        names=(sampling.waves=2 sampling.launches=1)
      elif grep -q '^ *sampling.ops ' <<< "$described"; then
        names=(sampling.ops=1)
      fi
      for n in "${names[@]}"; do sets+=(--set "$n"); done
      ((${#names[@]})) && label="$shown, sampled (${names[*]})"
    fi
    if ! /usr/bin/time -f "%e %M" -o "$out/time.txt" "$xpusim" run --arch "$arch" \
      --workload "$model" "${params[@]}" "${sets[@]}" --no-functional --quiet --force \
      --out "$dir" > "$out/run.log" 2>&1; then
      echo "| $model | $label | $arch | failed: $(grep -m1 error "$out/run.log") | | | |"
      continue
    fi
    read -r wall rss < "$out/time.txt"
    python3 - "$dir/stats.json" "$model" "$label" "$arch" "$wall" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
model, shown, arch, wall, rss = sys.argv[2:]
us = s["total_cycles"] / s["clock_mhz"]
print(f"| {model} | {shown} | {arch} | {s['total_cycles']:,} | {us:,.1f} | {float(wall):.2f} | {int(rss) / 1024:.0f} |")
PY
  done
done
