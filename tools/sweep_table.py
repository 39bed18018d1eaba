#!/usr/bin/python3
"""Aggregate the report.json of one or many finished experiments (w2s analyze) into sweep tables:
for every task and loss, a weak x strong grid of PGR [95% CI] (like Figure 3 of Burns et al.),
plus the ground-truth accuracy of every size. Writes Markdown to stdout (or --out FILE) and a
CSV of every row with --csv FILE.
usage: tools/sweep_table.py RUN_DIR_OR_REPORT [...] [--out sweep.md] [--csv sweep.csv]"""
import argparse
import csv
import json
import os
import sys


def load(paths):
    reports = []
    for p in paths:
        f = os.path.join(p, "report.json") if os.path.isdir(p) else p
        if not os.path.exists(f):
            sys.exit(f"{f}: no report.json (run `w2s analyze {p}` first)")
        with open(f) as fh:
            reports.append((f, json.load(fh)))
    return reports


def cell(row):
    if not row.get("pgr_defined"):
        return "undef."
    ci = row.get("pgr_ci") or {}
    if ci.get("lo") is None:
        return f"{row['pgr']:.2f}"
    return f"{row['pgr']:.2f} [{ci['lo']:.2f}, {ci['hi']:.2f}]"


def tables(reports):
    out = []
    for path, r in reports:
        sizes = r.get("sizes", {})
        by_task = {}
        for row in r["rows"]:
            by_task.setdefault(row["task"], []).append(row)
        for task, rows in sorted(by_task.items()):
            order = [s["size"] for s in sizes.get(task, [])]
            for row in rows:
                for s in (row["weak"], row["strong"]):
                    if s not in order:
                        order.append(s)
            out.append(f"### {task}  ({path})\n")
            gt = {s["size"]: s for s in sizes.get(task, [])}
            out.append("| size | params | ground-truth accuracy |\n|---|---|---|")
            for s in order:
                g = gt.get(s, {})
                params = g.get("params")
                out.append(f"| {s} | {params/1e6:.2f}M |" if params else f"| {s} | ? |")
                out[-1] += f" {g['p_ground_truth']:.3f} |" if "p_ground_truth" in g else " ? |"
            for loss in sorted({row["loss"] for row in rows}):
                grid = {(x["weak"], x["strong"]): x for x in rows if x["loss"] == loss}
                strong = [s for s in order if any(k[1] == s for k in grid)]
                weak = [s for s in order if any(k[0] == s for k in grid)]
                out.append(f"\nPGR [95% CI], loss `{loss}` (rows: weak supervisor, columns: strong student)\n")
                out.append("| weak \\ strong | " + " | ".join(strong) + " |")
                out.append("|---" * (len(strong) + 1) + "|")
                for w in weak:
                    out.append(f"| {w} | " + " | ".join(cell(grid[(w, s)]) if (w, s) in grid else "" for s in strong) + " |")
            out.append("")
    return "\n".join(out)


def write_csv(reports, path):
    keys = ["task", "weak", "strong", "loss", "p_weak", "p_w2s", "p_ceiling", "pgr", "pgr_lo", "pgr_hi",
            "agreement", "misfit", "weak_error", "student_error", "predicted_student_error", "seeds", "report"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for path_, r in reports:
            for row in r["rows"]:
                ci = row.get("pgr_ci") or {}
                w.writerow({**{k: row.get(k) for k in keys if k in row}, "pgr_lo": ci.get("lo"), "pgr_hi": ci.get("hi"),
                            "seeds": " ".join(map(str, row["seeds"])), "report": path_})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--csv")
    a = ap.parse_args()
    reports = load(a.inputs)
    text = tables(reports)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")
    else:
        print(text)
    if a.csv:
        write_csv(reports, a.csv)


if __name__ == "__main__":
    main()
