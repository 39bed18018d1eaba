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
#include "studies/filter.h"
#include "infer/inference.h"

namespace w2s {
namespace {


// Exactly one of the three selection options, as a quantile range of ascending scores.
KeptRange selection(const po::variables_map& vm) {
  const int given = static_cast<int>(vm.count("drop-highest") + vm.count("drop-lowest") + vm.count("keep-range"));
  if (given != 1) throw UsageError("filter: give exactly one of --drop-highest, --drop-lowest, --keep-range");
  KeptRange r;
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
  const KeptRange r = selection(p.vm);
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
    write_filter_scores(scores_path, ids, scores, kept, scorer, ds);
    write_kept_documents(out, ds, ids, kept);
    nlohmann::json s = filter_summary(ds, ids, scores, kept, r, examples, bins);
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
