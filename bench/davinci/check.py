#!/usr/bin/python3
"""Checks the benchmark kernels of bench/davinci against numpy at small sizes, values on.

  bench/davinci/check.py gemm [--arch ascend910] [--mnk 512,512,192] [--blocks 3] [--tn 256] [--fix 0]
  bench/davinci/check.py vadd [--arch ascend910] [--blocks 3] [--tiles 3] [--rep 20] [--f32 0] [--via-l1 0]
  (--xpusim PATH, default build/release/cli/xpusim)

Writes random inputs, runs the kernel (the race check on) and compares its output bit for bit
with numpy: for gemm_f16_256.s, A x B accumulated in f32 in k order (the cube's order: the
product of two halves is exact in f32) and rounded once to f16; for vadd.s, x + y in the type.
Exits 1 on any difference.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["gemm", "vadd"])
ap.add_argument("--xpusim", default="build/release/cli/xpusim")
ap.add_argument("--arch", default="ascend910")
ap.add_argument("--blocks", type=int, default=3)
ap.add_argument("--mnk", default="512,512,192")
ap.add_argument("--tn", type=int, default=256)
ap.add_argument("--fix", type=int, default=0)
ap.add_argument("--tiles", type=int, default=3)
ap.add_argument("--rep", type=int, default=20)
ap.add_argument("--f32", type=int, default=0)
ap.add_argument("--via-l1", type=int, default=0)
o = ap.parse_args()
rng = np.random.default_rng(1)
d = tempfile.mkdtemp()


def run(kernel, entry, files, values):
    cmd = [o.xpusim, "run", "--arch", o.arch, "--kernel", os.path.join(HERE, kernel),
           "--entry", entry, "--grid", str(o.blocks), "--out", os.path.join(d, "out")]
    for name, v in files.items():
        v.tofile(os.path.join(d, name + ".bin"))
        cmd += ["--arg", f"{name}={d}/{name}.bin"]
    for name, v in values.items():
        cmd += ["--arg", f"{name}={v}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stdout + r.stderr)


if o.what == "gemm":
    m, n, k = (int(v) for v in o.mnk.split(","))
    a = rng.uniform(-2, 2, (m, k)).astype(np.float16)
    b = rng.uniform(-2, 2, (k, n)).astype(np.float16)
    acc = np.zeros((m, n), np.float32)
    for p in range(k):
        acc += a[:, p:p + 1].astype(np.float32) * b[p].astype(np.float32)
    want = acc.astype(np.float16)
    run("gemm_f16_256.s", "gemm_f16_256", {"a": a, "b": b, "c": np.zeros((m, n), np.float16)},
        {"m": m, "n": n, "k": k, "fix": o.fix, "tn": o.tn})
    got = np.fromfile(os.path.join(d, "out", "c.bin"), np.float16).reshape(m, n)
    what = f"gemm {m}x{n}x{k} tn={o.tn} fix={o.fix}"
else:
    ty = np.float32 if o.f32 else np.float16
    count = o.blocks * o.tiles * o.rep * 256 // np.dtype(ty).itemsize
    x = rng.uniform(-2, 2, count).astype(ty)
    y = rng.uniform(-2, 2, count).astype(ty)
    want = x + y
    run("vadd.s", "vadd", {"x": x, "y": y, "z": np.zeros(count, ty)},
        {"tiles": o.tiles, "rep": o.rep, "f32": o.f32, "via_l1": o.via_l1})
    got = np.fromfile(os.path.join(d, "out", "z.bin"), ty)
    what = f"vadd {count} x {np.dtype(ty).name} via_l1={o.via_l1}"
bits = np.uint32 if got.dtype == np.float32 else np.uint16
bad = np.count_nonzero(got.view(bits) != want.view(bits))
print(f"{o.arch} {what} over {o.blocks} blocks: {bad} of {want.size} elements differ")
sys.exit(1 if bad else 0)
