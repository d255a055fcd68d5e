#!/usr/bin/env bash
# `cmake --install` puts the binary and the presets where the installed binary finds them: the
# installed xpusim, run from another folder, lists the presets and reads them from the prefix.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cd "$prefix"
"$prefix/bin/xpusim" presets | grep tpu_lab >/dev/null  # grep -q would close the pipe early
origin=$("$prefix/bin/xpusim" describe tpu_lab | sed -n 1p)  # head would close the pipe early
case "$origin" in
  *"$prefix/share/xpusim/configs/tpu_lab.yaml"*) ;;
  *) echo "the installed xpusim read tpu_lab from elsewhere: $origin"; exit 1 ;;
esac
"$prefix/bin/xpusim" lab check --instructor --print-expected --lab "$prefix/share/xpusim/labs/01-systolic-dataflows" | grep "answers:" >/dev/null
echo "installed into $prefix: presets and labs found there"
