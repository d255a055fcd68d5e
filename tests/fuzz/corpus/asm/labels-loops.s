start: again:
  loop target=start, count=0
x: loop target=x, count=4294967295 ; self
  vector func=softmax, dst=0x0, src=0x0, rows=1, cols=1, dtype=bf16, imm=-0.0, causal=1, offset=-2147483648
  vector func=scale, dst=0, src=0, rows=1, cols=1, dtype=bf16, imm=0fFFFFFFFF
  activate acc=0xffffffff, ub=4294967295, rows=4294967295, cols=4294967295, dtype=fp32
  sync
  halt
