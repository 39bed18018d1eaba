#!/usr/bin/python3
"""Plots (PNG, Debian's python3-matplotlib) from finished experiments and scaling studies:
  accuracy  RUN_DIR_OR_REPORT... --out acc.png   test accuracy vs strong-model size: the weak
            supervisors' ground-truth accuracy, each weak->strong student, and the ceiling
            (one panel per task and loss)
  pgr       RUN_DIR_OR_REPORT... --out pgr.png   PGR (with 95% CI) vs strong-model size, one line
            per weak supervisor, one panel per task and loss
  scaling   SCALING.csv --out scaling.png        tokens/s and parallel efficiency vs nodes (the CSV
            written by jobs/scaling-study: columns nodes, mode, tokens_per_s, efficiency)"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import w2s_read  # noqa: E402


def load_reports(paths):
    try:
        return [w2s_read.load_report(p) for p in paths]
    except w2s_read.FormatError as e:
        sys.exit(str(e))


def panels(reports):
    """(task, loss) -> rows, plus per-task size info."""
    groups, sizes = {}, {}
    for r in reports:
        for task, s in r.get("sizes", {}).items():
            sizes.setdefault(task, {}).update({x["size"]: x for x in s})
        for row in r["rows"]:
            groups.setdefault((row["task"], row["loss"]), []).append(row)
    return groups, sizes


def x_of(size, info):
    p = info.get(size, {}).get("params")
    return p if p else None


def plot_accuracy(reports, out):
    groups, sizes = panels(reports)
    n = len(groups)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(5 * max(n, 1), 4), squeeze=False)
    for ax, ((task, loss), rows) in zip(axes[0], sorted(groups.items())):
        info = sizes.get(task, {})
        gt = sorted((x_of(s, info), v["p_ground_truth"]) for s, v in info.items() if x_of(s, info))
        ax.plot([g[0] for g in gt], [g[1] for g in gt], "k-o", label="ground truth (ceiling)")
        for weak in sorted({r["weak"] for r in rows}, key=lambda s: x_of(s, info) or 0):
            pts = sorted((x_of(r["strong"], info), r["p_w2s"]) for r in rows if r["weak"] == weak and x_of(r["strong"], info))
            wx = x_of(weak, info)
            line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], "-s", label=f"weak {weak} -> strong")
            if wx:
                ax.axhline(info[weak]["p_ground_truth"], color=line.get_color(), ls=":", lw=1, label=f"weak {weak} alone")
        ax.set_xscale("log")
        ax.set_xlabel("strong model parameters")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{task}, loss {loss}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def plot_pgr(reports, out):
    groups, sizes = panels(reports)
    n = len(groups)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(5 * max(n, 1), 4), squeeze=False)
    for ax, ((task, loss), rows) in zip(axes[0], sorted(groups.items())):
        info = sizes.get(task, {})
        for weak in sorted({r["weak"] for r in rows}, key=lambda s: x_of(s, info) or 0):
            pts = sorted((x_of(r["strong"], info), r) for r in rows if r["weak"] == weak and r["pgr_defined"]
                         and x_of(r["strong"], info))
            if not pts:
                continue
            xs = [p[0] for p in pts]
            ys = [p[1]["pgr"] for p in pts]
            lo = [p[1]["pgr"] - (p[1]["pgr_ci"]["lo"] if p[1]["pgr_ci"]["lo"] is not None else p[1]["pgr"]) for p in pts]
            hi = [(p[1]["pgr_ci"]["hi"] if p[1]["pgr_ci"]["hi"] is not None else p[1]["pgr"]) - p[1]["pgr"] for p in pts]
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="-o", capsize=3, label=f"weak {weak}")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("strong model parameters")
        ax.set_ylabel("PGR (95% CI)")
        ax.set_title(f"{task}, loss {loss}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def plot_scaling(path, out):
    rows = list(csv.DictReader(open(path)))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in rows}):
        rs = sorted((int(r["nodes"]), float(r["tokens_per_s"]), float(r["efficiency"])) for r in rows if r["mode"] == mode)
        a1.plot([r[0] for r in rs], [r[1] for r in rs], "-o", label=mode)
        a2.plot([r[0] for r in rs], [r[2] for r in rs], "-o", label=mode)
    a1.set_xlabel("nodes"), a1.set_ylabel("tokens/s"), a1.set_xscale("log", base=2), a1.legend()
    a2.set_xlabel("nodes"), a2.set_ylabel("parallel efficiency"), a2.set_xscale("log", base=2), a2.set_ylim(0, 1.1)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["accuracy", "pgr", "scaling"])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.kind == "scaling":
        plot_scaling(a.inputs[0], a.out)
    else:
        reports = load_reports(a.inputs)
        (plot_accuracy if a.kind == "accuracy" else plot_pgr)(reports, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
