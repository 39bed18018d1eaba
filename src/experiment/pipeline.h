// `w2s pipeline`: the whole weak-to-strong experiment in one MPI job : prepare data
// → pretrain the family → for every task and seed: each size on half A with ground truth
// (weak supervisors and ceilings), weak labels on half B, students on B for every pair and
// loss, bootstrapping chains → eval everything on test → analyze. Each stage is an ordinary
// `w2s` subcommand (printed as a command line a user can re-run by hand) and is skipped when
// its verified output exists with the same settings and inputs, so an interrupted pipeline
// resumes where it stopped; an interrupted training resumes from its checkpoint.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace w2s {

struct PipelineOptions {
  std::string config;                  // experiment ini
  std::vector<std::string> overrides;  // "section.key=value"
  bool dry_run = false;                // print the stages, run nothing
  // Write the plan as JSON to this path ("-": stdout, and nothing else there), run nothing: the
  // run root and every stage with its id, kind, resource class, command line, the paths it reads
  // and writes, and the ids of the stages it depends on (configs/experiments/README.md).
  std::string plan_json;
  // Runs one stage's command line (subcommand first) in this process and returns its exit
  // code. The command-line layer supplies it (its subcommand registry), so the pipeline plans
  // and orders stages without depending on the CLI.
  std::function<int(const std::vector<std::string>& command)> run_command;
};

int run_pipeline(const PipelineOptions& options);

}  // namespace w2s
