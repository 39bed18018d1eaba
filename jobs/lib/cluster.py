"""A cluster file (configs/clusters/*.ini): the partition, account, shape of a node, launcher,
modules and time limits of one site, and the sbatch options they turn into.

Used by the jobs/ drivers at submission time and by the slurm/ templates at run time:
    jobs/lib/cluster.py FILE get section.key      print one value ("" when empty or absent)
    jobs/lib/cluster.py FILE shell                W2S_CLUSTER_<KEY>='value' lines for bash eval
    jobs/lib/cluster.py FILE env                  export NAME='value' lines of its [env] section
Keys are documented in configs/clusters/example-gpu.ini; an unknown key is an error naming the
file and the key, so a typo never silently falls back to a default.
"""
import configparser
import os
import re
import shlex
import sys

KEYS = {
    "cluster": {
        "name": "", "partition": "", "account": "", "qos": "", "launcher": "srun", "mpi": "pmix",
        "mpirun_args": "", "tasks_per_node": "1", "cpus_per_task": "1", "gpus_per_node": "0", "modules": "",
        "setup": "", "signal_lead": "120", "max_requeues": "20", "save_every": "0",
        "sbatch_extra": "", "mem": "", "exclusive": "no", "cpu_bind": "", "gpu_bind": "",
        "cpu_partition": "", "cpu_cpus_per_task": "1", "cpu_mem": "", "cpu_sbatch_extra": "", "peak_tflops": "",
    },
    "time": {"data": "", "pretrain": "", "train": "", "label": "", "eval": "", "analyze": "", "pipeline": ""},
    "nodes": {"pretrain": "1", "train": "1", "label": "1", "eval": "1"},
}
# [env]: NAME = value lines exported in every job (NCCL/UCX/InfiniBand settings); any names.
ENV_SECTION = "env"
# srun --cpu-bind values and Open MPI's --bind-to for them (launcher = mpirun); "" is srun's
# default, which binds each rank to its own cores like "cores".
MPIRUN_BIND = {"": "core", "cores": "core", "none": "none"}
# Stage kinds that run one rank (data preparation writes files from rank 0 only; analysis is serial).
SINGLE_RANK_KINDS = {"data", "analyze"}


class ClusterError(Exception):
    pass


class Cluster:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise ClusterError(f"{path}: cluster file not found")
        parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
        parser.optionxform = str  # [env] names keep their case (NCCL_IB_HCA)
        try:
            parser.read(path)
        except configparser.Error as e:
            raise ClusterError(f"{path}: {e}")
        self.path = os.path.abspath(path)
        self.values = {s: dict(keys) for s, keys in KEYS.items()}
        self.env = {}
        for section in parser.sections():
            if section == ENV_SECTION:
                self._read_env(path, parser.items(section))
                continue
            if section not in KEYS:
                raise ClusterError(f"{path}: unknown section [{section}]")
            for key, value in parser.items(section):
                if key not in KEYS[section]:
                    raise ClusterError(f"{path}: unknown key '{section}.{key}'")
                self.values[section][key] = value.strip()
        self._validate()

    def _read_env(self, path, items):
        for name, value in items:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ClusterError(f"{path}: [env] '{name}' is not an environment variable name")
            self.env[name] = value.strip()

    def _validate(self):
        if self.get("cluster.launcher") not in ("srun", "mpirun"):
            raise ClusterError(f"{self.path}: cluster.launcher must be srun or mpirun")
        for key in ("tasks_per_node", "cpus_per_task", "gpus_per_node", "signal_lead", "max_requeues", "save_every"):
            if not re.fullmatch(r"\d+", self.get("cluster." + key)):
                raise ClusterError(f"{self.path}: cluster.{key} must be a whole number")
        if self.int("cluster.tasks_per_node") < 1:
            raise ClusterError(f"{self.path}: cluster.tasks_per_node must be at least 1")
        if not re.fullmatch(r"[1-9]\d*", self.get("cluster.cpu_cpus_per_task")):
            raise ClusterError(f"{self.path}: cluster.cpu_cpus_per_task must be a whole number of at least 1")
        for kind in KEYS["nodes"]:
            if not re.fullmatch(r"[1-9]\d*", self.get("nodes." + kind)):
                raise ClusterError(f"{self.path}: nodes.{kind} must be a whole number of at least 1")
        if self.get("cluster.exclusive") not in ("yes", "no"):
            raise ClusterError(f"{self.path}: cluster.exclusive must be yes or no")
        if self.get("cluster.launcher") == "mpirun" and self.get("cluster.cpu_bind") not in MPIRUN_BIND:
            raise ClusterError(f"{self.path}: cluster.cpu_bind = {self.get('cluster.cpu_bind')} has no mpirun equivalent "
                               f"here: use {' or '.join(b for b in MPIRUN_BIND if b)} (or leave it empty), or put "
                               "your own --map-by/--bind-to in mpirun_args")
        if self.get("cluster.peak_tflops") and not re.fullmatch(r"\d+(\.\d*)?|\.\d+", self.get("cluster.peak_tflops")):
            raise ClusterError(f"{self.path}: cluster.peak_tflops must be a number (TFLOP/s per rank)")
        for key in ("mem", "cpu_mem"):
            if self.get("cluster." + key) and not re.fullmatch(r"\d+[KMGT]?", self.get("cluster." + key)):
                raise ClusterError(f"{self.path}: cluster.{key} must be a size as sbatch --mem takes it (e.g. 64G, 0)")

    def get(self, dotted):
        section, key = dotted.split(".", 1)
        if section not in self.values or key not in self.values[section]:
            raise ClusterError(f"{self.path}: no key '{dotted}'")
        return self.values[section][key]

    def int(self, dotted):
        return int(self.get(dotted))

    @property
    def name(self):
        return self.get("cluster.name") or os.path.splitext(os.path.basename(self.path))[0]

    def nodes(self, kind):
        """Nodes of one stage kind: [nodes] for the compute kinds, one for data and analysis."""
        return 1 if kind not in KEYS["nodes"] else self.int("nodes." + kind)

    def ranks(self, kind, nodes=None, tasks_per_node=None):
        if kind in SINGLE_RANK_KINDS:
            return 1
        return (nodes or self.nodes(kind)) * (tasks_per_node or self.int("cluster.tasks_per_node"))

    def _gpus(self, kind, gpu):
        """GPUs per node for a stage: gpu True (its command runs --device cuda) asks for the node's
        GPUs, False for none; None (a stage without a plan, e.g. a scaling point) asks for them on
        compute kinds whenever the cluster has some."""
        if kind in SINGLE_RANK_KINDS:
            return 0
        if gpu and self.int("cluster.gpus_per_node") == 0:
            raise ClusterError(f"{self.path}: a {kind} stage runs on cuda but cluster.gpus_per_node is 0")
        return self.int("cluster.gpus_per_node") if gpu or gpu is None else 0

    def sbatch_options(self, kind, nodes=None, tasks_per_node=None, gpu=None):
        """sbatch options for one stage kind (see KEYS['time']) on `nodes` nodes (default: [nodes]),
        with the cluster's ranks per node unless `tasks_per_node` says otherwise (scaling studies).
        Data and analysis (one rank, no accelerator) go to the CPU partition with a small request;
        the compute kinds get whole GPU nodes when `gpu` (see _gpus)."""
        cpu_stage = kind in SINGLE_RANK_KINDS
        partition = (self.get("cluster.cpu_partition") if cpu_stage else "") or self.get("cluster.partition")
        opts = [f"--partition={partition}"] if partition else []
        for key, flag in (("account", "--account"), ("qos", "--qos")):
            if self.get("cluster." + key):
                opts.append(f"{flag}={self.get('cluster.' + key)}")
        if self.get("time." + kind):
            opts.append(f"--time={self.get('time.' + kind)}")
        if cpu_stage:
            opts += ["--nodes=1", "--ntasks=1", f"--cpus-per-task={self.int('cluster.cpu_cpus_per_task')}"]
            if self.get("cluster.cpu_mem"):
                opts.append(f"--mem={self.get('cluster.cpu_mem')}")
        else:
            opts += [f"--nodes={nodes or self.nodes(kind)}",
                     f"--ntasks-per-node={tasks_per_node or self.int('cluster.tasks_per_node')}"]
            if self._gpus(kind, gpu) > 0:
                opts.append(f"--gpus-per-node={self._gpus(kind, gpu)}")
            opts.append(f"--cpus-per-task={self.int('cluster.cpus_per_task')}")
            if self.get("cluster.mem"):
                opts.append(f"--mem={self.get('cluster.mem')}")
            if self.get("cluster.exclusive") == "yes":
                opts.append("--exclusive")
        # The warning signal goes to the batch shell (B:), which forwards it to w2s (slurm/lib.sh).
        opts += [f"--signal=B:USR1@{self.int('cluster.signal_lead')}", "--requeue", "--open-mode=append"]
        opts += shlex.split(self.get("cluster.cpu_sbatch_extra" if cpu_stage else "cluster.sbatch_extra"))
        return opts

    def srun_options(self, kind, gpu=None):
        """Options of the srun that starts a stage's ranks (slurm/lib.sh adds them; empty with
        launcher = mpirun, which gets mpirun_options). -c passes --cpus-per-task on: since Slurm 22.05 srun no longer
        inherits it from the allocation, and each rank's OMP_NUM_THREADS threads would share one
        core."""
        if self.get("cluster.launcher") != "srun":
            return []
        if kind in SINGLE_RANK_KINDS:
            return ["-c", str(self.int("cluster.cpu_cpus_per_task"))]
        opts = ["-c", str(self.int("cluster.cpus_per_task"))]
        if self.get("cluster.cpu_bind"):
            opts.append(f"--cpu-bind={self.get('cluster.cpu_bind')}")
        if self._gpus(kind, gpu) > 0 and self.get("cluster.gpu_bind"):
            opts.append(f"--gpu-bind={self.get('cluster.gpu_bind')}")
        return opts

    def mpirun_options(self, kind):
        """Options of the mpirun that starts a stage's ranks with launcher = mpirun (slurm/lib.sh
        adds them after mpirun_args; empty with srun): what srun's -c and --cpu-bind give, in Open
        MPI's words. --map-by slot:PE=<cores per rank> --bind-to core gives each rank its own
        cpus_per_task cores (without it Open MPI binds every rank to one core, and its
        OMP_NUM_THREADS threads share it); -x forwards OMP_NUM_THREADS (the job's cores per rank,
        slurm/lib.sh) to every rank on every node. mpirun_args that place ranks themselves
        (--map-by, --bind-to) win: then only OMP_NUM_THREADS is added. GPUs need no binding:
        w2s picks device local rank mod visible GPUs."""
        if self.get("cluster.launcher") != "mpirun":
            return []
        opts = ["-x", "OMP_NUM_THREADS"]
        site = shlex.split(self.get("cluster.mpirun_args"))
        if any(a.split("=")[0] in ("--map-by", "-map-by", "--bind-to", "-bind-to") for a in site):
            return opts
        cores = self.int("cluster.cpu_cpus_per_task" if kind in SINGLE_RANK_KINDS else "cluster.cpus_per_task")
        bind = MPIRUN_BIND[self.get("cluster.cpu_bind")]
        if bind == "none" or cores < 1:
            return ["--bind-to", "none"] + opts
        return ["--map-by", f"slot:PE={cores}", "--bind-to", bind] + opts


def main(argv):
    if not ((len(argv) == 3 and argv[1] == "get") or (len(argv) == 2 and argv[1] in ("shell", "env"))):
        sys.exit("usage: cluster.py FILE get section.key | cluster.py FILE shell | cluster.py FILE env")
    try:
        c = Cluster(argv[0])
        if argv[1] == "get":
            print(c.get(argv[2]))
        elif argv[1] == "env":
            for name, value in c.env.items():
                print(f"export {name}={shlex.quote(value)}")
        else:
            for key, value in c.values["cluster"].items():
                print(f"W2S_CLUSTER_{key.upper()}={shlex.quote(value)}")
    except ClusterError as e:
        sys.exit(f"cluster.py: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
