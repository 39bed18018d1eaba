#include "experiment/analyze.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <regex>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "data/tasks/tasks.h"
#include "data/token_dataset.h"
#include "io/checkpoint.h"
#include "io/label_shards.h"
#include "experiment/declaration.h"
#include "experiment/metrics.h"
#include "experiment/run_layout.h"
#include "io/predictions.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One model's test predictions, re-ordered to the seed's reference id order.
struct RunPredictions {
  std::string file;
  PredictionFile p;
  Predictions probs;               // [n, C] in reference order
  std::vector<int32_t> labels;     // ground truth (classification)
  std::vector<float> targets;      // regression
  std::vector<int64_t> ids;        // example ids in reference order
  bool regression() const { return p.task == "regression"; }
};

struct SeedRuns {
  int seed = 0;
  std::map<std::string, RunPredictions> models;  // run folder name → predictions
};

// ---- discovery ------------------------------------------------------------------------------

RunPredictions load_model(const std::string& file, const std::vector<int64_t>* reference_ids, const std::string& reference_file) {
  RunPredictions m;
  m.file = file;
  m.p = read_predictions(file);
  const size_t n = m.p.ids.size(), C = static_cast<size_t>(m.p.C);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (reference_ids) {
    std::map<int64_t, size_t> row;
    for (size_t i = 0; i < n; ++i) row[m.p.ids[i]] = i;
    if (reference_ids->size() != n)
      throw DataError(file, "holds " + std::to_string(n) + " examples, " + reference_file + " holds " +
                                std::to_string(reference_ids->size()) + ": not the same test set");
    for (size_t i = 0; i < n; ++i) {
      auto it = row.find((*reference_ids)[i]);
      if (it == row.end())
        throw DataError(file, "lacks example id " + std::to_string((*reference_ids)[i]) + " that " + reference_file +
                                  " has: not the same test set");
      order[i] = it->second;
    }
  }
  m.probs.n = static_cast<int>(n);
  m.probs.C = static_cast<int>(C);
  m.probs.probs.resize(n * C);
  for (size_t i = 0; i < n; ++i) {
    std::copy(m.p.probs.begin() + order[i] * C, m.p.probs.begin() + (order[i] + 1) * C, m.probs.probs.begin() + i * C);
    m.ids.push_back(m.p.ids[order[i]]);
    if (m.regression()) m.targets.push_back(m.p.targets[order[i]]);
    else m.labels.push_back(m.p.labels[order[i]]);
  }
  return m;
}

// The checkpoint whose predictions a run folder holds: its own, or a bootstrap chain's last step.
std::string checkpoint_of_run(const fs::path& run_dir) {
  if (!starts_with(run_dir.filename().string(), "boot-")) return layout::checkpoint(run_dir.string());
  int last = 0;
  for (const auto& e : fs::directory_iterator(run_dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && starts_with(name, "step-") && name.size() > 5 &&
        name.find_first_not_of("0123456789", 5) == std::string::npos)
      last = std::max(last, std::stoi(name.substr(5)));
  }
  return layout::checkpoint((run_dir / ("step-" + std::to_string(last))).string());
}

// A predictions file must have been made by the checkpoint of the run it sits in and on the
// test set of its task and seed: one copied from another run, or left from an older model or
// split, would put another model's numbers in this row. Checked against the files that are
// there; a tree without checkpoints or data (results copied alone) is read unchecked.
void require_provenance(const RunPredictions& m, const std::string& checkpoint, const std::string& test_set,
                        std::map<std::string, std::string>& sha_cache) {
  auto sha_of = [&](const std::string& path) -> const std::string& {
    auto it = sha_cache.find(path);
    if (it == sha_cache.end()) it = sha_cache.emplace(path, sha256_file(path)).first;
    return it->second;
  };
  if (fs::exists(checkpoint) && m.p.model_sha256 != sha_of(checkpoint))
    throw DataError(m.file, "was not made by " + checkpoint + ", the checkpoint of its run (model_sha256 differs)");
  if (fs::exists(test_set) && m.p.dataset_sha256 != sha_of(test_set))
    throw DataError(m.file, "was not made on " + test_set + ", the test set of its task (dataset_sha256 differs)");
}

std::vector<std::pair<std::string, std::vector<SeedRuns>>> discover(const std::string& root, std::vector<std::string>& warnings) {
  std::vector<std::pair<std::string, std::vector<SeedRuns>>> tasks;
  if (!fs::is_directory(root)) throw DataError(root, "not a folder");
  std::regex seed_re("seed-([0-9]+)");
  std::vector<fs::path> task_dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) task_dirs.push_back(e.path());
  std::sort(task_dirs.begin(), task_dirs.end());
  for (const fs::path& td : task_dirs) {
    std::vector<SeedRuns> seeds;
    std::vector<fs::path> seed_dirs;
    for (const auto& e : fs::directory_iterator(td)) {
      std::smatch m;
      std::string name = e.path().filename().string();
      if (e.is_directory() && std::regex_match(name, m, seed_re)) seed_dirs.push_back(e.path());
    }
    std::sort(seed_dirs.begin(), seed_dirs.end());
    for (const fs::path& sd : seed_dirs) {
      SeedRuns runs;
      runs.seed = std::stoi(sd.filename().string().substr(5));
      std::vector<fs::path> run_dirs;
      for (const auto& e : fs::directory_iterator(sd))
        if (e.is_directory()) run_dirs.push_back(e.path());
      std::sort(run_dirs.begin(), run_dirs.end());
      const std::vector<int64_t>* ref = nullptr;
      std::string ref_file;
      const std::string test_set = layout::task_split(root, td.filename().string(), runs.seed) + "/test.h5";
      std::map<std::string, std::string> sha_cache;
      for (const fs::path& rd : run_dirs) {
        std::string name = rd.filename().string();
        bool model_run = starts_with(name, "gt-") || starts_with(name, "w2s-") || starts_with(name, "boot-");
        if (!model_run) continue;
        std::string file = (rd / "predictions.h5").string();
        if (!fs::exists(file)) {
          warnings.push_back(file + " missing (run not finished?)");
          continue;
        }
        const RunPredictions& loaded = runs.models.emplace(name, load_model(file, ref, ref_file)).first->second;
        require_provenance(loaded, checkpoint_of_run(rd), test_set, sha_cache);
        if (!ref) {
          ref = &runs.models.at(name).p.ids;
          ref_file = file;
        }
      }
      if (!runs.models.empty()) seeds.push_back(std::move(runs));
    }
    if (!seeds.empty()) tasks.emplace_back(td.filename().string(), std::move(seeds));
  }
  return tasks;
}

// ---- per-row computation --------------------------------------------------------------------

std::vector<uint8_t> correctness(const RunPredictions& m) {
  std::vector<uint8_t> c(static_cast<size_t>(m.probs.n));
  for (int i = 0; i < m.probs.n; ++i) c[static_cast<size_t>(i)] = m.probs.argmax(i) == m.labels[static_cast<size_t>(i)];
  return c;
}

double mean_sq_error(const RunPredictions& m) {
  double s = 0;
  for (int i = 0; i < m.probs.n; ++i) {
    double d = m.probs.probs[static_cast<size_t>(i)] - m.targets[static_cast<size_t>(i)];
    s += d * d;
  }
  return m.probs.n ? s / m.probs.n : 0.0;
}

// Error in squared loss: Brier score vs one-hot labels, or MSE vs regression targets.
double squared_error(const RunPredictions& m) {
  return m.regression() ? mean_sq_error(m) : squared_error_to_labels(m.probs, m.labels);
}

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// part / whole, or null when the group is empty.
json ratio(double part, double whole) { return whole > 0 ? json(part / whole) : json(nullptr); }

// Student–supervisor agreement split by whether the supervisor is right on a test example: a
// student that agrees with its supervisor where the supervisor is wrong imitates its errors.
struct SplitAgreement {
  double weak_right = 0, agree_where_right = 0, weak_wrong = 0, agree_where_wrong = 0;
  void add(const SplitAgreement& o) {
    weak_right += o.weak_right;
    agree_where_right += o.agree_where_right;
    weak_wrong += o.weak_wrong;
    agree_where_wrong += o.agree_where_wrong;
  }
};

SplitAgreement split_agreement(const RunPredictions& weak, const RunPredictions& student) {
  SplitAgreement a;
  for (int i = 0; i < weak.probs.n; ++i) {
    const int w = weak.probs.argmax(i);
    const bool agree = student.probs.argmax(i) == w;
    if (w == weak.labels[static_cast<size_t>(i)]) {
      a.weak_right += 1;
      a.agree_where_right += agree;
    } else {
      a.weak_wrong += 1;
      a.agree_where_wrong += agree;
    }
  }
  return a;
}

void put_split_agreement(json& j, const SplitAgreement& a) {
  j["agreement_weak_right"] = ratio(a.agree_where_right, a.weak_right);
  j["agreement_weak_wrong"] = ratio(a.agree_where_wrong, a.weak_wrong);
}

json interval_json(const Interval& iv) {
  return {{"estimate", num(iv.estimate)}, {"lo", num(iv.lo)}, {"hi", num(iv.hi)}, {"defined", iv.defined},
          {"resamples", iv.resamples}, {"undefined_resamples", iv.undefined_resamples}};
}

// Where each id of `reference` sits in `ids`; empty when the two are not the same set of ids.
std::vector<size_t> positions_of(const std::vector<int64_t>& reference, const std::vector<int64_t>& ids) {
  if (reference.size() != ids.size()) return {};
  std::unordered_map<int64_t, size_t> at;
  for (size_t i = 0; i < ids.size(); ++i) at.emplace(ids[i], i);
  std::vector<size_t> pos;
  pos.reserve(reference.size());
  for (int64_t id : reference) {
    auto it = at.find(id);
    if (it == at.end()) return {};
    pos.push_back(it->second);
  }
  return pos;
}

template <typename T>
std::vector<T> permuted(const std::vector<T>& x, const std::vector<size_t>& pos) {
  if (pos.empty()) return x;
  std::vector<T> out;
  out.reserve(pos.size());
  for (size_t i : pos) out.push_back(x[i]);
  return out;
}

// floor(id / divisor): the cluster of an example (ids are usually non-negative).
int64_t cluster_of(int64_t id, int64_t divisor) {
  int64_t q = id / divisor;
  return (id % divisor != 0 && id < 0) ? q - 1 : q;
}

// Misfit predicts the student's error (weak error − misfit) as a theorem only for squared loss
// on a convex class over fixed strong features: here a linear probe (--freeze-backbone) trained
// with loss squared. The student's config.ini (written by w2s train) says which it was.
json misfit_setting(const RunPredictions& student, const std::string& loss) {
  const std::string ini = (fs::path(student.file).parent_path() / "config.ini").string();
  std::string reason;
  if (loss != "squared") {
    reason = "loss " + loss + " is not squared loss";
  } else if (!fs::exists(ini)) {
    reason = "no config.ini beside the predictions, so not known to be a linear probe";
  } else {
    const std::string text = read_text_file(ini);
    if (text.find("freeze-backbone = true") == std::string::npos)
      reason = "the whole network was fine-tuned (not a convex class over fixed strong features)";
  }
  if (reason.empty())
    return {{"setting", "theory"}, {"why", "squared loss, linear probe on frozen strong features"}};
  return {{"setting", "heuristic"}, {"why", reason}};
}

// The weak labels a student was trained on (ROOT/<task>/seed-<s>/labels-<weak>) against half B's
// ground truth: how often the labels' argmax is B's label. nullopt, with the reason in
// `why_not`, when the labels or B are missing, do not verify, or were not made from B (or by the
// supervisor whose checkpoint is there).
struct LabelAccuracy {
  double correct = 0, total = 0;
};

std::optional<LabelAccuracy> weak_label_accuracy(const std::string& root, const std::string& task, int seed,
                                                 const std::string& weak, std::string& why_not) {
  const std::string sd = layout::seed_dir(root, task, seed);
  const std::string dir = layout::labels(sd, weak);
  const std::string half_b = layout::task_split(root, task, seed) + "/train_b.h5";
  if (!fs::exists(dir + "/manifest.json")) {
    why_not = dir + " missing (no manifest.json)";
    return std::nullopt;
  }
  if (!fs::exists(half_b)) {
    why_not = half_b + " missing";
    return std::nullopt;
  }
  try {
    const LabelSet labels = LabelSet::open(dir);
    const TokenDataset b = TokenDataset::open(half_b);
    if (labels.dataset_sha256() != b.sha256()) {
      why_not = dir + " was not computed over " + half_b + " (dataset_sha256 differs)";
      return std::nullopt;
    }
    const std::string supervisor = layout::checkpoint(layout::gt_run(sd, weak));
    if (fs::exists(supervisor) && labels.supervisor_sha256() != sha256_file(supervisor)) {
      why_not = dir + " was not written by " + supervisor + " (supervisor_sha256 differs)";
      return std::nullopt;
    }
    std::unordered_map<int64_t, int32_t> truth;
    const std::vector<int64_t> ids = b.ids();
    const std::vector<int32_t> classes = b.labels();
    for (size_t i = 0; i < ids.size() && i < classes.size(); ++i) truth.emplace(ids[i], classes[i]);
    const int64_t n = static_cast<int64_t>(labels.size()), C = labels.num_classes(), block = 4096;
    std::vector<int64_t> row_ids(static_cast<size_t>(block));
    std::vector<float> probs(static_cast<size_t>(block * C));
    LabelAccuracy acc;
    for (int64_t first = 0; first < n; first += block) {
      const int64_t m = std::min(block, n - first);
      labels.read_rows(first, m, row_ids.data(), probs.data(), nullptr);
      for (int64_t i = 0; i < m; ++i) {
        auto it = truth.find(row_ids[static_cast<size_t>(i)]);
        if (it == truth.end()) {
          why_not = labels.path_of_row(first + i) + " labels example id " + std::to_string(row_ids[static_cast<size_t>(i)]) +
                    ", which " + half_b + " lacks";
          return std::nullopt;
        }
        const float* p = &probs[static_cast<size_t>(i * C)];
        acc.correct += (std::max_element(p, p + C) - p) == it->second;
        acc.total += 1;
      }
    }
    return acc;
  } catch (const Error& e) {
    why_not = e.what();
    return std::nullopt;
  }
}

// (task, seed, weak size) -> its labels' accuracy on half B; read once for every student of it.
using LabelAccuracyCache = std::map<std::tuple<std::string, int, std::string>, std::optional<LabelAccuracy>>;

struct Triple {
  const RunPredictions* weak;
  const RunPredictions* student;
  const RunPredictions* ceiling;
  int seed;
};

// A row's bootstrap inputs, kept for the median over pairs.
struct RowInputs {
  bool classification = false;
  PairCorrectness correct;
  Resampling resampling;
  std::vector<int> seeds;
  std::vector<int64_t> ids;  // seed 0's test ids, the order of `correct` when the test set is shared
  int64_t cluster_divisor = 1;
};

int64_t cluster_divisor_for(const AnalyzeOptions& o, const std::string& task) {
  auto it = o.cluster_divisor.find(task);
  const int64_t d = it != o.cluster_divisor.end() ? it->second : default_cluster_divisor(task);
  if (d < 1) throw UsageError(strfmt("cluster divisor for task %s must be >= 1, got %lld", task.c_str(), static_cast<long long>(d)));
  return d;
}

// The seeds' correctness aligned to seed 0's example order when every seed holds the same test
// ids (one test set), and the resampling scheme that follows: crossed over seeds and examples,
// clustered by floor(id / divisor) when the divisor is above 1.
void resampling_inputs(const std::vector<Triple>& seeds, int64_t divisor, RowInputs& in) {
  const std::vector<int64_t>& reference = seeds[0].weak->ids;
  std::vector<std::vector<size_t>> pos;
  bool shared = true;
  for (const Triple& t : seeds) {
    pos.push_back(positions_of(reference, t.weak->ids));
    shared = shared && !pos.back().empty();
  }
  in.resampling.shared_test_set = shared;
  in.ids = reference;
  in.cluster_divisor = divisor;
  for (size_t s = 0; s < seeds.size(); ++s) {
    const std::vector<size_t> none;
    const std::vector<size_t>& p = shared ? pos[s] : none;
    in.correct.weak.push_back(permuted(correctness(*seeds[s].weak), p));
    in.correct.w2s.push_back(permuted(correctness(*seeds[s].student), p));
    in.correct.ceiling.push_back(permuted(correctness(*seeds[s].ceiling), p));
    in.seeds.push_back(seeds[s].seed);
    if (divisor > 1) {
      std::vector<int64_t> clusters;
      for (int64_t id : permuted(seeds[s].weak->ids, p)) clusters.push_back(cluster_of(id, divisor));
      in.resampling.clusters.push_back(std::move(clusters));
    }
  }
}

json resampling_json(const RowInputs& in) {
  std::set<int64_t> clusters;
  if (!in.resampling.clusters.empty()) clusters.insert(in.resampling.clusters[0].begin(), in.resampling.clusters[0].end());
  return {{"test_set", in.resampling.shared_test_set ? "shared by every seed: one draw per resample for all seeds"
                                                     : "one per seed (ids differ): drawn within each seed"},
          {"cluster_divisor", in.cluster_divisor},
          {"clusters_seed0", in.cluster_divisor > 1 ? json(clusters.size()) : json(nullptr)}};
}

// Pooled numbers and CIs for one (task, weak, strong, loss) row from its seeds.
json analyze_row(const std::vector<Triple>& seeds, const AnalyzeOptions& o, int64_t cluster_divisor, RowInputs& in) {
  const bool regression = seeds[0].weak->regression();
  std::vector<std::vector<double>> vw, vs, vc;
  double n_total = 0, sum_w = 0, sum_s = 0, sum_c = 0, agree = 0, misfit = 0, err_w = 0, err_s = 0, err_c = 0, ece = 0;
  json per_seed = json::array();
  SplitAgreement split;
  for (const Triple& t : seeds) {
    const double n = t.weak->probs.n;
    double pw, ps, pc;
    if (regression) {
      pw = mean_sq_error(*t.weak);
      ps = mean_sq_error(*t.student);
      pc = mean_sq_error(*t.ceiling);
    } else {
      pw = accuracy(t.weak->probs, t.weak->labels);
      ps = accuracy(t.student->probs, t.student->labels);
      pc = accuracy(t.ceiling->probs, t.ceiling->labels);
      agree += n * agreement(t.student->probs, t.weak->probs);
      ece += n * expected_calibration_error(t.student->probs, t.student->labels);
    }
    double m = mean_squared_distance(t.student->probs, t.weak->probs);
    double ew = squared_error(*t.weak), es = squared_error(*t.student), ec = squared_error(*t.ceiling);
    // Regression errors are "lower is better": PGR in errors, (e_w − e_s) / (e_w − e_c).
    std::optional<double> g = regression ? pgr(-pw, -ps, -pc) : pgr(pw, ps, pc);
    per_seed.push_back({{"seed", t.seed}, {"p_weak", pw}, {"p_w2s", ps}, {"p_ceiling", pc},
                        {"pgr", g ? json(*g) : json(nullptr)}, {"misfit", m}, {"weak_error", ew},
                        {"student_error", es}, {"gain", ew - es}, {"predicted_student_error", ew - m},
                        {"weak_file", t.weak->file}, {"student_file", t.student->file},
                        {"ceiling_file", t.ceiling->file}, {"student_model_sha256", t.student->p.model_sha256}});
    if (!regression) {
      const SplitAgreement a = split_agreement(*t.weak, *t.student);
      put_split_agreement(per_seed.back(), a);
      split.add(a);
    }
    n_total += n;
    sum_w += n * pw;
    sum_s += n * ps;
    sum_c += n * pc;
    misfit += n * m;
    err_w += n * ew;
    err_s += n * es;
    err_c += n * ec;
  }
  double pw = sum_w / n_total, ps = sum_s / n_total, pc = sum_c / n_total;
  std::optional<double> g = regression ? pgr(-pw, -ps, -pc) : pgr(pw, ps, pc);
  json row = {{"task_kind", regression ? "regression" : "classification"},
              {"metric", regression ? "mse" : "accuracy"},
              {"seeds", json::array()},
              {"p_weak", pw}, {"p_w2s", ps}, {"p_ceiling", pc},
              {"pgr", g ? json(*g) : json(nullptr)}, {"pgr_defined", g.has_value()},
              {"misfit", misfit / n_total}, {"weak_error", err_w / n_total}, {"student_error", err_s / n_total},
              {"ceiling_error", err_c / n_total}, {"gain", (err_w - err_s) / n_total},
              {"predicted_student_error", (err_w - misfit) / n_total}, {"per_seed", per_seed}};
  for (const Triple& t : seeds) row["seeds"].push_back(t.seed);
  if (!regression) {
    in.classification = true;
    resampling_inputs(seeds, cluster_divisor, in);
    auto as_double = [](const std::vector<std::vector<uint8_t>>& c) {
      std::vector<std::vector<double>> v;
      for (const auto& seed : c) v.emplace_back(seed.begin(), seed.end());
      return v;
    };
    const Resampling& rs = in.resampling;
    row["agreement"] = agree / n_total;
    put_split_agreement(row, split);
    row["student_ece"] = ece / n_total;
    row["resampling"] = resampling_json(in);
    row["pgr_ci"] = interval_json(
        pgr_bootstrap(in.correct.weak, in.correct.w2s, in.correct.ceiling, o.resamples, o.level, o.seed, rs));
    // Same rng seed, same draws as pgr_ci: a real gap and PGR are judged on one set of resamples.
    const Interval gap = gap_bootstrap(in.correct, o.resamples, o.level, o.seed, rs);
    row["gap_ci"] = interval_json(gap);
    row["real_gap"] = gap.lo > 0;
    row["p_weak_ci"] = interval_json(mean_bootstrap(as_double(in.correct.weak), o.resamples, o.level, o.seed, rs));
    row["p_w2s_ci"] = interval_json(mean_bootstrap(as_double(in.correct.w2s), o.resamples, o.level, o.seed, rs));
    row["p_ceiling_ci"] = interval_json(mean_bootstrap(as_double(in.correct.ceiling), o.resamples, o.level, o.seed, rs));
  }
  return row;
}

// The weak labels' accuracy on half B, per seed and pooled over seeds (`weak_label_accuracy_b`).
// A seed whose labels cannot be read gets null and a warning; the pooled value is null unless
// every seed has its labels, so it never silently covers fewer seeds than the row.
void add_weak_label_accuracy(json& row, const std::vector<Triple>& triples, const std::string& root,
                             const std::string& task, const std::string& weak, LabelAccuracyCache& cache,
                             json& warnings) {
  LabelAccuracy pooled;
  bool every_seed = true;
  for (size_t k = 0; k < triples.size(); ++k) {
    const auto key = std::make_tuple(task, triples[k].seed, weak);
    auto it = cache.find(key);
    if (it == cache.end()) {
      std::string why_not;
      it = cache.emplace(key, weak_label_accuracy(root, task, triples[k].seed, weak, why_not)).first;
      if (!it->second)
        warnings.push_back(strfmt("%s seed %d: weak labels' accuracy on half B left null: %s", task.c_str(),
                                  triples[k].seed, why_not.c_str()));
    }
    const std::optional<LabelAccuracy>& acc = it->second;
    row["per_seed"][k]["weak_label_accuracy_b"] = acc ? ratio(acc->correct, acc->total) : json(nullptr);
    every_seed = every_seed && acc.has_value();
    if (acc) {
      pooled.correct += acc->correct;
      pooled.total += acc->total;
    }
  }
  row["weak_label_accuracy_b"] = every_seed ? ratio(pooled.correct, pooled.total) : json(nullptr);
}

// ---- rows, supervisor choice, chains ---------------------------------------------------------

struct StudentKey {
  std::string weak, strong, loss;
  bool operator<(const StudentKey& o) const { return std::tie(weak, strong, loss) < std::tie(o.weak, o.strong, o.loss); }
};

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (i + j) / 2.0 + 1;  // ties share their mean rank
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return std::nan("");
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / ra.size(), mb = std::accumulate(rb.begin(), rb.end(), 0.0) / rb.size();
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) * (ra[i] - ma);
    db += (rb[i] - mb) * (rb[i] - mb);
  }
  return da > 0 && db > 0 ? num / std::sqrt(da * db) : std::nan("");
}

json supervisor_choice(const json& rows) {
  std::map<std::string, std::vector<const json*>> groups;  // task|strong|loss → rows
  for (const json& r : rows)
    groups[r["task"].get<std::string>() + "|" + r["strong"].get<std::string>() + "|" + r["loss"].get<std::string>()]
        .push_back(&r);
  json out = json::array();
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    const json* by_prediction = members[0];
    const json* in_fact = members[0];
    json candidates = json::array();
    for (const json* r : members) {
      if ((*r)["predicted_student_error"] < (*by_prediction)["predicted_student_error"]) by_prediction = r;
      if ((*r)["student_error"] < (*in_fact)["student_error"]) in_fact = r;
      candidates.push_back({{"weak", (*r)["weak"]}, {"predicted_student_error", (*r)["predicted_student_error"]},
                            {"measured_student_error", (*r)["student_error"]}, {"misfit", (*r)["misfit"]},
                            {"weak_error", (*r)["weak_error"]}});
    }
    bool theory = true;
    for (const json* r : members) theory = theory && (*r)["misfit_prediction"]["setting"] == "theory";
    out.push_back({{"task", (*members[0])["task"]}, {"strong", (*members[0])["strong"]}, {"loss", (*members[0])["loss"]},
                   {"candidates", candidates}, {"chosen_by_misfit", (*by_prediction)["weak"]},
                   {"best_in_fact", (*in_fact)["weak"]}, {"agree", by_prediction == in_fact},
                   {"misfit_setting", theory ? "theory" : "heuristic"}});
  }
  return out;
}

// Spearman correlation of predicted (weak error − misfit) and measured student error, within
// each task and loss: pooled over tasks and losses it is close to 1 by construction (tasks differ
// far more in error than misfit moves the prediction), so it would say nothing about misfit.
json rank_correlations(const json& rows) {
  std::map<std::pair<std::string, std::string>, std::vector<const json*>> groups;
  for (const json& r : rows) groups[{r["task"].get<std::string>(), r["loss"].get<std::string>()}].push_back(&r);
  json out = json::array();
  for (const auto& [key, members] : groups) {
    std::vector<double> predicted, measured;
    bool theory = true;
    for (const json* r : members) {
      predicted.push_back((*r)["predicted_student_error"]);
      measured.push_back((*r)["student_error"]);
      theory = theory && (*r)["misfit_prediction"]["setting"] == "theory";
    }
    // Two rows always correlate ±1: ask for three.
    const double rho = members.size() >= 3 ? spearman(predicted, measured) : std::nan("");
    out.push_back({{"task", key.first}, {"loss", key.second}, {"rows", members.size()}, {"spearman", num(rho)},
                   {"misfit_setting", theory ? "theory" : "heuristic"}});
  }
  return out;
}

// The median over weak -> strong pairs of pooled PGR per task and loss (the summary Burns et al.
// report). Its interval draws seeds and examples once per resample for every pair, which needs
// the pairs to share seeds, test set and clusters; otherwise only the median itself is given.
json median_over_pairs(const json& rows, const std::vector<RowInputs>& inputs, const AnalyzeOptions& o) {
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> groups;
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].classification)
      groups[{rows[k]["task"].get<std::string>(), rows[k]["loss"].get<std::string>()}].push_back(k);
  json out = json::array();
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    const RowInputs& first = inputs[members[0]];
    bool joint = first.resampling.shared_test_set;
    std::vector<PairCorrectness> pairs;
    std::vector<double> point;
    for (size_t k : members) {
      const RowInputs& in = inputs[k];
      joint = joint && in.resampling.shared_test_set && in.seeds == first.seeds && in.ids == first.ids &&
              in.resampling.clusters == first.resampling.clusters;
      pairs.push_back(in.correct);
      if (rows[k]["pgr"].is_number()) point.push_back(rows[k]["pgr"].get<double>());
    }
    json entry = {{"task", key.first}, {"loss", key.second}, {"pairs", members.size()}, {"pairs_defined", point.size()}};
    if (joint) {
      entry["median_pgr"] = interval_json(median_pgr_bootstrap(pairs, o.resamples, o.level, o.seed, first.resampling));
    } else {
      std::sort(point.begin(), point.end());
      const double median = point.empty() ? std::nan("")
                            : point.size() % 2 ? point[point.size() / 2]
                                               : (point[point.size() / 2 - 1] + point[point.size() / 2]) / 2;
      entry["median_pgr"] = {{"estimate", num(median)}, {"lo", nullptr}, {"hi", nullptr}, {"defined", !point.empty()},
                             {"resamples", 0}, {"undefined_resamples", 0}};
      entry["no_interval_because"] = "the pairs do not share seeds, test set and clusters";
    }
    out.push_back(entry);
  }
  return out;
}

// ---- the plain-words summary ------------------------------------------------------------------

std::string ci_text(const json& iv, const char* format) {
  std::string s = strfmt(format, iv["estimate"].get<double>());
  if (iv["lo"].is_number())
    s += " [" + strfmt(format, iv["lo"].get<double>()) + ", " + strfmt(format, iv["hi"].get<double>()) + "]";
  return s;
}

std::string pair_name(const json& r) { return r["weak"].get<std::string>() + " -> " + r["strong"].get<std::string>(); }

// What a student's PGR interval says, for a pair whose gap is real.
std::string pgr_verdict(const json& r) {
  const json& iv = r["pgr_ci"];
  if (!iv["defined"].get<bool>() || !iv["lo"].is_number()) return r["loss"].get<std::string>() + " PGR undefined";
  std::string verdict = iv["lo"].get<double>() > 0   ? "excludes 0: the student recovers part of the gap"
                        : iv["hi"].get<double>() < 0 ? "excludes 0 from below: the student is worse than its supervisor"
                                                     : "includes 0: no recovery beyond noise";
  return r["loss"].get<std::string>() + " PGR " + ci_text(iv, "%.2f") + " (" + verdict + ")";
}

// The classification rows of one task, grouped by weak -> strong pair and seeds: the rows of one
// group share the weak and ceiling runs and so have the same gap and gap interval.
std::vector<std::vector<const json*>> pairs_of(const std::vector<const json*>& rows) {
  std::vector<std::vector<const json*>> pairs;
  for (const json* r : rows) {
    auto same = [&](const std::vector<const json*>& g) {
      return (*g[0])["weak"] == (*r)["weak"] && (*g[0])["strong"] == (*r)["strong"] && (*g[0])["seeds"] == (*r)["seeds"];
    };
    auto it = std::find_if(pairs.begin(), pairs.end(), same);
    if (it == pairs.end()) pairs.push_back({r});
    else it->push_back(r);
  }
  return pairs;
}

// One or two sentences per task, from the numbers: whether any pair's ceiling beats its weak
// supervisor with the gap's interval above 0, and only for such pairs what the students' PGR
// intervals say. Without a real gap PGR divides noise by noise, so the summary says the run is
// too small instead of quoting it.
json task_summary(const std::string& task, const std::vector<const json*>& rows, double level) {
  const std::string pct = strfmt("%g%%", 100 * level);
  const std::vector<std::vector<const json*>> pairs = pairs_of(rows);
  json real_pairs = json::array();
  std::vector<std::string> findings;
  const json* largest = nullptr;
  size_t undefined = 0;
  for (const auto& group : pairs) {
    const json& first = *group[0];
    if (!largest || first["gap_ci"]["estimate"].get<double>() > (*largest)["gap_ci"]["estimate"].get<double>())
      largest = &first;
    for (const json* r : group) undefined += !(*r)["pgr_defined"].get<bool>();
    if (!first["real_gap"].get<bool>()) continue;
    real_pairs.push_back(pair_name(first));
    std::string verdicts;
    for (const json* r : group) verdicts += (verdicts.empty() ? "" : "; ") + pgr_verdict(*r);
    findings.push_back(pair_name(first) + ", gap " + ci_text(first["gap_ci"], "%.3f") + ": " + verdicts);
  }
  std::string text;
  if (!findings.empty()) {
    text = strfmt("%s: a real gap in %zu of %zu pairs (the ceiling beats its weak supervisor, the gap's %s interval "
                  "above 0): %s.",
                  task.c_str(), findings.size(), pairs.size(), pct.c_str(), join(findings, " | ").c_str());
    if (findings.size() < pairs.size())
      text += " The other pairs have no real gap, so their PGR is not interpreted.";
  } else {
    text = strfmt("%s: no real gap: no pair's ceiling beats its weak supervisor beyond noise (the gap's %s interval "
                  "includes 0 or lies below it for every pair, %zu in all; largest gap %s, %s",
                  task.c_str(), pct.c_str(), pairs.size(), ci_text((*largest)["gap_ci"], "%.3f").c_str(),
                  pair_name(*largest).c_str());
    if (undefined) text += strfmt("; PGR undefined for %zu of %zu rows", undefined, rows.size());
    text += "). This run is too small to show weak-to-strong generalization: the sizes are within noise of each "
            "other, so its PGRs measure nothing.";
  }
  return {{"task", task}, {"pairs", pairs.size()}, {"real_gap_pairs", real_pairs}, {"too_small", findings.empty()},
          {"text", text}};
}

json plain_summary(const json& rows, double level) {
  std::map<std::string, std::vector<const json*>> by_task;
  std::set<std::string> regression_only;
  for (const json& r : rows) {
    const std::string task = r["task"].get<std::string>();
    if (r.contains("gap_ci")) by_task[task].push_back(&r);
    else regression_only.insert(task);
  }
  json out = json::array();
  for (const auto& [task, members] : by_task) out.push_back(task_summary(task, members, level));
  for (const std::string& task : regression_only) {
    if (by_task.count(task)) continue;
    out.push_back({{"task", task}, {"pairs", nullptr}, {"real_gap_pairs", json::array()}, {"too_small", nullptr},
                   {"text", task + ": a regression task; the gap and PGR have no bootstrap interval here, so the "
                                   "summary makes no claim about weak-to-strong generalization."}});
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["task"] < b["task"]; });
  return out;
}

// ---- the table ------------------------------------------------------------------------------

std::string fmt3(const json& x) { return x.is_number() ? strfmt("%.3f", x.get<double>()) : "n/a"; }

std::string pgr_cell(const json& r) {
  if (!r["pgr_defined"].get<bool>()) return "undefined (ceiling <= weak)";
  std::string s = strfmt("%.2f", r["pgr"].get<double>());
  if (r.contains("pgr_ci") && r["pgr_ci"]["lo"].is_number())
    s += strfmt(" [%.2f, %.2f]", r["pgr_ci"]["lo"].get<double>(), r["pgr_ci"]["hi"].get<double>());
  return s;
}

// "12/1000": resamples where PGR was undefined (ceiling <= weak), left out of the interval.
std::string undefined_cell(const json& r) {
  if (!r.contains("pgr_ci") || !r["pgr_ci"]["defined"].get<bool>()) return "-";
  return strfmt("%d/%d", r["pgr_ci"]["undefined_resamples"].get<int>(), r["pgr_ci"]["resamples"].get<int>());
}

// The gap column, P_ceiling − P_weak [CI], and whether its interval lies above 0.
std::string gap_cell(const json& r) {
  if (!r.contains("gap_ci")) return "- | -";
  const json& iv = r["gap_ci"];
  const char* real = r["real_gap"].get<bool>()          ? "yes"
                     : iv["hi"].is_number() && iv["hi"].get<double>() < 0 ? "no (ceiling worse)"
                                                                          : "no";
  return ci_text(iv, "%.3f") + " | " + real;
}

// Imitation of the supervisor's errors, one line per student row.
std::string imitation_table(const json& report) {
  std::string t;
  for (const json& r : report["rows"]) {
    if (!r.contains("agreement_weak_right")) continue;
    t += strfmt("| %s | %s | %s | %s | %s | %s |\n", r["task"].get<std::string>().c_str(), pair_name(r).c_str(),
                r["loss"].get<std::string>().c_str(), fmt3(r["agreement_weak_right"]).c_str(),
                fmt3(r["agreement_weak_wrong"]).c_str(), fmt3(r.value("weak_label_accuracy_b", json(nullptr))).c_str());
  }
  if (t.empty()) return t;
  return "\nImitation of the supervisor's errors (test): student-supervisor agreement where the supervisor is right "
         "and where it is wrong (high agreement where it is wrong: the student copies its errors), and the accuracy "
         "of the weak labels the student was trained on (half B; n/a: labels not found, see warnings):\n\n"
         "| task | weak -> strong | loss | agreement, weak right | agreement, weak wrong | weak labels' accuracy on B |\n"
         "|---|---|---|---|---|---|\n" + t;
}

// The misfit column: a "(h)" marks a heuristic reading (outside the theorem's setting).
std::string misfit_cell(const json& r) {
  std::string s = fmt3(r["misfit"]);
  if (r.contains("misfit_prediction") && r["misfit_prediction"]["setting"] != "theory") s += " (h)";
  return s;
}

std::string interval_note(const json& report) {
  std::string clustered;
  for (const auto& [task, d] : report["cluster_divisor"].items())
    if (d.get<int64_t>() > 1) clustered += strfmt(" %s: examples with equal id / %lld drawn as one cluster;", task.c_str(),
                                                  static_cast<long long>(d.get<int64_t>()));
  return strfmt("\nIntervals: %g%% percentile bootstrap, %d resamples; each resample draws seeds with replacement and "
                "one set of test examples shared by every seed drawn and by weak, student and ceiling (seeds x "
                "examples crossed, paired).%s Undef.: resamples where PGR was undefined, left out of the interval.\n",
                100 * report["level"].get<double>(), report["resamples"].get<int>(),
                clustered.empty() ? "" : (" Clusters:" + clustered).c_str());
}

std::string render_table(const json& report) {
  std::string t = "| task | weak -> strong | loss | seeds | P_weak | P_w2s | P_ceiling | gap [95% CI] | real gap | "
                  "PGR [95% CI] | undef. | agreement | misfit |\n";
  t += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const json& r : report["rows"])
    t += strfmt("| %s | %s -> %s | %s | %zu | %s | %s | %s | %s | %s | %s | %s | %s |\n", r["task"].get<std::string>().c_str(),
                r["weak"].get<std::string>().c_str(), r["strong"].get<std::string>().c_str(),
                r["loss"].get<std::string>().c_str(), r["seeds"].size(), fmt3(r["p_weak"]).c_str(),
                fmt3(r["p_w2s"]).c_str(), fmt3(r["p_ceiling"]).c_str(), gap_cell(r).c_str(), pgr_cell(r).c_str(),
                undefined_cell(r).c_str(), fmt3(r.value("agreement", json(nullptr))).c_str(), misfit_cell(r).c_str());
  for (const json& c : report["chains"])
    t += strfmt("| %s | %s (bootstrap) | %s | %zu | %s | %s | %s | %s | %s | %s | %s | %s |\n", c["task"].get<std::string>().c_str(),
                c["chain"].get<std::string>().c_str(), c["loss"].get<std::string>().c_str(), c["seeds"].size(),
                fmt3(c["p_weak"]).c_str(), fmt3(c["p_w2s"]).c_str(), fmt3(c["p_ceiling"]).c_str(), gap_cell(c).c_str(),
                pgr_cell(c).c_str(), undefined_cell(c).c_str(), fmt3(c.value("agreement", json(nullptr))).c_str(),
                misfit_cell(c).c_str());
  t += interval_note(report);
  if (!report["summary"].empty()) {
    t += "\nSummary (a real gap: P_ceiling - P_weak with its interval above 0, from the same resamples as PGR):\n";
    for (const json& s : report["summary"]) t += "- " + s["text"].get<std::string>() + "\n";
  }
  for (const json& m : report["median_pgr"]) {
    const json& iv = m["median_pgr"];
    std::string value = iv["estimate"].is_number() ? strfmt("%.2f", iv["estimate"].get<double>()) : "undefined";
    if (iv["lo"].is_number())
      value += strfmt(" [%.2f, %.2f], undef. %d/%d", iv["lo"].get<double>(), iv["hi"].get<double>(),
                      iv["undefined_resamples"].get<int>(), iv["resamples"].get<int>());
    else
      value += " (no interval: the pairs do not share seeds and test set)";
    t += strfmt("Median PGR over %zu pairs (%zu defined), %s, %s: %s\n", m["pairs"].get<size_t>(),
                m["pairs_defined"].get<size_t>(), m["task"].get<std::string>().c_str(), m["loss"].get<std::string>().c_str(),
                value.c_str());
  }
  t += imitation_table(report);
  t += "\nMisfit (h): predicted student error = weak error - misfit is a theorem (Charikar et al. 2024) only for "
       "squared loss on a convex class over fixed strong features (here: loss squared with --freeze-backbone); "
       "rows marked (h) are outside it, where the prediction is a heuristic.\n";
  if (!report["supervisor_choice"].empty()) {
    t += "\nSupervisor choice by misfit (predicted student error = weak error - misfit):\n";
    for (const json& s : report["supervisor_choice"]) {
      std::string cands;
      for (const json& c : s["candidates"])
        cands += strfmt(" %s: predicted %.4f, measured %.4f;", c["weak"].get<std::string>().c_str(),
                        c["predicted_student_error"].get<double>(), c["measured_student_error"].get<double>());
      t += strfmt("  [%s] %s, strong %s, %s:%s misfit picks %s, best in fact %s\n",
                  s["misfit_setting"].get<std::string>().c_str(), s["task"].get<std::string>().c_str(),
                  s["strong"].get<std::string>().c_str(), s["loss"].get<std::string>().c_str(), cands.c_str(),
                  s["chosen_by_misfit"].get<std::string>().c_str(), s["best_in_fact"].get<std::string>().c_str());
    }
  }
  for (const json& c : report["rank_correlations"])
    if (c["spearman"].is_number())
      t += strfmt("  [%s] Spearman rank correlation, predicted vs measured student error, %s, %s, %zu rows: %.3f\n",
                  c["misfit_setting"].get<std::string>().c_str(), c["task"].get<std::string>().c_str(),
                  c["loss"].get<std::string>().c_str(), c["rows"].get<size_t>(), c["spearman"].get<double>());
  return t;
}

// Every gt-<size> model of a task: its parameter count (from its checkpoint, when present) and
// its ground-truth test accuracy over seeds — the x and y of accuracy-vs-size plots.
json size_summary(const std::vector<SeedRuns>& seeds) {
  std::map<std::string, std::pair<double, int>> acc;  // size → (sum, count)
  std::map<std::string, long long> params;
  for (const SeedRuns& sr : seeds)
    for (const auto& [name, model] : sr.models) {
      if (!starts_with(name, "gt-")) continue;
      std::string size = name.substr(3);
      auto& a = acc[size];
      a.first += model.regression() ? mean_sq_error(model) : accuracy(model.probs, model.labels);
      a.second += 1;
      std::string ckpt = fs::path(model.file).parent_path().string() + "/ckpt.h5";
      if (!params.count(size) && fs::exists(ckpt)) {
        try {
          params[size] = read_checkpoint_info(ckpt).config.num_parameters();
        } catch (const Error&) {
        }
      }
    }
  json out = json::array();
  for (const auto& [size, a] : acc)
    out.push_back({{"size", size}, {"params", params.count(size) ? json(params[size]) : json(nullptr)},
                   {"p_ground_truth", a.first / a.second}, {"seeds", a.second}});
  std::sort(out.begin(), out.end(), [](const json& x, const json& y) {
    return x["params"].is_number() && y["params"].is_number() ? x["params"].get<long long>() < y["params"].get<long long>()
                                                             : x["size"].get<std::string>() < y["size"].get<std::string>();
  });
  return out;
}

}  // namespace

int64_t default_cluster_divisor(const std::string& task) {
  // The grouping the task's ids declare (sotu-party: its speeches); 0 there means none.
  return std::max<int64_t>(1, tasks::natural_group_divisor(task));
}

AnalyzeResult analyze_experiment(const AnalyzeOptions& o) {
  std::vector<std::string> warnings;
  auto tasks = discover(o.root, warnings);
  for (const auto& w : warnings) log_warn(w);
  json report = {{"root", o.root}, {"resamples", o.resamples}, {"level", o.level},
                 {"interval_method", "percentile bootstrap; seeds and test examples crossed (one draw of the shared "
                                     "test set per resample for every seed), weak/student/ceiling paired; clusters "
                                     "per cluster_divisor"},
                 {"cluster_divisor", json::object()}, {"rows", json::array()},
                 {"chains", json::array()}, {"sizes", json::object()}, {"warnings", warnings}};
  std::vector<RowInputs> row_inputs;
  LabelAccuracyCache label_accuracy;
  std::regex student_re("w2s-([A-Za-z0-9_]+)-to-([A-Za-z0-9_]+)-([A-Za-z0-9_]+)");
  std::regex chain_re("boot-([A-Za-z0-9_-]+)-([A-Za-z0-9_]+)");
  for (const auto& [task, seeds] : tasks) {
    std::map<StudentKey, std::vector<Triple>> students;
    std::map<std::pair<std::string, std::string>, std::vector<Triple>> chains;  // (sizes, loss)
    for (const SeedRuns& sr : seeds) {
      for (const auto& [name, model] : sr.models) {
        std::smatch m;
        auto gt = [&](const std::string& size) -> const RunPredictions* {
          auto it = sr.models.find("gt-" + size);
          return it == sr.models.end() ? nullptr : &it->second;
        };
        if (std::regex_match(name, m, student_re)) {
          const RunPredictions *w = gt(m[1]), *c = gt(m[2]);
          if (!w || !c) {
            report["warnings"].push_back(strfmt("%s seed %d: %s lacks gt-%s or gt-%s predictions", task.c_str(), sr.seed,
                                                name.c_str(), m[1].str().c_str(), m[2].str().c_str()));
            continue;
          }
          students[{m[1], m[2], m[3]}].push_back({w, &model, c, sr.seed});
        } else if (std::regex_match(name, m, chain_re)) {
          std::vector<std::string> sizes = split(m[1], '-');
          const RunPredictions *w = gt(sizes.front()), *c = gt(sizes.back());
          if (w && c) chains[{m[1], m[2]}].push_back({w, &model, c, sr.seed});
        }
      }
    }
    report["sizes"][task] = size_summary(seeds);
    const int64_t divisor = cluster_divisor_for(o, task);
    report["cluster_divisor"][task] = divisor;
    for (const auto& [key, triples] : students) {
      RowInputs inputs;
      json row = analyze_row(triples, o, divisor, inputs);
      row["task"] = task;
      row["weak"] = key.weak;
      row["strong"] = key.strong;
      row["loss"] = key.loss;
      row["misfit_prediction"] = misfit_setting(*triples[0].student, key.loss);
      for (const Triple& t : triples)
        if (row["misfit_prediction"]["setting"] == "theory") row["misfit_prediction"] = misfit_setting(*t.student, key.loss);
      if (row["task_kind"] == "classification")
        add_weak_label_accuracy(row, triples, o.root, task, key.weak, label_accuracy, report["warnings"]);
      report["rows"].push_back(row);
      row_inputs.push_back(std::move(inputs));
    }
    for (const auto& [key, triples] : chains) {
      RowInputs unused;
      json row = analyze_row(triples, o, divisor, unused);
      std::vector<std::string> sizes = split(key.first, '-');
      row["task"] = task;
      row["chain"] = join(sizes, " -> ");
      row["loss"] = key.second;
      row["direct"] = "w2s-" + sizes.front() + "-to-" + sizes.back() + "-" + key.second;
      row["misfit_prediction"] = misfit_setting(*triples[0].student, key.second);
      report["chains"].push_back(row);
    }
  }
  report["supervisor_choice"] = supervisor_choice(report["rows"]);
  report["rank_correlations"] = rank_correlations(report["rows"]);
  report["median_pgr"] = median_over_pairs(report["rows"], row_inputs, o);
  report["summary"] = plain_summary(report["rows"], o.level);
  std::set<int> seeds_found;
  for (const auto& [task, seeds] : tasks)
    for (const SeedRuns& sr : seeds) seeds_found.insert(sr.seed);
  report["declaration"] = declaration_status(o.root, std::vector<int>(seeds_found.begin(), seeds_found.end()));
  return {report, render_table(report) + "\n" + declaration_line(report["declaration"]) + "\n"};
}

AnalyzeResult write_experiment_report(const AnalyzeOptions& options, std::string out) {
  if (out.empty()) out = options.root + "/report.json";
  AnalyzeResult r = analyze_experiment(options);
  write_text_atomic(out, r.report.dump(2) + "\n");
  std::string md = out.substr(0, out.size() - (ends_with(out, ".json") ? 5 : 0)) + ".md";
  write_text_atomic(md, "# w2s report: " + options.root + "\n\n" + r.table);
  log_info("report: " + out + ", " + md + "\n");
  return r;
}

}  // namespace w2s
