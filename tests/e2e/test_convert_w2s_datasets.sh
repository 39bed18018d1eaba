#!/usr/bin/env bash
# tools/convert_w2s_datasets.py on hand-made rows (no download): each formatter's text and label
# as openai/weak-to-strong makes them, the label draws in the reference's order (one fresh
# random.Random(seed) per split, one draw per example, none for cosmos_qa's "None of the above"
# answers), stable ids, --n-train's prefix, and the result accepted by `w2s prepare`.
source "$(dirname "$0")/lib_tiny.sh"
$PY - "$W2S_SOURCE_DIR/tools" <<'PYEOF' || fail "formatters"
import json, random, sys
sys.path.insert(0, sys.argv[1])
import convert_w2s_datasets as c

sciq = [{"question": f"q{i}?", "correct_answer": "right", "distractor1": "d1", "distractor2": "d2",
         "distractor3": "d3"} for i in range(6)]
out = list(c.convert_rows("sciq", sciq, seed=3))
rng = random.Random(3)
for i, r in enumerate(out):
    label = int(rng.random() < 0.5)
    answer = "right" if label else rng.choice(["d1", "d2", "d3"])
    assert r == {"id": i, "txt": f"Q: q{i}? A: {answer}", "hard_label": label}, (r, answer, label)
assert {r["hard_label"] for r in out} == {0, 1}, "six draws at seed 3 give both labels"
assert [r["id"] for r in c.convert_rows("sciq", sciq, seed=3, limit=2)] == [0, 1]

boolq = c.convert_rows("boolq", [{"passage": "P.", "question": "is it", "answer": True}], 0, soft_label=True)
assert list(boolq) == [{"id": 0, "txt": "Passage: P.\nQuestion: is it", "hard_label": 1, "soft_label": [0.0, 1.0]}]
amazon = list(c.convert_rows("amazon_polarity", [{"title": "Great", "content": "Works.", "label": 1}], 0))
assert amazon[0]["txt"] == "Great Works." and amazon[0]["hard_label"] == 1

def cosmos(label, answers):
    row = {"context": "C.", "question": "Why?", "label": label}
    row.update({f"answer{i}": a for i, a in enumerate(answers)})
    return row
none_row = cosmos(3, ["a", "b", "c", "None of the above choices ."])
plain = cosmos(0, ["yes", "no", "maybe", "later"])
first, second = c.convert_rows("cosmos_qa", [none_row, plain], seed=0)
assert first["hard_label"] == 0 and first["txt"].startswith("Context: C.\nQuestion: Why?\nAnswer: ")
assert first["txt"].split("Answer: ")[1] in ("a", "b", "c")
rng = random.Random(0)
rng.choice(["a", "b", "c"])  # the first example draws only its wrong answer
label = int(rng.random() < 0.5)
assert second["hard_label"] == label, (second, label)

hh = list(c.convert_rows("anthropic_hh", [{"chosen": "good", "rejected": "bad"}] * 4, seed=1))
rng = random.Random(1)
assert [r["txt"] for r in hh] == ["good" if rng.random() < 0.5 else "bad" for _ in range(4)]

with open("train.jsonl", "w") as f:
    for r in c.convert_rows("sciq", sciq * 4, seed=0):
        f.write(json.dumps(r) + "\n")
print("  formatters and draws as the reference")
PYEOF
"$W2S_BIN" prepare --train train.jsonl --out-dir split --tokenizer byte --max-len 64 > prepare.log 2>&1 ||
  { cat prepare.log; fail "prepare refused the converted JSONL"; }
check "sciq, boolq, amazon_polarity, cosmos_qa, anthropic_hh formatted as the reference; w2s prepare reads the output"
