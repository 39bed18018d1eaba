#!/usr/bin/env bash
# Memory at scale (issue 8): synthetic token datasets of W2S_SCALE_SMALL (default 100,000) and
# W2S_SCALE_LARGE (default 1,000,000) examples go through `w2s label` and one epoch of
# `w2s train` on the weak labels with a very small model. Peak resident memory (GNU time's
# maximum RSS) of each command is printed; the test fails when the large run's peak exceeds
# the small run's by more than W2S_SCALE_TOLERANCE (default 0.10 = 10%): data must stream
# from HDF5, not be loaded whole. Slow (minutes on 2 cores): label `slow`.
source "$(dirname "$0")/lib_tiny.sh"
SMALL=${W2S_SCALE_SMALL:-100000}
LARGE=${W2S_SCALE_LARGE:-1000000}
TOL=${W2S_SCALE_TOLERANCE:-0.10}
BATCH=${W2S_SCALE_BATCH:-1024}
[ -x /usr/bin/time ] || { echo "SKIP: GNU time (/usr/bin/time) is not installed"; exit 77; }

# A template dataset from w2s prepare (its attributes are copied, so the schema is the real one)
# and a weak supervisor: 1 layer, d_model 16, context 16.
make_task data 200 40
"$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --out-dir data/split --tokenizer byte \
  --max-len 16 --seed 0 > prepare.log 2>&1
printf 'n_layer = 1\nn_head = 1\nd_model = 16\nn_ctx = 16\n' > small.ini
"$W2S_BIN" train --data data/split/train_a.h5 --run-dir weak --model small.ini --steps 5 --batch-size 16 \
  --lr 3e-3 --log-every 100 > weak.log 2>&1

# make_big N OUT: N examples in the template's schema, /input_ids chunked by 1024 rows as
# w2s prepare writes it; written in slices so the generator itself stays small.
make_big() {
  $PY - data/split/train_b.h5 "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
src, n, out = h5py.File(sys.argv[1], "r"), int(sys.argv[2]), sys.argv[3]
L = src["input_ids"].shape[1]
rng = np.random.default_rng(0)
with h5py.File(out, "w") as f:
    for k in src.attrs:
        f.attrs.create(k, src.attrs[k], dtype=src.attrs.get_id(k).dtype)
    ids = f.create_dataset("input_ids", (n, L), dtype="int32", chunks=(1024, L))
    lengths = f.create_dataset("lengths", (n,), dtype="int32")
    f.create_dataset("ids", data=np.arange(n, dtype=np.int64) * 3 + 1)
    labels = f.create_dataset("labels", (n,), dtype="int32")
    step = 1 << 16
    for a in range(0, n, step):
        b = min(n, a + step)
        ln = rng.integers(4, L + 1, b - a, dtype=np.int32)
        tok = rng.integers(97, 123, (b - a, L), dtype=np.int32)
        tok[np.arange(L)[None, :] >= ln[:, None]] = 257  # pad_id
        ids[a:b], lengths[a:b], labels[a:b] = tok, ln, (tok[:, 0] % 2).astype(np.int32)
PYEOF
}

# peak_kb LOG: the maximum resident set size GNU time wrote (kB).
peak_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

declare -A RSS
for n in "$SMALL" "$LARGE"; do
  make_big "$n" big_$n.h5
  start=$(date +%s)
  /usr/bin/time -v -o label_$n.time "$W2S_BIN" label --model weak/ckpt.h5 --data big_$n.h5 --out-dir labels_$n \
    --batch "$BATCH" > label_$n.log 2>&1 || fail "w2s label on $n examples: $(tail -3 label_$n.log)"
  mid=$(date +%s)
  /usr/bin/time -v -o train_$n.time "$W2S_BIN" train --data big_$n.h5 --labels labels_$n --run-dir student_$n \
    --model small.ini --epochs 1 --batch-size "$BATCH" --lr 1e-3 --log-every 100000 > train_$n.log 2>&1 \
    || fail "w2s train on $n examples: $(tail -3 train_$n.log)"
  end=$(date +%s)
  steps=$($PY -c 'import h5py,sys; print(h5py.File(sys.argv[1])["state"].attrs["step"])' student_$n/ckpt.h5)
  [ "$steps" -eq $(( (n + BATCH - 1) / BATCH )) ] || [ "$steps" -eq $(( n / BATCH )) ] \
    || fail "one epoch of $n examples at batch $BATCH took $steps steps"
  RSS[label_$n]=$(peak_kb label_$n.time); RSS[train_$n]=$(peak_kb train_$n.time)
  echo "n=$n: label peak RSS ${RSS[label_$n]} kB ($((mid - start)) s), train peak RSS ${RSS[train_$n]} kB" \
       "($((end - mid)) s, $steps steps)"
done

status=0
for cmd in label train; do
  small=${RSS[${cmd}_$SMALL]} large=${RSS[${cmd}_$LARGE]}
  ratio=$($PY -c "print(f'{$large / $small:.3f}')")
  per_example=$($PY -c "print(f'{($large - $small) * 1024 / ($LARGE - $SMALL):.1f}')")
  echo "w2s $cmd: peak RSS $LARGE / $SMALL examples = $ratio ($per_example bytes per extra example)"
  if $PY -c "import sys; sys.exit(0 if $large <= $small * (1 + $TOL) else 1)"; then
    check "w2s $cmd: peak RSS within $TOL of the small run"
  else
    echo "FAIL: w2s $cmd: peak RSS grows with the dataset ($ratio x for $((LARGE / SMALL)) x the examples)" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo PASS
exit "$status"
