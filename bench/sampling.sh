#!/usr/bin/env bash
# Sampling in the GPU and DaVinci models (docs/models/gpu.md, docs/models/davinci.md): each case
# runs timing only twice, everything simulated and sampled, and the script prints both cycle
# counts, the sampled run's error against the full one, what the sampled run skipped, and the
# CPU seconds (user) of each run. The mode is one sampling parameter:
#   --waves W     sampling.waves=W (the default, W = 2): a GPU launch's waves of blocks;
#   --launches N  sampling.launches=N: repeated GPU launches;
#   --ops N       sampling.ops=N: repeated DaVinci code between sync_alls.
# The presets default to a100 (waves, launches) or ascend910b (ops).
#
#   bench/sampling.sh [XPUSIM] [--waves W | --launches N | --ops N] [--presets P,Q] [--only REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
mode=waves
n=2
presets=
only=.
while [ $# -gt 0 ]; do
  case "$1" in
    --waves) mode=waves; n=$2; shift 2 ;;
    --launches) mode=launches; n=$2; shift 2 ;;
    --ops) mode=ops; n=$2; shift 2 ;;
    --presets) presets=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
[ -n "$presets" ] || presets=$([ "$mode" = ops ] && echo ascend910b || echo a100)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# name | workload (a file, or a zoo model) | its --param arguments
gemm() {  # name M N K dtype
  printf 'name: %s\nops:\n  - {name: gemm, op: gemm, M: %s, N: %s, K: %s, dtype: %s}\n' \
    "$1" "$2" "$3" "$4" "$5" > "$out/$1.yaml"
  echo "$1|$out/$1.yaml|"
}
cases=(
  "$(gemm gemm-4096-fp16 4096 4096 4096 fp16)"
  "$(gemm gemm-4096x4096x1024-fp16 4096 4096 1024 fp16)"
  "$(gemm gemm-8192x4096x512-bf16 8192 4096 512 bf16)"
  "$(gemm gemm-3072x3072x768-fp32 3072 3072 768 fp32)"
  "resnet-50-b8|resnet-50|--param batch=8"
  "bert-base|bert-base|"
  "bert-base-s512|bert-base|--param seq=512"
  "gpt2-small|gpt2-small|"
  "vit-b-16|vit-b-16|"
  "llama-2-7b-decode|llama-2-7b-decode|"
  "llama-2-7b-decode-b8|llama-2-7b-decode|--param batch=8"
  "llama-2-7b-prefill-l2|llama-2-7b-prefill|--param layers=2"
)

run() {  # preset workload params n dir -> "cycles skipped user_s"
  # shellcheck disable=SC2086  # the params are words
  SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 /usr/bin/time -f "%U" -o "$5.time" "$xpusim" run \
    --arch "$1" --workload "$2" $3 --set sampling."$mode"="$4" --no-functional --force \
    --out "$5" > /dev/null
  python3 - "$5/stats.json" "$5.time" "$mode" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
# What was skipped: a group of its own (absent when nothing is sampled), or blocks of waves.
group, stat = {"waves": ("sampling", "blocks_skipped"), "launches": ("launch_sampling",
               "launches_skipped"), "ops": ("op_sampling", "units_skipped")}[sys.argv[3]]
g = s["stats"]["groups"].get(group, {}).get("stats", {})
print(s["total_cycles"], g.get(stat, {}).get("value", 0), open(sys.argv[2]).read().split()[-1])
PY
}

printf '%-10s %-26s %12s %12s %8s %9s %8s %8s\n' preset case full sampled error skipped full_s samp_s
for p in ${presets//,/ }; do
  for c in "${cases[@]}"; do
    IFS='|' read -r name workload params <<< "$c"
    [[ "$name" =~ $only ]] || continue
    read -r full _ full_s <<< "$(run "$p" "$workload" "$params" 0 "$out/full")"
    read -r samp skipped samp_s <<< "$(run "$p" "$workload" "$params" "$n" "$out/samp")"
    err=$(python3 -c "print(f'{100 * ($samp - $full) / $full:+.2f}%')")
    printf '%-10s %-26s %12d %12d %8s %9d %8s %8s\n' "$p" "$name" "$full" "$samp" "$err" \
      "$skipped" "$full_s" "$samp_s"
  done
done
