#!/usr/bin/env bash
# Dispatcher scaling benchmark of xpusim's TPU model (see bench/README.md).
#
#   bench/dispatch_scaling.sh [path/to/xpusim] [--out DIR] [--runs N] [--sizes "1000 2000 4000"]
#                             [--depths "4 64 256"]
#
# Cost per dispatched instruction and peak memory against the program's length (an int8 GEMM
# of size S^3) and the in-flight window (dispatch.queue_depth = D), on tpu-scalesim with the
# os dataflow, 32x32, timing only. For each (S, D) it runs the simulation once as a warm-up
# (which gives the dispatched instructions, stats.json dispatcher.instructions), then N times
# under /usr/bin/time -v, and prints a Markdown table: median wall and CPU (user + sys)
# seconds, both divided by the instruction count (microseconds per instruction, start-up
# included), the wall time per instruction above start-up (less the median wall time of a
# 32^3 GEMM, a few instructions) and peak RSS (max over the runs). Everything is written
# under --out (default /tmp/xpusim-dispatch-bench), never into the source tree.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
xpusim="$root/build/release/cli/xpusim"
out=/tmp/xpusim-dispatch-bench
runs=5
sizes="1000 2000 4000"
depths="4 64 256"

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --sizes) sizes=$2; shift 2 ;;
    --sizes=*) sizes=${1#*=}; shift ;;
    --depths) depths=$2; shift 2 ;;
    --depths=*) depths=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "dispatch_scaling.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) xpusim=$1; shift ;;
  esac
done

die() { echo "dispatch_scaling.sh: $*" >&2; exit 1; }
[[ -x $xpusim ]] || die "no xpusim binary at $xpusim (build first: cmake --preset release && cmake --build --preset release, or pass its path)"
xpusim=$(cd "$(dirname "$xpusim")" && pwd)/$(basename "$xpusim")
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive integer"
for s in $sizes $depths; do [[ $s =~ ^[1-9][0-9]*$ ]] || die "sizes and depths are positive integers (got '$s')"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian: apt-get install time)"
out=$(realpath -m -- "$out")
root=$(realpath -- "$root")
case "$out" in
  "$root"|"$root"/*) die "--out $out is inside the source tree; pick a folder outside it" ;;
esac
mkdir -p "$out"

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else printf "%.6f\n", (v[NR/2]+v[NR/2+1])/2}'; }
now_s() { echo "${EPOCHREALTIME/,/.}"; }  # bash >= 5: microsecond wall clock

machine="$(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
echo "xpusim: $xpusim"
echo "machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs per case: $runs; results: $out"
echo

rows=()
base=
for s in 32 $sizes; do
  wl="$out/gemm-$s.yaml"
  cat >"$wl" <<EOF
name: gemm-$s
description: int8 GEMM $s x $s x $s (bench/dispatch_scaling.sh)
ops:
  - {name: gemm, op: gemm, M: $s, N: $s, K: $s, dtype: int8}
EOF
  # The 32^3 GEMM only measures the start-up (reading the preset, compiling, writing results).
  qs=$([[ $s == 32 ]] && echo 4 || echo "$depths")
  for q in $qs; do
    name="gemm$s-q$q"
    dir="$out/$name"
    mkdir -p "$dir"
    cmd=("$xpusim" run --arch tpu-scalesim --set array.dataflow=os --set array.rows=32
      --set array.cols=32 --set "dispatch.queue_depth=$q" --workload "$wl" --out "$dir/run"
      --force --no-functional)
    printf '%q ' "${cmd[@]}" >"$dir/command.txt"; echo >>"$dir/command.txt"
    echo "== $name" >&2
    "${cmd[@]}" >"$dir/stdout.txt" 2>&1 || { cat "$dir/stdout.txt" >&2; die "$name failed"; }
    stats="$dir/run/stats.json"
    cycles=$(sed -n 's/^ *"total_cycles": *\([0-9]*\).*/\1/p' "$stats" | head -1)
    # "dispatcher": {... "instructions": {"value": N, ...}}: the first value after "dispatcher".
    instrs=$(awk '/"dispatcher"/{d=1} d && /"value"/{gsub(/[^0-9]/, ""); print; exit}' "$stats")
    [[ $instrs =~ ^[0-9]+$ && $instrs -gt 0 ]] || die "$name: no dispatcher.instructions in $stats"
    walls=() cpus=() rss=0
    for ((i = 0; i < runs; i++)); do
      t0=$(now_s)
      /usr/bin/time -v -o "$dir/time.$i.txt" "${cmd[@]}" >"$dir/last_run.txt" 2>&1 ||
        { tail -n 20 "$dir/last_run.txt" >&2; die "$name failed on run $i"; }
      t1=$(now_s)
      walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}')")
      u=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$dir/time.$i.txt")
      sy=$(sed -n 's/^[[:space:]]*System time (seconds): //p' "$dir/time.$i.txt")
      cpus+=("$(awk -v u="$u" -v s="$sy" 'BEGIN{printf "%.2f", u+s}')")
      r=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$dir/time.$i.txt")
      ((r > rss)) && rss=$r
    done
    wall=$(printf '%s\n' "${walls[@]}" | median)
    cpu=$(printf '%s\n' "${cpus[@]}" | median)
    if [[ $s == 32 ]]; then
      base=$wall
      echo "start-up: 32^3 GEMM ($instrs instructions), median wall $wall s, peak RSS $((rss / 1024)) MiB" >"$out/startup.txt"
      continue
    fi
    rows+=("$(awk -v n="$s^3" -v q="$q" -v i="$instrs" -v c="$cycles" -v w="$wall" -v cpu="$cpu" \
      -v r="$rss" -v b="$base" 'BEGIN{printf "| %s | %d | %d | %d | %.3f | %.2f | %.2f | %.2f | %.2f | %.1f |", n, q, i, c, w, 1e6*w/i, 1e6*(w-b)/i, cpu, 1e6*cpu/i, r/1024}')")
  done
done

{
  echo "xpusim dispatcher scaling, $(date -u '+%Y-%m-%d %H:%M UTC'), $machine, load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "tpu-scalesim 32x32 os, --no-functional; median of $runs runs; peak RSS = max over runs"
  cat "$out/startup.txt"
  echo
  echo "| GEMM | queue_depth | instructions | simulated cycles | wall s | wall us/instr | above start-up us/instr | cpu s | cpu us/instr | peak RSS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
