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
# This build also finds every dependency through the hints docs/hpc.md gives a cluster user (an
# explicit BLAS vendor and prefix through FindBLAS, and the MPI, HDF5, Boost, nlohmann_json and
# OpenSSL prefixes), where the main build relies on system defaults, so CI builds both ways.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DW2S_CUDA=OFF -DW2S_SANITIZE=ON \
  -DW2S_BLAS=OpenBLAS -DBLAS_ROOT=/usr -DMPI_HOME=/usr/lib/x86_64-linux-gnu/openmpi \
  -DHDF5_ROOT=/usr/lib/x86_64-linux-gnu/hdf5/serial -DBoost_ROOT=/usr -Dnlohmann_json_ROOT=/usr \
  -DOPENSSL_ROOT_DIR=/usr
san_targets=(w2s_unit_tests w2s_mpi_tests)
for t in jsonl safetensors config manifest h5 tokenizer; do san_targets+=("fuzz_${t}_replay"); done
cmake --build build-asan -j2 --target "${san_targets[@]}"
echo "[sanitize] sanitizer build: $(( $(date +%s) - san_start )) s"
step="sanitizer tests (ASan+UBSan: unit, mpi, fuzz replay)"
ctest --test-dir build-asan --output-on-failure -j2 -L '^(unit|mpi|fuzz)$'
echo "[sanitize] sanitizer build + tests: $(( $(date +%s) - san_start )) s"
