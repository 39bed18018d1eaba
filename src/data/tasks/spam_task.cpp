// The spam task: SpamAssassin e-mails, ham (0) vs spam (1). A balanced test set of test_size
// e-mails chosen by seed; train is every other e-mail, balanced by undersampling the ham.
#include <map>

#include "core/error.h"
#include "core/strings.h"
#include "data/tasks/task_rows.h"
#include "data/tasks/tasks.h"

namespace w2s::tasks {

namespace {

std::string body_of(const std::string& txt) { return txt.substr(txt.find('\n') + 1); }

// Drops e-mails with an empty body, and repeated bodies: the first copy is kept, unless copies
// disagree on the label, in which case none is.
std::vector<Email> usable_emails(std::vector<Email> emails, ConvertSummary& summary) {
  std::map<std::string, std::pair<size_t, bool>> first_copy;  // body → (index, labels conflict)
  for (size_t i = 0; i < emails.size(); ++i) {
    if (emails[i].empty_body) continue;
    auto [it, inserted] = first_copy.emplace(body_of(emails[i].txt), std::make_pair(i, false));
    if (!inserted && emails[it->second.first].label != emails[i].label) it->second.second = true;
  }
  std::vector<bool> keep(emails.size(), false);
  int64_t conflicting = 0;
  for (const auto& [body, entry] : first_copy) {
    if (entry.second) ++conflicting;
    else keep[entry.first] = true;
  }
  std::vector<Email> out;
  int64_t empty = 0, duplicates = 0;
  for (size_t i = 0; i < emails.size(); ++i) {
    if (keep[i]) out.push_back(std::move(emails[i]));
    else if (emails[i].empty_body) ++empty;
    else ++duplicates;
  }
  summary.lines.push_back(strfmt("e-mails: %zu read, %lld with an empty body dropped, %lld repeated bodies dropped "
                                 "(%lld bodies found under both labels, all copies dropped)",
                                 emails.size(), (long long)empty, (long long)duplicates, (long long)conflicting));
  return out;
}

TaskRow to_row(Email& email) {
  TaskRow row;
  row.id = email.id;
  row.label = email.label;
  row.txt = std::move(email.txt);
  row.extra["group"] = email.group;
  row.extra["file"] = email.file;
  return row;
}

}  // namespace

ConvertSummary convert_spam(const ConvertOptions& options) {
  if (options.test_size < 2 || options.test_size % 2 != 0)
    throw UsageError(strfmt("--test-size must be even and at least 2 (the test set is balanced), got %lld",
                            (long long)options.test_size));
  ConvertSummary summary;
  std::vector<Email> emails = usable_emails(load_emails(options.cache_dir, static_cast<size_t>(options.max_body_bytes)), summary);

  std::vector<TaskRow> by_class[2];
  for (auto& email : emails) by_class[email.label].push_back(to_row(email));
  const size_t per_class = static_cast<size_t>(options.test_size / 2);
  std::vector<TaskRow> train, test;
  for (auto& rows : by_class) {
    if (rows.size() <= per_class)
      throw UsageError(strfmt("--test-size %lld leaves no training e-mails of a class (%zu usable)",
                              (long long)options.test_size, rows.size()));
    std::vector<TaskRow> shuffled = seeded_shuffle(std::move(rows), options.seed, "spam.test");
    for (size_t i = 0; i < shuffled.size(); ++i) (i < per_class ? test : train).push_back(std::move(shuffled[i]));
  }
  train = seeded_shuffle(undersample_to_balance(std::move(train), options.seed, "spam.balance"), options.seed, "spam.order");
  test = seeded_shuffle(std::move(test), options.seed, "spam.order");

  summary.files = write_task_files(options.out_dir, train, test);
  summary.lines.push_back(describe_rows("train", train) + " (ham undersampled to balance)");
  summary.lines.push_back(describe_rows("test", test));
  return summary;
}

}  // namespace w2s::tasks
