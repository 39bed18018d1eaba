#!/usr/bin/env bash
# Preemption the way Slurm itself does it, on a real single-node Slurm (tests/e2e/lib_slurm.sh):
# test_slurm_requeue.sh sends the warning signal by hand (scancel --signal=USR1 --batch); here
# Slurm sends every signal. Each case is a 2-rank training job (slurm/train.sbatch, srun
# --mpi=pmix, the sbatch options jobs/ gives training stages) that must end with the same losses,
# step for step, as an uninterrupted 2-rank run of the same command.
#   1. Time limit: --time=1 with the cluster file's warning (--signal=B:USR1@<signal_lead>, 30 s
#      in configs/clusters/local.ini). The training is sized from a short job to need about 50 s
#      (and rerun with three times the steps if it still ends before the warning), so Slurm
#      signals it mid-run. slurmctld sends USR1 to the batch shell, which forwards it to the
#      ranks; w2s checkpoints, exits 75, the job requeues itself and resumes with a fresh time
#      limit. One minute is Slurm's smallest limit, so this is the production path at its
#      shortest, not a simulation.
#   2. Preemption with a grace time: a second partition of higher PriorityTier
#      (PreemptType=preempt/partition_prio, PreemptMode=REQUEUE, GraceTime on the test
#      partition). A job submitted there needs the CPUs the training holds, so slurmctld sends
#      SIGTERM to the training's ranks; w2s checkpoints within the grace time and exits 75, Slurm
#      requeues the job, and it resumes once the urgent job is done.
#   3. The warning under `launcher = mpirun` (sent as Slurm sends B:USR1, with
#      `scancel --signal=USR1 --batch`): the batch shell signals mpirun, which passes it on.
# A requeued job is held by Slurm until the credential of its last run expires (AuthInfo
# cred_expire, 120 s by default; released earlier, slurmd refuses it: "Job credential revoked");
# the test Slurm sets 10 s, which changes only when a job restarts, not how it stops or resumes.
# slurmctld checks time limits periodically, so the warning comes anywhere from ~0 to 30 s into
# a one-minute run (up to a minute early, as sbatch(1) says); the test does not depend on when.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
source "$SRC/tests/e2e/lib_slurm.sh"
# The test Slurm plus preemption by partition priority.
eval "$(declare -f write_slurm_conf | sed '1s/write_slurm_conf/write_base_slurm_conf/')"
write_slurm_conf() {
  write_base_slurm_conf
  sed -i 's/^PartitionName=w2s .*/& PriorityTier=1 PreemptMode=REQUEUE GraceTime=30/' "$SLURM_DIR/slurm.conf"
  printf '%s\n' PreemptType=preempt/partition_prio PreemptMode=REQUEUE AuthInfo=cred_expire=10 \
    "PartitionName=urgent Nodes=ALL State=UP PriorityTier=10 PreemptMode=OFF" >> "$SLURM_DIR/slurm.conf"
}
setup_tiny 240 40
export W2S_HOME="$SRC" W2S_BIN W2S_CLUSTER="$SRC/configs/clusters/local.ini"
lead=$($PY "$SRC/jobs/lib/cluster.py" "$W2S_CLUSTER" get cluster.signal_lead)
[ "$lead" -gt 0 ] && [ "$lead" -lt 60 ] || fail "local.ini's signal_lead ($lead) must be under a minute for this test"

start_slurm
sb=(sbatch --parsable --export=ALL --chdir="$TMP" --ntasks=2 --cpus-per-task=1 --signal="B:USR1@$lead" --requeue
    --open-mode=append)
base=(train --data data/split/train_a.h5 --model tiny.ini --batch-size 16 --lr 3e-3 --log-every 1 --resume)
# seconds_of LOG: the training time w2s reports ("done: N steps, final loss L, T s").
seconds_of() { sed -n 's/.*done: [0-9]* steps, final loss [^,]*, \([0-9.]*\) s.*/\1/p' "$1" | tail -1; }

# finish JOB: waits until JOB ends, requeues included (600 s at most).
finish() {
  for _ in $(seq 1200); do
    case "$(job_state "$1")" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) return 0 ;; esac
    sleep 0.5
  done
  fail "job $1 still $(job_state "$1") after 600 s"
}
restarts() { scontrol show job "$1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }
# same_as_reference RUN LOG SIGNAL: the run was stopped by SIGNAL, resumed mid-run (at step
# $at), and ended with the reference's losses.
same_as_reference() {
  local run=$1 log=$2 sig=$3
  grep -q "signal $sig received: checkpoint written at step" "$log" || { cat "$log"; fail "$run: w2s did not checkpoint on signal $sig"; }
  at=$(sed -n "s/.*resuming $run at step \([0-9]*\)\/.*/\1/p" "$log" | head -1)
  [ -n "$at" ] && [ "$at" -gt 0 ] && [ "$at" -lt "$steps" ] || { cat "$log"; fail "$run: the requeued run did not resume mid-run"; }
  cmp <(losses_of ref) <(losses_of "$run") || fail "$run: losses differ from the uninterrupted run"
}

# Size the training to ~50 s under Slurm on this machine now (from a 300-step job). The speed
# of a shared test machine varies several-fold, so a run that ends before its warning is retried
# with three times the steps, and the test's cluster file allows 20 requeues for a slow one.
sed 's/^max_requeues = .*/max_requeues = 20/' "$W2S_CLUSTER" > cluster.ini
export W2S_CLUSTER="$TMP/cluster.ini"
job=$("${sb[@]}" --output=cal.out "$SRC/slurm/train.sbatch" "${base[@]}" --steps 300 --run-dir cal)
finish "$job"
[ "$(job_state "$job")" = COMPLETED ] && [ -n "$(seconds_of cal.out)" ] || { cat cal.out; fail "calibration job $job: $(job_state "$job")"; }
steps=$(echo "s = 50 * 300 / $(seconds_of cal.out); if (s < 300) s = 300; scale=0; s / 1" | bc -l)

echo "1. time limit: --time=1 --signal=B:USR1@$lead"
for try in 1 2 3; do
  args=("${base[@]}" --steps "$steps")
  rm -rf tl
  job=$("${sb[@]}" --time=1 --output="tl-$try.out" "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir tl)
  finish "$job"
  [ "$(job_state "$job")" = COMPLETED ] || { cat "tl-$try.out"; fail "job $job: $(job_state "$job")"; }
  [ "$(restarts "$job")" -ge 1 ] && break
  echo "  $steps steps ended before Slurm's warning ($(seconds_of "tl-$try.out") s): again with three times as many"
  steps=$((steps * 3))
done
[ "$(restarts "$job")" -ge 1 ] || fail "the training always ended before Slurm's warning"
requeues=$(restarts "$job")
grep -q "TIME LIMIT" "tl-$try.out" && { cat "tl-$try.out"; fail "job $job ran into its time limit instead of stopping at the warning"; }

# The uninterrupted reference: the same command and 2-rank shape under Slurm, no time limit.
job=$("${sb[@]}" --output=ref.out "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir ref)
finish "$job"
[ "$(job_state "$job")" = COMPLETED ] || { cat ref.out; fail "reference job $job: $(job_state "$job")"; }
[ "$(losses_of ref | wc -l)" -eq "$steps" ] || fail "reference has $(losses_of ref | wc -l) losses"
check "uninterrupted reference: $steps steps in $(seconds_of ref.out) s"
same_as_reference tl "tl-$try.out" 10
check "Slurm's warning (USR1) at step $at of $steps: checkpoint, exit 75, requeued ${requeues}x, all losses equal the reference"

echo "2. preemption: SIGTERM within GraceTime, PreemptMode=REQUEUE"
job=$("${sb[@]}" --output=pre.out "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir pre)
for _ in $(seq 600); do [ -f pre/metrics.jsonl ] && [ "$(wc -l < pre/metrics.jsonl)" -ge 20 ] && break; sleep 0.2; done
[ "$(wc -l < pre/metrics.jsonl)" -ge 20 ] || { cat pre.out; fail "training did not start"; }
urgent=$(sbatch --parsable --partition=urgent --ntasks=2 --output=urgent.out --wrap 'echo urgent job ran')
finish "$urgent"
[ "$(job_state "$urgent")" = COMPLETED ] || fail "urgent job $urgent: $(job_state "$urgent")"
finish "$job"
[ "$(job_state "$job")" = COMPLETED ] || { cat pre.out; fail "job $job: $(job_state "$job")"; }
[ "$(restarts "$job")" -ge 1 ] || { cat pre.out; fail "job $job was not requeued by the preemption"; }
same_as_reference pre pre.out 15
check "preempted (SIGTERM) at step $at of $steps: checkpoint, exit 75, requeued, all losses equal the reference"

echo "3. launcher = mpirun: the batch shell's USR1 reaches the ranks through mpirun"
sed 's/^launcher = .*/launcher = mpirun/' cluster.ini > cluster-mpirun.ini
job=$(W2S_CLUSTER="$TMP/cluster-mpirun.ini" "${sb[@]}" --output=mpirun.out "$SRC/slurm/train.sbatch" "${args[@]}" --run-dir mpirun)
for _ in $(seq 600); do [ -f mpirun/metrics.jsonl ] && [ "$(wc -l < mpirun/metrics.jsonl)" -ge 20 ] && break; sleep 0.2; done
[ "$(wc -l < mpirun/metrics.jsonl)" -ge 20 ] || { cat mpirun.out; fail "training under mpirun did not start"; }
scancel --signal=USR1 --batch "$job"  # what Slurm's warning (B:USR1) does
finish "$job"
[ "$(job_state "$job")" = COMPLETED ] || { cat mpirun.out; fail "job $job: $(job_state "$job")"; }
[ "$(restarts "$job")" -ge 1 ] || { cat mpirun.out; fail "job $job was not requeued"; }
same_as_reference mpirun mpirun.out 10
check "under mpirun: USR1 at step $at of $steps, checkpoint, requeued, all losses equal the reference"
echo PASS
