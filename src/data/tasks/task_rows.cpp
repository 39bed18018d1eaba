#include "data/tasks/task_rows.h"

#include <algorithm>

#include "core/strings.h"
#include "data/tasks/text_util.h"

namespace w2s::tasks {

std::vector<TaskRow> undersample_to_balance(std::vector<TaskRow> rows, uint64_t seed, const std::string& purpose) {
  std::vector<TaskRow> by_class[2];
  for (auto& row : rows) by_class[row.label == 1 ? 1 : 0].push_back(std::move(row));
  const size_t keep = std::min(by_class[0].size(), by_class[1].size());
  std::vector<TaskRow> out;
  for (auto& group : by_class) {
    std::vector<TaskRow> sampled = seeded_shuffle(std::move(group), seed, purpose);
    sampled.resize(keep);
    for (auto& row : sampled) out.push_back(std::move(row));
  }
  return out;
}

std::vector<TaskRow> seeded_shuffle(std::vector<TaskRow> rows, uint64_t seed, const std::string& purpose) {
  std::vector<int64_t> ids;
  for (const auto& row : rows) ids.push_back(row.id);
  std::vector<TaskRow> out;
  for (size_t i : seeded_order(ids, seed, purpose)) out.push_back(std::move(rows[i]));
  return out;
}

std::string describe_rows(const std::string& name, const std::vector<TaskRow>& rows) {
  int64_t count[2] = {0, 0};
  double bytes = 0;
  for (const auto& row : rows) {
    ++count[row.label == 1 ? 1 : 0];
    bytes += static_cast<double>(row.txt.size());
  }
  const double n = static_cast<double>(std::max<size_t>(rows.size(), 1));
  return strfmt("%s: %zu examples, label 0: %lld (%.1f%%), 1: %lld (%.1f%%), mean %.0f bytes", name.c_str(), rows.size(),
                (long long)count[0], 100.0 * count[0] / n, (long long)count[1], 100.0 * count[1] / n, bytes / n);
}

namespace {
std::vector<nlohmann::ordered_json> to_json_rows(const std::vector<TaskRow>& rows) {
  std::vector<nlohmann::ordered_json> out;
  for (const auto& row : rows) {
    nlohmann::ordered_json j;
    j["id"] = row.id;
    j["txt"] = row.txt;
    j["hard_label"] = row.label;
    for (const auto& [key, value] : row.extra.items()) j[key] = value;
    out.push_back(std::move(j));
  }
  return out;
}
}  // namespace

std::vector<std::string> write_task_files(const std::string& out_dir, const std::vector<TaskRow>& train,
                                          const std::vector<TaskRow>& test) {
  const std::string train_path = out_dir + "/train.jsonl", test_path = out_dir + "/test.jsonl";
  write_files_atomically({{train_path, to_jsonl(to_json_rows(train))}, {test_path, to_jsonl(to_json_rows(test))}});
  return {train_path, test_path};
}

}  // namespace w2s::tasks
