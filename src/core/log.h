// Rank-aware logging: rank 0 alone prints progress and info; every rank may print an error.
#pragma once
#include <string>

namespace w2s {

// Called once after MPI start-up; before that, everything prints.
void set_log_rank(int rank);
int log_rank();
void set_log_quiet(bool quiet);  // tests and benchmarks silence info lines

void log_info(const std::string& line);   // rank 0 only, stdout
void log_warn(const std::string& line);   // rank 0 only, stderr, "warning: " prefix
void log_error(const std::string& line);  // any rank, stderr, "w2s[rank R]: error: " prefix

}  // namespace w2s
