#!/usr/bin/env bash
# tools/device_check.sh's step machinery, without a GPU: every step stubbed (W2S_CHECK_STUB=1),
# limits scaled down (W2S_CHECK_LIMIT_SCALE), one step made to hang while ignoring SIGTERM
# (W2S_CHECK_SIMULATE_HANG) and one to fail (W2S_CHECK_SIMULATE_FAIL). Checks that the hung step
# is cut at its limit (SIGKILL after the grace; the run's elapsed time is bounded), that every
# later step still runs, that the summary names the cut step TIMEOUT and the failed one FAIL, that
# each step's line is written when it starts, and that --dry-run lists every step with its limit.
# A few seconds.
set -euo pipefail
SRC=${W2S_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=${W2S_TEST_TMP:-$(mktemp -d)}
rm -rf "$TMP" && mkdir -p "$TMP"
CHECK=$SRC/tools/device_check.sh
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

# The step names and limits, from the dry run.
dry=$(bash "$CHECK" --dry-run) || fail "--dry-run exited $?"
echo "$dry"
mapfile -t steps < <(awk '$2 == "limit" { print $1 }' <<< "$dry")
[ "${#steps[@]}" -ge 12 ] || fail "--dry-run lists ${#steps[@]} steps, expected every step of the check"
for s in device kernels parity-fp32 parity-bf16 labels-fp32 labels-bf16 train-fp32 train-bf16 bench torch-baseline \
         hf-parity; do
  grep -Eq "^  $s +limit +[0-9]+s +default" <<< "$dry" || fail "--dry-run does not list step $s with a limit"
done
order=$(awk '$2 == "limit" && $4 == "default" { print $1 }' <<< "$dry" | tr '\n' ' ')
[[ $order == "device kernels parity-fp32 parity-bf16 labels-fp32 labels-bf16 train-fp32 train-bf16 bench "* ]] ||
  fail "steps out of order: $order"
worst=$(sed -n 's/.*worst case of the steps that would run: \([0-9]*\)s.*/\1/p' <<< "$dry")
[ -n "$worst" ] && [ "$worst" -le 420 ] || fail "the default steps may take ${worst:-?}s, over 7 minutes"
ok "--dry-run lists ${#steps[@]} steps with limits, in order; default worst case ${worst}s <= 420s"

# A stubbed run at 1/20 of the limits: labels-fp32 (20 s -> 1 s) hangs, train-fp32 fails.
SCALE=0.05
export OUT=$TMP/out W2S_CHECK_STUB=1 W2S_CHECK_LIMIT_SCALE=$SCALE
export W2S_CHECK_SIMULATE_HANG=labels-fp32 W2S_CHECK_SIMULATE_FAIL=train-fp32
start=$(date +%s.%N)
set +e
bash "$CHECK" --run "$TMP/no-stage" > "$TMP/run.out" 2>&1
rc=$?
set -e
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
cat "$TMP/run.out"
S=$OUT/summary.txt
[ -f "$S" ] || fail "no summary at $S"
[ "$rc" -eq 124 ] || fail "exit status $rc, expected 124 (the first failing step timed out)"
ok "exit status 124: the first failure is the timeout"

line() { grep -E "^\[check\] $1 " "$S" || fail "no summary line for step $1"; }
hung=$(line labels-fp32)
[[ $hung == *"started, limit 1s -> TIMEOUT after 1s"* ]] || fail "hung step's line: $hung"
ok "the hung step is cut at its limit: $hung"
failed=$(line train-fp32)
[[ $failed == *"-> FAIL rc 3"* ]] || fail "failed step's line: $failed"
ok "the failing step is reported: $failed"

# Every default step ran and has a completed line; the ones after the hang and the failure too.
after=0
for s in $(awk '$2 == "limit" && $4 == "default" { print $1 }' <<< "$dry"); do
  l=$(line "$s")
  [[ $l == *"... started, limit "*" -> "* ]] || fail "step $s has no completed line: $l"
  [ "$s" = labels-fp32 ] && after=1 && continue
  [ "$s" = train-fp32 ] && continue
  [[ $l == *"-> ok ("* ]] || fail "step $s did not run ok: $l"
  [ -f "$OUT/$s.log" ] && grep -q "stub of step $s" "$OUT/$s.log" || fail "step $s left no log of its command"
  [ "$after" = 1 ] && n_after=$((${n_after:-0} + 1))
done
[ "${n_after:-0}" -ge 6 ] || fail "only ${n_after:-0} steps ran after the hung one"
ok "${n_after} steps after the hung one still ran and completed"
for s in tests-async memcheck; do
  [[ $(line "$s") == *"SKIPPED (optional"* ]] || fail "optional step $s not reported SKIPPED"
done
grep -q "^\[check\] done in .*: 10 ok, 1 FAIL, 1 TIMEOUT, 2 SKIPPED; exit 124" "$S" || fail "no final tally: $(tail -1 "$S")"
ok "optional steps SKIPPED; final tally line"

# Bounded: 406 s of limits at 1/20 is ~20 s in the worst case; stubs take milliseconds, the hang
# its scaled limit (1 s) plus the scaled kill grace (0.15 s).
awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.0 && e < 12) }' || fail "the stubbed run took ${elapsed}s (want 1-12 s)"
ok "the whole stubbed run took ${elapsed}s"
[ ! -e "$OUT/step.pid" ] || fail "step.pid left behind after the run"

# A run cut short keeps the line of the step it was in: kill the check during the hang (as a
# device call that runs out of time would), then the hung step's process group by its id.
export OUT=$TMP/out-cut W2S_CHECK_LIMIT_SCALE=1 W2S_CHECK_SIMULATE_HANG=kernels
unset W2S_CHECK_SIMULATE_FAIL
bash "$CHECK" --run "$TMP/no-stage" > "$TMP/cut.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [ -s "$OUT/step.pid" ] && grep -q kernels "$OUT/step.pid" && break
  sleep 0.1
done
read -r step_pid step_name < "$OUT/step.pid" || fail "no step.pid while the kernels step runs"
[ "$step_name" = kernels ] || fail "step.pid names $step_name"
kill -TERM "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
kill -KILL -- "-$step_pid" 2> /dev/null || fail "the hung step's process group $step_pid is gone already"
grep -Eq "^\[check\] device +\.\.\. started, limit 10s -> ok" "$OUT/summary.txt" || fail "cut run: device line missing"
grep -Eq "^\[check\] kernels +\.\.\. started, limit 60s$" "$OUT/summary.txt" ||
  fail "cut run: the summary does not end with the kernels step started: $(cat "$OUT/summary.txt")"
ok "a run cut short still says which step it was in"

# Step selection: W2S_CHECK_STEPS runs only the named steps (optional ones included).
export OUT=$TMP/out-sel W2S_CHECK_STEPS=kernels,memcheck W2S_CHECK_LIMIT_SCALE=$SCALE
unset W2S_CHECK_SIMULATE_HANG
bash "$CHECK" --run "$TMP/no-stage" > /dev/null 2>&1 || fail "selected run failed"
grep -q "^\[check\] done .*: 2 ok, 0 FAIL, 0 TIMEOUT, 12 SKIPPED; exit 0" "$OUT/summary.txt" ||
  fail "selection: $(tail -1 "$OUT/summary.txt")"
ok "W2S_CHECK_STEPS selects steps"
