// Shared pieces of the MPI tests: a folder every rank sees, tiny synthetic datasets, and the
// single-rank reference run (rank 0 alone, on MPI_COMM_SELF) that sharded runs are compared to.
#pragma once
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/philox.h"
#include "data/lm_dataset.h"
#include "data/token_dataset.h"
#include "io/h5.h"
#include "train/trainer.h"
#include "tiny_data.h"

namespace w2s::test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
inline int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// A temporary folder created by rank 0 and shared with every rank (same machine).
class SharedDir {
 public:
  SharedDir() {
    char buf[256] = {0};
    if (world_rank() == 0) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "w2s-mpi-XXXXXX").string();
      std::snprintf(buf, sizeof buf, "%s", mkdtemp(tmpl.data()));
    }
    MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = buf;
  }
  ~SharedDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) std::filesystem::remove_all(path_);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline ModelConfig tiny_model() {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.n_ctx = 16;
  c.vocab_size = 258;
  c.tokenizer = "byte";
  return c;
}

inline void write_tiny_lm(const std::string& path, int docs) {
  LmDatasetInfo info;
  info.tokenizer = "byte";
  info.eot_id = 256;
  std::vector<std::vector<int32_t>> documents;
  std::vector<int64_t> ids;
  for (int d = 0; d < docs; ++d) {
    std::vector<int32_t> doc;
    for (int t = 0; t < 40; ++t) doc.push_back(static_cast<int32_t>(97 + (d * 3 + t * t) % 26));
    documents.push_back(doc);
    ids.push_back(d);
  }
  write_lm_dataset(path, info, documents, ids);
}

inline TrainConfig base_config(const std::string& objective, const std::string& data, const std::string& run_dir) {
  TrainConfig c;
  c.objective = objective;
  c.data = data;
  c.run_dir = run_dir;
  c.model = tiny_model();
  c.batch_size = 12;
  c.micro_batch = 6;
  c.steps = 20;
  c.lr.lr = 3e-3;
  c.lr.warmup_steps = 2;
  c.adam.weight_decay = 0.1;
  c.grad_clip = 1.0;
  c.seed = 42;
  c.log_every = 1000;
  return c;
}

// Full tensors of a checkpoint, in table order.
inline std::vector<std::vector<float>> read_params(const std::string& ckpt) {
  h5::File f = h5::File::open_read(ckpt);
  std::vector<std::vector<float>> out;
  for (const std::string& name : f.list("/params")) out.push_back(f.read<float>("/params/" + name));
  return out;
}

// ‖a − b‖₂ / ‖b‖₂ for each tensor; the largest over all tensors (its index in *worst_index).
// A norm-wise measure: Adam divides every element by its own gradient scale, so an element whose
// gradient is at rounding level can take a step that differs between shapes while the tensor as
// a whole agrees to ~1e-6.
inline double max_rel_param_diff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b,
                                 size_t* worst_index = nullptr) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    double num = 0, den = 1e-60;
    for (size_t j = 0; j < a[i].size(); ++j) {
      double d = static_cast<double>(a[i][j]) - b[i][j];
      num += d * d;
      den += static_cast<double>(b[i][j]) * b[i][j];
    }
    double rel = std::sqrt(num / den);
    if (rel > worst && worst_index) *worst_index = i;
    worst = std::max(worst, rel);
  }
  return worst;
}

inline void broadcast(std::vector<double>& v) {
  int n = static_cast<int>(v.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  v.resize(static_cast<size_t>(n));
  MPI_Bcast(v.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

// Runs cfg on rank 0 alone (single-rank reference) and gives every rank its losses.
inline std::vector<double> single_rank_losses(TrainConfig cfg) {
  std::vector<double> losses;
  if (world_rank() == 0) {
    ProcessGrid g = ProcessGrid::single();
    cfg.tp = 1;
    losses = run_training(cfg, g, "single-rank reference").losses;
  }
  broadcast(losses);
  return losses;
}

// The (tp, dp) shapes this world size can form with the tiny model (4 heads).
inline std::vector<int> tp_choices() {
  std::vector<int> out;
  for (int tp : {1, 2, 4})
    if (world_size() % tp == 0) out.push_back(tp);
  return out;
}

}  // namespace w2s::test
