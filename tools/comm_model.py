#!/usr/bin/env python3
"""Communication model of w2s training (docs/scaling.md): bytes per step for tensor parallelism
(Megatron: 2 all-reduces of the activations per block forward, 2 backward) and data parallelism
(gradient all-reduce, or ZeRO-1 reduce-scatter + all-gather of the same volume), timed with an
alpha-beta model of ring collectives, beside the compute time at a given MFU.

usage: tools/comm_model.py [--layers 48 --dim 1600 --vocab 50257 --seq 1024 --heads 25]
                           [--nodes 16 --gpus-per-node 8 --tp 8] [--global-batch 512 --micro-batch 8]
                           [--intra-bw 450e9 --inter-bw 50e9 --alpha-intra 3e-6 --alpha-inter 8e-6]
                           [--peak 989e12 --mfu 0.45] [--act-bytes 2 --grad-bytes 4]
Defaults: GPT-2 1.5B on 16 nodes x 8 H100 (NVLink all-reduce bus bandwidth ~450 GB/s inside a
node, one 400 Gb/s NIC per GPU = 50 GB/s across nodes)."""
import argparse


def ring_allreduce_time(nbytes, p, bw, alpha):
    """Ring all-reduce of nbytes over p ranks: 2(p-1) steps, each moving nbytes/p."""
    if p == 1:
        return 0.0
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / bw


def model(a):
    L, d, V, T = a.layers, a.dim, a.vocab, a.seq
    params = V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d
    dp = a.nodes * a.gpus_per_node // a.tp
    tokens_step = a.global_batch * T
    tokens_rank = tokens_step / dp                       # per DP rank (and per TP group member)
    micro_steps = a.global_batch / dp / a.micro_batch
    # Compute: 6N + 6LTd FLOPs per token, split over all GPUs.
    flops = (6 * params + 6 * L * T * d) * tokens_step
    t_compute = flops / (a.nodes * a.gpus_per_node * a.peak * a.mfu)
    # TP: per block, 2 forward + 2 backward all-reduces of (micro_batch x T x d) activations,
    # plus the vocab-parallel embedding (1 fwd) and the LM head's input gradient (1 bwd).
    ar_per_micro = 4 * L + 2
    act_bytes = a.micro_batch * T * d * a.act_bytes
    tp_bytes = ar_per_micro * micro_steps * act_bytes if a.tp > 1 else 0.0
    t_tp = ar_per_micro * micro_steps * ring_allreduce_time(act_bytes, a.tp, a.intra_bw, a.alpha_intra)
    # DP: each rank holds params/tp of the gradient; a ring over dp nodes (inter-node links).
    grad_bytes = params / a.tp * a.grad_bytes
    t_dp = ring_allreduce_time(grad_bytes, dp, a.inter_bw, a.alpha_inter)
    return dict(params=params, dp=dp, tokens_step=tokens_step, micro_steps=micro_steps, t_compute=t_compute,
                tp_bytes=tp_bytes, t_tp=t_tp, grad_bytes=grad_bytes, t_dp=t_dp)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, v in dict(layers=48, dim=1600, vocab=50257, seq=1024, nodes=16, gpus_per_node=8, tp=8,
                     global_batch=512, micro_batch=8, intra_bw=450e9, inter_bw=50e9, alpha_intra=3e-6,
                     alpha_inter=8e-6, peak=989e12, mfu=0.45, act_bytes=2, grad_bytes=4).items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    a = p.parse_args()
    m = model(a)
    print(f"model: {m['params']/1e9:.2f}B parameters; {a.nodes} nodes x {a.gpus_per_node} GPUs = tp {a.tp} x dp {m['dp']}")
    print(f"step: {m['tokens_step']} tokens ({a.global_batch} x {a.seq}), {m['micro_steps']:.0f} micro-steps of {a.micro_batch} per DP rank")
    print(f"compute at {a.mfu:.0%} MFU:         {m['t_compute']*1e3:9.1f} ms")
    print(f"TP all-reduces (per GPU): {m['tp_bytes']/1e9:7.2f} GB  {m['t_tp']*1e3:9.1f} ms  (NVLink, {a.intra_bw/1e9:.0f} GB/s)")
    print(f"DP gradient all-reduce:   {m['grad_bytes']/1e9:7.2f} GB  {m['t_dp']*1e3:9.1f} ms  (IB, {a.inter_bw/1e9:.0f} GB/s per GPU)")
    exposed = m['t_tp'] + max(0.0, m['t_dp'] - 0.5 * m['t_compute'])
    print(f"step time if TP is exposed and DP overlaps the backward half: {(m['t_compute']+exposed)*1e3:.1f} ms "
          f"-> parallel efficiency {m['t_compute']/(m['t_compute']+exposed):.0%}")


if __name__ == "__main__":
    main()
