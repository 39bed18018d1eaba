#!/usr/bin/env bash
# Runs bench_scaling over rank counts and shapes (1 OpenMP thread per rank, so P ranks use P
# cores) and prints the table recorded in bench/results/scaling-cpu.md.
#   usage: bench/run_scaling.sh [BUILD_DIR] [max ranks (default: cores)]
set -euo pipefail
build="${1:-build}"
max="${2:-$(nproc)}"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { mpirun -n "$1" --oversubscribe --bind-to none "$build/bench/bench_scaling" "${@:2}"; }
base=$(run 1 --tp 1 | sed -n 's/.*step \([0-9.]*\) s.*/\1/p')
run 1 --tp 1
for mode in "" "--weak"; do
  p=2
  while [ "$p" -le "$max" ]; do
    run "$p" --tp 1 --base-step-seconds "$base" $mode
    run "$p" --tp 1 --zero1 --base-step-seconds "$base" $mode
    run "$p" --tp 2 --base-step-seconds "$base" $mode
    p=$((p * 2))
  done
done
