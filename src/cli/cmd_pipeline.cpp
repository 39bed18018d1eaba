// `w2s pipeline --config configs/experiments/X.ini`: the whole weak-to-strong experiment.
#include "cli/command.h"
#include "cli/options.h"
#include "core/error.h"
#include "experiment/pipeline.h"

namespace w2s {
namespace {

int pipeline_command(const std::vector<std::string>& raw_args) {
  // `--config FILE` names the experiment here (other commands read option files with --config;
  // an experiment file *is* this command's configuration, with sections of its own).
  std::vector<std::string> args = raw_args;
  for (auto& a : args)
    if (a == "--config") a = "--experiment";
  PipelineOptions o;
  po::options_description d("w2s pipeline options");
  d.add_options()("experiment", po::value(&o.config)->required(),
                  "experiment ini (configs/experiments/*.ini); --config FILE means the same")(
      "set", po::value(&o.overrides)->composing(), "override a key: section.key=value (repeatable)")(
      "dry-run", po::bool_switch(&o.dry_run), "print the stages and their command lines, run nothing")(
      "plan-json", po::value(&o.plan_json)->implicit_value("-"),
      "write the plan as JSON to PATH (default -: stdout) and run nothing: every stage's id, kind, "
      "resource class, command line, inputs, outputs and dependencies (configs/experiments/README.md)");
  po::positional_options_description pos;
  pos.add("experiment", 1);
  ParsedCommand p = parse_command(
      "pipeline", "--config EXPERIMENT.ini [--set section.key=value ...] [--dry-run] [--plan-json [PATH]]\n\n"
                  "Runs prepare -> pretrain -> weak on A -> label B -> students on B (each pair, each loss)\n"
                  "-> ceilings -> eval -> analyze, for every task and seed. A stage whose verified output\n"
                  "exists with the same settings and inputs is skipped, so an interrupted pipeline\n"
                  "resumes. Run it under mpirun/srun to use several ranks (world = tp x dp).\n"
                  "Keys: configs/experiments/README.md.",
      d, args, &pos);
  if (p.help) return 0;
  if (o.plan_json == "-" && o.dry_run)
    throw UsageError("pipeline: --plan-json - and --dry-run both write to stdout; give --plan-json a file");
  o.run_command = [](const std::vector<std::string>& command) {
    const CommandInfo* c = find_command(command.at(0));
    if (!c) throw UsageError("pipeline stage names an unknown command " + command[0]);
    return c->run(std::vector<std::string>(command.begin() + 1, command.end()));
  };
  return run_pipeline(o);
}

W2S_COMMAND("pipeline", "the whole weak-to-strong experiment (data, pretraining, w2s, analysis)", pipeline_command);

}  // namespace
}  // namespace w2s
