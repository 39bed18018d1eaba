// infer/inference_model.h: the device choice of `w2s eval` / `w2s label`. The CPU model's head
// through InferenceModel gives exactly Gpt2::classifier_forward's logits; --device cuda on a
// machine (or build) without a GPU is a clear error, never a silent CPU run.
#include <gtest/gtest.h>

#include "io/checkpoint.h"
#include "test_util.h"
#include "tiny_data.h"
#include "infer/inference_model.h"
#ifdef W2S_HAVE_CUDA
#include "core/cuda_check.h"
#endif

namespace w2s {
namespace {


TEST(InferenceModel, ParsesDevices) {
  EXPECT_EQ(parse_device("cpu"), Device::Cpu);
  EXPECT_EQ(parse_device("cuda"), Device::Cuda);
  EXPECT_STREQ(device_name(Device::Cuda), "cuda");
  test::expect_error([] { parse_device("gpu"); }, ExitCode::Usage, {"--device", "cpu or cuda", "'gpu'"});
}

TEST(InferenceModel, CpuHeadIsTheModelsClassifier) {
  test::TempDir dir;
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(test::byte_model_config(2, 2, 16, 32, 2), grid.tp(), 5);
  float* score = model.param(model.table().score);
  for (int i = 0; i < 2 * 16; ++i) score[i] = 0.05f * static_cast<float>(i % 7) - 0.1f;
  save_checkpoint(dir.file("m.h5"), model, nullptr, false, grid, TrainState{}, {});

  InferenceModel loaded(dir.file("m.h5"), grid, Device::Cpu);
  EXPECT_EQ(loaded.config().num_classes, 2);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, lengths = {6, 3};
  std::vector<float> want(4), got(4);
  model.classifier_forward(tokens.data(), lengths.data(), 2, 6, want.data());
  loaded.head().forward(tokens.data(), lengths.data(), 2, 6, got.data());
  EXPECT_EQ(got, want);
}

TEST(InferenceModel, CudaWithoutAGpuIsAnError) {
  test::TempDir dir;
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(test::byte_model_config(2, 2, 16, 32, 2), grid.tp(), 5);
  save_checkpoint(dir.file("m.h5"), model, nullptr, false, grid, TrainState{}, {});
#ifdef W2S_HAVE_CUDA
  if (cuda::device_count() > 0) GTEST_SKIP() << "a GPU is visible: the no-GPU refusal is not reachable here";
  test::expect_error([&] { InferenceModel m(dir.file("m.h5"), grid, Device::Cuda); }, ExitCode::Runtime,
                     {"--device cuda", "no CUDA device"});
#else
  test::expect_error([&] { InferenceModel m(dir.file("m.h5"), grid, Device::Cuda); }, ExitCode::Usage,
                     {"--device cuda", "without the CUDA backend"});
#endif
}

}  // namespace
}  // namespace w2s
