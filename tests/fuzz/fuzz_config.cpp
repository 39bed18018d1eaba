// Configuration parsers: the first byte picks one, the rest is the file (or argument list).
//   0: model config ini (load_model_config)          1: experiment ini (load_experiment)
//   2: a command's --config ini (parse_command)      3: a command line ('\n'-separated args)
// Options of every type the commands use are registered, so values are really converted.
#include <sstream>

#include "cli/options.h"
#include "fuzz_util.h"
#include "model/config.h"
#include "experiment/experiment_config.h"

namespace {

void fuzz_command(const std::vector<std::string>& args) {
  using namespace w2s;
  po::options_description options("fuzzed command");
  options.add_options()("data", po::value<std::string>(), "a path")("steps", po::value<int64_t>()->default_value(10), "")(
      "lr", po::value<double>(), "")("batch-size", po::value<int>(), "")("resume", po::bool_switch(), "")(
      "set", po::value<std::vector<std::string>>()->composing(), "")("seed", po::value<uint64_t>(), "");
  ParsedCommand parsed = parse_command("fuzz", "[options]", options, args);
  if (!parsed.help) (void)effective_config_ini(parsed.vm);  // what every command writes back
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace w2s;
  fuzz::Bytes in(data, size);
  const uint8_t mode = in.byte() % 4;
  const std::string path = fuzz::scratch_path(mode == 1 ? "experiment.ini" : "config.ini");
  fuzz::write_file(path, in.rest().data(), in.left());
  fuzz::accepts([&] {
    switch (mode) {
      case 0: (void)load_model_config(path).describe(); break;
      case 1: (void)load_experiment(path); break;
      case 2: fuzz_command({"--config", path}); break;
      default: {
        std::vector<std::string> args;
        std::istringstream lines{std::string(in.rest())};
        for (std::string a; std::getline(lines, a);)
          if (a != "--help" && a != "-h") args.push_back(a);  // help only prints
        fuzz_command(args);
      }
    }
  });
  return 0;
}
