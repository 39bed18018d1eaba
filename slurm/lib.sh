# Shared by the sbatch templates (sourced): site setup from the cluster file, the rank launcher,
# and preemption handling. The jobs/ drivers export these to every job:
#   W2S_HOME     the w2s tree (the repository, or <prefix>/share/w2s of an installation)
#   W2S_BIN      the w2s binary (default: w2s on PATH)
#   W2S_CLUSTER  the cluster file (configs/clusters/*.ini): launcher, mpi plugin, mpirun_args,
#                modules, setup line, max_requeues. Without one: srun --mpi=pmix, nothing loaded.
#   W2S_SRUN_ARGS  options for the srun that starts the ranks (cluster.py srun_options: -c,
#                --cpu-bind, --gpu-bind)
#   W2S_MPIRUN_RANK_ARGS  the same for mpirun (cluster.py mpirun_options: --map-by slot:PE=<cores>
#                --bind-to core -x OMP_NUM_THREADS), after the cluster file's mpirun_args
#   W2S_STATE_DIR  where the job records how it ended (RUN_ROOT/slurm/state), for jobs/status
set -uo pipefail
W2S_BIN="${W2S_BIN:-w2s}"
W2S_PYTHON="${W2S_PYTHON:-python3}"

# How this job ended, in $W2S_STATE_DIR/<job id or array id_index>: "STATE exit restarts time".
# jobs/status reads it for a job Slurm has purged: RUNNING left behind means the job was killed
# before it could say (cancelled, timed out, node lost), which counts as a failure.
w2s_job_key="${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}}"
w2s_job_key="${w2s_job_key:-${SLURM_JOB_ID:-}}"
w2s_requeued=0
w2s_record_state() {
  [ -n "${W2S_STATE_DIR:-}" ] && [ -n "$w2s_job_key" ] || return 0
  local file="$W2S_STATE_DIR/$w2s_job_key"
  mkdir -p "$W2S_STATE_DIR" && echo "$1 $2 ${SLURM_RESTART_COUNT:-0} $(date -Is)" > "$file.tmp" && mv -f "$file.tmp" "$file"
}
w2s_record_exit() {
  local rc=$1
  if [ "$w2s_requeued" -eq 1 ]; then w2s_record_state REQUEUED "$rc"
  elif [ "$rc" -eq 0 ]; then w2s_record_state COMPLETED 0
  else w2s_record_state FAILED "$rc"; fi
}
w2s_record_state RUNNING -
trap 'w2s_record_exit $?' EXIT

W2S_CLUSTER_LAUNCHER=srun W2S_CLUSTER_MPI=pmix W2S_CLUSTER_MPIRUN_ARGS="" W2S_CLUSTER_MAX_REQUEUES=20
W2S_CLUSTER_MODULES="" W2S_CLUSTER_SETUP=""
if [ -n "${W2S_CLUSTER:-}" ]; then
  w2s_vars=$("$W2S_PYTHON" "$W2S_HOME/jobs/lib/cluster.py" "$W2S_CLUSTER" shell) || exit 1
  eval "$w2s_vars"
fi
W2S_LAUNCHER="$W2S_CLUSTER_LAUNCHER" W2S_MPI="$W2S_CLUSTER_MPI" W2S_MPIRUN_ARGS="$W2S_CLUSTER_MPIRUN_ARGS"
W2S_MAX_REQUEUES="$W2S_CLUSTER_MAX_REQUEUES" w2s_modules="$W2S_CLUSTER_MODULES" w2s_setup="$W2S_CLUSTER_SETUP"
if [ -n "$w2s_modules" ]; then
  command -v module > /dev/null 2>&1 || { echo "[w2s-job] cluster file lists modules ($w2s_modules) but there is no 'module' command" >&2; exit 1; }
  # shellcheck disable=SC2086  # a space-separated list by design
  module load $w2s_modules || exit 1
fi
# The cluster file's [env] (NCCL, UCX, InfiniBand settings), before the setup line can use it.
if [ -n "${W2S_CLUSTER:-}" ]; then
  w2s_env=$("$W2S_PYTHON" "$W2S_HOME/jobs/lib/cluster.py" "$W2S_CLUSTER" env) || exit 1
  eval "$w2s_env"
fi
if [ -n "$w2s_setup" ]; then eval "$w2s_setup" || { echo "[w2s-job] cluster setup line failed: $w2s_setup" >&2; exit 1; }; fi
# One OpenMP thread pool per rank, as wide as the cores Slurm gave that rank.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
# Since Slurm 22.05 srun does not inherit --cpus-per-task from the allocation: without this every
# rank's threads would share one core (W2S_SRUN_ARGS says -c as well; this covers hand-made jobs).
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export SRUN_CPUS_PER_TASK="${SRUN_CPUS_PER_TASK:-$SLURM_CPUS_PER_TASK}"; fi

# w2s_launch ARGS...: w2s on every task of the allocation, in place of the calling shell. Run it
# in the background (w2s_stage does): the background subshell becomes the launcher, so $! is
# mpirun itself and w2s_forward's USR1 reaches it, not a subshell that would die of the signal.
w2s_launch() {
  if [ "$W2S_LAUNCHER" = "mpirun" ]; then
    # shellcheck disable=SC2086  # mpirun_args is a list of options by design
    exec mpirun -n "${SLURM_NTASKS:-1}" $W2S_MPIRUN_ARGS ${W2S_MPIRUN_RANK_ARGS:-} "$W2S_BIN" "$@"
  else
    # shellcheck disable=SC2086  # a list of options by design
    exec srun --mpi="$W2S_MPI" --kill-on-bad-exit=1 ${W2S_SRUN_ARGS:-} "$W2S_BIN" "$@"
  fi
}

# w2s_forward PID: USR1 to every rank. srun does not forward USR1 (it would die of it), so under
# srun the job's steps are signalled through Slurm; mpirun forwards USR1 to its ranks itself.
w2s_forward() {
  if [ "$W2S_LAUNCHER" = "srun" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    scancel --signal=USR1 "$SLURM_JOB_ID" 2> /dev/null || kill -USR1 "$1" 2> /dev/null
  else
    kill -USR1 "$1" 2> /dev/null
  fi
}

# w2s_stage ARGS...: one w2s stage (subcommand first), preemption-safe. The batch shell forwards
# USR1/TERM (Slurm's warning signal from --signal=B:USR1@lead, or scancel --signal=USR1 --batch)
# to the launcher, which forwards it to every rank.
#   pretrain / train / pipeline: w2s finishes its step, writes ckpt.h5 atomically and exits 75;
#     the job requeues itself and the next start resumes (--resume).
#   label / eval: their outputs are written whole or not at all and a rerun keeps what verifies,
#     so a signalled run is simply requeued.
# A job requeued more than cluster.max_requeues times fails instead.
w2s_stage() {
  local child rc signalled=0 resumable=0
  case "$1" in label|eval) resumable=1 ;; esac
  echo "[w2s-job] $(date -Is) job ${SLURM_JOB_ID:-?} on ${SLURM_JOB_NODELIST:-?} (${SLURM_NTASKS:-1} tasks, restart ${SLURM_RESTART_COUNT:-0}): w2s $*"
  w2s_launch "$@" &
  child=$!
  trap 'signalled=1; echo "[w2s-job] $(date -Is) signal received: asking w2s to checkpoint and stop"; w2s_forward $child' USR1 TERM
  while true; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2> /dev/null || break  # wait returned early because a trapped signal arrived
  done
  trap - USR1 TERM
  if [ "$rc" -eq 75 ] || { [ "$signalled" -eq 1 ] && [ "$resumable" -eq 1 ]; }; then
    if [ "${SLURM_RESTART_COUNT:-0}" -ge "$W2S_MAX_REQUEUES" ]; then
      echo "[w2s-job] $(date -Is) stopped by a signal after ${SLURM_RESTART_COUNT} requeues (cluster.max_requeues = $W2S_MAX_REQUEUES): giving up"
      exit 75
    fi
    echo "[w2s-job] $(date -Is) w2s stopped for preemption (exit $rc); requeueing job ${SLURM_JOB_ID}"
    w2s_requeued=1
    scontrol requeue "${SLURM_JOB_ID}" || { echo "[w2s-job] scontrol requeue failed"; exit 75; }
    exit 0
  fi
  echo "[w2s-job] $(date -Is) w2s exited with $rc"
  exit "$rc"
}
