#!/usr/bin/python3
"""Plots a `w2s cascade` result: accuracy against compute (fraction of the strong model's FLOPs)
over every threshold, the sweep's points marked, the weak/strong models, the target line and the
least-cost τ (chosen on the selection split, plotted at its accuracy and cost on the report split).

usage: /usr/bin/python3 tools/plot_cascade.py DIR/cascade.json [OUT.png]   (default DIR/cascade.png)
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    path = sys.argv[1]
    try:
        r = json.load(open(path))
        curve, points = r["curve"], r["points"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{path}: not a cascade.json ({e})")
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(path) or ".", "cascade.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p["compute_fraction"] for p in curve], [p["accuracy"] for p in curve], "-", lw=1, label="every threshold")
    ax.plot([p["compute_fraction"] for p in points], [p["accuracy"] for p in points], "o", ms=4, label="sweep τ")
    ax.axhline(r["target_accuracy"], ls="--", c="gray", lw=1, label=f"target ({r['target_fraction']:g} × strong)")
    ax.axhline(r["strong_accuracy"], ls=":", c="k", lw=1, label="strong alone")
    ax.axhline(r["weak_accuracy"], ls=":", c="r", lw=1, label="weak alone")
    choice = r["choice"]["curve"]
    if choice["found"]:  # chosen on the selection split, shown as measured on the report split
        b = choice["report"]
        ax.plot([b["compute_fraction"]], [b["accuracy"]], "*", ms=12, c="g",
                label=f"least cost (held-out): τ={choice['tau']:.3g}")
    ax.set_xlabel("compute (fraction of the strong model's FLOPs)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"cascade on {os.path.basename(r['data'])} (n={r['n']})")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, out)  # atomic: a reader never sees half a PNG
    print(out)


if __name__ == "__main__":
    main()
