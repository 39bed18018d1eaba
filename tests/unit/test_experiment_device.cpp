// experiment.device: the device key of an experiment (every model stage gets --device), cpu by
// default, cuda accepted, anything else refused naming the file and the value.
#include <gtest/gtest.h>

#include "test_util.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

TEST(ExperimentDevice, CpuByDefaultCudaOnRequest) {
  EXPECT_EQ(load_experiment(kExperiment).device, "cpu");
  EXPECT_EQ(load_experiment(kExperiment, {"experiment.device=cuda"}).device, "cuda");
}

TEST(ExperimentDevice, RefusesUnknownDevices) {
  test::expect_error([] { load_experiment(kExperiment, {"experiment.device=tpu"}); }, ExitCode::Usage,
                     {"experiment.device", "cpu or cuda", "'tpu'"});
}

}  // namespace
}  // namespace w2s
