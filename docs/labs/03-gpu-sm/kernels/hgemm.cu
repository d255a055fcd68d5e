// hgemm: C += A B on the tensor cores, A (M x K) and B (K x N) half, C (M x N) float32, all
// row-major; M, N multiples of 128, K a multiple of 16. Written with inline PTX: ldmatrix
// loads fragments from shared memory into registers, mma.sync.m16n8k16 multiplies them
// (16 x 8 x 16 = 2048 multiply-adds per warp-instruction).
// A block of 4 warps (2 x 2) computes a 128 x 128 tile of C, each warp a 64 x 64 part of it:
// 4 x 8 mma tiles of 16 x 8, whose accumulators (128 floats per thread) stay in registers.
// Per step of 16 along K the block stages A's 128 x 16 tile and B's 16 x 128 tile in shared
// memory, rows padded by 8 halves (16 bytes) so that ldmatrix reads them without bank
// conflicts; then a warp loads 4 A fragments (ldmatrix.x4) and 8 B fragments
// (4 x ldmatrix.x4.trans) and issues 4 x 8 = 32 mma.sync: 32 mma per 8 ldmatrix.
// Grid: (N / 128, M / 128); block: 128 threads.
#include <cuda_fp16.h>
#include <stdint.h>

#define BM 128
#define BN 128
#define BK 16
#define PAD 8

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* p)
{
    uint32_t a = (uint32_t)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* p)
{
    uint32_t a = (uint32_t)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ void mma_16816(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

extern "C" __global__ void hgemm(const half* A, const half* B, float* C, int M, int N, int K)
{
    __shared__ __align__(16) half As[BM][BK + PAD];
    __shared__ __align__(16) half Bs[BK][BN + PAD];

    int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    int wm = (warp / 2) * 64, wn = (warp % 2) * 64;  // the warp's 64 x 64 in the block tile
    int g = lane / 4, t = lane % 4;

    // The accumulators start from C. Layout of a 16 x 8 tile: c[0], c[1] at row g, columns
    // 2t, 2t + 1; c[2], c[3] at row g + 8.
    float acc[4][8][4];
    float* c0 = C + (size_t)(blockIdx.y * BM + wm + g) * N + blockIdx.x * BN + wn + 2 * t;
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            float2 lo = *(const float2*)(c0 + (size_t)(i * 16) * N + j * 8);
            float2 hi = *(const float2*)(c0 + (size_t)(i * 16 + 8) * N + j * 8);
            acc[i][j][0] = lo.x;
            acc[i][j][1] = lo.y;
            acc[i][j][2] = hi.x;
            acc[i][j][3] = hi.y;
        }

    const half* a = A + (size_t)(blockIdx.y * BM) * K;
    const half* b = B + blockIdx.x * BN;
    const int chunks = BK / 8;  // 16-byte chunks (8 halves) per row of A's tile
    for (int k0 = 0; k0 < K; k0 += BK) {
        // Each thread copies BK / 8 chunks of A's tile and as many of B's: all loads first,
        // then the stores, so that the loads are in flight together.
        uint4 ra[BK / 8], rb[BK / 8];
#pragma unroll
        for (int i = 0; i < BK / 8; ++i) {
            int c = tid + i * 128;
            ra[i] = *(const uint4*)(a + (size_t)(c / chunks) * K + k0 + (c % chunks) * 8);
            rb[i] = *(const uint4*)(b + (size_t)(k0 + c / 16) * N + (c % 16) * 8);
        }
#pragma unroll
        for (int i = 0; i < BK / 8; ++i) {
            int c = tid + i * 128;
            *(uint4*)&As[c / chunks][(c % chunks) * 8] = ra[i];
            *(uint4*)&Bs[c / 16][(c % 16) * 8] = rb[i];
        }
        __syncthreads();

#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            // A fragment of rows wm + 16 i: lane l points at row l % 16, column 8 (l / 16).
            uint32_t af[4][4];
#pragma unroll
            for (int i = 0; i < 4; ++i)
                ldmatrix_x4(af[i], &As[wm + i * 16 + lane % 16][kk + (lane / 16) * 8]);
            // B fragments of columns wn + 16 j .. +15 (two n8 tiles), transposed on load.
            uint32_t bf[8][2];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                uint32_t r[4];
                ldmatrix_x4_trans(r, &Bs[kk + lane % 16][wn + j * 16 + (lane / 16) * 8]);
                bf[2 * j][0] = r[0];
                bf[2 * j][1] = r[1];
                bf[2 * j + 1][0] = r[2];
                bf[2 * j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j)
                    mma_16816(acc[i][j], af[i], bf[j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            *(float2*)(c0 + (size_t)(i * 16) * N + j * 8) = make_float2(acc[i][j][0], acc[i][j][1]);
            *(float2*)(c0 + (size_t)(i * 16 + 8) * N + j * 8) = make_float2(acc[i][j][2], acc[i][j][3]);
        }
}
