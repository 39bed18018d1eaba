// `w2s analyze RUN_DIR`: the experiment's report (report.json, report.md) and its table.
#include <cstdio>

#include "cli/command.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/log.h"
#include "experiment/analyze.h"

namespace w2s {
namespace {

int analyze_command(const std::vector<std::string>& args) {
  AnalyzeOptions o;
  std::string out;
  std::vector<std::string> clusters;
  po::options_description d("w2s analyze options");
  d.add_options()("run-dir", po::value(&o.root)->required(), "experiment root written by w2s pipeline")(
      "resamples", number(&o.resamples, "resamples", NumberRange::at_least(1))->default_value(1000), "bootstrap resamples")(
      "level", number(&o.level, "level", NumberRange{0, 1, true, true})->default_value(0.95), "confidence level of the intervals")(
      "seed", number(&o.seed, "seed", NumberRange::non_negative())->default_value(0), "bootstrap seed")(
      "cluster", po::value(&clusters)->composing(),
      "TASK=D: resample TASK's test examples in clusters, floor(id / D) naming the cluster (D = 1: each example "
      "alone); repeatable. Default: sotu-party by speech (D = 10000, its ids are speech * 10000 + passage), "
      "other tasks unclustered")(
      "out", po::value(&out)->default_value(""), "report path (default RUN_DIR/report.json; report.md beside it)");
  po::positional_options_description pos;
  pos.add("run-dir", 1);
  ParsedCommand p = parse_command(
      "analyze", "RUN_DIR [options]\n\n"
                 "For every task, weak -> strong pair and loss, over all seeds: P_weak, P_w2s, P_ceiling,\n"
                 "PGR = (P_w2s - P_weak) / (P_ceiling - P_weak) (undefined when P_ceiling <= P_weak) with a\n"
                 "percentile bootstrap CI. Every seed is tested on the same test set, so each resample draws\n"
                 "seeds with replacement and ONE set of test examples (whole clusters with --cluster) that\n"
                 "every drawn seed and the weak, student and ceiling models share: test-set noise is counted\n"
                 "once, not once per seed. (Reports before this scheme drew examples within each seed apart,\n"
                 "which made intervals narrower than honest, by up to sqrt(seeds).) The table gives the\n"
                 "number of resamples where PGR was undefined (left out of the interval) and the median PGR\n"
                 "over pairs per task and loss. Also: agreement with the supervisor, ECE, and misfit (mean\n"
                 "squared distance of student and supervisor probabilities on test) beside the student error\n"
                 "it predicts (weak error - misfit; Charikar et al. 2024): a theorem only for squared loss on\n"
                 "a linear probe, marked (h) as a heuristic elsewhere; its rank correlation is per task and loss.",
      d, args, &pos);
  if (p.help) return 0;
  for (const std::string& c : clusters) {
    const size_t eq = c.find('=');
    int64_t d = 0;
    try {
      if (eq != std::string::npos) d = std::stoll(c.substr(eq + 1));
    } catch (const std::exception&) {
      d = 0;
    }
    if (eq == std::string::npos || eq == 0 || d < 1)
      throw UsageError("--cluster '" + c + "': expected TASK=D with D a positive integer");
    o.cluster_divisor[c.substr(0, eq)] = d;
  }
  AnalyzeResult r = write_experiment_report(o, out);
  std::fputs(r.table.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

W2S_COMMAND("analyze", "PGR with CIs, agreement, ECE and misfit for an experiment tree -> report.json", analyze_command);

}  // namespace
}  // namespace w2s
