#!/usr/bin/env bash
# On a real single-node Slurm (started and stopped here, tests/e2e/lib_slurm.sh): the tiny
# experiment (configs/experiments/tiny-test.ini, seconds of compute; the 15-minute demo is far too
# slow for CI) submitted through jobs/submit-pipeline as one job per stage chained with
# --dependency=afterok, training, labeling and evaluation as 2 MPI ranks under srun --mpi=pmix.
# Checks: every job completes, the ranks really ran under srun/pmix as one 2-rank world, the
# report is sane, jobs/status agrees, and a second submission submits only the analysis.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
source "$SRC/tests/e2e/lib_slurm.sh"
start_slurm
cp -r "$SRC/configs" .   # the experiment's relative paths resolve from the working directory
export W2S_BIN

"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster configs/clusters/local.ini \
  > submit.log 2>&1 || { cat submit.log; fail "submit-pipeline failed"; }
njobs=$(grep -cE '^[0-9]+[[:space:]]' submit.log)
[ "$njobs" -eq 14 ] || { cat submit.log; fail "expected 13 stage jobs + analyze, got $njobs"; }
check "submitted $njobs jobs: $(grep -E '^[0-9]+' submit.log | cut -f1 | tr '\n' ' ')"
"$SRC/jobs/status" runs/tiny-test --wait --interval 2 --timeout 600 > status.log 2>&1 \
  || { cat status.log; tail -5 "$SLURM_DIR/slurmctld.log"; fail "jobs/status reports a failure"; }
grep -q "14 jobs: 14 completed" status.log || { cat status.log; fail "not every job completed"; }
check "jobs/status: $(tail -1 status.log)"

# The pretraining job ran as 2 ranks of one MPI world under srun (pmix), not 2 singletons.
pre=$(awk -F'\t' '$3 == "pretrain" {print $7; exit}' runs/tiny-test/slurm/jobs.tsv)
[ -f "$pre" ] || fail "no pretrain log at '$pre'"
grep -q "(2 tasks, restart 0): w2s pretrain" "$pre" || { cat "$pre"; fail "the pretraining job did not have 2 tasks"; }
grep -q "world 2 = tp 1 x dp 2" "$pre" || { cat "$pre"; fail "pretraining did not run as one 2-rank world"; }
check "pretraining ran as one 2-rank world under srun --mpi=pmix ($pre)"

$PY - <<'PYEOF' || fail "report.json is not sane"
import json
r = json.load(open("runs/tiny-test/report.json"))
rows = r["rows"]
assert len(rows) == 1, rows
row = rows[0]
assert (row["weak"], row["strong"], row["loss"]) == ("ta", "tb", "xent"), row
for k in ("p_weak", "p_w2s", "p_ceiling"):
    assert 0.0 <= row[k] <= 1.0, (k, row[k])
print(f"  ok: report: weak {row['p_weak']:.3f}, w2s {row['p_w2s']:.3f}, ceiling {row['p_ceiling']:.3f}")
PYEOF

"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster configs/clusters/local.ini \
  > resubmit.log 2>&1 || { cat resubmit.log; fail "second submit-pipeline failed"; }
[ "$(grep -c '^done' resubmit.log)" -eq 13 ] || { cat resubmit.log; fail "completed stages were submitted again"; }
"$SRC/jobs/status" runs/tiny-test --wait --interval 2 --timeout 120 --quiet > status2.log 2>&1 \
  || { cat status2.log; fail "the resubmitted analysis failed"; }
check "resubmission skips the 13 complete stages; only the analysis runs again"
echo PASS
