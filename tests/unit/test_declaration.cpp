// The experiment's declaration (experiment/declaration.h): written once before the first stage,
// amended (never rewritten) when the configuration or seeds change, and reported by analyze.
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "experiment/declaration.h"
#include "test_util.h"

namespace w2s {
namespace {

ExperimentState state(std::vector<int> seeds, std::string sha = "aaaaaaaaaaaaaaaa") {
  return {"exp.ini", std::move(sha), std::move(seeds), "s1:s3", "xent"};
}

TEST(Declaration, FirstRunDeclaresAndAnUnchangedRerunChangesNothing) {
  test::TempDir dir;
  EXPECT_TRUE(declare_or_amend(dir.path(), state({0, 1})).empty());
  EXPECT_TRUE(file_exists(dir.path() + "/declaration.json"));
  EXPECT_TRUE(declare_or_amend(dir.path(), state({0, 1})).empty());
  EXPECT_FALSE(file_exists(dir.path() + "/amendments.jsonl"));
  auto status = declaration_status(dir.path(), {0, 1});
  EXPECT_EQ(status["status"], "as declared");
  EXPECT_EQ(status["declared"]["primary_pair"], "s1:s3");
  EXPECT_NE(declaration_line(status).find("as declared"), std::string::npos);
}

TEST(Declaration, AddingASeedAfterDeclaringMarksTheReport) {
  test::TempDir dir;
  declare_or_amend(dir.path(), state({0, 1}));
  auto changes = declare_or_amend(dir.path(), state({0, 1, 2}, "bbbbbbbbbbbbbbbb"));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], "seeds 0 1 -> 0 1 2");
  EXPECT_NE(changes[1].find("configuration"), std::string::npos);
  auto status = declaration_status(dir.path(), {0, 1, 2});
  EXPECT_EQ(status["status"], "changed after declaration");
  // The declaration itself still says what was promised.
  EXPECT_EQ(status["declared"]["seeds"], nlohmann::json::array({0, 1}));
  const std::string line = declaration_line(status);
  EXPECT_NE(line.find("CHANGED"), std::string::npos);
  EXPECT_NE(line.find("seeds 0 1 -> 0 1 2"), std::string::npos);
  // Going back to the declared seeds later does not erase the record.
  declare_or_amend(dir.path(), state({0, 1}));
  EXPECT_EQ(declaration_status(dir.path(), {0, 1})["status"], "changed after declaration");
}

TEST(Declaration, SeedsInTheRunTreeBeyondTheDeclaredOnesCount) {
  test::TempDir dir;
  declare_or_amend(dir.path(), state({0}));
  auto status = declaration_status(dir.path(), {0, 7});  // seed-7 added by hand, not by the pipeline
  EXPECT_EQ(status["status"], "changed after declaration");
  EXPECT_NE(status["changes"][0].get<std::string>().find("undeclared seeds 7"), std::string::npos);
}

TEST(Declaration, ARunTreeWithoutADeclarationSaysSo) {
  test::TempDir dir;
  EXPECT_EQ(declaration_status(dir.path(), {0})["status"], "not declared");
}

}  // namespace
}  // namespace w2s
