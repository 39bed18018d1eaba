#!/usr/bin/env bash
# tools/w2s_read.py against real files (docs/formats.md): a tiny `w2s pipeline` on its own task
# (pretraining on a small LM corpus, two sizes, one student; no embedded data), plus a 3-shard
# `w2s label` of the same supervisor. Checks every reader's shapes and dtypes, that a label set has
# one row per dataset row with the dataset's ids (stored rows in inference order, and in dataset
# order when joined), probabilities in [0, 1] summing to 1, the 3-shard set equal to the 1-shard
# one, checkpoint tensor names with GPT-2's, report, metrics and stage-stamp keys, and that a
# wrong or damaged file is refused with an error naming it.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"

make_task data 96 32
# A small LM corpus from the task's own texts.
$PY -c 'import json,sys; [print(json.loads(l)["txt"] + "\n") for l in open(sys.argv[1])]' data/train.jsonl > corpus.txt
"$W2S_BIN" prepare --lm --text corpus.txt --out lm.h5 --tokenizer byte --doc-bytes 256 > lm.log || fail "prepare --lm failed"
printf 'n_layer = 1\nn_head = 2\nd_model = 32\nn_ctx = 64\n' > a.ini
printf 'n_layer = 2\nn_head = 2\nd_model = 32\nn_ctx = 64\n' > b.ini
cat > exp.ini <<'EOF'
[experiment]
out = exp
tasks = toy
sizes = a b
pairs = all
losses = xent
seeds = 0
tokenizer = byte
[model.a]
config = a.ini
[model.b]
config = b.ini
[task.toy]
train = data/train.jsonl
test = data/test.jsonl
[data]
max_len = 64
[pretrain]
corpus = lm.h5
steps = 3
batch_size = 4
seq_len = 64
warmup_steps = 0
[finetune]
epochs = 1
batch_size = 16
lr = 2e-3
[label]
batch = 8
[analyze]
resamples = 20
EOF
"$W2S_BIN" pipeline --config exp.ini > pipeline.log 2>&1 || { tail -20 pipeline.log; fail "pipeline failed"; }
SEED=exp/toy/seed-0
"$W2S_BIN" label --model $SEED/gt-a/ckpt.h5 --data exp/data/toy/split-0/train_b.h5 --out-dir labels3 --shards 3 \
  --batch 8 > label3.log 2>&1 || { cat label3.log; fail "3-shard label failed"; }
[ -f labels3/shard-00002-of-00003.h5 ] || fail "3-shard label set not written"

$PY - "$SRC/tools" <<'PYEOF' || fail "w2s_read.py disagrees with the files"
import os, shutil, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import w2s_read as r

split, seed = "exp/data/toy/split-0", "exp/toy/seed-0"

def refused(fn, path, *args):
    try:
        fn(path, *args)
    except r.FormatError as e:
        assert path in str(e), f"error does not name {path}: {e}"
        return str(e)
    raise AssertionError(f"{fn.__name__}({path}) accepted a bad file")

# Token datasets.
ds = {}
for name in ("train_a", "train_b", "test"):
    d = r.load_token_dataset(f"{split}/{name}.h5")
    n = len(d["ids"])
    assert n > 0 and d["attrs"]["split"] == name and d["attrs"]["task"] == "classification", d["attrs"]
    assert d["input_ids"].dtype == np.int32 and d["input_ids"].shape == (n, d["attrs"]["max_len"] ) == (n, 64)
    assert d["lengths"].dtype == np.int32 and d["ids"].dtype == np.int64 and d["labels"].dtype == np.int32
    assert ((d["lengths"] >= 1) & (d["lengths"] <= 64)).all() and len(np.unique(d["ids"])) == n
    assert set(np.unique(d["labels"])) <= {0, 1} and d["attrs"]["num_classes"] == 2
    pad = d["input_ids"][np.arange(64)[None, :] >= d["lengths"][:, None]]
    assert (pad == d["attrs"]["pad_id"]).all() and d["input_ids"].max() < d["attrs"]["vocab_size"]
    ds[name] = d
assert len(ds["train_a"]["ids"]) + len(ds["train_b"]["ids"]) == 96 and len(ds["test"]["ids"]) == 32
print("  ok: token datasets (shapes, dtypes, padding, unique ids)")

# LM corpus.
lm = r.load_lm_dataset("lm.h5")
D = lm["attrs"]["num_documents"]
assert lm["tokens"].dtype == np.int32 and lm["doc_offsets"].shape == (D + 1,) and lm["doc_ids"].shape == (D,)
assert (lm["tokens"][lm["doc_offsets"][1:] - 1] == lm["attrs"]["eot_id"]).all(), "every document ends with eot"
print(f"  ok: LM corpus ({D} documents, each ending with eot {lm['attrs']['eot_id']})")

# Checkpoints: GPT-2 names and shapes; the pretrained one has no head, the fine-tuned ones do.
gpt2 = {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"} | {
    f"h.{l}.{t}" for l in range(2) for t in ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")}
pre = r.load_checkpoint("exp/models/b/ckpt.h5", optimizer=True)
assert set(pre["params"]) == gpt2, sorted(set(pre["params"]) ^ gpt2)
assert pre["attrs"]["num_classes"] == 0 and pre["attrs"]["task"] == "lm" and pre["state"]["step"] == 3
assert set(pre["optim_m"]) == gpt2 == set(pre["optim_v"]), "pretraining keeps its optimizer state"
C = 32
assert pre["params"]["wte.weight"].shape == (258, C) and pre["params"]["wpe.weight"].shape == (64, C)
assert pre["params"]["h.1.attn.c_attn.weight"].shape == (C, 3 * C) and pre["params"]["h.1.mlp.c_fc.bias"].shape == (4 * C,)
assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in pre["params"].values())
student = r.load_checkpoint(f"{seed}/w2s-a-to-b-xent/ckpt.h5")
assert set(student["params"]) == gpt2 | {"score.weight"} and student["params"]["score.weight"].shape == (2, C)
a = student["attrs"]
assert (a["task"], a["loss"], a["labels"], a["init"]) == ("classify", "xent", f"{seed}/labels-a", "exp/models/b/ckpt.h5"), a
assert student["state"]["step"] == student["state"]["total_steps"] > 0
hashed = 0
for ckpt in (pre, student):  # the content hashes, where this build records them
    if "params_sha256" in ckpt["attrs"]:
        assert r.tensor_digest(ckpt["params"], "/params") == ckpt["attrs"]["params_sha256"], "params_sha256"
        hashed += 1
if "optim_sha256" in pre["attrs"]:
    optim = {f"m/{k}": v for k, v in pre["optim_m"].items()}
    optim.update({f"v/{k}": v for k, v in pre["optim_v"].items()})
    assert r.tensor_digest(optim, "/optim") == pre["attrs"]["optim_sha256"], "optim_sha256"
print(f"  ok: checkpoints (GPT-2 tensor names and shapes, score head, state, attributes; "
      f"{hashed} content hash(es) recomputed)")

# Predictions: test set order, probabilities.
test = ds["test"]
for run in ("gt-a", "gt-b", "w2s-a-to-b-xent"):
    p = r.load_predictions(f"{seed}/{run}/predictions.h5")
    n = len(test["ids"])
    assert p["probs"].shape == p["logits"].shape == (n, 2) and p["probs"].dtype == np.float32
    assert np.array_equal(p["ids"], test["ids"]) and np.array_equal(p["labels"], test["labels"])
    assert ((p["probs"] >= 0) & (p["probs"] <= 1)).all() and np.allclose(p["probs"].sum(1), 1, atol=1e-5)
    assert abs(p["attrs"]["accuracy"] - np.mean(p["probs"].argmax(1) == p["labels"])) < 1e-9
print("  ok: predictions (ids and labels are the test set's, probabilities sum to 1, accuracy attribute)")

# Label sets: one row per dataset row; stored in inference order; joined, in dataset order.
b = ds["train_b"]
one = r.load_label_set(f"{seed}/labels-a")
three = r.load_label_set("labels3")
assert one["manifest"]["num_shards"] == 1 and three["manifest"]["num_shards"] == 3
for s in (one, three):
    assert len(s["ids"]) == len(b["ids"]) == s["manifest"]["total"]
    assert s["probs"].shape == s["logits"].shape == (len(b["ids"]), 2) and s["probs"].dtype == np.float32
    assert ((s["probs"] >= 0) & (s["probs"] <= 1)).all() and np.allclose(s["probs"].sum(1), 1, atol=1e-5)
    assert np.array_equal(s["ids"], b["ids"][r.inference_order(b["lengths"])]), "stored rows are in inference order"
assert np.array_equal(one["ids"], three["ids"]) and np.array_equal(one["probs"], three["probs"]), \
    "labels are bit-identical whatever the shard count"
joined = r.load_label_set("labels3", dataset=f"{split}/train_b.h5")
assert np.array_equal(joined["ids"], b["ids"]), "joined rows follow the dataset's"
row = {i: k for k, i in enumerate(three["ids"])}
assert np.array_equal(joined["probs"], three["probs"][[row[i] for i in b["ids"]]])
print("  ok: label sets (rows = dataset rows, inference order, 3 shards = 1 shard, joined in dataset order)")

# report.json, metrics.jsonl, stage stamps.
rep = r.load_report("exp")
assert {"root", "rows", "chains", "sizes", "supervisor_choice", "warnings"} <= set(rep), sorted(rep)
row = rep["rows"][0]
for key in ("task", "weak", "strong", "loss", "p_weak", "p_w2s", "p_ceiling", "pgr", "pgr_defined", "pgr_ci",
            "agreement", "misfit", "per_seed"):
    assert key in row, key
assert (row["task"], row["weak"], row["strong"], row["loss"]) == ("toy", "a", "b", "xent")
m = r.load_metrics(f"{seed}/gt-a")
assert {"step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "step_s", "compute_s", "exposed_comm_s",
        "model_flops_per_token"} == set(m) and m["step"].dtype == np.int64, sorted(m)
assert len(m["step"]) >= 1 and np.isfinite(m["loss"]).all()
assert (m["exposed_comm_s"] <= m["step_s"]).all() and (m["model_flops_per_token"] > 0).all()
stamp = r.load_stage_stamp(f"{seed}/gt-a")
assert stamp["command"][0] == "train" and f"{split}/train_a.h5" in stamp["inputs"], stamp
print("  ok: report.json keys, metrics.jsonl columns, stage stamp")

# Refusals name the file.
refused(r.load_predictions, f"{split}/test.h5")
refused(r.load_token_dataset, "nonexistent.h5")
os.makedirs("broken", exist_ok=True)
for f in os.listdir("labels3"):
    shutil.copy(os.path.join("labels3", f), "broken")
os.remove("broken/shard-00001-of-00003.h5")
msg = ""
try:
    r.load_label_set("broken")
except r.FormatError as e:
    msg = str(e)
assert "broken/shard-00001-of-00003.h5" in msg and "missing" in msg, msg
with open("bad.jsonl", "w") as fh:
    fh.write('{"step": 1}\nnot json\n')
assert "bad.jsonl:2" in refused(r.load_metrics, "bad.jsonl")
print("  ok: a wrong kind, a missing file, a missing shard and a bad metrics line are refused, naming the file")
PYEOF
check "tools/w2s_read.py reads every output of the tiny run"
echo PASS
