#!/usr/bin/env bash
# Every check this project owes a GPU node, in one device call (a session is lent ~15 minutes of
# device time, in calls of at most 10 minutes, so nothing is built there). NONE OF IT HAS RUN ON A
# GPU YET. Three modes:
#
#   here:     bash tools/device_check.sh --stage [BUILD_DIR] [STAGE_DIR]
#             builds w2s, the CUDA test program, the HF export dump and the CUDA training
#             benchmark in BUILD_DIR (default build-cuda, -DW2S_CUDA=ON, sm_90), copies them with
#             libboost_program_options (the GPU node lacks it; docs/cuda.md) into STAGE_DIR
#             (default build-cuda/device: ignored by git, ~12 MB: pass it in `carry`), trains a
#             small spam classifier there for the label checks (needs tools/setup.sh) and computes
#             the CPU side of every GPU-vs-CPU comparison (labels, eval, 50 training steps), so
#             the device spends its minutes on the GPU side only.
#   device:   bash tools/device_check.sh --run [STAGE_DIR]
#             runs the steps below, each under its own time limit (`timeout --kill-after`), most
#             informative first; a failed or timed-out step never stops the later ones. Logs go to
#             $OUT (default /tmp/w2s-device-out), one per step (<step>.log), and one line per step
#             to $OUT/summary.txt (and stdout), written when the step STARTS and completed when it
#             ends, so a call cut short still says where it was:
#               [check] kernels      ... started, limit 60s -> ok (14s)
#               [check] bench        ... started, limit 20s -> TIMEOUT after 20s
#               [check] hf-parity    ... started, limit 30s -> FAIL rc 1 (12s)
#               [check] memcheck     SKIPPED (optional: W2S_CHECK_STEPS=memcheck)
#             Exit status: the first failed step's (124 for a timeout), else 0.
#   list:     bash tools/device_check.sh --dry-run
#             lists every step with its limit and what it runs; exits 0 (no GPU needed).
#
# Environment:
#   W2S_CHECK_STEPS=a,b,...    run only these steps (others SKIPPED); the only way to run the
#                              optional steps (tests-async, memcheck): best in a call of their own
#   W2S_CHECK_LIMIT_SCALE=x    multiply every limit (and the kill grace) by x (tests; slower nodes)
#   W2S_CHECK_STUB=1           every step is a trivial command (tests of this machinery, no GPU)
#   W2S_CHECK_SIMULATE_HANG=s  step s sleeps far past its limit, ignoring SIGTERM (tests)
#   W2S_CHECK_SIMULATE_FAIL=s  step s exits 3 at once (tests)
# tests/e2e/test_device_check_steps.sh checks this machinery in CI (stubbed, limits scaled down).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/tools/device_check.sh"
cd "$ROOT" || exit 2

# The fixture's model (configs/models/w2s-tiny.ini): its layer count enters the bf16 bars.
FIXTURE_LAYERS=2

# name | limit (s) | default or optional | what it runs. The default steps' limits plus one kill
# grace each sum to 406 s, under the 7 minutes a check may take (docs/cuda.md); a device call
# for it asks timeout_s=480.
STEP_TABLE="
device         10 default  date, nvidia-smi, the staged files, the CUDA test suites listed
kernels        60 default  CUDA tests but the model suites: one process per suite, CUDA_LAUNCH_BLOCKING=1
parity-fp32    30 default  Gpt2Cuda<float> vs the CPU Gpt2 (ModelParity/float, ModelReports): exactness bars
parity-bf16    30 default  Gpt2Cuda<bf16> vs the CPU (ModelParity/bf16, ModelParityCudnn): bf16-derived bars
labels-fp32    20 default  GPU w2s label/eval at fp32 storage vs staged CPU labels: >= 99.9% agree, |dp| <= 1e-2
labels-bf16    20 default  GPU w2s label/eval at bf16 vs staged CPU labels: bf16-derived bars, near-ties apart
train-fp32     20 default  50 steps of GPU w2s train at fp32 storage vs the staged CPU curve: within 1%
train-bf16     20 default  50 steps of GPU w2s train at bf16 vs the staged CPU curve: bf16-derived bar
bench          20 default  bench_train_cuda, GPT-2 124M B16 T1024, plain attention, 5 steps after 2
bench-cudnn    20 default  the same with cuDNN attention
torch-baseline 90 default  bench/torch_gpt2_train_cuda.py, same shape, 10 steps after 3 (torch.compile)
hf-parity      30 default  w2s export-hf at the GPT-2 124M shape vs transformers (CPU)
tests-async    60 optional every CUDA test suite again, without CUDA_LAUNCH_BLOCKING (stream-order bugs)
memcheck      300 optional every CUDA test suite under compute-sanitizer memcheck, one process per suite
"
KILL_GRACE=3      # seconds between SIGTERM and SIGKILL of a step's process group
SUITE_LIMIT=25    # seconds per CUDA test suite inside a test step (memcheck: 120)
OUT=${OUT:-/tmp/w2s-device-out}
SUMMARY=$OUT/summary.txt

# scale SECONDS [FLOOR]: SECONDS × W2S_CHECK_LIMIT_SCALE, at least FLOOR (default 1), as
# timeout(1) accepts it.
scale() {
  awk -v s="$1" -v f="${W2S_CHECK_LIMIT_SCALE:-1}" -v m="${2:-1}" \
    'BEGIN { v = s * f; if (v < m) v = m; printf (v == int(v) ? "%d" : "%.2f"), v }'
}

# selected NAME MODE: whether the step runs (W2S_CHECK_STEPS, else the default steps).
selected() {
  if [ -n "${W2S_CHECK_STEPS:-}" ]; then
    case ",${W2S_CHECK_STEPS}," in *",$1,"*) return 0 ;; *) return 1 ;; esac
  fi
  [ "$2" = default ]
}

summary() { printf '%s' "$1" | tee -a "$SUMMARY"; }  # no newline: the step's line stays open

# run_step NAME LIMIT -- COMMAND...: runs COMMAND under `timeout` (its whole process group gets
# SIGTERM at LIMIT seconds, SIGKILL KILL_GRACE later), output to $OUT/NAME.log; writes the step's
# summary line at the start and completes it at the end; never aborts the run. COMMAND exit 77 =
# SKIPPED (its log's last line says why).
run_step() {
  local name=$1 limit=$2
  shift 2
  [ "${1:-}" = -- ] && shift
  local lim grace log=$OUT/$name.log
  lim=$(scale "$limit")
  grace=$(scale "$KILL_GRACE" 0.1)
  local cmd=("$@")
  if [ "${W2S_CHECK_SIMULATE_HANG:-}" = "$name" ]; then
    cmd=(bash -c 'trap "" TERM; echo "simulated hang of step $0 (ignores SIGTERM)"; exec sleep 100000' "$name")
  elif [ "${W2S_CHECK_SIMULATE_FAIL:-}" = "$name" ]; then
    cmd=(bash -c 'echo "simulated failure of step $0"; exit 3' "$name")
  elif [ "${W2S_CHECK_STUB:-0}" = 1 ]; then
    cmd=(bash -c 'echo "stub of step $0"' "$name")
  fi
  summary "$(printf '[check] %-14s ... started, limit %ss' "$name" "$lim")"
  local t0 t1 rc result
  t0=$(date +%s.%N)
  # In the background so its id is known ($OUT/step.pid: timeout(1) leads the step's own process
  # group, so `kill -KILL -- -PID` ends all of it); waited for at once.
  timeout --kill-after="${grace}s" "${lim}s" "${cmd[@]}" > "$log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid $name" > "$OUT/step.pid"
  wait "$pid" 2> /dev/null
  rc=$?
  rm -f "$OUT/step.pid"
  t1=$(date +%s.%N)
  local took
  took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  case $rc in
    0) result="ok (${took}s)" ;;
    124) result="TIMEOUT after ${lim}s" ;;
    137) result="TIMEOUT after ${lim}s (killed: ignored SIGTERM for ${grace}s)"; rc=124 ;;
    77) result="SKIPPED ($(tail -n 1 "$log" | cut -c1-120))" ;;
    *) result="FAIL rc $rc (${took}s)" ;;
  esac
  summary " -> $result"$'\n'
  case $result in
    ok*) N_OK=$((N_OK + 1)) ;;
    SKIPPED*) N_SKIP=$((N_SKIP + 1)) ;;
    TIMEOUT*) N_TIMEOUT=$((N_TIMEOUT + 1)) ;;
    *) N_FAIL=$((N_FAIL + 1)) ;;
  esac
  case $result in
    ok* | SKIPPED*) ;;
    *) [ "$FIRST_FAILURE" -eq 0 ] && FIRST_FAILURE=$rc ;;
  esac
  return 0
}

# skip_step NAME REASON: a step that does not run, with its summary line.
skip_step() {
  summary "$(printf '[check] %-14s SKIPPED (%s)' "$1" "$2")"$'\n'
  N_SKIP=$((N_SKIP + 1))
}

# ---- the steps (each runs in a process of its own: device_check.sh --exec step_NAME) ----

skip() { echo "$*"; exit 77; }
need() { [ -e "$1" ] || skip "not staged: $1 (run --stage)"; }

step_device() {
  date -u
  nvidia-smi -L || echo "nvidia-smi failed"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | head -5
  ls -la "$STAGE"
  need "$STAGE/w2s_cuda_tests"
  "$STAGE/w2s_cuda_tests" --gtest_list_tests | tee "$OUT/cuda_test_list.txt"
}

# cuda_suites INCLUDE_ERE [EXCLUDE_ERE]: the matching CUDA test suites, one process each.
cuda_suites() {
  need "$STAGE/w2s_cuda_tests"
  W2S_SUITE_LIMIT=${W2S_SUITE_LIMIT:-$(scale "$SUITE_LIMIT")} \
    bash tests/cuda/run_on_device.sh "$STAGE/w2s_cuda_tests" "$@"
}
step_kernels() { cuda_suites '.*' '^(ModelParity/.*|ModelParityCudnn|ModelReports)$'; }
step_parity-fp32() { cuda_suites '^(ModelParity/float|ModelReports)$'; }
step_parity-bf16() { cuda_suites '^(ModelParity/bf16|ModelParityCudnn)$'; }
step_tests-async() { W2S_LAUNCH_BLOCKING=0 cuda_suites '.*'; }
step_memcheck() {
  command -v compute-sanitizer > /dev/null || skip "compute-sanitizer is not on PATH"
  W2S_MEMCHECK=1 W2S_SUITE_LIMIT=$(scale 120) cuda_suites '.*'
}

# GPU labels and eval of the staged classifier at one storage precision, against the CPU's
# (staged). fp32: the exactness bars (>= 99.9% argmax agreement over all labels, |dp| <= 1e-2);
# bf16: bars derived from bf16 rounding, labels whose CPU top-two gap bf16 rounding could close
# counted apart (tools/compare_labels.py says how).
labels() {
  local prec=$1 f=$STAGE/label-fixture w2s=$STAGE/w2s
  need "$f/cpu/labels"
  W2S_CUDA_PRECISION=$prec "$w2s" label --model "$f/ckpt.h5" --data "$f/train_b.h5" --out-dir "$OUT/labels-$prec" \
    --device cuda || return
  W2S_CUDA_PRECISION=$prec "$w2s" eval --model "$f/ckpt.h5" --data "$f/test.h5" --out "$OUT/pred-$prec.h5" \
    --device cuda || return
  python3 tools/compare_labels.py "$f/cpu/labels" "$OUT/labels-$prec" --precision "$prec" --layers "$FIXTURE_LAYERS"
}
step_labels-fp32() { labels fp32; }
step_labels-bf16() { labels bf16; }

# 50 steps of `w2s train` on the GPU (fine-tuning the fixture's classifier, batch 16, lr 1e-3)
# against the same run on the CPU (staged): fp32 within 1% at every step, bf16 within its bar.
train() {
  local prec=$1 f=$STAGE/label-fixture
  need "$f/cpu/train/metrics.jsonl"
  W2S_CUDA_PRECISION=$prec "$STAGE/w2s" train --data "$f/train_b.h5" --run-dir "$OUT/train-$prec" --init "$f/ckpt.h5" \
    --steps 50 --batch-size 16 --lr 1e-3 --log-every 1 --device cuda --no-save-optimizer || return
  rm -f "$OUT/train-$prec/ckpt.h5"
  python3 tools/compare_losses.py "$f/cpu/train" "$OUT/train-$prec" --precision "$prec" --layers "$FIXTURE_LAYERS"
}
step_train-fp32() { train fp32; }
step_train-bf16() { train bf16; }

step_bench() {
  need "$STAGE/bench_train_cuda"
  "$STAGE/bench_train_cuda" --steps 5 --warmup 2
}
step_bench-cudnn() {
  need "$STAGE/bench_train_cuda"
  "$STAGE/bench_train_cuda" --steps 5 --warmup 2 --cudnn
}
step_torch-baseline() { python3 bench/torch_gpt2_train_cuda.py 12 12 768 1024 50257 16 10 3; }

step_hf-parity() {
  need "$STAGE/hf_export_dump"
  local dir=$OUT/hf-124m
  "$STAGE/hf_export_dump" "$dir" 12 12 768 50257 && python3 tools/hf_parity.py "$dir/hf" "$dir/logits.h5"
  local rc=$?
  rm -rf "$dir"  # ~1 GB of weights and logits: only the log comes back
  return $rc
}

# ---- modes ----

dry_run() {
  local name limit mode what total=0 grace
  grace=$(scale "$KILL_GRACE" 0.1)
  echo "tools/device_check.sh --run: steps in order (limit per step; SIGKILL ${grace}s after SIGTERM)"
  while read -r name limit mode what; do
    [ -n "$name" ] || continue
    local state=$mode
    if [ -n "${W2S_CHECK_STEPS:-}" ]; then selected "$name" "$mode" && state=selected || state="not selected"; fi
    printf '  %-14s limit %5ss  %-12s %s\n' "$name" "$(scale "$limit")" "$state" "$what"
    selected "$name" "$mode" && total=$((total + limit + KILL_GRACE))
  done <<< "$STEP_TABLE"
  echo "  worst case of the steps that would run: $(scale "$total")s (limits plus one kill grace each)"
}

run() {
  STAGE=$(realpath -m "${1:-build-cuda/device}")
  FIRST_FAILURE=0 N_OK=0 N_FAIL=0 N_TIMEOUT=0 N_SKIP=0
  mkdir -p "$OUT"
  : > "$SUMMARY"
  export STAGE OUT
  local nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
  export LD_LIBRARY_PATH="$STAGE:$nv/cu13/lib:$nv/cublas/lib:$nv/cudnn/lib:$nv/nccl/lib:${LD_LIBRARY_PATH:-}"
  export PATH="$PATH:/usr/local/cuda/bin"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  local start=$SECONDS name limit mode what
  summary "[check] device_check --run $STAGE -> $OUT, $(date -u +%FT%TZ)"$'\n'
  if [ "${W2S_CHECK_STUB:-0}" != 1 ] && [ ! -x "$STAGE/w2s" ]; then
    # Not staged or not carried: every step that needs it says SKIPPED; the run fails.
    summary "[check] stage MISSING: no $STAGE/w2s (run --stage here and carry the folder)"$'\n'
    FIRST_FAILURE=2
  fi
  while read -r name limit mode what; do
    [ -n "$name" ] || continue
    if ! selected "$name" "$mode"; then
      if [ "$mode" = optional ] && [ -z "${W2S_CHECK_STEPS:-}" ]; then
        skip_step "$name" "optional: W2S_CHECK_STEPS=$name"
      else
        skip_step "$name" "not in W2S_CHECK_STEPS"
      fi
      continue
    fi
    run_step "$name" "$limit" -- "$SELF" --exec "step_$name"
  done <<< "$STEP_TABLE"
  summary "[check] done in $((SECONDS - start))s: $N_OK ok, $N_FAIL FAIL, $N_TIMEOUT TIMEOUT, $N_SKIP SKIPPED; exit $FIRST_FAILURE"$'\n'
  return "$FIRST_FAILURE"
}

stage() {
  local build=${1:-build-cuda} dest=${2:-build-cuda/device}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DW2S_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 > /dev/null || return
  local targets=(w2s w2s_cuda_tests hf_export_dump)
  cmake --build "$build" --target help | grep -q '^bench_train_cuda:' && targets+=(bench_train_cuda)
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" || return
  mkdir -p "$dest"
  cp "$build/tests/w2s_cuda_tests" "$build/tests/hf_export_dump" "$dest/"
  [ -x "$build/bench/bench_train_cuda" ] && cp "$build/bench/bench_train_cuda" "$dest/"
  cp /lib/x86_64-linux-gnu/libboost_program_options.so.1.74.0 "$build/w2s" "$dest/"
  make_label_fixture "$build/w2s" "$dest/label-fixture" || return
  cpu_references "$build/w2s" "$dest/label-fixture" || return
  du -sh "$dest"
  echo "now: run(command=\"bash tools/device_check.sh --run $dest\", carry=[\"$dest\"], timeout_s=480)"
}

# A small trained classifier and a dataset for it to label (spam, byte tokenizer, the tiny shape
# trained from scratch for 10 epochs here: seconds; confident enough that few labels sit at 0.5),
# so the device can compare GPU labels with CPU labels of the same model on the same data. Needs
# the npm data of tools/setup.sh.
make_label_fixture() {
  local w2s=$1 dir=$2
  rm -rf "$dir" && mkdir -p "$dir"
  "$w2s" convert --task spam --out-dir "$dir/src" --test-size 200 > /dev/null &&
    "$w2s" prepare --train "$dir/src/train.jsonl" --test "$dir/src/test.jsonl" --out-dir "$dir/split" \
      --tokenizer byte --max-len 128 --overlong truncate --seed 0 > /dev/null &&
    "$w2s" train --data "$dir/split/train_a.h5" --run-dir "$dir/model" --model configs/models/w2s-tiny.ini \
      --epochs 10 --batch-size 32 --lr 2e-3 --log-every 100000 --no-save-optimizer > /dev/null || return
  mv "$dir/model/ckpt.h5" "$dir/ckpt.h5" && mv "$dir/split/train_b.h5" "$dir/split/test.h5" "$dir/"
  rm -rf "$dir/src" "$dir/split" "$dir/model"
}

# The CPU side of the label and training comparisons, computed here (the same binary; a CPU of
# another make differs from the node's by float rounding only, far below every bar).
cpu_references() {
  local w2s=$1 f=$2
  rm -rf "$f/cpu" && mkdir -p "$f/cpu"
  "$w2s" label --model "$f/ckpt.h5" --data "$f/train_b.h5" --out-dir "$f/cpu/labels" --device cpu > /dev/null &&
    "$w2s" eval --model "$f/ckpt.h5" --data "$f/test.h5" --out "$f/cpu/pred.h5" --device cpu > "$f/cpu/eval.log" &&
    "$w2s" train --data "$f/train_b.h5" --run-dir "$f/cpu/train" --init "$f/ckpt.h5" --steps 50 --batch-size 16 \
      --lr 1e-3 --log-every 1 --device cpu --no-save-optimizer > /dev/null || return
  rm -f "$f/cpu/train/ckpt.h5"
}

case "${1:-}" in
  --stage) shift; stage "$@" ;;
  --run) shift; run "$@" ;;
  --dry-run) dry_run ;;
  --exec) shift; "$@" ;;  # one step, in its own process (run_step puts it under timeout)
  *) sed -n '2,35p' "$0"; exit 2 ;;
esac
