# Shared fixture for the e2e tests (sourced, not a test itself): a tiny classification task
# generated on the spot (no downloads), tokenized with the byte tokenizer, a tiny model shape,
# and helpers. Every test works under $W2S_TEST_TMP (fresh per test; see lib_common.sh).
: "${W2S_BIN:?W2S_BIN must name the w2s binary}"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpiexec --allow-run-as-root --oversubscribe --bind-to none)

# make_task DIR N_TRAIN N_TEST: label 1 iff the text mentions a fruit (a rule a model can learn).
make_task() {
  local dir=$1 ntrain=$2 ntest=$3
  mkdir -p "$dir"
  $PY - "$dir" "$ntrain" "$ntest" <<'PYEOF'
import json, random, sys
d, ntr, nte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
fruit = ["apple", "pear", "plum", "grape", "melon", "lemon"]
other = ["stone", "chair", "cloud", "river", "paper", "glass"]
verbs = ["sees", "likes", "holds", "finds", "wants", "paints"]
names = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"]
def example(i, label):
    words = [rng.choice(names), rng.choice(verbs), "a", rng.choice(fruit if label else other)]
    if rng.random() < 0.5: words += ["and", "a", rng.choice(other)]
    return {"id": i, "txt": " ".join(words), "hard_label": label}
for name, n, off in (("train", ntr, 0), ("test", nte, 100000)):
    with open(f"{d}/{name}.jsonl", "w") as f:
        for i in range(n): f.write(json.dumps(example(off + i, i % 2)) + "\n")
PYEOF
}

# The tiny model shape (2 layers, 2 heads, d 32, context 64).
write_tiny_model() { printf 'n_layer = 2\nn_head = 2\nd_model = 32\nn_ctx = 64\n' > "$1"; }

# setup_tiny: task in data/, splits in data/split, model ini, a trained weak model in weak/.
setup_tiny() {
  make_task data "${1:-240}" "${2:-80}"
  "$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --out-dir data/split --tokenizer byte \
    --max-len 64 --seed 0 > prepare.log
  write_tiny_model tiny.ini
  "$W2S_BIN" train --data data/split/train_a.h5 --run-dir weak --model tiny.ini --steps 20 --batch-size 16 \
    --lr 3e-3 --optimizer adamw --log-every 100 > weak.log
}

# losses_of RUN_DIR: the loss column of metrics.jsonl, one per line.
losses_of() { $PY -c 'import json,sys; [print(json.loads(l)["loss"]) for l in open(sys.argv[1])]' "$1/metrics.jsonl"; }

# A tiny experiment's ingredients, for the pipeline tests:
# write_tiny_family N: m1.ini … mN.ini, size k with k layers of width 16k.
write_tiny_family() {
  local s
  for s in $(seq 1 "$1"); do printf 'n_layer = %d\nn_head = 2\nd_model = %d\nn_ctx = 64\n' "$s" $((16 * s)) > "m$s.ini"; done
}
# write_tiny_corpus: corpus.jsonl, the task's training texts (data/train.jsonl) three times over.
write_tiny_corpus() {
  $PY -c '
import json
with open("corpus.jsonl", "w") as f:
    for l in open("data/train.jsonl"): f.write(json.dumps({"txt": json.loads(l)["txt"] * 3}) + "\n")'
}
# tiny_sections N: the [task.toy] and [model.sK] sections over data/ and m1.ini … mN.ini.
tiny_sections() {
  local s
  printf '[task.toy]\ntrain = data/train.jsonl\ntest = data/test.jsonl\n'
  for s in $(seq 1 "$1"); do printf '[model.s%d]\nconfig = m%d.ini\n' "$s" "$s"; done
}
# tiny_chain_experiment OUT: the [experiment] section of a 3-size experiment with a chain.
tiny_chain_experiment() {
  printf '[experiment]\nout = %s\ntasks = toy\nsizes = s1 s2 s3\nlosses = xent auxconf\nseeds = 0 1\nbootstrap = s1 s2 s3\n' "$1"
}
# tiny_pretrain_sections STEPS: [data] and [pretrain] sections pretraining on corpus.jsonl.
tiny_pretrain_sections() {
  printf '[data]\nmax_len = 64\n[pretrain]\ncorpus = corpus.jsonl\nsteps = %d\nbatch_size = 8\nseq_len = 64\n' "$1"
}
# tiny_finetune_section: the [finetune] section the tiny experiments fine-tune with.
tiny_finetune_section() {
  printf '[finetune]\nepochs = 1\nbatch_size = 16\nlr = 3e-3\n'
}
