"""PyTorch baseline for bench_train_cuda on the GPU node (torch 2.x with CUDA): the same GPT-2
(HF semantics, tied LM head), batch, sequence and step — zero grads, forward + backward of the
mean token loss, clip at 1, AdamW — with bf16 autocast, scaled_dot_product_attention (causal),
fused AdamW and torch.compile, as issue 5 asks. Prints 'tokens_per_s', 'mfu' (6N + 6LTC per
token, as bench_train_cuda, against 989 TFLOP/s) and 'peak_mem_gib'.
Usage: python3 torch_gpt2_train_cuda.py [L H C T VOCAB B STEPS WARMUP]   (default: GPT-2 124M,
B 16, T 1024, 20 steps after 3 warm-up)"""
import sys
import time

import torch

from torch_gpt2_model import GPT


def flops_per_token(L, C, T, V):
    # 6 per parameter (wte once: tied; wpe and LayerNorms included, as the C++ side) + attention.
    n = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C
    return 6 * n + 6 * L * T * C


def main():
    args = list(map(int, sys.argv[1:9])) or [12, 12, 768, 1024, 50257, 16, 20, 3]
    L, H, C, T, V, B, steps, warmup = args
    torch.manual_seed(0)
    dev = "cuda"
    model = GPT(L, H, C, T, V, sdpa=True).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    step_model = torch.compile(model)
    idx = torch.randint(0, V, (B, T), device=dev)
    tgt = torch.randint(0, V, (B, T), device=dev)
    times = []
    for i in range(warmup + steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            loss = step_model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    median = sorted(times)[len(times) // 2]
    tps = B * T / median
    print(f"device {torch.cuda.get_device_name()}  torch {torch.__version__}")
    print(f"model L{L} H{H} C{C} T{T} V{V}, batch {B}; {steps} steps after {warmup} warm-up; loss {loss.item():.4f}")
    print(f"step_ms {median * 1e3:.2f}")
    print(f"tokens_per_s {tps:.0f}")
    print(f"mfu {100 * flops_per_token(L, C, T, V) * tps / 989e12:.1f}")
    print(f"peak_mem_gib {torch.cuda.max_memory_allocated() / 2**30:.2f}")


if __name__ == "__main__":
    main()
