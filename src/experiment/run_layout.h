// Where every stage of an experiment puts its outputs. `w2s pipeline` writes this
// tree, `w2s analyze` and tools/ read it, jobs/ scripts point Slurm stages into it.
//
//   ROOT/data/<task>/{train.jsonl, test.jsonl}          the task's examples
//   ROOT/data/<task>/split-<s>/{train_a.h5, train_b.h5, test.h5}   tokenized, A/B halves by seed s
//   ROOT/data/<task>/split-<s>/train_b_pool<k>.h5       with a bootstrapping chain: B in disjoint pools
//   ROOT/data/<task>/split-<s>/{valid_a.h5, valid_b.h5}  with data.valid_fraction: held out of A / B
//   ROOT/data/corpus/{corpus.jsonl, lm.h5}
//   ROOT/models/<size>/ckpt.h5                          pretrained family member
//   ROOT/models/pretrain-seed-<p>/<size>/ckpt.h5        the same, per experiment.pretrain_seeds
//   ROOT/<task>/seed-<s>/gt-<size>/                     <size> fine-tuned on half A, ground truth:
//                                                       the weak supervisor when <size> is weak,
//                                                       the ceiling when it is strong
//   ROOT/<task>/seed-<s>/labels-<size>/                 <size>'s labels on half B (shards)
//   ROOT/<task>/seed-<s>/labels-<m1>-pool1/             the chain's first model's labels on B's pool 1
//   ROOT/<task>/seed-<s>/w2s-<weak>-to-<strong>-<loss>/  student <strong> on B with <weak>'s labels
//   ROOT/<task>/seed-<s>/boot-<m1>-<m2>-...-<mn>-<loss>/ bootstrapping chain m1 → … → mn; step-<k>/
//                                                       holds each link (step k trains on pool k;
//                                                       step-<k>/labels its labels on pool k+1),
//                                                       predictions.h5 the last
//   <labels folder>-valid/                              with validation: the same supervisor's labels
//                                                       on valid_b (a student's validation targets)
//   each model folder: config.ini, metrics.jsonl, ckpt.h5, predictions.h5 (on test), valid.jsonl
//   ROOT/report.json, ROOT/report.md                    from w2s analyze
// Size, task and loss names are [A-Za-z0-9_]+ (no '-'), so folder names parse unambiguously.
// What each file holds: docs/formats.md.
#pragma once
#include <string>
#include <vector>

namespace w2s::layout {

inline std::string task_data(const std::string& root, const std::string& task) { return root + "/data/" + task; }
inline std::string task_split(const std::string& root, const std::string& task, int seed) {
  return task_data(root, task) + "/split-" + std::to_string(seed);
}
inline std::string corpus_dir(const std::string& root) { return root + "/data/corpus"; }
inline std::string pretrained(const std::string& root, const std::string& size) {
  return root + "/models/" + size;
}
// The family pretrained with seed p (experiment.pretrain_seeds); p < 0: the one family.
inline std::string pretrained(const std::string& root, const std::string& size, int pretrain_seed) {
  return pretrain_seed < 0 ? pretrained(root, size)
                           : root + "/models/pretrain-seed-" + std::to_string(pretrain_seed) + "/" + size;
}
inline std::string seed_dir(const std::string& root, const std::string& task, int seed) {
  return root + "/" + task + "/seed-" + std::to_string(seed);
}
inline std::string gt_run(const std::string& seed_dir, const std::string& size) { return seed_dir + "/gt-" + size; }
inline std::string labels(const std::string& seed_dir, const std::string& size) {
  return seed_dir + "/labels-" + size;
}
inline std::string b_pool(const std::string& split_dir, size_t pool) {
  return split_dir + "/train_b_pool" + std::to_string(pool) + ".h5";
}
inline std::string pool_labels(const std::string& seed_dir, const std::string& size, size_t pool) {
  return labels(seed_dir, size) + "-pool" + std::to_string(pool);
}
inline std::string student(const std::string& seed_dir, const std::string& weak, const std::string& strong,
                           const std::string& loss) {
  return seed_dir + "/w2s-" + weak + "-to-" + strong + "-" + loss;
}
inline std::string chain(const std::string& seed_dir, const std::vector<std::string>& sizes, const std::string& loss) {
  std::string s = seed_dir + "/boot";
  for (const auto& m : sizes) s += "-" + m;
  return s + "-" + loss;
}
inline std::string predictions(const std::string& run) { return run + "/predictions.h5"; }
inline std::string checkpoint(const std::string& run) { return run + "/ckpt.h5"; }

}  // namespace w2s::layout
