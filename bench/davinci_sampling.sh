#!/usr/bin/env bash
# Op sampling on the DaVinci model (sampling.ops, docs/models/davinci.md): each case runs
# timing only twice, everything simulated and with sampling.ops=N, and the script prints both
# cycle counts, the sampled run's error against the full one, the units of code it skipped, and
# the CPU seconds (user) of each run.
#
#   bench/davinci_sampling.sh [XPUSIM] [--ops N] [--presets ascend910b,ascend910] [--only REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
xpusim=build/release/cli/xpusim
n=1
presets=ascend910b
only=.
while [ $# -gt 0 ]; do
  case "$1" in
    --ops) n=$2; shift 2 ;;
    --presets) presets=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) xpusim=$1; shift ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# name | zoo model | its --param arguments
cases=(
  "bert-base|bert-base|"
  "gpt2-small|gpt2-small|"
  "vit-b-16|vit-b-16|"
  "llama-2-7b-decode|llama-2-7b-decode|"
  "llama-2-7b-prefill-l2|llama-2-7b-prefill|--param layers=2"
)

run() {  # preset workload params n dir -> "cycles skipped user_s"
  # shellcheck disable=SC2086  # the params are words
  SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 /usr/bin/time -f "%U" -o "$5.time" "$xpusim" run \
    --arch "$1" --workload "$2" $3 --set sampling.ops="$4" --no-functional --force \
    --out "$5" > /dev/null
  python3 - "$5/stats.json" "$5.time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
skipped = s["stats"]["groups"].get("op_sampling", {}).get("stats", {})  # absent when off
skipped = skipped.get("units_skipped", {}).get("value", 0)
print(s["total_cycles"], skipped, open(sys.argv[2]).read().split()[-1])
PY
}

printf '%-10s %-22s %12s %12s %8s %8s %8s %8s\n' preset case full sampled error skipped full_s samp_s
for p in ${presets//,/ }; do
  for c in "${cases[@]}"; do
    IFS='|' read -r name workload params <<< "$c"
    [[ "$name" =~ $only ]] || continue
    read -r full _ full_s <<< "$(run "$p" "$workload" "$params" 0 "$out/full")"
    read -r samp skipped samp_s <<< "$(run "$p" "$workload" "$params" "$n" "$out/samp")"
    err=$(python3 -c "print(f'{100 * ($samp - $full) / $full:+.2f}%')")
    printf '%-10s %-22s %12d %12d %8s %8d %8s %8s\n' "$p" "$name" "$full" "$samp" "$err" \
      "$skipped" "$full_s" "$samp_s"
  done
done
