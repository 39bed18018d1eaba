#include "infer/label_eval.h"

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/output_folder.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "infer/inference.h"
#include "infer/inference_model.h"
#include "io/label_shards.h"
#include "io/predictions.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;

// Every rank fills its rows of a full-size array; a sum over DP assembles it everywhere.
std::vector<float> assemble(const std::vector<float>& mine, const std::vector<int64_t>& rows, int64_t n, int C,
                            Communicator& dp) {
  std::vector<float> full(static_cast<size_t>(n) * C, 0.0f);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(mine.begin() + static_cast<int64_t>(i) * C, mine.begin() + static_cast<int64_t>(i + 1) * C,
              full.begin() + rows[i] * C);
  dp.all_reduce(full.data(), full.size(), ReduceOp::Sum);
  return full;
}

// Exactly a name label_shard_name() makes ("shard-KKKKK-of-NNNNN.h5"), not merely one like it.
bool is_w2s_shard_name(const std::string& name) {
  const std::string pattern = label_shard_name(0, 0);
  if (name.size() != pattern.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (pattern[i] == '0' ? (name[i] < '0' || name[i] > '9') : name[i] != pattern[i]) return false;
  return true;
}

// Removes shard files of another shard count (a re-run with a different --shards). Only names
// w2s gives shards: a user's "shard-notes.h5" stays (and LabelSet::open names it when refusing).
void remove_foreign_shards(const std::string& dir, int num_shards) {
  std::string mine = strfmt("-of-%05d.h5", num_shards);
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (is_w2s_shard_name(name) && !ends_with(name, mine)) {
      log_info("  removing " + name + " (from a run with a different shard count)");
      fs::remove(e.path());
    }
  }
}

// Computes shard k of `shards` batch by batch, appending each batch's labels to the shard as it
// goes: memory holds one batch, whatever the shard's size. Only `write` ranks (TP rank 0)
// write; the other TP ranks compute with them.
void label_shard(const HeadForward& model, const TokenDataset& ds, const InferencePlan& plan, int k, int shards, double temperature,
                 const std::string& path, const LabelShardMeta& meta, bool write) {
  const bool regression = ds.info().task == "regression";
  auto [first, last] = plan.part(k, shards);
  const int64_t total = plan.rows_before(last) - plan.rows_before(first);
  std::unique_ptr<LabelShardWriter> writer;
  if (write) writer = std::make_unique<LabelShardWriter>(path, meta);
  ExampleBatch eb;
  std::vector<float> logits, probs;
  Timer timer;
  double last_report = 0;
  int64_t done = 0;
  plan.for_each_batch(first, last, [&](const std::vector<int64_t>& rows) {
    infer_batch(model, ds, rows, temperature, regression, eb, logits, probs);
    if (writer) writer->append(eb.ids.data(), probs.data(), logits.data(), rows.size());
    done += static_cast<int64_t>(rows.size());
    if (write && timer.seconds() - last_report > 10.0) {
      last_report = timer.seconds();
      log_info(strfmt("  %s: %lld/%lld examples (%.0f/s)", label_shard_name(k, shards).c_str(),
                      static_cast<long long>(done), static_cast<long long>(total), done / timer.seconds()));
    }
  });
  W2S_CHECK(done == total, "a shard's batches hold the rows the plan counts");
  if (writer) writer->commit();
}

// An input lying in --out-dir under a name label writes or removes there (a shard, the manifest)
// would be overwritten or deleted: refused like any output equal to an input.
void require_inputs_outside_label_names(const LabelOptions& o) {
  for (const auto& [option, path] : {std::pair<std::string, std::string>{"--model", o.model}, {"--data", o.data}}) {
    const fs::path p(path);
    const std::string name = p.filename().string();
    if (name != "manifest.json" && !is_w2s_shard_name(name)) continue;
    if (same_file(p.parent_path().empty() ? "." : p.parent_path().string(), o.out_dir))
      throw UsageError(strfmt("%s %s lies in --out-dir %s under a name w2s label writes there: an output must not "
                              "overwrite an input", option.c_str(), path.c_str(), o.out_dir.c_str()));
  }
}

}  // namespace

double run_eval(const EvalOptions& o, const ProcessGrid& grid) {
  require_outputs_not_inputs({{"--out", o.out}}, {{"--model", o.model}, {"--data", o.data}});
  Timer timer;
  TokenDataset ds = TokenDataset::open(o.data);
  require_same_tokenizer(ds.info(), o.model);
  const Device device = parse_device(o.device);
  InferenceModel model(o.model, grid, device);
  const bool regression = ds.info().task == "regression";
  const int C = model.config().num_classes;
  if (ds.info().max_len > model.config().n_ctx)
    throw UsageError(strfmt("%s holds examples of up to %d tokens; %s has a context of %d", o.data.c_str(),
                            ds.info().max_len, o.model.c_str(), model.config().n_ctx));
  if (!regression && C != ds.info().num_classes)
    throw DataError(o.data, strfmt("has %d classes, the model %d", ds.info().num_classes, C));
  InferenceBatches mine = batch_range(plan_inference_batches(ds, o.batch), grid.dp_rank(), grid.dp_size());
  std::vector<int64_t> rows = rows_of(mine);
  Inference inf = run_inference(model.head(), ds, mine, 1.0, regression, true);
  PredictionFile pf;
  pf.task = ds.info().task;
  pf.C = C;
  pf.probs = assemble(inf.probs, rows, ds.size(), C, grid.dp());
  pf.logits = assemble(inf.logits, rows, ds.size(), C, grid.dp());
  double metric = 0.0;
  const std::vector<int32_t> labels = regression ? std::vector<int32_t>() : ds.labels();
  const std::vector<float> targets = regression ? ds.targets() : std::vector<float>();
  for (int64_t i = 0; i < ds.size(); ++i) {
    const float* pr = pf.probs.data() + i * C;
    if (regression) {
      double e = pr[0] - targets[static_cast<size_t>(i)];
      metric += e * e;
    } else {
      metric += static_cast<int>(std::max_element(pr, pr + C) - pr) == labels[static_cast<size_t>(i)];
    }
  }
  pf.metric = ds.size() > 0 ? metric / static_cast<double>(ds.size()) : 0.0;
  if (grid.is_root()) {
    pf.ids = ds.ids();
    pf.labels = labels;
    pf.targets = targets;
    pf.model_sha256 = sha256_file(o.model);
    pf.dataset_sha256 = ds.sha256();
    write_predictions(o.out, pf);
    log_info(strfmt("eval %s on %s: %s %.4f over %lld examples (%.1f s)", o.model.c_str(), o.data.c_str(),
                    regression ? "mse" : "accuracy", pf.metric, static_cast<long long>(ds.size()), timer.seconds()));
  }
  grid.world().barrier();
  return pf.metric;
}

void run_label(const LabelOptions& o, const ProcessGrid& grid) {
  if (o.temperature <= 0) throw UsageError("--temperature must be positive");
  require_inputs_outside_label_names(o);
  Timer timer;
  const int shards = o.shards > 0 ? o.shards : grid.dp_size();
  TokenDataset ds = TokenDataset::open(o.data);
  require_same_tokenizer(ds.info(), o.model);
  LabelShardMeta meta;
  meta.supervisor_sha256 = sha256_file(o.model);
  meta.dataset_sha256 = ds.sha256();
  meta.num_shards = shards;
  meta.temperature = o.temperature;
  meta.batch = o.batch;
  meta.num_classes = read_checkpoint_info(o.model).config.num_classes;
  if (meta.num_classes <= 0)
    throw UsageError(o.model + ": the model has no classification head (it is a pretrained LM checkpoint)");
  if (grid.is_root()) {
    make_dirs(o.out_dir);
    int stale = remove_stale_temps(o.out_dir);
    if (stale) log_info(strfmt("  removed %d unfinished temporary file(s) from an interrupted run", stale));
    remove_foreign_shards(o.out_dir, shards);
    log_info(strfmt("label %s with %s: %lld examples, %d shards, %s", o.data.c_str(), o.model.c_str(),
                    static_cast<long long>(ds.size()), shards, grid.describe().c_str()));
  }
  grid.world().barrier();
  const Device device = parse_device(o.device);
  std::unique_ptr<InferenceModel> model;  // loaded lazily: a fully verified set needs no model
  // Shards are ranges of the dataset's fixed inference batches, so each example's label is
  // bit-identical whatever the number of shards or ranks (for the same --batch).
  const InferencePlan plan(ds, o.batch);
  int64_t counts[2] = {0, 0};  // computed, skipped
  for (int k = grid.dp_rank(); k < shards; k += grid.dp_size()) {
    meta.shard_index = k;
    std::string path = o.out_dir + "/" + label_shard_name(k, shards);
    // Every TP rank of this DP group decides the same way (they read the same file).
    if (label_shard_matches(path, meta)) {
      ++counts[1];
      continue;
    }
    if (!model) model = std::make_unique<InferenceModel>(o.model, grid, device);
    label_shard(model->head(), ds, plan, k, shards, o.temperature, path, meta, grid.tp_rank() == 0);
    ++counts[0];
  }
  grid.dp().all_reduce(counts, 2, ReduceOp::Sum);
  grid.world().barrier();
  if (grid.is_root()) {
    meta.shard_index = 0;
    write_label_manifest(o.out_dir, meta);
    log_info(strfmt("labels: %lld shard(s) computed, %lld already verified and skipped; manifest written (%.1f s)",
                    static_cast<long long>(counts[0]), static_cast<long long>(counts[1]), timer.seconds()));
  }
  grid.world().barrier();
}

}  // namespace w2s
