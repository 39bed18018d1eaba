// The data-preparation steps behind `w2s prepare`, kept apart from the command line so tests
// can call them: seeded subsets and the A/B split, tokenization with the overlong policy, and
// cutting plain text into LM documents.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/jsonl.h"
#include "data/token_dataset.h"
#include "data/tokenizer.h"

namespace w2s {

// A seeded pseudo-random key for an example, a function of (seed, purpose, id) alone: sorting by
// it gives a permutation that does not depend on file order, tokenizer or max_len.
uint64_t example_key(uint64_t seed, const std::string& purpose, int64_t id);

// Positions (into ids) of the n examples with the smallest keys for `purpose`, in file order;
// all of them when n <= 0 or n >= ids.size().
std::vector<size_t> seeded_subset(const std::vector<int64_t>& ids, int64_t n, uint64_t seed, const std::string& purpose);

// The train split halved as in openai/weak-to-strong: examples ordered by their key (purpose
// "ab-split"); A gets the first ceil(N/2), B the rest. Both halves are returned in file order.
struct AbSplit {
  std::vector<size_t> a, b;
};
AbSplit split_ab(const std::vector<int64_t>& ids, uint64_t seed);

// The group of an example whose task numbers its ids by source (sotu-party: id = speech * 10000
// + passage): floor(id / group_divisor). A divisor of 0 or 1 puts every example in its own group.
int64_t group_of(int64_t id, int64_t group_divisor);

// Positions (into ids) dealt into `parts` disjoint parts, whole groups at a time, so that no
// group is in two parts: groups ordered by their key for `purpose` (seeded), each to the part
// holding the fewest examples of the group's class so far (`classes`: one per id, the group's
// class its most common one; then the fewest examples overall; then the lowest part). A task
// whose groups are single-class (a speech has one party) would otherwise get halves skewed by
// class. Per class the parts then differ by at most the largest group, overall by at most that
// times the number of classes; no classes (empty): by the largest group. Every part is in file
// order. Without groups (divisor 0 or 1) the parts differ by at most one example per class.
std::vector<std::vector<size_t>> split_by_group(const std::vector<int64_t>& ids, uint64_t seed,
                                                const std::string& purpose, size_t parts, int64_t group_divisor,
                                                const std::vector<int32_t>& classes = {});

// The A/B split of `w2s prepare --group-divisor D`: split_ab when the ids carry no groups (D 0 or
// 1, so such data splits exactly as before), else split_by_group into two halves, so that weak
// labels on B never come from a supervisor that trained on the same source (the same speech).
AbSplit split_ab_grouped(const std::vector<int64_t>& ids, uint64_t seed, int64_t group_divisor,
                         const std::vector<int32_t>& classes = {});

// A validation set carved from one half (its ids): groups (group_of) ordered by their key
// (purpose "valid-split": it differs per seed), held out whole until round(fraction * N)
// examples, at least one, are held out. Both parts are returned in file order (positions into
// ids); fraction 0 holds out nothing.
struct ValidSplit {
  std::vector<size_t> train, valid;
};
ValidSplit split_valid(const std::vector<int64_t>& ids, double fraction, uint64_t seed, int64_t group_divisor = 0);

// What to do with an example longer than max_len tokens: drop it, keep its first max_len tokens
// (the beginning of the text), or keep its last max_len tokens (the end: for inputs whose
// question comes last, as sotu-party's --year-suffix, so that the last token still reads it).
enum class Overlong { Drop, Truncate, TruncateStart };
Overlong parse_overlong(const std::string& name);  // "drop" | "truncate" | "truncate-start"; UsageError otherwise
const char* overlong_name(Overlong overlong);     // the name parse_overlong reads

struct TokenizeStats {
  int64_t read = 0;           // examples given
  int64_t kept = 0;           // written
  int64_t dropped_overlong = 0;
  int64_t dropped_empty = 0;  // text that tokenizes to nothing
  int64_t truncated = 0;
  int64_t total_tokens = 0;   // over kept examples, after truncation
  std::vector<int64_t> class_counts;  // classification: kept examples per class
  double target_sum = 0.0;            // regression: sum of kept targets
};

// Tokenizes examples[p] for each p in positions, in that order, applying the overlong policy.
// Examples whose text gives no tokens are dropped (counted in stats).
std::vector<TokenizedExample> tokenize_examples(const std::vector<JsonlExample>& examples,
                                                const std::vector<size_t>& positions, const Tokenizer& tokenizer,
                                                int32_t max_len, Overlong overlong, JsonlTask task, int num_classes,
                                                TokenizeStats& stats);

// Encodes many texts (in parallel with OpenMP; results in input order).
std::vector<std::vector<int32_t>> encode_all(const Tokenizer& tokenizer, const std::vector<const std::string*>& texts);

// Cuts a plain-text file into LM documents: paragraphs are maximal runs of non-blank lines (a
// blank line holds only whitespace); consecutive paragraphs are joined with "\n\n" into one
// document while it stays within max_bytes; a single paragraph longer than max_bytes is a
// document of its own (never split). A paragraph's lines are kept byte for byte (joined by
// '\n'); blank lines themselves are not.
std::vector<std::string> split_documents(const std::string& text, size_t max_bytes);

}  // namespace w2s
