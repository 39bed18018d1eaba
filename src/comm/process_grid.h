// The one place process groups are built: world = TP × DP with TP ranks contiguous (so a TP
// group sits inside a node), DP the rest. Megatron-LM's parallel_state, in miniature.
#pragma once
#include <memory>
#include <string>

#include "comm/mpi_communicator.h"

namespace w2s {

class ProcessGrid {
 public:
  // tp must divide the world size; n_head / ffn divisibility is checked by the model.
  static ProcessGrid create(int tp, MPI_Comm base = MPI_COMM_WORLD);
  // A single-rank grid on MPI_COMM_SELF (tools and tests that run without sharding).
  static ProcessGrid single();

  int world_rank() const { return world_->rank(); }
  int world_size() const { return world_->size(); }
  int tp_rank() const { return tp_->rank(); }
  int tp_size() const { return tp_->size(); }
  int dp_rank() const { return dp_->rank(); }
  int dp_size() const { return dp_->size(); }
  bool is_root() const { return world_->rank() == 0; }

  MpiCommunicator& world() const { return *world_; }
  MpiCommunicator& tp() const { return *tp_; }
  MpiCommunicator& dp() const { return *dp_; }

  // Refuses to start when ranks disagree on `text` (the effective config + build id): every
  // rank must run the same binary with the same settings. Names the first disagreeing rank.
  void require_identical(const std::string& text, const std::string& what) const;

  std::string describe() const;  // "world 4 = tp 2 × dp 2"

 private:
  std::shared_ptr<MpiCommunicator> world_, tp_, dp_;
};

}  // namespace w2s
