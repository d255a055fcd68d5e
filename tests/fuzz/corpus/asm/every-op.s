# every opcode and enum value
top:
  rdhost ub=0x0, dram=0x10000, rows=16, bytes=16          ; stride defaults to bytes
  rdweight dram=0x20000, k=16, n=16, dtype=int8
  rdweight k=8, n=4, dtype=bf16, dram=0xffffffffffffffff, transpose=1, mxu=1  ; stride: k * 2
  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8
body: matmul ub=0x100, acc=0x0, m=4, k=8, n=4, dtype=bf16, mode=acc, keep=1, mxu=1
  activate acc=0x0, ub=0x400, rows=16, cols=16, dtype=int8, func=relu, mult=77, shift=12
  activate acc=0x0, ub=0x500, rows=4, cols=4, dtype=bf16
  vector func=add, dst=0x10, src=0x20, src2=0x30, rows=2, cols=8, dtype=int8
  vector func=mul, dst=0x10, src=0x20, src2=0x30, rows=2, cols=8, dtype=bf16
  vector func=relu, dst=0x10, src=0x20, rows=2, cols=8, dtype=int8
  vector func=gelu, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  vector func=silu, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  vector func=sigmoid, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  vector func=scale, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0.125
  vector func=softmax, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0.5, causal=1, offset=-3
  vector func=layernorm, dst=0x10, src=0x20, src2=0x40, rows=2, cols=8, dtype=bf16, imm=1e-5
  vector func=rmsnorm, dst=0x10, src=0x20, src2=0x40, rows=2, cols=8, dtype=bf16, imm=1e-6
  vector func=rowmax, dst=0x10, src=0x20, rows=2, cols=8, dtype=int8, groups=3
  vector func=rowavg, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0f7F800000, groups=2
  loop target=body, count=3
  rdconv ub=0x800, dram=0x40000, dtype=int8, h=5, w=7, c=3, r=3, s=3, rows=10, cols=27
  rdconv cols=4, rows=2, k0=5, m0=3, pad=lowest, pad_w=2, pad_h=1, stride_w=2, stride_h=3, s=2, r=4, cg=8, c=16, w=65535, h=300, dtype=bf16, dram=0x50000, ub=0x900
  wrhost dram=0x30000, ub=0x400, rows=16, bytes=16, stride=64
  sync
  loop count=2, target=top
  halt
