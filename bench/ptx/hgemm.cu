// hgemm: C = A * B on the tensor cores, an Ampere (sm_80) kernel of the kind cuBLAS and CUTLASS
// run for large fp16 GEMMs with fp32 accumulation. It is the workload for validating the GPU
// timing model on large GEMMs (1024 .. 8192) against published A100 throughput.
//
//   A: half,  M x K, row-major (element (m, k) at A[m * K + k])
//   B: half,  K x N, row-major (element (k, n) at B[k * N + n])
//   C: float, M x N, row-major (element (m, n) at C[m * N + n]); written, never read
//
// Requirement (not checked at run time): M a multiple of 128, N a multiple of 256, K a multiple
// of 32, all positive. M is not a parameter: the grid gives it.
//
// Launch: grid (N / 256, M / 128), block 256 threads, 98304 bytes of dynamic shared memory
// (on a real GPU: cudaFuncSetAttribute(hgemm, cudaFuncAttributeMaxDynamicSharedMemorySize,
// 98304) first, as it is over the default 48 KiB).
//
// Tiling
// - Block tile: 128 x 256 of C (BM x BN); the K loop steps by K tiles of BK = 32.
// - 8 warps as 2 (along M) x 4 (along N); each warp owns a 64 x 64 tile of C, i.e. 4 x 8
//   mma.sync m16n8k16 tiles, 128 fp32 accumulators per thread. Per 16-wide K step a warp loads
//   4 A fragments (ldmatrix.x4) and 8 B fragments (4 ldmatrix.x4.trans) and issues 32 mma.
// - 4-stage cp.async pipeline: a stage holds the A tile (128 x 32) and the B tile (32 x 256) of
//   one K tile, 8 KiB + 16 KiB. While tile kt is multiplied, tiles kt+1 .. kt+3 are in flight.
//   Each thread copies 2 + 4 chunks of 16 bytes per stage with cp.async.cg (L2 only).
// - One __syncthreads per K tile, before the last mma step of tile kt: after it, tile kt+1 has
//   landed for every thread (each waited for its own copies with cp.async.wait_group), and its
//   first fragments load while the last step's mma run; every warp has loaded all of its
//   fragments of tile kt, whose stage is refilled with tile kt+4 in the next iteration.
// - Fragments are double-buffered in registers: those of the next 16-wide K step load before
//   the mma of the current one.
//
// Shared-memory layout of a stage (byte offsets; "chunk" = 16 bytes = 8 halves)
// - A tile at 0: row m (0..127) is 64 bytes = 4 chunks; chunk c of row m is stored at chunk
//   position c ^ ((m / 2) % 4). ldmatrix reads one chunk column of 8 consecutive rows per 8x8
//   matrix: without the XOR those 8 rows would sit in 2 of the 8 bank groups (4-way conflict);
//   with it the (m % 2, m / 2 % 4) pairs put them in 8 different bank groups.
// - B tile at 8192: row k (0..31) is 512 bytes = 32 chunks; chunk c of row k is stored at
//   chunk position c ^ (k % 8). ldmatrix.trans reads the same chunk column of 8 consecutive k
//   rows, which without the XOR all fall in the same bank group (8-way conflict).
// The cp.async writes of a quarter warp (8 threads x 16 bytes) are conflict-free as well: they
// cover two whole A rows or 8 aligned chunks of one B row, and the XOR permutes chunks within
// those groups.
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

constexpr int BM = 128;
constexpr int BN = 256;
constexpr int BK = 32;
constexpr int WARPS_M = 2;
constexpr int WARPS_N = 4;
constexpr int THREADS = 32 * WARPS_M * WARPS_N;  // 256
constexpr int WM = BM / WARPS_M;                 // 64: a warp's rows of C
constexpr int WN = BN / WARPS_N;                 // 64: a warp's columns of C
constexpr int MT = WM / 16;                      // 4 m16 tiles per warp
constexpr int NT = WN / 8;                       // 8 n8 tiles per warp
constexpr int KSTEPS = BK / 16;                  // 2 mma K steps (16 wide) per K tile
constexpr int STAGES = 4;

constexpr int A_ROW_BYTES = BK * 2;                       // 64
constexpr int B_ROW_BYTES = BN * 2;                       // 512
constexpr int A_TILE_BYTES = BM * A_ROW_BYTES;            // 8192
constexpr int B_TILE_BYTES = BK * B_ROW_BYTES;            // 16384
constexpr int STAGE_BYTES = A_TILE_BYTES + B_TILE_BYTES;  // 24576
constexpr int SMEM_BYTES = STAGES * STAGE_BYTES;          // 98304

// Copies per thread and stage: the A tile is 512 chunks, the B tile 1024.
constexpr int A_COPIES = BM * BK / 8 / THREADS;  // 2, rows tid/4 + 64 j
constexpr int B_COPIES = BK * BN / 8 / THREADS;  // 4, rows tid/32 + 8 j
constexpr int A_ROWS_PER_COPY = THREADS / (BK / 8);  // 64
constexpr int B_ROWS_PER_COPY = THREADS / (BN / 8);  // 8

static_assert(SMEM_BYTES == 98304, "the launch's --shared value is documented as 98304");
static_assert(A_COPIES * THREADS * 8 == BM * BK && B_COPIES * THREADS * 8 == BK * BN,
              "every chunk of a stage is copied exactly once");

// Byte offset of chunk c of A-tile row m within a stage (see the layout above).
__device__ __forceinline__ uint32_t a_offset(int m, int c)
{
    return m * A_ROW_BYTES + ((c ^ ((m >> 1) & 3)) << 4);
}

// Byte offset of chunk c of B-tile row k within a stage.
__device__ __forceinline__ uint32_t b_offset(int k, int c)
{
    return A_TILE_BYTES + k * B_ROW_BYTES + ((c ^ (k & 7)) << 4);
}

__device__ __forceinline__ void cp_async16(uint32_t smem, const half* gmem)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem), "l"(gmem));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&lo)[2], uint32_t (&hi)[2], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(lo[0]), "=r"(lo[1]), "=r"(hi[0]), "=r"(hi[1])
                 : "r"(addr));
}

__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2])
{
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

}  // namespace

extern "C" __global__ void __launch_bounds__(THREADS, 1)
hgemm(const half* __restrict__ A, const half* __restrict__ B, float* __restrict__ C, int N, int K)
{
    extern __shared__ __align__(128) uint8_t smem[];
    const uint32_t smem_base = static_cast<uint32_t>(__cvta_generic_to_shared(smem));

    const int tid = threadIdx.x;
    const int lane = tid % 32;
    const int warp = tid / 32;
    const int wm = warp / WARPS_N;  // 0..1: the warp's 64 rows of the block tile
    const int wn = warp % WARPS_N;  // 0..3: the warp's 64 columns of the block tile
    const int block_m = blockIdx.y * BM;
    const int block_n = blockIdx.x * BN;

    // cp.async: this thread copies chunk tid % 4 of A rows tid / 4 + 64 j, and chunk tid % 32 of
    // B rows tid / 32 + 8 j. The XOR term of a_offset / b_offset is the same for every j (64 j
    // and 8 j leave m / 2 % 4 and k % 8 unchanged), so copy j is at a fixed distance from copy 0.
    const int a_row = tid / (BK / 8), a_chunk = tid % (BK / 8);
    const int b_row = tid / (BN / 8), b_chunk = tid % (BN / 8);
    const uint32_t a_dst = a_offset(a_row, a_chunk);
    const uint32_t b_dst = b_offset(b_row, b_chunk);
    // One source pointer per copy, each moved on by one K tile after its copy.
    const half* a_src[A_COPIES];
    const half* b_src[B_COPIES];
#pragma unroll
    for (int j = 0; j < A_COPIES; ++j)
        a_src[j] = A + static_cast<size_t>(block_m + a_row + j * A_ROWS_PER_COPY) * K + a_chunk * 8;
#pragma unroll
    for (int j = 0; j < B_COPIES; ++j)
        b_src[j] = B + static_cast<size_t>(b_row + j * B_ROWS_PER_COPY) * N + block_n + b_chunk * 8;
    const size_t b_tile_stride = static_cast<size_t>(BK) * N;

    // Copies the next K tile (at a_src / b_src) into the stage at byte offset `stage`.
    auto load_tile = [&](uint32_t stage) {
        const uint32_t s = smem_base + stage;
#pragma unroll
        for (int j = 0; j < A_COPIES; ++j) {
            cp_async16(s + a_dst + j * A_ROWS_PER_COPY * A_ROW_BYTES, a_src[j]);
            a_src[j] += BK;
        }
#pragma unroll
        for (int j = 0; j < B_COPIES; ++j) {
            cp_async16(s + b_dst + j * B_ROWS_PER_COPY * B_ROW_BYTES, b_src[j]);
            b_src[j] += b_tile_stride;
        }
    };

    // ldmatrix addresses within a stage.
    // A, m tile i, K step s: lane l gives row wm*64 + 16 i + l % 16, chunk 2 s + l / 16, so the
    // four 8x8 matrices are (rows 0-7 | 8-15) x (k 0-7 | 8-15) in the order of the mma's a0..a3.
    // The rows' XOR term (l / 2 % 4) does not depend on i, so tile i is 16 rows further on.
    uint32_t a_ld[KSTEPS];
#pragma unroll
    for (int s = 0; s < KSTEPS; ++s)
        a_ld[s] = a_offset(wm * WM + lane % 16, 2 * s + lane / 16);
    // B, n tiles 2p and 2p+1, K step s: lane l gives k row 16 s + l % 16, chunk
    // (wn*64 + 16 p) / 8 + l / 16. Transposed, matrices 0, 1 (k 0-7, 8-15) are b0, b1 of n tile
    // 2p, matrices 2, 3 those of n tile 2p+1. The XOR term (k % 8 = l % 8) does not depend on s,
    // so K step s is 16 rows further on; it does change the chunk position with p.
    uint32_t b_ld[NT / 2];
#pragma unroll
    for (int p = 0; p < NT / 2; ++p)
        b_ld[p] = b_offset(lane % 16, (wn * WN + 16 * p) / 8 + lane / 16);

    // Loads the A and B fragments of K step s of the stage at smem_base + stage.
    auto load_fragments = [&](uint32_t (&af)[MT][4], uint32_t (&bf)[NT][2], uint32_t stage, int s) {
        const uint32_t base = smem_base + stage;
#pragma unroll
        for (int i = 0; i < MT; ++i)
            ldmatrix_x4(af[i], base + a_ld[s] + i * 16 * A_ROW_BYTES);
#pragma unroll
        for (int p = 0; p < NT / 2; ++p)
            ldmatrix_x4_trans(bf[2 * p], bf[2 * p + 1], base + b_ld[p] + s * 16 * B_ROW_BYTES);
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                acc[i][j][e] = 0.0f;

    // Prologue: tiles 0 .. STAGES-2 into stages 0 .. STAGES-2, one commit group each (empty
    // groups when K has fewer tiles, so that the group count below stays exact).
    const int ktiles = K / BK;
#pragma unroll
    for (int t = 0; t < STAGES - 1; ++t) {
        if (t < ktiles)
            load_tile(t * STAGE_BYTES);
        cp_async_commit();
    }

    auto next_stage = [](uint32_t stage) {
        return stage == (STAGES - 1) * STAGE_BYTES ? 0u : stage + STAGE_BYTES;
    };
    uint32_t read_stage = 0;                            // byte offset of tile kt's stage
    uint32_t write_stage = (STAGES - 1) * STAGE_BYTES;  // byte offset of tile kt+STAGES-1's stage

    // Fragments are double-buffered in registers: those of the next K step are loaded before
    // this step's mma, across tile boundaries too, so ldmatrix latency hides behind 32 mma.
    // K step s uses buffer s % 2 (KSTEPS is even, so step 0 of every tile uses buffer 0).
    static_assert(KSTEPS % 2 == 0, "fragment buffers alternate across tiles");
    uint32_t af[2][MT][4];
    uint32_t bf[2][NT][2];

    // STAGES-1 groups are committed; with at most STAGES-2 pending, tile 0's has landed.
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    load_fragments(af[0], bf[0], read_stage, 0);

    for (int kt = 0; kt < ktiles; ++kt) {
#pragma unroll
        for (int s = 0; s < KSTEPS; ++s) {
            const int next = (s + 1) % 2;
            if (s + 1 < KSTEPS) {
                load_fragments(af[next], bf[next], read_stage, s + 1);
            } else if (kt + 1 < ktiles) {
                // The next step is step 0 of tile kt+1. STAGES+kt groups are committed; with
                // at most STAGES-2 pending, this thread's copies of tile kt+1 have landed, and
                // after the barrier everyone's have. The barrier also follows every warp's last
                // fragment loads from tile kt (at step KSTEPS-2), so the next iteration may
                // refill tile kt's stage.
                cp_async_wait<STAGES - 2>();
                __syncthreads();
                read_stage = next_stage(read_stage);
                load_fragments(af[next], bf[next], read_stage, 0);
            }
            if (s == 0) {
                // Tile kt+STAGES-1 goes into the stage of tile kt-1, which every warp has
                // finished reading (for kt = 0, into the stage the prologue left unused). Issued
                // after this step's fragment loads, so that those do not queue behind the copies.
                if (kt + STAGES - 1 < ktiles)
                    load_tile(write_stage);
                cp_async_commit();
                write_stage = next_stage(write_stage);
            }
#pragma unroll
            for (int i = 0; i < MT; ++i)
#pragma unroll
                for (int j = 0; j < NT; ++j)
                    mma_16816(acc[i][j], af[s % 2][i], bf[s % 2][j]);
        }
    }

    // Epilogue. Accumulator layout of an m16n8 tile: d0, d1 at (row g, columns 2t, 2t+1),
    // d2, d3 at (row g+8, same columns), g = lane / 4, t = lane % 4; each pair is one 8-byte
    // store, and a warp's store covers 8 rows x 32 bytes (whole sectors).
    const int g = lane / 4, t = lane % 4;
    float* c_out = C + static_cast<size_t>(block_m + wm * WM + g) * N + block_n + wn * WN + 2 * t;
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            float* row = c_out + static_cast<size_t>(16 * i + 8 * h) * N;
#pragma unroll
            for (int j = 0; j < NT; ++j)
                *reinterpret_cast<float2*>(row + 8 * j) = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
        }
}
