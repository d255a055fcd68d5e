// fma_ilp: fma_chain.cu rewritten with instruction-level parallelism. The same 32 FMAs per round
// and thread, but as four independent chains of 8: a warp can issue an FMA of another chain
// while the previous FMA's result is on its way. Same FMA count as fma_chain, three more FADDs
// at the end to combine the chains.
extern "C" __global__ void fma_ilp(float* out, float a, float b, int rounds)
{
    float x0 = threadIdx.x, x1 = x0 + 1.0f, x2 = x0 + 2.0f, x3 = x0 + 3.0f;
    for (int r = 0; r < rounds; ++r) {
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            x0 = fmaf(x0, a, b);
            x1 = fmaf(x1, a, b);
            x2 = fmaf(x2, a, b);
            x3 = fmaf(x3, a, b);
        }
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = (x0 + x1) + (x2 + x3);
}
