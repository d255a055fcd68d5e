#!/usr/bin/python3
"""Plots the results of `xpusim validate`: predicted against measured time per row.

    scripts/plot_validation.py DIR OUT.png

reads DIR/validation.csv and DIR/summary.json (the folder `xpusim validate` wrote) and writes a
log-log scatter with the line y = x, MAPE and Pearson r in the title, to OUT.png. Needs
matplotlib (Debian: apt-get install python3-matplotlib; run with /usr/bin/python3).
"""
import csv
import json
import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 1
    folder, out = Path(sys.argv[1]), sys.argv[2]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("plot_validation.py: needs matplotlib (apt-get install python3-matplotlib; run "
              "with /usr/bin/python3)", file=sys.stderr)
        return 1
    try:
        with open(folder / "validation.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as e:
        print(f"plot_validation.py: {folder} does not hold xpusim validate results: {e}",
              file=sys.stderr)
        return 1
    measured = [float(r["measured_us"]) for r in rows]
    predicted = [float(r["predicted_us"]) for r in rows]

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(measured, predicted, s=12, alpha=0.6)
    low = min(measured + predicted) / 1.2
    high = max(measured + predicted) * 1.2
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="y = x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    # Ticks at 1, 2, 5 x 10^k, written as plain numbers.
    ticks = [m * 10.0**k for k in range(-3, 7) for m in (1, 2, 5) if low <= m * 10.0**k <= high]
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
        axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(f"measured ({summary['column']}), µs")
    ax.set_ylabel(f"predicted by xpusim on {summary['arch']} ({summary['dtype']}), µs")
    r = summary["pearson_r"]
    ax.set_title(f"{Path(summary['file']).name}: {summary['rows']} GEMMs\n"
                 f"MAPE {summary['mape_percent']:.1f} %, Pearson r "
                 + ("n/a" if r is None else f"{r:.3f}"))
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"{out}: {len(rows)} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
