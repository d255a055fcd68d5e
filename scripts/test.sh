#!/usr/bin/env bash
# Builds and runs the whole test suite. `scripts/test.sh` uses the Release build;
# `scripts/test.sh asan` the AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
# The asan preset builds with clang (docs/architecture.md, "Sanitizers and SystemC threads").
if [ "$preset" = asan ]; then scripts/install-deps.sh --tests --fuzz; else scripts/install-deps.sh --tests; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j "$(nproc)"
