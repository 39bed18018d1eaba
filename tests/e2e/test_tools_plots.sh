#!/usr/bin/env bash
# tools/ on a finished experiment: the tiny experiment (configs/experiments/tiny-test.ini, seconds)
# through `w2s pipeline`, then tools/sweep_table.py (Markdown PGR grid + CSV), tools/plot_results.py
# (accuracy and PGR vs strong size; scaling from a scaling-study CSV, here produced by
# jobs/scaling-study --collect from hand-made points), tools/cluster_bootstrap.py and
# tools/w2s-h5info. Checks the files: real PNGs of plausible size, a grid row for the pair, CSV
# values and the cluster bootstrap's point PGR equal to report.json's.
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
cp -r "$SRC/configs" .
"$W2S_BIN" pipeline --config configs/experiments/tiny-test.ini > pipeline.log 2>&1 || { tail -20 pipeline.log; fail "pipeline failed"; }
R=runs/tiny-test
$PY "$SRC/tools/sweep_table.py" $R --out sweep.md --csv sweep.csv > /dev/null || fail "sweep_table failed"
grep -q "^| ta | " sweep.md || { cat sweep.md; fail "no PGR grid row for weak ta"; }
$PY - "$R/report.json" sweep.csv <<'PYEOF' || fail "sweep.csv disagrees with report.json"
import csv, json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
c = list(csv.DictReader(open(sys.argv[2])))
assert len(c) == 1 and (c[0]["weak"], c[0]["strong"], c[0]["loss"]) == (r["weak"], r["strong"], r["loss"]), c
for k in ("p_weak", "p_w2s", "p_ceiling"):
    assert abs(float(c[0][k]) - r[k]) < 1e-12, k
PYEOF
check "sweep table (Markdown grid) and CSV match report.json"
$PY - "$R/report.json" "$SRC/tools/cluster_bootstrap.py" $R <<'PYEOF' || fail "cluster_bootstrap.py disagrees with report.json"
import json, math, re, subprocess, sys
r = json.load(open(sys.argv[1]))["rows"][0]
out = subprocess.run([sys.executable, sys.argv[2], sys.argv[3], r["task"], r["weak"], r["strong"], r["loss"],
                      "--div", "1", "--per-seed", "--resamples", "300"], check=True, capture_output=True, text=True).stdout
m = re.search(r"PGR (\S+) \[(\S+), (\S+)\]", out)
assert m, out
point = float(m.group(1))
if r["pgr_defined"]:
    assert abs(point - r["pgr"]) < 5e-4, (point, r["pgr"])
else:
    assert math.isnan(point), out
print("  " + out.strip())
PYEOF
check "cluster_bootstrap.py's point PGR is report.json's"
for kind in accuracy pgr; do
  $PY "$SRC/tools/plot_results.py" $kind $R --out $kind.png > /dev/null || fail "plot $kind failed"
done
mkdir -p scaling/strong-n1x1 scaling/strong-n1x2
for t in 1 2; do
  echo "{\"mode\": \"strong\", \"nodes\": 1, \"tasks_per_node\": $t, \"ranks\": $t, \"tp\": 1, \"dp\": $t, \"batch_size\": 16, \"steps\": 3}" \
    > scaling/strong-n1x$t/point.json
  for s in 1 2 3; do echo "{\"step\": $s, \"tokens_per_s\": $((1000 * t + 100 * (t - 1)))}"; done > scaling/strong-n1x$t/metrics.jsonl
done
"$SRC/jobs/scaling-study" --collect scaling > collect.log || { cat collect.log; fail "scaling collect failed"; }
grep -q "^strong,1,2,2,1,2,16,3,1,1,2100,2100,2100,1.05,1.05,1.05," scaling/scaling.csv || { cat scaling/scaling.csv; fail "wrong efficiency row"; }
$PY "$SRC/tools/plot_results.py" scaling scaling/scaling.csv --out scaling.png > /dev/null || fail "scaling plot failed"
for p in accuracy.png pgr.png scaling.png; do
  [ "$(head -c 8 $p | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$p is not a PNG"
  [ "$(stat -c %s $p)" -gt 10000 ] || fail "$p is suspiciously small"
done
check "accuracy.png, pgr.png, scaling.png written (efficiency 2100 / (1000 x 2) = 1.05)"
$PY "$SRC/tools/w2s-h5info" $R/spam/seed-0/gt-ta/predictions.h5 > info.txt || fail "w2s-h5info failed"
grep -q "probs" info.txt || { cat info.txt; fail "w2s-h5info does not list /probs"; }
check "w2s-h5info lists the predictions file"
echo PASS
