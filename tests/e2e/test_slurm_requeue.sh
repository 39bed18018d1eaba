#!/usr/bin/env bash
# Preemption on a real single-node Slurm (tests/e2e/lib_slurm.sh starts and stops it): a 2-rank
# training job (slurm/train.sbatch, srun --mpi=pmix, --signal=B:USR1 and --requeue as
# jobs/submit-pipeline asks) is signalled mid-run with `scancel --signal=USR1 --batch`, the way
# Slurm's warning signal arrives. The batch shell forwards it, w2s finishes its step, writes its
# checkpoint and exits 75, the job requeues itself (scontrol requeue), starts again, resumes from
# the checkpoint, and ends with the same losses, step for step, as an uninterrupted run.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
source "$SRC/tests/e2e/lib_slurm.sh"
setup_tiny 240 40
start_slurm
steps=150
args=(train --data data/split/train_a.h5 --model tiny.ini --steps $steps --batch-size 16 --lr 3e-3 --log-every 1 --resume)
sb=(sbatch --parsable --export=ALL --chdir="$TMP" --ntasks=2 --cpus-per-task=1 --signal=B:USR1@30 --requeue
    --open-mode=append)
export W2S_HOME="$SRC" W2S_BIN W2S_CLUSTER="$SRC/configs/clusters/local.ini"

echo "uninterrupted reference (same 2-rank shape, under Slurm)"
ref=$("${sb[@]}" --output=ref.out "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir ref)
wait_jobs "$ref" || fail "reference job did not finish"
[ "$(job_state "$ref")" = COMPLETED ] || { cat ref.out; fail "reference job $ref: $(job_state "$ref")"; }
[ "$(losses_of ref | wc -l)" -eq $steps ] || fail "reference has $(losses_of ref | wc -l) losses"
check "reference job $ref: $steps steps"

echo "signalled run"
job=$("${sb[@]}" --output=pre.out "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir pre)
for _ in $(seq 600); do  # until training is well under way
  [ -f pre/metrics.jsonl ] && [ "$(wc -l < pre/metrics.jsonl)" -ge 20 ] && break
  sleep 0.2
done
[ "$(wc -l < pre/metrics.jsonl)" -ge 20 ] || { cat pre.out; fail "training did not start"; }
scancel --signal=USR1 --batch "$job"
for _ in $(seq 300); do  # the job requeues itself: Restarts goes to 1
  scontrol show job "$job" | grep -q "Restarts=1" && break
  sleep 0.2
done
scontrol show job "$job" | grep -q "Restarts=1" || { cat pre.out; fail "job $job was not requeued"; }
wait_jobs "$job" || fail "requeued job did not finish"
[ "$(job_state "$job")" = COMPLETED ] || { cat pre.out; fail "job $job: $(job_state "$job")"; }
grep -q "checkpoint written at step" pre.out || { cat pre.out; fail "w2s did not checkpoint on the signal"; }
grep -q "requeueing job $job" pre.out || { cat pre.out; fail "the job script did not requeue"; }
at=$(sed -n 's/.*resuming pre at step \([0-9]*\)\/.*/\1/p' pre.out | head -1)
[ -n "$at" ] && [ "$at" -gt 0 ] && [ "$at" -lt $steps ] || { cat pre.out; fail "the requeued run did not resume mid-run"; }
check "signalled at step $at of $steps: checkpoint, exit 75, requeued (Restarts=1), resumed at step $at"
cmp <(losses_of ref) <(losses_of pre) || fail "losses differ from the uninterrupted run"
check "all $steps losses equal the uninterrupted run's; final loss $(losses_of pre | tail -1)"
echo PASS
