// MPI start-up and shutdown for the w2s process, and the one place a failure ends the job:
// a rank that fails prints its reason (naming itself) and aborts the whole job, so a bad rank
// never leaves the others hanging in a collective.
#pragma once
#include <string>

namespace w2s {

class MpiEnv {
 public:
  MpiEnv(int* argc, char*** argv);
  ~MpiEnv();
  MpiEnv(const MpiEnv&) = delete;
  MpiEnv& operator=(const MpiEnv&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Reports the error and, when other ranks exist, aborts them all with exit_code.
  int fail(int exit_code, const std::string& message);

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Node-local rank (for choosing a GPU), from Open MPI / Slurm environment or a shared-memory split.
int node_local_rank();

}  // namespace w2s
