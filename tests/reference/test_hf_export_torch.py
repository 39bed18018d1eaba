"""`w2s export-hf` checked against PyTorch: the exported model.safetensors is parsed here (no
`safetensors` package: the format is a little-endian header length, a JSON header and raw F32
data), GPT-2 is rebuilt in plain torch from those tensors (the same code as test_gpt2_torch.py),
and its logits must equal w2s's logits for the same tokens within 1e-4 relative (fp32)."""
import json
import os
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_gpt2_torch import backbone, rel_err  # noqa: E402

TOL = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e["dtype"]
        b, end = e["data_offsets"]
        out[name] = torch.tensor(np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy())
    return out


def main():
    bindir = os.environ.get("W2S_TEST_BIN_DIR")
    if not bindir:
        print("W2S_TEST_BIN_DIR not set (run through ctest)")
        return 77
    tmp = os.environ.get("W2S_TEST_TMP") or tempfile.mkdtemp()
    os.makedirs(tmp, exist_ok=True)
    subprocess.run([os.path.join(bindir, "hf_export_dump"), tmp], check=True)
    cfg = json.load(open(os.path.join(tmp, "hf", "config.json")))
    tensors = read_safetensors(os.path.join(tmp, "hf", "model.safetensors"))
    p = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in tensors.items()}
    model_cfg = {"d_model": cfg["n_embd"], "n_head": cfg["n_head"], "n_layer": cfg["n_layer"]}
    with h5py.File(os.path.join(tmp, "logits.h5"), "r") as f:
        tokens = torch.tensor(np.array(f["tokens"]), dtype=torch.long)
        ours = np.array(f["logits"])[:, :, : cfg["vocab_size"]]
    with torch.no_grad():
        ref = (backbone(p, model_cfg, tokens) @ p["wte.weight"].T).numpy()
    e = rel_err(ours, ref)
    print(f"export-hf logits vs torch on the exported tensors: rel err {e:.2e} (tolerance {TOL})")
    return 0 if e <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
