#!/usr/bin/env bash
# Periodic checkpoints (--save-every) set per experiment and per cluster file, and never
# changing a result:
#   1. `w2s train` on 2 ranks with --save-every 7 (with --no-save-optimizer, as the pipeline's
#      fine-tuning stages run) ends with the same weights as without it: the final checkpoints'
#      content hashes (params_sha256, computed from the weights) and every loss are equal, and
#      the periodic checkpoints were really written (the log says so at steps 7, 14, 21, 28).
#   2. The plan: pretrain.save_every / finetune.save_every reach every pretraining / fine-tuning
#      stage as --save-every N and no other stage; without the keys no stage has the option.
#   3. jobs/: a cluster file's cluster.save_every reaches every training stage's command line
#      when the experiment sets no key; an experiment key wins over it for its kind.
#   4. A new cadence reruns nothing: the tiny experiment runs, then runs again with both keys
#      set, and every stage is "done already (verified)" (--save-every is not in the stamp).
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
source "$SRC/tests/e2e/lib_tiny.sh"
cp -r "$SRC/configs" .
setup_tiny 240 40

# params_hash CKPT: the content hash w2s stores with the weights.
params_hash() { h5dump -a /params_sha256 "$1" 2> /dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p'; }

echo "1. --save-every leaves the result bit-identical"
args=(train --data data/split/train_a.h5 --model tiny.ini --steps 30 --batch-size 16 --lr 3e-3 --log-every 1
      --no-save-optimizer)
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${args[@]}" --run-dir plain > plain.log 2>&1 || { cat plain.log; fail "plain run"; }
"${MPIRUN[@]}" -n 2 "$W2S_BIN" "${args[@]}" --run-dir periodic --save-every 7 > periodic.log 2>&1 ||
  { cat periodic.log; fail "periodic run"; }
saves=$(grep -c "checkpoint.*step \(7\|14\|21\|28\)\b" periodic.log || true)
h_plain=$(params_hash plain/ckpt.h5); h_periodic=$(params_hash periodic/ckpt.h5)
[ -n "$h_plain" ] || fail "no params_sha256 in plain/ckpt.h5: $(h5dump -A plain/ckpt.h5 | head -20)"
[ "$h_plain" = "$h_periodic" ] || fail "final weights differ: $h_plain (plain) vs $h_periodic (--save-every 7)"
cmp <(losses_of plain) <(losses_of periodic) || fail "losses differ with --save-every 7"
check "final params_sha256 ${h_plain:0:16} with and without --save-every 7; all 30 losses equal"

# A run killed without warning (SIGKILL: no checkpoint on the way out) leaves its last periodic
# checkpoint: proof that --save-every writes mid-run, which the identical results above cannot show.
"$W2S_BIN" train --data data/split/train_a.h5 --model tiny.ini --steps 5000 --batch-size 16 --lr 3e-3 \
  --log-every 1 --run-dir killed --save-every 5 > killed.log 2>&1 &
pid=$!
for _ in $(seq 600); do [ -f killed/metrics.jsonl ] && [ "$(wc -l < killed/metrics.jsonl)" -ge 12 ] && break; sleep 0.1; done
kill -9 $pid; wait $pid 2> /dev/null || true
step=$(h5dump -a /state/step killed/ckpt.h5 2> /dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
[ -n "$step" ] && [ "$step" -ge 10 ] && [ $((step % 5)) -eq 0 ] || fail "no periodic checkpoint after SIGKILL (step '$step')"
check "killed without warning after $(wc -l < killed/metrics.jsonl) steps: periodic checkpoint at step $step"

echo "2. the plan carries the experiment's keys to the training stages"
# stage_options PLAN.json: one line per stage, "<kind> <value of --save-every or ->".
stage_options() {
  $PY - "$1" <<'PYEOF'
import json, sys
for s in json.load(open(sys.argv[1]))["stages"]:
    c = s["command"]
    print(s["kind"], c[c.index("--save-every") + 1] if "--save-every" in c else "-")
PYEOF
}
exp=configs/experiments/tiny-test.ini
"$W2S_BIN" pipeline --config $exp --plan-json > unset.json || fail "--plan-json failed"
[ "$(stage_options unset.json | awk '$2 != "-"' | wc -l)" -eq 0 ] || fail "--save-every without the keys: $(stage_options unset.json)"
"$W2S_BIN" pipeline --config $exp --set pretrain.save_every=50 --set finetune.save_every=3 --plan-json > set.json ||
  fail "--plan-json with the keys failed"
stage_options set.json | sort | uniq -c | sed 's/^/    /'
[ "$(stage_options set.json | awk '$1 == "pretrain"' | sort -u)" = "pretrain 50" ] || fail "pretraining stages: $(stage_options set.json)"
[ "$(stage_options set.json | awk '$1 == "train"' | sort -u)" = "train 3" ] || fail "fine-tuning stages: $(stage_options set.json)"
[ "$(stage_options set.json | awk '$1 != "pretrain" && $1 != "train" && $2 != "-"' | wc -l)" -eq 0 ] ||
  fail "a stage other than training got --save-every: $(stage_options set.json)"
check "pretrain.save_every=50 and finetune.save_every=3 reach every training stage of their kind, no other"

echo "3. jobs/: the cluster file's save_every when the experiment sets none"
sed 's/^save_every = .*/save_every = 9/' "$SRC/configs/clusters/local.ini" > cluster9.ini
grep -q "^save_every = 9" cluster9.ini || fail "local.ini has no save_every key"
# submitted_options LOG: "<subcommand> <--save-every value or ->" per submitted pretrain/train stage.
submitted_options() {
  grep -o 'train.sbatch .*' "$1" | $PY -c '
import shlex, sys
for line in sys.stdin:
    a = shlex.split(line)[1:]
    print(a[0], a[a.index("--save-every") + 1] if "--save-every" in a else "-")'
}
drive() { "$SRC/jobs/submit-pipeline" --experiment $exp --cluster cluster9.ini --w2s "$W2S_BIN" --dry-run "$@"; }
drive > dry-cluster.log || { cat dry-cluster.log; fail "submit-pipeline --dry-run"; }
[ "$(submitted_options dry-cluster.log | wc -l)" -ge 3 ] || { cat dry-cluster.log; fail "no training stages submitted"; }
[ "$(submitted_options dry-cluster.log | awk '{print $2}' | sort -u)" = 9 ] || fail "cluster.save_every: $(submitted_options dry-cluster.log)"
drive --set finetune.save_every=4 > dry-both.log || { cat dry-both.log; fail "submit-pipeline --dry-run --set"; }
[ "$(submitted_options dry-both.log | awk '$1 == "pretrain"' | sort -u)" = "pretrain 9" ] || fail "pretrain: $(submitted_options dry-both.log)"
[ "$(submitted_options dry-both.log | awk '$1 == "train"' | sort -u)" = "train 4" ] || fail "train: $(submitted_options dry-both.log)"
check "cluster.save_every = 9 on every training job; finetune.save_every=4 wins for fine-tuning, pretraining keeps 9"

echo "4. changing the cadence of a finished experiment reruns nothing"
"$W2S_BIN" pipeline --config $exp > first.log 2>&1 || { tail -20 first.log; fail "the tiny experiment failed"; }
"$W2S_BIN" pipeline --config $exp --set pretrain.save_every=3 --set finetune.save_every=2 > again.log 2>&1 ||
  { tail -20 again.log; fail "the rerun failed"; }
grep -q "redoing" again.log && { grep "redoing" again.log; fail "a new --save-every redid stages"; }
n_stages=$(stage_options unset.json | grep -vc "^analyze")
[ "$(grep -c "done already (verified)" again.log)" -eq "$n_stages" ] || { cat again.log; fail "not every stage was skipped"; }
check "all $n_stages stages done already after setting pretrain.save_every=3 and finetune.save_every=2"
echo PASS
