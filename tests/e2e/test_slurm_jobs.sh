#!/usr/bin/env bash
# The other jobs/ drivers on a real single-node Slurm (tests/e2e/lib_slurm.sh):
#   jobs/sweep on the tiny experiment (configs/experiments/tiny-test.ini; the demo is too slow for
#     CI) with two losses: shared stages as chained jobs, students as a job array, their
#     evaluations as an aftercorr array, then analyze; the report has one row per loss.
#   jobs/scaling-study at 1 node x 1 and 2 tasks (the only node here; more nodes are checked in
#     the --dry-run sbatch lines): both points run, the collected CSV has their throughput and
#     their step split into compute and exposed communication (some with 2 ranks).
#   jobs/bootstrap --dry-run: the chain's stages and sbatch lines, nothing submitted.
#   jobs/status on each tree, and its exit status 1 on a failed job.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
source "$SRC/tests/e2e/lib_slurm.sh"
start_slurm
cp -r "$SRC/configs" .
export W2S_BIN
C=configs/clusters/local.ini

echo "sweep (job arrays)"
"$SRC/jobs/sweep" --experiment configs/experiments/tiny-test.ini --cluster $C --losses xent,auxconf \
  --set experiment.out=runs/sweep > sweep.log 2>&1 || { cat sweep.log; fail "jobs/sweep failed"; }
grep -qE "^[0-9]+	array	2 train stages" sweep.log || { cat sweep.log; fail "students not submitted as one array"; }
grep -qE "^[0-9]+	array	2 eval stages .*aftercorr" sweep.log || { cat sweep.log; fail "evaluations not an aftercorr array"; }
"$SRC/jobs/status" runs/sweep --wait --interval 2 --timeout 600 > status.log 2>&1 || { cat status.log; fail "sweep jobs failed"; }
$PY -c '
import json; r = json.load(open("runs/sweep/report.json"))
assert sorted(x["loss"] for x in r["rows"]) == ["auxconf", "xent"], r["rows"]' || fail "sweep report lacks a loss"
check "sweep: $(tail -1 status.log | cut -d';' -f1); report rows for xent and auxconf"

echo "scaling study, 1 node x 1 and 2 tasks"
"$W2S_BIN" prepare --train runs/sweep/data/spam/train.jsonl --test runs/sweep/data/spam/test.jsonl --out-dir scal-data \
  --tokenizer byte --max-len 64 --max-train 60 > /dev/null
"$SRC/jobs/scaling-study" --cluster $C --data scal-data/train_a.h5 --model configs/models/w2s-test-a.ini --nodes 1 \
  --tasks-per-node 1,2 --modes strong,weak --steps 6 --batch-size 8 --out runs/scaling > scal.log 2>&1 \
  || { cat scal.log; fail "scaling-study failed"; }
"$SRC/jobs/status" runs/scaling --wait --interval 2 --timeout 300 > scal-status.log 2>&1 \
  || { cat scal-status.log; fail "scaling jobs failed"; }
[ "$(grep -cE '^(strong|weak),1,[12],[12],1,' runs/scaling/scaling.csv)" -eq 4 ] || { cat runs/scaling/scaling.csv; fail "scaling.csv incomplete"; }
grep -q "^weak,1,2,2,1,2,16," runs/scaling/scaling.csv || { cat runs/scaling/scaling.csv; fail "weak scaling did not double the batch"; }
$PY - <<'PYEOF' || { cat runs/scaling/scaling.csv; fail "scaling.csv rows lack the step split"; }
import csv
for r in csv.DictReader(open("runs/scaling/scaling.csv")):
    assert r["status"] == "ok" and r["repeats_ok"] == "1", r
    step, comm = float(r["step_s"]), float(r["exposed_comm_s"])
    assert 0 <= comm <= step and abs(float(r["compute_s"]) + comm - step) < 1e-3 * step, r
    assert r["mfu"] == "n/a" and float(r["model_flops_per_token"]) > 0, r
    assert r["ranks"] == "1" or comm > 0, ("2 ranks and no communication?", r)
PYEOF
check "scaling.csv: 4 points with tokens/s and efficiency ($(grep '^strong,1,2' runs/scaling/scaling.csv | cut -d, -f11,14)), step = compute + exposed comm"
"$SRC/jobs/scaling-study" --cluster configs/clusters/example-gpu.ini --data d.h5 --model m.ini --nodes 1,2,4 --tp 2 \
  --dry-run > scal-dry.log
grep -q -- "--nodes=4 --ntasks-per-node=8 --gpus-per-node=8" scal-dry.log || { cat scal-dry.log; fail "multi-node shape missing"; }
check "multi-node points in --dry-run: --nodes=4 --ntasks-per-node=8"

echo "bootstrap --dry-run"
"$SRC/jobs/bootstrap" --experiment configs/experiments/demo-large.ini --cluster $C --chain tiny,small,base --dry-run > boot.log 2>&1 \
  || { cat boot.log; fail "jobs/bootstrap --dry-run failed"; }
grep -q "bootstrap step 2 (base" boot.log && grep -q "eval bootstrap chain" boot.log || { cat boot.log; fail "no chain stages"; }
[ ! -e runs/demo-large ] || fail "--dry-run wrote a run tree"
check "bootstrap chain planned and printed, nothing submitted"

echo "status reports a failure"
mkdir -p runs/bad
printf '[experiment]\nout = runs/bad\ntasks = nosuch\nsizes = ta tb\n[model.ta]\nconfig = configs/models/w2s-test-a.ini\n[model.tb]\nconfig = configs/models/w2s-test-b.ini\n[task.nosuch]\ntrain = missing.jsonl\ntest = missing.jsonl\n' > bad.ini
"$SRC/jobs/submit-pipeline" --experiment bad.ini --cluster $C > bad.log 2>&1 || { cat bad.log; fail "submit of bad.ini refused"; }
set +e; "$SRC/jobs/status" runs/bad --wait --interval 2 --timeout 120 > bad-status.log 2>&1; rc=$?; set -e
[ "$rc" -eq 1 ] && grep -q "FAILED" bad-status.log || { cat bad-status.log; fail "status did not report the failed job (rc $rc)"; }
check "status exits 1 and shows the failed job's log"
echo PASS
