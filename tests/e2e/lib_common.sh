# The preamble every e2e test shares (sourced, not a test itself), needing no w2s binary, so
# tests of the Python tools and job scripts can use it alone; lib_tiny.sh builds on it. Strict
# mode, SRC (the source tree), a fresh $W2S_TEST_TMP (or a new temporary folder) as the working
# directory, the Python to run, and fail/check for the test's verdicts.
set -euo pipefail
SRC="${SRC:-${W2S_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}}"
TMP="${W2S_TEST_TMP:-$(mktemp -d)}"
rm -rf "$TMP"; mkdir -p "$TMP"; cd "$TMP"
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "  ok: $*"; }
