#!/usr/bin/python3
"""Plots (PNG, Debian's python3-matplotlib) from finished experiments and scaling studies:
  accuracy  RUN_DIR_OR_REPORT... --out acc.png   test accuracy vs strong-model size: the weak
            supervisors' ground-truth accuracy, each weak->strong student, and the ceiling
            (one panel per task and loss)
  pgr       RUN_DIR_OR_REPORT... --out pgr.png   PGR (with 95% CI) vs strong-model size, one line
            per weak supervisor, one panel per task and loss
  scaling   SCALING.csv --out scaling.png        tokens/s and parallel efficiency vs total ranks
            (log2) with the ideal line and min-max bars over repeats, and each point's step split
            into compute and exposed communication (the CSV of jobs/scaling-study --collect;
            missing points are skipped and named under the figure)"""
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


def scaling_number(row, key):
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):  # empty (missing point) or "n/a"
        return None


def scaling_series(rows):
    """(mode, tasks per node) -> measured rows by ranks: one line per ranks-per-node, so a study
    over nodes and tasks per node does not zig-zag between shapes of equal ranks."""
    series = {}
    for r in rows:
        if scaling_number(r, "tokens_per_s") is not None:
            series.setdefault((r["mode"], int(r["tasks_per_node"])), []).append(r)
    return {k: sorted(v, key=lambda r: int(r["ranks"])) for k, v in sorted(series.items())}


def error_bars(rows, key):
    mid = [scaling_number(r, key) for r in rows]
    lo = [m - (scaling_number(r, key + "_min") if scaling_number(r, key + "_min") is not None else m) for m, r in zip(mid, rows)]
    hi = [(scaling_number(r, key + "_max") if scaling_number(r, key + "_max") is not None else m) - m for m, r in zip(mid, rows)]
    return mid, [lo, hi]


def plot_scaling(path, out):
    """Tokens/s and efficiency against total ranks (log2) with the ideal line and min-max error
    bars over repeats, and the step split into compute and exposed communication. Points without
    numbers are skipped and named under the figure."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    missing = [f"{r['mode']} {r['nodes']}x{r['tasks_per_node']}" for r in rows if scaling_number(r, "tokens_per_s") is None]
    series = scaling_series(rows)
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.5))
    for mode in sorted({m for m, _ in series}):
        measured = sorted((r for (m, _), rs in series.items() if m == mode for r in rs), key=lambda r: int(r["ranks"]))
        base = measured[0]
        ranks = sorted({int(r["ranks"]) for r in measured})
        ideal = [scaling_number(base, "tokens_per_s") * n / int(base["ranks"]) for n in ranks]
        a1.plot(ranks, ideal, ":", color="gray", lw=1, label=f"{mode}: ideal")
    for (mode, tasks), rs in series.items():
        x = [int(r["ranks"]) for r in rs]
        label = f"{mode}, {tasks}/node"
        y, err = error_bars(rs, "tokens_per_s")
        a1.errorbar(x, y, yerr=err, fmt="-o", capsize=3, label=label)
        y, err = error_bars(rs, "efficiency")
        a2.errorbar(x, y, yerr=err, fmt="-o", capsize=3, label=label)
    a2.axhline(1.0, color="gray", ls=":", lw=1, label="ideal")
    plot_comm_split(a3, rows)
    for ax, ylabel in ((a1, "tokens/s (median, min-max over repeats)"), (a2, "parallel efficiency")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("total ranks (GPUs)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    a1.set_yscale("log")
    a2.set_ylim(0, max([1.1] + [scaling_number(r, "efficiency_max") or 0 for r in rows]) * 1.05)
    if missing:
        fig.text(0.01, 0.01, "missing (skipped): " + ", ".join(missing), fontsize=8, color="firebrick")
    fig.tight_layout(rect=(0, 0.05 if missing else 0, 1, 1))
    fig.savefig(out, dpi=120)


def plot_comm_split(ax, rows):
    """Per measured point, the fraction of the step spent computing and blocked in communication."""
    measured = [r for r in rows if scaling_number(r, "comm_fraction") is not None]
    labels = [f"{r['mode'][0]} {r['nodes']}x{r['tasks_per_node']}" for r in measured]
    comm = [scaling_number(r, "comm_fraction") for r in measured]
    pos = range(len(measured))
    ax.bar(pos, [1 - c for c in comm], label="compute")
    ax.bar(pos, comm, bottom=[1 - c for c in comm], label="exposed communication")
    ax.set_xticks(list(pos))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of step time")
    ax.set_xlabel("point (mode nodes x tasks per node)")
    if measured:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no step timing in the CSV", ha="center", transform=ax.transAxes)


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
