// The experiment's declaration: what a run promised to measure before its first stage ran — the
// configuration (its sha256), the seeds, and the primary pair and loss — so that a report can say
// whether what it shows is what was declared. `w2s pipeline` writes ROOT/declaration.json once,
// and appends a line to ROOT/amendments.jsonl whenever a later run's configuration or seeds
// differ from the last recorded ones; `w2s analyze` marks a report whose experiment changed after
// its declaration (docs/formats.md describes both files).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace w2s {

struct ExperimentState {
  std::string config;         // the experiment file, as given
  std::string config_sha256;  // of its text and the --set overrides
  std::vector<int> seeds;
  std::string primary_pair;   // "weak:strong", empty when not declared
  std::string primary_loss;
};

nlohmann::json to_json(const ExperimentState& s);

// Writes ROOT/declaration.json if there is none; otherwise appends an amendment (with the time
// and what changed) when `now` differs from the last recorded state. Returns the changes made by
// this call ("seeds 0 1 -> 0 1 2", "configuration ..."), empty when nothing changed.
std::vector<std::string> declare_or_amend(const std::string& root, const ExperimentState& now);

// What a report says about the declaration: {"status": "as declared" | "changed after
// declaration" | "not declared", "declared": {...}, "changes": [...]}. seeds_found are the
// seeds the run tree holds; seeds beyond the declared ones count as a change too.
nlohmann::json declaration_status(const std::string& root, const std::vector<int>& seeds_found);

// One line for the printed table.
std::string declaration_line(const nlohmann::json& status);

}  // namespace w2s
