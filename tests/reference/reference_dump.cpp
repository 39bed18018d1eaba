// Drives the CPU GPT-2 on a tiny model and writes everything the PyTorch reference
// (test_gpt2_torch.py) needs to recompute and compare: the weights (as a w2s checkpoint), a
// fixed batch, LM logits / loss / gradients, classifier logits / loss / gradients, and the
// losses of 3 AdamW steps on the classifier.
//   usage: reference_dump OUT_DIR
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/log.h"
#include "core/philox.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "model/gpt2.h"
#include "optim/adamw.h"

using namespace w2s;

namespace {

constexpr int B = 3, T = 12, K = 3;

ModelConfig tiny_config() {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.n_ctx = 16;
  c.vocab_size = 258;
  c.num_classes = K;
  c.tokenizer = "byte";
  return c;
}

// Mean cross-entropy over B examples with hard labels; writes dlogits of the mean.
double classifier_loss(const std::vector<float>& logits, const std::vector<int32_t>& labels, std::vector<float>& d) {
  d.assign(logits.size(), 0.0f);
  double total = 0.0;
  for (int b = 0; b < B; ++b) {
    const float* z = logits.data() + b * K;
    double m = z[0];
    for (int k = 1; k < K; ++k) m = std::max(m, static_cast<double>(z[k]));
    double s = 0.0;
    for (int k = 0; k < K; ++k) s += std::exp(z[k] - m);
    total += std::log(s) + m - z[labels[static_cast<size_t>(b)]];
    for (int k = 0; k < K; ++k)
      d[static_cast<size_t>(b * K + k)] = static_cast<float>((std::exp(z[k] - m) / s - (k == labels[static_cast<size_t>(b)])) / B);
  }
  return total / B;
}

void write_grads(h5::File& f, const std::string& group, Gpt2& model) {
  for (size_t i = 0; i < model.table().specs.size(); ++i) {
    const ParamSpec& s = model.table().specs[i];
    h5::Shape shape = s.is_1d ? h5::Shape{static_cast<hsize_t>(s.cols)}
                              : h5::Shape{static_cast<hsize_t>(s.stored_rows), static_cast<hsize_t>(s.cols)};
    f.write<float>(group + "/" + s.name, shape, model.grad(static_cast<int>(i)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  set_log_quiet(true);
  if (argc != 2) {
    std::fprintf(stderr, "usage: reference_dump OUT_DIR\n");
    return 1;
  }
  std::string out = argv[1];
  ProcessGrid grid = ProcessGrid::single();
  ModelConfig cfg = tiny_config();
  Gpt2 model(cfg, grid.tp(), /*seed=*/1234);
  // The classifier head starts at zero in training; give it random weights here so its
  // gradient reaches the backbone and every tensor is checked.
  float* score = model.param(model.table().score);
  for (int i = 0; i < K * cfg.d_model; ++i) score[i] = static_cast<float>(0.5 * philox_normal(99, 1, static_cast<uint64_t>(i)));

  std::vector<int32_t> tokens(B * T), targets(B * T), lengths = {12, 7, 4}, labels = {2, 0, 1};
  for (int i = 0; i < B * T; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>(philox4x32(7, 0, static_cast<uint64_t>(i))[0] % 258);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t)
      targets[static_cast<size_t>(b * T + t)] = t + 1 < lengths[static_cast<size_t>(b)] ? tokens[static_cast<size_t>(b * T + t + 1)] : -1;

  save_checkpoint(out + "/ckpt.h5", model, nullptr, false, grid, TrainState{}, {});
  h5::File f = h5::File::create(out + "/dump.h5");
  f.write<int32_t>("/tokens", {B, T}, tokens.data());
  f.write<int32_t>("/targets", {B, T}, targets.data());
  f.write<int32_t>("/lengths", {B}, lengths.data());
  f.write<int32_t>("/labels", {B}, labels.data());

  // LM head: logits, mean loss over valid targets, gradients of the mean.
  std::vector<float> logits;
  model.lm_logits_local(tokens.data(), B, T, logits);
  f.write<float>("/lm/logits", {B * T, static_cast<hsize_t>(cfg.padded_vocab())}, logits.data());
  int valid = 0;
  for (int32_t t : targets) valid += t >= 0;
  model.zero_grads();
  double lm_loss = model.lm_forward_backward(tokens.data(), targets.data(), B, T, 1.0f / valid) / valid;
  f.write<double>("/lm/loss", {1}, &lm_loss);
  write_grads(f, "/lm/grads", model);

  // Classifier head.
  std::vector<float> cls_logits(B * K), dlogits;
  model.zero_grads();
  model.classifier_forward(tokens.data(), lengths.data(), B, T, cls_logits.data());
  double cls_loss = classifier_loss(cls_logits, labels, dlogits);
  model.classifier_backward(dlogits.data());
  f.write<float>("/cls/logits", {B, K}, cls_logits.data());
  f.write<double>("/cls/loss", {1}, &cls_loss);
  write_grads(f, "/cls/grads", model);

  // Three AdamW steps on the classifier loss (lr 1e-2, wd 0.1 on 2-D weights).
  AdamConfig ac;
  ac.kind = "adamw";
  ac.weight_decay = 0.1;
  std::vector<FlatRange> all = {{0, model.layout().total}};
  AdamW opt(ac, model.table(), model.layout(), 1, all, std::vector<bool>(model.table().specs.size(), true));
  std::vector<double> step_losses;
  for (int step = 1; step <= 3; ++step) {
    model.zero_grads();
    model.classifier_forward(tokens.data(), lengths.data(), B, T, cls_logits.data());
    step_losses.push_back(classifier_loss(cls_logits, labels, dlogits));
    model.classifier_backward(dlogits.data());
    opt.step(model.params().data(), model.grads().data(), 1e-2, step);
  }
  model.zero_grads();
  model.classifier_forward(tokens.data(), lengths.data(), B, T, cls_logits.data());
  step_losses.push_back(classifier_loss(cls_logits, labels, dlogits));
  f.write<double>("/adamw/losses", {4}, step_losses.data());
  f.close();
  MPI_Finalize();
  return 0;
}
