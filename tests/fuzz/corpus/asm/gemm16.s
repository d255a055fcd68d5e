# A: 16 rows of 16 bytes into the UB at 0x0
  rdhost ub=0x0, dram=0x0, rows=16, bytes=16
# B: one 16 x 16 tile onto the weight FIFO
  rdweight dram=0x100, k=16, n=16, dtype=int8
# ACC[0x0] = A x B, int32
  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8
# requantise (x 1 / 2^4), ReLU, into the UB at 0x100
  activate acc=0x0, ub=0x100, rows=16, cols=16, dtype=int8, func=relu, mult=1, shift=4
  wrhost dram=0x200, ub=0x100, rows=16, bytes=16
  halt
