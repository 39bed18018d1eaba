// The JSONL reader: parse each line with nlohmann::json, check the fields the task needs, and
// report the first problem as "FILE:LINE: reason" so a user can jump straight to it.
#include "data/jsonl.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "core/strings.h"
#include "data/tokenizer.h"

namespace w2s {

using nlohmann::json;

namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

// nlohmann's messages start with "[json.exception.parse_error.101] " (noise here) and count
// lines within the one line parsed ("at line 1, column 5"): keep the column only.
std::string short_json_message(const std::string& what) {
  size_t close = what.find("] ");
  std::string message = what.rfind("[json.exception", 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
  size_t line = message.find("at line 1, column");
  if (line != std::string::npos) message.replace(line, 17, "at column");
  return message;
}

const char* type_name(const json& v) { return v.type_name(); }

int64_t require_int64(const json& object, const char* field, const std::string& where) {
  const json& v = object.at(field);
  if (!v.is_number_integer())
    throw DataError(where, strfmt("field '%s' must be an integer, got %s", field, type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw DataError(where, strfmt("field '%s' does not fit in a signed 64-bit integer", field));
  return v.get<int64_t>();
}

const json& require_field(const json& object, const char* field, const std::string& where, const char* why) {
  auto it = object.find(field);
  if (it == object.end()) throw DataError(where, strfmt("missing field '%s' (%s)", field, why));
  return *it;
}

std::vector<float> parse_soft_label(const json& v, int num_classes, const std::string& where) {
  if (!v.is_array()) throw DataError(where, strfmt("field 'soft_label' must be an array, got %s", type_name(v)));
  if (static_cast<int>(v.size()) != num_classes)
    throw DataError(where, strfmt("field 'soft_label' has %zu values, expected num_classes = %d", v.size(), num_classes));
  std::vector<float> soft;
  double sum = 0.0;
  for (size_t c = 0; c < v.size(); ++c) {
    if (!v[c].is_number())
      throw DataError(where, strfmt("soft_label[%zu] must be a number, got %s", c, type_name(v[c])));
    double p = v[c].get<double>();
    if (!std::isfinite(p) || p < 0.0) throw DataError(where, strfmt("soft_label[%zu] = %g is negative or not finite", c, p));
    sum += p;
    soft.push_back(static_cast<float>(p));
  }
  if (std::fabs(sum - 1.0) > 1e-3) throw DataError(where, strfmt("soft_label sums to %.6f, not 1 (± 1e-3)", sum));
  return soft;
}

// Parses and checks one data line (all but id uniqueness and soft-label presence on every
// line, which need the other lines).
JsonlExample parse_line(const std::string& line, const JsonlOptions& options, const std::string& where,
                        int64_t default_id) {
  require_valid_utf8(line, where);
  json object;
  try {
    object = json::parse(line);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw DataError(where, "malformed JSON: " + short_json_message(e.what()));
  }
  if (!object.is_object()) throw DataError(where, strfmt("expected a JSON object, got %s", type_name(object)));

  JsonlExample ex;
  const json& txt = require_field(object, "txt", where, "the example's text");
  if (!txt.is_string()) throw DataError(where, strfmt("field 'txt' must be a string, got %s", type_name(txt)));
  ex.txt = txt.get<std::string>();
  require_valid_utf8(ex.txt, where + ": field 'txt'");

  ex.id = object.contains("id") ? require_int64(object, "id", where) : default_id;

  if (options.task == JsonlTask::Classification) {
    require_field(object, "hard_label", where, "the class of a classification example");
    int64_t label = require_int64(object, "hard_label", where);
    if (label < 0 || label >= options.num_classes)
      throw DataError(where, strfmt("hard_label %lld is out of range [0, %d)", static_cast<long long>(label),
                                    options.num_classes));
    ex.label = static_cast<int32_t>(label);
    auto soft = object.find("soft_label");
    if (soft != object.end() && !soft->is_null()) ex.soft = parse_soft_label(*soft, options.num_classes, where);
  } else if (options.task == JsonlTask::Regression) {
    const json& target = require_field(object, "target", where, "the value of a regression example");
    if (!target.is_number()) throw DataError(where, strfmt("field 'target' must be a number, got %s", type_name(target)));
    double t = target.get<double>();
    if (!std::isfinite(t)) throw DataError(where, "field 'target' is not finite");
    ex.target = static_cast<float>(t);
  }
  return ex;
}

}  // namespace

JsonlTask parse_jsonl_task(const std::string& name) {
  if (name == "classification") return JsonlTask::Classification;
  if (name == "regression") return JsonlTask::Regression;
  if (name == "text") return JsonlTask::Text;
  throw UsageError("unknown task '" + name + "' (choices: classification, regression)");
}

const char* jsonl_task_name(JsonlTask task) {
  switch (task) {
    case JsonlTask::Classification: return "classification";
    case JsonlTask::Regression: return "regression";
    case JsonlTask::Text: return "text";
  }
  return "?";
}

std::string jsonl_where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

std::vector<JsonlExample> read_jsonl(const std::string& path, const JsonlOptions& options) {
  if (options.task == JsonlTask::Classification && options.num_classes < 2)
    throw UsageError(strfmt("num_classes must be at least 2 for classification, got %d", options.num_classes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot open file");

  std::vector<JsonlExample> examples;
  std::unordered_map<int64_t, int64_t> line_of_id;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    if (is_blank(line)) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = jsonl_where(path, line_number);

    // Without an "id", an example is known by its index among the data lines.
    JsonlExample ex = parse_line(line, options, where, static_cast<int64_t>(examples.size()));
    ex.line = line_number;

    auto [it, inserted] = line_of_id.emplace(ex.id, line_number);
    if (!inserted)
      throw DataError(where, strfmt("duplicate id %lld (first on line %lld)", static_cast<long long>(ex.id),
                                    static_cast<long long>(it->second)));
    if (!examples.empty() && examples.front().soft.empty() != ex.soft.empty())
      throw DataError(where, strfmt("soft_label is %s here but %s on line %lld (all lines or none)",
                                    ex.soft.empty() ? "missing" : "present", ex.soft.empty() ? "present" : "absent",
                                    static_cast<long long>(examples.front().line)));
    examples.push_back(std::move(ex));
  }
  if (in.bad()) throw DataError(path, "read error");
  if (examples.empty()) throw DataError(path, "no examples (the file is empty or has only blank lines)");
  return examples;
}

}  // namespace w2s
