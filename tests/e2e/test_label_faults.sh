#!/usr/bin/env bash
# Label shards under failure: shard invariance over the number of labeling ranks and over the
# student's DP size; a deleted shard is recomputed alone; a flipped byte is refused by name; a
# labeling run killed with SIGKILL leaves no half-written shard and the re-run completes.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny 400 80

# dump_labels DIR OUT: every shard's (id, probs, logits), sorted by id, as one .npz-free text dump.
dump_labels() {
  $PY - "$1" > "$2" <<'PYEOF'
import glob, sys, h5py, numpy as np
ids, probs, logits = [], [], []
for f in sorted(glob.glob(sys.argv[1] + "/shard-*.h5")):
    with h5py.File(f, "r") as h:
        ids.append(h["ids"][:]); probs.append(h["probs"][:]); logits.append(h["logits"][:])
ids = np.concatenate(ids); order = np.argsort(ids)
for i in order:
    print(ids[i], " ".join(x.hex() for x in np.concatenate([np.concatenate(probs)[i], np.concatenate(logits)[i]]).astype(float)))
PYEOF
}

echo "labels from 4 ranks equal labels from 1 rank, example by example (bit for bit)"
"${MPIRUN[@]}" -n 4 "$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir labels4 > l4.log
"$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir labels1 > l1.log
[ "$(ls labels4/shard-*.h5 | wc -l)" -eq 4 ] || fail "expected 4 shards from 4 ranks"
[ "$(ls labels1/shard-*.h5 | wc -l)" -eq 1 ] || fail "expected 1 shard from 1 rank"
dump_labels labels4 d4.txt
dump_labels labels1 d1.txt
[ "$(wc -l < d1.txt)" -eq 200 ] || fail "expected 200 labelled examples, got $(wc -l < d1.txt)"
cmp -s d4.txt d1.txt || fail "labels differ between 4 and 1 labeling ranks"
check "200 labels identical (4 shards vs 1 shard)"

echo "students with DP = 1, 2 and 3 see the same labels (identical loss curves)"
for n in 1 2 3; do
  "${MPIRUN[@]}" -n $n "$W2S_BIN" train --data data/split/train_b.h5 --labels labels4 --loss xent --model tiny.ini --seed 3 \
    --run-dir student$n --steps 6 --batch-size 12 --lr 1e-3 --log-every 1 > s$n.log
  losses_of student$n > loss$n.txt
done
for n in 2 3; do
  $PY - loss1.txt loss$n.txt <<'PYEOF' || fail "DP=$n loss curve differs from DP=1"
import sys
a = [float(x) for x in open(sys.argv[1])]; b = [float(x) for x in open(sys.argv[2])]
assert len(a) == len(b) == 6, (len(a), len(b))
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"  DP={sys.argv[2][4]}: max relative loss difference {worst:.2e}")
assert worst < 1e-5
PYEOF
done
check "loss curves of DP 1, 2, 3 agree within 1e-5"

echo "a deleted shard is recomputed, and only that one"
rm labels4/shard-00002-of-00004.h5
"${MPIRUN[@]}" -n 4 "$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir labels4 > relabel.log
grep -q "1 shard(s) computed, 3 already verified and skipped" relabel.log || fail "re-run did not say 1 computed / 3 skipped: $(cat relabel.log)"
dump_labels labels4 d4b.txt
cmp -s d4b.txt d1.txt || fail "recomputed shard differs"
check "$(grep -o '1 shard(s) computed, 3 already verified and skipped' relabel.log)"

echo "a flipped byte in a shard is refused by name"
cp -r labels4 tampered
$PY - tampered/shard-00001-of-00004.h5 <<'PYEOF'
import os, sys
p = sys.argv[1]; n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n // 2); b = f.read(1); f.seek(n // 2); f.write(bytes([b[0] ^ 0xFF]))
PYEOF
set +e
"$W2S_BIN" train --data data/split/train_b.h5 --labels tampered --init weak/ckpt.h5 --run-dir refused --steps 1 \
  > refused.out 2> refused.err; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "tampered labels: exit $rc, expected 2 (data error)"
grep -q "shard-00001-of-00004.h5" refused.err || fail "error does not name the shard: $(cat refused.err)"
grep -q "tampered" refused.err || fail "error does not say why: $(cat refused.err)"
[ ! -e refused/ckpt.h5 ] || fail "a refused run wrote a checkpoint"
check "exit 2: $(head -c 160 refused.err)"

echo "SIGKILL in the middle of labeling leaves no half-written shard; the re-run completes"
# A wider model and more data make labeling last long enough to be killed midway.
make_task big 6000 10
"$W2S_BIN" prepare --train big/train.jsonl --test big/test.jsonl --out-dir big/split --tokenizer byte --max-len 64 > /dev/null
printf 'n_layer = 4\nn_head = 4\nd_model = 128\nn_ctx = 64\n' > wide.ini
"$W2S_BIN" train --data big/split/train_a.h5 --run-dir wide --model wide.ini --steps 1 --batch-size 8 > /dev/null
"$W2S_BIN" label --model wide/ckpt.h5 --data big/split/train_b.h5 --out-dir killed --shards 12 --batch 8 > killed.log &
pid=$!
for _ in $(seq 600); do
  [ "$(ls killed/shard-*.h5 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.05
done
kill -9 $pid || true
wait $pid 2>/dev/null || true
done_before=$(ls killed/shard-*.h5 2>/dev/null | wc -l)
[ "$done_before" -ge 1 ] && [ "$done_before" -lt 12 ] || fail "kill did not land midway ($done_before of 12 shards)"
[ ! -f killed/manifest.json ] || fail "a manifest exists after the kill"
for f in killed/shard-*.h5; do
  $PY -c 'import h5py,sys; h=h5py.File(sys.argv[1],"r"); n=h.attrs["count"]; assert h["probs"].shape[0]==n' "$f" \
    || fail "$f is half-written"
done
check "killed with $done_before/12 shards complete, each complete; $(ls killed | grep -c '\.tmp\.' || true) temporary file(s) left"
"$W2S_BIN" label --model wide/ckpt.h5 --data big/split/train_b.h5 --out-dir killed --shards 12 --batch 8 > rerun.log
grep -q "already verified and skipped" rerun.log || fail "re-run did not skip verified shards"
ls killed | grep -q '\.tmp\.' && fail "temporary files left after the re-run"
"$W2S_BIN" train --data big/split/train_b.h5 --labels killed --init wide/ckpt.h5 --run-dir after --steps 1 \
  --batch-size 8 > after.log || fail "the completed label set does not verify"
check "re-run: $(grep -o '[0-9]* shard(s) computed, [0-9]* already verified and skipped' rerun.log); manifest verifies"
echo PASS
