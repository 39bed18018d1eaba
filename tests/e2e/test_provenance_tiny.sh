#!/usr/bin/env bash
# Provenance is enforced, not only recorded: on a tiny `w2s pipeline` experiment, (1) a label set
# written by another model, (2) a predictions file copied from another run, and (3) a checkpoint
# whose weights changed after it was written are each caught; the stage that owns the output
# runs again and the final report equals the clean run's. `w2s analyze` refuses the copied
# predictions, and `w2s eval` refuses the changed checkpoint, each naming the file (exit 2).
# (4) The declaration: the clean run's report is "as declared"; adding a seed afterwards is
# recorded and the report says "changed after declaration".
source "$(dirname "$0")/lib_tiny.sh"
make_task data 120 40
write_tiny_corpus
write_tiny_family 2
{ cat <<INI
[experiment]
out = run
tasks = toy
sizes = s1 s2
losses = xent
seeds = 0
INI
tiny_sections 2
tiny_pretrain_sections 10
tiny_finetune_section
cat <<INI
[analyze]
resamples = 50
primary_pair = s1:s2
primary_loss = xent
INI
} > tiny.ini
SD=run/toy/seed-0
SPLIT=run/data/toy/split-0

pipeline() {
  local log="$1"; shift
  "$W2S_BIN" pipeline --config tiny.ini "$@" > "$log" 2>&1 || { tail -20 "$log"; fail "pipeline failed ($log)"; }
}
# rerun_of LOG: the stage lines of LOG that ran (were not skipped).
rerun_of() { grep '^\[' "$1" | grep -v "skipped" || true; }
same_report() {
  $PY - "$1" <<'PYEOF' || fail "$1: the report differs from the clean run's"
import json, sys
clean, now = json.load(open("clean-report.json")), json.load(open("run/report.json"))
for key in ("rows", "chains"):
    assert clean.get(key) == now.get(key), "%s differ:\n%s\n%s" % (key, clean.get(key), now.get(key))
PYEOF
}

echo "clean run"
pipeline run1.log
cp run/report.json clean-report.json
check "$(grep -c '^\[' run1.log) stages"
grep -q 'primary s1:s2 xent): as declared' run/report.md || fail "the clean run's report is not 'as declared': $(tail -3 run/report.md)"
check "declared before the first stage: $(grep -o 'Declaration.*' run/report.md)"

echo "(1) a label set written by another model"
"$W2S_BIN" label --model $SD/gt-s2/ckpt.h5 --data $SPLIT/train_b.h5 --out-dir foreign > foreign.log
cp $SD/labels-s1/.w2s-stage.json foreign/  # the stage stamp stays: only the labels are foreign
rm -rf $SD/labels-s1 && mv foreign $SD/labels-s1
pipeline run-labels.log
grep -q "labels-s1: labels not written by $SD/gt-s1/ckpt.h5 (supervisor_sha256 differs)" run-labels.log ||
  fail "the foreign label set was not named: $(rerun_of run-labels.log)"
rerun_of run-labels.log | grep -q "weak labels from s1" || fail "the label stage did not run again"
same_report "(1)"
check "foreign labels caught, the label stage reran, report unchanged"

echo "(2) predictions copied from another run"
cp $SD/gt-s2/predictions.h5 $SD/w2s-s1-to-s2-xent/predictions.h5
rc=0; "$W2S_BIN" analyze run --resamples 50 > analyze.log 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "w2s analyze exited $rc on copied predictions"
grep -q "$SD/w2s-s1-to-s2-xent/predictions.h5: was not made by $SD/w2s-s1-to-s2-xent/ckpt.h5" analyze.log ||
  fail "w2s analyze did not name both files: $(cat analyze.log)"
check "w2s analyze refuses them: $(tail -1 analyze.log)"
pipeline run-preds.log
grep -q "w2s-s1-to-s2-xent/predictions.h5: not made by" run-preds.log || fail "the copied predictions were not named"
[ "$(rerun_of run-preds.log | wc -l)" -eq 1 ] && rerun_of run-preds.log | grep -q "eval student s1 -> s2" ||
  fail "expected only the student's eval to run again: $(rerun_of run-preds.log)"
same_report "(2)"
check "copied predictions caught, only that eval reran, report unchanged"

echo "(3) a checkpoint whose weights changed after it was written"
$PY - $SD/gt-s1/ckpt.h5 <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["params/score.weight"]
    v = d[...]
    v[0, 0] += 1.0
    d[...] = v
PYEOF
rc=0; "$W2S_BIN" eval --model $SD/gt-s1/ckpt.h5 --data $SPLIT/test.h5 --out changed.h5 > eval.log 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "w2s eval exited $rc on a changed checkpoint"
[ "$(grep -c . eval.log)" -eq 1 ] && grep -q "$SD/gt-s1/ckpt.h5: parameters do not match the content hash" eval.log ||
  fail "w2s eval did not refuse the file in one line: $(cat eval.log)"
[ ! -e changed.h5 ] || fail "w2s eval wrote predictions from a changed checkpoint"
check "w2s eval refuses it: $(cat eval.log)"
pipeline run-ckpt.log
grep -q "gt-s1/ckpt.h5: parameters do not match" run-ckpt.log || fail "the changed checkpoint was not named"
rerun_of run-ckpt.log | grep -q "ground truth s1, toy seed 0" || fail "the changed model was not trained again"
same_report "(3)"
check "changed weights caught, the run trained again, report unchanged"

echo "(4) a seed added after the declaration"
pipeline run-seed.log --set "experiment.seeds=0 1"
grep -q "the experiment changed after its declaration .*seeds 0 -> 0 1" run-seed.log ||
  fail "the pipeline did not warn about the added seed: $(grep -i declar run-seed.log)"
$PY - <<'PYEOF' || fail "report.json does not mark the change"
import json
d = json.load(open("run/report.json"))["declaration"]
assert d["status"] == "changed after declaration", d
assert d["declared"]["seeds"] == [0], d
assert any("seeds 0 -> 0 1" in c for c in d["changes"]), d
PYEOF
grep -q "CHANGED: .*seeds 0 -> 0 1" run/report.md || fail "report.md does not show the change"
[ "$(wc -l < run/amendments.jsonl)" -eq 1 ] || fail "expected one amendment"
check "the report says: $(grep -o 'CHANGED.*' run/report.md | head -1)"
echo PASS
