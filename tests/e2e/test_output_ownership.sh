#!/usr/bin/env bash
# Ownership of output folders (docs/reliability.md, "Output folders and full disks"):
#  - a folder another live w2s run holds is refused (exit 1) with the holder named, for train and
#    for label, under mpirun too; a killed holder leaves no stale lock;
#  - label removes only temporaries it can prove a dead w2s writer left (a user's x.tmp.y stays);
#  - an output equal to an input (eval --out onto its own --model, however spelt) is refused;
#  - train into a folder with a checkpoint needs --resume or --overwrite.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny
train=(train --data data/split/train_a.h5 --model tiny.ini --batch-size 16 --lr 3e-3 --log-every 1000)
sha() { sha256sum "$1" | cut -d' ' -f1; }

# expect_refused RC_WANTED LOG PATTERN... : the last command's exit code and message.
expect_refused() {
  local want=$1 log=$2
  shift 2
  [ "$rc" -eq "$want" ] || fail "exit $rc, expected $want: $(tail -3 "$log")"
  for p in "$@"; do grep -qF -- "$p" "$log" || fail "message lacks '$p': $(tail -3 "$log")"; done
}

echo "a folder held by a live run is refused, naming the holder; a killed holder leaves no stale lock"
"$W2S_BIN" "${train[@]}" --run-dir busy --steps 1000000 > holder.log 2>&1 &
holder=$!
for _ in $(seq 1 300); do
  grep -q "pid $holder " busy/.w2s.lock 2> /dev/null && break
  kill -0 "$holder" 2> /dev/null || fail "the holder run ended early: $(tail -3 holder.log)"
  sleep 0.1
done
grep -q "pid $holder on host $(hostname) since .*: w2s train .*--run-dir busy" busy/.w2s.lock \
  || fail "lock file does not record the holder: $(cat busy/.w2s.lock 2> /dev/null)"
set +e
"$W2S_BIN" "${train[@]}" --run-dir busy --steps 2 --overwrite > second.log 2>&1; rc=$?
set -e
expect_refused 1 second.log "busy is in use by another w2s run (pid $holder on host $(hostname)" "w2s train"
set +e
"$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir busy > label_busy.log 2>&1; rc=$?
set -e
expect_refused 1 label_busy.log "busy is in use by another w2s run (pid $holder"
set +e
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${train[@]}" --run-dir busy --steps 2 --overwrite > mpi_busy.log 2>&1; rc=$?
set -e
expect_refused 1 mpi_busy.log "busy is in use by another w2s run (pid $holder"
kill -9 "$holder"
wait "$holder" 2> /dev/null || true
"$W2S_BIN" "${train[@]}" --run-dir busy --steps 2 > after_kill.log 2>&1 || fail "the lock outlived its killed holder: $(tail -2 after_kill.log)"
[ ! -e busy/.w2s.lock ] || fail "a run that ended normally left its lock file"
check "train, label and a 2-rank train refused with exit 1 and the holder's pid; free again once the holder was killed"

echo "label removes only the temporaries a dead w2s writer of this host left"
"$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir labels > label1.log
sleep 0 & dead=$!
wait "$dead"
echo "user data" > labels/notes.tmp.keep
echo "user data" > labels/x.tmp.y
echo "other host" > "labels/shard-00000-of-00001.h5.tmp.w2s.$$@another-host.example"
echo "live writer" > "labels/shard-00000-of-00001.h5.tmp.w2s.$$@$(hostname)"
echo "dead writer" > "labels/shard-00000-of-00001.h5.tmp.w2s.$dead@$(hostname)"
"$W2S_BIN" label --model weak/ckpt.h5 --data data/split/train_b.h5 --out-dir labels > label2.log
for f in notes.tmp.keep x.tmp.y "shard-00000-of-00001.h5.tmp.w2s.$$@another-host.example" \
         "shard-00000-of-00001.h5.tmp.w2s.$$@$(hostname)"; do
  [ -f "labels/$f" ] || fail "label deleted $f, a file it cannot prove it wrote"
done
[ ! -e "labels/shard-00000-of-00001.h5.tmp.w2s.$dead@$(hostname)" ] || fail "the dead writer's temporary was kept"
check "user files, another host's and a live process's temporaries kept; the dead writer's removed"

echo "an output equal to an input is refused"
before=$(sha weak/ckpt.h5)
for out in weak/ckpt.h5 ./weak/../weak/ckpt.h5 "$PWD/weak/ckpt.h5"; do
  set +e
  "$W2S_BIN" eval --model weak/ckpt.h5 --data data/split/test.h5 --out "$out" > eval_same.log 2>&1; rc=$?
  set -e
  expect_refused 1 eval_same.log "--out $out is the same file as --model weak/ckpt.h5"
done
ln -s weak/ckpt.h5 alias.h5
set +e
"$W2S_BIN" eval --model alias.h5 --data data/split/test.h5 --out weak/ckpt.h5 > eval_link.log 2>&1; rc=$?
set -e
expect_refused 1 eval_link.log "--out weak/ckpt.h5 is the same file as --model alias.h5"
set +e
"$W2S_BIN" train --data data/split/train_a.h5 --init weak/ckpt.h5 --run-dir ./weak --steps 2 --overwrite \
  > train_same.log 2>&1; rc=$?
set -e
expect_refused 1 train_same.log "ckpt.h5 in --run-dir ./weak/ckpt.h5 is the same file as --init weak/ckpt.h5"
[ "$(sha weak/ckpt.h5)" = "$before" ] || fail "the model checkpoint changed"
check "eval --out onto its --model (plain, ./.., absolute, via a symlink) and train --init onto its own checkpoint refused with exit 1; checkpoint unchanged"

echo "train into a run folder with a checkpoint needs --resume or --overwrite"
set +e
"$W2S_BIN" "${train[@]}" --run-dir weak --steps 3 > again.log 2>&1; rc=$?
set -e
expect_refused 1 again.log "weak/ckpt.h5 already holds a finished run's checkpoint (step 20 of 20)" "--resume" "--overwrite"
[ "$(sha weak/ckpt.h5)" = "$before" ] || fail "the refused run changed the checkpoint"
set +e
"$W2S_BIN" "${train[@]}" --run-dir weak --steps 3 --resume --overwrite > both.log 2>&1; rc=$?
set -e
expect_refused 1 both.log "not both"
"$W2S_BIN" "${train[@]}" --run-dir weak --steps 3 --overwrite > overwrite.log 2>&1 || fail "--overwrite refused: $(tail -2 overwrite.log)"
$PY -c 'import h5py,sys; s=h5py.File(sys.argv[1])["state"].attrs; assert s["step"]==3 and s["total_steps"]==3, dict(s)' \
  weak/ckpt.h5 || fail "--overwrite did not replace the run"
check "refused with exit 1 naming both flags (checkpoint unchanged); --overwrite replaced the run"
echo "PASS"
