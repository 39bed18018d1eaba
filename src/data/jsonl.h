// JSONL datasets in openai/weak-to-strong's format: one JSON object per line,
//   {"txt": "...", "hard_label": 1, "id": 17, "soft_label": [0.2, 0.8], ...}
// `txt` is always required. Classification needs an integer `hard_label` in [0, num_classes);
// regression needs a number `target`; plain text (LM corpora, exclusion lists) needs only `txt`.
// `id` (int64) is optional: when absent, the example's 0-based index among the data lines is
// used. `soft_label` is optional (classification only) but, when one line has it, every line
// must. Other fields are ignored. Blank lines are skipped.
// Every error is a DataError "FILE:LINE: reason" (1-based line numbers).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace w2s {

enum class JsonlTask { Classification, Regression, Text };

// "classification" | "regression" | "text"; UsageError otherwise.
JsonlTask parse_jsonl_task(const std::string& name);
const char* jsonl_task_name(JsonlTask task);

struct JsonlOptions {
  JsonlTask task = JsonlTask::Classification;
  int num_classes = 2;  // classification only
};

struct JsonlExample {
  int64_t id = 0;
  int64_t line = 0;          // 1-based line number in the file, for later messages
  std::string txt;
  int32_t label = 0;         // classification
  float target = 0.0f;       // regression
  std::vector<float> soft;   // empty, or num_classes values summing to 1
};

// Reads and validates the whole file. Throws DataError naming the file and line on: malformed
// JSON, a missing field, a field of the wrong type, a label out of range, a bad soft label, a
// duplicate id, invalid UTF-8; and naming the file when it holds no examples.
std::vector<JsonlExample> read_jsonl(const std::string& path, const JsonlOptions& options);

// "FILE:LINE" as used in messages.
std::string jsonl_where(const std::string& path, int64_t line);

}  // namespace w2s
