// `w2s label`: the weak supervisor's distributed inference pass over held-out data, written as
// HDF5 label shards + manifest.json (src/io/label_shards.h). Shards are fixed by --shards
// (default: one per DP rank); DP ranks take shards round-robin, so any world size can resume
// any shard set. Shards that already verify are skipped; the manifest is written last.
#include "cli/command.h"
#include "cli/options.h"
#include "comm/output_lock.h"
#include "core/strings.h"
#include "infer/label_eval.h"

namespace w2s {
namespace {

int label_command(const std::vector<std::string>& args) {
  LabelOptions o;
  int tp = 1;
  po::options_description d("w2s label options");
  d.add_options()("model", po::value(&o.model)->required(), "the weak supervisor's checkpoint")(
      "data", po::value(&o.data)->required(), "dataset to label (the student's split, train_b.h5)")(
      "out-dir", po::value(&o.out_dir)->required(), "label folder: shard-KKKKK-of-NNNNN.h5 + manifest.json")(
      "shards", number(&o.shards, "shards", NumberRange::non_negative())->default_value(0), "number of shards (0: one per data-parallel rank)")(
      "temperature", number(&o.temperature, "temperature", NumberRange::positive())->default_value(1.0), "probs = softmax(logits / T)")(
      "batch", number(&o.batch, "batch", NumberRange::at_least(1))->default_value(64), "examples per forward pass")(
      "tp", number(&tp, "tp", NumberRange::at_least(1))->default_value(1), "tensor-parallel degree")(
      "device", po::value(&o.device)->default_value("cpu"),
      "cpu (fp32), or cuda: the model on one GPU per rank (bf16 activations, tp 1; needs the CUDA backend)");
  ParsedCommand p = parse_command("label", "--model CKPT --data train_b.h5 --out-dir DIR [options]\n\n"
                                  "Re-running skips shards that verify and recomputes the rest.", d, args);
  if (p.help) return 0;
  ProcessGrid grid = ProcessGrid::create(tp);
  // Held until the manifest is written: a second label run on this folder would otherwise take
  // the same shards and remove this one's temporaries.
  OutputLock lock = lock_output_folder(o.out_dir, "w2s label " + join(args, " "));
  run_label(o, grid);
  return 0;
}

W2S_COMMAND("label", "the weak model's labels for a dataset, as verified HDF5 shards + manifest", label_command);

}  // namespace
}  // namespace w2s
