#!/usr/bin/env bash
# Splits a reviewer can trust: w2s prepare --group-divisor keeps each source (ids sharing
# floor(id / D), sotu-party's speeches) in one half; --b-pools writes B as disjoint pools, whole
# groups at a time; data without groups splits exactly as before; and in a planned 3-size
# bootstrapping chain no label stage labels data that its model (or the model it was trained
# from the labels of) was trained on.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"

# A toy task whose ids name their source: 36 sources of 2 to 19 examples, id = source * 100 + k.
mkdir -p data
$PY - <<'PYEOF'
import json, random
rng = random.Random(3)
with open("data/train.jsonl", "w") as f:
    for source in range(36):
        for k in range(2 + (source * 5) % 18):
            label = rng.randrange(2)
            f.write(json.dumps({"id": source * 100 + k, "txt": f"source {source} says {'yes' if label else 'no'} {k}",
                                "hard_label": label}) + "\n")
with open("data/test.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps({"id": 900000 + i, "txt": f"test {i} {'yes' if i % 2 else 'no'}", "hard_label": i % 2}) + "\n")
PYEOF
prep() { "$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --tokenizer byte --max-len 64 --seed 4 "$@"; }

# ids PY-EXPR helpers: ids(path) of a token dataset.
cat > ids.py <<PYEOF
import sys; sys.path.insert(0, "$SRC/tools"); import w2s_read
def ids(path): return [int(i) for i in w2s_read.load_token_dataset(path)["ids"]]
def groups(path, d=100): return {i // d for i in ids(path)}
PYEOF

prep --out-dir grouped --group-divisor 100 --b-pools 2 > grouped.log || { cat grouped.log; fail "grouped prepare failed"; }
$PY - <<'PYEOF' || fail "the grouped split is wrong"
from ids import ids, groups
a, b, p1, p2 = (ids(f"grouped/{n}.h5") for n in ("train_a", "train_b", "train_b_pool1", "train_b_pool2"))
n = len(a) + len(b)
assert not groups("grouped/train_a.h5") & groups("grouped/train_b.h5"), "a source in both A and B"
assert abs(len(a) - len(b)) <= 2 * 19, (len(a), len(b))  # per class at most the largest source apart
assert sorted(p1 + p2) == sorted(b), "the pools are not a partition of B"
assert not groups("grouped/train_b_pool1.h5") & groups("grouped/train_b_pool2.h5"), "a source in both pools"
assert abs(len(p1) - len(p2)) <= 2 * 19, (len(p1), len(p2))
print(f"  A {len(a)}, B {len(b)} (pools {len(p1)} + {len(p2)}) of {n}")
PYEOF
check "--group-divisor 100: no source in both A and B or in both pools; sizes within one source per class"

prep --out-dir plain > plain.log
prep --out-dir plain0 --group-divisor 0 > plain0.log
for f in train_a train_b test; do cmp -s plain/$f.h5 plain0/$f.h5 || fail "--group-divisor 0 changed $f.h5"; done
$PY - <<'PYEOF' || fail "the ungrouped split is not by example"
from ids import groups
assert groups("plain/train_a.h5") & groups("plain/train_b.h5"), "expected shared sources without grouping"
PYEOF
check "without groups the split is by example (byte-identical files with --group-divisor 0)"

if prep --out-dir bad1 --b-pools 1 > bad1.log 2>&1; then fail "--b-pools 1 accepted"; fi
rc=0; prep --out-dir bad2 --group-divisor 1000000 > bad2.log 2>&1 || rc=$?
[ "$rc" = 2 ] || { cat bad2.log; fail "one group split into two halves: exit $rc, expected 2"; }
grep -q 'train.jsonl.*too few examples or groups (--group-divisor 1000000)' bad2.log || { cat bad2.log; fail "unclear error"; }
[ ! -e bad2/train_a.h5 ] || fail "a failed prepare wrote train_a.h5"
check "--b-pools 1 refused; one group cannot be halved (exit 2, names the file and the divisor)"

echo "plan of a 3-size bootstrapping chain"
for s in 1 2 3; do printf 'n_layer = %d\nn_head = 2\nd_model = %d\nn_ctx = 64\n' $s $((16 * s)) > m$s.ini; done
cat > chain.ini <<INI
[experiment]
out = chain
tasks = toy
sizes = s1 s2 s3
losses = xent
seeds = 0
bootstrap = s1 s2 s3
[task.toy]
train = data/train.jsonl
test = data/test.jsonl
group_divisor = 100
[model.s1]
config = m1.ini
[model.s2]
config = m2.ini
[model.s3]
config = m3.ini
[data]
max_len = 64
INI
"$W2S_BIN" pipeline --config chain.ini --plan-json > plan.json || fail "--plan-json failed"
prepare_cmd=$($PY -c '
import json, shlex
st = [s for s in json.load(open("plan.json"))["stages"] if s["command"][:2] == ["prepare", "--train"]]
assert len(st) == 1
print(shlex.join(st[0]["command"]))')
case "$prepare_cmd" in *"--group-divisor 100"*"--b-pools 2"*) ;; *) fail "prepare lacks the grouping or pools: $prepare_cmd";; esac
eval "\"\$W2S_BIN\" $prepare_cmd" > plan-prepare.log || { cat plan-prepare.log; fail "the plan's prepare failed"; }
$PY - <<'PYEOF' || fail "a chain step labels data it was trained on"
import json
from ids import ids, groups
stages = json.load(open("plan.json"))["stages"]
def arg(cmd, opt): return cmd[cmd.index(opt) + 1]
def trainer_of(ckpt):  # the training stage that writes this checkpoint
    (t,) = [s for s in stages if s["kind"] == "train" and ckpt in s["outputs"]]
    return t
def labeller_of(folder):  # the label stage that writes this folder
    (l,) = [s for s in stages if s["kind"] == "label" and folder in s["outputs"]]
    return l
def seen_by(train_stage):
    # The data a model was fitted to: its own training data, and (through its labels) what its
    # supervisor saw, recursively: a label on data the supervisor saw is near in-sample too.
    seen = {arg(train_stage["command"], "--data")}
    if "--labels" in train_stage["command"]:
        sup = labeller_of(arg(train_stage["command"], "--labels"))
        seen |= seen_by(trainer_of(arg(sup["command"], "--model")))
    return seen
labels = [s for s in stages if s["kind"] == "label"]
chain_labels = [s for s in labels if "boot-" in s["id"] or "pool" in s["id"]]
assert len(chain_labels) == 2, [s["id"] for s in labels]
for s in labels:
    data = arg(s["command"], "--data")
    for trained in seen_by(trainer_of(arg(s["command"], "--model"))):
        assert data != trained, f"{s['id']}: labels {data}, which its model learnt from"
        assert not set(ids(data)) & set(ids(trained)), f"{s['id']}: {data} and {trained} share examples"
        assert not groups(data) & groups(trained), f"{s['id']}: {data} and {trained} share sources"
steps = [s for s in stages if s["kind"] == "train" and "/boot-" in s["id"]]
assert [arg(s["command"], "--data").rsplit("/", 1)[1] for s in steps] == ["train_b_pool1.h5", "train_b_pool2.h5"], steps
print(f"  {len(labels)} label stages, each on data disjoint from what its model and supervisors saw: "
      + ", ".join(s["id"] for s in labels))
PYEOF
check "every label stage (the chain's included) labels examples and sources its model never saw"

sed -i '/group_divisor = 100/d' chain.ini
"$W2S_BIN" pipeline --config chain.ini --plan-json > plan-plain.json
$PY -c '
import json
(p,) = [s for s in json.load(open("plan-plain.json"))["stages"] if s["command"][:2] == ["prepare", "--train"]]
assert "--group-divisor" not in p["command"], p["command"]' || fail "own JSONL without group_divisor got a grouping"
check "own JSONL without task.<name>.group_divisor: prepare splits by example, as before"

echo "pretraining seeds: one family per pretraining seed"
"$W2S_BIN" pipeline --config chain.ini --set experiment.seeds="0 1 2" --set experiment.pretrain_seeds="7 9" \
  --plan-json > plan-pseeds.json || fail "--plan-json with experiment.pretrain_seeds failed"
$PY - <<'PYEOF' || fail "the fine-tuning seeds do not start from their own pretrained family"
import json
stages = json.load(open("plan-pseeds.json"))["stages"]
def arg(cmd, opt): return cmd[cmd.index(opt) + 1]
pre = {s["id"]: s for s in stages if s["kind"] == "pretrain"}
assert sorted(pre) == [f"models/pretrain-seed-{p}/s{k}" for p in (7, 9) for k in (1, 2, 3)], sorted(pre)
for sid, s in pre.items():
    assert arg(s["command"], "--seed") == sid.split("/")[1].rsplit("-", 1)[1], s["command"]
family = {"0": 7, "1": 9, "2": 7}  # the i-th seed, the (i mod 2)-th pretraining seed
trains = [s for s in stages if s["kind"] == "train"]
for s in trains:
    seed = arg(s["command"], "--seed")
    init = arg(s["command"], "--init")
    assert init.startswith(f"chain/models/pretrain-seed-{family[seed]}/"), (s["id"], seed, init)
    assert any(d.startswith(f"models/pretrain-seed-{family[seed]}/") for d in s["dependencies"]), s["id"]
print(f"  {len(pre)} pretraining stages; {len(trains)} fine-tuning stages each from its seed's family")
PYEOF
check "experiment.pretrain_seeds 7 9 with seeds 0 1 2: families 7, 9, 7, each pretrained with --seed p"
echo PASS
