#!/usr/bin/env python3
"""Communication model of w2s training (docs/scaling.md): per optimizer step, the compute time at a
given MFU beside the communication that tensor parallelism (TP, inside a node over NVLink) and data
parallelism (DP, across nodes) add, and how much of it the step actually waits for.

  TP   Megatron: per block 2 all-reduces of the [b, T, d] activations forward and 2 backward, plus
       the vocab-parallel embedding (forward) and the LM head's input gradient (backward); rings
       inside the node, on the critical path.
  DP   the fp32 gradient all-reduce, hierarchical as NCCL runs it: reduce-scatter among the DP
       group's GPUs inside a node (NVLink), all-reduce of the resulting 1/local shard across nodes
       (each GPU on its own NIC; ring or tree), all-gather inside the node. ZeRO-1 replaces it by
       a reduce-scatter (overlapped with backward) plus an all-gather of the updated parameters
       (after the optimizer, exposed): the same bytes. Buckets overlap the last micro-step's
       backward; what does not fit is exposed.

Collectives use the alpha-beta model: a hop costs alpha, bytes cost bytes / (bandwidth x achieved
fraction). The network (one H100 SXM node unless --network names an INI file with a [network]
section, see configs/network/h100-sxm.ini) can be overridden key by key on the command line.

usage: tools/comm_model.py [--model gpt2-xl | --layers 48 --dim 1600 --vocab 50257 --seq 1024]
                           [--nodes 16 --tp 8] [--global-batch 512 --micro-batch 8] [--zero1]
                           [--inter-algo auto|ring|tree] [--schedule pipelined|sequential] [--overlap 1]
                           [--bucket-mb 16] [--mfu 0.45] [--act-bytes 2 --grad-bytes 4]
                           [--network FILE.ini] [--gpus-per-node 8 --intra-bw 450e9 --inter-bw 50e9
                            --intra-eff 0.822 --inter-eff 0.94 --alpha-intra 3e-6 --alpha-inter 8e-6
                            --peak 989e12]
       tools/comm_model.py --table [--model NAME] [--nodes-list 1,2,4,8,16,32] [--tp-list 1,2,4,8]
       tools/comm_model.py --busbw [--nodes-list 1,2,4,16] [--size-gb 4]
--table prints the step time and efficiency of every TP x DP shape (micro-batch min(B/DP, 4 TP));
--busbw prints the model's all-reduce bus bandwidth (nccl-tests: busbw = algbw x 2(n-1)/n)."""
import argparse
import configparser
import math
import sys

# One H100 SXM node (HGX/DGX H100): 8 GPUs on NVSwitch, 8 x 400 Gb/s NDR InfiniBand ports.
NETWORK_DEFAULTS = {
    # GPUs per node; TP groups stay inside one node, DP groups span nodes.
    "gpus_per_node": 8,
    # NVLink 4 per GPU and direction, bytes/s: 18 links x 25 GB/s = 450 GB/s (900 GB/s both ways).
    "intra_bw": 450e9,
    # Fraction of intra_bw an NCCL ring reaches (about 370 of 450 GB/s: protocol overhead).
    "intra_eff": 0.822,
    # Network per GPU and direction, bytes/s: one 400 Gb/s NDR port per GPU (8 per node) = 50 GB/s.
    "inter_bw": 50e9,
    # Fraction of inter_bw reached (46-48 GB/s of 50 per NDR port).
    "inter_eff": 0.94,
    # Latency per NVLink hop and per network hop, seconds (assumed, not taken from a measurement).
    "alpha_intra": 3e-6,
    "alpha_inter": 8e-6,
    # Dense bf16 peak per GPU, FLOP/s (H100 SXM, without sparsity).
    "peak": 989e12,
}

# GPT-2 shapes (configs/models/gpt2*.ini): layers, width.
MODELS = {"gpt2": (12, 768), "gpt2-medium": (24, 1024), "gpt2-large": (36, 1280), "gpt2-xl": (48, 1600)}


class ModelError(Exception):
    pass


def load_network(path):
    """NETWORK_DEFAULTS with the [network] keys of an INI file over them; an unknown key or a value
    that is not a positive number is an error naming the file."""
    net = dict(NETWORK_DEFAULTS)
    if not path:
        return net
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path):
            raise ModelError(f"{path}: network file not found")
    except configparser.Error as e:
        raise ModelError(f"{path}: {e}")
    if not parser.has_section("network"):
        raise ModelError(f"{path}: no [network] section")
    for key, text in parser.items("network"):
        if key not in NETWORK_DEFAULTS:
            raise ModelError(f"{path}: unknown key 'network.{key}' (known: {', '.join(NETWORK_DEFAULTS)})")
        try:
            value = type(NETWORK_DEFAULTS[key])(float(text)) if key == "gpus_per_node" else float(text)
        except ValueError:
            raise ModelError(f"{path}: network.{key} = '{text}' is not a number")
        if value <= 0:
            raise ModelError(f"{path}: network.{key} must be positive")
        net[key] = value
    return net


# ---- collectives: each returns (latency seconds, bandwidth seconds, bytes each GPU sends) ----
# n is the buffer each rank holds (nccl-tests' size S); p ranks; bw the achieved bytes/s per rank.

def ring_allreduce(n, p, bw, alpha):
    if p == 1:
        return 0.0, 0.0, 0.0
    sent = 2 * (p - 1) / p * n
    return 2 * (p - 1) * alpha, sent / bw, sent


def ring_reduce_scatter(n, p, bw, alpha):
    """Also the all-gather's cost: half of the ring all-reduce."""
    if p == 1:
        return 0.0, 0.0, 0.0
    sent = (p - 1) / p * n
    return (p - 1) * alpha, sent / bw, sent


def tree_allreduce(n, p, bw, alpha):
    """NCCL's double binary tree: about the ring's bus bandwidth on large buffers, but 2 log2(p) hops
    of latency instead of 2(p - 1)."""
    if p == 1:
        return 0.0, 0.0, 0.0
    sent = 2 * (p - 1) / p * n
    return 2 * math.ceil(math.log2(p)) * alpha, sent / bw, sent


def intra_bw(net):
    return net["intra_bw"] * net["intra_eff"]


def inter_bw(net):
    return net["inter_bw"] * net["inter_eff"]


def combine(phases, schedule):
    """Phases (latency, bandwidth) into seconds: 'sequential' runs them one after another (three
    separate collectives); 'pipelined' streams chunks through all of them at once, as one NCCL
    all-reduce does, so the slowest link sets the bandwidth term."""
    latency = sum(ph[0] for ph in phases)
    if schedule == "sequential":
        return latency + sum(ph[1] for ph in phases)
    return latency + max((ph[1] for ph in phases), default=0.0)


def dp_allreduce(nbytes, local, nodes, net, algo="ring", schedule="pipelined"):
    """Hierarchical all-reduce of nbytes per GPU over a DP group of `local` GPUs in each of `nodes`
    nodes. Returns seconds, NVLink bytes and NIC bytes sent per GPU. algo 'auto' takes the faster
    of ring and tree across nodes, as NCCL's tuner does for each call."""
    if algo == "auto":
        return min((dp_allreduce(nbytes, local, nodes, net, x, schedule) for x in ("ring", "tree")),
                   key=lambda r: r["seconds"])
    rs = ring_reduce_scatter(nbytes, local, intra_bw(net), net["alpha_intra"])
    cross = (tree_allreduce if algo == "tree" else ring_allreduce)(
        nbytes / local, nodes, inter_bw(net), net["alpha_inter"])
    intra = (rs[0] * 2, rs[1] * 2, rs[2] * 2)       # reduce-scatter + all-gather on NVLink
    return dict(seconds=combine([intra, cross[:2]], schedule), nvlink_bytes=intra[2], nic_bytes=cross[2])


def dp_zero1(nbytes, local, nodes, net, schedule="pipelined"):
    """ZeRO-1: hierarchical reduce-scatter of the gradient (intra, then inter on the 1/local shard)
    and all-gather of the parameters (the reverse); rings only. Seconds of each, bytes per GPU."""
    intra = ring_reduce_scatter(nbytes, local, intra_bw(net), net["alpha_intra"])
    cross = ring_reduce_scatter(nbytes / local, nodes, inter_bw(net), net["alpha_inter"])
    half = combine([intra[:2], cross[:2]], schedule)
    return dict(rs_seconds=half, ag_seconds=half, nvlink_bytes=2 * intra[2], nic_bytes=2 * cross[2])


def flat_nic_bytes(nbytes, dp):
    """What the flat model sends through each GPU's NIC: a ring over all DP ranks, every hop across
    the network."""
    return ring_allreduce(nbytes, dp, 1.0, 0.0)[2]


def busbw(nbytes, local, nodes, net, algo="ring", schedule="pipelined"):
    """nccl-tests' bus bandwidth of the model's all-reduce: algbw x 2(n-1)/n, n = all ranks."""
    n = local * nodes
    t = dp_allreduce(nbytes, local, nodes, net, algo, schedule)["seconds"]
    return nbytes / t * 2 * (n - 1) / n if n > 1 else float("inf")


# ---- one optimizer step ----

def param_count(L, d, V, T):
    return V * d + T * d + L * (12 * d * d + 13 * d) + 2 * d


def step(a, net):
    """Compute, TP and DP time of one step for the shape in `a`; raises ModelError for a shape that
    does not fit the node or the batch."""
    g = net["gpus_per_node"]
    if a.tp < 1 or g % a.tp:
        raise ModelError(f"--tp {a.tp} must divide the {g} GPUs of a node (TP stays inside a node)")
    if a.nodes < 1 or a.micro_batch < 1 or a.global_batch < 1:
        raise ModelError("--nodes, --micro-batch and --global-batch must be at least 1")
    world = a.nodes * g
    dp = world // a.tp
    local = g // a.tp                                    # DP group members per node
    if a.global_batch % dp:
        raise ModelError(f"global batch {a.global_batch} does not split over DP {dp}")
    per_rank = a.global_batch // dp
    b = min(a.micro_batch, per_rank)
    if per_rank % b:
        raise ModelError(f"{per_rank} sequences per DP rank do not split into micro-batches of {b}")
    m = per_rank // b
    L, d, V, T = a.layers, a.dim, a.vocab, a.seq
    params = param_count(L, d, V, T)
    tokens = a.global_batch * T
    t_compute = (6 * params + 6 * L * T * d) * tokens / (world * net["peak"] * a.mfu)
    # TP: (4L + 2) all-reduces of b*T*d activations per micro-step, rings over the TP group.
    n_tp = (4 * L + 2) * m if a.tp > 1 else 0
    lat, bwt, sent = ring_allreduce(b * T * d * a.act_bytes, a.tp, intra_bw(net), net["alpha_intra"])
    t_tp, tp_bytes = n_tp * (lat + bwt), n_tp * sent
    # DP: every GPU holds params/tp gradient elements, reduced bucket by bucket.
    grad = params / a.tp * a.grad_bytes
    buckets = max(1, math.ceil(grad / (a.bucket_mb * 1e6)))
    window = a.overlap * (2 / 3) * t_compute / m        # the last micro-step's backward
    tail = (V * d + T * d) / a.tp * a.grad_bytes        # embeddings: their gradient is ready last
    if a.zero1:
        z = dp_zero1(grad / buckets, local, a.nodes, net, a.schedule)
        t_rs, t_ag = buckets * z["rs_seconds"], buckets * z["ag_seconds"]
        t_tail = dp_zero1(tail, local, a.nodes, net, a.schedule)["rs_seconds"]
        t_dp, nic, nvl = t_rs + t_ag, buckets * z["nic_bytes"], buckets * z["nvlink_bytes"]
        exposed = max(t_tail, t_rs - window, 0.0) + t_ag
    else:
        r = dp_allreduce(grad / buckets, local, a.nodes, net, a.inter_algo, a.schedule)
        t_dp, nic, nvl = buckets * r["seconds"], buckets * r["nic_bytes"], buckets * r["nvlink_bytes"]
        t_tail = dp_allreduce(tail, local, a.nodes, net, a.inter_algo, a.schedule)["seconds"]
        exposed = max(t_tail, t_dp - window, 0.0)
    if dp == 1:
        t_dp = exposed = 0.0
    t_step = t_compute + t_tp + exposed
    return dict(params=params, world=world, dp=dp, local=local, micro_batch=b, micro_steps=m, tokens=tokens,
                t_compute=t_compute, tp_bytes=tp_bytes, t_tp=t_tp, grad_bytes=grad, buckets=buckets,
                dp_nic_bytes=nic, dp_nvlink_bytes=nvl, flat_nic_bytes=flat_nic_bytes(grad, dp), t_dp=t_dp,
                window=window, dp_exposed=exposed, t_step=t_step, efficiency=t_compute / t_step)


# ---- command line ----

def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), help="a GPT-2 shape (sets --layers and --dim)")
    for k, v in dict(layers=48, dim=1600, vocab=50257, seq=1024, heads=25, nodes=16, tp=8, global_batch=512,
                     micro_batch=8, mfu=0.45, act_bytes=2, grad_bytes=4, overlap=1.0, bucket_mb=16.0).items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    p.add_argument("--zero1", action="store_true", help="ZeRO-1: reduce-scatter + all-gather instead of all-reduce")
    p.add_argument("--inter-algo", choices=["auto", "ring", "tree"], default="auto",
                   help="DP all-reduce across nodes (auto: the faster per bucket, as NCCL chooses)")
    p.add_argument("--schedule", choices=["pipelined", "sequential"], default="pipelined")
    p.add_argument("--network", metavar="FILE.ini", help="network description ([network] section)")
    for k, v in NETWORK_DEFAULTS.items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=None, help=f"default {v:g}")
    p.add_argument("--table", action="store_true", help="every TP x DP shape over --nodes-list")
    p.add_argument("--busbw", action="store_true", help="the model's all-reduce bus bandwidth")
    p.add_argument("--nodes-list", default="1,2,4,8,16,32")
    p.add_argument("--tp-list", default="1,2,4,8")
    p.add_argument("--size-gb", type=float, default=4.0, help="--busbw buffer size, GB")
    a = p.parse_args(argv)
    if a.model:
        a.layers, a.dim = MODELS[a.model]
    return a


def network_from(a):
    net = load_network(a.network)
    for k in NETWORK_DEFAULTS:
        v = getattr(a, k)
        if v is not None:
            if v <= 0:
                raise ModelError(f"--{k.replace('_', '-')} must be positive")
            net[k] = v
    return net


def int_list(text, flag):
    try:
        return [int(x) for x in text.split(",") if x]
    except ValueError:
        raise ModelError(f"{flag} takes comma-separated whole numbers, not '{text}'")


def print_step(a, net):
    m = step(a, net)
    print(f"model: {m['params']/1e9:.2f}B parameters; {a.nodes} nodes x {net['gpus_per_node']} GPUs = "
          f"tp {a.tp} x dp {m['dp']} ({m['local']} DP ranks per node)")
    print(f"step: {m['tokens']} tokens ({a.global_batch} x {a.seq}), {m['micro_steps']} micro-steps of "
          f"{m['micro_batch']} per DP rank")
    print(f"compute at {a.mfu:.0%} MFU:         {m['t_compute']*1e3:9.1f} ms")
    print(f"TP all-reduces (per GPU): {m['tp_bytes']/1e9:7.2f} GB  {m['t_tp']*1e3:9.1f} ms  "
          f"(NVLink ring, {intra_bw(net)/1e9:.0f} GB/s achieved)")
    kind = "ZeRO-1 reduce-scatter + all-gather" if a.zero1 else f"all-reduce ({a.inter_algo} across nodes)"
    print(f"DP gradient {kind}, {m['grad_bytes']/1e9:.2f} GB per GPU in {m['buckets']} buckets, {a.schedule}:")
    print(f"  per NIC {m['dp_nic_bytes']/1e9:7.3f} GB (flat ring model: {m['flat_nic_bytes']/1e9:.3f} GB), "
          f"per GPU on NVLink {m['dp_nvlink_bytes']/1e9:.3f} GB; {m['t_dp']*1e3:.1f} ms, "
          f"{m['dp_exposed']*1e3:.1f} ms exposed (backward window {m['window']*1e3:.1f} ms)")
    print(f"step time (TP exposed, DP overlapped with the last backward): {m['t_step']*1e3:.1f} ms "
          f"-> parallel efficiency {m['efficiency']:.0%}")


def print_table(a, net):
    nodes, tps = int_list(a.nodes_list, "--nodes-list"), int_list(a.tp_list, "--tp-list")
    name = a.model or f"L{a.layers} d{a.dim}"
    print(f"{name}, global batch {a.global_batch} x {a.seq}, {'ZeRO-1' if a.zero1 else 'all-reduce'}, "
          f"{a.inter_algo} across nodes, {a.schedule}; cell: step ms (efficiency), DP exposed ms")
    print("| nodes | compute ms | " + " | ".join(f"TP {t}" for t in tps) + " | best |")
    print("|---" * (len(tps) + 3) + "|")
    for n in nodes:
        cells, best, t_compute = [], None, None
        for t in tps:
            sa = argparse.Namespace(**vars(a))
            sa.nodes, sa.tp = n, t
            try:
                sa.micro_batch = min(max(1, a.global_batch // (n * net["gpus_per_node"] // t)), 4 * t)
                m = step(sa, net)
            except ModelError:
                cells.append("—")
                continue
            t_compute = m["t_compute"]
            cells.append(f"{m['t_step']*1e3:.1f} ({m['efficiency']:.0%}), {m['dp_exposed']*1e3:.1f}")
            if best is None or m["t_step"] < best[1]:
                best = (t, m["t_step"])
        best_text = f"TP {best[0]} × DP {n * net['gpus_per_node'] // best[0]}" if best else "—"
        compute_text = f"{t_compute*1e3:.1f}" if t_compute else "—"
        print(f"| {n} | {compute_text} | " + " | ".join(cells) + f" | {best_text} |")


def print_busbw(a, net):
    size = a.size_gb * 1e9
    g = net["gpus_per_node"]
    print(f"model all-reduce bus bandwidth, GB/s, {a.size_gb:g} GB per GPU ({g} GPUs per node)")
    print("| nodes | ranks | ring, pipelined | tree, pipelined | ring, sequential |")
    print("|---|---|---|---|---|")
    for n in int_list(a.nodes_list, "--nodes-list"):
        row = [busbw(size, g, n, net, algo, sched) / 1e9
               for algo, sched in (("ring", "pipelined"), ("tree", "pipelined"), ("ring", "sequential"))]
        print(f"| {n} | {n * g} | " + " | ".join(f"{x:.0f}" for x in row) + " |")


def main(argv=None):
    try:
        a = parse(argv)
        net = network_from(a)
        if a.busbw:
            print_busbw(a, net)
        elif a.table:
            print_table(a, net)
        else:
            print_step(a, net)
    except ModelError as e:
        print(f"comm_model.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
