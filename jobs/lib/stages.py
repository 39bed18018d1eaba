"""An experiment's stages as a dependency graph: the plan `w2s pipeline --plan-json` writes.

The pipeline plans every stage itself and writes it as data (format: configs/experiments/
README.md, "The plan as JSON"): a stable id ("spam/seed-0/gt-ta"), a title, a kind (data,
pretrain, train, label, eval, analyze: the sbatch template and the [time] key of the cluster
file), a resource class, the exact w2s command line, the paths it reads and writes, and the ids
of the stages writing what it reads. So jobs/ neither re-implements the experiment's planning nor
reads w2s output: it submits those command lines, each after the jobs of its dependencies. The
plan lists stages in an order that runs correctly one by one (dependencies come first), the
analysis last.
"""
import json
import os
import subprocess
import tempfile

KINDS = ("data", "pretrain", "train", "label", "eval", "analyze")


class StageError(Exception):
    pass


class Stage:
    def __init__(self, index, entry):
        try:
            self.index = index                      # 0-based position in the plan
            self.id = entry["id"]                   # "spam/seed-0/w2s-ta-to-tb-xent"
            self.title = entry["title"]             # "student ta -> tb (xent), spam seed 0"
            self.kind = entry["kind"]               # one of KINDS
            self.resources = entry["resources"]     # "cpu" or "compute"
            self.argv = list(entry["command"])      # w2s arguments, subcommand first
            self.inputs = list(entry["inputs"])     # paths it reads
            self.outputs = list(entry["outputs"])   # paths it writes
            self.dep_ids = list(entry["dependencies"])
        except (KeyError, TypeError) as e:
            raise StageError(f"plan: stage {index + 1} lacks {e}")
        if self.kind not in KINDS:
            raise StageError(f"plan: stage '{self.id}' has an unknown kind '{self.kind}'")
        if not self.argv:
            raise StageError(f"plan: stage '{self.id}' has no command")
        self.subcommand = self.argv[0]
        self.entry = entry          # the plan's own record (jobs/status reads it back)
        self.deps = []              # Stage objects this one waits for
        self.job = None             # Slurm job id once submitted (None when skipped)


def read_plan(w2s_bin, experiment, sets=()):
    """(run root, [Stage]) of `w2s pipeline --config EXPERIMENT --plan-json FILE [--set ...]`."""
    with tempfile.TemporaryDirectory(prefix="w2s-plan-") as tmp:
        path = os.path.join(tmp, "plan.json")
        cmd = [w2s_bin, "pipeline", "--config", experiment, "--plan-json", path]
        for s in sets:
            cmd += ["--set", s]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if out.returncode != 0:
            raise StageError(f"`{' '.join(cmd)}` failed ({out.returncode}):\n{out.stdout.strip()}")
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise StageError(f"`{' '.join(cmd)}` wrote no readable plan: {e}")
    return parse_plan(doc)


def parse_plan(doc):
    """(run root, [Stage]) of a plan document, each stage's deps resolved to earlier Stages."""
    if not isinstance(doc, dict) or "root" not in doc or not doc.get("stages"):
        raise StageError("plan: no run root or no stages (is this `w2s pipeline --plan-json` output?)")
    stages, by_id = [], {}
    for i, entry in enumerate(doc["stages"]):
        s = Stage(i, entry)
        if s.id in by_id:
            raise StageError(f"plan: two stages have the id '{s.id}'")
        for d in s.dep_ids:
            if d not in by_id:
                raise StageError(f"plan: stage '{s.id}' depends on '{d}', which is not an earlier stage")
            s.deps.append(by_id[d])
        by_id[s.id] = s
        stages.append(s)
    return doc["root"], stages
