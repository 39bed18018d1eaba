// The auxiliary confidence loss hardens the student's predictions with a threshold chosen over
// the batch (Burns et al. 2023). Splitting the batch into micro-batches must not change it: the
// loss of each micro-batch with the batch's threshold equals the whole batch's loss row by row,
// and training with 1 or with 4 micro-steps per batch gives the same losses at every step.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "comm/process_grid.h"
#include "core/philox.h"
#include "data/token_dataset.h"
#include "loss/losses.h"
#include "test_util.h"
#include "tiny_data.h"
#include "train/trainer.h"

using namespace w2s;

namespace {

LossConfig auxconf() {
  LossConfig cfg;
  cfg.kind = LossKind::AuxConf;
  cfg.aux_alpha_max = 0.75;
  cfg.aux_warmup_frac = 0.0;  // full α from the first step
  return cfg;
}


TrainConfig tiny_run(const std::string& data, const std::string& run_dir, int64_t micro_batch) {
  TrainConfig c;
  c.objective = "classify";
  c.data = data;
  c.run_dir = run_dir;
  c.model.n_layer = 2;
  c.model.n_head = 4;
  c.model.d_model = 32;
  c.model.n_ctx = 16;
  c.model.vocab_size = 258;
  c.model.tokenizer = "byte";
  c.loss = auxconf();
  c.batch_size = 16;
  c.micro_batch = micro_batch;
  c.steps = 6;
  c.lr.lr = 3e-3;
  c.seed = 7;
  c.log_every = 1000;
  return c;
}

}  // namespace

TEST(AuxConfMicroBatch, MicroBatchesWithTheBatchThresholdMatchTheWholeBatch) {
  const int n = 16, C = 2;
  std::vector<float> logits(n * C), weak(n * C);
  for (int i = 0; i < n; ++i) {
    logits[2 * i] = static_cast<float>(philox_normal(3, 0, static_cast<uint64_t>(i)));
    logits[2 * i + 1] = static_cast<float>(philox_normal(3, 1, static_cast<uint64_t>(i)));
    const float p1 = static_cast<float>(philox_uniform(3, 2, static_cast<uint64_t>(i)));
    weak[2 * i] = 1.0f - p1;
    weak[2 * i + 1] = p1;
  }
  const LossResult whole = compute_loss(auxconf(), logits.data(), weak.data(), n, C, 0.5);
  const double t = auxconf_threshold(logits.data(), weak.data(), n);
  EXPECT_DOUBLE_EQ(t, whole.threshold);
  bool own_threshold_differs = false;
  for (int first = 0; first < n; first += 4) {
    const LossResult part = compute_loss(auxconf(), &logits[first * C], &weak[first * C], 4, C, 0.5, t);
    const LossResult own = compute_loss(auxconf(), &logits[first * C], &weak[first * C], 4, C, 0.5);
    EXPECT_DOUBLE_EQ(part.threshold, t);
    own_threshold_differs = own_threshold_differs || own.threshold != t;
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(part.per_example[i], whole.per_example[first + i]) << "example " << first + i;
      for (int c = 0; c < C; ++c) EXPECT_EQ(part.dlogits[i * C + c], whole.dlogits[(first + i) * C + c]);
    }
  }
  EXPECT_TRUE(own_threshold_differs) << "the test needs micro-batches whose own threshold differs from the batch's";
}

TEST(AuxConfMicroBatch, TrainingWithMicroBatchesMatchesOneBatch) {
  test::TempDir dir;
  const std::string data = dir.file("cls.h5");
  test::write_tiny_classification(data, 64);
  ProcessGrid grid = ProcessGrid::single();
  const TrainResult one = run_training(tiny_run(data, dir.file("one"), 16), grid, "one micro-step");
  const TrainResult four = run_training(tiny_run(data, dir.file("four"), 4), grid, "four micro-steps");
  ASSERT_EQ(one.losses.size(), four.losses.size());
  ASSERT_FALSE(one.losses.empty());
  for (size_t s = 0; s < one.losses.size(); ++s)
    EXPECT_NEAR(four.losses[s], one.losses[s], 1e-5 * std::fabs(one.losses[s])) << "step " << s + 1;
}
