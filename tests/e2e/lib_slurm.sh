# A real single-node Slurm for tests (sourced): munge, slurmctld and slurmd from Debian's
# slurm-wlm, started in the foreground in the background with their pids kept, all state under
# $SLURM_DIR, SLURM_CONF exported, and stopped by those pids when the test exits (a munged that
# was already running is left alone). Needs root. Skips (77) if Slurm or munge is missing.
# W2S_SLURM_MIN_JOB_AGE: seconds a finished job stays in the controller (MinJobAge, default 600;
# slurmctld purges older ones about once a minute), short for tests of purged jobs.
for tool in slurmctld slurmd munged sbatch setpriv; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool not installed (tools/setup.sh installs slurm-wlm and munge)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the test Slurm needs root"; exit 77; }

# One test Slurm at a time on this machine (the daemons use fixed ports): later tests wait here.
exec 9> /tmp/w2s-test-slurm.lock
flock 9

SLURM_DIR="$TMP/slurm"
mkdir -p "$SLURM_DIR"/{state,spool}
W2S_SLURM_PIDS=()

slurm_stop() {
  local pid
  for pid in "${W2S_SLURM_PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${W2S_SLURM_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
  done
}
trap slurm_stop EXIT

start_munge() {
  if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then return; fi  # already running
  [ -f /etc/munge/munge.key ] || mungekey -c -f -k /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 400 /etc/munge/munge.key
  setpriv --reuid munge --regid munge --init-groups munged --foreground > "$SLURM_DIR/munged.log" 2>&1 &
  W2S_SLURM_PIDS+=($!)
  for _ in $(seq 50); do munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && return; sleep 0.1; done
  echo "FAIL: munged did not start: $(cat "$SLURM_DIR/munged.log")"; exit 1
}

write_slurm_conf() {
  local host mem
  host=$(hostname)
  mem=$(( $(awk '/MemAvailable/ {print int($2/1024)}' /proc/meminfo) - 1024 ))
  cat > "$SLURM_DIR/slurm.conf" <<CONF
ClusterName=w2stest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerParameters=sched_interval=1,bf_interval=1,defer_batch
MinJobAge=${W2S_SLURM_MIN_JOB_AGE:-600}
NodeName=$host CPUs=$(nproc --all) RealMemory=$mem State=UNKNOWN
PartitionName=w2s Nodes=ALL Default=YES State=UP OverSubscribe=YES MaxTime=INFINITE
CONF
}

start_slurm() {
  start_munge
  write_slurm_conf
  export SLURM_CONF="$SLURM_DIR/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" > "$SLURM_DIR/slurmctld.out" 2>&1 &
  W2S_SLURM_PIDS+=($!)
  sleep 1
  slurmd -D -f "$SLURM_CONF" > "$SLURM_DIR/slurmd.out" 2>&1 &
  W2S_SLURM_PIDS+=($!)
  for _ in $(seq 100); do
    sinfo -h -o %T 2> /dev/null | grep -q idle && { echo "  slurm up: $(sinfo -h -o '%P %D %T %c')"; return; }
    sleep 0.2
  done
  echo "FAIL: slurm did not come up"; tail -20 "$SLURM_DIR"/slurm*.log; exit 1
}

# wait_jobs ID...: until none of the jobs is pending or running (timeout 300 s; fails at once
# on a job Slurm can never start).
wait_jobs() {
  local q
  for _ in $(seq 600); do
    q=$(squeue -h -o '%i %T %r' -j "$(IFS=,; echo "$*")" 2> /dev/null)
    [ -z "$q" ] && return 0
    if echo "$q" | grep -qE "BadConstraints|PartitionConfig|DependencyNeverSatisfied"; then
      echo "FAIL: a job can never run: $q"; return 1
    fi
    sleep 0.5
  done
  echo "FAIL: jobs still queued after 300 s: $(squeue)"; return 1
}

# job_state ID: COMPLETED / FAILED / ... (from scontrol; no accounting database here).
job_state() { scontrol show job "$1" 2> /dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
