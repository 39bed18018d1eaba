#include "experiment/experiment_config.h"

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <sstream>
#include <cctype>
#include <set>

#include "core/error.h"
#include "core/number_range.h"
#include "core/strings.h"
#include "data/tasks/tasks.h"

namespace w2s {
namespace po = boost::program_options;

namespace {

// Items of a list value: separated by commas and/or spaces.
std::vector<std::string> list_of(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : v + ",") {
    if (ch == ',' || ch == ' ' || ch == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return out;
}

bool valid_name(const std::string& s) { return std::regex_match(s, std::regex("[A-Za-z0-9_]+")); }

// Every numeric key goes through the shared range check (core/number_range.h); an int key also
// has to fit an int.
template <class T>
T parse_number(const std::string& file, const std::string& key, const std::string& v, const NumberRange& range) {
  const std::string what = file + ": '" + key + "'";
  if constexpr (std::is_integral_v<T>) {
    const int64_t x = parse_checked_integer(what, v, range);
    if (x > static_cast<int64_t>(std::numeric_limits<T>::max()))
      throw UsageError(what + " must be <= " + std::to_string(std::numeric_limits<T>::max()) + ", got " + v);
    return static_cast<T>(x);
  } else {
    return static_cast<T>(parse_checked_number(what, v, range));
  }
}

const NumberRange kPositive = NumberRange::positive();
const NumberRange kNonNegative = NumberRange::non_negative();
const NumberRange kAtLeastOne = NumberRange::at_least(1);
const NumberRange kFraction = NumberRange::closed(0, 1);

bool parse_bool(const std::string& file, const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw UsageError(file + ": '" + key + "' expects true or false, got '" + v + "'");
}

using Setter = std::function<void(ExperimentConfig&, const std::string& value)>;

// Fixed keys: "section.key" → how to store the value.
std::map<std::string, Setter> fixed_keys(const std::string& file) {
  auto str = [](std::string ExperimentConfig::*m) { return [m](ExperimentConfig& c, const std::string& v) { c.*m = v; }; };
  auto i64 = [file](const std::string& k, int64_t ExperimentConfig::*m, NumberRange r) {
    return [=](ExperimentConfig& c, const std::string& v) { c.*m = parse_number<int64_t>(file, k, v, r); };
  };
  auto i32 = [file](const std::string& k, int ExperimentConfig::*m, NumberRange r) {
    return [=](ExperimentConfig& c, const std::string& v) { c.*m = parse_number<int>(file, k, v, r); };
  };
  auto dbl = [file](const std::string& k, double ExperimentConfig::*m, NumberRange r) {
    return [=](ExperimentConfig& c, const std::string& v) { c.*m = parse_number<double>(file, k, v, r); };
  };
  auto boolean = [file](const std::string& k, bool ExperimentConfig::*m) {
    return [=](ExperimentConfig& c, const std::string& v) { c.*m = parse_bool(file, k, v); };
  };
  // A list of seeds replaces the default one.
  auto seeds = [file](const std::string& k, std::vector<int> ExperimentConfig::*m) {
    return [=](ExperimentConfig& c, const std::string& v) {
      (c.*m).clear();
      for (auto& s : list_of(v)) (c.*m).push_back(parse_number<int>(file, k, s, kNonNegative));
    };
  };
  std::map<std::string, Setter> keys = {
      {"experiment.out",
       [file](ExperimentConfig& c, const std::string& v) {
         // An empty root would put every run at the top of the filesystem ("/pretrained/...").
         if (trim(v).empty()) throw UsageError(file + ": experiment.out is empty: give the root folder of the runs");
         c.out = v;
       }},
      {"experiment.tokenizer", str(&ExperimentConfig::tokenizer)},
      {"experiment.tokenizer_files", str(&ExperimentConfig::tokenizer_files)},
      {"experiment.tp", i32("experiment.tp", &ExperimentConfig::tp, kAtLeastOne)},
      {"experiment.device",
       [file](ExperimentConfig& c, const std::string& v) {
         if (v != "cpu" && v != "cuda") throw UsageError(file + ": experiment.device must be cpu or cuda, got '" + v + "'");
         c.device = v;
       }},
      {"experiment.tasks",
       [](ExperimentConfig& c, const std::string& v) {
         std::map<std::string, TaskSpec> known;
         for (auto& t : c.tasks) known[t.name] = t;
         c.tasks.clear();
         for (auto& n : list_of(v)) c.tasks.push_back(known.count(n) ? known[n] : TaskSpec{n, "", ""});
       }},
      {"experiment.seeds", seeds("experiment.seeds", &ExperimentConfig::seeds)},
      {"experiment.pretrain_seeds", seeds("experiment.pretrain_seeds", &ExperimentConfig::pretrain_seeds)},
      {"experiment.losses", [](ExperimentConfig& c, const std::string& v) { c.losses = list_of(v); }},
      {"experiment.sizes", [](ExperimentConfig& c, const std::string& v) { c.sizes = list_of(v); }},
      {"experiment.bootstrap", [](ExperimentConfig& c, const std::string& v) { c.bootstrap = list_of(v); }},
      {"experiment.pairs",
       [file](ExperimentConfig& c, const std::string& v) {
         c.pairs.clear();
         if (v == "all") return;  // filled in after sizes are known
         for (auto& p : list_of(v)) {
           auto parts = split(p, ':');
           if (parts.size() != 2) throw UsageError(file + ": experiment.pairs: '" + p + "' is not weak:strong");
           c.pairs.emplace_back(parts[0], parts[1]);
         }
       }},
      {"data.max_len", i32("data.max_len", &ExperimentConfig::max_len, kAtLeastOne)},
      {"data.max_train", i32("data.max_train", &ExperimentConfig::max_train, kNonNegative)},
      {"data.max_test", i32("data.max_test", &ExperimentConfig::max_test, kNonNegative)},
      {"data.test_size", i32("data.test_size", &ExperimentConfig::test_size, NumberRange::at_least(2))},
      {"data.test_seed", i32("data.test_seed", &ExperimentConfig::test_seed, kNonNegative)},
      {"data.overlong", str(&ExperimentConfig::overlong)},
      {"data.valid_fraction", dbl("data.valid_fraction", &ExperimentConfig::valid_fraction, NumberRange::half_open(0, 1))},
      {"finetune.eval_every", i64("finetune.eval_every", &ExperimentConfig::eval_every, kNonNegative)},
      {"finetune.early_stop", i64("finetune.early_stop", &ExperimentConfig::early_stop, kNonNegative)},
      {"pretrain.corpus", str(&ExperimentConfig::corpus)},
      {"pretrain.sotu_headers", str(&ExperimentConfig::sotu_headers)},
      {"pretrain.sotu_passages", boolean("pretrain.sotu_passages", &ExperimentConfig::sotu_passages)},
      {"pretrain.sotu_facts", i64("pretrain.sotu_facts", &ExperimentConfig::sotu_facts, kNonNegative)},
      {"pretrain.steps", i64("pretrain.steps", &ExperimentConfig::pretrain_steps, kAtLeastOne)},
      {"pretrain.batch_size", i64("pretrain.batch_size", &ExperimentConfig::pretrain_batch, kAtLeastOne)},
      {"pretrain.seq_len", i32("pretrain.seq_len", &ExperimentConfig::pretrain_seq, kAtLeastOne)},
      {"pretrain.lr", dbl("pretrain.lr", &ExperimentConfig::pretrain_lr, kPositive)},
      {"pretrain.warmup_steps", i32("pretrain.warmup_steps", &ExperimentConfig::pretrain_warmup, kNonNegative)},
      {"pretrain.weight_decay", dbl("pretrain.weight_decay", &ExperimentConfig::pretrain_weight_decay, kNonNegative)},
      {"pretrain.save_every", i64("pretrain.save_every", &ExperimentConfig::pretrain_save_every, kNonNegative)},
      {"finetune.save_every", i64("finetune.save_every", &ExperimentConfig::finetune_save_every, kNonNegative)},
      {"finetune.epochs", dbl("finetune.epochs", &ExperimentConfig::finetune_epochs, NumberRange::open_closed(0, 1e6))},
      {"finetune.batch_size", i64("finetune.batch_size", &ExperimentConfig::finetune_batch, kAtLeastOne)},
      {"finetune.micro_batch", i64("finetune.micro_batch", &ExperimentConfig::finetune_micro, kNonNegative)},
      {"finetune.lr", dbl("finetune.lr", &ExperimentConfig::finetune_lr, kPositive)},
      {"finetune.optimizer", str(&ExperimentConfig::finetune_optimizer)},
      {"finetune.weight_decay", dbl("finetune.weight_decay", &ExperimentConfig::finetune_weight_decay, kNonNegative)},
      {"finetune.warmup_steps", i32("finetune.warmup_steps", &ExperimentConfig::finetune_warmup, kNonNegative)},
      {"finetune.freeze_backbone", boolean("finetune.freeze_backbone", &ExperimentConfig::freeze_backbone)},
      {"finetune.aux_alpha_max", dbl("finetune.aux_alpha_max", &ExperimentConfig::aux_alpha_max, kFraction)},
      {"finetune.aux_warmup_frac", dbl("finetune.aux_warmup_frac", &ExperimentConfig::aux_warmup_frac, kFraction)},
      {"finetune.kd_temperature", dbl("finetune.kd_temperature", &ExperimentConfig::kd_temperature, kPositive)},
      {"label.batch", i32("label.batch", &ExperimentConfig::label_batch, kAtLeastOne)},
      {"analyze.resamples", i32("analyze.resamples", &ExperimentConfig::resamples, kAtLeastOne)},
      {"analyze.primary_pair", str(&ExperimentConfig::primary_pair)},
      {"analyze.primary_loss", str(&ExperimentConfig::primary_loss)},
  };
  return keys;
}

// model.<size>.<key> and task.<name>.<key>.
bool apply_dynamic(ExperimentConfig& c, const std::string& file, const std::string& key, const std::string& v) {
  auto parts = split(key, '.');
  if (parts.size() != 3) return false;
  if (parts[0] == "model") {
    SizeSpec& s = c.size_specs[parts[1]];
    s.name = parts[1];
    if (parts[2] == "config") s.model_ini = v;
    else if (parts[2] == "init") s.init = v;
    else if (parts[2] == "pretrain_steps") s.pretrain_steps = parse_number<int64_t>(file, key, v, kAtLeastOne);
    else if (parts[2] == "pretrain_lr") s.pretrain_lr = parse_number<double>(file, key, v, kPositive);
    else if (parts[2] == "finetune_lr") s.finetune_lr = parse_number<double>(file, key, v, kPositive);
    else return false;
    return true;
  }
  if (parts[0] == "task") {
    TaskSpec* t = nullptr;
    for (auto& x : c.tasks)
      if (x.name == parts[1]) t = &x;
    if (!t) {
      c.tasks.push_back({parts[1], "", ""});
      t = &c.tasks.back();
    }
    if (parts[2] == "train") t->train_jsonl = v;
    else if (parts[2] == "test") t->test_jsonl = v;
    else if (parts[2] == "max_len") t->max_len = parse_number<int>(file, key, v, kAtLeastOne);
    else if (parts[2] == "max_train") t->max_train = parse_number<int>(file, key, v, kNonNegative);
    else if (parts[2] == "test_size") t->test_size = parse_number<int>(file, key, v, NumberRange::at_least(2));
    else if (parts[2] == "year_prefix") t->year_prefix = parse_bool(file, key, v);
    else if (parts[2] == "year_suffix") t->year_suffix = parse_bool(file, key, v);
    else if (parts[2] == "split") t->split = v;
    else if (parts[2] == "group_divisor") t->group_divisor = parse_number<int64_t>(file, key, v, kNonNegative);
    else if (parts[2] == "finetune_lr") t->finetune_lr = parse_number<double>(file, key, v, kPositive);
    else return false;
    return true;
  }
  return false;
}

void validate(ExperimentConfig& c) {
  const std::string& f = c.path;
  if (c.tasks.empty()) throw UsageError(f + ": experiment.tasks is empty");
  if (c.sizes.size() < 2) throw UsageError(f + ": experiment.sizes needs at least a weak and a strong size");
  if (c.seeds.empty()) throw UsageError(f + ": experiment.seeds is empty");
  if (c.losses.empty()) throw UsageError(f + ": experiment.losses is empty");
  for (const auto& n : c.sizes) {
    if (!valid_name(n)) throw UsageError(f + ": size name '" + n + "' must match [A-Za-z0-9_]+");
    auto it = c.size_specs.find(n);
    if (it == c.size_specs.end() || (it->second.model_ini.empty() && it->second.init.empty()))
      throw UsageError(f + ": size '" + n + "' needs model." + n + ".config (a shape) or model." + n + ".init");
  }
  for (const auto& [name, spec] : c.size_specs)
    if (std::find(c.sizes.begin(), c.sizes.end(), name) == c.sizes.end())
      throw UsageError(f + ": model." + name + " is configured but not listed in experiment.sizes");
  std::set<std::string> tasks_seen;
  for (auto& t : c.tasks) {
    if (!valid_name(t.name.empty() ? "x" : std::regex_replace(t.name, std::regex("-"), "_")))
      throw UsageError(f + ": task name '" + t.name + "' is not valid");
    if (!tasks_seen.insert(t.name).second) throw UsageError(f + ": task '" + t.name + "' listed twice");
    bool embedded_name = t.name == "spam" || t.name == "sotu-party";
    if (t.embedded() && !embedded_name)
      throw UsageError(f + ": task '" + t.name + "' is not embedded (spam, sotu-party): give task." + t.name +
                       ".train and task." + t.name + ".test");
    if (!t.embedded() && t.test_jsonl.empty()) throw UsageError(f + ": task." + t.name + ".test missing");
    if (t.year_prefix && !(t.embedded() && t.name == "sotu-party"))
      throw UsageError(f + ": task." + t.name + ".year_prefix is for the embedded sotu-party task only");
    if (t.year_suffix && !(t.embedded() && t.name == "sotu-party"))
      throw UsageError(f + ": task." + t.name + ".year_suffix is for the embedded sotu-party task only");
    if (t.year_prefix && t.year_suffix)
      throw UsageError(f + ": task." + t.name + ": year_prefix and year_suffix exclude each other");
    if (t.split != "speech" && t.split != "passage")
      throw UsageError(f + ": task." + t.name + ".split must be speech or passage, got '" + t.split + "'");
    if (t.split != "speech" && !(t.embedded() && t.name == "sotu-party"))
      throw UsageError(f + ": task." + t.name + ".split is for the embedded sotu-party task only");
  }
  for (const auto& l : c.losses)
    if (l != "xent" && l != "auxconf" && l != "product")
      throw UsageError(f + ": loss '" + l + "' is not one of xent, auxconf, product");
  if (c.pairs.empty())
    for (size_t i = 0; i < c.sizes.size(); ++i)
      for (size_t j = i + 1; j < c.sizes.size(); ++j) c.pairs.emplace_back(c.sizes[i], c.sizes[j]);
  auto known = [&](const std::string& s) { return std::find(c.sizes.begin(), c.sizes.end(), s) != c.sizes.end(); };
  for (auto& [w, s] : c.pairs)
    if (!known(w) || !known(s) || w == s) throw UsageError(f + ": pair " + w + ":" + s + " is not two listed sizes");
  for (auto& m : c.bootstrap)
    if (!known(m)) throw UsageError(f + ": bootstrap size '" + m + "' is not in experiment.sizes");
  if (c.primary_pair.empty() != c.primary_loss.empty())
    throw UsageError(f + ": analyze.primary_pair and analyze.primary_loss are declared together");
  if (!c.primary_pair.empty()) {
    auto is_pair = [&](auto& p) { return p.first + ":" + p.second == c.primary_pair; };
    if (std::none_of(c.pairs.begin(), c.pairs.end(), is_pair))
      throw UsageError(f + ": analyze.primary_pair '" + c.primary_pair + "' is not one of the experiment's pairs");
    if (std::find(c.losses.begin(), c.losses.end(), c.primary_loss) == c.losses.end())
      throw UsageError(f + ": analyze.primary_loss '" + c.primary_loss + "' is not in experiment.losses");
  }
  if (std::set<int>(c.pretrain_seeds.begin(), c.pretrain_seeds.end()).size() != c.pretrain_seeds.size())
    throw UsageError(f + ": experiment.pretrain_seeds lists a seed twice");
  for (const auto& [name, spec] : c.size_specs)
    if (!c.pretrain_seeds.empty() && !spec.init.empty())
      throw UsageError(f + ": experiment.pretrain_seeds pretrains every size, but model." + name +
                       ".init is a fixed checkpoint: give model." + name + ".config instead");
  if (!c.bootstrap.empty() && c.bootstrap.size() < 3)
    throw UsageError(f + ": experiment.bootstrap needs a chain of at least 3 sizes");
  if ((c.eval_every > 0 || c.early_stop > 0) && c.valid_fraction <= 0)
    throw UsageError(f + ": finetune.eval_every and finetune.early_stop need a validation split (data.valid_fraction > 0)");
  if (c.early_stop > 0 && c.eval_every == 0)
    throw UsageError(f + ": finetune.early_stop needs finetune.eval_every (evaluations to compare)");
  if (c.tokenizer != "byte" && c.tokenizer != "gpt2") throw UsageError(f + ": experiment.tokenizer: byte or gpt2");
  if (!c.tokenizer_files.empty() && c.tokenizer != "gpt2")
    throw UsageError(f + ": experiment.tokenizer_files needs experiment.tokenizer = gpt2 (a BPE vocabulary)");
  if (!tasks::valid_sotu_headers(c.sotu_headers))
    throw UsageError(f + ": pretrain.sotu_headers must be none, year or party, got '" + c.sotu_headers + "'");
  if (c.sotu_headers != "none" && c.corpus != "embedded")
    throw UsageError(f + ": pretrain.sotu_headers is for the embedded corpus (pretrain.corpus = embedded)");
  if (c.sotu_passages && c.corpus != "embedded")
    throw UsageError(f + ": pretrain.sotu_passages is for the embedded corpus (pretrain.corpus = embedded)");
  if (c.sotu_facts > 0 && c.corpus != "embedded")
    throw UsageError(f + ": pretrain.sotu_facts is for the embedded corpus (pretrain.corpus = embedded)");
}

// A relative path in the experiment file is tried as given (from the working directory), then
// beside the experiment file, then from the tree the file sits in (configs/experiments/ →
// ../..: the repository, or share/w2s of an installation), then from the installation the
// running binary belongs to (<prefix>/bin/w2s → <prefix>/share/w2s), then the source tree.
// A path that cannot be looked at (a component over NAME_MAX, no permission) counts as absent:
// fs::exists without an error_code throws filesystem_error for those, which is not a w2s::Error.
std::string resolve_path(const std::string& experiment_file, const std::string& p) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (p.empty() || fs::path(p).is_absolute() || fs::exists(p, ec)) return p;
  fs::path dir = fs::path(experiment_file).parent_path();
  fs::path installed = fs::read_symlink("/proc/self/exe", ec).parent_path() / ".." / "share" / "w2s";
  for (const fs::path& base : {dir, dir / ".." / "..", installed, fs::path(W2S_SOURCE_DIR)}) {
    fs::path candidate = base / p;
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return p;
}

}  // namespace

const SizeSpec& ExperimentConfig::size(const std::string& name) const {
  auto it = size_specs.find(name);
  if (it == size_specs.end()) throw UsageError(path + ": no model." + name + " section");
  return it->second;
}

double ExperimentConfig::finetune_lr_of(const TaskSpec& t, const std::string& size_name) const {
  if (t.finetune_lr > 0) return t.finetune_lr;
  const SizeSpec& spec = size(size_name);
  return spec.finetune_lr > 0 ? spec.finetune_lr : finetune_lr;
}

int ExperimentConfig::pretrain_seed_of(int seed) const {
  if (pretrain_seeds.empty()) return -1;
  auto at = std::find(seeds.begin(), seeds.end(), seed);
  W2S_CHECK(at != seeds.end(), path + ": seed " + std::to_string(seed) + " is not in experiment.seeds");
  return pretrain_seeds[static_cast<size_t>(at - seeds.begin()) % pretrain_seeds.size()];
}

int64_t ExperimentConfig::group_divisor_of(const TaskSpec& t) const {
  if (t.group_divisor >= 0) return t.group_divisor;
  return t.embedded() ? tasks::natural_group_divisor(t.name) : 0;
}

ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream file(path);
  if (!file) throw UsageError(path + ": cannot open experiment file");
  std::stringstream in;
  in << file.rdbuf();
  refuse_boost_placeholders(in.str(), path);
  for (const auto& ov : overrides) refuse_boost_placeholders(ov, "--set");
  ExperimentConfig c;
  c.path = path;
  po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const po::error& e) {  // e.g. a line without '=': a usage error naming the file, not a crash
    throw UsageError(path + ": " + e.what());
  }
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& o : parsed.options) entries.emplace_back(o.string_key, o.value.empty() ? "" : o.value[0]);
  for (const auto& ov : overrides) {
    size_t eq = ov.find('=');
    if (eq == std::string::npos) throw UsageError("--set '" + ov + "': expected section.key=value");
    entries.emplace_back(trim(ov.substr(0, eq)), trim(ov.substr(eq + 1)));
  }
  auto keys = fixed_keys(path);
  for (const auto& [key, value] : entries) {
    auto it = keys.find(key);
    if (it != keys.end()) it->second(c, value);
    else if (!apply_dynamic(c, path, key, value)) throw UsageError(path + ": unknown key '" + key + "'");
  }
  for (auto& [name, spec] : c.size_specs) {
    spec.model_ini = resolve_path(path, spec.model_ini);
    spec.init = resolve_path(path, spec.init);
  }
  for (auto& t : c.tasks) {
    t.train_jsonl = resolve_path(path, t.train_jsonl);
    t.test_jsonl = resolve_path(path, t.test_jsonl);
  }
  if (c.corpus != "embedded") c.corpus = resolve_path(path, c.corpus);
  c.tokenizer_files = resolve_path(path, c.tokenizer_files);
  validate(c);
  return c;
}

}  // namespace w2s
