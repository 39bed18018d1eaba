#include "core/duplicates.h"

#include <algorithm>
#include <queue>
#include <vector>

#include "core/scratch_file.h"

namespace w2s {
namespace {

constexpr int64_t kRunValues = int64_t{1} << 17;
constexpr int64_t kMergeBlock = 512;  // values read back from a run at a time

std::optional<int64_t> repeated_in_sorted(const std::vector<int64_t>& sorted) {
  auto it = std::adjacent_find(sorted.begin(), sorted.end());
  if (it == sorted.end()) return std::nullopt;
  return *it;
}

// One sorted run in the scratch file, read back a block at a time.
class RunReader {
 public:
  RunReader(const ScratchFile& file, uint64_t offset, int64_t count) : file_(&file), offset_(offset), left_(count) {}
  bool next(int64_t* value) {
    if (pos_ == block_.size()) {
      if (left_ == 0) return false;
      block_.resize(static_cast<size_t>(std::min(left_, kMergeBlock)));
      file_->read(offset_, block_.data(), block_.size() * sizeof(int64_t));
      offset_ += block_.size() * sizeof(int64_t);
      left_ -= static_cast<int64_t>(block_.size());
      pos_ = 0;
    }
    *value = block_[pos_++];
    return true;
  }

 private:
  const ScratchFile* file_;
  uint64_t offset_;
  int64_t left_;
  std::vector<int64_t> block_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<int64_t> find_duplicate(int64_t n, const Int64Reader& read) {
  if (n <= 1) return std::nullopt;
  std::vector<int64_t> run(static_cast<size_t>(std::min(n, kRunValues)));
  if (n <= kRunValues) {
    read(0, n, run.data());
    std::sort(run.begin(), run.end());
    return repeated_in_sorted(run);
  }
  ScratchFile scratch;
  std::vector<RunReader> runs;
  for (int64_t first = 0; first < n; first += kRunValues) {
    const int64_t m = std::min(kRunValues, n - first);
    run.resize(static_cast<size_t>(m));
    read(first, m, run.data());
    std::sort(run.begin(), run.end());
    if (auto v = repeated_in_sorted(run)) return v;
    runs.emplace_back(scratch, scratch.size(), m);
    scratch.append(run.data(), run.size() * sizeof(int64_t));
  }
  std::vector<int64_t>().swap(run);
  // K-way merge: equal values come out next to each other.
  using Head = std::pair<int64_t, size_t>;  // (value, run)
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  for (size_t r = 0; r < runs.size(); ++r) {
    int64_t v;
    if (runs[r].next(&v)) heads.emplace(v, r);
  }
  bool any = false;
  int64_t previous = 0;
  while (!heads.empty()) {
    auto [v, r] = heads.top();
    heads.pop();
    if (any && v == previous) return v;
    any = true;
    previous = v;
    int64_t w;
    if (runs[r].next(&w)) heads.emplace(w, r);
  }
  return std::nullopt;
}

}  // namespace w2s
