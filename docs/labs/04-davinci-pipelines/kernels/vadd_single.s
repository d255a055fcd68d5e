// Lab 04, part 1: z = x + y on f16 vectors, single-buffered.
// Each block adds `tiles` tiles of 2048 elements (4 KiB of each operand), from
// block_idx * tiles * 4 KiB on. One set of UB buffers: x at 0, y at 8192, z at 16384. Per tile
// the three pipes take turns, each handing the buffers to the next with a flag:
//   MTE2 copies x and y in  -> set_flag PIPE_MTE2, PIPE_V   (x and y are in the UB)
//   V adds them into z      -> set_flag PIPE_V, PIPE_MTE3   (z is in the UB)
//   MTE3 copies z out       -> set_flag PIPE_MTE3, PIPE_MTE2 (the buffers are free again)
.kernel vadd
.param x, x1
.param y, x2
.param z, x3
.param tiles, x4          // 4 KiB tiles per block
  get_block_idx x5
  mul x6, x5, x4
  shl x6, x6, 12          // this block's first byte: block_idx * tiles * 4096
  add x1, x1, x6
  add x2, x2, x6
  add x3, x3, x6
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff   # all 128 f16 lanes
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # the buffers start free
  mov x7, 0               # tile
loop:
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0  # MTE2 waits until the buffers are free
  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=128      # x: 128 blocks of 32 bytes
  copy_gm_to_ubuf ub[9216], gm[x2], nburst=1, burst=128   # y
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0     # V waits for x and y
  vadd.f16 ub[16384], ub[0], ub[9216], repeat=16          # 16 iterations of 128 elements
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0     # MTE3 waits for z
  copy_ubuf_to_gm gm[x3], ub[16384], nburst=1, burst=128
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # z is out: x, y and z may be overwritten
  add x1, x1, 4096
  add x2, x2, 4096
  add x3, x3, 4096
  add x7, x7, 1
  blt x7, x4, loop
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0  # take back the last set
  end
