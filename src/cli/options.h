// Shared command-line handling: every subcommand gets --help and --config FILE (Boost.PO ini
// syntax; the command line overrides the file; an unknown key is an error naming the file and
// the key), and can write its effective configuration beside its outputs.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

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

// Helpers for required options with a clear error.
std::string require_string(const po::variables_map& vm, const std::string& key);

}  // namespace w2s
