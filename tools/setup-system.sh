#!/usr/bin/env bash
# w2s system packages: installs the Debian packages the build, the tests and the tools need.
# Needs root (or passwordless sudo). Without either it installs nothing, lists the packages that
# are missing, and exits 0 with --if-possible (what tools/setup.sh uses) or 1 otherwise, so a
# user without root can load the same software from modules instead (docs/hpc.md).
# Usage: tools/setup-system.sh [--if-possible] [--list]
set -euo pipefail
IF_POSSIBLE=0
LIST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --if-possible) IF_POSSIBLE=1 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "setup-system.sh: unknown option '$1'" >&2; exit 1 ;;
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
# node/npm: the machine image may ship its own; Debian's only where none is present.
command -v npm >/dev/null 2>&1 || DEB_PACKAGES+=(nodejs npm)
if [ "$LIST" -eq 1 ]; then
  printf '%s\n' "${DEB_PACKAGES[@]}"
  exit 0
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  echo "[setup] not a Debian system: no system packages installed; load the equivalents from modules (docs/hpc.md)"
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup] Debian packages: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "[setup] not root and no passwordless sudo: skipped the Debian packages ${missing[*]}"
    echo "[setup] install them, or load the equivalents from modules (docs/hpc.md)"
    [ "$IF_POSSIBLE" -eq 1 ] && exit 0
    exit 1
  fi
fi
echo "[setup] installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
