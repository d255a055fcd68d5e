#!/usr/bin/env bash
# Fuzzes every input format: builds the libFuzzer targets of tests/fuzz/ (the `fuzz` preset:
# clang, ASan + UBSan) and runs them, all at once, for SECONDS each (default 30) on a copy of
# their committed seed corpora. Exits nonzero on any finding (a crash, a sanitizer report, an
# exception other than xpusim::Error, a broken round trip, a hang, too much memory) and prints
# the reproducer: replay it with `build/fuzz/tests/fuzz/fuzz_<target> FILE`, fix the cause and
# add the file to tests/fuzz/regressions/<target>/ (docs/architecture.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"  # as scripts/test.sh builds

export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
work=build/fuzz/run
rm -rf "$work"
targets=(workload arch asm binary onnx ptx davinci)
pids=()
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/findings/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/$t/"
  # .seeds: globs of the tree's own files that are seeds too (examples, fixtures, presets).
  if [ -f "tests/fuzz/corpus/$t/.seeds" ]; then
    while read -r glob; do
      for f in $glob; do cp "$f" "$work/corpus/$t/${f//\//_}"; done
    done < "tests/fuzz/corpus/$t/.seeds"
  fi
  # The onnx target starts from the transformer exports the tests write too (needs Python's onnx,
  # scripts/install-deps.sh --tests).
  if [ "$t" = onnx ] && /usr/bin/python3 tests/models/transformer_exports.py "$work/exports" \
      >/dev/null 2>&1; then
    cp "$work"/exports/*.onnx "$work/corpus/$t/"
  fi
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=("-dict=tests/fuzz/dict/$t.dict")
  build/fuzz/tests/fuzz/fuzz_"$t" "$work/corpus/$t" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$work/findings/$t/" >"$work/$t.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if wait "${pids[$i]}"; then
    echo "fuzz_$t: $(grep -m1 '^Done' "$work/$t.log" || echo done), no finding"
  else
    failed=1
    echo "fuzz_$t: FINDING (log: $work/$t.log)"
    grep -E 'ERROR|runtime error|terminate called|what\(\)|SUMMARY' "$work/$t.log" | head -n 8 || true
    for f in "$work/findings/$t"/*; do
      [ -e "$f" ] && echo "  reproducer: $f (build/fuzz/tests/fuzz/fuzz_$t $f)"
    done
  fi
done
exit "$failed"
