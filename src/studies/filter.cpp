#include "studies/filter.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {

std::vector<double> score_documents(Gpt2& model, const LmDataset& ds, const std::vector<int64_t>& docs) {
  const int ctx = model.config().n_ctx;
  const int32_t eot = ds.info().eot_id;
  std::vector<double> scores;
  std::vector<int32_t> inputs, targets;
  for (int64_t d : docs) {
    const std::vector<int32_t> doc = ds.read_document(d);
    // stream = eot, doc: predicting stream[k + 1] from stream[.. k] for every k < doc.size().
    std::vector<int32_t> stream(doc.size() + 1);
    stream[0] = eot;
    std::copy(doc.begin(), doc.end(), stream.begin() + 1);
    double sum = 0.0;
    for (size_t start = 0; start < doc.size(); start += static_cast<size_t>(ctx)) {
      const int T = static_cast<int>(std::min(doc.size() - start, static_cast<size_t>(ctx)));
      inputs.assign(stream.begin() + static_cast<int64_t>(start), stream.begin() + static_cast<int64_t>(start) + T);
      targets.assign(stream.begin() + static_cast<int64_t>(start) + 1, stream.begin() + static_cast<int64_t>(start) + T + 1);
      sum += model.lm_forward(inputs.data(), targets.data(), 1, T);
    }
    scores.push_back(sum / static_cast<double>(doc.size()));
  }
  return scores;
}

std::vector<double> score_all_documents(Gpt2& model, const LmDataset& ds, const ProcessGrid& grid) {
  const int64_t D = ds.info().num_documents;
  std::vector<int64_t> mine;
  for (int64_t d = grid.dp_rank(); d < D; d += grid.dp_size()) mine.push_back(d);
  std::vector<double> part = score_documents(model, ds, mine);  // TP ranks compute together
  std::vector<double> all(static_cast<size_t>(D), 0.0);
  if (grid.tp_rank() == 0)
    for (size_t i = 0; i < mine.size(); ++i) all[static_cast<size_t>(mine[i])] = part[i];
  grid.world().all_reduce(all.data(), all.size(), ReduceOp::Sum);
  return all;
}

std::vector<uint8_t> keep_quantile_range(const std::vector<double>& scores, double lo, double hi) {
  if (!(lo >= 0 && lo <= hi && hi <= 1))
    throw UsageError(strfmt("filter: keep range [%g, %g) must satisfy 0 <= lo <= hi <= 1", lo, hi));
  const size_t n = scores.size();
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(scores[i])) throw RuntimeError(strfmt("filter: document %zu has a non-finite score", i));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  const auto begin = static_cast<size_t>(std::llround(lo * static_cast<double>(n)));
  const auto end = static_cast<size_t>(std::llround(hi * static_cast<double>(n)));
  std::vector<uint8_t> keep(n, 0);
  for (size_t k = begin; k < end; ++k) keep[order[k]] = 1;
  return keep;
}

}  // namespace w2s
