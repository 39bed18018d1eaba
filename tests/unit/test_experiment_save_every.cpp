// pretrain.save_every / finetune.save_every: periodic checkpoints of the training stages, in
// steps. Unset (-1) by default, so the planner adds no --save-every and jobs/ may apply the
// cluster file's value; 0 and positive counts accepted; negative or fractional counts refused
// through the shared range check, naming the file and the key.
#include <gtest/gtest.h>

#include "test_util.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

TEST(ExperimentSaveEvery, UnsetByDefaultAndReadPerKind) {
  const ExperimentConfig plain = load_experiment(kExperiment);
  EXPECT_EQ(plain.pretrain_save_every, -1);
  EXPECT_EQ(plain.finetune_save_every, -1);
  const ExperimentConfig set = load_experiment(kExperiment, {"pretrain.save_every=50", "finetune.save_every=0"});
  EXPECT_EQ(set.pretrain_save_every, 50);
  EXPECT_EQ(set.finetune_save_every, 0);
}

TEST(ExperimentSaveEvery, RefusesNegativeAndFractionalCounts) {
  test::expect_error([] { load_experiment(kExperiment, {"finetune.save_every=-1"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "'finetune.save_every' must be >= 0, got -1"});
  test::expect_error([] { load_experiment(kExperiment, {"pretrain.save_every=2.5"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "'pretrain.save_every'", "2.5"});
}

}  // namespace
}  // namespace w2s
