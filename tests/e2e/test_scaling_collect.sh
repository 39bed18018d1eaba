#!/usr/bin/env bash
# jobs/scaling-study --collect and tools/plot_results.py scaling on a hand-made study tree (no
# Slurm, no training; seconds): 4 strong-scaling points x 3 repeats, where one point never ran,
# one repeat has no metrics and one died after its first (warm-up) step. The CSV must hold, per
# point, the medians over the surviving repeats of the per-run medians after the first step, the
# min and max, efficiency against the smallest point, the compute / exposed-communication split,
# MFU from the study's peak ("n/a" without one, overridable by --peak-tflops), and list the
# missing point and repeats instead of failing; the plot is drawn headless from it. Then the
# --dry-run of a study with --repeats: one job per point and repeat, the collect after all.
source "$(dirname "$0")/lib_common.sh"

# study.json as jobs/scaling-study writes it, and the repeats' metrics.jsonl as w2s writes them
# (--log-every 1): step 1 is warm-up with absurd numbers the collect must ignore, steps 2-4 have
# medians tokens/s = T, step_s 0.5, exposed_comm_s 0.1 (compute_s 0.4).
$PY - <<'PYEOF'
import json, os
points = [{"mode": "strong", "nodes": n, "tasks_per_node": t, "ranks": n * t, "tp": 1, "dp": n * t, "batch_size": 16}
          for n, t in ((1, 1), (1, 2), (2, 1), (2, 2))]
os.makedirs("study", exist_ok=True)
json.dump({"command": "train", "steps": 4, "repeats": 3, "peak_tflops": None,
           "points": [dict(p, steps=4) for p in points]}, open("study/study.json", "w"))
def run(folder, tps, steps=4):
    os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/metrics.jsonl", "w") as f:
        f.write(json.dumps({"step": 1, "loss": 1.0, "tokens_per_s": 1.0, "step_s": 99.0, "compute_s": 0.0,
                            "exposed_comm_s": 99.0, "model_flops_per_token": 6000.0}) + "\n")
        for step, (d, s, c) in zip(range(2, steps + 1), ((-10, 0.6, 0.2), (0, 0.5, 0.1), (10, 0.4, 0.05))):
            f.write(json.dumps({"step": step, "loss": 1.0, "tokens_per_s": tps + d, "step_s": s, "compute_s": s - c,
                                "exposed_comm_s": c, "model_flops_per_token": 6000.0}) + "\n")
for rep, tps in ((1, 1000), (2, 1200), (3, 1100)):
    run(f"study/strong-n1x1/rep-{rep}", tps)
run("study/strong-n1x2/rep-1", 2000)
run("study/strong-n1x2/rep-2", 2100)
run("study/strong-n1x2/rep-3", 2200, steps=1)       # died after the warm-up step: no numbers
for rep, tps in ((1, 3900), (2, 4000), (3, 4400)):  # strong-n2x1 never ran: no folder at all
    run(f"study/strong-n2x2/rep-{rep}", tps)
os.makedirs("study/strong-n1x1/rep-4")              # not a repeat of the study: ignored
PYEOF

"$SRC/jobs/scaling-study" --collect study > collect.log 2>&1 || { cat collect.log; fail "collect failed on a study with a missing point"; }
cat collect.log
grep -q "^missing: strong-n1x2 (1 of 3 runs), strong-n2x1 (3 of 3 runs)$" collect.log || fail "missing points not listed"
cat > check_csv.py <<'PYEOF'
import csv, sys
rows = {(r["nodes"], r["tasks_per_node"]): r for r in csv.DictReader(open("study/scaling.csv"))}
peak = float(sys.argv[1]) * 1e12 if len(sys.argv) > 1 else None
def near(row, key, want):
    got = row[key]
    if want is None or want == "n/a":
        assert got == ("" if want is None else "n/a"), (key, got, want)
        return
    assert abs(float(got) - want) <= 1e-3 * abs(want) + 1e-9, (row["nodes"], row["tasks_per_node"], key, got, want)
expect = {  # (nodes, tasks): tokens/s median, min, max, repeats_ok, status
    ("1", "1"): (1100, 1000, 1200, 3, "ok"),
    ("1", "2"): (2050, 2000, 2100, 2, "partial"),
    ("2", "2"): (4000, 3900, 4400, 3, "ok"),
}
assert set(rows) == {("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")}, rows.keys()
for shape, (med, lo, hi, ok, status) in expect.items():
    r = rows[shape]
    ranks = int(r["ranks"])
    ideal = 1100 * ranks
    assert r["status"] == status and int(r["repeats_ok"]) == ok and int(r["repeats"]) == 3, r
    for key, want in (("tokens_per_s", med), ("tokens_per_s_min", lo), ("tokens_per_s_max", hi),
                      ("efficiency", med / ideal), ("efficiency_min", lo / ideal), ("efficiency_max", hi / ideal),
                      ("step_s", 0.5), ("compute_s", 0.4), ("exposed_comm_s", 0.1), ("comm_fraction", 0.2),
                      ("model_flops_per_token", 6000), ("mfu", 6000 * med / (ranks * peak) if peak else "n/a")):
        near(r, key, want)
gone = rows[("2", "1")]
assert gone["status"] == "missing" and gone["repeats_ok"] == "0", gone
for key in ("tokens_per_s", "efficiency", "step_s", "comm_fraction", "mfu"):
    assert gone[key] == "", (key, gone[key])
print("  csv ok" + (f" (peak {sys.argv[1]} TFLOP/s)" if peak else " (no peak: mfu n/a)"))
PYEOF
$PY check_csv.py || { cat study/scaling.csv; fail "wrong CSV values"; }
check "medians over repeats of per-run medians after step 1, min/max, efficiency vs 1100 x ranks, split 0.4 + 0.1 s, mfu n/a"

"$SRC/jobs/scaling-study" --collect study --peak-tflops 0.00001 > collect2.log 2>&1 || { cat collect2.log; fail "collect --peak-tflops failed"; }
$PY check_csv.py 0.00001 || { cat study/scaling.csv; fail "wrong MFU with --peak-tflops"; }
check "--peak-tflops 1e-5: mfu = 6000 x tokens/s / (ranks x 1e7), e.g. $(grep '^strong,1,1,' study/scaling.csv | cut -d, -f22)"

env -u DISPLAY MPLBACKEND=Agg $PY "$SRC/tools/plot_results.py" scaling study/scaling.csv --out scaling.png > plot.log 2>&1 \
  || { cat plot.log; fail "scaling plot failed on a CSV with a missing point"; }
[ "$(head -c 8 scaling.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && [ "$(stat -c %s scaling.png)" -gt 20000 ] \
  || fail "scaling.png is not a plausible PNG"
check "plot drawn headless ($(stat -c %s scaling.png) bytes)"

# The dry run: 2 modes x 2 node counts x 2 repeats = 8 point jobs, then the collect after all 8.
export W2S_BIN="${W2S_BIN:-/bin/true}"
"$SRC/jobs/scaling-study" --cluster "$SRC/configs/clusters/example-gpu.ini" --data d.h5 --model m.ini --nodes 1,2 \
  --repeats 2 --out dry --dry-run > dry.log 2>&1 || { cat dry.log; fail "dry run with --repeats failed"; }
[ "$(grep -c '\$ sbatch .*train.sbatch train' dry.log)" -eq 8 ] && [ "$(grep -c -- '--run-dir dry/strong-n2x8/rep-2 ' dry.log)" -eq 1 ] \
  && grep -q "peak 989 TFLOP/s per rank" dry.log \
  && grep 'tool.sbatch' dry.log | grep -qE -- "--dependency=afterany:<job1>:<job2>:<job3>:<job4>:<job5>:<job6>:<job7>:<job8>'? " \
  || { cat dry.log; fail "dry run: not one job per point and repeat, or the collect does not wait for all"; }
[ ! -e dry ] || fail "--dry-run wrote the study folder"
check "--repeats 2: 8 point jobs (rep-1, rep-2 folders), collect afterany all 8, peak from the cluster file"
echo PASS
