#include "io/checkpoint.h"

#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "io/h5.h"

namespace w2s {
namespace {

const char* kKind = "checkpoint";
// Root attributes holding the content hashes (TensorDigest) of /params and of /optim.
const char* kParamsSha = "params_sha256";
const char* kOptimSha = "optim_sha256";

// The content identity of a set of tensors, whatever order they are seen in (a sharded save and
// a full load visit them differently): the sha256 of "<dataset name> <sha256 of its float32
// values>" lines in name order. Each tensor is hashed while it is in memory anyway, once.
class TensorDigest {
 public:
  void add(const std::string& name, const float* data, size_t n) { parts_[name] = sha256_hex(data, n * sizeof(float)); }
  std::string hex() const {
    std::string lines;
    for (const auto& [name, sha] : parts_) lines += name + " " + sha + "\n";
    return sha256_hex(lines);
  }

 private:
  std::map<std::string, std::string> parts_;
};

// Refuses data whose digest differs from the one recorded at write time (none recorded: a
// checkpoint from before hashes were written, accepted as it is).
void require_digest(const std::string& path, const std::string& recorded, const TensorDigest& actual,
                    const char* attr, const char* what) {
  if (recorded.empty() || actual.hex() == recorded) return;
  throw DataError(path, std::string(what) + " do not match the content hash recorded when the checkpoint was written (" +
                            attr + "): changed or corrupted since");
}

h5::Shape stored_shape(const ParamSpec& s) {
  return s.is_1d ? h5::Shape{static_cast<hsize_t>(s.cols)}
                 : h5::Shape{static_cast<hsize_t>(s.stored_rows), static_cast<hsize_t>(s.cols)};
}

// Gathers every TP shard of one tensor (taken from `flat`) into a full tensor on TP rank 0.
std::vector<float> gather_full(const ParamSpec& spec, const float* local, Communicator& tp) {
  const int n_tp = tp.size();
  const int64_t n_local = spec.local_numel(n_tp);
  std::vector<float> shards(static_cast<size_t>(n_local * n_tp));
  tp.all_gather(local, shards.data(), static_cast<size_t>(n_local), DType::F32);
  std::vector<float> full(static_cast<size_t>(spec.numel()));
  if (spec.replicated()) {
    std::copy(shards.begin(), shards.begin() + n_local, full.begin());
  } else {
    for (int r = 0; r < n_tp; ++r) gather_into_full(spec, n_tp, r, shards.data() + r * n_local, full.data());
  }
  full.resize(static_cast<size_t>(spec.stored_rows * spec.cols));  // drop vocabulary padding
  return full;
}

// Collective over the TP group; only the root (file != nullptr) writes.
void write_tensors(h5::File* f, const std::string& group, Gpt2& model, const std::vector<float>& flat,
                   const ProcessGrid& grid, TensorDigest& digest) {
  const ParamTable& table = model.table();
  for (size_t i = 0; i < table.specs.size(); ++i) {
    const ParamSpec& spec = table.specs[i];
    std::vector<float> full = gather_full(spec, flat.data() + model.layout().offset[i], grid.tp());
    if (!f) continue;
    const std::string name = group + "/" + spec.name;
    f->write<float>(name, stored_shape(spec), full.data());
    digest.add(name, full.data(), full.size());
  }
}

void write_config_attrs(h5::File& f, const ModelConfig& c) {
  f.set_attr("/", "n_layer", int64_t{c.n_layer});
  f.set_attr("/", "n_head", int64_t{c.n_head});
  f.set_attr("/", "d_model", int64_t{c.d_model});
  f.set_attr("/", "n_ctx", int64_t{c.n_ctx});
  f.set_attr("/", "vocab_size", int64_t{c.vocab_size});
  f.set_attr("/", "num_classes", int64_t{c.num_classes});
  f.set_attr("/", "tokenizer", c.tokenizer);
}

}  // namespace

void save_checkpoint(const std::string& path, Gpt2& model, const AdamW* opt, bool zero1, const ProcessGrid& grid,
                     const TrainState& state, const std::map<std::string, std::string>& attrs) {
  // Only the TP group holding world rank 0 (DP rank 0) needs to gather parameters; moments
  // under ZeRO-1 first need every DP rank's slice.
  std::vector<float> m_flat, v_flat;
  if (opt) {
    opt->export_moments(m_flat, v_flat, model.layout().total);
    if (zero1 && grid.dp_size() > 1) {
      grid.dp().all_reduce(m_flat.data(), m_flat.size(), ReduceOp::Sum);
      grid.dp().all_reduce(v_flat.data(), v_flat.size(), ReduceOp::Sum);
    }
  }
  if (grid.dp_rank() == 0) {
    std::unique_ptr<AtomicOutput> out;
    std::unique_ptr<h5::File> f;
    if (grid.is_root()) {
      out = std::make_unique<AtomicOutput>(path);
      f = std::make_unique<h5::File>(h5::File::create(out->temp_path()));
    }
    TensorDigest params_digest, optim_digest;
    write_tensors(f.get(), "/params", model, model.params(), grid, params_digest);
    if (opt) {
      write_tensors(f.get(), "/optim/m", model, m_flat, grid, optim_digest);
      write_tensors(f.get(), "/optim/v", model, v_flat, grid, optim_digest);
    }
    if (grid.is_root()) {
      f->stamp(kKind);
      write_config_attrs(*f, model.config());
      f->create_group("/state");
      f->set_attr("/state", "step", state.step);
      f->set_attr("/state", "total_steps", state.total_steps);
      f->set_attr("/state", "seed", state.seed);
      f->set_attr("/state", "skipped_steps", state.skipped_steps);
      for (const auto& [k, v] : attrs) f->set_attr("/", k, v);
      f->set_attr("/", kParamsSha, params_digest.hex());
      if (opt) f->set_attr("/", kOptimSha, optim_digest.hex());
      f->close();
      out->commit();
    }
  }
  grid.world().barrier();
}

void write_full_checkpoint(const std::string& path, const ModelConfig& config,
                           const std::map<std::string, std::vector<float>>& tensors,
                           const std::map<std::string, std::string>& attrs) {
  ParamTable table = build_param_table(config, 1);
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temp_path());
    TensorDigest digest;
    for (const ParamSpec& spec : table.specs) {
      auto it = tensors.find(spec.name);
      if (it == tensors.end()) throw RuntimeError(path + ": tensor '" + spec.name + "' not provided");
      if (static_cast<int64_t>(it->second.size()) != spec.stored_rows * spec.cols)
        throw RuntimeError(path + ": tensor '" + spec.name + "' has the wrong number of values");
      f.write<float>("/params/" + spec.name, stored_shape(spec), it->second.data());
      digest.add("/params/" + spec.name, it->second.data(), it->second.size());
    }
    f.stamp(kKind);
    write_config_attrs(f, config);
    f.create_group("/state");
    f.set_attr("/state", "step", int64_t{0});
    f.set_attr("/state", "total_steps", int64_t{0});
    f.set_attr("/state", "seed", int64_t{0});
    for (const auto& [k, v] : attrs) f.set_attr("/", k, v);
    f.set_attr("/", kParamsSha, digest.hex());
    f.close();
  }
  out.commit();
}

std::map<std::string, std::vector<float>> read_full_params(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  h5::File f = h5::File::open_read(path);
  std::map<std::string, std::vector<float>> out;
  TensorDigest digest;
  for (const ParamSpec& spec : build_param_table(info.config, 1).specs) {
    std::string name = "/params/" + spec.name;
    if (f.shape(name) != stored_shape(spec)) throw DataError(path, "tensor '" + name + "' has an unexpected shape");
    out[spec.name] = f.read<float>(name);
    digest.add(name, out[spec.name].data(), out[spec.name].size());
  }
  require_digest(path, info.params_sha256, digest, kParamsSha, "parameters");
  return out;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  h5::File f = h5::File::open_read(path);
  f.require_kind(kKind);
  CheckpointInfo info;
  ModelConfig& c = info.config;
  c.n_layer = static_cast<int>(f.attr_int("/", "n_layer"));
  c.n_head = static_cast<int>(f.attr_int("/", "n_head"));
  c.d_model = static_cast<int>(f.attr_int("/", "d_model"));
  c.n_ctx = static_cast<int>(f.attr_int("/", "n_ctx"));
  c.vocab_size = static_cast<int>(f.attr_int("/", "vocab_size"));
  c.num_classes = static_cast<int>(f.attr_int("/", "num_classes"));
  c.tokenizer = f.attr_string("/", "tokenizer");
  try {
    c.validate();
  } catch (const Error& e) {
    throw DataError(path, e.what());
  }
  if (f.exists("/state")) {
    info.state.step = f.attr_int("/state", "step");
    info.state.total_steps = f.attr_int("/state", "total_steps");
    info.state.seed = f.attr_int("/state", "seed");
    if (f.has_attr("/state", "skipped_steps")) info.state.skipped_steps = f.attr_int("/state", "skipped_steps");
  }
  info.has_optimizer = f.exists("/optim/m");
  for (const char* key : {"task", "loss", "run_kind", "tokenizer_sha256", "train_data", "labels", "init", "train_settings",
                          "valid_best_accuracy", "valid_best_step", "valid_evals_since_best", "valid_stopped_at"}) {
    if (f.has_attr("/", key)) info.attrs[key] = f.attr_string("/", key);
  }
  if (f.has_attr("/", kParamsSha)) info.params_sha256 = f.attr_string("/", kParamsSha);
  if (f.has_attr("/", kOptimSha)) info.optim_sha256 = f.attr_string("/", kOptimSha);
  return info;
}

void verify_checkpoint_content(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  h5::File f = h5::File::open_read(path);
  // The tensors a checkpoint of this config holds; a pretrained LM's table has no score head.
  const ParamTable table = build_param_table(info.config, 1);
  auto digest_of = [&](const std::vector<std::string>& groups) {
    TensorDigest d;
    for (const std::string& group : groups)
      for (const ParamSpec& spec : table.specs) {
        const std::string name = group + "/" + spec.name;
        if (!f.exists(name)) continue;  // a missing tensor changes the digest
        std::vector<float> values = f.read<float>(name);
        d.add(name, values.data(), values.size());
      }
    return d;
  };
  require_digest(path, info.params_sha256, digest_of({"/params"}), kParamsSha, "parameters");
  if (info.has_optimizer) require_digest(path, info.optim_sha256, digest_of({"/optim/m", "/optim/v"}), kOptimSha,
                   "optimizer moments");
}

namespace {

// Reads one full tensor and scatters this rank's shard into dst. Returns false if absent.
bool load_tensor(const h5::File& f, const std::string& name, const ParamSpec& spec, int tp, int tp_rank, float* dst,
                 TensorDigest& digest) {
  if (!f.exists(name)) return false;
  h5::Shape expected = stored_shape(spec);
  h5::Shape actual = f.shape(name);
  if (actual != expected) {
    auto str = [](const h5::Shape& s) {
      std::string o = "[";
      for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
      return o + "]";
    };
    throw DataError(f.path(), "tensor '" + name + "' has shape " + str(actual) + ", the model expects " + str(expected));
  }
  std::vector<float> full = f.read<float>(name);
  digest.add(name, full.data(), full.size());
  for (float x : full)
    if (!std::isfinite(x)) throw DataError(f.path(), "tensor '" + name + "' holds non-finite values");
  full.resize(static_cast<size_t>(spec.numel()), 0.0f);  // vocabulary padding rows are zero
  scatter_shard(spec, tp, tp_rank, full.data(), dst);
  return true;
}

}  // namespace

CheckpointInfo load_checkpoint(const std::string& path, Gpt2& model, AdamW* opt, bool zero1, const ProcessGrid& grid,
                               const LoadOptions& options) {
  CheckpointInfo info = read_checkpoint_info(path);
  const ModelConfig& mc = model.config();
  const ModelConfig& cc = info.config;
  if (cc.n_layer != mc.n_layer || cc.n_head != mc.n_head || cc.d_model != mc.d_model || cc.n_ctx != mc.n_ctx ||
      cc.vocab_size != mc.vocab_size)
    throw DataError(path, "model shape " + cc.describe() + " does not match the requested " + mc.describe());
  if (cc.tokenizer != mc.tokenizer)
    throw DataError(path, "checkpoint tokenizer '" + cc.tokenizer + "' differs from '" + mc.tokenizer + "'");
  if (cc.num_classes != mc.num_classes && !(options.allow_new_head && cc.num_classes == 0))
    throw DataError(path, "checkpoint has " + std::to_string(cc.num_classes) + " output classes, the task needs " +
                              std::to_string(mc.num_classes));
  h5::File f = h5::File::open_read(path);
  const ParamTable& table = model.table();
  const int tp = model.tp_size(), rank = model.tp_rank();
  TensorDigest params_digest;
  for (size_t i = 0; i < table.specs.size(); ++i) {
    const ParamSpec& spec = table.specs[i];
    bool found = load_tensor(f, "/params/" + spec.name, spec, tp, rank, model.param(static_cast<int>(i)), params_digest);
    bool is_new_head = static_cast<int>(i) == table.score && cc.num_classes == 0;
    if (!found && !is_new_head) throw DataError(path, "tensor '/params/" + spec.name + "' missing");
  }
  require_digest(path, info.params_sha256, params_digest, kParamsSha, "parameters");
  if (options.load_optimizer && opt) {
    if (!info.has_optimizer) throw DataError(path, "has no optimizer state to resume from");
    std::vector<float> m_flat(static_cast<size_t>(model.layout().total), 0.0f), v_flat = m_flat;
    TensorDigest optim_digest;
    for (size_t i = 0; i < table.specs.size(); ++i) {
      const ParamSpec& spec = table.specs[i];
      int64_t off = model.layout().offset[i];
      if (!load_tensor(f, "/optim/m/" + spec.name, spec, tp, rank, m_flat.data() + off, optim_digest) ||
          !load_tensor(f, "/optim/v/" + spec.name, spec, tp, rank, v_flat.data() + off, optim_digest))
        throw DataError(path, "optimizer state for '" + spec.name + "' missing");
    }
    require_digest(path, info.optim_sha256, optim_digest, kOptimSha, "optimizer moments");
    opt->import_moments(m_flat, v_flat);
  }
  (void)zero1;
  (void)grid;
  return info;
}

}  // namespace w2s
