#!/usr/bin/env bash
# Runs the CUDA kernel tests on a GPU machine (docs/cuda.md says how to build and ship them).
# Usage: bash tests/cuda/run_on_device.sh [path to w2s_cuda_tests]   (default build-cuda/tests/)
# Writes the log, the gtest XML and the device name under $OUT (default /tmp/w2s-cuda-out);
# with compute-sanitizer on PATH it repeats the run under memcheck (out-of-bounds, misaligned
# accesses) unless W2S_MEMCHECK=0. Exit status: the tests' (77 = no GPU visible).
set -uo pipefail
BIN=${1:-build-cuda/tests/w2s_cuda_tests}
OUT=${OUT:-/tmp/w2s-cuda-out}
mkdir -p "$OUT"
# The H100/H200 nodes keep the CUDA libraries in torch's virtual environment (docs/cuda.md).
NV=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
[ -d "$NV" ] && export LD_LIBRARY_PATH="$NV/cu13/lib:$NV/cublas/lib:$NV/cudnn/lib:$NV/nccl/lib:${LD_LIBRARY_PATH:-}"
export PATH="$PATH:/usr/local/cuda/bin"
nvidia-smi -L > "$OUT/device.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/device.txt"
cat "$OUT/device.txt"
"$BIN" --gtest_output=xml:"$OUT/cuda_tests.xml" 2>&1 | tee "$OUT/cuda_tests.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 77 ] && [ "${W2S_MEMCHECK:-1}" = 1 ] && command -v compute-sanitizer > /dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 99 "$BIN" > "$OUT/memcheck.log" 2>&1
  echo "memcheck exit status: $?" | tee -a "$OUT/memcheck.log"
fi
exit "$rc"
