// An output folder's lock (core/output_folder.h) for a job of several ranks: rank 0 alone takes
// it, the others wait for its result, and all fail together with rank 0's message.
#pragma once
#include <mpi.h>

#include <functional>
#include <string>

#include "core/output_folder.h"

namespace w2s {

// Rank 0 of `comm` locks `dir` for `command` and, while holding it, runs `check_on_root` (a
// check that must not race with another run, e.g. "is there a finished run here?"). Every rank
// then throws the same Error (same exit code and message) if either failed. Collective.
OutputLock lock_output_folder(const std::string& dir, const std::string& command,
                              const std::function<void()>& check_on_root = {}, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace w2s
