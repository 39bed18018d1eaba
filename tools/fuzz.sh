#!/usr/bin/env bash
# Long fuzz runs (issue 8, docs/reliability.md): each target to RUNS executions (default 10^6)
# from its committed seed corpus, with ASan+UBSan. Needs a W2S_FUZZ=ON clang build:
#   cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DW2S_FUZZ=ON
#   cmake --build build-fuzz --target fuzz_jsonl fuzz_safetensors fuzz_config fuzz_manifest fuzz_h5 fuzz_tokenizer
# Usage: tools/fuzz.sh [--build DIR] [--runs N] [--seconds S] [--work DIR] [TARGET...]
#   TARGET: jsonl safetensors config manifest h5 tokenizer (default: all). --seconds caps each
#   target's time (0: none). Prints one line per target: executions, seconds, exec/s, outcome;
#   a finding leaves its input as WORK/TARGET/crash-* (copy it to tests/fuzz/regressions/TARGET/
#   once fixed, so every build replays it). Exit 1 when any target found something.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz" runs=1000000 seconds=0 work="${TMPDIR:-/tmp}/w2s-fuzz-work"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tools/fuzz.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
    *) break ;;
  esac
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jsonl safetensors config manifest h5 tokenizer)
status=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "tools/fuzz.sh: $bin not built (see --help)" >&2; exit 1; }
  mkdir -p "$work/$t"
  inputs=("$root/tests/fuzz/corpus/$t")
  [ -d "$root/tests/fuzz/regressions/$t" ] && inputs+=("$root/tests/fuzz/regressions/$t")
  log="$work/$t.log"
  t0=$(date +%s)
  set +e
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=1 \
    "$bin" -runs="$runs" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/$t/" "$work/$t" "${inputs[@]}" > "$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - t0 ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  outcome="clean"
  if [ "$rc" -ne 0 ]; then
    artifact=$(sed -n "s|.*Test unit written to \(.*\)|\1|p" "$log" | tail -1)
    outcome="FINDING (exit $rc; ${artifact:-no input written}; see $log)"
    status=1
  fi
  echo "fuzz_$t: ${execs:-?} executions in ${elapsed} s, ${rate:-?} exec/s, $outcome"
done
exit "$status"
