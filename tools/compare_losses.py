#!/usr/bin/env python3
"""Compares the loss curves of two `w2s train`/`w2s pretrain` runs of the same configuration
(e.g. --device cpu and --device cuda, both with --log-every 1): the largest relative difference
of the loss at a step both logged. Exit 1 above MAX_REL (issue 5's bar: 1%) or when the runs
share no step.   usage: compare_losses.py RUN_A RUN_B [MAX_REL]"""
import json
import sys


def losses(run_dir):
    out = {}
    with open(run_dir + "/metrics.jsonl") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out[row["step"]] = row["loss"]
    return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    max_rel = float(sys.argv[3]) if len(sys.argv) == 4 else 0.01
    a, b = losses(sys.argv[1]), losses(sys.argv[2])
    steps = sorted(set(a) & set(b))
    if not steps:
        sys.exit("the two runs logged no common step")
    worst = max(steps, key=lambda s: abs(a[s] - b[s]) / abs(a[s]))
    rel = abs(a[worst] - b[worst]) / abs(a[worst])
    ok = rel <= max_rel
    print(f"{len(steps)} steps: loss {a[steps[0]]:.4f} -> {a[steps[-1]]:.4f} (A), {b[steps[0]]:.4f} -> {b[steps[-1]]:.4f} (B); "
          f"largest relative difference {rel:.2e} at step {worst} (bar {max_rel:.0e}): {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
