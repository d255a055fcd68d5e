// Lab 04, part 4: C = A x B on the cube, two stages of buffers.
// The same matmul as matmul_single.s (read it first): A (M x K), B (K x N) f16 and C (M x N)
// f32, row-major; block b computes the 64 x 64 tile (b / (N/64), b % (N/64)) of C; K in steps
// of 64, K/64 even. The K steps alternate between two stages of buffers, each with its own
// flags: stage 0 (even steps, EVENT_ID0) in L1 at 0 and L0A/L0B at 0, stage 1 (odd steps,
// EVENT_ID1) in L1 at 16384 and L0A/L0B at 8192. So MTE2 loads step s+1 into one stage while
// MTE1 and the cube work on step s in the other.
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
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # both stages start free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  mov x14, 0                 # K step
kloop:
  # ---- step s: stage 0, EVENT_ID0 ----
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  copy_gm_to_cbuf l1[0], gm[x10], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[2048], gm[x10+32], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[4096], gm[x10+64], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[6144], gm[x10+96], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[8192], gm[x11], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[10240], gm[x11+32], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[12288], gm[x11+64], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[14336], gm[x11+96], nburst=64, burst=1, src_gap=x16
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
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
  bne x14, 0, acc
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64           # the first step overwrites C
  jmp next
acc:
  mad.f16 l0c[0], l0a[0], l0b[0], m=64, k=64, n=64, init=0
next:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  # ---- step s+1: stage 1, EVENT_ID1 ----
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  copy_gm_to_cbuf l1[16384], gm[x10+128], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[18432], gm[x10+160], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[20480], gm[x10+192], nburst=64, burst=1, src_gap=x15
  copy_gm_to_cbuf l1[22528], gm[x10+224], nburst=64, burst=1, src_gap=x15
  add x11, x11, x17          # B: the next 64 rows
  copy_gm_to_cbuf l1[24576], gm[x11], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[26624], gm[x11+32], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[28672], gm[x11+64], nburst=64, burst=1, src_gap=x16
  copy_gm_to_cbuf l1[30720], gm[x11+96], nburst=64, burst=1, src_gap=x16
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID1
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID1
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID1
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
  mad.f16 l0c[0], l0a[8192], l0b[8192], m=64, k=64, n=64, init=0
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  add x10, x10, 256          # A: 128 columns on
  add x11, x11, x17          # B: the next 64 rows
  add x14, x14, 2
  blt x14, x13, kloop
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # take back the last sets
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID1
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID1
  set_flag PIPE_M, PIPE_FIX, EVENT_ID0       # C is complete in L0C
  wait_flag PIPE_M, PIPE_FIX, EVENT_ID0
  fixpipe gm[x12], l0c[0], m=64, n=64, dst_stride=x18
  end
