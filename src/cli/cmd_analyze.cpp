// `w2s analyze RUN_DIR`: the experiment's report (report.json, report.md) and its table.
#include <cstdio>

#include "cli/command.h"
#include "cli/options.h"
#include "core/log.h"
#include "experiment/analyze.h"

namespace w2s {
namespace {

int analyze_command(const std::vector<std::string>& args) {
  AnalyzeOptions o;
  std::string out;
  po::options_description d("w2s analyze options");
  d.add_options()("run-dir", po::value(&o.root)->required(), "experiment root written by w2s pipeline")(
      "resamples", po::value(&o.resamples)->default_value(1000), "bootstrap resamples")(
      "level", po::value(&o.level)->default_value(0.95), "confidence level of the intervals")(
      "seed", po::value(&o.seed)->default_value(0), "bootstrap seed")(
      "out", po::value(&out)->default_value(""), "report path (default RUN_DIR/report.json; report.md beside it)");
  po::positional_options_description pos;
  pos.add("run-dir", 1);
  ParsedCommand p = parse_command(
      "analyze", "RUN_DIR [options]\n\n"
                 "For every task, weak -> strong pair and loss, over all seeds: P_weak, P_w2s, P_ceiling,\n"
                 "PGR = (P_w2s - P_weak) / (P_ceiling - P_weak) with a paired bootstrap CI over seeds and\n"
                 "test examples (undefined when P_ceiling <= P_weak), agreement with the supervisor, ECE,\n"
                 "and misfit (mean squared distance of student and supervisor probabilities on test) beside\n"
                 "the student error it predicts (weak error - misfit; Charikar et al. 2024).",
      d, args, &pos);
  if (p.help) return 0;
  AnalyzeResult r = write_experiment_report(o, out);
  std::fputs(r.table.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

W2S_COMMAND("analyze", "PGR with CIs, agreement, ECE and misfit for an experiment tree -> report.json", analyze_command);

}  // namespace
}  // namespace w2s
