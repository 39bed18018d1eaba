// `w2s pipeline`: the whole weak-to-strong experiment in one MPI job (DESIGN §1): prepare data
// → pretrain the family → for every task and seed: each size on half A with ground truth
// (weak supervisors and ceilings), weak labels on half B, students on B for every pair and
// loss, bootstrapping chains → eval everything on test → analyze. Each stage is an ordinary
// `w2s` subcommand (printed as a command line a user can re-run by hand) and is skipped when
// its verified output exists with the same settings and inputs, so an interrupted pipeline
// resumes where it stopped; an interrupted training resumes from its checkpoint.
#pragma once
#include <string>
#include <vector>

namespace w2s {

struct PipelineOptions {
  std::string config;                  // experiment ini
  std::vector<std::string> overrides;  // "section.key=value"
  bool dry_run = false;                // print the stages, run nothing
};

int run_pipeline(const PipelineOptions& options);

}  // namespace w2s
