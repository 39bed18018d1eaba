"""w2s's CPU GPT-2 against PyTorch (Debian's python3-torch, fp32).

A small GPT-2 is written here in plain torch, exactly as Hugging Face's GPT2 (pre-LN blocks,
eps 1e-5, tanh GELU, learned positions, tied LM head, classification head on the last real
token). It loads the weights w2s wrote, recomputes LM and classifier logits, losses and every
parameter gradient with autograd, runs 3 AdamW steps, and compares with what w2s computed.
Tolerance: 1e-4 relative (max |a - b| / max |b| per tensor), fp32 on both sides.
"""
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.nn.functional as F

TOL = 1e-4
torch.set_num_threads(1)
torch.manual_seed(0)


def load_params(path):
    with h5py.File(path, "r") as f:
        cfg = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        params = {}
        f["params"].visit(lambda n: params.__setitem__(n, torch.tensor(np.array(f["params"][n]), requires_grad=True))
                          if isinstance(f["params"][n], h5py.Dataset) else None)
    return cfg, params


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def backbone(p, cfg, tokens):
    B, T = tokens.shape
    C, H = int(cfg["d_model"]), int(cfg["n_head"])
    x = p["wte.weight"][tokens] + p["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(int(cfg["n_layer"])):
        q = f"h.{l}."
        h = F.layer_norm(x, (C,), p[q + "ln_1.weight"], p[q + "ln_1.bias"], 1e-5)
        qkv = h @ p[q + "attn.c_attn.weight"] + p[q + "attn.c_attn.bias"]
        qh, kh, vh = [t.view(B, T, H, C // H).transpose(1, 2) for t in qkv.split(C, dim=2)]
        att = (qh @ kh.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ vh).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[q + "attn.c_proj.weight"] + p[q + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), p[q + "ln_2.weight"], p[q + "ln_2.bias"], 1e-5)
        h = gelu_tanh(h @ p[q + "mlp.c_fc.weight"] + p[q + "mlp.c_fc.bias"])
        x = x + h @ p[q + "mlp.c_proj.weight"] + p[q + "mlp.c_proj.bias"]
    return F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


failures = []


def check(name, ours, ref):
    e = rel_err(ours, ref)
    status = "ok" if e <= TOL else "FAIL"
    print(f"  {status:4s} {name:40s} rel err {e:.2e}")
    if e > TOL:
        failures.append(name)


def check_grads(group, dump, params):
    for name, t in params.items():
        ref = t.grad.numpy() if t.grad is not None else np.zeros(tuple(t.shape), dtype=np.float32)
        ours = np.array(dump[f"{group}/grads/{name}"])
        if t.grad is None:  # a tensor the loss does not touch (the classifier in LM mode): exactly zero
            if np.any(ours != 0):
                failures.append(f"{group} grad {name} (expected exactly zero)")
            continue
        check(f"{group} grad {name}", ours, ref)


def main():
    bindir = os.environ.get("W2S_TEST_BIN_DIR")
    if not bindir:
        print("W2S_TEST_BIN_DIR not set (run through ctest)")
        return 77
    tmp = os.environ.get("W2S_TEST_TMP") or tempfile.mkdtemp()
    os.makedirs(tmp, exist_ok=True)
    subprocess.run([os.path.join(bindir, "reference_dump"), tmp], check=True)
    cfg, p = load_params(os.path.join(tmp, "ckpt.h5"))
    # w2s wrote the classifier head with random weights (see reference_dump.cpp); read it back.
    d = h5py.File(os.path.join(tmp, "dump.h5"), "r")
    tokens = torch.tensor(np.array(d["tokens"]), dtype=torch.long)
    targets = torch.tensor(np.array(d["targets"]), dtype=torch.long)
    lengths = torch.tensor(np.array(d["lengths"]), dtype=torch.long)
    labels = torch.tensor(np.array(d["labels"]), dtype=torch.long)
    V = int(cfg["vocab_size"])
    B, T = tokens.shape

    print("LM head:")
    h = backbone(p, cfg, tokens)
    logits = h @ p["wte.weight"].T
    check("lm logits", np.array(d["lm/logits"]).reshape(B, T, -1)[:, :, :V], logits.detach().numpy())
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    check("lm loss", np.array(d["lm/loss"]), np.array([loss.item()]))
    check_grads("lm", d, p)

    print("classification head:")
    for t in p.values():
        t.grad = None
    h = backbone(p, cfg, tokens)
    last = h[torch.arange(B), lengths - 1]
    cls_logits = last @ p["score.weight"].T
    check("cls logits", np.array(d["cls/logits"]), cls_logits.detach().numpy())
    closs = F.cross_entropy(cls_logits, labels)
    closs.backward()
    check("cls loss", np.array(d["cls/loss"]), np.array([closs.item()]))
    check_grads("cls", d, p)

    print("AdamW, 3 steps (lr 1e-2, weight decay 0.1 on 2-D weights):")
    for t in p.values():
        t.grad = None
    decay = [t for n, t in p.items() if t.dim() == 2 and n != "score.weight"]
    no_decay = [t for n, t in p.items() if not (t.dim() == 2 and n != "score.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        h = backbone(p, cfg, tokens)
        l = F.cross_entropy(h[torch.arange(B), lengths - 1] @ p["score.weight"].T, labels)
        losses.append(l.item())
        l.backward()
        opt.step()
    with torch.no_grad():
        h = backbone(p, cfg, tokens)
        losses.append(F.cross_entropy(h[torch.arange(B), lengths - 1] @ p["score.weight"].T, labels).item())
    check("adamw losses (before each step + after)", np.array(d["adamw/losses"]), np.array(losses))
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
