#!/usr/bin/python3
"""PGR with a cluster bootstrap: an independent check of `w2s analyze`'s interval when test
examples come in correlated groups. On sotu-party's speech split the 1000 test passages come from
~100 speeches, and a model is mostly right or wrong about a whole speech (its year), so resampling
passages understates how much the score depends on which speeches are in the test set. `analyze`
now draws one set of test examples per resample for all seeds and, for sotu-party, whole
speeches (its --cluster); before 2026-12-07 it drew passages inside each seed apart (reproduced
here by --div 1 --per-seed), which was narrower than honest. This resamples seeds, then whole clusters
(cluster = example id // DIV; sotu-party ids are speech * 10000 + passage), the same clusters for
the weak model, the student and the ceiling, and reports the percentile interval of pooled PGR.
When every seed was tested on the same clusters (one test set), a resample draws the clusters
once and uses them for every seed drawn: the test set is one sample of speeches, not one per seed.
With --div 1 --per-seed every example is its own cluster, drawn per seed: analyze's old scheme.

usage: cluster_bootstrap.py RUN_DIR TASK WEAK STRONG LOSS [--div 10000] [--resamples 2000] [--seed 0]
reads RUN_DIR/TASK/seed-*/{gt-WEAK,gt-STRONG,w2s-WEAK-to-STRONG-LOSS}/predictions.h5"""
import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import w2s_read  # noqa: E402


def read_correct(path):
    if not os.path.exists(path):
        sys.exit(f"{path}: missing (has the pipeline finished this seed?)")
    try:
        p = w2s_read.load_predictions(path)
    except w2s_read.FormatError as e:
        sys.exit(str(e))
    if "labels" not in p:
        sys.exit(f"{path}: a regression model's predictions; the cluster bootstrap needs class labels")
    return p["ids"], (p["probs"].argmax(axis=1) == p["labels"]).astype(np.float64)


def seed_clusters(seed_dir, weak, strong, loss, div):
    """Per cluster: [size, weak correct, student correct, ceiling correct]."""
    files = [f"gt-{weak}", f"w2s-{weak}-to-{strong}-{loss}", f"gt-{strong}"]
    ids, cols = None, []
    for name in files:
        path = os.path.join(seed_dir, name, "predictions.h5")
        i, c = read_correct(path)
        if ids is not None and not np.array_equal(i, ids):
            sys.exit(f"{path}: example ids differ from {files[0]}'s: not the same test set")
        ids = i
        cols.append(c)
    groups, inverse = np.unique(ids // div, return_inverse=True)
    table = np.zeros((len(groups), 4))
    np.add.at(table[:, 0], inverse, 1.0)
    for k, c in enumerate(cols):
        np.add.at(table[:, k + 1], inverse, c)
    return groups, table


def pgr(t):
    w, s, c = t[1] / t[0], t[2] / t[0], t[3] / t[0]
    return (s - w) / (c - w) if c > w else np.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for a in ("run_dir", "task", "weak", "strong", "loss"):
        ap.add_argument(a)
    ap.add_argument("--div", type=int, default=10000, help="cluster = example id // DIV (1: every example alone)")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-seed", action="store_true", help="draw clusters for each seed apart, even on one test set")
    o = ap.parse_args()
    seed_dirs = sorted(glob.glob(os.path.join(o.run_dir, o.task, "seed-*")), key=lambda d: int(d.rsplit("-", 1)[1]))
    if not seed_dirs:
        sys.exit(f"{o.run_dir}/{o.task}: no seed-* folders")
    read = [seed_clusters(d, o.weak, o.strong, o.loss, o.div) for d in seed_dirs]
    tables = [t for _, t in read]
    shared = not o.per_seed and all(np.array_equal(g, read[0][0]) for g, _ in read)
    rng = np.random.default_rng(o.seed)
    stats = []
    for _ in range(o.resamples):
        total = np.zeros(4)
        common = rng.integers(0, len(tables[0]), len(tables[0])) if shared else None
        for s in rng.integers(0, len(tables), len(tables)):
            t = tables[s]
            total += t[common if shared else rng.integers(0, len(t), len(t))].sum(axis=0)
        stats.append(pgr(total))
    stats = np.array(stats)
    defined = stats[~np.isnan(stats)]
    point = pgr(sum(t.sum(axis=0) for t in tables))
    lo, hi = np.quantile(defined, [(1 - o.level) / 2, (1 + o.level) / 2]) if len(defined) else (np.nan, np.nan)
    clusters = ", ".join(str(len(t)) for t in tables[:1])
    print(f"{o.task} {o.weak} -> {o.strong} ({o.loss}), {len(tables)} seeds, {clusters} clusters per seed "
          f"(id // {o.div}, {'drawn once for all seeds' if shared else 'drawn per seed'}): PGR {point:.3f} [{lo:.3f}, {hi:.3f}] ({100 * o.level:g}%, {o.resamples} resamples, "
          f"{len(stats) - len(defined)} undefined)")


if __name__ == "__main__":
    main()
