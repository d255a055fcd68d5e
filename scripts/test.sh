#!/usr/bin/env bash
# Builds and runs the whole test suite. `scripts/test.sh` uses the Release build;
# `scripts/test.sh asan` the AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
# The asan preset builds with clang (docs/architecture.md, "Sanitizers and SystemC threads").
if [ "$preset" = asan ]; then scripts/install-deps.sh --tests --fuzz; else scripts/install-deps.sh --tests; fi
cmake --preset "$preset" >/dev/null
# As many compiles as cores: Ninja's default (cores + 2) took 497 s for a clean Release build on a
# 2-core machine, -j 2 420 s.
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
