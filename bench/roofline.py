#!/usr/bin/env python3
"""Roofline benchmark of the TPU lowering (see bench/README.md, "Roofline").

    bench/roofline.py [--xpusim PATH] [--arch tpu_v4,tpu_v1] [--out DIR] [--jobs N]
                      [--random N [--seed S]] [--set KEY=VALUE ...]

For square GEMMs from 128 to 8192, the distinct convolutions of ResNet-50
(workloads/bench/resnet50-convs.yaml) and, on presets with a vector unit, vector ops of a
transformer's sizes, each run alone (`xpusim run --no-functional`), it prints the bound set by
the preset's own limits, the model's cycles and their ratio (bound / model: 1.0 means the
lowering wastes nothing the machine would not). The bound of a layer seen as an M x N x K
matrix product (a convolution as its im2col GEMM) is

    max(arrays + fill, drain + fill, hbm + DRAM latency)
    arrays = max(W * M / (arrays per core * cores),
                 (ceil(W / (arrays per core * cores)) - 1) * R)
             (weight-stationary: every R x C weight tile streams the M rows, one per cycle, and
             an array loads one tile at a time, R cycles each, the first in the fill; a tile
             loaded into several arrays streams part of the rows on each)
    W      = ceil(K / R) * ceil(N / C), the weight tiles
    drain  = ceil(M / act.rows) * ceil(N / C) / cores
             (the activation pipeline: act.rows rows of C results per cycle)
    hbm    = bytes each operand and the result move once / HBM bytes per cycle
    fill   = 2 * DRAM latency (the first read, the last write) + transfer (the first weight
             tile's: a FIFO loads a tile into its array once it is whole) + R (its load)
             + R + C - 2 (the skew through the array) + the activation latency
    transfer = min(K, R) * min(N, C) * element bytes / HBM bytes per cycle

with R x C the array, and two more that follow one result through the machine, each of them
a lower bound too:

    pipe   = DRAM latency + reads + R + C - 2 + activation latency + DRAM latency
             (the last operand byte read arrives a latency after the reads; the product it
             enters leaves the array a skew later, is activated, and its store completes a
             latency after it is served)
    head   = DRAM latency + transfer + R + R + C - 2 + activation latency + writes + DRAM latency
             (no result can be stored before a weight tile has arrived whole, been loaded, R
             cycles whatever its size, and streamed a row through the skew; every result byte
             is stored after that)
    reads, writes = the bytes of the operands, of the result / HBM bytes per cycle

and one for the arrays' weight FIFOs (weight_fifo.depth slots each):

    feed   = ceil(tiles / depth) * (fetch + R) + R + C - 2 + activation latency + DRAM latency
    tiles  = ceil(ceil(K / R) * ceil(N / C) / (arrays per core * cores))
             (each weight tile is loaded at least once, the busiest array loads at least its
             share, and a tile holds its FIFO slot from its request to the end of its R-cycle
             load, so each slot passes one per fetch + R cycles)
    fetch  = DRAM latency + the tile's bytes / HBM bytes per cycle, or, on presets that keep
             weights in the UB (lowering.keep_weights), the tile's bytes / ub.port_bytes

and one for the weight tiles' arrival through the HBM:

    weights = max over i of (DRAM latency + the i smallest tiles' bytes / HBM bytes per cycle
                             + R + (tiles - i + 1) * M / (arrays per core * cores))
              + R + C - 2 + activation latency + DRAM latency
             (every weight tile crosses the HBM at least once, the i-th to arrive no sooner than
             the bytes of i tiles allow; it loads into an array, R cycles, before it streams a
             row, so the M rows of it and of every tile after it, spread over all the arrays,
             stream after that)

and, on presets whose arrays take their weights only from DRAM (no lowering.keep_weights), one
for the accumulators when K takes several steps (ceil(K / R) > 1):

    sums   = the least, over x = 0 .. ceil(N / C), of max(once(x), twice(x)), and where the two
             cross between two integers, their value there (the line between the two points:
             an N tile may read only some of its weight tiles twice)
    twice(x) = (A + B + the x narrowest N tiles' K x width weights + C) / HBM bytes per cycle
             + DRAM latency
    once(x) = DRAM latency + (A + the narrowest other N tile's K x width weights)
             / HBM bytes per cycle
             + (the other N tiles - live) * ceil(K / R) * M / (arrays per core * cores)
             + R + C - 2 + activation latency + DRAM latency   (none when x takes them all)
    live   = the most of the other N tiles whose sums of M rows (4 bytes each) fit
             acc.bytes * cores
             (x N tiles have their weights read more than once, the others once. An N tile
             whose weights are read once has each of them loaded once, so each streams all M
             rows while loaded, and its sums of all M rows stay in the accumulators from its
             first K step to its last: at most `live` such N tiles are under way at once. None of
             them ends before all of A and its weights have arrived, and the other such N tiles'
             work cannot start before one does. An N tile whose rows go in blocks needs every
             one of its weight tiles once per block: all of its K x width weights cross the
             DRAM twice at least.)

The bound of a vector op over E elements (B bytes read and written) is

    max(vector + fill, port + fill, hbm + DRAM latency)
    vector = ceil(E / vpu.lanes) * passes / cores   (passes as docs/models/tpu.md lists them)
    port   = max(bytes read, bytes written) / ub.port_bytes / cores   (a read and a write path)
    hbm    = B / HBM bytes per cycle
    fill   = 2 * DRAM latency + vpu.latency

The runs set lowering.single_step=false: the bound is that of the pipelined lowering. (The
tpu_v4 presets run a GEMM that fits on chip in one step, as XLA does, operands in, then the
products, then the result out; that schedule is checked against measured kernels in
docs/validation/tpu.md.) The parameters are read from each run's config.resolved.yaml. Runs
go under --out (default /tmp/xpusim-roofline), never into the source tree. bf16 on presets
whose arrays multiply bf16, else int8.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resolved(path):
    """The two-level keys of a config.resolved.yaml (section.key -> text), without a YAML
    library: the file is xpusim's own, one `key: value  # comment` per line."""
    out, section = {}, ""
    for line in open(path):
        text = line.split("#", 1)[0].rstrip()
        if not text.strip() or ":" not in text:
            continue
        key, value = text.split(":", 1)
        if not line.startswith(" "):
            section = key.strip()
            if value.strip():
                out[section] = value.strip()
        else:
            out[section + "." + key.strip()] = value.strip()
    return out


def gemm_layers():
    return [dict(name=f"gemm{n}", op="gemm", M=n, N=n, K=n) for n in
            (128, 256, 512, 1024, 2048, 4096, 8192)]


def conv_layers():
    layers = []
    for line in open(os.path.join(ROOT, "workloads/bench/resnet50-convs.yaml")):
        line = line.strip()
        if not line.startswith("- {name:"):
            continue
        body = line[line.index("{") + 1:line.index("}")]
        layer = dict(kv.split(": ", 1) for kv in (f.strip() for f in body.split(",")))
        layers.append({k: (int(v) if v.isdigit() else v) for k, v in layer.items()})
    return layers


# Vector ops over [rows, cols]: the passes the vector unit makes over each element.
VECTOR_PASSES = {"add": 1, "relu": 1, "gelu": 2, "softmax": 3, "layernorm": 3}


def random_layers(count, seed):
    """`count` GEMMs and convolutions of random shapes (half each, on average): M, N, K 1 to
    1,500; convolutions of 1 to 4 images of 1 to 300 channels, up to 60 x 60 pixels, to 1 to
    300 channels, with 1x1 to 7x7 windows, stride 1 or 2, no padding or half the window."""
    rng = random.Random(seed)
    layers = []
    for _ in range(count):
        if rng.random() < 0.5:
            m, n, k = (rng.randint(1, 1500) for _ in range(3))
            layers.append(dict(name=f"gemm{m}x{n}x{k}", op="gemm", M=m, N=n, K=k))
            continue
        r = rng.choice([1, 1, 3, 3, 5, 7])
        layer = dict(op="conv2d", N=rng.choice([1, 1, 2, 4]), C=rng.randint(1, 300),
                     H=rng.randint(r, 60), W=rng.randint(r, 60), K=rng.randint(1, 300), R=r, S=r,
                     stride=rng.choice([1, 1, 2]), pad=rng.choice([0, r // 2]))
        name = "conv{N}x{C}x{H}x{W}-{K}k{R}s{stride}p{pad}".format(**layer)
        layers.append(dict(name=name, **layer))
    return layers


def vector_layers():
    return [dict(name=f"{op}{rows}x{cols}", op=op, shape=[rows, cols])
            for op in VECTOR_PASSES for rows, cols in ((2048, 1024), (512, 4096))]


def yaml_of(layer, dtype):
    fields = ", ".join(f"{k}: {v}".replace("'", "") for k, v in layer.items() if k != "dtype")
    return f"name: {layer['name']}\nops:\n  - {{{fields}, dtype: {dtype}}}\n"


def gemm_view(layer):
    """M, N, K and the bytes each operand and the result move once, per element."""
    if layer["op"] == "gemm":
        m, n, k = layer["M"], layer["N"], layer["K"]
        return m, n, k, m * k + k * n + m * n
    oh = (layer["H"] + 2 * layer["pad"] - layer["R"]) // layer["stride"] + 1
    ow = (layer["W"] + 2 * layer["pad"] - layer["S"]) // layer["stride"] + 1
    m, n, k = layer["N"] * oh * ow, layer["K"], layer["C"] * layer["R"] * layer["S"]
    # The image once, or less when the stride skips pixels (a strided 1x1 conv reads M x K).
    image = min(layer["N"] * layer["C"] * layer["H"] * layer["W"], m * k)
    return m, n, k, image + k * n + m * n


def vector_bound(layer, cfg, elem):
    rows, cols = layer["shape"]
    elements = rows * cols
    operands = 2 if layer["op"] == "add" else 1
    moved = (operands + 1) * elements * elem
    clock = float(cfg["clock_mhz"])
    cores = int(cfg["chip.cores"])
    dram_latency = math.ceil(float(cfg["dram.latency_ns"]) * clock / 1e3)
    fill = 2 * dram_latency + int(cfg["vpu.latency"])
    parts = {
        "vector": math.ceil(elements / int(cfg["vpu.lanes"])) * VECTOR_PASSES[layer["op"]] / cores
        + fill,
        "port": operands * elements * elem / int(cfg["ub.port_bytes"]) / cores + fill,
        "hbm": moved / (float(cfg["dram.bandwidth_gbps"]) * 1e3 / clock) + dram_latency,
    }
    limit = max(parts, key=parts.get)
    return parts[limit], limit


def feed_cycles(n, k, cfg, elem):
    """When the last weight tile's load into its array ends at the earliest (the feed term)."""
    r, c = int(cfg["array.rows"]), int(cfg["array.cols"])
    arrays, cores = int(cfg["array.count"]), int(cfg["chip.cores"])
    clock = float(cfg["clock_mhz"])
    tiles = math.ceil(math.ceil(k / r) * math.ceil(n / c) / (arrays * cores))
    tile = min(k, r) * min(n, c) * elem
    if cfg["lowering.keep_weights"] == "true":
        fetch = tile / int(cfg["ub.port_bytes"])
    else:
        fetch = (math.ceil(float(cfg["dram.latency_ns"]) * clock / 1e3)
                 + tile / (float(cfg["dram.bandwidth_gbps"]) * 1e3 / clock))
    return math.ceil(tiles / int(cfg["weight_fifo.depth"])) * (fetch + r)


def bound(layer, cfg, elem):
    if "shape" in layer:
        return vector_bound(layer, cfg, elem)
    m, n, k, elems = gemm_view(layer)
    r, c = int(cfg["array.rows"]), int(cfg["array.cols"])
    arrays, cores = int(cfg["array.count"]), int(cfg["chip.cores"])
    clock = float(cfg["clock_mhz"])
    hbm_bytes_per_cycle = float(cfg["dram.bandwidth_gbps"]) * 1e3 / clock
    dram_latency = math.ceil(float(cfg["dram.latency_ns"]) * clock / 1e3)
    skew = r + c - 2 + int(cfg["act.latency"])
    transfer = min(k, r) * min(n, c) * elem / hbm_bytes_per_cycle
    fill = 2 * dram_latency + transfer + r + skew
    writes = m * n * elem / hbm_bytes_per_cycle
    k_tiles, n_tiles = math.ceil(k / r), math.ceil(n / c)
    weight_tiles = k_tiles * n_tiles
    reads = elems * elem / hbm_bytes_per_cycle - writes

    def arrival():
        """When the arrays' last stream ends at the earliest, the weight tiles arriving one after
        another through the HBM (the weights term)."""
        tiles = sorted(min(r, k - k0) * min(c, n - n0) * elem
                       for k0 in range(0, k, r) for n0 in range(0, n, c))
        end, arrived = 0, dram_latency
        for i, size in enumerate(tiles):
            arrived += size / hbm_bytes_per_cycle
            end = max(end, arrived + r + (len(tiles) - i) * m / (arrays * cores))
        return end

    parts = {
        "arrays": max(weight_tiles * m / (arrays * cores),
                      (math.ceil(weight_tiles / (arrays * cores)) - 1) * r) + fill,
        "drain": math.ceil(m / int(cfg["act.rows"])) * math.ceil(n / c) / cores + fill,
        "hbm": elems * elem / hbm_bytes_per_cycle + dram_latency,
        "pipe": 2 * dram_latency + reads + skew,
        "head": 2 * dram_latency + transfer + r + skew + writes,
        "feed": feed_cycles(n, k, cfg, elem) + skew + dram_latency,
        "weights": arrival() + skew + dram_latency,
    }
    widths = sorted([c] * (n // c) + ([n % c] if n % c else []))  # the N tiles' columns

    def live_of(tiles):
        """How many of `tiles` (narrowest first) have their sums of M rows in the accumulators."""
        live, room = 0, int(cfg["acc.bytes"]) * cores
        for width in tiles:
            if m * width * 4 > room:
                break
            live, room = live + 1, room - m * width * 4
        return live

    if (cfg["lowering.keep_weights"] != "true" and k_tiles > 1
            and live_of(widths) < n_tiles):
        a_bytes = (elems - k * n - m * n) * elem

        def split(x):
            """(once, twice) with the x narrowest N tiles' weights read more than once."""
            twice = ((elems + k * sum(widths[:x])) * elem / hbm_bytes_per_cycle
                     + dram_latency)
            rest = widths[x:]
            if not rest:
                return 0, twice
            once = (2 * dram_latency + (a_bytes + k * rest[0] * elem) / hbm_bytes_per_cycle
                    + max(0, len(rest) - live_of(rest)) * k_tiles * m / (arrays * cores)
                    + skew)
            return once, twice

        # At every x, and where once and twice cross between two: an N tile may read only some
        # of its weight tiles twice (the K steps whose rows go in blocks).
        ends = [split(x) for x in range(n_tiles + 1)]
        sums = min(max(p) for p in ends)
        for (o0, t0), (o1, t1) in zip(ends, ends[1:]):
            if (o0 - t0) * (o1 - t1) < 0:
                sums = min(sums, o0 + (o1 - o0) * (o0 - t0) / ((o0 - t0) - (o1 - t1)))
        parts["sums"] = sums
    limit = max(parts, key=parts.get)
    return parts[limit], limit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xpusim", default=os.path.join(ROOT, "build/release/cli/xpusim"))
    ap.add_argument("--arch", default="tpu_v4,tpu_v1")
    ap.add_argument("--out", default="/tmp/xpusim-roofline")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="N GEMMs and convolutions of random shapes in place of the fixed list")
    ap.add_argument("--seed", type=int, default=1, help="the random shapes' seed")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a parameter for every run (xpusim run --set; repeatable)")
    args = ap.parse_args()

    def run(arch, layer, dtype):
        d = os.path.join(args.out, os.path.basename(arch), layer["name"])
        os.makedirs(d, exist_ok=True)
        wl = os.path.join(d, "workload.yaml")
        with open(wl, "w") as f:
            f.write(yaml_of(layer, dtype))
        sets = [a for kv in ["lowering.single_step=false"] + args.set for a in ("--set", kv)]
        p = subprocess.run([args.xpusim, "run", "--arch", arch, "--workload", wl, "--no-functional",
                            *sets, "--quiet", "--force", "--out", os.path.join(d, "results")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"roofline.py: {arch} {layer['name']}: {p.stderr.strip()}")
        with open(os.path.join(d, "results/stats.json")) as f:
            cycles = json.load(f)["total_cycles"]
        return cycles, resolved(os.path.join(d, "results/config.resolved.yaml"))

    matrix_layers = (random_layers(args.random, args.seed) if args.random
                     else gemm_layers() + conv_layers())
    print("| preset | layer | M x N x K (or shape) | bound by | bound (cycles) | model (cycles) | "
          "bound / model |")
    print("|---|---|---|---|---:|---:|---:|")
    ratios = {}
    for arch in args.arch.split(","):
        probe = run(arch, gemm_layers()[0], "int8")[1]
        dtype = "bf16" if "bf16" in probe["array.dtypes"] else "int8"
        elem = 2 if dtype == "bf16" else 1
        vector = probe["vpu.enabled"] == "true" and not args.random
        layers = matrix_layers + (vector_layers() if vector else [])
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            results = list(ex.map(lambda l: run(arch, l, dtype), layers))
        for layer, (cycles, cfg) in zip(layers, results):
            b, limit = bound(layer, cfg, elem)
            if "shape" in layer:
                size = " x ".join(map(str, layer["shape"]))
            else:
                size = " x ".join(map(str, gemm_view(layer)[:3]))
            ratio = b / cycles
            ratios.setdefault(arch, []).append(ratio)
            print(f"| {arch} | {layer['name']} | {size} | {limit} | {b:,.0f} | {cycles:,} | "
                  f"{ratio:.2f} |")
    for arch, r in ratios.items():
        under = sum(x < 0.9 for x in r)
        print(f"\n{arch}: lowest bound / model {min(r):.2f}, median "
              f"{sorted(r)[len(r) // 2]:.2f}, {under} of {len(r)} under 0.9")


if __name__ == "__main__":
    main()
