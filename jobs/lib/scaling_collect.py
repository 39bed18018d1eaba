"""The collect step of jobs/scaling-study: OUT/scaling.csv from the points' metrics.jsonl.

A study folder holds study.json (every point submitted, its repeats and the peak FLOP/s) and one
folder per point, <mode>-n<nodes>x<tasks>/, with point.json and a run folder per repeat
(rep-1, rep-2, ...; a folder without repeats is its own single run). A run's numbers are medians
over its logged steps after the first (which pays for warm-up):
  tokens_per_s    tokens of the global batch per second
  step_s          wall time of one optimizer step
  exposed_comm_s  the part of it the host spent blocked in communication (collectives it waited
                  for; bucket reductions that overlapped the backward count only while waited
                  for)
  compute_s       step_s - exposed_comm_s of those medians (a median of differences would not add
                  up with the other two columns)
  model_flops_per_token  6 N + 6 L T d (ModelConfig::flops_per_token, T the sequence length)
A point's row takes the median over its repeats that produced numbers (min and max beside
tokens/s and efficiency), and
  efficiency = tokens/s / (tokens/s of the mode's smallest point x ranks / its ranks)
  mfu        = model_flops_per_token x tokens/s / (ranks x peak FLOP/s per rank), "n/a" without
               a peak
A point or repeat without numbers (its job failed, never ran, or logged fewer than two steps) is
listed as missing; the CSV is written all the same.
"""
import json
import os
import statistics

CSV_FIELDS = ["mode", "nodes", "tasks_per_node", "ranks", "tp", "dp", "batch_size", "steps", "repeats", "repeats_ok",
              "tokens_per_s", "tokens_per_s_min", "tokens_per_s_max", "efficiency", "efficiency_min", "efficiency_max",
              "step_s", "compute_s", "exposed_comm_s", "comm_fraction", "model_flops_per_token", "mfu", "status",
              "run_dir"]
RUN_KEYS = ("tokens_per_s", "step_s", "exposed_comm_s", "model_flops_per_token")


def point_name(p):
    return f"{p['mode']}-n{p['nodes']}x{p['tasks_per_node']}"


def repeat_dirs(point_dir, repeats):
    """The run folders of a point: rep-1 .. rep-R, or the point folder itself (repeats 0: a study
    written before repeats existed)."""
    return [os.path.join(point_dir, f"rep-{k}") for k in range(1, repeats + 1)] if repeats else [point_dir]


def read_run(run):
    """Medians of one run's logged steps after the first, or None when it has none to offer. Keys
    an older w2s did not log are None."""
    rows = []
    try:
        with open(os.path.join(run, "metrics.jsonl")) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
    except (OSError, ValueError):
        return None
    rows = rows[1:]
    if not rows or any("tokens_per_s" not in r for r in rows):
        return None
    out = {}
    for key in RUN_KEYS:
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        out[key] = statistics.median(values) if len(values) == len(rows) else None
    return out if out["tokens_per_s"] else None


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(point, runs, peak_flops):
    """One CSV row (without efficiency) from the runs of a point that produced numbers."""
    row = dict(point, repeats_ok=len(runs))
    if not runs:
        row["status"] = "missing"
        return row
    tps = [r["tokens_per_s"] for r in runs]
    row.update(tokens_per_s=statistics.median(tps), tokens_per_s_min=min(tps), tokens_per_s_max=max(tps))
    for key in ("step_s", "exposed_comm_s", "model_flops_per_token"):
        row[key] = median_of(runs, key)
    if row["step_s"] and row["exposed_comm_s"] is not None:
        row["compute_s"] = row["step_s"] - row["exposed_comm_s"]
        row["comm_fraction"] = row["exposed_comm_s"] / row["step_s"]
    if row["model_flops_per_token"] and peak_flops:
        row["mfu"] = row["model_flops_per_token"] * row["tokens_per_s"] / (row["ranks"] * peak_flops)
    else:
        row["mfu"] = "n/a"
    row["status"] = "ok" if len(runs) == row["repeats"] else "partial"
    return row


def add_efficiency(rows):
    """Efficiency of every measured row against its mode's smallest measured point."""
    for mode in {r["mode"] for r in rows}:
        measured = sorted((r for r in rows if r["mode"] == mode and r.get("tokens_per_s")),
                          key=lambda r: (r["ranks"], r["nodes"]))
        if not measured:
            continue
        base = measured[0]
        for r in measured:
            ideal = base["tokens_per_s"] * r["ranks"] / base["ranks"]
            r["efficiency"] = r["tokens_per_s"] / ideal
            r["efficiency_min"] = r["tokens_per_s_min"] / ideal
            r["efficiency_max"] = r["tokens_per_s_max"] / ideal


def study_points(out):
    """(points, peak FLOP/s per rank or None): from study.json, else from the point.json files."""
    path = os.path.join(out, "study.json")
    if os.path.isfile(path):
        with open(path) as f:
            study = json.load(f)
        peak = study.get("peak_tflops")
        return [dict(p, repeats=study.get("repeats", 1)) for p in study["points"]], peak * 1e12 if peak else None
    points = []
    for name in sorted(os.listdir(out)):
        pj = os.path.join(out, name, "point.json")
        if os.path.isfile(pj):
            with open(pj) as f:
                points.append(json.load(f))
    return points, None


def format_value(value):
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_csv(path, rows):
    with open(path + ".tmp", "w") as f:
        f.write(",".join(CSV_FIELDS) + "\n")
        for r in rows:
            f.write(",".join(format_value(r.get(k)) for k in CSV_FIELDS) + "\n")
    os.replace(path + ".tmp", path)


def print_table(rows):
    print(f"{'mode':<7} {'nodes':>5} {'tasks':>5} {'ranks':>5} {'batch':>6} {'tokens/s':>10} {'min-max':>15} "
          f"{'eff':>5} {'step s':>8} {'comm %':>6} {'mfu':>6} {'reps':>5}")
    for r in rows:
        if r["status"] == "missing":
            measured = f"{'missing':>10} {'':>15} {'-':>5} {'-':>8} {'-':>6} {'-':>6}"
        else:
            spread = f"{r['tokens_per_s_min']:.0f}-{r['tokens_per_s_max']:.0f}"
            comm = f"{100 * r['comm_fraction']:.1f}" if r.get("comm_fraction") is not None else "-"
            step = f"{r['step_s']:.4f}" if r.get("step_s") is not None else "-"
            mfu = r["mfu"] if r["mfu"] == "n/a" else f"{100 * r['mfu']:.2f}%"
            measured = (f"{r['tokens_per_s']:>10.0f} {spread:>15} {r['efficiency']:>5.2f} {step:>8} {comm:>6} "
                        f"{mfu:>6}")
        print(f"{r['mode']:<7} {r['nodes']:>5} {r['tasks_per_node']:>5} {r['ranks']:>5} {r['batch_size']:>6} "
              f"{measured} {r['repeats_ok']:>2}/{r['repeats']:<2}")


def collect(out, peak_tflops=None):
    """Writes OUT/scaling.csv and prints the table; returns the rows. peak_tflops overrides the
    study's peak (TFLOP/s per rank)."""
    points, peak = study_points(out)
    if peak_tflops:
        peak = peak_tflops * 1e12
    if not points:
        raise SystemExit(f"scaling-study: no points (study.json or point.json) under {out}")
    rows = []
    for p in points:
        point_dir = os.path.join(out, point_name(p))
        runs = [r for r in (read_run(d) for d in repeat_dirs(point_dir, p.get("repeats", 0))) if r]
        row = summarise(dict(p, repeats=p.get("repeats") or 1), runs, peak)
        row["run_dir"] = point_dir
        rows.append(row)
    add_efficiency(rows)
    rows.sort(key=lambda r: (r["mode"], r["ranks"], r["nodes"]))
    path = os.path.join(out, "scaling.csv")
    write_csv(path, rows)
    print_table(rows)
    missing = [f"{point_name(r)} ({r['repeats'] - r['repeats_ok']} of {r['repeats']} runs)"
               for r in rows if r["status"] != "ok"]
    if missing:
        print("missing: " + ", ".join(missing))
    print(f"wrote {path}")
    return rows
