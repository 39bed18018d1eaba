"""An experiment's stages as a dependency graph, taken from `w2s pipeline --dry-run`.

The pipeline prints every stage it would run as a title and the exact w2s command line:
    [7/13] ground truth ta, spam seed 0
        $ w2s train --data R/data/spam/split-0/train_a.h5 --run-dir R/spam/seed-0/gt-ta --init ...
so jobs/ never re-implements the experiment's planning: it submits those command lines. Each
option names either something the stage reads (INPUTS) or something it writes (OUTPUTS); a stage
depends on every earlier stage that writes a path it reads, or a folder containing it (a student
reading R/.../labels-ta depends on the label stage writing R/.../labels-ta; a label stage reading
R/.../gt-ta/ckpt.h5 depends on the training stage writing R/.../gt-ta). The pipeline lists stages
in an order that runs correctly one by one, so only earlier stages are candidates.
"""
import os
import re
import subprocess

INPUTS = {"--data", "--init", "--labels", "--model", "--train", "--test", "--lm-jsonl", "--exclude"}
OUTPUTS = {"--run-dir", "--out-dir", "--out"}
# w2s subcommand -> stage kind (the sbatch template and the [time] key of the cluster file).
KIND_OF = {"convert": "data", "prepare": "data", "pretrain": "pretrain", "train": "train", "label": "label",
           "eval": "eval"}


class StageError(Exception):
    pass


class Stage:
    def __init__(self, index, title, argv):
        self.index = index          # 0-based position in the pipeline's plan
        self.title = title          # "student ta -> tb (xent), spam seed 0"
        self.argv = argv            # w2s arguments, subcommand first
        self.command = argv[0]
        if self.command not in KIND_OF:
            raise StageError(f"stage '{title}': unknown w2s subcommand '{self.command}'")
        self.kind = KIND_OF[self.command]
        self.inputs = option_values(argv, INPUTS)
        self.outputs = option_values(argv, OUTPUTS)
        self.deps = []              # Stage objects this one waits for
        self.job = None             # Slurm job id once submitted (or "done" when skipped)

    def option(self, name):
        vals = option_values(self.argv, {name})
        return vals[0] if vals else None

    def is_student(self):
        return self.title.startswith("student ")

    def reads_from(self, other):
        return any(inside(p, o) for p in self.inputs for o in other.outputs)


def option_values(argv, names):
    return [os.path.normpath(argv[i + 1]) for i in range(len(argv) - 1) if argv[i] in names]


def inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def dry_run(w2s_bin, experiment, sets=()):
    """(run root, [Stage]) of `w2s pipeline --config EXPERIMENT --dry-run [--set ...]`."""
    cmd = [w2s_bin, "pipeline", "--config", experiment, "--dry-run"]
    for s in sets:
        cmd += ["--set", s]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if out.returncode != 0:
        raise StageError(f"`{' '.join(cmd)}` failed ({out.returncode}):\n{out.stdout.strip()}")
    return parse_dry_run(out.stdout)


def parse_dry_run(text):
    root, stages, title = None, [], None
    for line in text.splitlines():
        m = re.match(r"w2s pipeline .*-> (\S+) \(\d+ stages\)$", line)
        if m:
            root = m.group(1)
            continue
        m = re.match(r"\[(\d+)/(\d+)\] (.+)$", line)
        if m:
            title = m.group(3)
            continue
        m = re.match(r"\s+\$ w2s (.+)$", line)
        if m:
            if title is None:
                raise StageError(f"dry-run output: a command line without a title: {line.strip()}")
            # The pipeline prints arguments separated by single spaces, unquoted (paths with
            # spaces are not supported anywhere in the run tree).
            stages.append(Stage(len(stages), title, m.group(1).split()))
            title = None
    if root is None or not stages:
        raise StageError("dry-run output has no stages (is this `w2s pipeline --dry-run` output?)")
    for s in stages:
        s.deps = [o for o in stages[: s.index] if s.reads_from(o)]
    return root, stages
