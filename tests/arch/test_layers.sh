#!/usr/bin/env bash
# The layering is enforced: the whole tree passes tools/check_layers.py, and a scratch copy with
# an upward include fails both the checker (naming the file, the include and the rule) and the
# build of the offending layer (the check runs before the layer compiles).
set -euo pipefail
: "${W2S_SOURCE_DIR:?}" "${W2S_BUILD_DIR:?}" "${W2S_TEST_TMP:?}"
table="$W2S_BUILD_DIR/layers.json"
check="$W2S_SOURCE_DIR/tools/check_layers.py"

echo "== the tree as it is"
python3 "$check" --table "$table" --root "$W2S_SOURCE_DIR"

echo "== a scratch copy with two upward includes"
rm -rf "$W2S_TEST_TMP"; mkdir -p "$W2S_TEST_TMP/tree"
scratch="$W2S_TEST_TMP/tree"
(cd "$W2S_SOURCE_DIR" && cp -r CMakeLists.txt cmake src kernels bench tools "$scratch/")
sed -i '1i #include "train/trainer.h"' "$scratch/src/model/gpt2.cpp"
sed -i '1i #include "cli/command.h"' "$scratch/src/experiment/pipeline.cpp"
if python3 "$check" --table "$table" --root "$scratch" > "$W2S_TEST_TMP/check.out" 2>&1; then
  echo "FAIL: the checker accepted upward includes"; cat "$W2S_TEST_TMP/check.out"; exit 1
fi
cat "$W2S_TEST_TMP/check.out"
grep -q '^src/model/gpt2.cpp:1: includes "train/trainer.h" (layer train), but layer model may include only: ' "$W2S_TEST_TMP/check.out"
grep -q '^src/experiment/pipeline.cpp:1: includes "cli/command.h" (layer cli), but layer experiment' "$W2S_TEST_TMP/check.out"
grep -q '2 include(s) break the layering' "$W2S_TEST_TMP/check.out"
# A downward include in the same copy is fine: only the two above are reported.
[ "$(grep -c ': includes ' "$W2S_TEST_TMP/check.out")" -eq 2 ]

echo "== the build of the scratch copy fails at the model layer's check"
cmake -S "$scratch" -B "$scratch/build" -G Ninja -DW2S_CUDA=OFF -DW2S_BUILD_TESTS=OFF > "$W2S_TEST_TMP/configure.out" 2>&1 ||
  { cat "$W2S_TEST_TMP/configure.out"; exit 1; }
if cmake --build "$scratch/build" --target w2s_model_layer_check > "$W2S_TEST_TMP/build.out" 2>&1; then
  echo "FAIL: the model layer built with an upward include"; cat "$W2S_TEST_TMP/build.out"; exit 1
fi
grep 'includes "train/trainer.h"' "$W2S_TEST_TMP/build.out"
# The layers below it still build their checks.
cmake --build "$scratch/build" --target w2s_parallel_layer_check > /dev/null
echo "PASS"
