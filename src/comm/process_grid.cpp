#include "comm/process_grid.h"

#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "core/strings.h"

namespace w2s {

ProcessGrid ProcessGrid::create(int tp, MPI_Comm base) {
  int world_size = 1, world_rank = 0;
  MPI_Comm_size(base, &world_size);
  MPI_Comm_rank(base, &world_rank);
  if (tp < 1) throw UsageError("--tp must be at least 1");
  if (world_size % tp != 0)
    throw UsageError(strfmt("--tp %d does not divide the world size %d (launch a multiple of %d ranks)", tp,
                            world_size, tp));
  ProcessGrid g;
  MPI_Comm world_dup, tp_comm, dp_comm;
  MPI_Comm_dup(base, &world_dup);
  // TP groups: contiguous blocks of tp ranks. DP groups: ranks with the same TP position.
  MPI_Comm_split(base, world_rank / tp, world_rank % tp, &tp_comm);
  MPI_Comm_split(base, world_rank % tp, world_rank / tp, &dp_comm);
  g.world_ = std::make_shared<MpiCommunicator>(world_dup, "world");
  g.tp_ = std::make_shared<MpiCommunicator>(tp_comm, "tp");
  g.dp_ = std::make_shared<MpiCommunicator>(dp_comm, "dp");
  return g;
}

ProcessGrid ProcessGrid::single() { return create(1, MPI_COMM_SELF); }

void ProcessGrid::require_identical(const std::string& text, const std::string& what) const {
  int64_t mine = static_cast<int64_t>(stream_id(text) & 0x7fffffffffffffffull);
  std::vector<int64_t> all(static_cast<size_t>(world_size()));
  world_->all_gather(&mine, all.data(), 1, DType::I64);
  for (int r = 0; r < world_size(); ++r) {
    if (all[static_cast<size_t>(r)] != all[0])
      throw UsageError(strfmt("rank %d and rank 0 disagree on the %s (hash %016llx vs %016llx): every rank must run "
                              "the same binary with the same options",
                              r, what.c_str(), static_cast<unsigned long long>(all[static_cast<size_t>(r)]),
                              static_cast<unsigned long long>(all[0])));
  }
}

std::string ProcessGrid::describe() const {
  return strfmt("world %d = tp %d x dp %d", world_size(), tp_size(), dp_size());
}

}  // namespace w2s
