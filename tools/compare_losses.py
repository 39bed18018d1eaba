#!/usr/bin/env python3
"""Compares the loss curves of two `w2s train`/`w2s pretrain` runs of the same configuration,
A the reference (--device cpu) and B the GPU's (--device cuda), both with --log-every 1: the
largest difference of the loss at a step both logged.

  compare_losses.py RUN_A RUN_B [MAX_REL] [--precision fp32|bf16] [--layers L]

--precision fp32 (default): issue 5's exactness bar for a GPU run with fp32 storage: every
  step's loss within MAX_REL (1%) of A's.
--precision bf16: a bar derived from bf16 rounding (tools/compare_labels.py has the derivation):
  r = 3 sqrt(14 L + 2) 2^-9 (L = 2: 3.2e-2), and |l_B - l_A| <= r (|l_A| + ln 2) at every step.
  The ln 2 term (the loss of an uninformed two-class prediction) keeps a small loss (a confident
  classifier) from being held to a relative bar its rounding cannot meet: a loss error comes
  from logit errors, which scale with the logits, not with the loss. A prediction, not yet
  measured on a GPU (docs/cuda.md); the trajectories also drift apart as the optimizer follows
  gradients that differ by bf16 rounding, which this bar does not model.
Exit 1 above the bar or when the runs share no step."""
import argparse
import json
import math
import sys


def losses(run_dir):
    out = {}
    with open(run_dir + "/metrics.jsonl") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if "step" in row and "loss" in row:
                    out[row["step"]] = row["loss"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("max_rel", nargs="?", type=float, default=0.01)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--layers", type=int, default=2, help="the model's layer count (bf16 bar)")
    args = ap.parse_args()
    a, b = losses(args.run_a), losses(args.run_b)
    steps = sorted(set(a) & set(b))
    if not steps:
        sys.exit("the two runs logged no common step")
    if args.precision == "fp32":
        bar = {s: args.max_rel * abs(a[s]) for s in steps}
        rule = f"|dl| <= {args.max_rel:.0e} |l_A| (fp32 storage: exactness bar)"
    else:
        r = 3.0 * math.sqrt(14 * args.layers + 2) * 2.0 ** -9
        bar = {s: r * (abs(a[s]) + math.log(2.0)) for s in steps}
        rule = f"|dl| <= {r:.2e} (|l_A| + ln 2) (bf16 storage, L = {args.layers})"
    worst = max(steps, key=lambda s: abs(a[s] - b[s]) / bar[s] if bar[s] > 0 else math.inf)
    rel = abs(a[worst] - b[worst]) / abs(a[worst]) if a[worst] != 0 else math.inf
    ok = all(abs(a[s] - b[s]) <= bar[s] for s in steps)
    print(f"{len(steps)} steps: loss {a[steps[0]]:.4f} -> {a[steps[-1]]:.4f} (A), {b[steps[0]]:.4f} -> {b[steps[-1]]:.4f} (B); "
          f"worst step {worst}: |dl| {abs(a[worst] - b[worst]):.3e} (relative {rel:.2e}), bar {bar[worst]:.3e}; "
          f"{rule}: {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
