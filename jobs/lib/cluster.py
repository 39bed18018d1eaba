"""A cluster file (configs/clusters/*.ini): the partition, account, shape of a node, launcher,
modules and time limits of one site, and the sbatch options they turn into.

Used by the jobs/ drivers at submission time and by the slurm/ templates at run time:
    jobs/lib/cluster.py FILE get section.key      print one value ("" when empty or absent)
    jobs/lib/cluster.py FILE shell                W2S_CLUSTER_<KEY>='value' lines for bash eval
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
        "sbatch_extra": "",
    },
    "time": {"data": "", "pretrain": "", "train": "", "label": "", "eval": "", "analyze": "", "pipeline": ""},
}
# Stage kinds that run one rank (data preparation writes files from rank 0 only; analysis is serial).
SINGLE_RANK_KINDS = {"data", "analyze"}


class ClusterError(Exception):
    pass


class Cluster:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise ClusterError(f"{path}: cluster file not found")
        parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
        try:
            parser.read(path)
        except configparser.Error as e:
            raise ClusterError(f"{path}: {e}")
        self.path = os.path.abspath(path)
        self.values = {s: dict(keys) for s, keys in KEYS.items()}
        for section in parser.sections():
            if section not in KEYS:
                raise ClusterError(f"{path}: unknown section [{section}]")
            for key, value in parser.items(section):
                if key not in KEYS[section]:
                    raise ClusterError(f"{path}: unknown key '{section}.{key}'")
                self.values[section][key] = value.strip()
        self._validate()

    def _validate(self):
        if self.get("cluster.launcher") not in ("srun", "mpirun"):
            raise ClusterError(f"{self.path}: cluster.launcher must be srun or mpirun")
        for key in ("tasks_per_node", "cpus_per_task", "gpus_per_node", "signal_lead", "max_requeues", "save_every"):
            if not re.fullmatch(r"\d+", self.get("cluster." + key)):
                raise ClusterError(f"{self.path}: cluster.{key} must be a whole number")
        if self.int("cluster.tasks_per_node") < 1:
            raise ClusterError(f"{self.path}: cluster.tasks_per_node must be at least 1")

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

    def ranks(self, kind, nodes=1, tasks_per_node=None):
        return 1 if kind in SINGLE_RANK_KINDS else nodes * (tasks_per_node or self.int("cluster.tasks_per_node"))

    def sbatch_options(self, kind, nodes=1, tasks_per_node=None):
        """sbatch options for one stage kind (see KEYS['time']) on `nodes` nodes, with the cluster's
        ranks per node unless `tasks_per_node` says otherwise (scaling studies)."""
        opts = []
        for key, flag in (("partition", "--partition"), ("account", "--account"), ("qos", "--qos")):
            if self.get("cluster." + key):
                opts.append(f"{flag}={self.get('cluster.' + key)}")
        if self.get("time." + kind):
            opts.append(f"--time={self.get('time.' + kind)}")
        if kind in SINGLE_RANK_KINDS:
            opts += ["--nodes=1", "--ntasks=1"]
        else:
            opts += [f"--nodes={nodes}", f"--ntasks-per-node={tasks_per_node or self.int('cluster.tasks_per_node')}"]
            if self.int("cluster.gpus_per_node") > 0:
                opts.append(f"--gpus-per-node={self.int('cluster.gpus_per_node')}")
        opts.append(f"--cpus-per-task={self.int('cluster.cpus_per_task')}")
        # The warning signal goes to the batch shell (B:), which forwards it to w2s (slurm/lib.sh).
        opts += [f"--signal=B:USR1@{self.int('cluster.signal_lead')}", "--requeue", "--open-mode=append"]
        opts += shlex.split(self.get("cluster.sbatch_extra"))
        return opts


def main(argv):
    if not ((len(argv) == 3 and argv[1] == "get") or (len(argv) == 2 and argv[1] == "shell")):
        sys.exit("usage: cluster.py FILE get section.key | cluster.py FILE shell")
    try:
        c = Cluster(argv[0])
        if argv[1] == "get":
            print(c.get(argv[2]))
        else:
            for key, value in c.values["cluster"].items():
                print(f"W2S_CLUSTER_{key.upper()}={shlex.quote(value)}")
    except ClusterError as e:
        sys.exit(f"cluster.py: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
