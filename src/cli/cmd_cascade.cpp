// `w2s cascade`: cascading inference (src/studies/cascade.h). Both models answer every example of
// a test set — distributed like `w2s label`: DP ranks take contiguous ranges of the dataset's
// fixed inference batches, each pass is timed barrier to barrier, rank 0 gathers the
// probabilities — and the cascade's accuracy, deferred fraction, FLOPs and time are reported
// for each τ of the sweep and for every distinct threshold (all examples: the trade-off curve).
// The least-cost τ reaching the requested fraction of the strong model's accuracy is chosen on a
// seeded selection split of the examples and reported on the rest (studies/cascade.h). Outputs (atomic): DIR/cascade.json,
// DIR/curve.csv (the sweep), DIR/curve_full.csv (every threshold); tools/plot_cascade.py plots.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "cli/command.h"
#include "cli/options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/strings.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "studies/cascade.h"
#include "infer/inference.h"

namespace w2s {

// A point of the trade-off as cascade.json writes it: every field under its own name.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CascadePoint, tau, deferred, deferred_fraction, correct, accuracy, flops_per_example,
                                   compute_fraction, seconds_per_example, time_fraction)

namespace {

struct CascadeOptions {
  std::string weak, strong, data, out_dir, taus;
  double target = 0.99;
  int batch = 64;
  double select_fraction = 0.5;
  uint64_t select_seed = 0;
};

std::string curve_csv(const std::vector<CascadePoint>& pts) {
  std::string s = "tau,deferred,deferred_fraction,correct,accuracy,flops_per_example,compute_fraction,"
                  "seconds_per_example,time_fraction\n";
  for (const CascadePoint& p : pts)
    s += strfmt("%.9g,%lld,%.6f,%lld,%.6f,%.6g,%.6f,%.6g,%.6f\n", p.tau, static_cast<long long>(p.deferred),
                p.deferred_fraction, static_cast<long long>(p.correct), p.accuracy, p.flops_per_example,
                p.compute_fraction, p.seconds_per_example, p.time_fraction);
  return s;
}

std::string describe_choice(const HeldOutChoice& h, const CascadeChoice& c, const char* what) {
  if (!c.found)
    return strfmt("%s: no τ reaches %.4f on the %lld selection examples (%.3g × the strong accuracy there)", what,
                  h.selection_target_accuracy, static_cast<long long>(h.selection_examples), h.target_fraction);
  const CascadePoint& p = c.report;
  return strfmt("%s: τ = %.6g chosen on %lld selection examples; on the other %lld it gives %.4f (%s %.4f = %.3g × "
                "strong %.4f there), deferring %.1f%%, at %.1f%% of the strong model's FLOPs and %.1f%% of its time",
                what, c.tau, static_cast<long long>(h.selection_examples), static_cast<long long>(h.report_examples),
                p.accuracy, c.meets_target_on_report ? ">=" : "< target", h.report_target_accuracy, h.target_fraction,
                h.report_strong_accuracy, 100 * p.deferred_fraction, 100 * p.compute_fraction, 100 * p.time_fraction);
}

nlohmann::json choice_json(const CascadeChoice& c) {
  if (!c.found) return {{"found", false}};
  return {{"found", true}, {"tau", c.tau}, {"selection", c.selection}, {"report", c.report},
          {"meets_target_on_report", c.meets_target_on_report}};
}

void write_outputs(const CascadeOptions& o, const CascadeResult& r, const HeldOutChoice& h, const std::string& dataset_sha) {
  make_dirs(o.out_dir);
  nlohmann::json j = {{"weak", o.weak},
                      {"strong", o.strong},
                      {"data", o.data},
                      {"dataset_sha256", dataset_sha},
                      {"weak_sha256", sha256_file(o.weak)},
                      {"strong_sha256", sha256_file(o.strong)},
                      {"n", r.n},
                      {"weak_accuracy", r.weak_accuracy},
                      {"strong_accuracy", r.strong_accuracy},
                      {"weak_flops_per_example", r.weak_flops_per_example},
                      {"strong_flops_per_example", r.strong_flops_per_example},
                      {"weak_seconds_per_example", r.weak_seconds_per_example},
                      {"strong_seconds_per_example", r.strong_seconds_per_example},
                      {"target_fraction", r.target_fraction},
                      {"target_accuracy", r.target_accuracy}};
  // points and curve: every example, the trade-off. The τ choice: made on the selection split,
  // its numbers measured on the report split (in-sample choices are not reported).
  j["choice"] = {{"selection_fraction", o.select_fraction},
                 {"selection_seed", o.select_seed},
                 {"selection_examples", h.selection_examples},
                 {"report_examples", h.report_examples},
                 {"selection_target_accuracy", h.selection_target_accuracy},
                 {"report_strong_accuracy", h.report_strong_accuracy},
                 {"report_target_accuracy", h.report_target_accuracy},
                 {"sweep", choice_json(h.sweep)},
                 {"curve", choice_json(h.curve)}};
  j["points"] = r.points;
  j["curve"] = r.curve;
  write_text_atomic(o.out_dir + "/cascade.json", j.dump(1) + "\n");
  write_text_atomic(o.out_dir + "/curve.csv", curve_csv(r.points));
  write_text_atomic(o.out_dir + "/curve_full.csv", curve_csv(r.curve));
}

void print_table(const CascadeResult& r, const HeldOutChoice& h) {
  log_info(strfmt("weak accuracy %.4f at %.4g FLOPs/example; strong %.4f at %.4g FLOPs/example (%.3g×)", r.weak_accuracy,
                  r.weak_flops_per_example, r.strong_accuracy, r.strong_flops_per_example,
                  r.strong_flops_per_example / std::max(r.weak_flops_per_example, 1e-300)));
  log_info("      tau  deferred  accuracy  compute  time");
  for (const CascadePoint& p : r.points)
    log_info(strfmt("%9.4g  %7.1f%%  %8.4f  %6.1f%%  %5.1f%%", p.tau, 100 * p.deferred_fraction, p.accuracy,
                    100 * p.compute_fraction, 100 * p.time_fraction));
  log_info(describe_choice(h, h.sweep, "sweep"));
  log_info(describe_choice(h, h.curve, "every threshold"));
}

int cascade_command(const std::vector<std::string>& args) {
  CascadeOptions o;
  int tp = 1;
  po::options_description d("w2s cascade options");
  d.add_options()("weak", po::value(&o.weak)->required(), "the cheap first-stage model's checkpoint")(
      "strong", po::value(&o.strong)->required(), "the strong model's checkpoint (answers deferred examples)")(
      "data", po::value(&o.data)->required(), "classification token dataset to evaluate on (test.h5)")(
      "out", po::value(&o.out_dir)->required(), "output folder: cascade.json, curve.csv, curve_full.csv")(
      "taus", po::value(&o.taus)->default_value("0,0.5,0.55,...,1,1.01"),
      "thresholds: examples whose weak confidence (max probability) is below τ go to the strong model; "
      "'a,b,...,c' continues the progression a, b up to c")(
      "target", number(&o.target, "target", NumberRange::positive())->default_value(0.99),
      "accuracy to reach, as a fraction of the strong model's; the least-cost τ reaching it on the selection "
      "split is reported on the rest")(
      "select-fraction", number(&o.select_fraction, "select-fraction", NumberRange{0, 1, true, true})->default_value(0.5),
      "fraction of the examples (seeded) on which τ is chosen; the rest report its accuracy and cost")(
      "select-seed", number(&o.select_seed, "select-seed", NumberRange::non_negative())->default_value(0), "seed of the selection split")(
      "batch", number(&o.batch, "batch", NumberRange::at_least(1))->default_value(64), "examples per forward pass")(
      "tp", number(&tp, "tp", NumberRange::at_least(1))->default_value(1), "tensor-parallel degree");
  ParsedCommand p = parse_command("cascade", "--weak CKPT --strong CKPT --data test.h5 --out DIR [options]\n\n"
                                  "Cost is counted as FLOPs (weak on every example + strong on the deferred ones, "
                                  "from the model shapes and example lengths) and as measured time.", d, args);
  if (p.help) return 0;
  const std::vector<double> taus = parse_taus(o.taus);
  if (!(o.target > 0)) throw UsageError("--target must be positive (a fraction of the strong model's accuracy)");
  ProcessGrid grid = ProcessGrid::create(tp);
  TokenDataset ds = TokenDataset::open(o.data);
  if (ds.info().task != "classification")
    throw DataError(o.data, "is a " + ds.info().task + " dataset; a cascade thresholds class probabilities");
  log_info(strfmt("cascade on %s: %lld examples, %s", o.data.c_str(), static_cast<long long>(ds.size()),
                  grid.describe().c_str()));
  CascadeInput in;
  in.C = ds.info().num_classes;
  in.labels = ds.labels();
  in.weak = run_cascade_model(o.weak, ds, o.batch, grid);
  in.strong = run_cascade_model(o.strong, ds, o.batch, grid);
  if (grid.is_root()) {
    CascadeResult r = evaluate_cascade(in, taus, o.target);
    HeldOutChoice h = choose_tau_held_out(in, taus, o.target, selection_split(in.labels.size(), o.select_fraction, o.select_seed));
    write_outputs(o, r, h, ds.sha256());
    print_table(r, h);
    write_text_atomic(o.out_dir + "/config.ini", effective_config_ini(p.vm));
  }
  grid.world().barrier();
  return 0;
}

W2S_COMMAND("cascade", "weak model first, strong model on the unconfident: accuracy vs compute over a τ sweep",
            cascade_command);

}  // namespace
}  // namespace w2s
