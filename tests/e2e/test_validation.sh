#!/usr/bin/env bash
# Validation data carved from training data, and tuning judged on it instead of on test.
#   1. prepare --valid-fraction: valid_a / valid_b are disjoint from train_a, train_b and test,
#      come out of their own half (valid_a + train_a = the A half without validation), hold about
#      the fraction asked, and differ between seeds.
#   2. train --valid --eval-every: valid.jsonl holds one line per multiple of N and the last step.
#   3. --early-stop keeps the best validation step's weights: validated on a set whose labels are
#      the task's inverted, accuracy peaks early and falls; the finished checkpoint (step = total)
#      predicts exactly like the same run stopped at the best step, and an interrupted,
#      resumed run keeps the same weights. A student needs its supervisor's labels over the
#      validation half (or --valid-ground-truth said explicitly).
#   4. The pipeline with data.valid_fraction: every fine-tuning stage gets --valid (ground-truth runs
#      valid_a, students valid_b with <labels>-valid, a label stage over valid_b), no training stage
#      reads test.h5, eval_every/early_stop reach the command lines, and each student or chain step
#      validates on labels from the same model that labelled its training data; without the key the
#      plan is unchanged. Then a tiny experiment with validation runs end to end.
source "$(dirname "$0")/lib_tiny.sh"
make_task data 240 80
prep() {  # prep OUT SEED [FRACTION]
  "$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --out-dir "$1" --tokenizer byte --max-len 64 \
    --seed "$2" --valid-fraction "${3:-0.2}" > "$1.log"
}
prep s0 0; prep s1 1; prep s0-none 0 0
ids() { $PY -c 'import sys; sys.path.insert(0, sys.argv[1]); import w2s_read
print(" ".join(str(i) for i in sorted(w2s_read.load_token_dataset(sys.argv[2])["ids"])))' "$W2S_SOURCE_DIR/tools" "$1"; }

echo "1. the validation split"
$PY - "$(ids s0/train_a.h5)" "$(ids s0/train_b.h5)" "$(ids s0/valid_a.h5)" "$(ids s0/valid_b.h5)" "$(ids s0/test.h5)" \
  "$(ids s0-none/train_a.h5)" "$(ids s0-none/train_b.h5)" "$(ids s1/valid_a.h5)" "$(ids s1/valid_b.h5)" <<'PYEOF'
import sys
ta, tb, va, vb, te, full_a, full_b, va1, vb1 = (set(map(int, a.split())) for a in sys.argv[1:])
parts = {"train_a": ta, "train_b": tb, "valid_a": va, "valid_b": vb, "test": te}
for x in parts:
    for y in parts:
        assert x >= y or not parts[x] & parts[y], f"{x} and {y} share {sorted(parts[x] & parts[y])[:5]}"
assert va | ta == full_a and vb | tb == full_b, "validation must come out of its own half"
for v, half in ((va, full_a), (vb, full_b)):
    assert abs(len(v) - round(0.2 * len(half))) <= 1, (len(v), len(half))
assert va != va1 and vb != vb1, "seeds 0 and 1 hold out the same validation examples"
print(f"  ok: valid_a {len(va)} of A's {len(full_a)}, valid_b {len(vb)} of B's {len(full_b)}; disjoint from "
      f"train and test; seed 1 holds out other examples")
PYEOF

echo "2. the validation curve"
write_tiny_model tiny.ini
common=(--model tiny.ini --steps 12 --batch-size 16 --lr 3e-3 --optimizer adamw --log-every 100)
"$W2S_BIN" train --data s0/train_a.h5 --run-dir curve "${common[@]}" --valid s0/valid_a.h5 --eval-every 5 > curve.log
steps=$($PY -c 'import json,sys; print(" ".join(str(json.loads(l)["step"]) for l in open(sys.argv[1])))' curve/valid.jsonl)
[ "$steps" = "5 10 12" ] || fail "valid.jsonl steps '$steps', expected '5 10 12'"
$PY -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l); assert 0 <= j["accuracy"] <= 1 and j["loss"] > 0 and j["examples"] > 0, j' curve/valid.jsonl
check "valid.jsonl at steps $steps with loss, accuracy and examples"

echo "3. early stopping keeps the best validation step"
# A validation set with the task's labels inverted: the better the model learns, the worse it scores.
$PY - <<'PYEOF'
import json
with open("inverted.jsonl", "w") as f:
    for l in open("data/test.jsonl"):
        j = json.loads(l); j["hard_label"] = 1 - j["hard_label"]; f.write(json.dumps(j) + "\n")
PYEOF
"$W2S_BIN" prepare --train data/train.jsonl --test inverted.jsonl --out-dir inv --tokenizer byte --max-len 64 > inv.log
es=(--model tiny.ini --steps 40 --batch-size 16 --lr 3e-3 --optimizer adamw --log-every 100 --seed 3
    --valid inv/test.h5 --eval-every 2)
"$W2S_BIN" train --data s0/train_a.h5 --run-dir es "${es[@]}" --early-stop 3 > es.log
read -r best last n <<< "$($PY -c 'import json,sys
c = [json.loads(l) for l in open(sys.argv[1])]
best = max(c, key=lambda j: (j["accuracy"], -j["step"]))
print(best["step"], c[-1]["step"], len(c))' es/valid.jsonl)"
[ "$last" -lt 40 ] || fail "validation accuracy never fell for 3 evaluations: no early stop ($(cat es/valid.jsonl))"
[ "$last" -eq $((best + 6)) ] || fail "stopped at step $last, expected 3 evaluations after the best ($best)"
[ ! -e es/best.h5 ] || fail "best.h5 left behind"
ckpt_attr() { $PY -c 'import sys; sys.path.insert(0, sys.argv[1]); import w2s_read
c = w2s_read.load_checkpoint(sys.argv[2]); print(c["attrs"].get(sys.argv[3], c["state"].get(sys.argv[3], "")))' \
  "$W2S_SOURCE_DIR/tools" "$1" "$2"; }
[ "$(ckpt_attr es/ckpt.h5 valid_best_step)" = "$best" ] || fail "checkpoint records best step $(ckpt_attr es/ckpt.h5 valid_best_step), not $best"
[ "$(ckpt_attr es/ckpt.h5 valid_stopped_at)" = "$last" ] || fail "checkpoint records no stop at $last"
grep -q "early stop at step $last: keeping step $best" es.log || fail "no early-stop line in the log: $(tail -3 es.log)"
# The same run stopped at the best step (same schedule) holds the weights early stopping must keep.
"$W2S_BIN" train --data s0/train_a.h5 --run-dir at-best "${es[@]}" --stop-after "$best" > at-best.log
for r in es at-best; do "$W2S_BIN" eval --model $r/ckpt.h5 --data s0/test.h5 --out $r.pred.h5 > $r.eval.log; done
$PY - "$W2S_SOURCE_DIR/tools" <<'PYEOF'
import sys; sys.path.insert(0, sys.argv[1]); import w2s_read, numpy as np
a, b = (w2s_read.load_predictions(f)["logits"] for f in ("es.pred.h5", "at-best.pred.h5"))
assert np.array_equal(a, b), f"early-stopped weights differ from the best step's (max |diff| {np.abs(a - b).max()})"
PYEOF
check "accuracy peaked at step $best; stopped at $last (patience 3); ckpt.h5 predicts exactly like step $best"

"$W2S_BIN" train --data s0/train_a.h5 --run-dir es-resumed "${es[@]}" --early-stop 3 --stop-after $((best + 3)) > r1.log
"$W2S_BIN" train --data s0/train_a.h5 --run-dir es-resumed "${es[@]}" --early-stop 3 --resume > r2.log
grep -q "resuming es-resumed at step $((best + 3))" r2.log || fail "did not resume: $(tail -3 r2.log)"
cmp -s es/valid.jsonl es-resumed/valid.jsonl || fail "resumed curve differs: $(cat es-resumed/valid.jsonl)"
[ "$(ckpt_attr es/ckpt.h5 params_sha256)" = "$(ckpt_attr es-resumed/ckpt.h5 params_sha256)" ] ||
  fail "stopped at step $((best + 3)) and resumed, the kept weights differ"
set +e
"$W2S_BIN" train --data s0/train_a.h5 --run-dir es-resumed "${es[@]}" --early-stop 5 --resume > r3.log 2> r3.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -qF -- "--early-stop: 3 in the checkpoint, now 5" r3.err || fail "changed patience on resume: rc $rc $(cat r3.err)"
check "stopped at step $((best + 3)) and resumed: same curve, same kept weights; a changed --early-stop is refused"

"$W2S_BIN" label --model curve/ckpt.h5 --data s0/train_b.h5 --out-dir lab > lab.log
set +e
"$W2S_BIN" train --data s0/train_b.h5 --labels lab --run-dir st "${common[@]}" --valid s0/valid_b.h5 > st.log 2> st.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "valid-labels" st.err || fail "a student validated without its supervisor's labels: rc $rc $(cat st.err)"
"$W2S_BIN" label --model curve/ckpt.h5 --data s0/valid_b.h5 --out-dir lab-valid > lab-valid.log
"$W2S_BIN" train --data s0/train_b.h5 --labels lab --run-dir st "${common[@]}" --valid s0/valid_b.h5 \
  --valid-labels lab-valid > st.log
[ "$(wc -l < st/valid.jsonl)" -eq 1 ] || fail "a student without --eval-every validates at the last step once"
check "a student validates on its supervisor's labels over valid_b (refused without them)"

echo "4. the pipeline passes --valid to every fine-tuning stage"
write_tiny_corpus
write_tiny_family 2
{ printf '[experiment]\nout = run\ntasks = toy\nsizes = s1 s2\nseeds = 0\n'
  tiny_sections 2
  printf '[data]\nmax_len = 64\n[pretrain]\ncorpus = corpus.jsonl\nsteps = 10\nbatch_size = 8\nseq_len = 64\n'
  printf '[finetune]\nepochs = 1\nbatch_size = 16\nlr = 3e-3\n[analyze]\nresamples = 50\n'; } > tiny.ini
"$W2S_BIN" pipeline --config tiny.ini --plan-json plain.json > /dev/null
grep -q -- '"--valid"' plain.json && fail "the plan validates without data.valid_fraction"
V=(--set data.valid_fraction=0.2 --set finetune.eval_every=3 --set finetune.early_stop=2)
"$W2S_BIN" pipeline --config tiny.ini "${V[@]}" --plan-json plan.json > /dev/null
# The same with three sizes and a bootstrapping chain, plan only: each step validates on the
# labels of the model that supervises it.
write_tiny_family 3
{ printf '[experiment]\nout = run3\ntasks = toy\nsizes = s1 s2 s3\nseeds = 0\nbootstrap = s1 s2 s3\n'
  tiny_sections 3; printf '[data]\nmax_len = 64\n[pretrain]\ncorpus = corpus.jsonl\n'; } > tiny3.ini
"$W2S_BIN" pipeline --config tiny3.ini "${V[@]}" --plan-json plan3.json > /dev/null
for p in plan.json plan3.json; do
$PY - $p <<'PYEOF'
import json, sys
stages = json.load(open(sys.argv[1]))["stages"]
def opt(cmd, o): return cmd[cmd.index(o) + 1] if o in cmd else None
writers = {o: s["id"] for s in stages for o in s["outputs"]}
trains = [s for s in stages if s["kind"] == "train"]
assert len(trains) == (3 if sys.argv[1] == "plan.json" else 3 + 3 + 2), [s["id"] for s in trains]
for s in trains:
    c = s["command"]
    assert not any(p.endswith("test.h5") for p in s["inputs"] + c), f"{s['id']} reads the test set"
    assert opt(c, "--eval-every") == "3" and opt(c, "--early-stop") == "2", c
    if opt(c, "--labels"):
        assert opt(c, "--valid").endswith("/valid_b.h5") and opt(c, "--valid-labels") == opt(c, "--labels") + "-valid", c
        assert writers[opt(c, "--valid-labels")] in s["dependencies"], s
        label = [t for t in stages if t["id"] == writers[opt(c, "--valid-labels")]][0]
        assert opt(label["command"], "--data").endswith("/valid_b.h5"), label
        train_label = [t for t in stages if t["id"] == writers[opt(c, "--labels")]][0]
        assert opt(label["command"], "--model") == opt(train_label["command"], "--model"), (label, train_label)
    else:
        assert opt(c, "--valid").endswith("/valid_a.h5"), c
    assert writers[opt(c, "--valid")] in s["dependencies"], s
assert all(opt(s["command"], "--data").endswith("test.h5") for s in stages if s["kind"] == "eval")
print("  ok: %s: %d training stages validate (ground truth on valid_a, students and chain steps on valid_b "
      "with their own supervisor's labels); only evaluations read test.h5" % (sys.argv[1], len(trains)))
PYEOF
done
"${MPIRUN[@]}" -n 2 "$W2S_BIN" pipeline --config tiny.ini "${V[@]}" > pipe.log 2>&1 || { tail -30 pipe.log; fail "pipeline failed"; }
for r in gt-s1 gt-s2 w2s-s1-to-s2-xent; do
  [ -s run/toy/seed-0/$r/valid.jsonl ] || fail "$r wrote no valid.jsonl"
done
[ -f run/report.json ] || fail "no report"
check "the tiny experiment with validation ran: every fine-tuning run wrote valid.jsonl, the report exists"
echo "PASS"
