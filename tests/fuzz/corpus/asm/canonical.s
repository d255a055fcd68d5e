  rdhost ub=0x0, dram=0x0, rows=16, bytes=16, stride=16
  rdweight dram=0x100, k=16, n=16, dtype=int8, stride=16, transpose=0, mxu=0
  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8, mode=set, keep=0, mxu=0
  activate acc=0x0, ub=0x100, rows=16, cols=16, dtype=int8, func=relu, mult=1, shift=4
  wrhost dram=0x200, ub=0x100, rows=16, bytes=16, stride=16
  halt
