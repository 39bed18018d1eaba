// finetune.freeze_backbone: every fine-tuning run of the experiment is a linear probe (off by
// default); a value that is not a boolean is refused naming the file, the key and the value.
#include <gtest/gtest.h>

#include "test_util.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

TEST(ExperimentFreezeBackbone, OffByDefaultOnRequest) {
  EXPECT_FALSE(load_experiment(kExperiment, {}).freeze_backbone);
  EXPECT_TRUE(load_experiment(kExperiment, {"finetune.freeze_backbone=true"}).freeze_backbone);
  EXPECT_FALSE(load_experiment(kExperiment, {"finetune.freeze_backbone=false"}).freeze_backbone);
}

TEST(ExperimentFreezeBackbone, RefusesNonBooleans) {
  test::expect_error([] { load_experiment(kExperiment, {"finetune.freeze_backbone=head"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "finetune.freeze_backbone", "true or false", "'head'"});
}

}  // namespace
}  // namespace w2s
