// JSONL dataset rows (src/data/jsonl.h): the first byte picks the task and class count, the
// rest is the file. A returned example set must satisfy the reader's documented contract.
#include <set>

#include "data/jsonl.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace w2s;
  fuzz::Bytes in(data, size);
  const uint8_t mode = in.byte();
  JsonlOptions options;
  options.task = mode % 3 == 0 ? JsonlTask::Classification : mode % 3 == 1 ? JsonlTask::Regression : JsonlTask::Text;
  options.num_classes = 2 + (mode >> 2) % 4;
  const std::string path = fuzz::scratch_path("data.jsonl");
  fuzz::write_file(path, in.rest().data(), in.left());
  std::vector<JsonlExample> rows;
  if (!fuzz::accepts([&] { rows = read_jsonl(path, options); })) return 0;
  // What callers rely on: ids unique, labels in range, soft labels all-or-none.
  std::set<int64_t> ids;
  for (const auto& r : rows) {
    if (!ids.insert(r.id).second) std::abort();
    if (options.task == JsonlTask::Classification && (r.label < 0 || r.label >= options.num_classes)) std::abort();
    if (!r.soft.empty() && static_cast<int>(r.soft.size()) != options.num_classes) std::abort();
    if (r.soft.empty() != rows.front().soft.empty()) std::abort();
  }
  return 0;
}
