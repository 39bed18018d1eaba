#!/usr/bin/env bash
# `w2s prepare` on bad input: every case must exit with the right non-zero code and a one-line
# reason naming the offending file, and leave no output behind (no train_a.h5, no *.tmp.*).
# (Truncated and foreign HDF5 inputs of the commands that read them: test_bad_hdf5_input.sh.)
set -u
: "${W2S_BIN:?W2S_BIN must point at the w2s binary}"
TMP="${W2S_TEST_TMP:-$(mktemp -d)}"
rm -rf "$TMP" && mkdir -p "$TMP"
failures=0

good_line() { printf '{"txt": "example %s", "hard_label": %s}\n' "$1" "$(($1 % 2))"; }
good_file() { for i in $(seq 0 19); do good_line "$i"; done > "$1"; }

# expect NAME RC FRAGMENT -- ARGS...: runs `w2s prepare ARGS` in $TMP/NAME (outputs to out/).
expect() {
  local name="$1" want_rc="$2" fragment="$3"
  shift 4
  local dir="$TMP/$name"
  local rc=0
  (cd "$dir" && "$W2S_BIN" prepare "$@" > stdout.txt 2> stderr.txt) || rc=$?
  local err lines
  err="$(cat "$dir/stderr.txt")"
  lines="$(grep -c '' "$dir/stderr.txt")"
  local problems=""
  [ "$rc" -eq "$want_rc" ] || problems+=" exit code $rc (wanted $want_rc);"
  [ "$lines" -eq 1 ] || problems+=" stderr has $lines lines;"
  case "$err" in *"$fragment"*) ;; *) problems+=" stderr lacks '$fragment';" ;; esac
  local leftovers
  leftovers="$(cd "$dir" && find . -type f ! -name '*.jsonl' ! -name '*.ini' ! -name '*.txt' ! -name '*.json' ! -name '*.bpe')"
  [ -z "$leftovers" ] || problems+=" left behind: $(echo $leftovers);"
  [ ! -e "$dir/out" ] || problems+=" output folder created;"
  if [ -n "$problems" ]; then
    echo "FAIL $name:$problems"
    echo "     stderr: $err"
    failures=$((failures + 1))
  else
    echo "ok   $name: $err"
  fi
}

case_dir() { mkdir -p "$TMP/$1" && echo "$TMP/$1"; }

d=$(case_dir malformed_json)
{ good_line 0; echo '{"txt": "broken", "hard_label": 1'; good_line 2; } > "$d/bad.jsonl"
expect malformed_json 2 "bad.jsonl:2: malformed JSON" -- --train bad.jsonl --out-dir out --tokenizer byte

d=$(case_dir missing_field)
{ good_line 0; good_line 1; echo '{"txt": "no label here"}'; } > "$d/bad.jsonl"
expect missing_field 2 "bad.jsonl:3: missing field 'hard_label'" -- --train bad.jsonl --out-dir out --tokenizer byte

d=$(case_dir label_out_of_range)
{ good_line 0; echo '{"txt": "three classes?", "hard_label": 2}'; } > "$d/bad.jsonl"
expect label_out_of_range 2 "bad.jsonl:2: hard_label 2 is out of range [0, 2)" -- --train bad.jsonl --out-dir out --tokenizer byte

d=$(case_dir empty_input)
: > "$d/empty.jsonl"
expect empty_input 2 "empty.jsonl: no examples" -- --train empty.jsonl --out-dir out --tokenizer byte

d=$(case_dir invalid_utf8)
{ good_line 0; printf '{"txt": "caf\xe9", "hard_label": 1}\n'; } > "$d/bad.jsonl"
expect invalid_utf8 2 "bad.jsonl:2: invalid UTF-8" -- --train bad.jsonl --out-dir out --tokenizer byte

d=$(case_dir missing_tokenizer_files)
good_file "$d/train.jsonl"
expect missing_tokenizer_files 2 "no-such-encoder.json" -- --train train.jsonl --out-dir out --tokenizer gpt2 \
  --encoder-json no-such-encoder.json --vocab-bpe no-such-vocab.bpe

# A good train file with a bad test file: nothing is committed, not even train_a.h5.
d=$(case_dir bad_test_split)
good_file "$d/train.jsonl"
{ good_line 0; echo 'not json'; } > "$d/test.jsonl"
expect bad_test_split 2 "test.jsonl:2: malformed JSON" -- --train train.jsonl --test test.jsonl --out-dir out --tokenizer byte

# Every example longer than max_len and dropped: an empty split is an error, not an empty file.
d=$(case_dir all_dropped)
good_file "$d/train.jsonl"
expect all_dropped 2 "train.jsonl: no examples left for split train_a" -- --train train.jsonl --out-dir out \
  --tokenizer byte --max-len 3 --overlong drop

d=$(case_dir unknown_config_key)
good_file "$d/train.jsonl"
printf 'train = train.jsonl\nout-dir = out\ntokenizer = byte\nmax-lenght = 64\n' > "$d/prepare.ini"
expect unknown_config_key 1 "prepare.ini" -- --config prepare.ini

d=$(case_dir lm_invalid_utf8)
printf 'fine paragraph\n\nbad \xff byte\n' > "$d/corpus.txt"
expect lm_invalid_utf8 2 "corpus.txt: invalid UTF-8" -- --lm --text corpus.txt --out out/lm.h5 --tokenizer byte

d=$(case_dir lm_malformed_jsonl)
printf '{"txt": "doc"}\n{"text": "wrong key"}\n' > "$d/docs.jsonl"
expect lm_malformed_jsonl 2 "docs.jsonl:2: missing field 'txt'" -- --lm --lm-jsonl docs.jsonl --out out/lm.h5 --tokenizer byte

# Sanity: the same good input does succeed (so the failures above are about the input).
d=$(case_dir good_input)
good_file "$d/train.jsonl"
if (cd "$d" && "$W2S_BIN" prepare --train train.jsonl --test train.jsonl --out-dir out --tokenizer byte > /dev/null 2>&1) &&
   [ -f "$d/out/train_a.h5" ] && [ -f "$d/out/train_b.h5" ] && [ -f "$d/out/test.h5" ]; then
  echo "ok   good_input: train_a.h5, train_b.h5, test.h5 written"
else
  echo "FAIL good_input: prepare did not write all three splits"
  failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "all cases passed"
