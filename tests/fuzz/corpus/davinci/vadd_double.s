// Lab 04, part 2: z = x + y on f16 vectors, double-buffered (a solution of vadd_double_todo.s).
// Each block adds `tiles` tiles of 2048 elements (4 KiB of each operand; `tiles` even), from
// block_idx * tiles * 4 KiB on. Two sets of UB buffers: ping (even tiles, EVENT_ID0) with x at
// 0, y at 8192, z at 16384, and pong (odd tiles, EVENT_ID1) at the same plus 4096. The code of a
// tile is vadd_single.s's; with two buffers and two sets of flags, MTE2 loads tile i+1 while V
// adds tile i and MTE3 stores tile i-1.
.kernel vadd
.param x, x1
.param y, x2
.param z, x3
.param tiles, x4          // 4 KiB tiles per block, even
  get_block_idx x5
  mul x6, x5, x4
  shl x6, x6, 12          // this block's first byte: block_idx * tiles * 4096
  add x1, x1, x6
  add x2, x2, x6
  add x3, x3, x6
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff   # all 128 f16 lanes
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # both sets of buffers start free
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  mov x7, 0               # tile
loop:
  # ---- tile i: ping buffers, EVENT_ID0 ----
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=128
  copy_gm_to_ubuf ub[9216], gm[x2], nburst=1, burst=128
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  vadd.f16 ub[17408], ub[0], ub[9216], repeat=16
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  copy_ubuf_to_gm gm[x3], ub[17408], nburst=1, burst=128
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  # ---- tile i+1: pong buffers, EVENT_ID1 ----
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  copy_gm_to_ubuf ub[4096], gm[x1+4096], nburst=1, burst=128
  copy_gm_to_ubuf ub[13312], gm[x2+4096], nburst=1, burst=128
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID1
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1
  vadd.f16 ub[21504], ub[4096], ub[13312], repeat=16
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID1
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID1
  copy_ubuf_to_gm gm[x3+4096], ub[21504], nburst=1, burst=128
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  add x1, x1, 8192
  add x2, x2, 8192
  add x3, x3, 8192
  add x7, x7, 2
  blt x7, x4, loop
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0  # take back the ping buffers' last set
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1  # and the pong buffers'
  end
