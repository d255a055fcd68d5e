  rdconv ub=0x0, dram=0x0, dtype=int8, h=65535, w=65535, c=4294967295, r=255, s=255, stride_h=255, stride_w=255, pad_h=255, pad_w=255, rows=1, cols=1, m0=4294967295, k0=4294967295, cg=4294967295
  halt
