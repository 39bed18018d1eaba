#include "io/predictions.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/h5.h"

namespace w2s {

void write_predictions(const std::string& path, const PredictionFile& p) {
  AtomicOutput out(path);
  {
    h5::File f = h5::File::create(out.temp_path());
    f.stamp("predictions");
    const hsize_t n = p.ids.size(), C = static_cast<hsize_t>(p.C);
    f.write<int64_t>("/ids", {n}, p.ids.data());
    f.write<float>("/probs", {n, C}, p.probs.data());
    f.write<float>("/logits", {n, C}, p.logits.data());
    if (p.task == "regression") f.write<float>("/targets", {n}, p.targets.data());
    else f.write<int32_t>("/labels", {n}, p.labels.data());
    f.set_attr("/", "task", p.task);
    f.set_attr("/", "num_classes", int64_t{p.C});
    f.set_attr("/", "model_sha256", p.model_sha256);
    f.set_attr("/", "dataset_sha256", p.dataset_sha256);
    f.set_attr("/", p.task == "regression" ? "mse" : "accuracy", p.metric);
    f.close();
  }
  out.commit();
}

PredictionFile read_predictions(const std::string& path) {
  h5::File f = h5::File::open_read(path);
  f.require_kind("predictions");
  PredictionFile p;
  p.task = f.attr_string("/", "task");
  p.C = static_cast<int>(f.attr_int("/", "num_classes"));
  p.ids = f.read<int64_t>("/ids");
  p.probs = f.read<float>("/probs");
  p.logits = f.read<float>("/logits");
  if (p.task == "regression") p.targets = f.read<float>("/targets");
  else p.labels = f.read<int32_t>("/labels");
  p.model_sha256 = f.attr_string("/", "model_sha256");
  p.dataset_sha256 = f.attr_string("/", "dataset_sha256");
  const size_t n = p.ids.size();
  if (p.C < 1 || p.probs.size() != n * static_cast<size_t>(p.C) || p.logits.size() != n * static_cast<size_t>(p.C) ||
      (p.task == "regression" ? p.targets.size() : p.labels.size()) != n)
    throw DataError(path, "inconsistent dataset shapes in predictions file");
  p.metric = f.attr_double("/", p.task == "regression" ? "mse" : "accuracy");
  return p;
}

}  // namespace w2s
