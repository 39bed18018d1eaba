#!/usr/bin/env bash
# `w2s pipeline` end to end on a tiny experiment (own JSONL task and corpus, three model sizes,
# two losses, two seeds, a bootstrapping chain), under 2 MPI ranks; then a second run skips
# every stage, and a run after deleting one student's checkpoint redoes only that student.
source "$(dirname "$0")/lib_tiny.sh"
make_task data 160 60
write_tiny_corpus
write_tiny_family 3
{ tiny_chain_experiment run
tiny_sections 3
tiny_pretrain_sections 15
tiny_finetune_section
cat <<INI
[analyze]
resamples = 200
INI
} > tiny.ini

echo "full pipeline under 2 ranks"
"${MPIRUN[@]}" -n 2 "$W2S_BIN" pipeline --config tiny.ini > run1.log 2>&1 || { tail -30 run1.log; fail "pipeline failed"; }
stages=$(grep -c '^\[[0-9]*/[0-9]*\]' run1.log)
[ -f run/report.json ] || fail "no report.json"
$PY - <<'PYEOF' || fail "report.json is incomplete"
import json
r = json.load(open("run/report.json"))
rows = {(x["weak"], x["strong"], x["loss"]) for x in r["rows"]}
want = {(w, s, l) for (w, s) in [("s1", "s2"), ("s1", "s3"), ("s2", "s3")] for l in ("xent", "auxconf")}
assert rows == want, rows
assert all(x["seeds"] == [0, 1] for x in r["rows"])
assert len(r["chains"]) == 2 and r["chains"][0]["chain"] == "s1 -> s2 -> s3"
for x in r["rows"]:
    assert 0 <= x["p_weak"] <= 1 and x["pgr_defined"] in (True, False) and "pgr_ci" in x
print("  report: %d rows, %d chains" % (len(r["rows"]), len(r["chains"])))
PYEOF
tail -n 60 run1.log | grep -q "| toy | s1 -> s3 | xent | 2 |" || fail "the PGR table is not the last output"
# The analysis reads each student's weak labels from the tree (labels-<weak> over train_b.h5) and
# says in words whether the run has a real gap.
$PY - <<'PYEOF' || fail "report.json lacks the gap, the summary or the imitation diagnostics"
import json
r = json.load(open("run/report.json"))
for x in r["rows"]:
    assert isinstance(x["real_gap"], bool) and "gap_ci" in x, x.keys()
    assert 0 <= x["agreement_weak_right"] <= 1 or x["agreement_weak_right"] is None
    assert 0 <= x["weak_label_accuracy_b"] <= 1, (x["weak"], x["weak_label_accuracy_b"])
assert [s["task"] for s in r["summary"]] == ["toy"] and r["summary"][0]["text"].startswith("toy: ")
assert not r["warnings"], r["warnings"]
PYEOF
tail -n 60 run1.log | grep -q "^- toy: " || fail "the plain-words summary is not printed"
check "gap interval, summary and weak labels' accuracy on B in the report"
check "$stages stages; report.json and the table complete"

echo "a second run skips every stage"
"${MPIRUN[@]}" -n 2 "$W2S_BIN" pipeline --config tiny.ini > run2.log 2>&1 || fail "second run failed"
skipped=$(grep -c "done already (verified), skipped" run2.log)
[ "$skipped" -eq "$stages" ] || fail "second run skipped $skipped of $stages stages"
check "$skipped of $stages skipped"

echo "a lost checkpoint is redone alone"
rm run/toy/seed-1/w2s-s1-to-s3-auxconf/ckpt.h5
"${MPIRUN[@]}" -n 2 "$W2S_BIN" pipeline --config tiny.ini > run3.log 2>&1 || fail "third run failed"
ran=$(grep '^\[' run3.log | grep -vc "skipped")
[ "$ran" -eq 1 ] || fail "expected 1 stage to run again, $ran did: $(grep '^\[' run3.log | grep -v skipped)"
grep '^\[' run3.log | grep -v skipped | grep -q "student s1 -> s3 (auxconf), toy seed 1" || fail "the wrong stage ran"
check "only 'student s1 -> s3 (auxconf), toy seed 1' ran again (its eval output still verifies)"

echo "changed settings redo what depends on them"
"$W2S_BIN" pipeline --config tiny.ini --set finetune.lr=2e-3 --dry-run > /dev/null

echo "finetune.freeze_backbone makes every fine-tuning run a linear probe, and no pretraining"
"$W2S_BIN" pipeline --config tiny.ini --set finetune.freeze_backbone=true --dry-run > probe.log 2>&1 ||
  fail "dry run with finetune.freeze_backbone failed"
# grep exits 1 when it matches nothing; under `set -e -o pipefail` that must not end the script
# silently, so these counts never fail.
stage_lines() { grep "^    \\$ .* $1 " probe.log || true; }
trains=$(stage_lines train | wc -l)
frozen=$(stage_lines train | { grep -c -- '--freeze-backbone' || true; })
pretrains=$(stage_lines pretrain | { grep -c -- '--freeze-backbone' || true; })
[ "$trains" -gt 0 ] && [ "$frozen" -eq "$trains" ] || fail "$frozen of $trains train stages carry --freeze-backbone"
[ "$pretrains" -eq 0 ] || fail "a pretrain stage carries --freeze-backbone"
check "$frozen of $trains train stages are linear probes"
echo PASS
