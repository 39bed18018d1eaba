#!/usr/bin/env python3
"""Compares two `w2s label` outputs of the same supervisor on the same data (e.g. --device cpu
and --device cuda): joins the shards by example id and prints the argmax agreement and the
largest probability difference. Exit 1 unless agreement >= MIN_AGREE and max |dp| <= MAX_DP
(issue 5's bar: 99.9% and 1e-2).   usage: compare_labels.py DIR_A DIR_B [MIN_AGREE MAX_DP]"""
import glob
import sys

import h5py
import numpy as np


def read_labels(folder):
    ids, probs = [], []
    shards = sorted(glob.glob(folder + "/shard-*.h5"))
    if not shards:
        sys.exit(f"{folder}: no label shards (shard-*.h5)")
    for path in shards:
        with h5py.File(path, "r") as f:
            ids.append(np.array(f["ids"]))
            probs.append(np.array(f["probs"]))
    ids, probs = np.concatenate(ids), np.concatenate(probs)
    order = np.argsort(ids, kind="stable")
    return ids[order], probs[order]


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    min_agree = float(sys.argv[3]) if len(sys.argv) == 5 else 0.999
    max_dp = float(sys.argv[4]) if len(sys.argv) == 5 else 1e-2
    ids_a, p_a = read_labels(sys.argv[1])
    ids_b, p_b = read_labels(sys.argv[2])
    if not np.array_equal(ids_a, ids_b):
        sys.exit("the two label sets hold different example ids")
    agree = float(np.mean(p_a.argmax(1) == p_b.argmax(1)))
    dp = float(np.max(np.abs(p_a - p_b)))
    ok = agree >= min_agree and dp <= max_dp
    print(f"{len(ids_a)} examples: argmax agreement {agree:.5f} (bar {min_agree}), max |p_a - p_b| {dp:.3e} "
          f"(bar {max_dp:.0e}): {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
