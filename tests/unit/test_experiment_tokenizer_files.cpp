// experiment.tokenizer_files: the models' own vocabulary folder, empty by default, accepted with
// the gpt2 tokenizer (a relative path resolved like every other path of the file, here beside
// byo-hf.ini's tree), refused with the byte tokenizer, which has no files.
#include <gtest/gtest.h>

#include <filesystem>

#include "experiment/experiment_config.h"
#include "test_util.h"

namespace w2s {
namespace {

const std::string kTiny = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";
const std::string kByo = W2S_SOURCE_DIR "/configs/experiments/byo-hf.ini";

TEST(ExperimentTokenizerFiles, EmptyByDefaultAFolderWithGpt2) {
  EXPECT_EQ(load_experiment(kTiny).tokenizer_files, "");
  ExperimentConfig c = load_experiment(kByo, {"experiment.tokenizer_files=configs/models"});
  EXPECT_EQ(c.tokenizer, "gpt2");
  // Resolved like every path of the file (from the working directory, else the file's tree).
  EXPECT_TRUE(std::filesystem::is_directory(c.tokenizer_files)) << c.tokenizer_files;
  EXPECT_NE(c.tokenizer_files.find("configs/models"), std::string::npos) << c.tokenizer_files;
}

TEST(ExperimentTokenizerFiles, RefusedWithTheByteTokenizer) {
  test::expect_error([] { load_experiment(kTiny, {"experiment.tokenizer_files=models/gpt2"}); }, ExitCode::Usage,
                     {"experiment.tokenizer_files", "experiment.tokenizer = gpt2"});
}

}  // namespace
}  // namespace w2s
