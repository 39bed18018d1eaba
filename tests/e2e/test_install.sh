#!/usr/bin/env bash
# `cmake --install` to a prefix gives a tree whose w2s runs from there, without the build folder:
# help, a training run, and an installed experiment file whose model paths resolve inside the
# installation.
source "$(dirname "$0")/lib_tiny.sh"
: "${W2S_BUILD_DIR:?}"
cmake --install "$W2S_BUILD_DIR" --prefix "$TMP/prefix" > install.log
W="$TMP/prefix/bin/w2s"
[ -x "$W" ] || fail "no bin/w2s in the prefix"
[ -f "$TMP/prefix/share/w2s/configs/experiments/demo.ini" ] || fail "configs not installed"
[ -f "$TMP/prefix/share/w2s/tools/comm_model.py" ] || fail "tools not installed"
mkdir -p elsewhere && cd elsewhere
"$W" --version | grep -q "w2s" || fail "installed w2s does not run"
make_task data 120 20
"$W" prepare --train data/train.jsonl --test data/test.jsonl --out-dir split --tokenizer byte --max-len 64 > /dev/null
"$W" train --data split/train_a.h5 --run-dir run --model "$TMP/prefix/share/w2s/configs/models/w2s-tiny.ini" --steps 3 \
  > train.log || fail "installed w2s cannot train"
"$W" pipeline --config "$TMP/prefix/share/w2s/configs/experiments/demo.ini" --dry-run > plan.log
grep -q -- "--model $TMP/prefix/share/w2s/configs/models/w2s-small.ini" plan.log \
  || fail "model paths do not resolve into the installation: $(grep -m1 -- '--model' plan.log)"
check "installed w2s runs from $TMP/prefix; experiment paths resolve inside it"
echo PASS
