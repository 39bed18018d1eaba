#!/usr/bin/python3
"""Readers of w2s's files for Python tools and notebooks (h5py + numpy; /usr/bin/python3 on
Debian). Each function returns plain numpy arrays and dicts (HDF5 string attributes decoded to
str) and raises FormatError with a message that names the file. The schemas are docs/formats.md.

    import sys; sys.path.insert(0, "tools"); import w2s_read
    p = w2s_read.load_predictions("runs/x/spam/seed-0/gt-ta/predictions.h5")
    labels = w2s_read.load_label_set("runs/x/spam/seed-0/labels-ta",
                                     dataset="runs/x/data/spam/split-0/train_b.h5")

usage: w2s_read.py FILE_OR_FOLDER...   prints what each file holds (a quick look)"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np

SCHEMA_VERSION = 1  # the newest w2s_schema these readers understand (src/io/h5.h kSchemaVersion)


class FormatError(Exception):
    """A file that is missing, unreadable or not what the reader expects; the message names it."""


# ---- HDF5 helpers --------------------------------------------------------------------------


def _plain(value):
    """An HDF5 attribute as a Python value: bytes -> str, numpy scalars -> int/float."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _attrs(obj):
    return {k: _plain(v) for k, v in obj.attrs.items()}


def _open(path, kind):
    """Opens a w2s HDF5 file of `kind`, refusing another kind or a newer schema."""
    if not os.path.isfile(path):
        raise FormatError(f"{path}: missing")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise FormatError(f"{path}: not an HDF5 file ({e})") from None
    actual = _plain(f.attrs.get("w2s_kind", b""))
    schema = _plain(f.attrs.get("w2s_schema", -1))
    if actual != kind:
        f.close()
        raise FormatError(f"{path}: is {'a w2s ' + actual if actual else 'not a w2s file'}, expected a {kind}")
    if not 1 <= schema <= SCHEMA_VERSION:
        f.close()
        raise FormatError(f"{path}: schema version {schema} is not supported (this reader reads {SCHEMA_VERSION})")
    return f


def _read(f, name, dtype, ndim):
    """Dataset `name` as a numpy array, checked for element type and rank."""
    where = f"{f.file.filename}: dataset '{f.name.rstrip('/')}/{name}'"
    if name not in f:
        raise FormatError(f"{where} missing")
    d = f[name]
    if not isinstance(d, h5py.Dataset) or d.dtype != np.dtype(dtype) or d.ndim != ndim:
        raise FormatError(f"{where} is {getattr(d, 'dtype', 'a group')} {getattr(d, 'shape', '')}, "
                          f"expected {np.dtype(dtype)} of rank {ndim}")
    return d[()]


def _require_rows(path, arrays, n):
    for name, a in arrays.items():
        if a.shape[0] != n:
            raise FormatError(f"{path}: dataset '/{name}' has {a.shape[0]} rows, expected {n}")


def _read_answers(f, a):
    """The ground truth of a dataset or predictions file: targets (regression) or labels."""
    if a["task"] == "regression":
        return {"targets": _read(f, "targets", np.float32, 1)}
    return {"labels": _read(f, "labels", np.int32, 1)}


def _require_attrs(path, attrs, keys):
    missing = [k for k in keys if k not in attrs]
    if missing:
        raise FormatError(f"{path}: attribute(s) {', '.join(missing)} missing")


# ---- HDF5 files ----------------------------------------------------------------------------


def load_token_dataset(path):
    """A token dataset (train_a.h5 / train_b.h5 / test.h5): attrs, input_ids [N, max_len],
    lengths [N], ids [N], labels [N] (classification) or targets [N] (regression), soft_labels
    [N, C] when present."""
    with _open(path, "token_dataset") as f:
        a = _attrs(f)
        _require_attrs(path, a, ["task", "num_classes", "max_len", "pad_id", "tokenizer", "split"])
        out = {"attrs": a, "input_ids": _read(f, "input_ids", np.int32, 2), "lengths": _read(f, "lengths", np.int32, 1),
               "ids": _read(f, "ids", np.int64, 1)}
        out.update(_read_answers(f, a))
        if "soft_labels" in f:
            out["soft_labels"] = _read(f, "soft_labels", np.float32, 2)
    n = out["input_ids"].shape[0]
    if out["input_ids"].shape[1] != a["max_len"]:
        raise FormatError(f"{path}: '/input_ids' rows have {out['input_ids'].shape[1]} tokens, max_len is {a['max_len']}")
    _require_rows(path, {k: v for k, v in out.items() if k != "attrs"}, n)
    return out


def load_lm_dataset(path):
    """A packed LM corpus (lm.h5): attrs, tokens [Ntok], doc_offsets [D+1], doc_ids [D]."""
    with _open(path, "lm_dataset") as f:
        out = {"attrs": _attrs(f), "tokens": _read(f, "tokens", np.int32, 1),
               "doc_offsets": _read(f, "doc_offsets", np.int64, 1), "doc_ids": _read(f, "doc_ids", np.int64, 1)}
    offs = out["doc_offsets"]
    if len(offs) != len(out["doc_ids"]) + 1 or offs[0] != 0 or offs[-1] != len(out["tokens"]):
        raise FormatError(f"{path}: '/doc_offsets' does not run from 0 to the token count over every document")
    return out


def load_checkpoint(path, optimizer=False):
    """A checkpoint (ckpt.h5): attrs (model shape, tokenizer, training attributes), state
    (/state: step, total_steps, seed, skipped_steps), params {HF tensor name: float32 array};
    with optimizer=True also optim_m / optim_v (empty dicts when not saved)."""
    with _open(path, "checkpoint") as f:
        a = _attrs(f)
        _require_attrs(path, a, ["n_layer", "n_head", "d_model", "n_ctx", "vocab_size", "num_classes", "tokenizer"])
        if "params" not in f:
            raise FormatError(f"{path}: group '/params' missing")
        out = {"attrs": a, "state": _attrs(f["state"]) if "state" in f else {},
               "params": {name: _read(f["params"], name, np.float32, getattr(f["params"][name], "ndim", 1))
                          for name in f["params"]}}
        if optimizer:
            for key, group in (("optim_m", "optim/m"), ("optim_v", "optim/v")):
                out[key] = {name: f[group][name][()] for name in f[group]} if group in f else {}
    return out


def tensor_digest(tensors, group):
    """The content hash a checkpoint records for `group` ("/params"; "/optim" covers m and v) as
    params_sha256 / optim_sha256: the sha256 of "<dataset name> <sha256 of its float32 bytes>"
    lines, sorted by name. `tensors`: {name below the group: array}, or for "/optim"
    {"m/<name>" or "v/<name>": array}."""
    lines = []
    for name in sorted(f"{group}/{n}" for n in tensors):
        values = np.ascontiguousarray(tensors[name[len(group) + 1:]], dtype="<f4")
        lines.append(f"{name} {hashlib.sha256(values.tobytes()).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def load_predictions(path):
    """predictions.h5 (w2s eval): attrs, ids [n], probs [n, C], logits [n, C], and labels [n]
    (classification) or targets [n] (regression); rows in the test set's order."""
    with _open(path, "predictions") as f:
        a = _attrs(f)
        _require_attrs(path, a, ["task", "num_classes", "model_sha256", "dataset_sha256"])
        out = {"attrs": a, "ids": _read(f, "ids", np.int64, 1), "probs": _read(f, "probs", np.float32, 2),
               "logits": _read(f, "logits", np.float32, 2)}
        out.update(_read_answers(f, a))
    _require_rows(path, {k: v for k, v in out.items() if k != "attrs"}, len(out["ids"]))
    if out["probs"].shape[1] != a["num_classes"] or out["logits"].shape[1] != a["num_classes"]:
        raise FormatError(f"{path}: probs/logits have {out['probs'].shape[1]} columns, num_classes is {a['num_classes']}")
    return out


def load_label_shard(path):
    """One label shard: attrs, ids [n], probs [n, C], logits [n, C]."""
    with _open(path, "label_shard") as f:
        a = _attrs(f)
        _require_attrs(path, a, ["count", "num_classes", "shard_index", "num_shards"])
        out = {"attrs": a, "ids": _read(f, "ids", np.int64, 1), "probs": _read(f, "probs", np.float32, 2),
               "logits": _read(f, "logits", np.float32, 2)}
    _require_rows(path, {k: v for k, v in out.items() if k != "attrs"}, a["count"])
    return out


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def inference_order(lengths):
    """Dataset row indices in inference order, (length, index): the order of a label set's rows."""
    return np.argsort(np.asarray(lengths), kind="stable")


def load_label_set(folder, dataset=None):
    """A whole label set through its manifest.json: manifest (dict), ids [N], probs [N, C],
    logits [N, C]. The rows are shard 0's, then shard 1's, ... (the labelled dataset in
    inference order). With `dataset` (the labelled token dataset's path, or a dict from
    load_token_dataset) the rows are put in that dataset's row order, and every id checked."""
    manifest_path = os.path.join(folder, "manifest.json")
    manifest = load_json(manifest_path, ["num_shards", "num_classes", "total", "shards"])
    listed = {entry["file"] for entry in manifest["shards"]}
    for name in sorted(os.listdir(folder)):
        if name.startswith("shard-") and name.endswith(".h5") and ".tmp." not in name and name not in listed:
            raise FormatError(f"{os.path.join(folder, name)}: extra shard not listed in manifest.json")
    ids, probs, logits = [], [], []
    for k, entry in enumerate(manifest["shards"]):
        path = os.path.join(folder, entry["file"])
        if not os.path.isfile(path):
            raise FormatError(f"{path}: shard listed in manifest.json is missing")
        if _sha256_file(path) != entry["sha256"]:
            raise FormatError(f"{path}: sha256 differs from manifest.json: changed since the manifest was written")
        shard = load_label_shard(path)
        if shard["attrs"]["shard_index"] != k or shard["attrs"]["count"] != entry["count"]:
            raise FormatError(f"{path}: shard {shard['attrs']['shard_index']} with {shard['attrs']['count']} rows, "
                              f"manifest.json lists shard {k} with {entry['count']}")
        ids.append(shard["ids"])
        probs.append(shard["probs"])
        logits.append(shard["logits"])
    C = manifest["num_classes"]
    out = {"manifest": manifest,
           "ids": np.concatenate(ids) if ids else np.zeros(0, np.int64),
           "probs": np.concatenate(probs) if probs else np.zeros((0, C), np.float32),
           "logits": np.concatenate(logits) if logits else np.zeros((0, C), np.float32)}
    if len(out["ids"]) != manifest["total"]:
        raise FormatError(f"{manifest_path}: total {manifest['total']} differs from the {len(out['ids'])} rows of its shards")
    if dataset is not None:
        _to_dataset_order(out, folder, dataset)
    return out


def _to_dataset_order(labels, folder, dataset):
    ds = load_token_dataset(dataset) if isinstance(dataset, str) else dataset
    name = dataset if isinstance(dataset, str) else "the dataset"
    ds_ids = ds["ids"]
    if len(ds_ids) != len(labels["ids"]):
        raise FormatError(f"{folder}: holds {len(labels['ids'])} labels, {name} has {len(ds_ids)} examples")
    by_id = np.argsort(labels["ids"], kind="stable")
    pos = np.searchsorted(labels["ids"], ds_ids, sorter=by_id)
    rows = by_id[np.minimum(pos, len(by_id) - 1)] if len(by_id) else by_id
    if len(rows) and not np.array_equal(labels["ids"][rows], ds_ids):
        missing = ds_ids[labels["ids"][rows] != ds_ids][0]
        raise FormatError(f"{folder}: has no label for example id {missing} of {name}")
    for key in ("ids", "probs", "logits"):
        labels[key] = labels[key][rows]


# ---- JSON files ----------------------------------------------------------------------------


def load_json(path, required=()):
    """A JSON file as a dict, with the top-level keys `required` present."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except OSError as e:
        raise FormatError(f"{path}: cannot be read ({e.strerror})") from None
    except ValueError as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from None
    missing = [k for k in required if k not in data]
    if missing:
        raise FormatError(f"{path}: key(s) {', '.join(missing)} missing")
    return data


def load_report(path):
    """report.json of `w2s analyze` (a path, or the experiment folder holding it) as a dict."""
    if os.path.isdir(path):
        path = os.path.join(path, "report.json")
    return load_json(path, ["rows", "chains", "sizes"])


def load_metrics(path):
    """metrics.jsonl of a training run (a path, or the run folder) as {key: numpy array}, one
    entry per logged step (keys step, loss, lr, grad_norm, tokens_per_s, elapsed_s, step_s, compute_s,
    exposed_comm_s, model_flops_per_token; NaN where an older w2s did not log a key)."""
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    rows = []
    try:
        with open(path) as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as e:
                        raise FormatError(f"{path}:{number}: not valid JSON ({e})") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot be read ({e.strerror})") from None
    keys = sorted({k for r in rows for k in r})
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=np.int64 if k == "step" else np.float64) for k in keys}


def load_stage_stamp(path):
    """A pipeline stage stamp (.w2s-stage.json, or the stage folder holding it): command, inputs."""
    if os.path.isdir(path):
        path = os.path.join(path, ".w2s-stage.json")
    return load_json(path, ["command", "inputs"])


# ---- a quick look --------------------------------------------------------------------------

_LOADERS = {"token_dataset": load_token_dataset, "lm_dataset": load_lm_dataset, "checkpoint": load_checkpoint,
            "predictions": load_predictions, "label_shard": load_label_shard}


def load_any(path):
    """Whatever w2s file `path` is (an HDF5 file by its w2s_kind, a label folder, report.json,
    metrics.jsonl, a stage stamp)."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "manifest.json")):
            return load_label_set(path)
        raise FormatError(f"{path}: a folder without manifest.json (not a label set)")
    if path.endswith(".jsonl"):
        return load_metrics(path)
    if path.endswith(".json"):
        return load_json(path)
    try:
        with h5py.File(path, "r") as f:
            kind = _plain(f.attrs.get("w2s_kind", b""))
    except OSError as e:
        raise FormatError(f"{path}: not an HDF5 or JSON file ({e})") from None
    if kind not in _LOADERS:
        raise FormatError(f"{path}: w2s_kind '{kind}' has no reader here")
    return _LOADERS[kind](path)


def _describe(value, indent="  "):
    if isinstance(value, dict):
        return "\n".join(f"{indent}{k}: " + (("\n" + _describe(v, indent + "  ")) if isinstance(v, dict) and v
                                              else _describe(v, "")) for k, v in value.items())
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {list(value.shape)}"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


def main(argv):
    if not argv:
        sys.exit(__doc__)
    for path in argv:
        try:
            print(f"{path}:\n{_describe(load_any(path))}")
        except FormatError as e:
            sys.exit(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
