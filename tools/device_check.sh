#!/usr/bin/env bash
# Every check this project owes a GPU node, in one device call (a session is lent ~15 minutes of
# device time, so nothing is built there). Two halves:
#
#   here:     bash tools/device_check.sh --stage [BUILD_DIR] [STAGE_DIR]
#             builds w2s, the CUDA test program, the HF export dump and (when it exists) the CUDA
#             training benchmark in BUILD_DIR (default build-cuda, -DW2S_CUDA=ON, sm_90), copies
#             them with libboost_program_options (the GPU node lacks it; docs/cuda.md) into
#             STAGE_DIR (default build-cuda/device: ignored by git, ~10 MB: pass it in `carry`),
#             and trains a small spam classifier there for the label check (needs tools/setup.sh).
#   device:   bash tools/device_check.sh --run [STAGE_DIR]
#             runs, writing logs under $OUT:
#               1. the CUDA tests (tests/cuda/run_on_device.sh: kernels, cuDNN attention, model
#                  parity, NCCL)                                              -> cuda_tests.log
#               2. GPU `w2s label`/`w2s eval` against the CPU's on a staged spam classifier
#                  (tools/compare_labels.py: >= 99.9% argmax agreement, probs within 1e-2)
#                                                                            -> label_parity.log
#                  and 50 steps of GPU `w2s train` against the CPU's (tools/compare_losses.py:
#                  every step's loss within 1%)                               -> train_parity.log
#               3. the CUDA training benchmark, if staged, with the plain attention kernels and
#                  with cuDNN's, then torch's same step (bench/torch_gpt2_train_cuda.py: bf16
#                  autocast, SDPA, fused AdamW, torch.compile)  -> bench_train_cuda{,_cudnn}.log,
#                                                                              bench_torch.log
#               4. the transformers parity of `w2s export-hf` at the GPT-2 124M shape (issue 6;
#                  the node's python3 has transformers; CPU only)            -> hf_parity.log
#             and a summary line per step in summary.txt. Each step runs even if an earlier one
#             failed; the exit status is the first failure's. The CUDA tests skip
#             compute-sanitizer unless W2S_MEMCHECK=1 (it multiplies their time: its own call).
set -uo pipefail
cd "$(dirname "$0")/.."

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
  du -sh "$dest"
  echo "now: run(command=\"bash tools/device_check.sh --run $dest\", carry=[\"$dest\"], timeout_s=540)"
}

# A small trained classifier and a dataset for it to label (spam, byte tokenizer, the tiny shape
# trained from scratch for 10 epochs here: seconds; confident enough that few labels sit at 0.5), so the device can compare GPU labels with CPU
# labels of the same model on the same data. Needs the npm data of tools/setup.sh.
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

# Issue 5's label bar: GPU labels of the fixture agree with CPU labels on >= 99.9% of examples
# (argmax) and probabilities within 1e-2; also both devices' eval accuracy, printed.
label_parity() {
  local f=$STAGE/label-fixture w2s=$STAGE/w2s
  "$w2s" label --model "$f/ckpt.h5" --data "$f/train_b.h5" --out-dir "$OUT/labels-cpu" --device cpu &&
    "$w2s" label --model "$f/ckpt.h5" --data "$f/train_b.h5" --out-dir "$OUT/labels-cuda" --device cuda &&
    "$w2s" eval --model "$f/ckpt.h5" --data "$f/test.h5" --out "$OUT/pred-cpu.h5" --device cpu &&
    "$w2s" eval --model "$f/ckpt.h5" --data "$f/test.h5" --out "$OUT/pred-cuda.h5" --device cuda &&
    python3 tools/compare_labels.py "$OUT/labels-cpu" "$OUT/labels-cuda"
}

# Issue 5's training bar: 50 steps of `w2s train` on the GPU (fine-tuning the fixture's
# classifier, batch 16, lr 1e-3) stay within 1% of the same run on the CPU at every step.
train_parity() {
  local f=$STAGE/label-fixture dev
  for dev in cpu cuda; do
    "$STAGE/w2s" train --data "$f/train_b.h5" --run-dir "$OUT/train-$dev" --init "$f/ckpt.h5" --steps 50 \
      --batch-size 16 --lr 1e-3 --log-every 1 --device "$dev" --no-save-optimizer || return
    rm -f "$OUT/train-$dev/ckpt.h5"
  done
  python3 tools/compare_losses.py "$OUT/train-cpu" "$OUT/train-cuda"
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
  run_step cuda-tests cuda_tests.run.log env OUT="$OUT" W2S_MEMCHECK="${W2S_MEMCHECK:-0}" \
    bash tests/cuda/run_on_device.sh "$STAGE/w2s_cuda_tests"
  run_step label-parity label_parity.log label_parity
  run_step train-parity train_parity.log train_parity
  if [ -x "$STAGE/bench_train_cuda" ]; then
    run_step bench-train-cuda bench_train_cuda.log "$STAGE/bench_train_cuda"
    run_step bench-cudnn bench_train_cuda_cudnn.log "$STAGE/bench_train_cuda" --cudnn
  fi
  run_step bench-torch bench_torch.log python3 bench/torch_gpt2_train_cuda.py
  run_step hf-parity hf_parity.log hf_parity
  return "$FIRST_FAILURE"
}

case "${1:-}" in
  --stage) shift; stage "$@" ;;
  --run) shift; run "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
