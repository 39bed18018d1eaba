#include "cli/options.h"

#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {
namespace {

bool is_unsigned_option(const po::value_semantic* s) {
  return dynamic_cast<const po::typed_value<unsigned>*>(s) || dynamic_cast<const po::typed_value<unsigned long>*>(s) ||
         dynamic_cast<const po::typed_value<unsigned long long>*>(s);
}

// Boost converts "-1" for an unsigned option to its maximum value; the text is the only place
// the sign is still visible.
void refuse_negative_unsigned(const po::parsed_options& parsed, const std::string& where) {
  if (!parsed.description) return;
  for (const auto& o : parsed.options) {
    const po::option_description* d = parsed.description->find_nothrow(o.string_key, false);
    if (!d || !is_unsigned_option(d->semantic().get())) continue;
    for (const std::string& v : o.value)
      if (starts_with(trim(v), "-")) throw UsageError(where + "--" + o.string_key + " must be >= 0, got " + trim(v));
  }
}

// Every floating-point option must be finite ("nan" and "inf" parse as numbers).
void refuse_non_finite(const po::variables_map& vm) {
  for (const auto& [key, value] : vm) {
    double x = 0.0;
    if (auto d = boost::any_cast<double>(&value.value())) x = *d;
    else if (auto f = boost::any_cast<float>(&value.value())) x = *f;
    else continue;
    require_number("--" + key, x, NumberRange::any_finite());
  }
}

}  // namespace

ParsedCommand parse_command(const std::string& command, const std::string& usage, po::options_description& options,
                            const std::vector<std::string>& args, const po::positional_options_description* positional) {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help and exit")(
      "config", po::value<std::string>(), "read options from an ini file (command line overrides it)");
  po::options_description all;
  all.add(options).add(common);

  ParsedCommand out;
  for (const std::string& a : args) refuse_boost_placeholders(a, "w2s " + command);
  try {
    po::command_line_parser parser(args);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::parsed_options from_command_line = parser.run();
    refuse_negative_unsigned(from_command_line, "");
    po::store(from_command_line, out.vm);
    if (out.vm.count("help")) {
      std::cout << "usage: w2s " << command << " " << usage << "\n\n" << all << std::endl;
      out.help = true;
      return out;
    }
    if (out.vm.count("config")) {
      std::string path = out.vm["config"].as<std::string>();
      std::ifstream f(path);
      if (!f) throw UsageError(path + ": cannot open config file");
      std::stringstream text;
      text << f.rdbuf();
      refuse_boost_placeholders(text.str(), path);
      try {
        po::parsed_options from_file = po::parse_config_file(text, options, /*allow_unregistered=*/false);
        refuse_negative_unsigned(from_file, path + ": ");
        po::store(from_file, out.vm);
      } catch (const po::error& e) {
        throw UsageError(path + ": " + e.what());
      }
    }
    po::notify(out.vm);        // each option's own range check (in_range) first: the clearer message
    refuse_non_finite(out.vm);  // then any floating-point option without one
  } catch (const po::error& e) {
    throw UsageError("w2s " + command + ": " + e.what() + " (see w2s " + command + " --help)");
  }
  return out;
}

namespace {
std::string any_to_string(const boost::any& v) {
  std::ostringstream ss;
  if (auto p = boost::any_cast<std::string>(&v)) return *p;
  if (auto p = boost::any_cast<int>(&v)) ss << *p;
  else if (auto p = boost::any_cast<int64_t>(&v)) ss << *p;
  else if (auto p = boost::any_cast<long long>(&v)) ss << *p;
  else if (auto p = boost::any_cast<unsigned>(&v)) ss << *p;
  else if (auto p = boost::any_cast<uint64_t>(&v)) ss << *p;
  else if (auto p = boost::any_cast<float>(&v)) { ss.precision(9); ss << *p; }
  else if (auto p = boost::any_cast<double>(&v)) { ss.precision(17); ss << *p; }
  else if (auto p = boost::any_cast<bool>(&v)) ss << (*p ? "true" : "false");
  else if (auto p = boost::any_cast<std::vector<std::string>>(&v)) {
    for (size_t i = 0; i < p->size(); ++i) ss << (i ? "," : "") << (*p)[i];
  } else if (auto p = boost::any_cast<std::vector<int>>(&v)) {
    for (size_t i = 0; i < p->size(); ++i) ss << (i ? "," : "") << (*p)[i];
  } else {
    ss << "?";
  }
  return ss.str();
}
}  // namespace

std::string effective_config_ini(const po::variables_map& vm) {
  std::ostringstream ss;
  for (const auto& [key, value] : vm) {
    if (key == "config" || key == "help" || value.value().empty()) continue;
    // Repeatable options become one line per value, which --config reads back.
    if (auto list = boost::any_cast<std::vector<std::string>>(&value.value())) {
      for (const std::string& item : *list) ss << key << " = " << item << "\n";
      continue;
    }
    ss << key << " = " << any_to_string(value.value()) << "\n";
  }
  return ss.str();
}

std::string require_string(const po::variables_map& vm, const std::string& key) {
  if (!vm.count(key) || vm[key].as<std::string>().empty()) throw UsageError("missing required option --" + key);
  return vm[key].as<std::string>();
}

}  // namespace w2s
