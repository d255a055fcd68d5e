#!/usr/bin/env bash
# Installs what xpusim needs, if any of it is missing (run as root, or with sudo available):
# Debian 12 packages, and the npm packages of the HTML report (report/package-lock.json, into
# report/node_modules). `--tests` adds what only the tests need: Debian's Chromium, in which
# the browser test opens a compare report, ONNX's node tests (libonnx-testdata), numpy and
# Python's onnx (tests/models/transformer_exports.py writes transformer exports with test data),
# PyTorch with torchvision and torchaudio (tests/models/torch_exports.py exports their networks)
# and the real exported ONNX models the tests import (tests/models/package-lock.json, from npm);
# `--fuzz` clang and its runtimes, libFuzzer's and the sanitizers' (Debian 12's clang-14 only
# recommends libclang-rt-14-dev), for scripts/fuzz.sh and the asan preset (`scripts/test.sh
# asan`). Does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(g++ make cmake ninja-build pkg-config libsystemc-dev verilator zlib1g-dev
          libyaml-cpp-dev libfmt-dev nlohmann-json3-dev libcli11-dev libboost-dev catch2 python3
          libonnx-dev libprotobuf-dev)
test_models=false
for option in "$@"; do
  case "$option" in
    --tests)
      packages+=(chromium libonnx-testdata python3-numpy python3-onnx python3-torch
                 python3-torchvision python3-torchaudio)
      test_models=true ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option $option (--tests, --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm from Debian unless the machine has them already (from any source).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "xpusim: installing missing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The report's plotting libraries, at the versions of the lock file.
if [ ! report/node_modules/.package-lock.json -nt report/package-lock.json ]; then
  echo "xpusim: installing the report's npm packages (report/package-lock.json)"
  npm ci --prefix report --no-audit --no-fund --loglevel=error
fi
# Real exported ONNX models for the tests, at the versions of their lock file.
if $test_models && [ ! tests/models/node_modules/.package-lock.json -nt tests/models/package-lock.json ]; then
  echo "xpusim: installing the tests' ONNX models (tests/models/package-lock.json)"
  npm ci --prefix tests/models --no-audit --no-fund --loglevel=error
fi
