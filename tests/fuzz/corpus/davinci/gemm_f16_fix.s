// f16 GEMM on AI cores, the 910B output path (the FIX pipe: L0C -> GM).
// C (M x N, f16) = A (M x K, f16) x B (K x N, f16), all row-major in global memory, accumulated
// in f32 in L0C. M, N and K multiples of 64. Each block computes 64 x 64 tiles of C in turn
// (tile t, t + blocks, ...). Per tile, K is walked in steps of 64 with two stages of buffers
// (L1, L0A, L0B), so that MTE2 loads step s+1 while MTE1 and the cube work on step s:
//   MTE2: A and B tiles, row-major in GM, to L1 as NZ (a column of 16x16 fractals per burst set)
//   MTE1: L1 to L0A (zZ) and, transposing each fractal, to L0B (zN)
//   cube: mad into the 64 x 64 f32 tile of L0C
// Flags per stage p (EVENT_IDp): MTE2->MTE1 (L1 full), MTE1->MTE2 (L1 free), MTE1->M (L0 full),
// M->MTE1 (L0 free); EVENT_ID2 and 3 guard L0C and the UB tile between tiles.
.kernel gemm_f16_fix
.param a, x1
.param b, x2
.param c, x3
.param m, x4
.param n, x5
.param k, x6
  get_block_idx x7
  get_block_num x8
  shr x9, x5, 6              # tiles across N
  shr x10, x4, 6
  mul x10, x10, x9           # tiles in all
  shr x17, x6, 6             # K steps per tile
  shr x18, x6, 4
  sub x18, x18, 1            # A rows: K/16 - 1 blocks of 32 bytes between bursts
  shr x19, x5, 4
  sub x19, x19, 1            # B and C rows: N/16 - 1 blocks between bursts
  shl x26, x5, 7             # 64 rows of B: N * 2 * 64 bytes
  shl x27, x5, 1             # a row of C: N * 2 bytes
  set_flag PIPE_FIX, PIPE_M, EVENT_ID2       # L0C starts free
  mov x11, x7                # tile index
tile:
  bge x11, x10, finish
  div x12, x11, x9           # tile row
  rem x13, x11, x9           # tile column
  mul x21, x12, x6
  shl x21, x21, 7
  add x21, x21, x1           # A tile: a + row * 64 * K * 2
  shl x22, x13, 7
  add x22, x22, x2           # B tile: b + column * 64 * 2
  mul x25, x12, x26
  shl x28, x13, 7
  add x25, x25, x28
  add x25, x25, x3           # C tile: c + row * 64 * N * 2 + column * 64 * 2
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # both stages start free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  wait_flag PIPE_FIX, PIPE_M, EVENT_ID2       # L0C is free
  mov x16, 0                 # K step
kloop:
  # ---- stage 0: L1 buffer l1[0], L0 buffers l0a/l0b[0] ----
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # L1 stage 0 is free
  copy_gm_to_cbuf l1[0], gm[x21+0], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[2048], gm[x21+32], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[4096], gm[x21+64], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[6144], gm[x21+96], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[8192], gm[x22+0], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[10240], gm[x22+32], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[12288], gm[x22+64], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[14336], gm[x22+96], nburst=64, burst=1, src_gap=x19
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0       # L0 stage 0 is free
  load_cbuf_to_ca l0a[0], l1[0], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[2048], l1[512], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[4096], l1[1024], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[6144], l1[1536], repeat=4, src_stride=4
  load_cbuf_to_cb l0b[0], l1[8192], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[2048], l1[8704], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[4096], l1[9216], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[6144], l1[9728], repeat=4, src_stride=4, transpose=1
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  bne x16, 0, acc0
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64        # the first K step overwrites C
  jmp next0
acc0:
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64, init=0 # later ones accumulate
next0:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  add x16, x16, 1
  add x21, x21, 128          # A: the next 64 columns
  add x22, x22, x26          # B: the next 64 rows
  bge x16, x17, kdone
  # ---- stage 1: L1 buffer l1[16384], L0 buffers l0a/l0b[8192] ----
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1   # L1 stage 1 is free
  copy_gm_to_cbuf l1[16384], gm[x21+0], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[18432], gm[x21+32], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[20480], gm[x21+64], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[22528], gm[x21+96], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[24576], gm[x22+0], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[26624], gm[x22+32], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[28672], gm[x22+64], nburst=64, burst=1, src_gap=x19
  copy_gm_to_cbuf l1[30720], gm[x22+96], nburst=64, burst=1, src_gap=x19
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID1
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID1
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID1       # L0 stage 1 is free
  load_cbuf_to_ca l0a[8192], l1[16384], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[10240], l1[16896], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[12288], l1[17408], repeat=4, src_stride=4
  load_cbuf_to_ca l0a[14336], l1[17920], repeat=4, src_stride=4
  load_cbuf_to_cb l0b[8192], l1[24576], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[10240], l1[25088], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[12288], l1[25600], repeat=4, src_stride=4, transpose=1
  load_cbuf_to_cb l0b[14336], l1[26112], repeat=4, src_stride=4, transpose=1
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID1
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID1
  bne x16, 0, acc1
  mad.f16 l0c[0], l0a[8192], l0b[8192], m=64, k=64, n=64        # the first K step overwrites C
  jmp next1
acc1:
  mad.f16 l0c[0], l0a[8192], l0b[8192], m=64, k=64, n=64, init=0 # later ones accumulate
next1:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  add x16, x16, 1
  add x21, x21, 128          # A: the next 64 columns
  add x22, x22, x26          # B: the next 64 rows
  blt x16, x17, kloop
kdone:
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # take back the stages' free flags
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  # ---- C tile out, FIX pipe: L0C -> GM with f32 -> f16 and NZ -> ND ----
  set_flag PIPE_M, PIPE_FIX, EVENT_ID0
  wait_flag PIPE_M, PIPE_FIX, EVENT_ID0
  fixpipe gm[x25], l0c[0], m=64, n=64, dst_stride=x27, conv=f322f16
  set_flag PIPE_FIX, PIPE_M, EVENT_ID2      # L0C may be overwritten
  add x11, x11, x8
  jmp tile
finish:
  wait_flag PIPE_FIX, PIPE_M, EVENT_ID2
  end
