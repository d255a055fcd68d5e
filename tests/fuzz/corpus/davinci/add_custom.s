// Elementwise z = x + y of f16 vectors, double buffered: while the vector unit adds one pair of
// 4 KiB tiles, MTE2 loads the next pair and MTE3 stores the previous sum. Each block handles
// `pairs` pairs of tiles (8 KiB of each operand per pair), from block_idx * pairs * 8 KiB on.
.kernel add_custom
.param x, x1
.param y, x2
.param z, x3
.param pairs, x4        // tile pairs per block
  get_block_idx x5
  mul x6, x5, x4
  shl x6, x6, 13        // a pair of tiles: 8 KiB of each operand
  add x1, x1, x6
  add x2, x2, x6
  add x3, x3, x6
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # both buffers start free
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  mov x7, 0
loop:
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=128
  copy_gm_to_ubuf ub[8192], gm[x2], nburst=1, burst=128
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  copy_gm_to_ubuf ub[4096], gm[x1+4096], nburst=1, burst=128
  copy_gm_to_ubuf ub[12288], gm[x2+4096], nburst=1, burst=128
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID1
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  vadd.f16 ub[16384], ub[0], ub[8192], repeat=16
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1
  vadd.f16 ub[20480], ub[4096], ub[12288], repeat=16
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID1
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  copy_ubuf_to_gm gm[x3], ub[16384], nburst=1, burst=128
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID1
  copy_ubuf_to_gm gm[x3+4096], ub[20480], nburst=1, burst=128
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  add x1, x1, 8192
  add x2, x2, 8192
  add x3, x3, 8192
  add x7, x7, 1
  blt x7, x4, loop
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  end
