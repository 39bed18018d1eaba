#!/usr/bin/env bash
# A failing rank ends the whole job (non-zero, naming the rank and the cause; no hang); ranks
# started with different settings are refused at start-up; impossible TP shapes are usage errors.
source "$(dirname "$0")/lib_tiny.sh"
setup_tiny
args=(train --data data/split/train_a.h5 --model tiny.ini --steps 10 --batch-size 16 --log-every 100)

echo "a rank that throws mid-step ends the job"
set +e
timeout 60 "${MPIRUN[@]}" -n 2 "$W2S_BIN" "${args[@]}" --run-dir f1 --debug-fail-step 3 --debug-fail-rank 1 \
  > f1.out 2> f1.err
rc=$?
set -e
[ "$rc" -ne 124 ] || fail "the job hung (killed by timeout)"
[ "$rc" -ne 0 ] || fail "the job exited 0 although rank 1 failed"
grep -q "rank 1" f1.err || fail "stderr does not name rank 1: $(cat f1.err)"
grep -q "injected failure at step 3" f1.err || fail "stderr does not give the cause"
check "exit $rc, stderr names rank 1 and the injected failure"

echo "ranks with different settings are refused at start-up"
set +e
timeout 60 "${MPIRUN[@]}" -n 1 "$W2S_BIN" "${args[@]}" --run-dir f2 --seed 1 : \
  -n 1 "$W2S_BIN" "${args[@]}" --run-dir f2 --seed 2 > f2.out 2> f2.err
rc=$?
set -e
[ "$rc" -ne 124 ] || fail "the mismatched job hung"
[ "$rc" -ne 0 ] || fail "mismatched ranks were not refused"
grep -q "disagree on the configuration" f2.err || fail "no mismatch message: $(cat f2.err)"
[ ! -f f2/ckpt.h5 ] || fail "a refused run wrote a checkpoint"
check "exit $rc: $(grep -o 'rank [0-9] and rank 0 disagree[^:]*' f2.err | head -1)"

echo "shapes that do not divide are usage errors"
set +e
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${args[@]}" --run-dir f3 --tp 3 > f3.out 2> f3.err; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "--tp 3 on 2 ranks: exit $rc, expected 1"
grep -q "does not divide the world size" f3.err || fail "no clear message for --tp 3: $(cat f3.err)"
printf 'n_layer = 1\nn_head = 3\nd_model = 48\nn_ctx = 64\n' > three_heads.ini
set +e
"${MPIRUN[@]}" -n 2 "$W2S_BIN" train --data data/split/train_a.h5 --model three_heads.ini --steps 1 \
  --run-dir f4 --tp 2 > f4.out 2> f4.err; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "3 heads with --tp 2: exit $rc, expected 1"
grep -q "does not divide the number of attention heads" f4.err || fail "no clear message: $(cat f4.err)"
check "--tp 3 on 2 ranks and 3 heads on tp 2 refused with exit 1"
echo PASS
