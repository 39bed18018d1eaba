// The `w2s` subcommand registry. Each subcommand lives in its own src/cli/cmd_*.cpp and
// registers itself with W2S_COMMAND; main() dispatches on the first argument.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace w2s {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct CommandInfo {
  std::string name;
  std::string summary;
  CommandFn run;
  bool needs_mpi;  // distributed commands; the rest still run under mpirun (rank 0 works)
};

std::vector<CommandInfo>& command_registry();
// The registered subcommand of that name, or nullptr.
const CommandInfo* find_command(const std::string& name);

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn fn, bool needs_mpi) {
    command_registry().push_back({name, summary, std::move(fn), needs_mpi});
  }
};

#define W2S_CONCAT_INNER(a, b) a##b
#define W2S_CONCAT(a, b) W2S_CONCAT_INNER(a, b)
#define W2S_COMMAND(name, summary, fn) \
  static ::w2s::CommandRegistrar W2S_CONCAT(w2s_command_, __LINE__)(name, summary, fn, true)

}  // namespace w2s
