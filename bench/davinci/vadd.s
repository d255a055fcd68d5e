// Long vector add z = x + y (f16 or f32), double buffered, for the vector pipe's and the data
// paths' throughput. Block b adds tiles b * tiles ... (b + 1) * tiles - 1 of R * 256 bytes each
// (R = rep, at most 255 vector iterations a tile; f16: 128 elements an iteration, f32: 64).
// While the vector unit adds one tile, MTE2 loads the next and MTE3 stores the previous sum.
//   via_l1 = 0: GM -> UB on MTE2 (copy_gm_to_ubuf), the usual route;
//   via_l1 = 1: GM -> L1 on MTE2, then L1 -> UB on MTE1 (copy_cbuf_to_ubuf).
// The sum is written over x in the UB. UB layout, buffer i (0, 1): x at i * T, y at
// 2T + i * T + d, d chosen so that y - x is 1 KiB more than a multiple of 2 KiB: x's and y's
// blocks of an iteration then sit in different banks (a UB bank every 32 bytes, 64 banks).
// UB use 4T + d, under 4T + 2 KiB (R = 128 takes 129 KiB); via_l1 also uses 4T of L1.
// Each flag below serves both buffers: it counts its sets, and every pipe takes the buffers in
// the same order, so the n-th wait_flag takes the n-th set_flag.
.kernel vadd
.param x, x1
.param y, x2
.param z, x3
.param tiles, x4         // tiles per block
.param rep, x5           // R: vector iterations (256 bytes) per tile, 1 to 255
.param f32, x6           // 0: f16, 1: f32
.param via_l1, x7
  shl x8, x5, 8          // T: bytes per tile
  shl x9, x5, 3          // 32-byte blocks per tile
  get_block_idx x10
  mul x10, x10, x4
  mul x10, x10, x8       // this block's byte offset
  add x1, x1, x10
  add x2, x2, x10
  add x3, x3, x10
  shl x11, x8, 1         // 2T
  and x12, x11, 2047
  mov x13, 3072
  sub x13, x13, x12
  and x13, x13, 2047     // d = (1024 - 2T) mod 2048
  add x13, x13, x11      // y of buffer 0: 2T + d
  mov x14, 0             // x of the current buffer (0 or T)
  mov x15, x13           // y of the current buffer
  mov x16, 0             // tile
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff
  bne x7, 0, l1_route
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0   # both UB buffers start free
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
ub_loop:
  bge x16, x4, ub_done
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0  # the buffer's last sum has left
  copy_gm_to_ubuf ub[x14], gm[x1], nburst=1, burst=x9
  copy_gm_to_ubuf ub[x15], gm[x2], nburst=1, burst=x9
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  bne x6, 0, ub_f32
  vadd.f16 ub[x14], ub[x14], ub[x15], repeat=x5
  jmp ub_added
ub_f32:
  vadd.f32 ub[x14], ub[x14], ub[x15], repeat=x5
ub_added:
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  copy_ubuf_to_gm gm[x3], ub[x14], nburst=1, burst=x9
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  xor x14, x14, x8       # the other buffer: x at T - x (0 <-> T), y likewise
  sub x15, x15, x13
  xor x15, x15, x8
  add x15, x15, x13
  add x1, x1, x8
  add x2, x2, x8
  add x3, x3, x8
  add x16, x16, 1
  jmp ub_loop
ub_done:
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0
  end

l1_route:                # L1: x of buffer i at i * 2T, y at i * 2T + T
  mov x17, 0             # L1 x of the current buffer
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0   # both L1 buffers start free
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0   # both UB buffers start free
  set_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0
l1_loop:
  bge x16, x4, l1_done
  add x18, x17, x8       # L1 y
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0  # the L1 buffer is free
  copy_gm_to_cbuf l1[x17], gm[x1], nburst=1, burst=x9
  copy_gm_to_cbuf l1[x18], gm[x2], nburst=1, burst=x9
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0  # the UB buffer's last sum has left
  copy_cbuf_to_ubuf ub[x14], l1[x17], nburst=1, burst=x9
  copy_cbuf_to_ubuf ub[x15], l1[x18], nburst=1, burst=x9
  set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  set_flag PIPE_MTE1, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_V, EVENT_ID0
  bne x6, 0, l1_f32
  vadd.f16 ub[x14], ub[x14], ub[x15], repeat=x5
  jmp l1_added
l1_f32:
  vadd.f32 ub[x14], ub[x14], ub[x15], repeat=x5
l1_added:
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  copy_ubuf_to_gm gm[x3], ub[x14], nburst=1, burst=x9
  set_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0
  xor x17, x17, x11      # the other L1 buffer: 0 <-> 2T
  xor x14, x14, x8
  sub x15, x15, x13
  xor x15, x15, x8
  add x15, x15, x13
  add x1, x1, x8
  add x2, x2, x8
  add x3, x3, x8
  add x16, x16, 1
  jmp l1_loop
l1_done:
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE3, PIPE_MTE1, EVENT_ID0
  end
