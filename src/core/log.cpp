#include "core/log.h"

#include <cstdio>

namespace w2s {
namespace {
int g_rank = 0;
bool g_quiet = false;
}  // namespace

void set_log_rank(int rank) { g_rank = rank; }
int log_rank() { return g_rank; }
void set_log_quiet(bool quiet) { g_quiet = quiet; }

void log_info(const std::string& line) {
  if (g_rank != 0 || g_quiet) return;
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void log_warn(const std::string& line) {
  if (g_rank != 0) return;
  std::fprintf(stderr, "warning: %s\n", line.c_str());
  std::fflush(stderr);
}

void log_error(const std::string& line) {
  std::fprintf(stderr, "w2s[rank %d]: error: %s\n", g_rank, line.c_str());
  std::fflush(stderr);
}

}  // namespace w2s
