// Checkpoints, HDF5 `w2s_kind` = "checkpoint": full, unsharded tensors under their Hugging Face
// names, optional AdamW moments, training state and model config (schema: docs/formats.md §3).
// Saving gathers shards from TP (and ZeRO-1 slices from DP) onto world
// rank 0, which alone writes, atomically. Loading reads the full tensors on every rank and
// keeps the local shard, so any DP×TP shape loads any checkpoint.
// Content identity: root attributes params_sha256 (of /params) and optim_sha256 (of /optim, when
// written) are computed from the tensors as they are written: the sha256 of "<dataset name>
// <sha256 of its float32 values>" lines in name order. Every load recomputes the digest of what
// it reads and refuses data that no longer match it (DataError naming the file), so weights
// changed after the checkpoint was written never reach a model. A checkpoint without the
// attributes (written before they existed) loads unchecked.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "comm/process_grid.h"
#include "model/config.h"
#include "model/gpt2.h"
#include "optim/adamw.h"

namespace w2s {

struct TrainState {
  int64_t step = 0;         // optimizer steps completed
  int64_t total_steps = 0;
  int64_t seed = 0;
  int64_t skipped_steps = 0;  // non-finite steps skipped so far
};

struct CheckpointInfo {
  ModelConfig config;
  TrainState state;
  bool has_optimizer = false;
  std::map<std::string, std::string> attrs;  // free-form string attributes (task, loss, ...)
  std::string params_sha256, optim_sha256;   // content hashes; empty when not recorded
};

// Collective over the whole grid. opt may be null (no optimizer state written).
void save_checkpoint(const std::string& path, Gpt2& model, const AdamW* opt, bool zero1, const ProcessGrid& grid,
                     const TrainState& state, const std::map<std::string, std::string>& attrs);

// Writes a checkpoint from full host tensors (HF names → values in stored shapes), e.g. an
// imported Hugging Face model. Every tensor of the config's table must be present.
void write_full_checkpoint(const std::string& path, const ModelConfig& config,
                           const std::map<std::string, std::vector<float>>& tensors,
                           const std::map<std::string, std::string>& attrs);

// Every parameter tensor of a checkpoint, full and in stored shape (the inverse of the above).
std::map<std::string, std::vector<float>> read_full_params(const std::string& path);

// Reads config, state and attributes (no tensors). DataError naming the file if invalid.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Reads every tensor and checks the content hashes recorded at write time: DataError naming the
// file when the parameters (or optimizer moments) changed since. Costs one read of the file.
void verify_checkpoint_content(const std::string& path);

struct LoadOptions {
  bool load_optimizer = false;  // restore AdamW moments (resume)
  bool allow_new_head = false;  // a checkpoint without score.weight (pretrained LM) may seed a classifier
};

// Loads the local shards of every tensor into model (and opt when asked). Shape mismatches are
// a DataError naming the tensor and both shapes.
CheckpointInfo load_checkpoint(const std::string& path, Gpt2& model, AdamW* opt, bool zero1, const ProcessGrid& grid,
                               const LoadOptions& options);

}  // namespace w2s
