"""PyTorch baseline for bench_train_cpu: the same GPT-2 (HF semantics), batch and optimizer,
trained for a fixed number of steps; prints 'tokens_per_s <value>'. Run with /usr/bin/python3
(Debian's python3-torch). Usage: torch_gpt2_train.py L H C T VOCAB B STEPS WARMUP THREADS"""
import sys
import time

import torch

from torch_gpt2_model import GPT


def main():
    L, H, C, T, V, B, steps, warmup, threads = map(int, sys.argv[1:10])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT(L, H, C, T, V)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    idx = torch.randint(0, V, (B, T))
    tgt = torch.randint(0, V, (B, T))
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(idx, tgt)
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    print(f"params {sum(p.numel() for p in model.parameters())}")
    print(f"tokens_per_s {B * T * steps / elapsed:.1f}")


if __name__ == "__main__":
    main()
