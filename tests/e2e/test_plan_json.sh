#!/usr/bin/env bash
# `w2s pipeline --plan-json`: the plan as data (what jobs/ submits), and the stage stamps that
# hash every input the planner names.
#   1. The plan of two tiny experiments (configs/experiments/tiny-test.ini: embedded task and
#      corpus; and an own-JSONL experiment with three sizes, two losses and a bootstrapping
#      chain): valid JSON, unique ids, kinds and resource classes from their sets, every
#      dependency an earlier stage, every input written by a dependency or already on disk, no
#      writer of an input missing from the dependencies, the analysis last after every
#      evaluation, the same command lines as --dry-run, and chain steps with every student
#      option (--kd-temperature included).
#   1b. Each fine-tuning stage's --lr: task.<name>.finetune_lr, else model.<size>.finetune_lr, else
#      finetune.lr (a two-task plan).
#   2. A changed test set reruns the corpus stage (it excludes the test texts, so they are its
#      inputs): the tiny experiment with an embedded task and an own-JSONL task runs; then the
#      embedded task's test split changes (data.test_size), then the JSONL task's test file
#      changes, and each time the corpus stage runs again instead of "done already (verified)".
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
cp -r "$SRC/configs" .   # the experiment's relative paths resolve from the working directory

# check_plan PLAN.json DRYRUN.log: the plan's invariants (see above).
check_plan() {
  $PY - "$1" "$2" <<'PYEOF'
import json, os, shlex, sys
plan = json.load(open(sys.argv[1]))
kinds = {"data": "cpu", "pretrain": "compute", "train": "compute", "label": "compute", "eval": "compute",
         "analyze": "cpu"}
sub = {"data": {"convert", "prepare"}, "pretrain": {"pretrain"}, "train": {"train"}, "label": {"label"},
       "eval": {"eval"}, "analyze": {"analyze"}}
root, stages = plan["root"], plan["stages"]
assert stages, "no stages"
def written_by(path, s):
    return any(path == o or path.startswith(o + "/") for o in s["outputs"])
seen = {}
for i, s in enumerate(stages):
    sid = s["id"]
    assert sid and sid not in seen, f"id {sid!r} empty or repeated"
    assert s["kind"] in kinds, (sid, s["kind"])
    assert s["resources"] == kinds[s["kind"]], (sid, s["resources"])
    assert s["command"] and s["command"][0] in sub[s["kind"]], (sid, s["command"][:1])
    assert s["outputs"], f"{sid}: no outputs"
    for o in s["outputs"]:
        assert o.startswith(root + "/"), f"{sid}: output {o} outside the run root"
    for d in s["dependencies"]:
        assert d in seen, f"{sid}: dependency {d} is not an earlier stage"
    deps = [stages[seen[d]] for d in s["dependencies"]]
    for p in s["inputs"]:
        writers = [t["id"] for t in stages[:i] if written_by(p, t)]
        assert all(w in s["dependencies"] for w in writers), f"{sid}: reads {p} from {writers}, not all dependencies"
        assert writers or os.path.exists(p), f"{sid}: input {p} is neither written by a dependency nor on disk"
    for d in deps:
        assert any(written_by(p, d) for p in s["inputs"]), f"{sid}: depends on {d['id']} without reading from it"
    for o in s["outputs"]:
        assert not any(written_by(o, t) for t in stages[:i]), f"{sid}: output {o} written twice"
    if s["kind"] in ("pretrain", "train"):
        assert "--resume" in s["command"], f"{sid}: training without --resume"
    seen[sid] = i
last = stages[-1]
evals = [s["id"] for s in stages if s["kind"] == "eval"]
assert last["kind"] == "analyze" and last["id"] == "analyze", last["id"]
assert [s["kind"] for s in stages].count("analyze") == 1
assert sorted(last["dependencies"]) == sorted(evals), "the analysis does not wait for every evaluation"
assert last["command"][:2] == ["analyze", root] and "--resamples" in last["command"], last["command"]
# The same stages and command lines as --dry-run prints (the analysis is the pipeline's epilogue there).
dry = [line.split("$ w2s ", 1)[1].split() for line in open(sys.argv[2]) if line.startswith("    $ w2s ")]
assert dry == [s["command"] for s in stages[:-1]], "--plan-json and --dry-run plan different command lines"
# Every student, bootstrapping steps included, gets every student option.
def options(cmd):
    return {a for a in cmd if a.startswith("--")}
students = [s for s in stages if s["kind"] == "train" and "--labels" in s["command"]]
assert students, "no students"
for s in students:
    differ = options(s["command"]) ^ options(students[0]["command"])
    assert not differ, f"{s['id']} and {students[0]['id']} differ in {sorted(differ)}"
    assert "--kd-temperature" in s["command"], s["id"]
# The corpus stage reads every task's test set.
for s in stages:
    if s["command"][:3] == ["convert", "--task", "corpus"]:
        excluded = [s["command"][j + 1] for j, a in enumerate(s["command"]) if a == "--exclude"]
        assert excluded and sorted(excluded) == sorted(s["inputs"]), (excluded, s["inputs"])
counts = ", ".join("%s %d" % (k, sum(t["kind"] == k for t in stages)) for k in kinds)
print(f"  ok: {len(stages)} stages ({counts}); "
      f"{len(students)} students; e.g. {students[-1]['id']} after {', '.join(students[-1]['dependencies'])}")
PYEOF
}

echo "plan of configs/experiments/tiny-test.ini"
"$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini --plan-json > tiny-plan.json 2> tiny-plan.err ||
  { cat tiny-plan.err; fail "--plan-json failed"; }
"$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini --dry-run > tiny-dry.log
check_plan tiny-plan.json tiny-dry.log || fail "the tiny-test plan is wrong"
"$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini --plan-json tiny-plan-file.json > tiny-file.log ||
  fail "--plan-json FILE failed"
cmp -s tiny-plan.json tiny-plan-file.json || fail "--plan-json FILE differs from --plan-json (stdout)"
[ ! -e runs/tiny-test ] || fail "--plan-json wrote a run tree"
$PY -c '
import json, sys
ids = [s["id"] for s in json.load(open("tiny-plan.json"))["stages"]]
for want in ("data/spam", "data/corpus", "data/corpus/lm", "data/spam/split-0", "models/ta", "spam/seed-0/gt-ta",
             "spam/seed-0/gt-ta/eval", "spam/seed-0/labels-ta", "spam/seed-0/w2s-ta-to-tb-xent", "analyze"):
    assert want in ids, (want, ids)' || fail "stage ids are not the run-tree folders"
check "--plan-json FILE writes the same plan; ids are run-tree folders (spam/seed-0/gt-ta); nothing written"

# data.test_seed draws another test set: the embedded task's convert gets --seed, and only it.
"$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini --set data.test_seed=7 --plan-json > seed-plan.json ||
  fail "--plan-json with data.test_seed failed"
$PY - tiny-plan.json seed-plan.json <<'PYEOF' || fail "data.test_seed does not reach the task's convert as --seed"
import json, sys
base, seeded = (json.load(open(f))["stages"] for f in sys.argv[1:3])
def convert(stages):
    return next(s["command"] for s in stages if s["id"] == "data/spam")
assert "--seed" not in convert(base), convert(base)
c = convert(seeded)
assert c[c.index("--seed") + 1] == "7", c
others = [(a["id"], a["command"], b["command"]) for a, b in zip(base, seeded) if a["id"] != "data/spam"]
assert all(x == y for _, x, y in others), "test_seed changed another stage's command"
PYEOF
check "data.test_seed=7 gives the task's convert --seed 7 and changes no other command"
if "$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini --plan-json --dry-run > both.log 2>&1; then
  fail "--plan-json - with --dry-run (both on stdout) was accepted"
fi
check "--plan-json - with --dry-run refused: $(grep -o 'both write to stdout' both.log)"

echo "plan of an own-JSONL experiment with a bootstrapping chain"
make_task data 160 60
write_tiny_family 3
{ tiny_chain_experiment chain
tiny_sections 3
cat <<INI
[finetune]
kd_temperature = 2
INI
} > chain.ini
"$W2S_BIN" pipeline --config chain.ini --plan-json > chain-plan.json || fail "--plan-json of chain.ini failed"
"$W2S_BIN" pipeline --config chain.ini --dry-run > chain-dry.log
check_plan chain-plan.json chain-dry.log || fail "the chain plan is wrong"
$PY -c '
import json
st = {s["id"]: s for s in json.load(open("chain-plan.json"))["stages"]}
step2 = st["toy/seed-1/boot-s1-s2-s3-auxconf/step-2"]
assert step2["kind"] == "train" and sorted(step2["dependencies"]) == [
    "data/toy/split-1", "models/s3", "toy/seed-1/boot-s1-s2-s3-auxconf/step-1/labels"], step2["dependencies"]
c = step2["command"]
assert c[c.index("--kd-temperature") + 1] == "2", c
ev = st["toy/seed-1/boot-s1-s2-s3-auxconf/eval"]
assert ev["dependencies"] == ["data/toy/split-1", "toy/seed-1/boot-s1-s2-s3-auxconf/step-2"], ev["dependencies"]' ||
  fail "the bootstrapping chain is planned wrongly"
check "chain step 2 reads step 1's labels and the pretrained s3; --kd-temperature 2 reaches it"

cat > corpus.ini <<INI
[experiment]
out = crun
tasks = spam toy
sizes = ta tb
losses = xent
seeds = 0
tokenizer = byte
[task.toy]
train = data/train.jsonl
test = data/test.jsonl
[model.ta]
config = configs/models/w2s-test-a.ini
[model.tb]
config = configs/models/w2s-test-b.ini
[data]
max_len = 64
max_train = 40
test_size = 20
[pretrain]
corpus = embedded
steps = 2
batch_size = 4
seq_len = 64
[finetune]
epochs = 1
batch_size = 8
[analyze]
resamples = 50
INI
echo "fine-tuning learning rates: task over size over finetune.lr"
"$W2S_BIN" pipeline --config corpus.ini --set finetune.lr=1e-4 --set model.ta.finetune_lr=3e-4 \
  --set task.toy.finetune_lr=7e-4 --plan-json > lr-plan.json || fail "--plan-json with finetune_lr keys failed"
$PY - lr-plan.json <<'PYEOF' || fail "a fine-tuning stage got the wrong --lr"
import json, sys
lrs = {s["id"]: s["command"][s["command"].index("--lr") + 1]
       for s in json.load(open(sys.argv[1]))["stages"] if s["kind"] == "train"}
want = {"spam/seed-0/gt-ta": "0.0003", "spam/seed-0/gt-tb": "0.0001", "spam/seed-0/w2s-ta-to-tb-xent": "0.0001",
        "toy/seed-0/gt-ta": "0.0007", "toy/seed-0/gt-tb": "0.0007", "toy/seed-0/w2s-ta-to-tb-xent": "0.0007"}
assert lrs == want, lrs
PYEOF
check "task.toy.finetune_lr reaches every toy fine-tuning (both sizes); spam keeps model.ta's and finetune.lr"

echo "a changed test set reruns the corpus stage"
corpus_title="data: pretraining corpus (test texts excluded)"
# ran LOG: 0 when the corpus stage ran in LOG (its command line follows its title).
ran() { grep -A1 -F "] $corpus_title" "$1" | grep -q '\$ w2s convert --task corpus'; }
skipped() { grep -F "] $corpus_title" "$1" | grep -q "done already (verified), skipped"; }
"$W2S_BIN" pipeline --config corpus.ini > c1.log 2>&1 || { tail -20 c1.log; fail "first run failed"; }
ran c1.log || fail "the first run did not build the corpus"
$PY -c '
import json
inputs = json.load(open("crun/data/corpus/.w2s-stage.json"))["inputs"]
assert set(inputs) == {"crun/data/spam/test.jsonl", "data/test.jsonl"}, inputs
assert all(len(h) == 64 for h in inputs.values()), inputs' || fail "the corpus stamp does not hash the test sets"
check "first run: corpus built; its stamp hashes both test sets"

"$W2S_BIN" pipeline --config corpus.ini --set data.test_size=24 > c2.log 2>&1 ||
  { tail -20 c2.log; fail "second run failed"; }
grep -A1 -F "] data: spam" c2.log | grep -q '\$ w2s convert --task spam' || fail "the spam test split was not remade"
ran c2.log && ! skipped c2.log ||
  { grep -F "$corpus_title" c2.log; fail "a changed embedded test split did not rerun the corpus"; }
check "data.test_size changed: spam's test set remade and the corpus stage ran again"

make_task data2 160 45   # another test set for the toy task
cp data2/test.jsonl data/test.jsonl
"$W2S_BIN" pipeline --config corpus.ini --set data.test_size=24 > c3.log 2>&1 ||
  { tail -20 c3.log; fail "third run failed"; }
grep -F "] data: spam" c3.log | grep -q "done already (verified), skipped" || fail "spam's unchanged data was remade"
ran c3.log && ! skipped c3.log ||
  { grep -F "$corpus_title" c3.log; fail "a changed test JSONL did not rerun the corpus"; }
check "the toy task's test.jsonl changed: the corpus stage ran again"
echo PASS
