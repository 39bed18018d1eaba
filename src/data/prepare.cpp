#include "data/prepare.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include "core/error.h"
#include "core/philox.h"

namespace w2s {

uint64_t example_key(uint64_t seed, const std::string& purpose, int64_t id) {
  Philox4 r = philox4x32(seed, stream_id("w2s.prepare." + purpose), static_cast<uint64_t>(id));
  return (static_cast<uint64_t>(r[0]) << 32) | r[1];
}

namespace {

// Positions 0..n-1 ordered by (key, id): a seeded permutation, ties broken by id.
std::vector<size_t> key_order(const std::vector<int64_t>& ids, uint64_t seed, const std::string& purpose) {
  std::vector<std::pair<uint64_t, size_t>> keyed;
  keyed.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) keyed.emplace_back(example_key(seed, purpose, ids[i]), i);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : ids[x.second] < ids[y.second];
  });
  std::vector<size_t> order;
  for (const auto& [key, i] : keyed) order.push_back(i);
  return order;
}

}  // namespace

std::vector<size_t> seeded_subset(const std::vector<int64_t>& ids, int64_t n, uint64_t seed, const std::string& purpose) {
  std::vector<size_t> order = key_order(ids, seed, purpose);
  if (n > 0 && static_cast<size_t>(n) < order.size()) order.resize(static_cast<size_t>(n));
  std::sort(order.begin(), order.end());
  return order;
}

AbSplit split_ab(const std::vector<int64_t>& ids, uint64_t seed) {
  std::vector<size_t> order = key_order(ids, seed, "ab-split");
  const size_t half = (order.size() + 1) / 2;
  AbSplit split;
  split.a.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(half));
  split.b.assign(order.begin() + static_cast<std::ptrdiff_t>(half), order.end());
  std::sort(split.a.begin(), split.a.end());
  std::sort(split.b.begin(), split.b.end());
  return split;
}

int64_t group_of(int64_t id, int64_t group_divisor) {
  if (group_divisor <= 1) return id;
  const int64_t q = id / group_divisor;
  return (id % group_divisor != 0 && id < 0) ? q - 1 : q;  // floor, for negative ids too
}

namespace {

// The examples of each group, as positions into ids, and the groups in ascending order.
struct GroupMembers {
  std::map<int64_t, std::vector<size_t>> members;
  std::vector<int64_t> groups;
};
GroupMembers group_members(const std::vector<int64_t>& ids, int64_t group_divisor) {
  GroupMembers g;
  for (size_t i = 0; i < ids.size(); ++i) g.members[group_of(ids[i], group_divisor)].push_back(i);
  for (const auto& [group, positions] : g.members) g.groups.push_back(group);
  return g;
}

// The most common class among `positions` (the lowest on a tie); 0 without classes.
int32_t group_class(const std::vector<size_t>& positions, const std::vector<int32_t>& classes) {
  if (classes.empty()) return 0;
  std::map<int32_t, size_t> counts;
  for (size_t p : positions) ++counts[classes[p]];
  return std::max_element(counts.begin(), counts.end(), [](auto& x, auto& y) { return x.second < y.second; })->first;
}

}  // namespace

std::vector<std::vector<size_t>> split_by_group(const std::vector<int64_t>& ids, uint64_t seed,
                                                const std::string& purpose, size_t parts, int64_t group_divisor,
                                                const std::vector<int32_t>& classes) {
  W2S_CHECK(parts >= 1, "split_by_group: no parts");
  W2S_CHECK(classes.empty() || classes.size() == ids.size(), "split_by_group: one class per id");
  GroupMembers g = group_members(ids, group_divisor);
  std::vector<std::vector<size_t>> out(parts);
  std::vector<std::map<int32_t, size_t>> per_class(parts);  // examples of each group class per part
  for (size_t k : key_order(g.groups, seed, purpose)) {
    const std::vector<size_t>& positions = g.members[g.groups[k]];
    const int32_t c = group_class(positions, classes);
    size_t best = 0;
    for (size_t q = 1; q < parts; ++q)
      if (std::make_pair(per_class[q][c], out[q].size()) < std::make_pair(per_class[best][c], out[best].size()))
        best = q;
    out[best].insert(out[best].end(), positions.begin(), positions.end());
    per_class[best][c] += positions.size();
  }
  for (auto& part : out) std::sort(part.begin(), part.end());
  return out;
}

AbSplit split_ab_grouped(const std::vector<int64_t>& ids, uint64_t seed, int64_t group_divisor,
                         const std::vector<int32_t>& classes) {
  if (group_divisor <= 1) return split_ab(ids, seed);
  std::vector<std::vector<size_t>> halves = split_by_group(ids, seed, "ab-split.group", 2, group_divisor, classes);
  return {std::move(halves[0]), std::move(halves[1])};
}

ValidSplit split_valid(const std::vector<int64_t>& ids, double fraction, uint64_t seed, int64_t group_divisor) {
  ValidSplit split;
  if (fraction <= 0) {
    for (size_t i = 0; i < ids.size(); ++i) split.train.push_back(i);
    return split;
  }
  GroupMembers g = group_members(ids, group_divisor);
  const size_t wanted =
      std::max<size_t>(1, static_cast<size_t>(std::llround(fraction * static_cast<double>(ids.size()))));
  for (size_t k : key_order(g.groups, seed, "valid-split")) {
    const std::vector<size_t>& positions = g.members[g.groups[k]];
    std::vector<size_t>& side = split.valid.size() < wanted ? split.valid : split.train;
    side.insert(side.end(), positions.begin(), positions.end());
  }
  std::sort(split.valid.begin(), split.valid.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

Overlong parse_overlong(const std::string& name) {
  if (name == "drop") return Overlong::Drop;
  if (name == "truncate") return Overlong::Truncate;
  if (name == "truncate-start") return Overlong::TruncateStart;
  throw UsageError("--overlong must be drop, truncate or truncate-start, got '" + name + "'");
}

const char* overlong_name(Overlong overlong) {
  switch (overlong) {
    case Overlong::Drop: return "drop";
    case Overlong::TruncateStart: return "truncate-start";
    case Overlong::Truncate: break;
  }
  return "truncate";
}

std::vector<std::vector<int32_t>> encode_all(const Tokenizer& tokenizer, const std::vector<const std::string*>& texts) {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::exception_ptr error;
  const int64_t n = static_cast<int64_t>(texts.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    try {
      out[i] = tokenizer.encode(*texts[i]);
    } catch (...) {
#pragma omp critical(w2s_encode_all_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

std::vector<TokenizedExample> tokenize_examples(const std::vector<JsonlExample>& examples,
                                                const std::vector<size_t>& positions, const Tokenizer& tokenizer,
                                                int32_t max_len, Overlong overlong, JsonlTask task, int num_classes,
                                                TokenizeStats& stats) {
  std::vector<const std::string*> texts;
  for (size_t p : positions) texts.push_back(&examples[p].txt);
  std::vector<std::vector<int32_t>> encoded = encode_all(tokenizer, texts);

  stats = TokenizeStats{};
  stats.read = static_cast<int64_t>(positions.size());
  if (task == JsonlTask::Classification) stats.class_counts.assign(static_cast<size_t>(num_classes), 0);
  std::vector<TokenizedExample> rows;
  for (size_t k = 0; k < positions.size(); ++k) {
    const JsonlExample& ex = examples[positions[k]];
    std::vector<int32_t>& tokens = encoded[k];
    if (tokens.empty()) {
      ++stats.dropped_empty;
      continue;
    }
    if (static_cast<int64_t>(tokens.size()) > max_len) {
      if (overlong == Overlong::Drop) {
        ++stats.dropped_overlong;
        continue;
      }
      if (overlong == Overlong::TruncateStart)  // keep the end of the text
        tokens.erase(tokens.begin(), tokens.end() - max_len);
      else
        tokens.resize(static_cast<size_t>(max_len));  // keep the beginning of the text
      ++stats.truncated;
    }
    TokenizedExample row;
    row.id = ex.id;
    row.tokens = std::move(tokens);
    row.label = ex.label;
    row.target = ex.target;
    row.soft = ex.soft;
    ++stats.kept;
    stats.total_tokens += static_cast<int64_t>(row.tokens.size());
    if (task == JsonlTask::Classification) ++stats.class_counts[static_cast<size_t>(row.label)];
    else stats.target_sum += row.target;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> split_documents(const std::string& text, size_t max_bytes) {
  // Paragraphs first.
  std::vector<std::string> paragraphs;
  std::string current;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    bool blank = line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
    if (blank) {
      if (!current.empty()) paragraphs.push_back(std::move(current));
      current.clear();
    } else {
      if (!current.empty()) current += '\n';
      current.append(line);
    }
    start = end + 1;
  }
  if (!current.empty()) paragraphs.push_back(std::move(current));

  // Then documents: consecutive paragraphs while they fit.
  std::vector<std::string> documents;
  std::string doc;
  for (auto& paragraph : paragraphs) {
    if (!doc.empty() && doc.size() + 2 + paragraph.size() > max_bytes) {
      documents.push_back(std::move(doc));
      doc.clear();
    }
    if (!doc.empty()) doc += "\n\n";
    doc += paragraph;
  }
  if (!doc.empty()) documents.push_back(std::move(doc));
  return documents;
}

}  // namespace w2s
