// Rows of a converted classification task and the steps every converter shares: balancing by
// undersampling, seeded output order, a one-line description, writing train/test JSONL.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace w2s::tasks {

struct TaskRow {
  int64_t id = 0;
  int32_t label = 0;  // 0 or 1
  std::string txt;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // fields prepare ignores
};

// Keeps every row of the smaller class and a seeded sample of the same size of the larger one.
std::vector<TaskRow> undersample_to_balance(std::vector<TaskRow> rows, uint64_t seed, const std::string& purpose);

// Rows in a seeded order (by id), so no file is sorted by class or source.
std::vector<TaskRow> seeded_shuffle(std::vector<TaskRow> rows, uint64_t seed, const std::string& purpose);

// "train: 3412 examples, label 0: 1706 (50.0%), 1: 1706 (50.0%), mean 912 bytes"
std::string describe_rows(const std::string& name, const std::vector<TaskRow>& rows);

// {"id", "txt", "hard_label", ...extra} per line into DIR/train.jsonl and DIR/test.jsonl, both
// committed together. Returns the paths.
std::vector<std::string> write_task_files(const std::string& out_dir, const std::vector<TaskRow>& train,
                                          const std::vector<TaskRow>& test);

}  // namespace w2s::tasks
