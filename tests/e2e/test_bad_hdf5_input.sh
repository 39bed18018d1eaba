#!/usr/bin/env bash
# Truncated and foreign HDF5 files given to the commands that read them (train --data, train
# --init, eval --model/--data, label --model): each exits 2 with a one-line reason naming the
# file, and leaves no output behind (no ckpt.h5, predictions or label shards).
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny 120 40

# Truncated: the first half of a valid file. Foreign: an HDF5 file w2s did not write. Not HDF5: text.
head -c $(( $(stat -c %s data/split/train_a.h5) / 2 )) data/split/train_a.h5 > truncated.h5
head -c $(( $(stat -c %s weak/ckpt.h5) / 2 )) weak/ckpt.h5 > truncated_ckpt.h5
$PY -c 'import h5py, numpy; f = h5py.File("foreign.h5", "w"); f["x"] = numpy.arange(4)'
echo "not an hdf5 file" > text.h5

# expect NAME FILE -- ARGS...: the command exits 2, prints one line on stderr naming FILE.
expect() {
  local name=$1 file=$2; shift 3
  local rc=0
  "$W2S_BIN" "$@" > "$name.out" 2> "$name.err" || rc=$?
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 (data error): $(cat "$name.err")"
  [ "$(grep -c . "$name.err")" -eq 1 ] || fail "$name: expected a one-line reason, got: $(cat "$name.err")"
  grep -q -- "$file" "$name.err" || fail "$name: the reason does not name $file: $(cat "$name.err")"
  check "$name: $(cat "$name.err")"
}
for bad in truncated.h5 foreign.h5 text.h5; do
  expect "train_data_${bad%.h5}" "$bad" -- train --data "$bad" --run-dir "run_${bad%.h5}" --model tiny.ini --steps 2
  [ ! -e "run_${bad%.h5}/ckpt.h5" ] || fail "train on $bad left a checkpoint"
  expect "eval_data_${bad%.h5}" "$bad" -- eval --model weak/ckpt.h5 --data "$bad" --out "pred_${bad%.h5}.h5"
  [ ! -e "pred_${bad%.h5}.h5" ] || fail "eval on $bad left predictions"
done
for bad in truncated_ckpt.h5 foreign.h5; do
  expect "train_init_${bad%.h5}" "$bad" -- train --data data/split/train_a.h5 --run-dir "init_${bad%.h5}" --init "$bad" --steps 2
  [ ! -e "init_${bad%.h5}/ckpt.h5" ] || fail "train --init $bad left a checkpoint"
  expect "eval_model_${bad%.h5}" "$bad" -- eval --model "$bad" --data data/split/test.h5 --out "predm_${bad%.h5}.h5"
  expect "label_model_${bad%.h5}" "$bad" -- label --model "$bad" --data data/split/train_b.h5 --out-dir "labels_${bad%.h5}"
  ! ls "labels_${bad%.h5}"/shard-* > /dev/null 2>&1 || fail "label with $bad left shards"
done
ls ./*.tmp.* > /dev/null 2>&1 && fail "temporary files left behind"
echo PASS
