#!/usr/bin/env bash
# w2s setup: installs every Debian and npm package the project needs, then configures and builds.
# Idempotent, no prompts. Usage: tools/setup.sh [--no-build] [--build-dir DIR]
# The two halves run alone too: tools/setup-system.sh (Debian packages, root) and
# tools/fetch-data.sh (data into $W2S_CACHE, no root).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build
DO_BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
  shift
done

# System packages where this user may install them (root or passwordless sudo); otherwise the
# missing ones are listed and skipped, and the data is fetched all the same.
tools/setup-system.sh --if-possible
# Data and tokenizer files into $W2S_CACHE (default .cache/), no root needed.
tools/fetch-data.sh

if [ "$DO_BUILD" -eq 1 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j"$(nproc)"
fi
