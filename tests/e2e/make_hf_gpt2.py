"""Writes small random-weight Hugging Face GPT-2 folders and a tiny GPT-2-format BPE tokenizer,
for the bring-your-own-model tests (no downloads, no transformers/safetensors packages: the
safetensors format is an 8-byte little-endian header length, a JSON header, then raw data).

  make_hf_gpt2.py tokenizer DIR TEXT_JSONL...   vocab.json + merges.txt learned from the texts
  make_hf_gpt2.py model DIR TOKENIZER_DIR LAYERS WIDTH SHARDS SEED
        config.json and model.safetensors (SHARDS 1) or model-0000K-of-0000N.safetensors +
        model.safetensors.index.json (SHARDS > 1), GPT2LMHeadModel names, vocabulary of the tokenizer
"""
import json
import struct
import sys

import numpy as np


def bytes_to_unicode():
    """GPT-2's printable stand-in character of each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def write_tokenizer(out_dir, jsonl_files):
    """Merges that build each word of the texts left to right (' apple': 'Ġ a', 'Ġa p', ...),
    shorter prefixes first, so every merge uses only tokens made by earlier merges."""
    alias = bytes_to_unicode()
    words = set()
    for path in jsonl_files:
        for line in open(path):
            for w in json.loads(line)["txt"].split():
                words.add(" " + w)
                words.add(w)
    merges = {}  # (left, right) -> prefix length
    for w in sorted(words):
        symbols = [alias[b] for b in w.encode()]
        for k in range(1, len(symbols)):
            merges.setdefault(("".join(symbols[:k]), symbols[k]), k)
    ordered = sorted(merges, key=lambda m: (merges[m], m))
    vocab = {alias[b]: b for b in range(256)}
    for left, right in ordered:
        vocab.setdefault(left + right, len(vocab))
    vocab["<|endoftext|>"] = len(vocab)
    # Hugging Face writes vocab.json compactly with raw UTF-8; any JSON object reads the same.
    with open(f"{out_dir}/vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(f"{out_dir}/merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{l} {r}\n" for l, r in ordered))
    print(f"tokenizer: {len(vocab)} tokens, {len(ordered)} merges")


def gpt2_tensors(vocab, n_pos, layers, d, rng):
    def normal(*shape):
        return (rng.standard_normal(shape) * 0.02).astype("<f4")

    t = {"transformer.wte.weight": normal(vocab, d), "transformer.wpe.weight": normal(n_pos, d)}
    for i in range(layers):
        p = f"transformer.h.{i}."
        t.update({
            p + "ln_1.weight": np.ones(d, "<f4"), p + "ln_1.bias": np.zeros(d, "<f4"),
            p + "attn.c_attn.weight": normal(d, 3 * d), p + "attn.c_attn.bias": np.zeros(3 * d, "<f4"),
            p + "attn.c_proj.weight": normal(d, d), p + "attn.c_proj.bias": np.zeros(d, "<f4"),
            p + "ln_2.weight": np.ones(d, "<f4"), p + "ln_2.bias": np.zeros(d, "<f4"),
            p + "mlp.c_fc.weight": normal(d, 4 * d), p + "mlp.c_fc.bias": np.zeros(4 * d, "<f4"),
            p + "mlp.c_proj.weight": normal(4 * d, d), p + "mlp.c_proj.bias": np.zeros(d, "<f4"),
            # The causal-mask buffer older transformers versions save; import ignores it.
            p + "attn.bias": np.tril(np.ones((n_pos, n_pos), "<f4")).reshape(1, 1, n_pos, n_pos),
        })
    t["transformer.ln_f.weight"] = np.ones(d, "<f4")
    t["transformer.ln_f.bias"] = np.zeros(d, "<f4")
    t["lm_head.weight"] = t["transformer.wte.weight"]  # tied, as GPT2LMHeadModel saves it
    return t


def write_safetensors(path, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a).tobytes())


def write_model(out_dir, tokenizer_dir, layers, d, shards, seed):
    vocab = len(json.load(open(f"{tokenizer_dir}/vocab.json", encoding="utf-8")))
    n_pos = 64
    tensors = gpt2_tensors(vocab, n_pos, layers, d, np.random.default_rng(seed))
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab,
              "n_positions": n_pos, "n_ctx": n_pos, "n_embd": d, "n_layer": layers, "n_head": 2,
              "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "tie_word_embeddings": True,
              "bos_token_id": vocab - 1, "eos_token_id": vocab - 1}
    with open(f"{out_dir}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(f"{out_dir}/model.safetensors", tensors)
        return
    names = list(tensors)
    weight_map = {}
    for k in range(shards):
        part = names[k * len(names) // shards:(k + 1) * len(names) // shards]
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(f"{out_dir}/{file}", {n: tensors[n] for n in part})
        weight_map.update({n: file for n in part})
    total = sum(a.nbytes for a in tensors.values())
    with open(f"{out_dir}/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


if __name__ == "__main__":
    if sys.argv[1] == "tokenizer":
        write_tokenizer(sys.argv[2], sys.argv[3:])
    else:
        write_model(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
