// Shared command-line handling: every subcommand gets --help and --config FILE (Boost.PO ini
// syntax; the command line overrides the file; an unknown key is an error naming the file and
// the key), and can write its effective configuration beside its outputs.
#pragma once
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/number_range.h"

namespace w2s {
namespace po = boost::program_options;

struct ParsedCommand {
  po::variables_map vm;
  bool help = false;  // --help was given and printed: the command should return 0
};

// Parses args (not including the program and subcommand names). Adds --help and --config.
// Throws UsageError with a one-line reason on any problem.
ParsedCommand parse_command(const std::string& command, const std::string& usage, po::options_description& options,
                            const std::vector<std::string>& args,
                            const po::positional_options_description* positional = nullptr);

// The effective configuration as ini text ("key = value" lines, sorted), skipping --config/--help.
std::string effective_config_ini(const po::variables_map& vm);

// Range check for a numeric option, shared with the experiment-file keys (core/number_range.h):
//   ("lr", po::value(&c.lr)->default_value(5e-5)->notifier(in_range<double>("lr", NumberRange::positive())))
// parse_command also refuses, for every option, a non-finite floating-point value and a negative
// value given to an unsigned one (Boost would wrap "-1" to 2^64 - 1).
template <class T>
std::function<void(const T&)> in_range(const std::string& option, const NumberRange& range) {
  return [option, range](const T& v) {
    if constexpr (std::is_floating_point_v<T>) require_number("--" + option, static_cast<double>(v), range);
    else require_integer("--" + option, static_cast<int64_t>(v), range);
  };
}

// po::value(target) with in_range attached: number(&c.lr, "lr", NumberRange::positive()).
template <class T>
po::typed_value<T>* number(T* target, const std::string& option, const NumberRange& range) {
  return po::value<T>(target)->notifier(in_range<T>(option, range));
}

// Helpers for required options with a clear error.
std::string require_string(const po::variables_map& vm, const std::string& key);

}  // namespace w2s
