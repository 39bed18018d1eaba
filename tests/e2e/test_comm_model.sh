#!/usr/bin/env bash
# tools/comm_model.py (docs/scaling.md), no binary needed: the hierarchical DP all-reduce sends
# 1/gpus_per_node of the flat ring's bytes through each NIC, one node has no inter-node term,
# ZeRO-1 moves the bytes of the all-reduce, exposed communication is never negative, the model's
# 8-GPU NVLink busbw lies in the published NCCL range for H100 (about 370 GB/s with rings to about
# 480 GB/s with NVLink SHARP) and its many-node ring busbw near 8 NICs x 46-49 GB/s;
# configs/network/h100-sxm.ini equals the built-in defaults, a bad network file is refused naming
# it, and the command lines docs/scaling.md shows still run.
source "$(dirname "$0")/lib_common.sh"

$PY - "$SRC/tools" "$SRC/configs/network/h100-sxm.ini" <<'PYEOF' || fail "model invariants"
import argparse, sys
sys.path.insert(0, sys.argv[1])
import comm_model as cm

net = cm.load_network(None)
assert cm.load_network(sys.argv[2]) == net, "configs/network/h100-sxm.ini differs from the built-in defaults"
g = net["gpus_per_node"]

def shape(**kw):
    a = cm.parse([])
    for k, v in kw.items():
        setattr(a, k, v)
    return a

# 1. Per NIC, the hierarchical all-reduce sends 1/g of what the flat ring over all DP ranks sends
#    (DP group = all g GPUs of each node; exactly 1/g as the node count grows, since 2(N-1)/N and
#    2(gN-1)/(gN) meet).
S = 1.56e9 * 4
for nodes in (2, 4, 16, 32):
    hier = cm.dp_allreduce(S, g, nodes, net)["nic_bytes"]
    flat = cm.flat_nic_bytes(S, g * nodes)
    expect = 2 * (nodes - 1) / nodes * S / g
    assert abs(hier - expect) < 1e-6 * expect, (nodes, hier, expect)
    assert hier < flat / g * 1.0001 and hier > flat / g * 0.5, (nodes, hier, flat)
big = 4096
ratio = cm.dp_allreduce(S, g, big, net)["nic_bytes"] / cm.flat_nic_bytes(S, g * big)
assert abs(ratio - 1 / g) < 1e-3 / g, ratio
print(f"  NIC bytes: hierarchical / flat = {ratio:.5f} at {big} nodes (1/{g} = {1/g:.5f})")

# 2. One node: nothing crosses the network, for every algorithm, schedule and ZeRO-1.
for algo in ("ring", "tree", "auto"):
    for sched in ("pipelined", "sequential"):
        r = cm.dp_allreduce(S, g, 1, net, algo, sched)
        assert r["nic_bytes"] == 0 and r["seconds"] > 0, (algo, sched, r)
        # the time is the NVLink ring's alone: 2(g-1) hops and 2(g-1)/g S bytes
        alone = cm.ring_allreduce(S, g, cm.intra_bw(net), net["alpha_intra"])
        assert abs(r["seconds"] - (alone[0] + alone[1])) < 1e-12, (r, alone)
assert cm.dp_zero1(S, g, 1, net)["nic_bytes"] == 0
for tp in (1, 2, 4, 8):
    m = cm.step(shape(nodes=1, tp=tp), net)
    assert m["dp_nic_bytes"] == 0, (tp, m)

# 3. ZeRO-1 (reduce-scatter + all-gather) moves the all-reduce's bytes on both links, and at the
#    same bandwidth cost with rings.
for local, nodes in ((8, 1), (8, 2), (4, 16), (2, 16), (1, 32), (8, 32)):
    ar, z = cm.dp_allreduce(S, local, nodes, net, "ring"), cm.dp_zero1(S, local, nodes, net)
    for k in ("nic_bytes", "nvlink_bytes"):
        assert abs(ar[k] - z[k]) <= 1e-9 * max(ar[k], 1), (local, nodes, k, ar[k], z[k])
for tp in (1, 2, 4, 8):
    for nodes in (1, 4, 16):
        m_ar = cm.step(shape(nodes=nodes, tp=tp, micro_batch=4), net)
        m_z = cm.step(shape(nodes=nodes, tp=tp, micro_batch=4, zero1=True), net)
        assert abs(m_ar["dp_nic_bytes"] - m_z["dp_nic_bytes"]) <= 1e-9 * max(m_ar["dp_nic_bytes"], 1)

# 4. Exposed communication is never negative and never more than the communication itself;
#    the step is never shorter than its compute.
count = 0
for model in cm.MODELS:
    for tp in (1, 2, 4, 8):
        for nodes in (1, 2, 4, 8, 16, 32):
            for zero1 in (False, True):
                for overlap in (0.0, 0.5, 1.0):
                    for algo in ("ring", "tree", "auto"):
                        a = shape(model=model, nodes=nodes, tp=tp, micro_batch=4, zero1=zero1,
                                  overlap=overlap, inter_algo=algo)
                        a.layers, a.dim = cm.MODELS[model]
                        m = cm.step(a, net)
                        assert m["dp_exposed"] >= 0 and m["dp_exposed"] <= m["t_dp"] + 1e-12, m
                        assert m["t_step"] >= m["t_compute"] and 0 < m["efficiency"] <= 1, m
                        if overlap == 0 and not zero1:
                            assert abs(m["dp_exposed"] - m["t_dp"]) < 1e-12, m
                        count += 1
print(f"  {count} shapes: 0 <= exposed <= DP time")

# 5. Bus bandwidth (nccl-tests: algbw x 2(n-1)/n) against published NCCL figures for H100
#    (docs/scaling.md cites them): 8 GPUs over NVLink ~370 GB/s with rings, ~480 GB/s with
#    NVLink SHARP; NDR 400 Gb/s reaches 46-49 GB/s per NIC, so a ring across many nodes is bounded
#    near 8 x that = 368-392 GB/s.
bw8 = cm.busbw(4e9, g, 1, net) / 1e9
assert 350 <= bw8 <= 480, bw8
for nodes in (16, 32):
    bwn = cm.busbw(4e9, g, nodes, net, "ring") / 1e9
    assert 8 * 46 * 0.95 <= bwn <= 8 * 49 * 1.05, (nodes, bwn)
print(f"  busbw: 8 GPUs {bw8:.0f} GB/s; ring at 16 and 32 nodes "
      f"{cm.busbw(4e9, g, 16, net, 'ring')/1e9:.0f}, {cm.busbw(4e9, g, 32, net, 'ring')/1e9:.0f} GB/s")
# Three separate collectives cannot overlap NVLink and network: slower than one pipelined call.
assert cm.busbw(4e9, g, 16, net, "ring", "sequential") < 0.6 * cm.busbw(4e9, g, 16, net, "ring")
PYEOF
check "hierarchical NIC bytes = flat / gpus_per_node, one node has no network term, ZeRO-1 bytes = all-reduce bytes, 0 <= exposed <= DP, busbw in the published range"

# The command lines docs/scaling.md uses, and the old single-shape interface.
$PY "$SRC/tools/comm_model.py" > default.txt || fail "default run failed"
grep -q "parallel efficiency" default.txt || { cat default.txt; fail "no efficiency line"; }
$PY "$SRC/tools/comm_model.py" --tp 4 --intra-bw 450e9 --inter-bw 50e9 --alpha-intra 3e-6 --alpha-inter 8e-6 \
  --peak 989e12 --mfu 0.45 --act-bytes 2 --grad-bytes 4 --micro-batch 8 --nodes 16 --gpus-per-node 8 > old.txt \
  || fail "the old options are refused"
$PY "$SRC/tools/comm_model.py" --table --model gpt2 --zero1 > table.txt || fail "--table failed"
[ "$(grep -c '^| [0-9]' table.txt)" = 6 ] || { cat table.txt; fail "--table: expected 6 node rows"; }
$PY "$SRC/tools/comm_model.py" --busbw --nodes-list 1,2 > busbw.txt || fail "--busbw failed"
grep -q "^| 1 | 8 | " busbw.txt || { cat busbw.txt; fail "--busbw: no 8-GPU row"; }
$PY "$SRC/tools/comm_model.py" --network "$SRC/configs/network/h100-sxm.ini" > file.txt || fail "--network failed"
cmp -s default.txt file.txt || { diff default.txt file.txt; fail "--network with the shipped file changes the result"; }
check "default, old options, --table, --busbw and --network runs"

printf '[network]\nnvlink_speed = 1\n' > bad.ini
if $PY "$SRC/tools/comm_model.py" --network bad.ini > out.txt 2> err.txt; then fail "unknown key accepted"; fi
grep -q "bad.ini: unknown key 'network.nvlink_speed'" err.txt || { cat err.txt; fail "error does not name the file and key"; }
if $PY "$SRC/tools/comm_model.py" --tp 3 > out.txt 2> err.txt; then fail "--tp 3 accepted on 8-GPU nodes"; fi
grep -q "must divide the 8 GPUs" err.txt || { cat err.txt; fail "no clear --tp error"; }
check "unknown network key and a TP that does not divide the node are refused with one clear line"
echo PASS
