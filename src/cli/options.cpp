#include "cli/options.h"

#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {

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
    po::store(parser.run(), out.vm);
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
        po::store(po::parse_config_file(text, options, /*allow_unregistered=*/false), out.vm);
      } catch (const po::error& e) {
        throw UsageError(path + ": " + e.what());
      }
    }
    po::notify(out.vm);
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
