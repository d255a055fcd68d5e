#!/usr/bin/env bash
# Simulation-speed benchmark of xpusim's TPU model (see bench/README.md).
#
#   bench/tpu_speed.sh [path/to/xpusim] [--out DIR] [--runs N] [--only REGEX] [--no-hyperfine]
#
# Runs every case several times and prints a Markdown table: simulated cycles (stats.json
# total_cycles), median wall seconds, simulated cycles per wall second, median CPU seconds
# (user + sys) and peak RSS. Wall time comes from hyperfine when it is installed, otherwise
# from the script's own runs (median of N). CPU time and peak RSS always come from
# /usr/bin/time -v over N runs. Everything is written under --out (default
# /tmp/xpusim-bench), never into the source tree.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
xpusim="$root/build/release/cli/xpusim"
out=/tmp/xpusim-bench
runs=5
only=
use_hyperfine=auto

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --only) only=$2; shift 2 ;;
    --only=*) only=${1#*=}; shift ;;
    --no-hyperfine) use_hyperfine=no; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "tpu_speed.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) xpusim=$1; shift ;;
  esac
done

die() { echo "tpu_speed.sh: $*" >&2; exit 1; }
[[ -x $xpusim ]] || die "no xpusim binary at $xpusim (build first: cmake --preset release && cmake --build --preset release, or pass its path)"
xpusim=$(cd "$(dirname "$xpusim")" && pwd)/$(basename "$xpusim")
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive integer"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian: apt-get install time)"
out=$(realpath -m -- "$out")
root=$(realpath -- "$root")
case "$out" in
  "$root"|"$root"/*) die "--out $out is inside the source tree; pick a folder outside it" ;;
esac
if [[ $use_hyperfine == auto ]]; then
  if command -v hyperfine >/dev/null; then use_hyperfine=yes; else use_hyperfine=no; fi
fi
mkdir -p "$out"

gemm="$root/workloads/examples/gemm-1000.yaml"
resnet="$root/workloads/examples/resnet18-convs.yaml"
cnn="$root/workloads/examples/small-cnn.yaml"
[[ -f $gemm && -f $resnet && -f $cnn ]] || die "workloads not found under $root/workloads/examples"

# name | workload | functional (on/off) | xpusim arguments (arch and overrides)
cases=()
add() { cases+=("$1|$2|$3|$4"); }
for a in 32 128; do
  sc="--arch tpu-scalesim --set array.rows=$a --set array.cols=$a"
  for df in os ws is; do
    add "gemm1000-scalesim${a}-$df" "$gemm" off "$sc --set array.dataflow=$df"
  done
  add "gemm1000-scalesim${a}-ws-func" "$gemm" on "$sc --set array.dataflow=ws"
done
add gemm1000-tpu_v1 "$gemm" off "--arch tpu_v1"
add gemm1000-tpu_v1-func "$gemm" on "--arch tpu_v1"
add gemm1000-tpu_v4 "$gemm" off "--arch tpu_v4_core"
add gemm1000-tpu_v4-func "$gemm" on "--arch tpu_v4_core"
add resnet18-tpu_v4 "$resnet" off "--arch tpu_v4_core"
add resnet18-tpu_v4-func "$resnet" on "--arch tpu_v4_core"
add resnet18-scalesim32-ws "$resnet" off "--arch tpu-scalesim --set array.dataflow=ws"
add resnet18-scalesim32-ws-func "$resnet" on "--arch tpu-scalesim --set array.dataflow=ws"
# RTL in the loop (docs/rtl.md): the same run with every matmul on the verilated 16x16 array;
# the pairs give --rtl's slowdown. Skipped when xpusim was built without Verilator.
for wl in small-cnn resnet18; do
  f=$([[ $wl == small-cnn ]] && echo "$cnn" || echo "$resnet")
  add "$wl-tpu_lab-func" "$f" on "--arch tpu_lab"
  add "$wl-tpu_lab-rtl" "$f" on "--arch tpu_lab --rtl"
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else printf "%.6f\n", (v[NR/2]+v[NR/2+1])/2}'; }
now_s() { echo "${EPOCHREALTIME/,/.}"; }  # bash >= 5: microsecond wall clock
# value of array.<key> in a config.resolved.yaml
array_key() { awk -v k="$2" '/^array:/{in_a=1; next} /^[^ #]/{in_a=0} in_a && $1==k":"{print $2; exit}' "$1"; }

machine="$(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
header="| case | array | dataflow | functional | simulated cycles | wall s (median) | sim cycles/s | cpu s (median) | peak RSS MiB |"
rule="|---|---|---|---|---:|---:|---:|---:|---:|"
rows=()
timer=$([[ $use_hyperfine == yes ]] && echo "hyperfine $(hyperfine --version | awk '{print $2}')" || echo "bash EPOCHREALTIME")
echo "xpusim: $xpusim"
echo "machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs per case: $runs; wall time from $timer; cpu time and RSS from /usr/bin/time -v"
echo "results: $out"
echo

for c in "${cases[@]}"; do
  IFS='|' read -r name wl func args <<<"$c"
  [[ -z $only || $name =~ $only ]] || continue
  dir="$out/$name"
  mkdir -p "$dir"
  # shellcheck disable=SC2206  # args is a list of words by construction
  cmd=("$xpusim" run $args --workload "$wl" --out "$dir/run")
  [[ $func == off ]] && cmd+=(--no-functional)
  printf '%q ' "${cmd[@]}" >"$dir/command.txt"; echo >>"$dir/command.txt"
  echo "== $name" >&2
  # First run: warm-up, and it must succeed and give the expected check.
  if ! "${cmd[@]}" >"$dir/stdout.txt" 2>&1; then
    if grep -q "built without Verilator" "$dir/stdout.txt"; then
      echo "   skipped: xpusim was built without Verilator" >&2
      continue
    fi
    cat "$dir/stdout.txt" >&2
    die "$name failed"
  fi
  stats="$dir/run/stats.json"
  cycles=$(sed -n 's/^ *"total_cycles": *\([0-9]*\).*/\1/p' "$stats" | head -1)
  check=$(sed -n 's/^ *"functional_check": *"\([a-z]*\)".*/\1/p' "$stats" | head -1)
  want=$([[ $func == on ]] && echo passed || echo skipped)
  [[ $check == "$want" ]] || die "$name: functional_check is '$check', expected '$want'"
  cfg="$dir/run/config.resolved.yaml"
  count=$(array_key "$cfg" count)
  array="$(array_key "$cfg" rows)x$(array_key "$cfg" cols)"
  [[ $count == 1 ]] || array="${count}x ${array}"
  dataflow=$(array_key "$cfg" dataflow)

  walls=() cpus=() rss=0
  for ((i = 0; i < runs; i++)); do
    t0=$(now_s)
    /usr/bin/time -v -o "$dir/time.$i.txt" "${cmd[@]}" >"$dir/last_run.txt" 2>&1 ||
      { tail -n 20 "$dir/last_run.txt" >&2; die "$name failed on run $i"; }
    t1=$(now_s)
    walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}')")
    u=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$dir/time.$i.txt")
    s=$(sed -n 's/^[[:space:]]*System time (seconds): //p' "$dir/time.$i.txt")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')")
    r=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$dir/time.$i.txt")
    ((r > rss)) && rss=$r
  done
  if [[ $use_hyperfine == yes ]]; then
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" \
      "$(printf '%q ' "${cmd[@]}")" >"$dir/hyperfine.txt" 2>&1 || { cat "$dir/hyperfine.txt" >&2; die "$name: hyperfine failed"; }
    wall=$(sed -n 's/^ *"median": *\([0-9.eE+-]*\).*/\1/p' "$dir/hyperfine.json" | head -1)
  else
    wall=$(printf '%s\n' "${walls[@]}" | median)
  fi
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  row=$(awk -v n="$name" -v a="$array" -v d="$dataflow" -v f="$func ($check)" -v c="$cycles" \
    -v w="$wall" -v cpu="$cpu" -v r="$rss" \
    'BEGIN{printf "| %s | %s | %s | %s | %d | %.3f | %.0f | %.2f | %.0f |", n, a, d, f, c, w, c/w, cpu, r/1024}')
  rows+=("$row")
  printf '%s\n' "$wall" >"$dir/wall_median.txt"
done

{
  echo "xpusim speed, $(date -u '+%Y-%m-%d %H:%M UTC'), $machine, load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "wall time: median of $runs runs ($timer); cpu = user + sys, median of $runs runs; peak RSS = max over runs"
  echo
  echo "$header"
  echo "$rule"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
