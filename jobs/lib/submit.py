"""sbatch submission for the jobs/ drivers, and the record of what was submitted.

Every job a driver submits gets a line in RUN_ROOT/slurm/jobs.tsv (job id, name, kind, what it
runs, its dependencies, its log file, the ids of the plan stages it runs: one per array element),
and those stages' plan records (`w2s pipeline --plan-json`: kind, command, outputs, ...) are kept
in RUN_ROOT/slurm/stages.json, by id. `jobs/status` joins both with squeue/scontrol and the run
tree. Logs go to RUN_ROOT/slurm/<jobid>-<name>.out (appended to across requeues).
The job scripts find the tree through W2S_HOME, the binary through W2S_BIN and the cluster file
through W2S_CLUSTER, which every job inherits (--export=ALL plus those three).
"""
import json
import os
import shlex
import subprocess
import sys
import time

HOME = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# "stages" is last, so that rows appended to a jobs.tsv written before it existed still read.
RECORD_FIELDS = ["job", "name", "kind", "array", "title", "deps", "log", "submitted", "command", "stages"]


class SubmitError(Exception):
    pass


def find_w2s(given=None):
    """The w2s binary: --w2s, $W2S_BIN, an installation's bin/ beside share/w2s, build/, PATH."""
    candidates = [given, os.environ.get("W2S_BIN"), os.path.join(HOME, "..", "..", "bin", "w2s"),
                  os.path.join(HOME, "build", "w2s")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        c = os.path.join(d, "w2s")
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise SubmitError("cannot find the w2s binary: pass --w2s PATH or set W2S_BIN")


def log_dir(root):
    return os.path.join(root, "slurm")


class Submitter:
    def __init__(self, cluster, w2s_bin, root, dry_run=False):
        self.cluster = cluster
        self.w2s_bin = w2s_bin
        self.root = os.path.abspath(root)
        self.dry_run = dry_run
        self.count = 0
        self.env = dict(os.environ, W2S_HOME=HOME, W2S_BIN=w2s_bin, W2S_CLUSTER=cluster.path)

    def submit(self, template, args, name, kind, title, nodes=None, deps=(), dep_type="afterok", array=None,
               tasks_per_node=None, command=None, stages=(), gpu=None):
        """Submits slurm/<template> with `args`; returns the job id (a placeholder in dry-run).
        `command` (default: args) is what jobs.tsv records as the job's w2s command line; `stages`
        the plan records (dicts with at least id, kind and outputs) of what it runs, one per array
        element, kept for jobs/status. `gpu`: whether it runs on GPUs (Cluster.sbatch_options);
        `nodes` defaults to the cluster file's [nodes] for the kind."""
        logs = log_dir(self.root)
        pattern = "%A_%a" if array else "%j"
        log = os.path.join(logs, f"{pattern}-{name}.out")
        cmd = ["sbatch", "--parsable", f"--job-name={name}", f"--output={log}", f"--chdir={os.getcwd()}",
               "--export=ALL"]
        cmd += self.cluster.sbatch_options(kind, nodes, tasks_per_node, gpu)
        srun = self.cluster.srun_options(kind, gpu)
        mpirun = self.cluster.mpirun_options(kind)
        # The job's srun or mpirun takes these (slurm/lib.sh); each job records how it ended in STATE_DIR.
        env = dict(self.env, W2S_SRUN_ARGS=" ".join(srun), W2S_MPIRUN_RANK_ARGS=" ".join(mpirun),
                   W2S_STATE_DIR=state_dir(self.root))
        deps = [str(d) for d in deps if d is not None]
        if deps:
            # A failed prerequisite cancels its dependents instead of leaving them pending forever.
            cmd += [f"--dependency={dep_type}:" + ":".join(deps), "--kill-on-invalid-dep=yes"]
        if array:
            cmd.append(f"--array={array}")
        cmd += [os.path.join(HOME, "slurm", template)] + list(args)
        self.count += 1
        if self.dry_run:
            print("    $ " + " ".join(shlex.quote(c) for c in cmd))
            if self.cluster.get("cluster.launcher") == "srun":
                print("      ranks: " + " ".join(["srun", f"--mpi={self.cluster.get('cluster.mpi')}", "--kill-on-bad-exit=1"]
                                                 + srun + ["w2s", "..."]))
            else:
                ranks = self.cluster.ranks(kind, nodes, tasks_per_node)
                print("      ranks: " + " ".join(["mpirun", "-n", str(ranks)] + shlex.split(self.cluster.get("cluster.mpirun_args"))
                                                 + mpirun + ["w2s", "..."]))
            if self.cluster.env:
                print("      env: " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.cluster.env.items()))
            return f"<job{self.count}>"
        os.makedirs(logs, exist_ok=True)
        os.makedirs(state_dir(self.root), exist_ok=True)
        out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
        if out.returncode != 0:
            raise SubmitError(f"sbatch refused job '{name}' ({title}): {out.stderr.strip()}")
        job = out.stdout.strip().split(";")[0]
        self._remember(stages)
        self._record(job, name, kind, array or "-", title, deps, log.replace(pattern, job if not array else job + "_%a"),
                     args if command is None else command, [s["id"] for s in stages])
        return job

    def _remember(self, stages):
        """Merges plan records into RUN_ROOT/slurm/stages.json (a later submission of an id wins),
        each with the folder its relative paths start from (the jobs run there: --chdir)."""
        if not stages:
            return
        known = read_stages(self.root)
        for s in stages:
            known[s["id"]] = dict(s, workdir=os.getcwd())
        path = os.path.join(log_dir(self.root), "stages.json")
        with open(path + ".tmp", "w") as f:
            json.dump(known, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)

    def _record(self, job, name, kind, array, title, deps, log, args, stage_ids):
        path = os.path.join(log_dir(self.root), "jobs.tsv")
        new = not os.path.exists(path)
        row = [job, name, kind, array, title, ",".join(deps) or "-", log, time.strftime("%Y-%m-%dT%H:%M:%S"),
               " ".join(shlex.quote(a) for a in args), ",".join(stage_ids) or "-"]
        with open(path, "a") as f:
            if new:
                f.write("\t".join(RECORD_FIELDS) + "\n")
            f.write("\t".join(x.replace("\t", " ") for x in row) + "\n")


def state_dir(root):
    """Where each job records how it ended (slurm/lib.sh): RUN_ROOT/slurm/state/<job key>, one line
    "STATE exit-code restarts time", so jobs/status knows a job Slurm has since purged."""
    return os.path.join(log_dir(root), "state")


def read_job_states(root):
    """{job key (id, or id_index for array elements): (state, exit code, restarts)} as recorded."""
    states = {}
    try:
        names = os.listdir(state_dir(root))
    except OSError:
        return states
    for name in names:
        try:
            with open(os.path.join(state_dir(root), name)) as f:
                fields = f.read().split()
        except OSError:
            continue
        if len(fields) >= 3 and not name.endswith(".tmp"):
            states[name] = (fields[0], fields[1], fields[2])
    return states


def read_records(root):
    """The rows of RUN_ROOT/slurm/jobs.tsv as dicts (empty when nothing was submitted)."""
    path = os.path.join(log_dir(root), "jobs.tsv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def read_stages(root):
    """{stage id: plan record} of the stages submitted into RUN_ROOT (empty when none)."""
    try:
        with open(os.path.join(log_dir(root), "stages.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def die(message):
    sys.exit(f"{os.path.basename(sys.argv[0])}: {message}")
