#!/usr/bin/env bash
# What jobs/ asks Slurm for, and how jobs/status counts job ends, with no Slurm and no GPU:
#   jobs/submit-pipeline --dry-run of the tiny experiment on cuda with a 2-node GPU cluster file
#     (configs/clusters/example-gpu-2node.ini): data and analysis on the CPU partition without GPUs
#     or --exclusive; training, labeling and evaluation with --gpus-per-node, --cpus-per-task and
#     --mem, their srun with -c, --cpu-bind and --gpu-bind; training over --nodes=2; the [env]
#     lines; the same experiment on CPU asks for no GPUs; cuda on a GPU-less cluster is refused.
#   The same with launcher = mpirun: every job's mpirun line has -n = nodes x tasks and the cores
#     per rank and binding srun gets (--map-by slot:PE=<cpus_per_task> --bind-to core -x
#     OMP_NUM_THREADS); mpirun_args that place ranks win; slurm/lib.sh's mpirun line, run here
#     with 2 ranks, binds each to its own core with OMP_NUM_THREADS=1.
#   jobs/status on a hand-made run tree with stand-in sacct/squeue: one query per poll, every
#     terminal state other than COMPLETED a failure, and a job the controller has purged judged by
#     what it recorded in slurm/state/ (no record of success: failed).
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
cp -r "$SRC/configs" .
export W2S_BIN
C2=configs/clusters/example-gpu-2node.ini

echo "dry-run requests per stage kind"
"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster $C2 \
  --set experiment.device=cuda --dry-run > gpu.log 2>&1 || { cat gpu.log; fail "dry-run on the GPU cluster failed"; }
[ ! -e runs/tiny-test ] || fail "--dry-run wrote a run tree"
# One reading of the --dry-run log for every check below (imported from the working directory).
cat > dry_run_jobs.py <<'PYEOF'
import shlex
def dry_run_jobs(lines):
    """(line index, kind, sbatch argv) per '    $ sbatch ...' line; kind is the template's name,
    with train.sbatch's first argument (pretrain or train) in its place."""
    for i, line in enumerate(lines):
        if not line.startswith("    $ sbatch "):
            continue
        argv = shlex.split(line[6:])
        template = next(a for a in argv if a.endswith(".sbatch"))
        kind = template.rsplit("/", 1)[1][:-len(".sbatch")]
        if kind == "train":
            kind = argv[argv.index(template) + 1]  # pretrain or train
        yield i, kind, argv
PYEOF
cat > check_requests.py <<'PYEOF'
import sys
from dry_run_jobs import dry_run_jobs
lines = open(sys.argv[1]).read().splitlines()
gpu = sys.argv[2] == "cuda"
jobs = []  # (kind, sbatch argv, srun argv, env line)
for i, kind, argv in dry_run_jobs(lines):
    srun = next((l.split("ranks: ", 1)[1].split() for l in lines[i + 1:i + 3] if "ranks: " in l), None)
    env = next((l for l in lines[i + 1:i + 3] if l.strip().startswith("env: ")), "")
    jobs.append((kind, argv, srun, env))
kinds = sorted({k for k, *_ in jobs})
assert set(kinds) >= {"analyze", "eval", "label", "pretrain", "train"}, kinds
def has(argv, opt):
    return any(a == opt or a.startswith(opt + "=") for a in argv)
for kind, argv, srun, env in jobs:
    assert srun is not None, f"{kind}: no srun line"
    assert "NCCL_IB_HCA=mlx5" in env and "UCX_NET_DEVICES=mlx5_0:1" in env, (kind, env)
    if kind in ("analyze", "prepare", "convert", "data"):
        assert "--partition=cpu" in argv, (kind, argv)
        assert not has(argv, "--gpus-per-node") and "--exclusive" not in argv, (kind, argv)
        assert "--cpus-per-task=4" in argv and "--mem=16G" in argv and "--ntasks=1" in argv, (kind, argv)
        assert srun[srun.index("-c") + 1] == "4" and not has(srun, "--gpu-bind"), (kind, srun)
        continue
    assert "--partition=gpu" in argv and "--cpus-per-task=16" in argv and "--mem=0" in argv, (kind, argv)
    assert "--exclusive" in argv and "--ntasks-per-node=4" in argv, (kind, argv)
    assert srun[srun.index("-c") + 1] == "16" and "--cpu-bind=cores" in srun, (kind, srun)
    assert ("--gpus-per-node=4" in argv) == gpu and ("--gpu-bind=single:1" in srun) == gpu, (kind, argv, srun)
    nodes = "--nodes=2" if kind in ("pretrain", "train") else "--nodes=1"
    assert nodes in argv, (kind, argv)
print(f"  ok: {len(jobs)} jobs: " + ", ".join(f"{k} x{sum(1 for j in jobs if j[0] == k)}" for k in kinds))
PYEOF
$PY check_requests.py gpu.log cuda || { cat gpu.log; fail "per-kind requests wrong"; }
check "data/analyze: cpu partition, 4 cores, 16G, no GPU or --exclusive; compute: 4 GPUs, srun -c 16 --cpu-bind --gpu-bind; training on 2 nodes"
grep -q "data.sbatch" gpu.log || fail "no data stage in the dry run"

"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster $C2 --dry-run > cpu.log 2>&1 \
  || { cat cpu.log; fail "dry-run of the CPU experiment failed"; }
$PY check_requests.py cpu.log cpu || { cat cpu.log; fail "a CPU experiment's requests are wrong (GPUs asked for?)"; }
check "the same experiment on CPU asks for no GPUs"

echo "launcher = mpirun: the cores per rank and binding srun gets, in Open MPI's words"
sed 's/^launcher = srun/launcher = mpirun/; s/^mpirun_args =.*/mpirun_args = --mca btl ^openib/' $C2 > mpirun-2node.ini
"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster mpirun-2node.ini \
  --set experiment.device=cuda --dry-run > mpirun.log 2>&1 || { cat mpirun.log; fail "dry-run with launcher = mpirun failed"; }
cat > check_mpirun.py <<'PYEOF'
import sys
from dry_run_jobs import dry_run_jobs
lines = open(sys.argv[1]).read().splitlines()
seen = {}
for i, kind, argv in dry_run_jobs(lines):
    ranks = lines[i + 1].split("ranks: ", 1)[1].split()
    assert ranks[0] == "mpirun" and "srun" not in ranks, (kind, ranks)
    single = kind in ("analyze", "data")
    nodes = int(next(a for a in argv if a.startswith("--nodes=")).split("=")[1])
    cores = 4 if single else 16
    expect = ["mpirun", "-n", str(1 if single else nodes * 4), "--mca", "btl", "^openib",
              "--map-by", f"slot:PE={cores}", "--bind-to", "core", "-x", "OMP_NUM_THREADS", "w2s", "..."]
    assert ranks == expect, (kind, ranks, expect)
    assert f"--cpus-per-task={cores}" in argv, (kind, argv)
    seen[kind] = " ".join(ranks[:-2])
assert {"pretrain", "eval", "analyze"} <= set(seen), seen
for k in ("pretrain", "eval", "analyze"):
    print(f"  {k}: {seen[k]}")
PYEOF
$PY check_mpirun.py mpirun.log || { cat mpirun.log; fail "mpirun lines lack the cores per rank or binding"; }
check "mpirun gets --map-by slot:PE=<cpus_per_task> --bind-to core -x OMP_NUM_THREADS, -n = nodes x tasks"

sed 's/^mpirun_args =.*/mpirun_args = --bind-to none/' mpirun-2node.ini > mpirun-site.ini
sed 's/^cpu_bind = .*/cpu_bind = sockets/' mpirun-2node.ini > mpirun-bad.ini
cat > check_bind.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from cluster import Cluster, ClusterError
assert Cluster("mpirun-site.ini").mpirun_options("train") == ["-x", "OMP_NUM_THREADS"], "site placement not kept"
assert Cluster(sys.argv[2]).mpirun_options("train") == [], "srun clusters get mpirun options"
try:
    Cluster("mpirun-bad.ini")
    raise SystemExit("cpu_bind = sockets accepted under mpirun")
except ClusterError as e:
    assert "cpu_bind" in str(e), e
PYEOF
$PY check_bind.py "$SRC/jobs/lib" $C2 || fail "mpirun placement rules"
check "mpirun_args that place ranks themselves win; a cpu_bind with no mpirun equivalent is refused"

# The line slurm/lib.sh runs, for real on this machine (2 cores): 2 ranks x 1 core bound apart,
# and 1 rank x 2 cores bound to both (Open MPI's default would bind it to one core, where its 2
# OpenMP threads would share it).
# run_bound CORES_PER_RANK RANKS: the ranks' "rank R omp N cpus LIST" lines, in order.
run_bound() {
  printf '[cluster]\npartition = x\nlauncher = mpirun\nmpirun_args = --oversubscribe\ncpus_per_task = %s\ncpu_bind = cores\n' "$1" > mpirun-local.ini
  local args
  args=$($PY -c "import sys; sys.path.insert(0, '$SRC/jobs/lib'); from cluster import Cluster; print(' '.join(Cluster('mpirun-local.ini').mpirun_options('train')))")
  env -u OMP_NUM_THREADS W2S_HOME="$SRC" W2S_CLUSTER=mpirun-local.ini W2S_BIN=$PWD/show-rank.sh W2S_MPIRUN_RANK_ARGS="$args" \
    SLURM_NTASKS=$2 SLURM_CPUS_PER_TASK=$1 timeout 60 bash -c 'source "$W2S_HOME/slurm/lib.sh"; w2s_launch' > bound.log 2>&1 \
    || { cat bound.log; fail "mpirun $args did not run"; }
  grep '^rank' bound.log | sort
}
if [ "$(env -u OMP_NUM_THREADS nproc)" -ge 2 ]; then  # nproc would count OMP_NUM_THREADS=1
  printf '#!/bin/sh\necho "rank ${OMPI_COMM_WORLD_RANK} omp ${OMP_NUM_THREADS} cpus $(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status)"\n' > show-rank.sh
  chmod +x show-rank.sh
  two=$(run_bound 1 2)
  [ "$(echo "$two" | grep -c '^rank [01] omp 1 cpus [0-9]*$')" -eq 2 ] && [ "$(echo "$two" | awk '{print $6}' | sort -u | wc -l)" -eq 2 ] \
    || { echo "$two"; fail "2 ranks not each bound to one distinct core with OMP_NUM_THREADS=1"; }
  one=$(run_bound 2 1)
  [[ "$one" =~ ^rank\ 0\ omp\ 2\ cpus\ [0-9]+[-,][0-9]+$ ]] || { echo "$one"; fail "1 rank of 2 cores not bound to 2 cores with OMP_NUM_THREADS=2"; }
  check "slurm/lib.sh's mpirun here: $(echo "$two" | tr '\n' ';') $one"
fi

set +e
"$SRC/jobs/submit-pipeline" --experiment configs/experiments/tiny-test.ini --cluster configs/clusters/local.ini \
  --set experiment.device=cuda --dry-run > refused.log 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "gpus_per_node is 0" refused.log && ! grep -q '\$ sbatch' refused.log \
  || { cat refused.log; fail "cuda on a GPU-less cluster not refused before any submission (rc $rc)"; }
check "cuda on a cluster without GPUs refused: $(tail -1 refused.log)"

printf '[cluster]\npartition = x\n[env]\nNOT-A-NAME = 1\n' > bad-env.ini
set +e; $PY "$SRC/jobs/lib/cluster.py" bad-env.ini env > bad-env.log 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] && grep -q "NOT-A-NAME" bad-env.log || { cat bad-env.log; fail "a bad [env] name was accepted"; }
printf '[cluster]\npartition = x\n[nodes]\ntrain = 0\n' > bad-nodes.ini
set +e; $PY "$SRC/jobs/lib/cluster.py" bad-nodes.ini get nodes.train > bad-nodes.log 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] && grep -q "nodes.train" bad-nodes.log || { cat bad-nodes.log; fail "nodes.train = 0 was accepted"; }
check "bad [env] names and [nodes] counts are errors naming the key"

echo "jobs/status: terminal states, purged jobs, one query per poll"
mkdir -p fakebin runs/st/slurm/state
# sacct with accounting: knows every job, purged or not, and logs each call.
cat > fakebin/sacct <<'EOF'
#!/bin/sh
echo "sacct $*" >> "$FAKE_LOG"
[ -n "$FAKE_NO_ACCOUNTING" ] && { echo "sacct: error: Slurm accounting storage is disabled" >&2; exit 1; }
printf '%s\n' "201|COMPLETED|0:0" "202|FAILED|1:0" "203|CANCELLED by 0|0:15" "204|TIMEOUT|0:0" \
  "205|NODE_FAIL|0:0" "206|OUT_OF_MEMORY|0:125" "207|PREEMPTED|0:0" "208|RUNNING|0:0" \
  "301|COMPLETED|0:0" "302|FAILED|2:0" "303|CANCELLED|0:0"
EOF
# squeue of a controller that has purged every finished job: only 208 is still there.
cat > fakebin/squeue <<'EOF'
#!/bin/sh
echo "squeue $*" >> "$FAKE_LOG"
echo "208|RUNNING|None"
EOF
chmod +x fakebin/*
export FAKE_LOG=$PWD/queries.log
{ printf 'job\tname\tkind\tarray\ttitle\tdeps\tlog\tsubmitted\tcommand\tstages\n'
  for j in 201 202 203 204 205 206 207 208 301 302 303; do
    printf '%s\tw2s-%s\teval\t-\tjob %s\t-\tslurm/%s.out\t2026-01-01T00:00:00\teval\t-\n' $j $j $j $j
  done; } > runs/st/slurm/jobs.tsv
echo "COMPLETED 0 0 2026-01-01T00:01:00" > runs/st/slurm/state/301
echo "FAILED 2 0 2026-01-01T00:01:00" > runs/st/slurm/state/302
echo "RUNNING - 1 2026-01-01T00:01:00" > runs/st/slurm/state/303

set +e; PATH=$PWD/fakebin:$PATH "$SRC/jobs/status" runs/st > st.log 2>&1; rc=$?; set -e
[ "$rc" -eq 1 ] || { cat st.log; fail "status exited $rc with failed jobs"; }
[ "$(grep -c '^sacct' queries.log)" -eq 1 ] && ! grep -q '^squeue' queries.log \
  || { cat queries.log; fail "not one sacct query for all jobs"; }
grep -q -- "-j 201,202,203,204,205,206,207,208,301,302,303" queries.log || { cat queries.log; fail "sacct not asked for every job at once"; }
for s in "202 (failed)" "203 (cancelled)" "204 (timeout)" "205 (node_fail)" "206 (out_of_memory)" "207 (preempted)" \
         "302 (failed)" "303 (cancelled)"; do
  grep "^failed:" st.log | grep -qF "$s" || { cat st.log; fail "'$s' not among the failures"; }
done
grep "^failed:" st.log | grep -qE " (201|208|301) " && { cat st.log; fail "a completed or running job counted as failed"; }
check "sacct, one query: $(grep '^failed:' st.log)"

: > queries.log
set +e; FAKE_NO_ACCOUNTING=1 PATH=$PWD/fakebin:$PATH "$SRC/jobs/status" runs/st --wait --interval 0.2 --timeout 1 > st2.log 2>&1
rc=$?; set -e
[ "$rc" -eq 1 ] || { cat st2.log; fail "status --wait exited $rc"; }
polls=$(grep -c '^squeue' queries.log)
[ "$(grep -c '^sacct' queries.log)" -eq 1 ] && [ "$polls" -ge 2 ] || { cat queries.log; fail "no accounting: sacct retried or squeue not used"; }
grep "^failed:" st2.log | grep -qF "201 (purged)" && grep "^failed:" st2.log | grep -qF "302 (failed)" \
  && ! grep "^failed:" st2.log | grep -qF "301 " && grep -q "303 PURGED (exit -, last recorded RUNNING)" st2.log \
  || { cat st2.log; fail "without accounting, purged jobs misjudged"; }
check "without accounting: sacct tried once, then one squeue per poll ($polls polls); purged 201 with no record failed, 301 recorded complete"
echo PASS
