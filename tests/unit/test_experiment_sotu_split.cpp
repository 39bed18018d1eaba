// task.sotu-party.split (and year_prefix): how the embedded sotu-party task is divided. speech by
// default, passage on request; any other value, or the key on another task, is refused naming the
// file, the key and the value.
#include <gtest/gtest.h>

#include "test_util.h"
#include "experiment/experiment_config.h"

namespace w2s {
namespace {

const std::string kExperiment = W2S_SOURCE_DIR "/configs/experiments/tiny-test.ini";

const TaskSpec& only_task(const ExperimentConfig& config) {
  EXPECT_EQ(config.tasks.size(), 1u);
  return config.tasks.at(0);
}

TEST(ExperimentSotuSplit, SpeechByDefaultPassageOnRequest) {
  ExperimentConfig plain = load_experiment(kExperiment, {"experiment.tasks=sotu-party"});
  EXPECT_EQ(only_task(plain).split, "speech");
  EXPECT_FALSE(only_task(plain).year_prefix);
  ExperimentConfig passage = load_experiment(
      kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.split=passage", "task.sotu-party.year_prefix=true"});
  EXPECT_EQ(only_task(passage).split, "passage");
  EXPECT_TRUE(only_task(passage).year_prefix);
}

TEST(ExperimentSotuSplit, RefusesUnknownSplits) {
  test::expect_error(
      [] { load_experiment(kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.split=sentence"}); },
      ExitCode::Usage, {"tiny-test.ini", "task.sotu-party.split", "speech or passage", "'sentence'"});
}

TEST(ExperimentSotuSplit, RefusesTheKeyOnOtherTasks) {
  test::expect_error([] { load_experiment(kExperiment, {"experiment.tasks=spam", "task.spam.split=passage"}); },
                     ExitCode::Usage, {"task.spam.split", "sotu-party task only"});
  test::expect_error([] { load_experiment(kExperiment, {"experiment.tasks=spam", "task.spam.year_prefix=true"}); },
                     ExitCode::Usage, {"task.spam.year_prefix", "sotu-party task only"});
}

// pretrain.sotu_headers: what leads each SOTU document of the embedded corpus (none by default).
TEST(ExperimentSotuHeaders, NoneByDefaultYearOrPartyOnRequest) {
  EXPECT_EQ(load_experiment(kExperiment, {}).sotu_headers, "none");
  EXPECT_EQ(load_experiment(kExperiment, {"pretrain.sotu_headers=party"}).sotu_headers, "party");
  EXPECT_EQ(load_experiment(kExperiment, {"pretrain.sotu_headers=year"}).sotu_headers, "year");
}

TEST(ExperimentSotuHeaders, RefusesUnknownValuesAndOtherCorpora) {
  test::expect_error([] { load_experiment(kExperiment, {"pretrain.sotu_headers=president"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "pretrain.sotu_headers", "none, year or party", "'president'"});
  test::expect_error(
      [] { load_experiment(kExperiment, {"pretrain.sotu_headers=party", "pretrain.corpus=corpus.jsonl"}); },
      ExitCode::Usage, {"pretrain.sotu_headers", "embedded corpus"});
}

// pretrain.sotu_passages: the SOTU speeches enter the corpus as their task passages (off by default).
TEST(ExperimentSotuPassages, OffByDefaultOnRequestEmbeddedOnly) {
  EXPECT_FALSE(load_experiment(kExperiment, {}).sotu_passages);
  EXPECT_TRUE(load_experiment(kExperiment, {"pretrain.sotu_passages=true"}).sotu_passages);
  test::expect_error([] { load_experiment(kExperiment, {"pretrain.sotu_passages=maybe"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "pretrain.sotu_passages", "true or false", "'maybe'"});
  test::expect_error(
      [] { load_experiment(kExperiment, {"pretrain.sotu_passages=true", "pretrain.corpus=corpus.jsonl"}); },
      ExitCode::Usage, {"pretrain.sotu_passages", "embedded corpus"});
}

// task.sotu-party.year_suffix: each passage ends with "\nYYYY "; its prepare keeps the end of an
// overlong passage (truncate-start) unless the file asks to drop overlong ones.
TEST(ExperimentSotuYearSuffix, KeepsTheEndAndExcludesThePrefix) {
  ExperimentConfig plain = load_experiment(kExperiment, {"experiment.tasks=sotu-party"});
  EXPECT_FALSE(only_task(plain).year_suffix);
  EXPECT_EQ(plain.overlong_of(only_task(plain)), "truncate");
  ExperimentConfig suffix = load_experiment(kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.year_suffix=true"});
  EXPECT_TRUE(only_task(suffix).year_suffix);
  EXPECT_EQ(suffix.overlong_of(only_task(suffix)), "truncate-start");
  ExperimentConfig drop = load_experiment(
      kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.year_suffix=true", "data.overlong=drop"});
  EXPECT_EQ(drop.overlong_of(only_task(drop)), "drop");
  test::expect_error(
      [] {
        load_experiment(kExperiment, {"experiment.tasks=sotu-party", "task.sotu-party.year_prefix=true",
                                      "task.sotu-party.year_suffix=true"});
      },
      ExitCode::Usage, {"tiny-test.ini", "task.sotu-party", "year_prefix and year_suffix exclude each other"});
  test::expect_error([] { load_experiment(kExperiment, {"experiment.tasks=spam", "task.spam.year_suffix=true"}); },
                     ExitCode::Usage, {"task.spam.year_suffix", "sotu-party task only"});
}

// pretrain.sotu_facts: lists of "1861 Republican" lines added to the embedded corpus (none by default).
TEST(ExperimentSotuFacts, NoneByDefaultCountOnRequestEmbeddedOnly) {
  EXPECT_EQ(load_experiment(kExperiment, {}).sotu_facts, 0);
  EXPECT_EQ(load_experiment(kExperiment, {"pretrain.sotu_facts=400"}).sotu_facts, 400);
  test::expect_error([] { load_experiment(kExperiment, {"pretrain.sotu_facts=-1"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "pretrain.sotu_facts", "must be >= 0, got -1"});
  test::expect_error([] { load_experiment(kExperiment, {"pretrain.sotu_facts=many"}); }, ExitCode::Usage,
                     {"tiny-test.ini", "pretrain.sotu_facts"});
  test::expect_error(
      [] { load_experiment(kExperiment, {"pretrain.sotu_facts=10", "pretrain.corpus=corpus.jsonl"}); },
      ExitCode::Usage, {"pretrain.sotu_facts", "embedded corpus"});
}

}  // namespace
}  // namespace w2s
