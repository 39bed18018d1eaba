#!/usr/bin/env bash
# Regression tasks (--task regression: one output, squared loss) through every stage: prepare,
# train on ground truth, label, train a student on the weak predictions, eval, analyze (MSE,
# error-based PGR, misfit and gain).
source "$(dirname "$0")/lib_tiny.sh"
$PY - <<'PYEOF'
import json, random
rng = random.Random(3)
words = ["alpha", "beta", "gamma", "delta"]
for name, n, off in (("train", 240, 0), ("test", 80, 1000)):
    with open(f"{name}.jsonl", "w") as f:
        for i in range(n):
            k = rng.randrange(1, 6)   # the target counts how many times "gamma" appears
            toks = ["gamma"] * k + [rng.choice(["alpha", "beta", "delta"]) for _ in range(rng.randrange(0, 4))]
            rng.shuffle(toks)
            f.write(json.dumps({"id": off + i, "txt": " ".join(toks), "target": float(k)}) + "\n")
PYEOF
"$W2S_BIN" prepare --task regression --train train.jsonl --test test.jsonl --out-dir split --tokenizer byte --max-len 64 > prep.log
write_tiny_model tiny.ini
printf 'n_layer = 1\nn_head = 1\nd_model = 16\nn_ctx = 64\n' > weakest.ini
mkdir -p run/reg/seed-0
T=(--steps 30 --batch-size 16 --lr 3e-3 --optimizer adamw --log-every 100)
"$W2S_BIN" train --data split/train_a.h5 --run-dir run/reg/seed-0/gt-weak --model weakest.ini "${T[@]}" > w.log
"$W2S_BIN" train --data split/train_a.h5 --run-dir run/reg/seed-0/gt-strong --model tiny.ini "${T[@]}" > s.log
"$W2S_BIN" label --model run/reg/seed-0/gt-weak/ckpt.h5 --data split/train_b.h5 --out-dir run/reg/seed-0/labels-weak > l.log
"$W2S_BIN" train --data split/train_b.h5 --labels run/reg/seed-0/labels-weak --run-dir run/reg/seed-0/w2s-weak-to-strong-squared \
  --model tiny.ini "${T[@]}" > st.log
grep -q "loss" run/reg/seed-0/w2s-weak-to-strong-squared/config.ini || true
for r in gt-weak gt-strong w2s-weak-to-strong-squared; do
  "$W2S_BIN" eval --model run/reg/seed-0/$r/ckpt.h5 --data split/test.h5 --out run/reg/seed-0/$r/predictions.h5 > e-$r.log
  grep -q "mse" e-$r.log || fail "eval of $r does not report an MSE"
done
"$W2S_BIN" analyze run --resamples 50 > analyze.log
$PY - <<'PYEOF' || fail "regression report is wrong"
import json
r = json.load(open("run/report.json"))["rows"][0]
assert r["metric"] == "mse" and r["loss"] == "squared", r
for k in ("p_weak", "p_w2s", "p_ceiling", "misfit", "gain", "weak_error", "student_error"):
    assert isinstance(r[k], float), k
assert abs(r["weak_error"] - r["p_weak"]) < 1e-6          # for regression the error is the MSE
print(f"  mse weak {r['p_weak']:.3f} student {r['p_w2s']:.3f} ceiling {r['p_ceiling']:.3f}; "
      f"gain {r['gain']:.3f}, misfit {r['misfit']:.3f}")
PYEOF
check "prepare/train/label/student/eval/analyze all ran as regression"
echo PASS
