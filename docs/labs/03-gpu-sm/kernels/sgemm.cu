// sgemm: C += A B on the CUDA cores (FP32 FMA), A (M x K), B (K x N), C (M x N), float32,
// row-major; M, N multiples of 64, K a multiple of 16.
// A block of 16 x 16 threads computes a 64 x 64 tile of C, each thread a 4 x 4 sub-tile in
// registers. Per step of 16 along K the block stages A's 64 x 16 tile (transposed) and B's
// 16 x 64 tile in shared memory; then, for each k, a thread reads 4 values of A and 4 of B
// (one float4 each) and does 4 x 4 = 16 FMAs with them: 16 FMAs per 2 shared-memory loads.
// Grid: (N / 64, M / 64).
#define BM 64
#define BN 64
#define BK 16

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K)
{
    __shared__ __align__(16) float As[BK][BM];  // As[k][m]: A's tile, transposed
    __shared__ __align__(16) float Bs[BK][BN];

    int tx = threadIdx.x, ty = threadIdx.y;
    int tid = ty * 16 + tx;
    const float* a = A + (size_t)(blockIdx.y * BM) * K;
    const float* b = B + blockIdx.x * BN;

    // The accumulators start from C (C += A B, as hgemm.cu).
    float* c = C + (size_t)(blockIdx.y * BM + ty * 4) * N + blockIdx.x * BN + tx * 4;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float4 v = *(const float4*)(c + (size_t)i * N);
        acc[i][0] = v.x;
        acc[i][1] = v.y;
        acc[i][2] = v.z;
        acc[i][3] = v.w;
    }
    for (int k0 = 0; k0 < K; k0 += BK) {
        // 256 threads x one float4 each of A (row tid / 4) and of B (row tid / 16).
        float4 av = *(const float4*)(a + (tid / 4) * K + k0 + (tid % 4) * 4);
        float4 bv = *(const float4*)(b + (size_t)(k0 + tid / 16) * N + (tid % 16) * 4);
        As[(tid % 4) * 4 + 0][tid / 4] = av.x;
        As[(tid % 4) * 4 + 1][tid / 4] = av.y;
        As[(tid % 4) * 4 + 2][tid / 4] = av.z;
        As[(tid % 4) * 4 + 3][tid / 4] = av.w;
        *(float4*)&Bs[tid / 16][(tid % 16) * 4] = bv;
        __syncthreads();

#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float4 ar = *(const float4*)&As[k][ty * 4];
            float4 br = *(const float4*)&Bs[k][tx * 4];
            float av4[4] = {ar.x, ar.y, ar.z, ar.w}, bv4[4] = {br.x, br.y, br.z, br.w};
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j)
                    acc[i][j] = fmaf(av4[i], bv4[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i)
        *(float4*)(c + (size_t)i * N) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
}
