// `w2s eval`: a model's predictions on a dataset (usually the test split) → predictions.h5,
// with accuracy (or MSE for regression) printed. Ranks split the examples.
#include "cli/command.h"
#include "cli/options.h"
#include "infer/label_eval.h"

namespace w2s {
namespace {

int eval_command(const std::vector<std::string>& args) {
  EvalOptions o;
  int tp = 1;
  po::options_description d("w2s eval options");
  d.add_options()("model", po::value(&o.model)->required(), "checkpoint with a classification/regression head")(
      "data", po::value(&o.data)->required(), "token dataset (e.g. test.h5)")(
      "out", po::value(&o.out)->required(), "predictions file to write (predictions.h5)")(
      "batch", number(&o.batch, "batch", NumberRange::at_least(1))->default_value(64), "examples per forward pass")(
      "tp", number(&tp, "tp", NumberRange::at_least(1))->default_value(1), "tensor-parallel degree")(
      "device", po::value(&o.device)->default_value("cpu"),
      "cpu (fp32), or cuda: the model on one GPU per rank (bf16 activations, tp 1; needs the CUDA backend)");
  ParsedCommand p = parse_command("eval", "--model CKPT --data test.h5 --out predictions.h5 [options]", d, args);
  if (p.help) return 0;
  ProcessGrid grid = ProcessGrid::create(tp);
  run_eval(o, grid);
  return 0;
}

W2S_COMMAND("eval", "predictions of a model on a dataset (predictions.h5) and its accuracy", eval_command);

}  // namespace
}  // namespace w2s
