"""What a run tree (src/experiment/run_layout.h) holds: checkpoint progress, predictions, label sets.

Every w2s output is written to a temporary name and renamed when complete, so a file that exists
is whole; a checkpoint is finished when its /state step equals total_steps. Checkpoint state is
read with h5py when Python has it, else with h5dump (hdf5-tools), so this runs on a login node
with only the system Python.
    jobs/lib/runtree.py ckpt-state CKPT      prints "step total" (exit 1 when unreadable)
"""
import json
import os
import re
import subprocess
import sys

try:
    import h5py  # optional
except ImportError:  # pragma: no cover - depends on the site
    h5py = None


def ckpt_state(path):
    """(step, total_steps) of a checkpoint, or None when it is missing or unreadable."""
    if not os.path.isfile(path):
        return None
    if h5py is not None:
        try:
            with h5py.File(path, "r") as f:
                a = f["/state"].attrs
                return int(a["step"]), int(a["total_steps"])
        except (OSError, KeyError):
            return None
    values = []
    for name in ("step", "total_steps"):
        try:
            out = subprocess.run(["h5dump", "-a", "/state/" + name, path], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, universal_newlines=True)
        except FileNotFoundError:
            return None
        m = re.search(r"\(0\): (-?\d+)", out.stdout)
        if out.returncode != 0 or not m:
            return None
        values.append(int(m.group(1)))
    return values[0], values[1]


def checkpoint_done(path):
    """True when the checkpoint at `path` has finished its training (step == total_steps)."""
    state = ckpt_state(path)
    return state is not None and state[1] > 0 and state[0] == state[1]


def label_manifest(out_dir):
    """The labels manifest (dict) of a label folder, or None."""
    try:
        with open(os.path.join(out_dir, "manifest.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def outputs_complete(kind, outputs):
    """True when every output of a stage of this kind (its plan record's "outputs") is there:
    a training's checkpoint has finished its steps, a label folder has its manifest, any other
    output file exists (w2s writes files whole or not at all)."""
    if not outputs:
        return False
    if kind in ("pretrain", "train"):
        return all(checkpoint_done(o) for o in outputs)
    if kind == "label":
        return all(label_manifest(o) is not None for o in outputs)
    return all(os.path.isfile(o) for o in outputs)


def stage_done(stage):
    """True when a stage's outputs are all there (then resubmitting it would change nothing)."""
    return outputs_complete(stage.kind, stage.outputs)


def main(argv):
    if len(argv) != 2 or argv[0] != "ckpt-state":
        sys.exit("usage: runtree.py ckpt-state CKPT")
    state = ckpt_state(argv[1])
    if state is None:
        sys.exit(1)
    print(state[0], state[1])


if __name__ == "__main__":
    main(sys.argv[1:])
