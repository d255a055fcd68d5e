// s8 GEMM on AI cores, int32 out through the 910 output path (L0C -> UB -> GM).
// C (M x N, s32) = A (M x K, s8) x B (K x N, s8), accumulated in s32 in L0C (wrapping). A and C
// are row-major in global memory, B is given transposed: bt is B^T (N x K, row-major), so that a
// column of B is a row of bt and loads into L0B's zN fractals with no transpose (the ISA
// transposes 2-byte fractals only). M and N multiples of 64, K a multiple of 128. Each block
// computes 64 x 64 tiles of C in turn (tile t, t + blocks, ...). Per tile, K is walked in steps
// of 128 (4 fractals of 16 x 32 s8), each step in one of two stages of buffers (L1, L0A, L0B)
// taken in turn, so that MTE2 loads one step while MTE1 and the cube work on the one before:
//   MTE2: A and bt tiles to L1, 64 rows x 32 bytes per copy (four 16 x 32 fractals)
//   MTE1: L1 to L0A (zZ) and to L0B (zN: L1 already holds bt's fractals in that order)
//   cube: mad.s8 of 4 x 4 x 4 fractal steps into the 64 x 64 s32 tile of L0C
// The two stages share their flags, which count: MTE1->MTE2 and M->MTE1 (a stage free) are set
// twice at the start, MTE2->MTE1 and MTE1->M (a stage full) once a step, and since each pipe
// takes its flags in order, the n-th wait is for the stage of step n. EVENT_ID2 and 3 guard
// L0C and the UB tile between tiles.
.kernel gemm_s8
.param a, x1
.param bt, x2
.param c, x3
.param m, x4
.param n, x5
.param k, x6
  shr x9, x5, 6              # tiles across N
  mul x10, x4, x5
  shr x10, x10, 12           # tiles in all: M N / (64 x 64)
  shr x17, x6, 7             # K steps per tile
  shr x18, x6, 5
  sub x18, x18, 1            # A and bt rows: K/32 - 1 blocks of 32 bytes between bursts
  shr x19, x5, 3
  sub x19, x19, 2            # C rows: N/8 - 2 blocks between bursts of 64 bytes
  shl x26, x6, 6             # 64 rows of A or bt: K * 64 bytes
  shl x27, x5, 8             # 64 rows of C: N * 4 * 64 bytes
  set_flag PIPE_V, PIPE_M, EVENT_ID2         # L0C starts free
  set_flag PIPE_MTE3, PIPE_V, EVENT_ID3      # the UB tile starts free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # both L1 stages start free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0      # both L0A / L0B stages start free
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  mov x15, 0                 # the stage of the next K step, 0 or 1, from tile to tile
  get_block_idx x11          # tile index: from this block's, every block count
  get_block_num x8
tile:
  bge x11, x10, finish
  div x12, x11, x9           # tile row
  rem x13, x11, x9           # tile column
  mul x21, x12, x26
  add x21, x21, x1           # A tile: a + row * 64 * K
  mul x22, x13, x26
  add x22, x22, x2           # bt tile: bt + column * 64 * K
  mul x25, x12, x27
  shl x28, x13, 8
  add x25, x25, x28
  add x25, x25, x3           # C tile: c + row * 64 * N * 4 + column * 64 * 4
  wait_flag PIPE_V, PIPE_M, EVENT_ID2       # L0C is free
  mov x16, 0                 # K step
kstep:
  shl x23, x15, 14           # the stage's L1: A at x23, bt at x23 + 8192
  shl x24, x15, 13           # its L0A and L0B
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # the stage's L1 is free
  mov x28, x23
load:                        # 32 columns of A's and bt's 64 rows a copy; the step's 128 in four
  copy_gm_to_cbuf l1[x28], gm[x21], nburst=64, burst=1, src_gap=x18
  copy_gm_to_cbuf l1[x28+8192], gm[x22], nburst=64, burst=1, src_gap=x18
  add x28, x28, 2048
  add x21, x21, 32
  add x22, x22, 32
  blt x28, x23+8192, load
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0     # the stage's L0A and L0B are free
  mov x28, x23
  mov x29, x24
zz:                          # a row of A's fractals: its 4 along K, 2048 bytes apart in L1
  load_cbuf_to_ca l0a[x29], l1[x28], repeat=4, src_stride=4
  add x28, x28, 512
  add x29, x29, 2048
  blt x29, x24+8192, zz
  load_cbuf_to_cb l0b[x24], l1[x23+8192], repeat=16
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  bne x16, 0, accumulate
  mad.s8 l0c[0], l0a[x24], l0b[x24], m=64, k=128, n=64          # the first K step overwrites C
  jmp mad_done
accumulate:
  mad.s8 l0c[0], l0a[x24], l0b[x24], m=64, k=128, n=64, init=0  # later ones accumulate
mad_done:
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  xor x15, x15, 1            # the other stage
  add x16, x16, 1
  blt x16, x17, kstep
  # ---- C tile out, 910 path: L0C -> UB (vector pipe, s32 as is) -> GM (MTE3, NZ -> ND) ----
  set_flag PIPE_M, PIPE_V, EVENT_ID0
  wait_flag PIPE_M, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_V, EVENT_ID3    # the UB tile is free
  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=16
  set_flag PIPE_V, PIPE_M, EVENT_ID2        # L0C may be overwritten
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  mov x28, 0
out:                         # 16 columns (a column of fractals, 4096 bytes in the UB) a copy
  copy_ubuf_to_gm gm[x25], ub[x28], nburst=64, burst=2, dst_gap=x19
  add x25, x25, 64
  add x28, x28, 4096
  blt x28, 16384, out
  set_flag PIPE_MTE3, PIPE_V, EVENT_ID3
  add x11, x11, x8
  jmp tile
finish:
  wait_flag PIPE_V, PIPE_M, EVENT_ID2       # take back the flags set at the start
  wait_flag PIPE_MTE3, PIPE_V, EVENT_ID3
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID0
  end
