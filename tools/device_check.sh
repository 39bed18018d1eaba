#!/usr/bin/env bash
# Every check this project owes a GPU node, in one device call (a session is lent ~15 minutes of
# device time, so nothing is built there). Two halves:
#
#   here:     bash tools/device_check.sh --stage [BUILD_DIR] [STAGE_DIR]
#             builds the CUDA test program, the HF export dump and (when it exists) the CUDA
#             training benchmark in BUILD_DIR (default build-cuda, -DW2S_CUDA=ON, sm_90) and copies
#             them with libboost_program_options (the node lacks it, ../shared/gpu.md) into
#             STAGE_DIR (default build-cuda/device: ignored by git, a few MB: pass it in `carry`).
#   device:   bash tools/device_check.sh --run [STAGE_DIR]
#             runs, writing logs under $OUT:
#               1. the CUDA tests (tests/cuda/run_on_device.sh: kernels, cuDNN attention, model
#                  parity; memcheck when compute-sanitizer exists)          -> cuda_tests.log
#               2. the transformers parity of `w2s export-hf` at the GPT-2 124M shape (issue 6;
#                  the node's python3 has transformers; CPU only)            -> hf_parity.log
#               3. the CUDA training benchmark, if staged, with the plain attention kernels and
#                  with cuDNN's                              -> bench_train_cuda{,_cudnn}.log
#             and a summary line per step in summary.txt. Each step runs even if an earlier one
#             failed; the exit status is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."

stage() {
  local build=${1:-build-cuda} dest=${2:-build-cuda/device}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DW2S_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 > /dev/null || return
  local targets=(w2s_cuda_tests hf_export_dump)
  cmake --build "$build" --target help | grep -q '^bench_train_cuda:' && targets+=(bench_train_cuda)
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" || return
  mkdir -p "$dest"
  cp "$build/tests/w2s_cuda_tests" "$build/tests/hf_export_dump" "$dest/"
  [ -x "$build/bench/bench_train_cuda" ] && cp "$build/bench/bench_train_cuda" "$dest/"
  cp /lib/x86_64-linux-gnu/libboost_program_options.so.1.74.0 "$dest/"
  du -sh "$dest"
  echo "now: run(command=\"bash tools/device_check.sh --run $dest\", carry=[\"$dest\"], timeout_s=540)"
}

run_step() {  # run_step NAME LOGFILE COMMAND...: logs, records the status, never aborts the run
  local name=$1 log=$2; shift 2
  local start=$SECONDS
  "$@" > "$OUT/$log" 2>&1
  local rc=$?
  printf '%-18s exit %3d  %4ds  %s\n' "$name" "$rc" $((SECONDS - start)) "$log" | tee -a "$OUT/summary.txt"
  [ "$rc" -ne 0 ] && [ "$FIRST_FAILURE" -eq 0 ] && FIRST_FAILURE=$rc
  return 0
}

hf_parity() {
  local dir=$OUT/hf-124m
  "$STAGE/hf_export_dump" "$dir" 12 12 768 50257 && python3 tools/hf_parity.py "$dir/hf" "$dir/logits.h5"
  local rc=$?
  rm -rf "$dir"  # ~1 GB of weights and logits: only the log comes back
  return $rc
}

run() {
  STAGE=$(realpath "${1:-build-cuda/device}")
  OUT=${OUT:-/tmp/w2s-device-out}
  FIRST_FAILURE=0
  mkdir -p "$OUT"
  local nv=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
  export LD_LIBRARY_PATH="$STAGE:$nv/cu13/lib:$nv/cublas/lib:$nv/cudnn/lib:$nv/nccl/lib:${LD_LIBRARY_PATH:-}"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  { date -u; nvidia-smi -L; } > "$OUT/device.txt" 2>&1
  run_step cuda-tests cuda_tests.run.log env OUT="$OUT" bash tests/cuda/run_on_device.sh "$STAGE/w2s_cuda_tests"
  run_step hf-parity hf_parity.log hf_parity
  if [ -x "$STAGE/bench_train_cuda" ]; then
    run_step bench-train-cuda bench_train_cuda.log "$STAGE/bench_train_cuda"
    run_step bench-cudnn bench_train_cuda_cudnn.log "$STAGE/bench_train_cuda" --cudnn
  fi
  return "$FIRST_FAILURE"
}

case "${1:-}" in
  --stage) shift; stage "$@" ;;
  --run) shift; run "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
