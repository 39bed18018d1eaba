// The distributed model passes of `w2s cascade`: like `w2s label`, DP ranks take contiguous
// ranges of the dataset's fixed inference batches, each pass is timed barrier to barrier, and the
// probabilities are summed over DP so every rank holds them all.
#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "core/timer.h"
#include "infer/inference.h"
#include "io/checkpoint.h"
#include "studies/cascade.h"

namespace w2s {

// One model's pass over the whole dataset: probabilities of every example on every rank
// (rows summed over DP), the wall time of the slowest rank, and per-example FLOPs.
CascadeModel run_cascade_model(const std::string& ckpt, const TokenDataset& ds, int batch, const ProcessGrid& grid) {
  require_same_tokenizer(ds.info(), ckpt);
  auto model = load_model_for_inference(ckpt, grid);
  const ModelConfig& cfg = model->config();
  if (ds.info().max_len > cfg.n_ctx)
    throw UsageError(strfmt("%s holds examples of up to %d tokens; %s has a context of %d", ds.info().path.c_str(),
                            ds.info().max_len, ckpt.c_str(), cfg.n_ctx));
  if (cfg.num_classes != ds.info().num_classes)
    throw DataError(ds.info().path, strfmt("has %d classes, %s %d", ds.info().num_classes, ckpt.c_str(), cfg.num_classes));
  InferenceBatches mine = batch_range(plan_inference_batches(ds, batch), grid.dp_rank(), grid.dp_size());
  const std::vector<int64_t> rows = rows_of(mine);
  grid.world().barrier();  // time the pass alone, not model loading or a slow rank's start
  Timer timer;
  Inference inf = run_inference(*model, ds, mine, 1.0, false, grid.is_root());
  grid.world().barrier();
  CascadeModel m;
  m.seconds = grid.world().all_reduce_scalar(timer.seconds(), ReduceOp::Max);
  const int C = cfg.num_classes;
  m.probs.assign(static_cast<size_t>(ds.size()) * C, 0.0f);
  if (grid.tp_rank() == 0)  // TP ranks hold identical outputs: count them once
    for (size_t i = 0; i < rows.size(); ++i)
      std::copy(inf.probs.begin() + static_cast<int64_t>(i) * C, inf.probs.begin() + static_cast<int64_t>(i + 1) * C,
                m.probs.begin() + rows[i] * C);
  grid.world().all_reduce(m.probs.data(), m.probs.size(), ReduceOp::Sum);
  for (int32_t len : ds.lengths()) m.flops.push_back(forward_flops(cfg, len));
  log_info(strfmt("  %s: %s, %.2f s for %lld examples", ckpt.c_str(), cfg.describe().c_str(), m.seconds,
                  static_cast<long long>(ds.size())));
  return m;
}

}  // namespace w2s
