// w2s: weak-to-strong generalization experiments at HPC scale. Dispatches `w2s <command>`.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.h"
#include "comm/mpi_env.h"
#include "core/error.h"
#include "core/log.h"

namespace {

void print_usage() {
  auto commands = w2s::command_registry();
  std::sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::printf("w2s %s: weak-to-strong generalization experiments (Burns et al. 2023) at HPC scale\n\n", W2S_VERSION);
  std::printf("usage: w2s <command> [options]     (w2s <command> --help for its options)\n\ncommands:\n");
  for (const auto& c : commands) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  std::printf("\nExit codes: 0 ok, 1 usage/config error, 2 input data error, 3 runtime failure.\n");
  std::printf("Distributed commands run under mpirun -n N or srun --mpi=pmix.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage();
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "--version") {
    std::printf("w2s %s\n", W2S_VERSION);
    return 0;
  }
  const w2s::CommandInfo* it = w2s::find_command(args[0]);
  if (!it) {
    std::fprintf(stderr, "w2s: unknown command '%s' (w2s --help lists them)\n", args[0].c_str());
    return 1;
  }
  w2s::MpiEnv mpi(&argc, &argv);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    int rc = it->run(rest);
    return rc;
  } catch (const w2s::Error& e) {
    return mpi.fail(static_cast<int>(e.code()), e.what());
  } catch (const std::exception& e) {
    return mpi.fail(static_cast<int>(w2s::ExitCode::Runtime), e.what());
  }
}
