// transpose: out (n x n) = the transpose of in (n x n), float32, row-major, through a 32 x 32
// tile in shared memory. A block of 32 x 8 threads moves one tile: each thread copies 4
// elements in (rows threadIdx.y, +8, +16, +24 of the tile) and 4 out. Both global accesses
// are coalesced: a warp (one threadIdx.y, 32 consecutive threadIdx.x) reads 32 consecutive
// floats of a row of `in` and writes 32 consecutive floats of a row of `out`. The price is
// paid in shared memory: the warp writes a row of the tile but reads a column of it.
// Grid: (n / 32, n / 32); n must be a multiple of 32.
#define TILE 32
#define ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int n)
{
    __shared__ float tile[TILE][TILE];

    int x = blockIdx.x * TILE + threadIdx.x;
    int y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += ROWS)
        tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * n + x];  // a row of the tile
    __syncthreads();

    x = blockIdx.y * TILE + threadIdx.x;  // the block's tile lands transposed
    y = blockIdx.x * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += ROWS)
        out[(y + j) * n + x] = tile[threadIdx.x][threadIdx.y + j];  // a column of the tile
}
