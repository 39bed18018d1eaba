#!/usr/bin/env bash
# Resume: N steps in one go and N/2 + --resume N/2 give bit-identical metrics.jsonl losses.
# Non-finite guard (--debug-nan-step S --debug-nan-count N makes steps S..S+N-1 non-finite): one
# bad step, and K-1 in a row, are skipped and counted and the run completes; K in a row with
# --max-bad-steps K stop the run with a clear message and leave the last good checkpoint intact.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny
args=(train --data data/split/train_a.h5 --model tiny.ini --steps 12 --batch-size 16 --lr 3e-3 --log-every 1)

echo "12 steps in one go vs 6 + resume 6"
"$W2S_BIN" "${args[@]}" --run-dir whole > whole.log
"$W2S_BIN" "${args[@]}" --run-dir halves --stop-after 6 > half1.log
[ "$(losses_of halves | wc -l)" -eq 6 ] || fail "first half did not stop after 6 steps"
"$W2S_BIN" "${args[@]}" --run-dir halves --resume > half2.log
grep -q "resuming halves at step 6/12" half2.log || fail "second half did not resume at step 6"
cmp <(losses_of whole) <(losses_of halves) || fail "losses differ between one run and half + resume"
check "12 losses bit-identical"

echo "--no-save-optimizer drops the optimizer state from the final checkpoint only (an unfinished run must resume)"
"$W2S_BIN" "${args[@]}" --run-dir nosave --no-save-optimizer --stop-after 6 > nosave1.log
"$W2S_BIN" "${args[@]}" --run-dir nosave --no-save-optimizer --resume > nosave2.log || fail "interrupted --no-save-optimizer run cannot resume: $(tail -2 nosave2.log)"
cmp <(losses_of whole) <(losses_of nosave) || fail "losses differ after resuming a --no-save-optimizer run"
$PY -c 'import h5py,sys; assert "optim" not in h5py.File(sys.argv[1]), "final checkpoint kept /optim"' nosave/ckpt.h5 \
  || fail "the finished --no-save-optimizer run kept its optimizer state"
check "resumed bit-identically; the final checkpoint has no /optim"

echo "one NaN step is skipped and counted; the run completes"
"$W2S_BIN" "${args[@]}" --run-dir nan1 --debug-nan-step 4 --max-bad-steps 3 > nan1.log 2> nan1.err
grep -q "step 4: non-finite gradient norm; update skipped (1 in a row)" nan1.err || fail "no skip warning: $(cat nan1.err)"
$PY -c 'import h5py,sys; h=h5py.File(sys.argv[1]); s=h["state"].attrs; assert s["step"]==12 and s["skipped_steps"]==1, dict(s)' \
  nan1/ckpt.h5 || fail "checkpoint does not record 12 steps with 1 skipped"
check "warning printed, 12 steps done, skipped_steps = 1 in the checkpoint"

echo "K-1 = 2 consecutive NaN steps (--max-bad-steps 3) are skipped and counted; the run completes"
"$W2S_BIN" "${args[@]}" --run-dir nan2 --debug-nan-step 4 --debug-nan-count 2 --max-bad-steps 3 > nan2.log 2> nan2.err
grep -q "step 4: non-finite gradient norm; update skipped (1 in a row)" nan2.err || fail "no skip warning at step 4: $(cat nan2.err)"
grep -q "step 5: non-finite gradient norm; update skipped (2 in a row)" nan2.err || fail "no skip warning at step 5: $(cat nan2.err)"
[ "$(grep -c 'update skipped' nan2.err)" -eq 2 ] || fail "expected exactly 2 skipped steps: $(cat nan2.err)"
$PY -c 'import h5py,sys; h=h5py.File(sys.argv[1]); s=h["state"].attrs; assert s["step"]==12 and s["skipped_steps"]==2, dict(s)' \
  nan2/ckpt.h5 || fail "checkpoint does not record 12 steps with 2 skipped"
check "steps 4 and 5 skipped (1 and 2 in a row), 12 steps done, skipped_steps = 2 in the checkpoint"

echo "K = 3 consecutive NaN steps with --max-bad-steps 3 stop the run; the last good checkpoint stays intact"
"$W2S_BIN" "${args[@]}" --run-dir nan3 --save-every 1 --stop-after 3 > /dev/null
sha_before=$(sha256sum nan3/ckpt.h5 | cut -d' ' -f1)
set +e
"$W2S_BIN" "${args[@]}" --run-dir nan3 --resume --debug-nan-step 3 --debug-nan-count 3 --max-bad-steps 3 \
  > nan3.log 2> nan3.err; rc=$?
set -e
[ "$rc" -eq 3 ] || fail "exit $rc, expected 3 (runtime failure)"
for k in 1 2 3; do
  grep -q "step $((k + 2)): non-finite gradient norm; update skipped ($k in a row)" nan3.err \
    || fail "no skip warning for bad step $k: $(cat nan3.err)"
done
grep -q "3 consecutive non-finite steps at step 5: stopping; the last good checkpoint (nan3/ckpt.h5) is left intact" nan3.err \
  || fail "unclear message: $(cat nan3.err)"
[ "$(sha256sum nan3/ckpt.h5 | cut -d' ' -f1)" = "$sha_before" ] || fail "the checkpoint changed"
"$W2S_BIN" "${args[@]}" --run-dir nan3 --resume > nan3b.log || fail "the intact checkpoint does not resume"
grep -q "resuming nan3 at step 3/12" nan3b.log || fail "did not resume at step 3: $(cat nan3b.log)"
check "exit 3 after 3 bad steps with a clear message; checkpoint unchanged and resumable from step 3"
echo PASS
