#include "data/tasks/text_matcher.h"

#include <algorithm>
#include <cstring>

#include "data/tasks/text_util.h"

namespace w2s::tasks {

namespace {

constexpr uint64_t kBase = 1000003;  // polynomial hash modulo 2^64

uint64_t hash_of(std::string_view s) {
  uint64_t h = 0;
  for (unsigned char c : s) h = h * kBase + c;
  return h;
}

void sort_unique(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

TextMatcher::TextMatcher(const std::vector<std::string>& needles, size_t tile) : tile_(tile) {
  for (size_t i = 0; i < tile_; ++i) base_power_ *= kBase;
  for (const auto& n : needles) needles_.push_back(collapse_whitespace(n));
  for (size_t k = 0; k < needles_.size(); ++k) {
    const std::string& n = needles_[k];
    if (n.empty()) continue;
    if (n.size() < tile_) {
      short_needles_.push_back(static_cast<int64_t>(k));
      continue;
    }
    std::vector<size_t> offsets;
    for (size_t offset = 0; offset + tile_ <= n.size(); offset += tile_) offsets.push_back(offset);
    if (n.size() % tile_ != 0) offsets.push_back(n.size() - tile_);
    for (size_t offset : offsets) {
      tile_of_hash_.emplace(hash_of(std::string_view(n).substr(offset, tile_)), num_tiles());
      tile_refs_.push_back({static_cast<int64_t>(k), offset});
    }
  }
}

TextMatcher::Hits TextMatcher::find(std::string_view doc) const {
  Hits hits;
  for (int64_t k : short_needles_) {
    if (doc.find(needles_[static_cast<size_t>(k)]) != std::string_view::npos) hits.contained.push_back(k);
  }
  if (!tile_refs_.empty() && doc.size() >= tile_) {
    uint64_t h = hash_of(doc.substr(0, tile_));
    for (size_t pos = 0;; ++pos) {
      auto [first, last] = tile_of_hash_.equal_range(h);
      for (auto it = first; it != last; ++it) {
        const TileRef& ref = tile_refs_[static_cast<size_t>(it->second)];
        const std::string& n = needles_[static_cast<size_t>(ref.needle)];
        if (std::memcmp(doc.data() + pos, n.data() + ref.offset, tile_) != 0) continue;  // hash collision
        hits.tiles.push_back(it->second);
        if (pos >= ref.offset && doc.size() - (pos - ref.offset) >= n.size() &&
            doc.compare(pos - ref.offset, n.size(), n) == 0)
          hits.contained.push_back(ref.needle);
      }
      if (pos + tile_ >= doc.size()) break;
      h = h * kBase + static_cast<unsigned char>(doc[pos + tile_]) - base_power_ * static_cast<unsigned char>(doc[pos]);
    }
  }
  sort_unique(hits.contained);
  sort_unique(hits.tiles);
  return hits;
}

}  // namespace w2s::tasks
