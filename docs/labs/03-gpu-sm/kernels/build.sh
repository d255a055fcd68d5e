#!/usr/bin/env bash
# Regenerates the lab's PTX from its CUDA sources; xpusim runs the .ptx files, which are
# committed, so neither nvcc nor a GPU is needed to do the lab. Only needed when a .cu changes
# (or to compile your own variant: see README.md).
#
#   docs/labs/03-gpu-sm/kernels/build.sh     # uses /usr/local/cuda/bin/nvcc (or $CUDA_HOME/bin)
#
# Built with nvcc 13.0 (V13.0.88). The committed .ptx files are nvcc's output, unmodified.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nvcc="${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"
cd "$here"

ptx() {  # ptx OUT.ptx SOURCE.cu [nvcc options]
    local out="$1" src="$2"
    shift 2
    echo "nvcc -arch=sm_80 -ptx -O3${*:+ $*} $src -o $out"
    "$nvcc" -arch=sm_80 -ptx -O3 "$@" "$src" -o "$out"
}

ptx fma_chain.ptx fma_chain.cu
ptx fma_ilp.ptx fma_ilp.cu
ptx transpose.ptx transpose.cu
ptx transpose_padded.ptx transpose_padded.cu        # PAD = 1
ptx transpose_pad2.ptx transpose_padded.cu -DPAD=2
ptx sgemm.ptx sgemm.cu
ptx hgemm.ptx hgemm.cu

# Every PTX file must load in xpusim (when it is built: build/release/cli/xpusim).
xpusim="$here/../../../../build/release/cli/xpusim"
if [ -x "$xpusim" ]; then
    for p in *.ptx; do
        echo "xpusim ptx-check $p"
        "$xpusim" ptx-check "$p"
    done
fi
