// f16 GEMM with large tiles, for the cube's peak: C (M x N, f16) = A (M x K, f16) x B (K x N, f16),
// all row-major in global memory, accumulated in f32 in L0C. Each block computes 256 x TN tiles
// of C in turn (tile t, t + blocks, ...); TN is 256 or 128 (256 x 256 x 4 bytes fills the 910's
// L0C; the 910B's L0C holds 256 x 128). M a multiple of 256, N of TN, K of 64.
// Per K step of 64, two stages of buffers (L1 64 KiB, L0A 32 KiB, L0B TN * 128 bytes):
//   MTE2: the A slice (256 x 64) and the B slice (64 x TN), row-major in GM, to L1 as NZ
//         (one copy per 16-column block, a 32-byte burst per row)
//   MTE1: L1 to L0A (zZ) and, transposing each fractal, to L0B (zN)
//   cube: mad 256 x 64 x TN into the tile's f32 accumulators in L0C
// A step moves 32 KiB + TN * 128 bytes through MTE2 for 4 x TN cube cycles, so with TN = 256 the
// cube (1024 cycles) outlasts MTE2 (4 x 75 + 16 x 19 = 604 cycles at 110 bytes/cycle, plus the
// L2 round trip before the stage is handed on).
// Both stages use one event per pipe pair: a flag counts its sets, and the stages are filled and
// drained in the same order on both sides, so the n-th wait takes the n-th set. The stages'
// flags are set once per launch, so the next tile's first steps load while the cube finishes
// the last tile. C leaves through the FIX pipe (fix = 1, cores that have one) or, as on the 910,
// L0C -> UB on the vector pipe (f32 -> f16) and UB -> GM on MTE3 (fix = 0).
.kernel gemm_f16_256
.param a, x1
.param b, x2
.param c, x3
.param m, x4
.param n, x5
.param k, x6
.param fix, x7
.param tn, x8
  get_block_idx x17          # tile index
  get_block_num x9
  div x10, x5, x8            # tiles across N
  shr x11, x4, 8
  mul x11, x11, x10          # tiles in all
  shr x12, x6, 6             # K steps per tile
  shr x13, x6, 4
  sub x13, x13, 1            # A rows: K/16 - 1 blocks of 32 bytes between bursts
  shr x14, x5, 4
  sub x14, x14, 1            # B and C rows: N/16 - 1 blocks between bursts
  shl x15, x5, 7             # 64 rows of B: N * 2 * 64 bytes
  shl x16, x5, 1             # a row of C: N * 2 bytes
  shl x25, x6, 9             # 256 rows of A: K * 2 * 256 bytes
  shl x29, x8, 1             # TN columns: TN * 2 bytes
  shl x30, x5, 9             # 256 rows of C
  shr x31, x8, 4             # TN / 16: column blocks of a B slice and of C
  shl x0, x8, 5              # a row of fractals of the L0B slice: TN / 16 * 512 bytes
  mov x4, 0                  # L0 stage: 0 or 32768
  mov x26, 0                 # L1 stage: 0 or 65536
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # both L1 stages start free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0      # both L0 stages start free
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  bne x7, 0, fix_init
  set_flag PIPE_V, PIPE_M, EVENT_ID2         # L0C starts free
  set_flag PIPE_MTE3, PIPE_V, EVENT_ID4      # the UB tile starts free
  jmp tile
fix_init:
  set_flag PIPE_FIX, PIPE_M, EVENT_ID2       # L0C starts free
tile:
  bge x17, x11, finish
  div x18, x17, x10          # tile row
  rem x19, x17, x10          # tile column
  mul x20, x18, x25
  add x20, x20, x1           # A tile: a + row * 256 * K * 2
  mul x21, x19, x29
  add x21, x21, x2           # B tile: b + column * TN * 2
  mul x22, x18, x30
  add x22, x22, x21
  sub x22, x22, x2
  add x22, x22, x3           # C tile: c + row * 256 * N * 2 + column * TN * 2
  bne x7, 0, fix_wait
  wait_flag PIPE_V, PIPE_M, EVENT_ID2        # L0C is free (the cube waits; the copies go on)
  jmp kstart
fix_wait:
  wait_flag PIPE_FIX, PIPE_M, EVENT_ID2
kstart:
  mov x23, 0                 # K step
kloop:
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # an L1 stage is free
  copy_gm_to_cbuf l1[x26], gm[x20], nburst=256, burst=1, src_gap=x13
  copy_gm_to_cbuf l1[x26+8192], gm[x20+32], nburst=256, burst=1, src_gap=x13
  copy_gm_to_cbuf l1[x26+16384], gm[x20+64], nburst=256, burst=1, src_gap=x13
  copy_gm_to_cbuf l1[x26+24576], gm[x20+96], nburst=256, burst=1, src_gap=x13
  add x27, x26, 32768        # B column block j of the stage: l1[stage + 32768 + j * 2048]
  mov x28, x21
  mov x24, 0
bcopy:
  copy_gm_to_cbuf l1[x27], gm[x28], nburst=64, burst=1, src_gap=x14
  add x27, x27, 2048
  add x28, x28, 32
  add x24, x24, 1
  blt x24, x31, bcopy
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0   # the L1 stage is full
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0     # an L0 stage is free
  # A: L1 column block c holds fractals (i, c) at c * 8192 + i * 512; zZ wants (i * 4 + c) * 512
  load_cbuf_to_ca l0a[x4], l1[x26], repeat=16, dst_gap=3
  load_cbuf_to_ca l0a[x4+512], l1[x26+8192], repeat=16, dst_gap=3
  load_cbuf_to_ca l0a[x4+1024], l1[x26+16384], repeat=16, dst_gap=3
  load_cbuf_to_ca l0a[x4+1536], l1[x26+24576], repeat=16, dst_gap=3
  # B: fractal (kb, j) at 32768 + j * 2048 + kb * 512; zN wants (kb * TN/16 + j) * 512
  mov x18, x4
  load_cbuf_to_cb l0b[x18], l1[x26+32768], repeat=x31, src_stride=4, transpose=1
  add x18, x18, x0
  load_cbuf_to_cb l0b[x18], l1[x26+33280], repeat=x31, src_stride=4, transpose=1
  add x18, x18, x0
  load_cbuf_to_cb l0b[x18], l1[x26+33792], repeat=x31, src_stride=4, transpose=1
  add x18, x18, x0
  load_cbuf_to_cb l0b[x18], l1[x26+34304], repeat=x31, src_stride=4, transpose=1
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # the L1 stage is free again
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID0      # the L0 stage is full
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  bne x23, 0, acc
  mad.f16 l0c[0], l0a[x4], l0b[x4], m=256, k=64, n=x8          # the first K step overwrites C
  jmp madded
acc:
  mad.f16 l0c[0], l0a[x4], l0b[x4], m=256, k=64, n=x8, init=0  # later ones accumulate
madded:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0      # the L0 stage is free
  xor x26, x26, 65536
  xor x4, x4, 32768
  add x20, x20, 128          # A: the next 64 columns
  add x21, x21, x15          # B: the next 64 rows
  add x23, x23, 1
  blt x23, x12, kloop
  bne x7, 0, fix_out
  # ---- C tile out, 910 path: L0C -> UB (vector pipe, f32 -> f16, NZ) -> GM (MTE3, NZ -> ND) ----
  set_flag PIPE_M, PIPE_V, EVENT_ID3
  wait_flag PIPE_M, PIPE_V, EVENT_ID3
  wait_flag PIPE_MTE3, PIPE_V, EVENT_ID4     # the UB tile is free
  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=x8, conv=f322f16  # TN fractals
  set_flag PIPE_V, PIPE_M, EVENT_ID2         # L0C may be overwritten
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID5
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID5
  mov x27, 0                 # UB column block j: 256 rows of 32 bytes at j * 8192
  mov x28, x22
  mov x24, 0
ocopy:
  copy_ubuf_to_gm gm[x28], ub[x27], nburst=256, burst=1, dst_gap=x14
  add x27, x27, 8192
  add x28, x28, 32
  add x24, x24, 1
  blt x24, x31, ocopy
  set_flag PIPE_MTE3, PIPE_V, EVENT_ID4
  jmp next
  # ---- C tile out, FIX pipe: L0C -> GM with f32 -> f16 and NZ -> ND ----
fix_out:
  set_flag PIPE_M, PIPE_FIX, EVENT_ID3
  wait_flag PIPE_M, PIPE_FIX, EVENT_ID3
  fixpipe gm[x22], l0c[0], m=256, n=x8, dst_stride=x16, conv=f322f16
  set_flag PIPE_FIX, PIPE_M, EVENT_ID2       # L0C may be overwritten
next:
  add x17, x17, x9
  jmp tile
finish:
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # take back the stages' free flags
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  bne x7, 0, fix_finish
  wait_flag PIPE_V, PIPE_M, EVENT_ID2
  wait_flag PIPE_MTE3, PIPE_V, EVENT_ID4
  end
fix_finish:
  wait_flag PIPE_FIX, PIPE_M, EVENT_ID2
  end
