#!/usr/bin/env bash
# jobs/status --wait on a real single-node Slurm (tests/e2e/lib_slurm.sh) that forgets finished
# jobs after 2 s (MinJobAge; slurmctld purges about once a minute), with no accounting database:
# an experiment whose data stage fails (its dependents are cancelled), and a job that holds
# --wait open until the failed job has been purged from the controller. --wait must still exit 1
# and name the failed job (from what its job script recorded in slurm/state/) and the cancelled
# ones (purged with no record of success), and not the job that succeeded.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
export W2S_SLURM_MIN_JOB_AGE=2
source "$SRC/tests/e2e/lib_slurm.sh"
start_slurm
cp -r "$SRC/configs" .
export W2S_BIN
C=configs/clusters/local.ini

printf '[experiment]\nout = runs/bad\ntasks = nosuch\nsizes = ta tb\n[model.ta]\nconfig = configs/models/w2s-test-a.ini\n[model.tb]\nconfig = configs/models/w2s-test-b.ini\n[task.nosuch]\ntrain = missing.jsonl\ntest = missing.jsonl\n' > bad.ini
"$SRC/jobs/submit-pipeline" --experiment bad.ini --cluster $C > submit.log 2>&1 || { cat submit.log; fail "submit refused"; }
first=$(grep -oE '^[0-9]+' submit.log | head -1)
[ -n "$first" ] || { cat submit.log; fail "no job submitted"; }

# A job of the same run tree (recorded in jobs.tsv like any other) that runs until released.
hold=$(W2S_HOME="$SRC" W2S_CLUSTER="$C" W2S_STATE_DIR="$TMP/runs/bad/slurm/state" \
  sbatch --parsable --export=ALL --chdir="$TMP" --ntasks=1 --output="$TMP/hold.out" "$SRC/slurm/tool.sbatch" \
  /bin/sh -c "while [ ! -e $TMP/release ]; do sleep 1; done")
printf '%s\tw2s-hold\tanalyze\t-\tholds --wait open\t-\t%s\t%s\tsleep\t-\n' "$hold" "$TMP/hold.out" \
  "$(date +%Y-%m-%dT%H:%M:%S)" >> runs/bad/slurm/jobs.tsv

"$SRC/jobs/status" runs/bad --wait --interval 1 --timeout 400 > status.log 2>&1 &
status_pid=$!
for _ in $(seq 240); do
  scontrol show job "$first" > /dev/null 2>&1 || break
  sleep 1
done
scontrol show job "$first" > /dev/null 2>&1 && { scontrol show job "$first"; fail "job $first not purged after 240 s"; }
kill -0 "$status_pid" 2> /dev/null || { cat status.log; fail "status --wait ended before the failed job was purged"; }
check "failed job $first purged from the controller while jobs/status --wait runs"

touch release
set +e; wait "$status_pid"; rc=$?; set -e
[ "$rc" -eq 1 ] || { cat status.log; fail "status --wait exited $rc after a purged failure"; }
failed_line=$(grep '^failed:' status.log) || { cat status.log; fail "no line naming the failed jobs"; }
echo "$failed_line" | grep -qE "(^| )$first \(failed\)" || { cat status.log; fail "the purged failed job $first is not named"; }
echo "$failed_line" | grep -q "(purged)" || { cat status.log; fail "the cancelled dependents (purged, never ran) are not failures"; }
echo "$failed_line" | grep -qE " $hold \(" && { cat status.log; fail "the job that succeeded counted as failed"; }
grep -q "^COMPLETED 0 " "runs/bad/slurm/state/$hold" || fail "the holding job did not record its success"
grep -q "^FAILED " "runs/bad/slurm/state/$first" || fail "the failed job did not record its failure"
check "status --wait exits 1: $failed_line"
echo PASS
