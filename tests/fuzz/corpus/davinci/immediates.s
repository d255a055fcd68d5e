// Pipe instructions whose operands are all immediates: what the fuzz target checks against
// ascend910's memories.
.kernel immediates
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff
  copy_gm_to_cbuf l1[0], gm[4096], nburst=2, burst=64, src_gap=1, dst_gap=0
  copy_gm_to_ubuf ub[0], gm[0], nburst=1, burst=128
  copy_cbuf_to_ubuf ub[8192], l1[0], nburst=1, burst=16
  load_cbuf_to_ca l0a[0], l1[0], repeat=4, transpose=1, src_stride=0
  load_cbuf_to_cb l0b[512], l1[2048], repeat=2, src_stride=4, dst_gap=1
  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=32, n=16
  mad.s8 l0c[0], l0a[0], l0b[0], m=16, k=64, n=16, init=1
  vexp.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=4, src0_rep=0
  vadds.f16 ub[0], ub[256], 1.5, repeat=1
  vadd.f32 ub[1024], ub[2048], ub[4096], repeat=8
  vcadd.f32 ub[0], ub[256], repeat=2, src0_blk=2, src0_rep=16
  vconv.f16.f32 ub[0], ub[256], repeat=2, dst_rep=4
  vconv.s32.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2
  vector_dup.f16 ub[0], 1.0, repeat=64
  vbrcb.f32 ub[512], ub[256], repeat=2, dst_blk=2, dst_rep=16
  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=4, src_gap=1, dst_gap=2, conv=f322f16
  fixpipe gm[8192], l0c[0], m=16, n=16, dst_stride=64, conv=req8, mul=-3, shift=1, relu=1
  copy_ubuf_to_gm gm[0], ub[0], nburst=1, burst=128
  ld_ub x9, ub[8]
  pipe_barrier PIPE_ALL
  end
