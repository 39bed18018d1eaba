#!/usr/bin/env bash
# Bring your own models and data: configs/experiments/byo-hf.ini run through `w2s pipeline` on
# random-weight Hugging Face GPT-2 folders made here (config.json + safetensors, the strong one
# in three shards with its index, each with a tiny GPT-2-format vocab.json + merges.txt), the
# models imported with `w2s import-hf`, and the fruit JSONL task. Checks: the sharded import, the
# datasets tokenized with the models' own files (same tokenizer sha256 as the checkpoints
# record), the report, and that data tokenized with other files is refused.
source "$(dirname "$0")/lib_tiny.sh"
MAKE_HF="$PY $W2S_SOURCE_DIR/tests/e2e/make_hf_gpt2.py"
make_task data 120 40

echo "random-weight HF GPT-2 folders with their own tokenizer"
mkdir -p tok hf/weak hf/strong other
$MAKE_HF tokenizer tok data/train.jsonl data/test.jsonl > tok.log
$MAKE_HF model hf/weak tok 1 16 1 1
$MAKE_HF model hf/strong tok 2 32 3 2
cp tok/vocab.json tok/merges.txt hf/weak/
cp tok/vocab.json tok/merges.txt hf/strong/
[ -f hf/strong/model.safetensors.index.json ] && [ ! -f hf/strong/model.safetensors ] || fail "strong model not sharded"
check "$(cat tok.log); weak in one file, strong in $(ls hf/strong/model-*.safetensors | wc -l) shards"

"$W2S_BIN" import-hf hf/weak --out weak.h5 > import-weak.log 2>&1 || { cat import-weak.log; fail "import weak"; }
"$W2S_BIN" import-hf hf/strong --out strong.h5 > import-strong.log 2>&1 || { cat import-strong.log; fail "import strong"; }
grep -q "3 shards" import-strong.log || fail "the sharded import does not say so: $(cat import-strong.log)"
grep -q "tokenizer files of hf/strong" import-strong.log || fail "import did not take the folder's tokenizer"
check "import-hf read one file and three shards"

echo "byo-hf.ini through w2s pipeline"
"$W2S_BIN" pipeline --config "$W2S_SOURCE_DIR/configs/experiments/byo-hf.ini" \
  --set experiment.out=run --set experiment.tokenizer_files=hf/strong --set experiment.seeds=0 \
  --set experiment.losses=xent \
  --set model.gpt2.init=weak.h5 --set model.gpt2_xl.init=strong.h5 \
  --set task.mytask.train=data/train.jsonl --set task.mytask.test=data/test.jsonl \
  --set data.max_len=32 --set data.max_train=0 --set data.max_test=0 \
  --set finetune.epochs=1 --set finetune.batch_size=16 --set finetune.lr=3e-3 \
  --set label.batch=32 --set analyze.resamples=50 > pipeline.log 2>&1 || { tail -30 pipeline.log; fail "pipeline failed"; }
grep -q -- "--tokenizer-files hf/strong" pipeline.log || fail "prepare did not get --tokenizer-files"
$PY - <<'PYEOF' || fail "report or tokenizer identity wrong"
import glob, json
import h5py
r = json.load(open("run/report.json"))
rows = {(x["weak"], x["strong"], x["loss"]) for x in r["rows"]}
assert rows == {("gpt2", "gpt2_xl", "xent")}, rows
vocab = len(json.load(open("tok/vocab.json", encoding="utf-8")))
def text(v):
    return v.decode() if isinstance(v, bytes) else v
ckpt_sha = {p: text(h5py.File(p, "r").attrs["tokenizer_sha256"]) for p in ("weak.h5", "strong.h5")}
assert len(ckpt_sha["strong.h5"]) == 64, ckpt_sha
assert ckpt_sha["weak.h5"] == ckpt_sha["strong.h5"], ckpt_sha
splits = glob.glob("run/**/train_a.h5", recursive=True)
assert splits, "no prepared split"
for path in splits:
    with h5py.File(path, "r") as f:
        a = {k: text(v) for k, v in f.attrs.items()}
    assert a["tokenizer"] == "gpt2" and a["tokenizer_sha256"] == ckpt_sha["strong.h5"], (path, a)
    assert int(a["vocab_size"]) == vocab, (a["vocab_size"], vocab)
print("  report: %d row; datasets tokenized with the models' files (%d tokens)" % (len(r["rows"]), vocab))
PYEOF
check "pipeline finished, report written, tokenizer identity matches the imported checkpoints"

echo "data tokenized with other files is refused"
$MAKE_HF tokenizer other data/test.jsonl > /dev/null
"$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --out-dir other/split --tokenizer gpt2 \
  --tokenizer-files other --max-len 32 > other-prepare.log 2>&1 || fail "prepare with other files"
set +e
"$W2S_BIN" train --data other/split/train_a.h5 --run-dir refused --init strong.h5 --epochs 1 --batch-size 16 \
  > refused.log 2>&1
rc=$?
"$W2S_BIN" prepare --train data/train.jsonl --out-dir both --tokenizer gpt2 --tokenizer-files tok \
  --encoder-json tok/vocab.json > both.log 2>&1
rc_both=$?
"$W2S_BIN" prepare --train data/train.jsonl --out-dir none --tokenizer gpt2 --tokenizer-files data > none.log 2>&1
rc_none=$?
set -e
[ $rc -eq 2 ] && grep -q "tokenizer sha256) differs from the one strong.h5" refused.log || { cat refused.log; fail "rc $rc"; }
[ $rc_both -eq 1 ] && grep -q "not both" both.log || { cat both.log; fail "both: rc $rc_both"; }
[ $rc_none -eq 2 ] && grep -q "data: no tokenizer files" none.log || { cat none.log; fail "none: rc $rc_none"; }
[ ! -e both ] && [ ! -e none/train_a.h5 ] || fail "a refused prepare wrote output"
check "other vocabulary refused (exit 2), conflicting options (exit 1), a folder without files (exit 2)"
