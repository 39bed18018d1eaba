#!/usr/bin/env python3
"""The datasets of openai/weak-to-strong (weak_to_strong/datasets.py) as w2s task JSONL.

    pip install datasets     # Hugging Face's loader; this script is the only part of w2s that uses it
    tools/convert_w2s_datasets.py sciq --out-dir data/sciq [--seed 0] [--n-train 20000] [--n-test 10000]

writes DIR/train.jsonl and DIR/test.jsonl, one {"id", "txt", "hard_label"} per line
(docs/data.md §6), for `w2s prepare` or an experiment's task.<name>.train / .test. Each text and
label is made exactly as the reference code makes it: the same fields and separators, and for
the tasks that draw a label (sciq, anthropic_hh, cosmos_qa) the same draws, from
random.Random(seed) made afresh for each split and consumed example by example in the split's
order. The reference first keeps the first n_docs / n_test_docs examples of each split, which
does not change the draws of those it keeps; --n-train / --n-test do the same (0: all).
`id` is the example's index in its Hugging Face split, so ids are stable across runs and seeds.
The reference's soft_label is the one-hot [1 - hard_label, hard_label]; --soft-label writes it
too (w2s then requires it on every line of both files).

Nothing here downloads during the tests: tests/e2e/test_convert_w2s_datasets.sh checks the
formatters on hand-made rows.
"""
import argparse
import json
import os
import random
import sys


def format_amazon_polarity(ex, rng):
    return f"{ex['title']} {ex['content']}", int(ex["label"])


def format_sciq(ex, rng):
    label = int(rng.random() < 0.5)
    if label:
        answer = ex["correct_answer"]
    else:
        answer = rng.choice([ex["distractor1"], ex["distractor2"], ex["distractor3"]])
    return f"Q: {ex['question']} A: {answer}", label


def format_anthropic_hh(ex, rng):
    label = int(rng.random() < 0.5)
    return (ex["chosen"] if label else ex["rejected"]), label


def format_cosmos_qa(ex, rng):
    true_answer = ex["answer" + str(ex["label"])]
    if "None of the above choices ." in true_answer:
        label = 0  # no draw: the rng is not advanced for these examples
    else:
        if "None of the above choices" in true_answer:
            raise ValueError(f"unexpected answer format: {true_answer!r}")
        label = int(rng.random() < 0.5)
    if label:
        answer = true_answer
    else:
        answer = rng.choice([ex["answer" + str(i)] for i in range(4) if ex["answer" + str(i)] != true_answer])
    return f"Context: {ex['context']}\nQuestion: {ex['question']}\nAnswer: {answer}", label


def format_boolq(ex, rng):
    return f"Passage: {ex['passage']}\nQuestion: {ex['question']}", int(ex["answer"])


# name -> (Hugging Face dataset, its split for "train" and "test", formatter)
DATASETS = {
    "amazon_polarity": ("amazon_polarity", {"train": "train", "test": "test"}, format_amazon_polarity),
    "sciq": ("sciq", {"train": "train", "test": "test"}, format_sciq),
    "anthropic_hh": ("Anthropic/hh-rlhf", {"train": "train", "test": "test"}, format_anthropic_hh),
    "cosmos_qa": ("cosmos_qa", {"train": "train", "test": "validation"}, format_cosmos_qa),
    "boolq": ("boolq", {"train": "train", "test": "validation"}, format_boolq),
}


def convert_rows(name, rows, seed, limit=0, soft_label=False):
    """The w2s JSONL records of one split's rows (an iterable of dicts), in the split's order."""
    formatter = DATASETS[name][2]
    rng = random.Random(seed)
    for index, ex in enumerate(rows):
        if limit and index >= limit:
            break
        txt, label = formatter(ex, rng)
        record = {"id": index, "txt": txt, "hard_label": label}
        if soft_label:
            record["soft_label"] = [1.0 - label, float(label)]
        yield record


def write_jsonl(path, records):
    tmp = path + ".tmp"
    count, positives = 0, 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            count += 1
            positives += r["hard_label"]
    os.replace(tmp, path)
    return count, positives


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", choices=sorted(DATASETS))
    p.add_argument("--out-dir", required=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the label draws (the reference's --seed)")
    p.add_argument("--n-train", type=int, default=20000, help="first N train examples (0: all)")
    p.add_argument("--n-test", type=int, default=10000, help="first N test examples (0: all)")
    p.add_argument("--soft-label", action="store_true", help="also write the one-hot soft_label")
    a = p.parse_args()
    try:
        from datasets import load_dataset  # Hugging Face datasets
    except ImportError:
        sys.exit("convert_w2s_datasets.py needs the Hugging Face 'datasets' package: pip install datasets")
    hf_name, splits, _ = DATASETS[a.dataset]
    os.makedirs(a.out_dir, exist_ok=True)
    for ours, limit in (("train", a.n_train), ("test", a.n_test)):
        rows = load_dataset(hf_name, split=splits[ours])
        path = os.path.join(a.out_dir, ours + ".jsonl")
        count, positives = write_jsonl(path, convert_rows(a.dataset, rows, a.seed, limit, a.soft_label))
        print(f"{path}: {count} examples ({hf_name} split {splits[ours]}), {positives} labelled 1")


if __name__ == "__main__":
    main()
