// The outputs of `w2s filter` (schemas: docs/formats.md §10): the scores file, the summary and
// the kept documents as a new LM dataset. Written on rank 0, each atomically.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "io/h5.h"
#include "studies/filter.h"

namespace w2s {
namespace {

// The first ~120 printable bytes of a byte-tokenized document, for the summary.
std::string document_preview(const LmDataset& ds, int64_t d) {
  if (ds.info().tokenizer != "byte") return "";
  std::string s;
  for (int32_t t : ds.read_document(d)) {
    if (s.size() >= 120) break;
    if (t < 256) s += (t >= 32 && t < 127) ? static_cast<char>(t) : ' ';
  }
  return s;
}

}  // namespace

void write_filter_scores(const std::string& path, const std::vector<int64_t>& ids, const std::vector<double>& scores,
                         const std::vector<uint8_t>& kept, const std::string& scorer, const LmDataset& ds) {
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temp_path());
    f.stamp("lm_doc_scores");
    f.write("doc_ids", ids);
    f.write("scores", scores);
    f.write("kept", kept);
    f.set_attr("/", "scorer_sha256", sha256_file(scorer));
    f.set_attr("/", "dataset_sha256", ds.sha256());
    f.set_attr("/", "score", std::string("mean token cross-entropy, nats (eot-prompted, n_ctx windows)"));
    f.close();
  }
  out.commit();
}

nlohmann::json filter_summary(const LmDataset& ds, const std::vector<int64_t>& ids, const std::vector<double>& scores,
                              const std::vector<uint8_t>& kept, const KeptRange& r, int examples, int bins) {
  const auto offs = ds.doc_offsets();
  const size_t D = scores.size();
  int64_t n_kept = 0, tok_all = 0, tok_kept = 0;
  for (size_t i = 0; i < D; ++i) {
    const int64_t len = offs[i + 1] - offs[i];
    tok_all += len;
    if (kept[i]) n_kept += 1, tok_kept += len;
  }
  nlohmann::json j = {{"selection", r.text}, {"quantile_range", {r.lo, r.hi}}, {"documents", D},
                      {"kept", n_kept},      {"dropped", static_cast<int64_t>(D) - n_kept},
                      {"tokens", tok_all},   {"tokens_kept", tok_kept}};
  if (D == 0) return j;
  const double lo = *std::min_element(scores.begin(), scores.end());
  const double hi = *std::max_element(scores.begin(), scores.end());
  std::vector<int64_t> all(static_cast<size_t>(bins), 0), in(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < D; ++i) {
    int b = hi > lo ? static_cast<int>((scores[i] - lo) / (hi - lo) * bins) : 0;
    b = std::clamp(b, 0, bins - 1);
    all[static_cast<size_t>(b)] += 1;
    in[static_cast<size_t>(b)] += kept[i];
  }
  j["histogram"] = {{"min", lo}, {"max", hi}, {"bins", bins}, {"all", all}, {"kept", in}};
  std::vector<size_t> order(D);
  for (size_t i = 0; i < D; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  auto example = [&](size_t i) {
    return nlohmann::json{{"doc_id", ids[i]}, {"score", scores[i]}, {"tokens", offs[i + 1] - offs[i]},
                          {"kept", kept[i] != 0}, {"text", document_preview(ds, static_cast<int64_t>(i))}};
  };
  j["lowest"] = nlohmann::json::array();
  j["highest"] = nlohmann::json::array();
  for (size_t k = 0; k < std::min(D, static_cast<size_t>(examples)); ++k) {
    j["lowest"].push_back(example(order[k]));
    j["highest"].push_back(example(order[D - 1 - k]));
  }
  return j;
}

void write_kept_documents(const std::string& path, const LmDataset& ds, const std::vector<int64_t>& ids,
                          const std::vector<uint8_t>& kept) {
  std::vector<std::vector<int32_t>> docs;
  std::vector<int64_t> kept_ids;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i]) continue;
    std::vector<int32_t> d = ds.read_document(static_cast<int64_t>(i));
    d.pop_back();  // write_lm_dataset appends the eot again
    docs.push_back(std::move(d));
    kept_ids.push_back(ids[i]);
  }
  LmDatasetInfo info = ds.info();
  info.source_sha256 = ds.sha256();  // the filtered set derives from this file
  write_lm_dataset(path, info, docs, kept_ids);
}

}  // namespace w2s
