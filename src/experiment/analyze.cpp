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

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "io/checkpoint.h"
#include "experiment/metrics.h"
#include "io/predictions.h"

namespace w2s {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One model's test predictions, re-ordered to the seed's reference id order.
struct Model {
  std::string file;
  PredictionFile p;
  Predictions probs;               // [n, C] in reference order
  std::vector<int32_t> labels;     // ground truth (classification)
  std::vector<float> targets;      // regression
  bool regression() const { return p.task == "regression"; }
};

struct SeedRuns {
  int seed = 0;
  std::map<std::string, Model> models;  // run folder name → predictions
};

// ---- discovery ------------------------------------------------------------------------------

Model load_model(const std::string& file, const std::vector<int64_t>* reference_ids, const std::string& reference_file) {
  Model m;
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
    if (m.regression()) m.targets.push_back(m.p.targets[order[i]]);
    else m.labels.push_back(m.p.labels[order[i]]);
  }
  return m;
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
      for (const fs::path& rd : run_dirs) {
        std::string name = rd.filename().string();
        bool model_run = starts_with(name, "gt-") || starts_with(name, "w2s-") || starts_with(name, "boot-");
        if (!model_run) continue;
        std::string file = (rd / "predictions.h5").string();
        if (!fs::exists(file)) {
          warnings.push_back(file + " missing (run not finished?)");
          continue;
        }
        runs.models.emplace(name, load_model(file, ref, ref_file));
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

std::vector<uint8_t> correctness(const Model& m) {
  std::vector<uint8_t> c(static_cast<size_t>(m.probs.n));
  for (int i = 0; i < m.probs.n; ++i) c[static_cast<size_t>(i)] = m.probs.argmax(i) == m.labels[static_cast<size_t>(i)];
  return c;
}

double mean_sq_error(const Model& m) {
  double s = 0;
  for (int i = 0; i < m.probs.n; ++i) {
    double d = m.probs.probs[static_cast<size_t>(i)] - m.targets[static_cast<size_t>(i)];
    s += d * d;
  }
  return m.probs.n ? s / m.probs.n : 0.0;
}

// Error in squared loss: Brier score vs one-hot labels, or MSE vs regression targets.
double squared_error(const Model& m) {
  return m.regression() ? mean_sq_error(m) : squared_error_to_labels(m.probs, m.labels);
}

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

json interval_json(const Interval& iv) {
  return {{"estimate", num(iv.estimate)}, {"lo", num(iv.lo)}, {"hi", num(iv.hi)}, {"defined", iv.defined},
          {"undefined_resamples", iv.undefined_resamples}};
}

struct Triple {
  const Model* weak;
  const Model* student;
  const Model* ceiling;
  int seed;
};

// Pooled numbers and CIs for one (task, weak, strong, loss) row from its seeds.
json analyze_row(const std::vector<Triple>& seeds, const AnalyzeOptions& o) {
  const bool regression = seeds[0].weak->regression();
  std::vector<std::vector<uint8_t>> cw, cs, cc;
  std::vector<std::vector<double>> vw, vs, vc;
  double n_total = 0, sum_w = 0, sum_s = 0, sum_c = 0, agree = 0, misfit = 0, err_w = 0, err_s = 0, err_c = 0, ece = 0;
  json per_seed = json::array();
  for (const Triple& t : seeds) {
    const double n = t.weak->probs.n;
    double pw, ps, pc;
    if (regression) {
      pw = mean_sq_error(*t.weak);
      ps = mean_sq_error(*t.student);
      pc = mean_sq_error(*t.ceiling);
    } else {
      cw.push_back(correctness(*t.weak));
      cs.push_back(correctness(*t.student));
      cc.push_back(correctness(*t.ceiling));
      vw.emplace_back(cw.back().begin(), cw.back().end());
      vs.emplace_back(cs.back().begin(), cs.back().end());
      vc.emplace_back(cc.back().begin(), cc.back().end());
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
    row["agreement"] = agree / n_total;
    row["student_ece"] = ece / n_total;
    row["pgr_ci"] = interval_json(pgr_bootstrap(cw, cs, cc, o.resamples, o.level, o.seed));
    row["p_weak_ci"] = interval_json(mean_bootstrap(vw, o.resamples, o.level, o.seed));
    row["p_w2s_ci"] = interval_json(mean_bootstrap(vs, o.resamples, o.level, o.seed));
    row["p_ceiling_ci"] = interval_json(mean_bootstrap(vc, o.resamples, o.level, o.seed));
  }
  return row;
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
    out.push_back({{"task", (*members[0])["task"]}, {"strong", (*members[0])["strong"]}, {"loss", (*members[0])["loss"]},
                   {"candidates", candidates}, {"chosen_by_misfit", (*by_prediction)["weak"]},
                   {"best_in_fact", (*in_fact)["weak"]}, {"agree", by_prediction == in_fact}});
  }
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

std::string render_table(const json& report) {
  std::string t = "| task | weak -> strong | loss | seeds | P_weak | P_w2s | P_ceiling | PGR [95% CI] | agreement | misfit |\n";
  t += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const json& r : report["rows"])
    t += strfmt("| %s | %s -> %s | %s | %zu | %s | %s | %s | %s | %s | %s |\n", r["task"].get<std::string>().c_str(),
                r["weak"].get<std::string>().c_str(), r["strong"].get<std::string>().c_str(),
                r["loss"].get<std::string>().c_str(), r["seeds"].size(), fmt3(r["p_weak"]).c_str(),
                fmt3(r["p_w2s"]).c_str(), fmt3(r["p_ceiling"]).c_str(), pgr_cell(r).c_str(),
                fmt3(r.value("agreement", json(nullptr))).c_str(), fmt3(r["misfit"]).c_str());
  for (const json& c : report["chains"])
    t += strfmt("| %s | %s (bootstrap) | %s | %zu | %s | %s | %s | %s | %s | %s |\n", c["task"].get<std::string>().c_str(),
                c["chain"].get<std::string>().c_str(), c["loss"].get<std::string>().c_str(), c["seeds"].size(),
                fmt3(c["p_weak"]).c_str(), fmt3(c["p_w2s"]).c_str(), fmt3(c["p_ceiling"]).c_str(), pgr_cell(c).c_str(),
                fmt3(c.value("agreement", json(nullptr))).c_str(), fmt3(c["misfit"]).c_str());
  if (!report["supervisor_choice"].empty()) {
    t += "\nSupervisor choice by misfit (predicted student error = weak error - misfit, squared loss):\n";
    for (const json& s : report["supervisor_choice"]) {
      std::string cands;
      for (const json& c : s["candidates"])
        cands += strfmt(" %s: predicted %.4f, measured %.4f;", c["weak"].get<std::string>().c_str(),
                        c["predicted_student_error"].get<double>(), c["measured_student_error"].get<double>());
      t += strfmt("  %s, strong %s, %s:%s misfit picks %s, best in fact %s\n", s["task"].get<std::string>().c_str(),
                  s["strong"].get<std::string>().c_str(), s["loss"].get<std::string>().c_str(), cands.c_str(),
                  s["chosen_by_misfit"].get<std::string>().c_str(), s["best_in_fact"].get<std::string>().c_str());
    }
  }
  if (report["rank_correlation_predicted_vs_measured"].is_number())
    t += strfmt("  Spearman rank correlation, predicted vs measured student error over %zu rows: %.3f\n",
                report["rows"].size(), report["rank_correlation_predicted_vs_measured"].get<double>());
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

AnalyzeResult analyze_experiment(const AnalyzeOptions& o) {
  std::vector<std::string> warnings;
  auto tasks = discover(o.root, warnings);
  for (const auto& w : warnings) log_warn(w);
  json report = {{"root", o.root}, {"resamples", o.resamples}, {"level", o.level}, {"rows", json::array()},
                 {"chains", json::array()}, {"sizes", json::object()}, {"warnings", warnings}};
  std::regex student_re("w2s-([A-Za-z0-9_]+)-to-([A-Za-z0-9_]+)-([A-Za-z0-9_]+)");
  std::regex chain_re("boot-([A-Za-z0-9_-]+)-([A-Za-z0-9_]+)");
  for (const auto& [task, seeds] : tasks) {
    std::map<StudentKey, std::vector<Triple>> students;
    std::map<std::pair<std::string, std::string>, std::vector<Triple>> chains;  // (sizes, loss)
    for (const SeedRuns& sr : seeds) {
      for (const auto& [name, model] : sr.models) {
        std::smatch m;
        auto gt = [&](const std::string& size) -> const Model* {
          auto it = sr.models.find("gt-" + size);
          return it == sr.models.end() ? nullptr : &it->second;
        };
        if (std::regex_match(name, m, student_re)) {
          const Model *w = gt(m[1]), *c = gt(m[2]);
          if (!w || !c) {
            report["warnings"].push_back(strfmt("%s seed %d: %s lacks gt-%s or gt-%s predictions", task.c_str(), sr.seed,
                                                name.c_str(), m[1].str().c_str(), m[2].str().c_str()));
            continue;
          }
          students[{m[1], m[2], m[3]}].push_back({w, &model, c, sr.seed});
        } else if (std::regex_match(name, m, chain_re)) {
          std::vector<std::string> sizes = split(m[1], '-');
          const Model *w = gt(sizes.front()), *c = gt(sizes.back());
          if (w && c) chains[{m[1], m[2]}].push_back({w, &model, c, sr.seed});
        }
      }
    }
    report["sizes"][task] = size_summary(seeds);
    for (const auto& [key, triples] : students) {
      json row = analyze_row(triples, o);
      row["task"] = task;
      row["weak"] = key.weak;
      row["strong"] = key.strong;
      row["loss"] = key.loss;
      report["rows"].push_back(row);
    }
    for (const auto& [key, triples] : chains) {
      json row = analyze_row(triples, o);
      std::vector<std::string> sizes = split(key.first, '-');
      row["task"] = task;
      row["chain"] = join(sizes, " -> ");
      row["loss"] = key.second;
      row["direct"] = "w2s-" + sizes.front() + "-to-" + sizes.back() + "-" + key.second;
      report["chains"].push_back(row);
    }
  }
  report["supervisor_choice"] = supervisor_choice(report["rows"]);
  std::vector<double> predicted, measured;
  for (const json& r : report["rows"]) {
    predicted.push_back(r["predicted_student_error"]);
    measured.push_back(r["student_error"]);
  }
  report["rank_correlation_predicted_vs_measured"] = num(spearman(predicted, measured));
  return {report, render_table(report)};
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
