#include "cli/command.h"

namespace w2s {

std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> registry;
  return registry;
}

const CommandInfo* find_command(const std::string& name) {
  for (const CommandInfo& c : command_registry())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace w2s
