#!/usr/bin/env bash
# The sanitizer step meant for .ci/run (docs/reliability.md §6): an ASan+UBSan build (build-asan,
# -DW2S_SANITIZE=ON) of only what the unit, MPI and fuzz-replay tests need, and those tests under
# it; a sanitizer report aborts the test that made it. .ci/run calls it after the README's test
# command. Measured on 2 idle cores without ccache: build 277 s, tests ~1 min.
set -euo pipefail
cd "$(dirname "$0")/.."
step=x
trap 'echo "[sanitize] FAILED: $step" >&2' ERR
# Open MPI leaks at exit by design: leak checking off, everything else on. Needed at build
# time too (gtest discovery runs the unit binary). UBSan is built with -fno-sanitize-recover.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
san_start=$(date +%s)
step="sanitizer build (build-asan)"
# This build also takes the BLAS through CMake's FindBLAS with an explicit vendor and prefix (the
# path a cluster without Debian's OpenBLAS-OpenMP takes), so CI builds both BLAS paths.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DW2S_CUDA=OFF -DW2S_SANITIZE=ON \
  -DW2S_BLAS=OpenBLAS -DBLAS_ROOT=/usr
san_targets=(w2s_unit_tests w2s_mpi_tests)
for t in jsonl safetensors config manifest h5 tokenizer; do san_targets+=("fuzz_${t}_replay"); done
cmake --build build-asan -j2 --target "${san_targets[@]}"
echo "[sanitize] sanitizer build: $(( $(date +%s) - san_start )) s"
step="sanitizer tests (ASan+UBSan: unit, mpi, fuzz replay)"
ctest --test-dir build-asan --output-on-failure -j2 -L '^(unit|mpi|fuzz)$'
echo "[sanitize] sanitizer build + tests: $(( $(date +%s) - san_start )) s"
