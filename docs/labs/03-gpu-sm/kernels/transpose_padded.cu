// transpose_padded: transpose.cu with each row of the shared tile padded by PAD floats (1 unless
// built with -DPAD=N). Only the tile's declaration differs from transpose.cu: the row pitch
// becomes TILE + PAD words, which moves the words of a column into other banks.
#define TILE 32
#define ROWS 8
#ifndef PAD
#define PAD 1
#endif

extern "C" __global__ void transpose(const float* in, float* out, int n)
{
    __shared__ float tile[TILE][TILE + PAD];

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
