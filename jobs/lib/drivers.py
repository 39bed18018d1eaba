"""What every jobs/ driver shares: its common options, the experiment's plan (the stages of
`w2s pipeline --plan-json`, each with its kind and dependencies), and the ways a plan is
submitted: one job per stage chained with --dependency=afterok, a job array of stages that do not
depend on each other, and the plan's final `w2s analyze` stage. The drivers (submit-pipeline,
sweep, bootstrap) only choose overrides and which stages go where; scaling-study uses the
submitter alone.
"""
import argparse
import os
import shlex
import sys

import runtree
from cluster import Cluster, ClusterError
from stages import StageError, read_plan
from submit import SubmitError, Submitter, find_w2s, log_dir

# sbatch template of each stage kind (slurm/*.sbatch).
TEMPLATE = {"data": "data.sbatch", "pretrain": "train.sbatch", "train": "train.sbatch", "label": "label.sbatch",
            "eval": "eval.sbatch", "analyze": "analyze.sbatch"}
# Templates that name their w2s subcommand themselves (the others take it as their first argument).
NAMES_SUBCOMMAND = {"label", "eval", "analyze"}


def parser(doc):
    """An argument parser with the options every experiment driver takes."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiment", required=True, metavar="X.ini", help="experiment file (configs/experiments/)")
    ap.add_argument("--cluster", required=True, metavar="C.ini", help="cluster file (configs/clusters/)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override an experiment key (repeatable), as in `w2s pipeline --set`")
    ap.add_argument("--w2s", metavar="PATH", help="the w2s binary (default: $W2S_BIN, the installation, build/, PATH)")
    ap.add_argument("--redo", action="store_true",
                    help="submit every stage, also those whose outputs are already complete (default: skip them)")
    ap.add_argument("--dry-run", action="store_true", help="print the sbatch command lines; submit nothing")
    return ap


def main_guard(fn):
    """Runs a driver's main; expected failures become one line naming the problem, exit 1 or 2."""
    try:
        fn()
    except (ClusterError, StageError) as e:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {e}")
    except SubmitError as e:
        print(f"{os.path.basename(sys.argv[0])}: {e}", file=sys.stderr)
        sys.exit(2)


def runs_on_gpu(argv):
    """Whether a stage's w2s command runs its model on a GPU (the plan adds --device cuda to every
    model stage of an experiment with experiment.device = cuda)."""
    return any(a == "--device" and b == "cuda" for a, b in zip(argv, argv[1:])) or "--device=cuda" in argv


def csv_list(text):
    return [x for x in text.replace(",", " ").split() if x]


class Plan:
    """An experiment planned into stages, and a submitter for one cluster."""

    def __init__(self, args, sets):
        self.w2s = find_w2s(args.w2s)
        self.cluster = Cluster(args.cluster)
        self.sets = list(sets)
        self.root, stages = read_plan(self.w2s, args.experiment, self.sets)
        # The analysis is the plan's last stage; the drivers submit it after everything else.
        analyses = [s for s in stages if s.kind == "analyze"]
        if len(analyses) != 1 or stages[-1] is not analyses[0]:
            raise StageError("plan: expected one analyze stage, last")
        self.analyze = analyses[0]
        self.stages = stages[:-1]
        for s in self.stages:  # a request the cluster cannot meet fails before anything is submitted
            self.cluster.sbatch_options(s.kind, gpu=runs_on_gpu(s.argv))
        self.sub = Submitter(self.cluster, self.w2s, self.root, args.dry_run)
        self.redo = args.redo
        self.submitted = []  # job ids in submission order

    def header(self, what):
        print(f"{what}: {len(self.stages)} stages -> {self.root} on cluster '{self.cluster.name}' "
              f"(logs and jobs.tsv in {log_dir(self.root)})")

    def stage_argv(self, stage):
        # Training must resume from its checkpoint after a requeue; the pipeline already says so,
        # a hand-written stage might not. Periodic checkpoints: the experiment's
        # pretrain/finetune.save_every when it sets one (the plan then carries --save-every), else
        # the cluster file's cluster.save_every (0: only at the end and on the preemption signal).
        argv = list(stage.argv)
        if stage.kind in ("pretrain", "train"):
            if "--resume" not in argv:
                argv.append("--resume")
            every = self.cluster.int("cluster.save_every")
            if every > 0 and "--save-every" not in argv:
                argv += ["--save-every", str(every)]
        return argv

    def skip(self, stage):
        if self.redo or not runtree.stage_done(stage):
            return False
        stage.job = None
        print(f"done\t{stage.subcommand}\t{stage.title}\t(outputs complete; not submitted)")
        return True

    def deps_of(self, stages):
        """Job ids of every submitted stage that any of `stages` waits for (no duplicates)."""
        ids = []
        for s in stages:
            for d in s.deps:
                if d.job is not None and d.job not in ids:
                    ids.append(d.job)
        return ids

    def submit_stage(self, stage):
        """One job for one stage, after every job writing something it reads."""
        if self.skip(stage):
            return None
        deps = self.deps_of([stage])
        argv = self.stage_argv(stage)
        args = argv[1:] if stage.kind in NAMES_SUBCOMMAND else argv
        stage.job = self.sub.submit(TEMPLATE[stage.kind], args, f"w2s-{stage.index + 1}-{stage.subcommand}",
                                    stage.kind, stage.title, deps=deps, command=argv, stages=[stage.entry],
                                    gpu=runs_on_gpu(argv))
        self.submitted.append(stage.job)
        print(f"{stage.job}\t{stage.subcommand}\t{stage.title}\t(after {','.join(deps) or '-'})")
        return stage.job

    def submit_array(self, stages, name, deps=(), dep_type="afterok", max_running=0):
        """One job array running `stages` (all of one kind), element i = stages[i]. Its task file
        (one w2s command line per element) lies beside the logs, so `jobs/status` can show each."""
        todo = [s for s in stages if not self.skip(s)]
        if not todo:
            return None
        kinds = {s.kind for s in todo}
        if len(kinds) != 1:
            raise StageError(f"array {name}: stages of different kinds {sorted(kinds)}")
        kind = kinds.pop()
        task_file = os.path.join(log_dir(self.root), f"{name}.tasks")
        lines = [" ".join(shlex.quote(a) for a in self.stage_argv(s)) for s in todo]
        if not self.sub.dry_run:
            os.makedirs(log_dir(self.root), exist_ok=True)
            tmp = task_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("".join(line + "\n" for line in lines))
            os.replace(tmp, task_file)
        spec = f"0-{len(todo) - 1}" + (f"%{max_running}" if max_running > 0 else "")
        title = f"{len(todo)} x {todo[0].subcommand}: " + "; ".join(s.title for s in todo)
        job = self.sub.submit("array.sbatch", [task_file], name, kind, title, deps=list(deps), dep_type=dep_type,
                              array=spec, stages=[s.entry for s in todo],
                              gpu=any(runs_on_gpu(s.argv) for s in todo))
        for i, s in enumerate(todo):
            s.job = f"{job}_{i}"
        self.submitted.append(job)
        print(f"{job}\tarray\t{len(todo)} {kind} stages ({task_file})\t({dep_type} {','.join(deps) or '-'})")
        for i, s in enumerate(todo):
            print(f"  {job}_{i}\t{s.subcommand}\t{s.title}")
        return job

    def submit_analyze(self):
        """The plan's analysis, after every submitted evaluation; always submitted (new
        evaluations change the report)."""
        a = self.analyze
        deps = self.deps_of([a])  # complete evaluations were not submitted
        job = self.sub.submit(TEMPLATE[a.kind], a.argv[1:], "w2s-analyze", a.kind, a.title, deps=deps,
                              command=a.argv, stages=[a.entry], gpu=False)
        a.job = job
        self.submitted.append(job)
        print(f"{job}\tanalyze\t{a.outputs[0]}\t(after {','.join(deps) or '-'})")
        return job

    def footer(self):
        print(f"submitted {len(self.submitted)} jobs: {' '.join(self.submitted) or '-'}")
        if self.submitted and not self.sub.dry_run:
            print(f"follow them with: {os.path.join(os.path.dirname(os.path.dirname(__file__)), 'status')} {self.root}")
