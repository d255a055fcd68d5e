// fma_chain: latency-bound on purpose. Each thread runs `rounds` rounds of 32 dependent FMAs
// (every FMA needs the result of the one before), so a warp can issue its next FMA only when
// the previous one's result is ready: one warp alone leaves the FP32 pipe idle most of the
// time, and only other warps can fill the gaps. out[i] keeps each thread's result so that the
// compiler cannot drop the work.
extern "C" __global__ void fma_chain(float* out, float a, float b, int rounds)
{
    float x = threadIdx.x;
    for (int r = 0; r < rounds; ++r) {
#pragma unroll
        for (int k = 0; k < 32; ++k)
            x = fmaf(x, a, b);
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = x;
}
