// `w2s filter`: scores every document of a packed LM dataset by a (weak) model's mean token
// cross-entropy (src/studies/filter.h), distributed over DP ranks, and writes (atomically, rank 0)
//   --out          the kept documents as a new LM dataset (same schema and tokenizer attributes)
//   --scores       HDF5 `w2s_kind` = "lm_doc_scores": each document's score and whether it is kept
//   --summary      JSON: counts, a score histogram, the lowest and highest scored documents
// (schemas: docs/formats.md §10)
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "cli/command.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "studies/filter.h"
#include "infer/inference.h"

namespace w2s {
namespace {

struct Range {
  double lo = 0, hi = 1;
  std::string text;
};

// Exactly one of the three selection options, as a quantile range of ascending scores.
Range selection(const po::variables_map& vm) {
  const int given = static_cast<int>(vm.count("drop-highest") + vm.count("drop-lowest") + vm.count("keep-range"));
  if (given != 1) throw UsageError("filter: give exactly one of --drop-highest, --drop-lowest, --keep-range");
  Range r;
  if (vm.count("drop-highest")) {
    const double q = vm["drop-highest"].as<double>();
    r = {0.0, 1.0 - q, strfmt("drop the highest %g", q)};
    if (!(q >= 0 && q <= 1)) throw UsageError("--drop-highest must be a fraction in [0, 1]");
  } else if (vm.count("drop-lowest")) {
    const double q = vm["drop-lowest"].as<double>();
    r = {q, 1.0, strfmt("drop the lowest %g", q)};
    if (!(q >= 0 && q <= 1)) throw UsageError("--drop-lowest must be a fraction in [0, 1]");
  } else {
    const std::string s = vm["keep-range"].as<std::string>();
    std::vector<std::string> parts = split(s, ',');
    try {
      if (parts.size() != 2) throw std::invalid_argument(s);
      r = {std::stod(parts[0]), std::stod(parts[1]), "keep quantiles " + s};
    } catch (const std::exception&) {
      throw UsageError("--keep-range '" + s + "': expected LO,HI quantiles, e.g. 0.1,0.9");
    }
  }
  return r;
}

void write_scores(const std::string& path, const std::vector<int64_t>& ids, const std::vector<double>& scores,
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

std::string preview(const LmDataset& ds, int64_t d) {
  if (ds.info().tokenizer != "byte") return "";
  std::string s;
  for (int32_t t : ds.read_document(d)) {
    if (s.size() >= 120) break;
    if (t < 256) s += (t >= 32 && t < 127) ? static_cast<char>(t) : ' ';
  }
  return s;
}

nlohmann::json summary_json(const LmDataset& ds, const std::vector<int64_t>& ids, const std::vector<double>& scores,
                            const std::vector<uint8_t>& kept, const Range& r, int examples, int bins) {
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
                          {"kept", kept[i] != 0}, {"text", preview(ds, static_cast<int64_t>(i))}};
  };
  j["lowest"] = nlohmann::json::array();
  j["highest"] = nlohmann::json::array();
  for (size_t k = 0; k < std::min(D, static_cast<size_t>(examples)); ++k) {
    j["lowest"].push_back(example(order[k]));
    j["highest"].push_back(example(order[D - 1 - k]));
  }
  return j;
}

void write_kept(const std::string& path, const LmDataset& ds, const std::vector<int64_t>& ids,
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

std::string strip_h5(const std::string& p) { return ends_with(p, ".h5") ? p.substr(0, p.size() - 3) : p; }

int filter_command(const std::vector<std::string>& args) {
  std::string scorer, in, out, scores_path, summary_path;
  int tp = 1, examples = 3, bins = 20;
  po::options_description d("w2s filter options");
  d.add_options()("scorer", po::value(&scorer)->required(), "the scoring (weak) model's checkpoint")(
      "in", po::value(&in)->required(), "LM dataset to filter (w2s prepare --lm output)")(
      "out", po::value(&out)->required(), "the kept documents, as an LM dataset")(
      "drop-highest", number<double>(nullptr, "drop-highest", NumberRange::half_open(0, 1)), "drop this fraction of documents with the highest loss")(
      "drop-lowest", number<double>(nullptr, "drop-lowest", NumberRange::half_open(0, 1)), "drop this fraction of documents with the lowest loss")(
      "keep-range", po::value<std::string>(), "LO,HI: keep documents whose loss quantile is in [LO, HI)")(
      "scores", po::value(&scores_path), "per-document scores (default: OUT without .h5 + .scores.h5)")(
      "summary", po::value(&summary_path), "summary JSON (default: OUT without .h5 + .summary.json)")(
      "examples", number(&examples, "examples", NumberRange::non_negative())->default_value(3), "documents shown from each end in the summary")(
      "bins", number(&bins, "bins", NumberRange::at_least(1))->default_value(20), "histogram bins")(
      "tp", number(&tp, "tp", NumberRange::at_least(1))->default_value(1), "tensor-parallel degree");
  ParsedCommand p = parse_command("filter", "--scorer CKPT --in lm.h5 --out filtered.h5 "
                                  "(--drop-highest Q | --drop-lowest Q | --keep-range LO,HI)\n\n"
                                  "A document's score is the scorer's mean cross-entropy (nats/token) over its "
                                  "tokens and trailing eot, prompted with eot.", d, args);
  if (p.help) return 0;
  const Range r = selection(p.vm);
  if (bins < 1 || examples < 0) throw UsageError("--bins must be >= 1 and --examples >= 0");
  if (scores_path.empty()) scores_path = strip_h5(out) + ".scores.h5";
  if (summary_path.empty()) summary_path = strip_h5(out) + ".summary.json";
  ProcessGrid grid = ProcessGrid::create(tp);
  Timer timer;
  LmDataset ds = LmDataset::open(in);
  require_same_tokenizer(ds.info(), scorer);
  auto model = load_model_for_inference(scorer, grid);
  const std::vector<double> scores = score_all_documents(*model, ds, grid);
  const std::vector<uint8_t> kept = keep_quantile_range(scores, r.lo, r.hi);
  if (grid.is_root()) {
    const std::vector<int64_t> ids = ds.doc_ids();
    write_scores(scores_path, ids, scores, kept, scorer, ds);
    write_kept(out, ds, ids, kept);
    nlohmann::json s = summary_json(ds, ids, scores, kept, r, examples, bins);
    s["scorer"] = scorer;
    s["in"] = in;
    s["out"] = out;
    write_text_atomic(summary_path, s.dump(1) + "\n");
    log_info(strfmt("filter %s with %s (%s): kept %lld of %lld documents (%lld of %lld tokens) in %.1f s; scores %s, "
                    "summary %s",
                    in.c_str(), scorer.c_str(), grid.describe().c_str(), static_cast<long long>(s["kept"]),
                    static_cast<long long>(scores.size()), static_cast<long long>(s["tokens_kept"]),
                    static_cast<long long>(s["tokens"]), timer.seconds(), scores_path.c_str(), summary_path.c_str()));
  }
  grid.world().barrier();
  return 0;
}

W2S_COMMAND("filter", "score an LM dataset's documents by a weak model's loss and keep a quantile range", filter_command);

}  // namespace
}  // namespace w2s
