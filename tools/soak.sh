#!/usr/bin/env bash
# Fault-injection soak (issue 8): runs an experiment (default configs/experiments/tiny-test.ini)
# under mpirun, SIGKILLs a random rank at a random moment, resumes, N times in a row; then lets
# it finish and checks (1) its report.json and report.md are byte-identical to those of an
# uninterrupted run with the same seed (both runs use the same run-tree path, which checkpoints
# record), and (2) every stage verifies: a further run skips every stage as "done already
# (verified)".
# Usage: tools/soak.sh [--kills N] [--ranks R] [--experiment INI] [--work DIR] [--seed S]
#   Needs W2S_BIN (default build/w2s). Exit 0 when both checks pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kills=10 ranks=2 experiment="$root/configs/experiments/tiny-test.ini" work="${TMPDIR:-/tmp}/w2s-soak" seed=$$
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --experiment) experiment=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tools/soak.sh: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
W2S_BIN=${W2S_BIN:-$root/build/w2s}
[ -x "$W2S_BIN" ] || { echo "tools/soak.sh: W2S_BIN=$W2S_BIN is not executable" >&2; exit 1; }
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RANDOM=$seed
rm -rf "$work"; mkdir -p "$work"; cd "$work"
pipeline() {  # pipeline OUT_DIR LOG: one run of the experiment into OUT_DIR, under mpirun
  mpiexec --allow-run-as-root --oversubscribe --bind-to none -n "$ranks" \
    "$W2S_BIN" pipeline --config "$experiment" --set "experiment.out=$work/$1" > "$2" 2>&1
}

echo "[soak] uninterrupted reference run"
t0=$(date +%s%N)
pipeline tree ref.log || { tail -20 ref.log; echo "[soak] FAIL: the reference run failed" >&2; exit 1; }
mv "$work/tree" "$work/ref"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "[soak] reference: $(grep -c '^\[[0-9]*/[0-9]*\]' ref.log) stages in $ms ms"

# ranks: pids of the w2s processes (not mpiexec) writing the soak tree.
ranks_of_soak() {
  local exe pid
  exe=$(readlink -f "$W2S_BIN")
  for pid in $(pgrep -f "experiment.out=$work/tree" || true); do
    [ "$(readlink -f /proc/$pid/exe 2>/dev/null)" = "$exe" ] && echo "$pid"
  done
  return 0
}
# One chain: a fresh tree, killed $kills times in a row (each kill at a random moment within a
# slice of the reference run time, so the kills spread over the whole pipeline), resumed after
# each. A run that completes before its kill ends the chain early: start a new chain.
slice=$(( ms * 3 / kills + 300 )) max_chains=6
done_kills=0 attempt=0 chain=0
while [ "$done_kills" -lt "$kills" ]; do
  if [ "$attempt" -eq 0 ] || [ "$completed" = yes ]; then
    chain=$((chain + 1)); done_kills=0
    [ "$chain" -le "$max_chains" ] || { echo "[soak] FAIL: no chain of $kills kills in $max_chains tries" >&2; exit 1; }
    rm -rf "$work/tree"
    echo "[soak] chain $chain: a fresh run tree"
  fi
  attempt=$((attempt + 1)) completed=no
  delay=$(( (RANDOM * 32768 + RANDOM) % slice + 200 ))  # ms
  pipeline tree run_$attempt.log &
  launcher=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  mapfile -t pids < <(ranks_of_soak)
  if [ ${#pids[@]} -gt 0 ]; then
    victim=${pids[$((RANDOM % ${#pids[@]}))]}
    kill -9 "$victim" 2>/dev/null && done_kills=$((done_kills + 1))
    wait "$launcher" 2>/dev/null && rc=0 || rc=$?
    echo "[soak] kill $done_kills/$kills: rank pid $victim after $delay ms (launcher exit $rc;" \
         "$(grep -c 'done already (verified), skipped' run_$attempt.log || true) stages skipped as done;" \
         "killed in: $(grep '^\[[0-9]*/[0-9]*\]' run_$attempt.log | tail -1))"
  elif wait "$launcher"; then
    completed=yes
    echo "[soak] the run completed before the kill at $delay ms"
  else
    echo "[soak] FAIL: a resumed run failed without a kill: $(tail -3 run_$attempt.log)" >&2; exit 1
  fi
done

echo "[soak] resume to completion"
pipeline tree final.log || { tail -20 final.log; echo "[soak] FAIL: the resumed run failed" >&2; exit 1; }
pipeline tree verify.log || { echo "[soak] FAIL: the verification run failed" >&2; exit 1; }
stages=$(grep -c '^\[[0-9]*/[0-9]*\]' verify.log)
skipped=$(grep -c "done already (verified), skipped" verify.log || true)
[ "$stages" -gt 0 ] && [ "$skipped" -eq "$stages" ] \
  || { echo "[soak] FAIL: after the soak only $skipped of $stages stages verify" >&2; exit 1; }
echo "[soak] every stage verifies ($skipped of $stages skipped as done)"
for f in report.json report.md; do
  cmp -s "$work/ref/$f" "$work/tree/$f" \
    || { echo "[soak] FAIL: $f differs from the uninterrupted run's" >&2; diff "$work/ref/$f" "$work/tree/$f" | head >&2; exit 1; }
done
echo "[soak] report.json ($(wc -c < "$work/tree/report.json") bytes) and report.md identical to the uninterrupted run's"
echo "[soak] PASS: $kills random kills, identical report, every file verified"
