#!/usr/bin/env python3
"""Parity of `w2s export-hf` with Hugging Face transformers, for a machine that has it (the GPU
node): loads EXPORT_DIR with GPT2LMHeadModel.from_pretrained, runs the tokens stored in
LOGITS.h5 (written by tests/reference/hf_export_dump alongside the export) and prints the max
relative difference to w2s's logits.   usage: tools/hf_parity.py EXPORT_DIR LOGITS.h5
Make the inputs with:  build/tests/hf_export_dump OUT [n_layer n_head d_model vocab]  (then
EXPORT_DIR = OUT/hf, LOGITS.h5 = OUT/logits.h5); e.g. 12 12 768 50257 for a GPT-2 124M shape."""
import sys

import h5py
import numpy as np
import torch
from transformers import GPT2LMHeadModel


def main():
    export_dir, logits_file = sys.argv[1], sys.argv[2]
    model = GPT2LMHeadModel.from_pretrained(export_dir, torch_dtype=torch.float32).eval()
    with h5py.File(logits_file, "r") as f:
        tokens = torch.tensor(np.array(f["tokens"]), dtype=torch.long)
        ours = np.array(f["logits"])[:, :, : model.config.vocab_size]
    with torch.no_grad():
        ref = model(tokens).logits.numpy()
    err = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
    print(f"transformers {__import__('transformers').__version__}: max |w2s - HF| / max |HF| = {err:.3e} "
          f"over {ours.size} logits")
    return 0 if err < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
