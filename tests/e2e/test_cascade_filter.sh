#!/usr/bin/env bash
# `w2s cascade` on two tiny trained models: τ = 0 reproduces the weak model's own accuracy (as
# `w2s eval` measures it), τ > 1 the strong model's; the sweep table, the full curve and the
# JSON agree; 1 and 2 ranks give the same curve; the plot is drawn; bad input is refused with
# the documented exit codes. `w2s filter` on a half-clean, half-noise corpus with a scorer
# pretrained on clean text: the kept set is exactly the lowest-loss half, the dropped half is the
# noise, the kept documents are the input's, 1 and 2 ranks agree, the output reads back.
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
# τ is chosen on the selection split and reported on the other: the two splits cover every
# example once, the choice meets the target where it was chosen, and its reported numbers are
# the report split's (not the selection split's) own.
ch = r["choice"]
assert ch["selection_examples"] + ch["report_examples"] == r["n"] and min(ch["selection_examples"], ch["report_examples"]) > 0, ch
assert "best" not in r and "curve_best" not in r, "in-sample least-cost choices must not be reported"
for which in ("sweep", "curve"):
    c = ch[which]
    if c["found"]:
        assert c["selection"]["accuracy"] >= ch["selection_target_accuracy"] - 1e-12, c
        assert c["report"]["correct"] <= ch["report_examples"] and c["report"]["tau"] == c["tau"], c
        assert abs(c["report"]["accuracy"] * ch["report_examples"] - c["report"]["correct"]) < 1e-6, c
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

# ---- w2s filter: a scorer pretrained on clean text; the corpus to filter is half clean, half
# random bytes, so the highest-loss half should be the noise.
$PY - <<'PYEOF'
import json, random
rng = random.Random(5)
words = "the a cat dog sees likes river stone apple pear and of in on".split()
clean = lambda: " ".join(rng.choice(words) for _ in range(rng.randrange(8, 30)))
noise = lambda: "".join(chr(rng.randrange(33, 127)) for _ in range(rng.randrange(20, 120)))
with open("clean.jsonl", "w") as f:
    for i in range(200): f.write(json.dumps({"id": i, "txt": clean()}) + "\n")
with open("mixed.jsonl", "w") as f:  # documents 0-19 clean, 20-39 noise (long ones exceed the context)
    for i in range(20): f.write(json.dumps({"id": i, "txt": clean()}) + "\n")
    for i in range(20): f.write(json.dumps({"id": 1000 + i, "txt": noise()}) + "\n")
PYEOF
"$W2S_BIN" prepare --lm --lm-jsonl clean.jsonl --out clean.h5 --tokenizer byte > lm1.log
"$W2S_BIN" prepare --lm --lm-jsonl mixed.jsonl --out mixed.h5 --tokenizer byte > lm2.log
"$W2S_BIN" pretrain --data clean.h5 --run-dir scorer --model tiny.ini --steps 30 --batch-size 8 --lr 3e-3 \
  --log-every 100 > pre.log
F=(filter --scorer scorer/ckpt.h5 --in mixed.h5 --drop-highest 0.5)
"$W2S_BIN" "${F[@]}" --out f1.h5 > f1.log
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${F[@]}" --out f2.h5 > f2.log
"$W2S_BIN" filter --scorer scorer/ckpt.h5 --in f1.h5 --keep-range 0,1 --out again.h5 > again.log
$PY - <<'PYEOF' || fail "filter results are wrong"
import json
import h5py, numpy as np
def docs(path):
    with h5py.File(path) as f:
        assert f.attrs["w2s_kind"] in (b"lm_dataset", "lm_dataset"), path
        t, o, ids = f["tokens"][:], f["doc_offsets"][:], f["doc_ids"][:]
        assert o[0] == 0 and o[-1] == len(t) and len(o) == len(ids) + 1, path
        return {int(i): t[o[k]:o[k + 1]].tolist() for k, i in enumerate(ids)}
src, kept = docs("mixed.h5"), docs("f1.h5")
with h5py.File("f1.scores.h5") as f1, h5py.File("f2.scores.h5") as f2:
    s1, s2, k1, ids = f1["scores"][:], f2["scores"][:], f1["kept"][:], f1["doc_ids"][:]
assert np.array_equal(s1, s2), "1 and 2 ranks score differently"
assert len(kept) == 20 == int(k1.sum()), len(kept)
assert set(kept) == {int(i) for i, k in zip(ids, k1) if k}
assert max(s1[k1 == 1]) <= min(s1[k1 == 0]), "a kept document scores above a dropped one"
assert all(kept[i] == src[i] for i in kept), "kept documents differ from the input's"
noise_dropped = sum(1 for i, k in zip(ids, k1) if not k and i >= 20)
assert noise_dropped >= 18, f"only {noise_dropped}/20 dropped documents are noise"
s = json.load(open("f1.summary.json"))
assert s["documents"] == 40 and s["kept"] == 20 and s["dropped"] == 20
assert sum(s["histogram"]["all"]) == 40 and sum(s["histogram"]["kept"]) == 20
assert len(s["lowest"]) == 3 and s["highest"][0]["score"] == max(s1)
assert json.load(open("again.summary.json"))["kept"] == 20  # the output reads back as an LM dataset
print(f"  clean mean loss {s1[ids < 20].mean():.3f}, noise {s1[ids >= 20].mean():.3f}; "
      f"{noise_dropped}/20 dropped are noise")
PYEOF
check "filter keeps exactly the lowest-loss half, drops the noise, 1 vs 2 ranks agree, output reads back"
set +e
"$W2S_BIN" filter --scorer scorer/ckpt.h5 --in mixed.h5 --out x.h5 --drop-highest 0.1 --drop-lowest 0.1 > bad3.log 2>&1
rc3=$?
set -e
[ $rc3 -eq 1 ] || fail "two selections exit $rc3, not 1"
check "two selection options → 1"
echo PASS
