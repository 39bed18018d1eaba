#!/usr/bin/env bash
# "Gain is at least misfit" (Charikar et al. 2024) through the training path, in the one setting
# where it is a theorem: squared loss on a convex class over fixed strong features. The strong
# features are those of a small trained model S; the ground truth is S's own output, so it is
# realizable by a linear probe on S's features. A weaker model W learns it on half A and labels
# half B; the student is a linear probe on S's frozen backbone (--freeze-backbone --loss squared)
# trained on W's labels (full batch, Adam). On half B, where the student was fitted, analyze must
# find error(W) − error(student) ≥ misfit(student, W) (5% slack for an optimizer that stops short
# of the exact least-squares fit) and label the row "theory"; a fully fine-tuned student is
# labelled "heuristic".
source "$(dirname "$0")/lib_tiny.sh"
$PY - <<'PYEOF'
import json, random
rng = random.Random(5)
for name, n, off in (("train", 240, 0), ("test", 40, 1000)):
    with open(f"{name}.jsonl", "w") as f:
        for i in range(n):
            k = rng.randrange(1, 6)
            toks = ["gamma"] * k + [rng.choice(["alpha", "beta", "delta"]) for _ in range(rng.randrange(0, 4))]
            rng.shuffle(toks)
            f.write(json.dumps({"id": off + i, "txt": " ".join(toks), "target": float(k)}) + "\n")
PYEOF
P=(prepare --task regression --tokenizer byte --max-len 64 --seed 0)
"$W2S_BIN" "${P[@]}" --train train.jsonl --test test.jsonl --out-dir d0 > prep0.log
write_tiny_model tiny.ini
printf 'n_layer = 1\nn_head = 1\nd_model = 16\nn_ctx = 64\n' > weakest.ini
T=(--batch-size 16 --lr 3e-3 --optimizer adamw --log-every 1000)
"$W2S_BIN" train --data d0/train_a.h5 --run-dir S --model tiny.ini --steps 300 "${T[@]}" > s.log
# The truth: S's output on every example, written back as the targets of the same texts.
for part in train_a train_b test; do
  "$W2S_BIN" eval --model S/ckpt.h5 --data d0/$part.h5 --out S/$part.h5 > eval-S-$part.log
done
$PY - <<'PYEOF'
import json
import h5py
truth = {}
for part in ("train_a", "train_b", "test"):
    with h5py.File(f"S/{part}.h5") as f:
        truth.update(zip(f["ids"][:].tolist(), f["probs"][:, 0].tolist()))
for name in ("train", "test"):
    rows = [json.loads(l) for l in open(f"{name}.jsonl")]
    with open(f"{name}1.jsonl", "w") as f:
        for r in rows:
            r["target"] = truth[r["id"]]
            f.write(json.dumps(r) + "\n")
PYEOF
"$W2S_BIN" "${P[@]}" --train train1.jsonl --test test1.jsonl --out-dir d1 > prep1.log
R=run/reg/seed-0
"$W2S_BIN" train --data d1/train_a.h5 --run-dir $R/gt-weak --model weakest.ini --steps 150 "${T[@]}" > w.log
"$W2S_BIN" label --model $R/gt-weak/ckpt.h5 --data d1/train_b.h5 --out-dir $R/labels-weak > l.log
mkdir -p $R/gt-strong && cp S/ckpt.h5 $R/gt-strong/ckpt.h5
NB=$($PY -c 'import h5py; print(len(h5py.File("d1/train_b.h5")["ids"]))')
"$W2S_BIN" train --data d1/train_b.h5 --labels $R/labels-weak --loss squared --init S/ckpt.h5 --freeze-backbone \
  --run-dir $R/w2s-weak-to-strong-squared --steps 300 --batch-size "$NB" --lr 3e-2 --optimizer adam \
  --schedule constant --log-every 1000 > probe.log
"$W2S_BIN" train --data d1/train_b.h5 --labels $R/labels-weak --loss squared --init S/ckpt.h5 \
  --run-dir run/full/seed-0/w2s-weak-to-strong-squared --steps 30 "${T[@]}" > full.log
mkdir -p run/full/seed-0 && cp -r $R/gt-weak $R/gt-strong run/full/seed-0/
for r in gt-weak gt-strong w2s-weak-to-strong-squared; do
  "$W2S_BIN" eval --model $R/$r/ckpt.h5 --data d1/train_b.h5 --out $R/$r/predictions.h5 > e-$r.log
  "$W2S_BIN" eval --model run/full/seed-0/$r/ckpt.h5 --data d1/train_b.h5 --out run/full/seed-0/$r/predictions.h5 > f-$r.log
done
"$W2S_BIN" analyze run --resamples 20 > analyze.log
$PY - <<'PYEOF' || fail "gain >= misfit does not hold for the linear probe, or the rows are mislabelled"
import json
rows = {r["task"]: r for r in json.load(open("run/report.json"))["rows"]}
probe, full = rows["reg"], rows["full"]
gain, misfit = probe["gain"], probe["misfit"]
print(f"  probe: weak error {probe['weak_error']:.4f}, student error {probe['student_error']:.4f}, "
      f"gain {gain:.4f}, misfit {misfit:.4f}, ceiling error {probe['ceiling_error']:.2e}")
assert probe["ceiling_error"] < 1e-8, "the truth is S's own output"
assert misfit > 0.01, "the weak labels must be off the strong features' span for the test to mean anything"
assert gain >= 0.95 * misfit, (gain, misfit)
assert probe["misfit_prediction"]["setting"] == "theory", probe["misfit_prediction"]
assert full["misfit_prediction"]["setting"] == "heuristic", full["misfit_prediction"]
PYEOF
check "linear probe on frozen strong features: gain >= misfit, labelled theory; full fine-tuning labelled heuristic"
echo PASS
