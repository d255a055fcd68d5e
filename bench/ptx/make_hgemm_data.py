#!/usr/bin/python3
"""Inputs, reference and check for bench/ptx/hgemm.ptx (C = A B, half in, float out).

    bench/ptx/make_hgemm_data.py gen DIR M N K [--seed S]
        writes DIR/A.bin (M x K half, row-major), DIR/B.bin (K x N half, row-major),
        DIR/C.bin (M x N float zeros: the output buffer), DIR/ref.bin (M x N float32: the
        product computed in float64, then rounded) and DIR/shape.txt ("M N K"), and prints the
        xpusim command that runs the kernel on them.
    bench/ptx/make_hgemm_data.py check DIR OUT
        compares OUT (the C buffer after the kernel, M x N float32) with DIR/ref.bin; prints the
        largest absolute error and its ratio to the error bound; exit status 0 when every
        element is within the bound, 1 otherwise.

A and B are uniform in [-1, 1) rounded to half. Products of halves are exact in float32; the
kernel adds them in float32 in an order the tensor cores choose, so each element of C may be
off the exact sum by at most 2 (K + 2) u sum_k |A[m,k] B[k,n]| (u = 2^-24, any summation
order); ref.bin adds its own rounding, u |ref|, to the bound.

The kernel requires M % 128 == 0, N % 256 == 0, K % 32 == 0 (see hgemm.cu); gen refuses other
shapes.
"""
import argparse
import os
import sys

import numpy as np

U = 2.0 ** -24  # unit roundoff of float32
BM, BN, BK = 128, 256, 32
THREADS = 256
SHARED_BYTES = 98304


def read_shape(folder):
    with open(os.path.join(folder, "shape.txt")) as f:
        m, n, k = (int(x) for x in f.read().split())
    return m, n, k


def gen(args):
    m, n, k = args.M, args.N, args.K
    if m <= 0 or n <= 0 or k <= 0 or m % BM or n % BN or k % BK:
        sys.exit(f"hgemm needs M % {BM} == 0, N % {BN} == 0, K % {BK} == 0 (got {m} {n} {k})")
    rng = np.random.default_rng(args.seed)
    a = rng.uniform(-1.0, 1.0, (m, k)).astype(np.float16)
    b = rng.uniform(-1.0, 1.0, (k, n)).astype(np.float16)
    ref = a.astype(np.float64) @ b.astype(np.float64)

    os.makedirs(args.dir, exist_ok=True)
    a.tofile(os.path.join(args.dir, "A.bin"))
    b.tofile(os.path.join(args.dir, "B.bin"))
    np.zeros((m, n), dtype=np.float32).tofile(os.path.join(args.dir, "C.bin"))
    ref.astype(np.float32).tofile(os.path.join(args.dir, "ref.bin"))
    with open(os.path.join(args.dir, "shape.txt"), "w") as f:
        f.write(f"{m} {n} {k}\n")

    d = args.dir
    print(f"build/release/cli/xpusim run --arch a100 --kernel bench/ptx/hgemm.ptx --entry hgemm "
          f"--grid {n // BN},{m // BM} --block {THREADS} --shared {SHARED_BYTES} "
          f"--arg hgemm_param_0={d}/A.bin --arg hgemm_param_1={d}/B.bin "
          f"--arg hgemm_param_2={d}/C.bin --arg hgemm_param_3={n} --arg hgemm_param_4={k} "
          f"--out OUTDIR")
    print(f"then: {sys.argv[0]} check {d} OUTDIR/hgemm_param_2.bin")


def check(args):
    m, n, k = read_shape(args.dir)
    a = np.fromfile(os.path.join(args.dir, "A.bin"), dtype=np.float16).reshape(m, k)
    b = np.fromfile(os.path.join(args.dir, "B.bin"), dtype=np.float16).reshape(k, n)
    ref = np.fromfile(os.path.join(args.dir, "ref.bin"), dtype=np.float32).reshape(m, n)
    out = np.fromfile(args.out, dtype=np.float32)
    if out.size != m * n:
        print(f"{args.out}: {out.size} floats, expected {m} x {n} = {m * n}")
        return 1
    out = out.reshape(m, n)

    abs_sum = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    bound = 2 * (k + 2) * U * abs_sum + U * np.abs(ref.astype(np.float64))
    err = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    err[~np.isfinite(out)] = np.inf
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    bad = int(np.count_nonzero(~(err <= bound)))
    print(f"M={m} N={n} K={k}: max abs error {err.max():.3e} (max |ref| {np.abs(ref).max():.3e}); "
          f"largest error / bound {err[worst] / bound[worst]:.3f} at {tuple(int(i) for i in worst)}; "
          f"{bad} of {m * n} elements over the bound")
    return 0 if bad == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write inputs and reference")
    g.add_argument("dir")
    g.add_argument("M", type=int)
    g.add_argument("N", type=int)
    g.add_argument("K", type=int)
    g.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("check", help="compare a kernel output with the reference")
    c.add_argument("dir")
    c.add_argument("out")
    args = p.parse_args()
    if args.cmd == "gen":
        gen(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
