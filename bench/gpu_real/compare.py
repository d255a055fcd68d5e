#!/usr/bin/env python3
"""Puts the kernel times measured on a real GPU (bench/gpu_real/run.py's gpu_real.json) beside
the GPU model's for the same launches.

    bench/gpu_real/compare.py GPU_REAL_JSON [--arch h100] [--xpusim build/release/cli/xpusim]

Runs each kernel of the file with `xpusim run --kernel` on the preset (the fixtures with their
inputs and values; hgemm timing only) and prints, per kernel, the measured median time, the
model's time (cycles at the preset's clock) and model / measured.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from run import FIXTURES, read_manifest  # noqa: E402  (the manifests' reader)


def launch_args(kernel, tmp):
    """The `xpusim run` arguments of a gpu_real.json entry."""
    if "hgemm" in kernel:
        n = kernel["hgemm"]
        zeros = {}
        for name, size in (("a", n * n * 2), ("c", n * n * 4)):
            zeros[name] = os.path.join(tmp, f"{name}{n}.bin")
            with open(zeros[name], "wb") as f:
                f.truncate(size)
        return ["--kernel", os.path.join(ROOT, "bench", "ptx", "hgemm.ptx"), "--entry", "hgemm",
                "--grid", f"{n // 256},{n // 128}", "--block", "256", "--shared", "98304",
                "--arg", f"hgemm_param_0={zeros['a']}", "--arg", f"hgemm_param_1={zeros['a']}",
                "--arg", f"hgemm_param_2={zeros['c']}", "--arg", f"hgemm_param_3={n}",
                "--arg", f"hgemm_param_4={n}", "--no-functional"]
    m = read_manifest(os.path.join(FIXTURES, kernel["manifest"]))
    argv = ["--kernel", os.path.join(FIXTURES, m["ptx"]), "--entry", m["entry"],
            "--grid", ",".join(map(str, m["grid"])), "--block", ",".join(map(str, m["block"])),
            "--shared", str(m.get("shared", 0))]
    for a in m["args"]:
        if "file" in a:
            value = os.path.join(FIXTURES, a["file"])
        elif "zeros" in a:
            value = os.path.join(tmp, f"{kernel['name']}-{a['name']}.bin")
            with open(value, "wb") as f:
                f.truncate(int(a["zeros"]))
        else:
            value = str(a["value"])
        argv += ["--arg", f"{a['name']}={value}"]
    return argv


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("measured")
    p.add_argument("--arch", default="h100")
    p.add_argument("--xpusim", default=os.path.join(ROOT, "build", "release", "cli", "xpusim"))
    a = p.parse_args()
    measured = json.load(open(a.measured))
    print(f"measured on: {measured['device']}; model: {a.arch}")
    print(f"{'kernel':<28} {'measured us':>12} {'model us':>10} {'model/measured':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for k in measured["kernels"]:
            if not k["us"]:
                print(f"{k['name']:<28} {'-':>12}  (not run on the GPU: {k['check']})")
                continue
            out = os.path.join(tmp, "run")
            r = subprocess.run([a.xpusim, "run", "--arch", a.arch, "--out", out, "--force"] +
                               launch_args(k, tmp), capture_output=True, text=True,
                               env=dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1"))
            if r.returncode != 0:
                print(f"{k['name']:<28} {k['us'][0]:12.2f}  (xpusim failed: "
                      f"{r.stdout.strip().splitlines()[-1:]})")
                continue
            model = json.load(open(os.path.join(out, "stats.json")))["seconds"] * 1e6
            print(f"{k['name']:<28} {k['us'][0]:12.2f} {model:10.2f} {model / k['us'][0]:15.2f}")


if __name__ == "__main__":
    main()
