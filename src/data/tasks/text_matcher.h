// Finds which of many "needle" texts (test examples) a document contains or overlaps, fast
// enough to screen a whole pretraining corpus against every test set.
//
// Needles and documents are compared after collapse_whitespace(). Each needle of at least
// `tile` bytes is cut into tiles of `tile` bytes (at offsets 0, tile, 2·tile, ... and one ending
// at its end); a rolling hash over the document finds every tile it holds. A document
//   - contains a needle when the whole needle matches around one of its tiles;
//   - overlaps a needle when it holds one of its tiles — guaranteed for any common run of
//     2·tile − 1 bytes or more (such a run covers a whole aligned tile).
// Needles shorter than a tile are matched by plain substring search (containment only).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace w2s::tasks {

class TextMatcher {
 public:
  TextMatcher(const std::vector<std::string>& needles, size_t tile);

  struct Hits {
    std::vector<int64_t> contained;  // needles the document contains, ascending
    std::vector<int64_t> tiles;      // tiles the document holds (ids, ascending)
  };
  // `document` must already be whitespace-collapsed.
  Hits find(std::string_view document) const;

  int64_t num_tiles() const { return static_cast<int64_t>(tile_refs_.size()); }
  int64_t tile_needle(int64_t tile) const { return tile_refs_[static_cast<size_t>(tile)].needle; }

 private:
  struct TileRef {
    int64_t needle;
    size_t offset;
  };
  std::vector<std::string> needles_;  // collapsed
  size_t tile_;
  uint64_t base_power_ = 1;  // kBase^tile, for the rolling hash
  std::vector<TileRef> tile_refs_;
  std::unordered_multimap<uint64_t, int64_t> tile_of_hash_;
  std::vector<int64_t> short_needles_;
};

}  // namespace w2s::tasks
