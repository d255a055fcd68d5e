#!/usr/bin/env python3
"""Runs xpusim's PTX kernels on a real NVIDIA GPU and times them (issue: the GPU family's
validation against hardware, docs/validation/gpu.md). Needs nvcc and a GPU; never part of the
xpusim build or its tests. Python's standard library only.

    bench/gpu_real/run.py --out DIR [--runs N] [--hgemm 1024,2048,4096,8192] [--only REGEX]

Builds bench/gpu_real/runner.cpp with nvcc, then for every manifest of tests/fixtures/ptx
(the committed kernels with their inputs and expected outputs, tests/fixtures/ptx/README.md)
runs the kernel, checks its outputs against the manifest's expected ones with its tolerances,
and records the median, least and greatest kernel time of N timed launches (CUDA events around
the launch alone). Then bench/ptx/hgemm.ptx at each --hgemm size (zero operands: the time, not
the values). Writes DIR/gpu_real.json (bench/gpu_real/compare.py reads it) and prints a table.
"""
import argparse
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "ptx")


def scalar(text):
    """A manifest value: int, float, or a [x, y, z] list of ints, or a string."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [int(v) for v in text[1:-1].split(",")]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def read_manifest(path):
    """The manifests' YAML subset (README.md, "Manifest format"): top-level `key: value`, and
    lists of `- key: value` mappings under `args:` and `outputs:`; `#` starts a comment."""
    doc, current = {}, None
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            body = line.strip()
            if indent == 0:
                key, _, value = body.partition(":")
                if value.strip():
                    doc[key] = scalar(value)
                    current = None
                else:
                    doc[key] = current = []
                continue
            if current is None:
                sys.exit(f"{path}:{number}: an indented line outside a list")
            if body.startswith("- "):
                current.append({})
                body = body[2:]
            key, _, value = body.partition(":")
            current[-1][key.strip()] = scalar(value)
    return doc


def runner_args(manifest, folder, tmp):
    """The runner's --arg list for a manifest's args (zero files written under tmp)."""
    out = []
    for a in manifest["args"]:
        if "file" in a:
            out.append(f"{a['name']}=file:{os.path.join(folder, a['file'])}")
        elif "zeros" in a:
            out.append(f"{a['name']}=zeros:{a['zeros']}")
        else:
            out.append(f"{a['name']}={a['type']}:{a['value']}")
    return out


def elements(data, ty):
    fmt = {"f32": "f", "s32": "i", "u32": "I", "f16": "e"}
    if ty == "bf16":
        return [struct.unpack("<f", b"\0\0" + data[i:i + 2])[0] for i in range(0, len(data), 2)]
    size = struct.calcsize(fmt[ty])
    return list(struct.unpack(f"<{len(data) // size}{fmt[ty]}", data))


def check_outputs(manifest, folder, got_dir):
    """'passed' or the first mismatch, as the golden test checks them."""
    for o in manifest.get("outputs", []):
        want = elements(open(os.path.join(folder, o["expected"]), "rb").read(), o["type"])
        got = elements(open(os.path.join(got_dir, o["name"] + ".bin"), "rb").read(), o["type"])
        got = got[:len(want)]
        atol, rtol = float(o.get("atol", 0)), float(o.get("rtol", 0))
        for i, (g, w) in enumerate(zip(got, want)):
            bad = (math.isnan(g) != math.isnan(w)) or (
                not math.isnan(w) and abs(g - w) > atol + rtol * abs(w))
            if bad:
                return f"{o['name']}[{i}] = {g}, expected {w}"
    return "passed"


def run_runner(runner, argv):
    r = subprocess.run([runner] + argv, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    m = re.search(r"^us ([0-9.]+) ([0-9.]+) ([0-9.]+)$", r.stdout, re.M)
    return [float(v) for v in m.groups()], ""


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--hgemm", default="1024,2048,4096,8192")
    p.add_argument("--only", default=".")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    nvcc = shutil.which("nvcc") or os.path.join(cuda, "bin", "nvcc")
    runner = os.path.join(a.out, "runner")
    subprocess.run([nvcc, "-O2", "-o", runner, os.path.join(HERE, "runner.cpp"), "-lcuda"],
                   check=True)
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm",
                          "--format=csv,noheader"], capture_output=True, text=True)
    result = {"device": smi.stdout.strip(), "runs": a.runs, "kernels": []}
    tmp = tempfile.mkdtemp()
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(".yaml") or not re.search(a.only, name):
            continue
        m = read_manifest(os.path.join(FIXTURES, name))
        got = os.path.join(tmp, name[:-5])
        os.makedirs(got, exist_ok=True)
        argv = ["--ptx", os.path.join(FIXTURES, m["ptx"]), "--entry", m["entry"],
                "--grid", ",".join(map(str, m["grid"])),
                "--block", ",".join(map(str, m["block"])), "--shared", str(m.get("shared", 0)),
                "--runs", str(a.runs), "--out", got]
        for arg in runner_args(m, FIXTURES, tmp):
            argv += ["--arg", arg]
        us, err = run_runner(runner, argv)
        check = check_outputs(m, FIXTURES, got) if us else err
        result["kernels"].append({"name": name[:-5], "manifest": name, "us": us, "check": check})
    for n in [int(v) for v in a.hgemm.split(",") if v]:
        if not re.search(a.only, f"hgemm{n}"):
            continue
        argv = ["--ptx", os.path.join(ROOT, "bench", "ptx", "hgemm.ptx"), "--entry", "hgemm",
                "--grid", f"{n // 256},{n // 128}", "--block", "256", "--shared", "98304",
                "--runs", str(a.runs),
                "--arg", f"hgemm_param_0=zeros:{n * n * 2}",
                "--arg", f"hgemm_param_1=zeros:{n * n * 2}",
                "--arg", f"hgemm_param_2=zeros:{n * n * 4}",
                "--arg", f"hgemm_param_3=s32:{n}", "--arg", f"hgemm_param_4=s32:{n}"]
        us, err = run_runner(runner, argv)
        result["kernels"].append({"name": f"hgemm{n}", "hgemm": n, "us": us,
                                  "check": "not checked (zero operands)" if us else err})
    shutil.rmtree(tmp)
    with open(os.path.join(a.out, "gpu_real.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"device: {result['device']}; {a.runs} timed launches each (CUDA events)")
    print(f"{'kernel':<28} {'median us':>10} {'min us':>10} {'max us':>10}  check")
    for k in result["kernels"]:
        us = k["us"] or [float("nan")] * 3
        print(f"{k['name']:<28} {us[0]:10.2f} {us[1]:10.2f} {us[2]:10.2f}  {k['check']}")


if __name__ == "__main__":
    main()
