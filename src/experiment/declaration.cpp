#include "experiment/declaration.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"

namespace w2s {
namespace {

std::string declaration_path(const std::string& root) { return root + "/declaration.json"; }
std::string amendments_path(const std::string& root) { return root + "/amendments.jsonl"; }

std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string seeds_text(const std::vector<int>& seeds) {
  std::vector<std::string> parts;
  for (int s : seeds) parts.push_back(std::to_string(s));
  return parts.empty() ? "(none)" : join(parts, " ");
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, std::string("not valid JSON: ") + e.what());
  }
}

// The declaration, then every amendment in order.
std::vector<nlohmann::json> recorded_states(const std::string& root) {
  std::vector<nlohmann::json> states;
  if (!file_exists(declaration_path(root))) return states;
  states.push_back(read_json(declaration_path(root)));
  if (file_exists(amendments_path(root))) {
    std::ifstream in(amendments_path(root));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) states.push_back(nlohmann::json::parse(line));
  }
  return states;
}

std::vector<std::string> differences(const nlohmann::json& before, const ExperimentState& now) {
  std::vector<std::string> changes;
  const auto seeds = before.at("seeds").get<std::vector<int>>();
  if (seeds != now.seeds) changes.push_back("seeds " + seeds_text(seeds) + " -> " + seeds_text(now.seeds));
  if (before.at("config_sha256").get<std::string>() != now.config_sha256)
    changes.push_back("configuration " + before.at("config").get<std::string>() + " (sha256 " +
                      before.at("config_sha256").get<std::string>().substr(0, 12) + ") -> " + now.config +
                      " (sha256 " + now.config_sha256.substr(0, 12) + ")");
  const std::string pair = before.value("primary_pair", ""), loss = before.value("primary_loss", "");
  if (pair != now.primary_pair || loss != now.primary_loss)
    changes.push_back("primary " + (pair.empty() ? "(none)" : pair + " " + loss) + " -> " +
                      (now.primary_pair.empty() ? "(none)" : now.primary_pair + " " + now.primary_loss));
  return changes;
}

}  // namespace

nlohmann::json to_json(const ExperimentState& s) {
  return {{"config", s.config},
          {"config_sha256", s.config_sha256},
          {"seeds", s.seeds},
          {"primary_pair", s.primary_pair},
          {"primary_loss", s.primary_loss}};
}

std::vector<std::string> declare_or_amend(const std::string& root, const ExperimentState& now) {
  std::vector<nlohmann::json> states = recorded_states(root);
  nlohmann::json record = to_json(now);
  record["time"] = utc_now();
  if (states.empty()) {
    write_text_atomic(declaration_path(root), record.dump(2) + "\n");
    return {};
  }
  std::vector<std::string> changes = differences(states.back(), now);
  if (changes.empty()) return changes;
  record["changes"] = changes;
  // Appended, never rewritten: the record of what changed when must survive every later run.
  std::ofstream out(amendments_path(root), std::ios::app);
  out << record.dump() << "\n";
  out.flush();
  if (!out) throw RuntimeError("cannot append to " + amendments_path(root));
  return changes;
}

nlohmann::json declaration_status(const std::string& root, const std::vector<int>& seeds_found) {
  std::vector<nlohmann::json> states = recorded_states(root);
  if (states.empty()) return {{"status", "not declared"}, {"changes", nlohmann::json::array()}};
  std::vector<std::string> changes;
  for (size_t i = 1; i < states.size(); ++i)
    for (const auto& c : states[i].value("changes", std::vector<std::string>{}))
      changes.push_back(states[i].value("time", "") + ": " + c);
  const auto declared = states.front().at("seeds").get<std::vector<int>>();
  std::vector<int> extra;
  for (int s : seeds_found)
    if (std::find(declared.begin(), declared.end(), s) == declared.end()) extra.push_back(s);
  if (!extra.empty()) changes.push_back("the run tree holds undeclared seeds " + seeds_text(extra));
  nlohmann::json out = {{"status", changes.empty() ? "as declared" : "changed after declaration"},
                        {"declared", states.front()},
                        {"changes", changes}};
  return out;
}

std::string declaration_line(const nlohmann::json& status) {
  const std::string s = status.at("status").get<std::string>();
  if (s == "not declared") return "Declaration: none (this run tree was not made by w2s pipeline).";
  const auto& d = status.at("declared");
  std::string primary = d.value("primary_pair", "").empty()
                            ? "no primary pair declared"
                            : "primary " + d.value("primary_pair", "") + " " + d.value("primary_loss", "");
  std::string line = strfmt("Declaration (%s, seeds %s, %s): %s", d.value("time", "").c_str(),
                            seeds_text(d.at("seeds").get<std::vector<int>>()).c_str(), primary.c_str(), s.c_str());
  for (const auto& c : status.at("changes")) line += "\n  CHANGED: " + c.get<std::string>();
  return line;
}

}  // namespace w2s
