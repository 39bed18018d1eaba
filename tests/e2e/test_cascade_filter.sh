#!/usr/bin/env bash
# `w2s cascade` on two tiny trained models: τ = 0 reproduces the weak model's own accuracy (as
# `w2s eval` measures it), τ > 1 the strong model's; the sweep table, the full curve and the
# JSON agree; 1 and 2 ranks give the same curve; the plot is drawn; bad input is refused with
# the documented exit codes.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny 160 60
printf 'n_layer = 2\nn_head = 2\nd_model = 48\nn_ctx = 64\n' > strong.ini
"$W2S_BIN" train --data data/split/train_a.h5 --run-dir strong --model strong.ini --steps 20 --batch-size 16 \
  --lr 3e-3 --optimizer adamw --log-every 100 > strong.log
for m in weak strong; do
  "$W2S_BIN" eval --model $m/ckpt.h5 --data data/split/test.h5 --out $m/predictions.h5 > eval-$m.log
done
C=(cascade --weak weak/ckpt.h5 --strong strong/ckpt.h5 --data data/split/test.h5 --taus "0,0.5,0.6,...,1,1.01")
"$W2S_BIN" "${C[@]}" --out c1 > c1.log
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${C[@]}" --out c2 > c2.log
grep -q "every threshold" c1.log || fail "cascade does not print its least-cost choice"
$PY - <<'PYEOF' || fail "cascade results are wrong"
import csv, json
import h5py, numpy as np
r = json.load(open("c1/cascade.json"))
def acc(path):
    with h5py.File(path) as f:
        return float(np.mean(np.argmax(f["probs"][:], 1) == f["labels"][:]))
pts = r["points"]
assert [p["tau"] for p in pts] == [0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.01], [p["tau"] for p in pts]
assert pts[0]["deferred"] == 0 and abs(pts[0]["accuracy"] - acc("weak/predictions.h5")) < 1e-12, pts[0]
assert pts[-1]["deferred"] == r["n"] and abs(pts[-1]["accuracy"] - acc("strong/predictions.h5")) < 1e-12, pts[-1]
assert abs(r["weak_accuracy"] - acc("weak/predictions.h5")) < 1e-12
assert abs(pts[0]["compute_fraction"] - r["weak_flops_per_example"] / r["strong_flops_per_example"]) < 1e-9
assert abs(pts[-1]["compute_fraction"] - 1 - r["weak_flops_per_example"] / r["strong_flops_per_example"]) < 1e-9
assert r["strong_flops_per_example"] > r["weak_flops_per_example"] > 0
d = [p["deferred"] for p in pts]
assert d == sorted(d), d  # deferring only grows with τ
rows = list(csv.DictReader(open("c1/curve.csv")))
assert len(rows) == len(pts) and int(rows[3]["deferred"]) == pts[3]["deferred"]
full = list(csv.DictReader(open("c1/curve_full.csv")))
assert len(full) == len(r["curve"]) >= 2 and int(full[-1]["deferred"]) == r["n"]
if r["curve_best"] >= 0:
    assert r["curve"][r["curve_best"]]["accuracy"] >= r["target_accuracy"] - 1e-12
    assert all(p["flops_per_example"] >= r["curve"][r["curve_best"]]["flops_per_example"]
               for p in r["curve"] if p["accuracy"] >= r["target_accuracy"] - 1e-12)
r2 = json.load(open("c2/cascade.json"))
key = lambda res: [(p["tau"], p["deferred"], p["correct"], p["flops_per_example"]) for p in res["curve"]]
assert key(r) == key(r2), "2 ranks give a different curve"
print(f"  weak {r['weak_accuracy']:.3f}, strong {r['strong_accuracy']:.3f}, {len(r['curve'])} thresholds")
PYEOF
check "τ=0 is the weak model, τ>1 the strong one; tables, JSON and 1 vs 2 ranks agree"
$PY "$W2S_SOURCE_DIR/tools/plot_cascade.py" c1/cascade.json > plot.log && [ -s c1/cascade.png ] || fail "no plot"
check "plot drawn"
set +e
"$W2S_BIN" "${C[@]}" --out bad --taus "0,x" > bad1.log 2>&1; rc1=$?
"$W2S_BIN" cascade --weak weak/ckpt.h5 --strong strong/ckpt.h5 --data data/split/nope.h5 --out bad > bad2.log 2>&1; rc2=$?
set -e
[ $rc1 -eq 1 ] || fail "bad --taus exits $rc1, not 1"
[ $rc2 -eq 2 ] || fail "missing dataset exits $rc2, not 2"
grep -q "nope.h5" bad2.log || fail "the error does not name the missing file"
check "bad τ list → 1, missing data → 2 naming the file"
echo PASS
