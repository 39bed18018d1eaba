// Weak-model data filtering: document scores equal the model's per-token loss computed
// independently (one prediction at a time from the full LM logits, with a hand-written
// log-softmax), including documents longer than the context; the kept set is exactly the
// requested quantile range.
#include <gtest/gtest.h>

#include <cmath>

#include "comm/process_grid.h"
#include "core/error.h"
#include "test_util.h"
#include "studies/filter.h"

using namespace w2s;

namespace {

ModelConfig small_lm() {
  ModelConfig c;
  c.n_layer = 2, c.n_head = 2, c.d_model = 32, c.n_ctx = 8, c.vocab_size = 258;
  return c;
}

// −log p(target | context) from the last row of the full-vocabulary logits.
double token_loss(Gpt2& model, const std::vector<int32_t>& context, int32_t target) {
  std::vector<float> logits;
  model.lm_logits_local(context.data(), 1, static_cast<int>(context.size()), logits);
  const int V = model.config().padded_vocab(1), real = model.config().vocab_size;
  const float* row = logits.data() + (context.size() - 1) * static_cast<size_t>(V);
  double mx = row[0];
  for (int v = 1; v < real; ++v) mx = std::max(mx, static_cast<double>(row[v]));
  double z = 0;
  for (int v = 0; v < real; ++v) z += std::exp(row[v] - mx);
  return -(row[target] - mx - std::log(z));
}

// The definition in filter.h, one prediction at a time: stream = eot + document; token k+1 of
// the stream is predicted from the stream since the start of its window of n_ctx predictions.
double independent_score(Gpt2& model, const std::vector<int32_t>& doc, int32_t eot) {
  std::vector<int32_t> stream = {eot};
  stream.insert(stream.end(), doc.begin(), doc.end());
  const size_t ctx = static_cast<size_t>(model.config().n_ctx);
  double sum = 0;
  for (size_t k = 0; k < doc.size(); ++k) {
    const size_t start = k / ctx * ctx;
    std::vector<int32_t> context(stream.begin() + static_cast<int64_t>(start), stream.begin() + static_cast<int64_t>(k) + 1);
    sum += token_loss(model, context, stream[k + 1]);
  }
  return sum / static_cast<double>(doc.size());
}

}  // namespace

TEST(Filter, ScoresEqualIndependentPerDocumentLoss) {
  test::TempDir dir;
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(small_lm(), grid.tp(), 11);
  // Lengths 0 (eot only), short, exactly the context, and longer than one and two windows.
  std::vector<std::vector<int32_t>> docs;
  for (int len : {0, 1, 3, 7, 8, 12, 20}) {
    std::vector<int32_t> d;
    for (int i = 0; i < len; ++i) d.push_back((37 * i + 11 * len) % 256);
    docs.push_back(d);
  }
  LmDatasetInfo info;
  info.tokenizer = "byte";
  info.eot_id = 256;
  info.vocab_size = 258;
  write_lm_dataset(dir.file("lm.h5"), info, docs, {10, 11, 12, 13, 14, 15, 16});
  LmDataset ds = LmDataset::open(dir.file("lm.h5"));
  std::vector<double> scores = score_all_documents(model, ds, grid);
  ASSERT_EQ(scores.size(), docs.size());
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<int32_t> with_eot = docs[d];
    with_eot.push_back(256);
    const double expect = independent_score(model, with_eot, 256);
    EXPECT_NEAR(scores[d], expect, 1e-4 * expect) << "document " << d;
    EXPECT_GT(scores[d], 0.0);
  }
  // A subset scores the same as in the full pass.
  std::vector<double> two = score_documents(model, ds, {6, 2});
  EXPECT_DOUBLE_EQ(two[0], scores[6]);
  EXPECT_DOUBLE_EQ(two[1], scores[2]);
}

TEST(Filter, KeepsExactlyTheRequestedQuantile) {
  // Ten distinct scores in scrambled order: rank of document i is order[i].
  const std::vector<double> s = {5.0, 1.0, 9.0, 3.0, 7.0, 0.5, 8.0, 2.0, 6.0, 4.0};
  auto kept_set = [&](double lo, double hi) {
    std::vector<uint8_t> k = keep_quantile_range(s, lo, hi);
    std::vector<double> v;
    for (size_t i = 0; i < s.size(); ++i)
      if (k[i]) v.push_back(s[i]);
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(kept_set(0.0, 0.7), std::vector<double>({0.5, 1, 2, 3, 4, 5, 6}));  // --drop-highest 0.3
  EXPECT_EQ(kept_set(0.2, 1.0), std::vector<double>({2, 3, 4, 5, 6, 7, 8, 9}));  // --drop-lowest 0.2
  EXPECT_EQ(kept_set(0.1, 0.9), std::vector<double>({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(kept_set(0.0, 1.0).size(), 10u);
  EXPECT_TRUE(kept_set(0.5, 0.5).empty());
  // Ties: equal scores are ranked by document order, so exactly round(q·n) are kept.
  std::vector<uint8_t> tie = keep_quantile_range({1.0, 1.0, 1.0, 1.0}, 0.0, 0.5);
  EXPECT_EQ(tie, std::vector<uint8_t>({1, 1, 0, 0}));
  EXPECT_THROW(keep_quantile_range(s, -0.1, 0.5), Error);
  EXPECT_THROW(keep_quantile_range(s, 0.6, 0.5), Error);
  EXPECT_THROW(keep_quantile_range(s, 0.0, 1.5), Error);
  EXPECT_THROW(keep_quantile_range({1.0, NAN}, 0.0, 1.0), Error);
}
