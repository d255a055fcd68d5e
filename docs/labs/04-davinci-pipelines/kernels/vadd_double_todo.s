// Lab 04, part 2: the starting point of your double-buffered vector add.
// Copy this file (results/lab04/my_vadd_double.s) and fill in the TODOs. As it stands it is
// vadd_single.s with the loop already stepping two tiles at a time: it adds only the even tiles
// (ping buffers, EVENT_ID0), and the odd ones stay zero in z.
//
// The plan: two sets of UB buffers, ping (even tiles, EVENT_ID0) with x at 0, y at 8192, z at
// 16384, and pong (odd tiles, EVENT_ID1) at the same addresses plus 4096. Each set has its own
// three flags, so that MTE2 can fill one set while V and MTE3 work on the other.
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
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # the ping buffers start free
  # TODO 1: the pong buffers start free too
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
  # TODO 2: the same ten instructions for tile i+1: its bytes are 4096 further in x, y and z
  # (gm[x1+4096], ...), its buffers 4096 further in the UB, and every flag is EVENT_ID1.
  add x1, x1, 8192        # two tiles on
  add x2, x2, 8192
  add x3, x3, 8192
  add x7, x7, 2
  blt x7, x4, loop
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0  # take back the last set
  # TODO 3: and the pong buffers' last set
  end
