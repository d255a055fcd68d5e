#!/usr/bin/env bash
# Regenerates bench/ptx/hgemm.ptx from hgemm.cu and checks that it assembles with ptxas for
# sm_80 without spilling registers. Only needed when hgemm.cu changes: the .ptx is committed,
# and neither nvcc nor ptxas is needed to build or run xpusim. (fma_loop.ptx is written by hand.)
#
#   bench/ptx/build.sh            # uses /usr/local/cuda/bin (or $CUDA_HOME/bin)
#
# Built with nvcc 13.0 (V13.0.88). The committed hgemm.ptx is nvcc's output, unmodified.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cuda_bin="${CUDA_HOME:-/usr/local/cuda}/bin"
nvcc="$cuda_bin/nvcc"
ptxas="$cuda_bin/ptxas"
cd "$here"

echo "nvcc -arch=sm_80 -ptx -O3 hgemm.cu -o hgemm.ptx"
"$nvcc" -arch=sm_80 -ptx -O3 hgemm.cu -o hgemm.ptx

# ptxas -v reports the registers per thread (the kernel is tuned for one 256-thread block per
# SM: at most 255) and any spills, which would put local-memory traffic into the main loop.
echo "ptxas -arch=sm_80 -v hgemm.ptx"
info="$("$ptxas" -arch=sm_80 -v hgemm.ptx -o /dev/null 2>&1)"
echo "$info"
if ! grep -q "0 bytes spill stores, 0 bytes spill loads" <<<"$info"; then
    echo "hgemm.ptx spills registers" >&2
    exit 1
fi
echo "hgemm.ptx assembles for sm_80 without spills"
