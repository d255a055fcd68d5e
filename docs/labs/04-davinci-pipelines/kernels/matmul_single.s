// Lab 04, part 4: C = A x B on the cube, one buffer per level.
// A (M x K), B (K x N): f16, row-major in global memory; C (M x N): f32, row-major. Each block
// computes one 64 x 64 tile of C: block b the tile (b / (N/64), b % (N/64)), so the launch has
// (M/64) * (N/64) blocks. K is walked in steps of 64; per step:
//   MTE2: the step's 64 x 64 tiles of A and B from GM to L1, 16 columns per copy (64 bursts of
//         32 bytes), so that L1 holds them as columns of 16 x 16 fractals (NZ)
//   MTE1: L1 to L0A (zZ) and, turning each fractal, to L0B (zN)
//   M:    mad into the 64 x 64 f32 tile of C in L0C (the first step overwrites it)
// and once at the end FIX writes C from L0C to GM. One buffer in L1 and one in L0A/L0B, each
// with a pair of flags (EVENT_ID0): full (MTE2 -> MTE1, MTE1 -> M) and free (MTE1 -> MTE2,
// M -> MTE1).
.kernel matmul
.param a, x1
.param b, x2
.param c, x3
.param n, x4
.param k, x5
  get_block_idx x6
  shr x7, x4, 6              # tiles across N
  div x8, x6, x7             # the tile's row
  rem x9, x6, x7             # the tile's column
  mul x10, x8, x5
  shl x10, x10, 7
  add x10, x10, x1           # A tile: a + row * 64 * K * 2
  shl x11, x9, 7
  add x11, x11, x2           # B tile: b + column * 64 * 2
  mul x12, x8, x4
  shl x12, x12, 8
  shl x20, x9, 8
  add x12, x12, x20
  add x12, x12, x3           # C tile: c + row * 64 * N * 4 + column * 64 * 4
  shr x13, x5, 6             # K steps
  shr x15, x5, 4
  sub x15, x15, 1            # A: K/16 - 1 blocks of 32 bytes from one row's burst to the next
  shr x16, x4, 4
  sub x16, x16, 1            # B: N/16 - 1
  shl x17, x4, 7             # 64 rows of B: N * 2 * 64 bytes
  shl x18, x4, 2             # a row of C: N * 4 bytes
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # L1 starts free
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0      # L0A and L0B start free
  mov x14, 0                 # K step
kloop:
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # L1 is free
  copy_gm_to_cbuf l1[0], gm[x10], nburst=64, burst=1, src_gap=x15        # A, columns 0-15
  copy_gm_to_cbuf l1[2048], gm[x10+32], nburst=64, burst=1, src_gap=x15  # columns 16-31
  copy_gm_to_cbuf l1[4096], gm[x10+64], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[6144], gm[x10+96], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[8192], gm[x11], nburst=64, burst=1, src_gap=x16     # B, likewise
  copy_gm_to_cbuf l1[10240], gm[x11+32], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[12288], gm[x11+64], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[14336], gm[x11+96], nburst=64, burst=1, src_gap=x16
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0   # L1 is full
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0     # L0A and L0B are free
  load_cbuf_to_ca l0a[0], l1[0], repeat=4, src_stride=4      # A's fractal row 0
  load_cbuf_to_ca l0a[2048], l1[512], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[4096], l1[1024], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[6144], l1[1536], repeat=4, src_stride=4
  load_cbuf_to_cb l0b[0], l1[8192], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[2048], l1[8704], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[4096], l1[9216], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[6144], l1[9728], repeat=4, src_stride=4, transpose=1
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # L1 is free again
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID0      # L0A and L0B are full
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  bne x14, 0, acc
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64           # the first step overwrites C
  jmp next
acc:
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64, init=0   # later ones accumulate
next:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0      # L0A and L0B are free again
  add x10, x10, 128          # A: the next 64 columns
  add x11, x11, x17          # B: the next 64 rows
  add x14, x14, 1
  blt x14, x13, kloop
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # take back the last sets
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  set_flag PIPE_M, PIPE_FIX, EVENT_ID0       # C is complete in L0C
  wait_flag PIPE_M, PIPE_FIX, EVENT_ID0
  fixpipe gm[x12], l0c[0], m=64, n=64, dst_stride=x18
  end
