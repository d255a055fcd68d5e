// The vector pipe's own rate: z = x + y on operands already in the UB, no copies in the loop.
// x = 1 at ub[0] and y = 2 at ub[17408] (16 KiB each, 64 iterations of 256 bytes; y is 1 KiB
// off a 2 KiB multiple from x, so an iteration's x and y blocks sit in different banks). Each
// round writes the 8 sums to 8 different 16 KiB regions from ub[34816] on, then a pipe_barrier
// (the next round writes the same bytes). At the end the 8 regions (128 KiB) go to GM, block b's
// to z + b * 128 KiB.
// f16: 8192 adds per vadd, f32: 4096.
.kernel vadd_ub
.param z, x1
.param rounds, x2
.param f32, x3
  get_block_idx x4
  shl x4, x4, 17
  add x1, x1, x4           # this block's 128 KiB of z
  mov x4, 0                # round
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff
  bne x3, 0, f32_start
  vector_dup.f16 ub[0], 1.0, repeat=64
  vector_dup.f16 ub[17408], 2.0, repeat=64
  pipe_barrier PIPE_V
f16_round:
  bge x4, x2, out
  vadd.f16 ub[34816], ub[0], ub[17408], repeat=64
  vadd.f16 ub[51200], ub[0], ub[17408], repeat=64
  vadd.f16 ub[67584], ub[0], ub[17408], repeat=64
  vadd.f16 ub[83968], ub[0], ub[17408], repeat=64
  vadd.f16 ub[100352], ub[0], ub[17408], repeat=64
  vadd.f16 ub[116736], ub[0], ub[17408], repeat=64
  vadd.f16 ub[133120], ub[0], ub[17408], repeat=64
  vadd.f16 ub[149504], ub[0], ub[17408], repeat=64
  pipe_barrier PIPE_V
  add x4, x4, 1
  jmp f16_round
f32_start:
  vector_dup.f32 ub[0], 1.0, repeat=64
  vector_dup.f32 ub[17408], 2.0, repeat=64
  pipe_barrier PIPE_V
f32_round:
  bge x4, x2, out
  vadd.f32 ub[34816], ub[0], ub[17408], repeat=64
  vadd.f32 ub[51200], ub[0], ub[17408], repeat=64
  vadd.f32 ub[67584], ub[0], ub[17408], repeat=64
  vadd.f32 ub[83968], ub[0], ub[17408], repeat=64
  vadd.f32 ub[100352], ub[0], ub[17408], repeat=64
  vadd.f32 ub[116736], ub[0], ub[17408], repeat=64
  vadd.f32 ub[133120], ub[0], ub[17408], repeat=64
  vadd.f32 ub[149504], ub[0], ub[17408], repeat=64
  pipe_barrier PIPE_V
  add x4, x4, 1
  jmp f32_round
out:
  set_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0
  copy_ubuf_to_gm gm[x1], ub[34816], nburst=1, burst=4096
  end
