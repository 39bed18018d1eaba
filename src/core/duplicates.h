// Finding a repeated example id in bounded memory: datasets and label sets of millions of
// examples must refuse duplicate ids without hashing them all at once.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

namespace w2s {

// Fills out with values [first, first + count) of a stream.
using Int64Reader = std::function<void(int64_t first, int64_t count, int64_t* out)>;

// A value that occurs more than once among the n values `read` yields, or nullopt. Runs of up
// to 2^17 values are sorted in memory; beyond one run, the sorted runs go to a scratch file and
// a k-way merge compares neighbours. Memory: 1 MiB plus 4 KiB per run, whatever n is.
std::optional<int64_t> find_duplicate(int64_t n, const Int64Reader& read);

}  // namespace w2s
