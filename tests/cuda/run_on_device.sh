#!/usr/bin/env bash
# Runs CUDA test suites on a GPU machine, ONE PROCESS PER TEST SUITE, so that a kernel fault (an
# illegal address poisons the whole CUDA context) is pinned on its own suite instead of failing
# every later test. tools/device_check.sh calls this for its test steps; docs/cuda.md says how to
# build and ship the binary.
#
# Usage: bash tests/cuda/run_on_device.sh [BIN [INCLUDE_ERE [EXCLUDE_ERE]]]
#   BIN          w2s_cuda_tests (default build-cuda/tests/w2s_cuda_tests)
#   INCLUDE_ERE  suites whose name matches it in full (grep -E -x; default: every suite), e.g.
#                'ModelParity/float|ModelReports'; typed suites are named Suite/float, Suite/bf16
#   EXCLUDE_ERE  of those, leave out the suites that match it in full
# Environment:
#   W2S_LAUNCH_BLOCKING=1  (default) CUDA_LAUNCH_BLOCKING=1: every launch synchronous, so an error
#                          surfaces at the launch that caused it; 0 for the asynchronous pass
#   W2S_SUITE_LIMIT=60     seconds per suite (timeout; SIGKILL 3 s after SIGTERM)
#   W2S_MEMCHECK=1         each suite under compute-sanitizer --tool memcheck (slow: a call of its own)
#   OUT                    folder for the logs (default /tmp/w2s-cuda-out): cuda-SUITE.log and
#                          cuda-SUITE.xml per suite ('/' in a name becomes '_'), suites.txt
# Prints one line per suite ("[suite] NAME ok (3s)", "FAIL rc N", "TIMEOUT after Ns",
# "SKIPPED (no GPU)"). Exit status: 0 if every suite passed, 77 if every suite skipped (no GPU
# visible), else the first failing suite's (124 for a timeout).
set -uo pipefail
BIN=${1:-build-cuda/tests/w2s_cuda_tests}
INCLUDE=${2:-.*}
EXCLUDE=${3:-}
OUT=${OUT:-/tmp/w2s-cuda-out}
LIMIT=${W2S_SUITE_LIMIT:-60}
mkdir -p "$OUT"
# The H100/H200 nodes keep the CUDA libraries in torch's virtual environment (docs/cuda.md).
NV=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
[ -d "$NV" ] && export LD_LIBRARY_PATH="$NV/cu13/lib:$NV/cublas/lib:$NV/cudnn/lib:$NV/nccl/lib:${LD_LIBRARY_PATH:-}"
export PATH="$PATH:/usr/local/cuda/bin"
if [ "${W2S_LAUNCH_BLOCKING:-1}" = 1 ]; then export CUDA_LAUNCH_BLOCKING=1; else unset CUDA_LAUNCH_BLOCKING; fi

# Suite names from the binary (listing needs no GPU): lines that do not start with a space,
# "Suite." or "Suite/bf16.  # TypeParam = ...".
suites=$("$BIN" --gtest_list_tests | grep -v '^ ' | sed -e 's/\..*$//' | grep -E -x -- "$INCLUDE")
[ -n "$EXCLUDE" ] && suites=$(grep -v -E -x -- "$EXCLUDE" <<< "$suites")
if [ -z "$suites" ]; then
  echo "no CUDA test suite matches '$INCLUDE' (minus '$EXCLUDE')"
  exit 1
fi
echo "suites: $(echo $suites) (CUDA_LAUNCH_BLOCKING=${CUDA_LAUNCH_BLOCKING:-0}, ${LIMIT}s each)"

first_failure=0 n_run=0 n_skip=0
for suite in $suites; do
  file=cuda-${suite//\//_}
  cmd=("$BIN" --gtest_filter="$suite.*" --gtest_output=xml:"$OUT/$file.xml")
  [ "${W2S_MEMCHECK:-0}" = 1 ] && cmd=(compute-sanitizer --tool memcheck --error-exitcode 99 "${cmd[@]}")
  start=$SECONDS
  timeout --kill-after=3s "${LIMIT}s" "${cmd[@]}" > "$OUT/$file.log" 2>&1 < /dev/null
  rc=$?
  case $rc in
    0) result="ok ($((SECONDS - start))s)" ;;
    77) result="SKIPPED (no GPU)"; n_skip=$((n_skip + 1)) ;;
    124 | 137) result="TIMEOUT after ${LIMIT}s"; rc=124 ;;
    *) result="FAIL rc $rc ($((SECONDS - start))s)" ;;
  esac
  n_run=$((n_run + 1))
  line=$(printf '[suite] %-22s %s' "$suite" "$result")
  echo "$line" | tee -a "$OUT/suites.txt"
  # The failing tests and their [check] lines, so the step's log alone says what broke.
  case $rc in
    0 | 77) grep -h '^\[check\]' "$OUT/$file.log" | sed 's/^/    /' ;;
    *)
      grep -h -E '^\[  FAILED  \]|^\[check\]|error|Error' "$OUT/$file.log" | head -40 | sed 's/^/    /'
      [ "$first_failure" -eq 0 ] && first_failure=$rc
      ;;
  esac
done
[ "$first_failure" -ne 0 ] && exit "$first_failure"
if [ "$n_skip" -eq "$n_run" ]; then
  echo "no CUDA device visible: every suite skipped"
  exit 77
fi
exit 0
