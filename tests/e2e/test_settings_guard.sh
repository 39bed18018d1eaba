#!/usr/bin/env bash
# Settings guard (docs/reliability.md §10, "Settings a run cannot silently change"):
# - `train --resume` refuses, with exit 1 and one line naming each differing key and both values,
#   any change of a setting the result depends on (here --lr, --data, --seed), and leaves the
#   checkpoint untouched; a bookkeeping option (--log-every) may change and the run resumes.
# - numbers are validated before anything is read or written: --lr nan, --lr -1, --epochs -1,
#   --batch-size 0, --seed -1, a batch larger than the dataset, an experiment file with a
#   negative lr or an empty out path: each one line, exit 1, nothing written.
# - a finite learning rate that overflows the weights (--lr 1e300) stops the run at that step
#   with exit 3 before any checkpoint holds non-finite weights.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny
# w2s_train ARGS...: the run under test; LR, DATA, SEED, BATCH and EPOCHS (set before the call)
# change one setting, since Boost refuses an option given twice.
w2s_train() {
  "$W2S_BIN" train --data "${DATA:-data/split/train_a.h5}" --model tiny.ini --steps 12 --batch-size "${BATCH:-16}" \
    --lr "${LR:-3e-3}" --seed "${SEED:-0}" --epochs "${EPOCHS:-1}" --log-every 1 "$@"
}

# expect_usage_error NAME FRAGMENT CMD...: exit 1, one stderr line holding FRAGMENT.
expect_usage_error() {
  local name=$1 fragment=$2; shift 2
  set +e
  "$@" > "$name.out" 2> "$name.err"; local rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "$name: exit $rc, expected 1: $(cat "$name.err")"
  [ "$(wc -l < "$name.err")" -eq 1 ] || fail "$name: expected one line on stderr, got: $(cat "$name.err")"
  grep -qF -- "$fragment" "$name.err" || fail "$name: '$fragment' not in: $(cat "$name.err")"
  check "$name: $(cat "$name.err")"
}

echo "resume under changed result settings is refused; the checkpoint is untouched"
w2s_train --run-dir run --stop-after 6 > first.log
sha_before=$(sha256sum run/ckpt.h5 | cut -d' ' -f1)
LR=1e-3 expect_usage_error resume-lr "--lr: 0.003 in the checkpoint, now 0.001" w2s_train --run-dir run --resume
DATA=data/split/train_b.h5 expect_usage_error resume-data "--data: " w2s_train --run-dir run --resume
grep -qF "train_a.h5 in the checkpoint, now " resume-data.err && grep -qF "train_b.h5" resume-data.err \
  || fail "the --data difference does not show both paths: $(cat resume-data.err)"
SEED=1 expect_usage_error resume-seed "--seed: 0 in the checkpoint, now 1" w2s_train --run-dir run --resume
LR=1e-2 SEED=2 expect_usage_error resume-two "--lr: 0.003 in the checkpoint, now 0.01; --seed: 0 in the checkpoint, now 2" \
  w2s_train --run-dir run --resume
[ "$(sha256sum run/ckpt.h5 | cut -d' ' -f1)" = "$sha_before" ] || fail "a refused resume changed the checkpoint"
check "checkpoint unchanged"

echo "resume with another --log-every (bookkeeping) is accepted and completes the same run"
w2s_train --run-dir whole > whole.log
(cd data && "$W2S_BIN" train --data split/train_a.h5 --model ../tiny.ini --steps 12 --batch-size 16 --lr 3e-3 \
  --seed 0 --epochs 1 --log-every 5 --run-dir ../run --resume > ../second.log) \
  || fail "resume from another working directory was refused"
grep -q "resuming ../run at step 6/12" second.log || fail "did not resume at step 6: $(cat second.log)"
[ "$(losses_of whole | tail -1)" = "$(losses_of run | tail -1)" ] || fail "final loss differs from an uninterrupted run"
check "resumed at step 6 from another working directory with --log-every 5; final loss identical to an uninterrupted run"

echo "numbers out of range: one line, exit 1, nothing written"
LR=nan expect_usage_error lr-nan "--lr must be > 0 (a finite number), got nan" w2s_train --run-dir bad1
LR=-1 expect_usage_error lr-negative "--lr must be > 0, got -1" w2s_train --run-dir bad2
EPOCHS=-1 expect_usage_error epochs-negative "--epochs must be" w2s_train --run-dir bad3
BATCH=0 expect_usage_error batch-zero "--batch-size must be >= 1, got 0" w2s_train --run-dir bad4
SEED=-1 expect_usage_error seed-negative "--seed must be >= 0, got -1" w2s_train --run-dir bad5
n_a=$(grep -o "[0-9]* examples in pool" whole.log | cut -d' ' -f1)
[ -n "$n_a" ] || fail "fixture: no pool size in whole.log"
BATCH=100000 expect_usage_error batch-too-large \
  "--batch-size 100000 is larger than the $n_a training examples in data/split/train_a.h5" w2s_train --run-dir bad6
for d in bad1 bad2 bad3 bad4 bad5 bad6; do [ ! -e "$d/ckpt.h5" ] || fail "$d: a refused run wrote a checkpoint"; done
check "no checkpoint written by any refused run"

echo "experiment files: a negative lr and an empty out path are refused before anything is planned"
sed 's/^lr = 2e-3$/lr = -1/; s#^out = .*#out = runs/neg#' "$W2S_SOURCE_DIR/configs/experiments/tiny-test.ini" > neg.ini
grep -q "^lr = -1" neg.ini || fail "fixture: no negative lr in neg.ini"
expect_usage_error experiment-negative-lr "neg.ini: 'pretrain.lr' must be > 0, got -1" \
  "$W2S_BIN" pipeline --experiment neg.ini
sed 's#^out = .*#out =#' "$W2S_SOURCE_DIR/configs/experiments/tiny-test.ini" > noout.ini
expect_usage_error experiment-empty-out "noout.ini: experiment.out is empty" "$W2S_BIN" pipeline --experiment noout.ini
[ ! -e runs ] || fail "a refused experiment wrote $(find runs | head -3)"
check "nothing written under runs/"

echo "an update that overflows the weights stops the run before a checkpoint holds them"
set +e
LR=1e300 w2s_train --run-dir overflow --save-every 1 > overflow.log 2> overflow.err; rc=$?
set -e
[ "$rc" -eq 3 ] || fail "exit $rc, expected 3: $(cat overflow.err)"
grep -q "step 0: the update made the weights non-finite" overflow.err || fail "unclear message: $(cat overflow.err)"
[ ! -e overflow/ckpt.h5 ] || fail "a checkpoint was written with non-finite weights"
check "exit 3 at step 0, no checkpoint"
echo PASS
