// Checkpoint content hashes: written with the tensors, the same whichever writer wrote them,
// verified on every load, and a change to one stored value refused with the file named.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "model/gpt2.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace w2s;

namespace {


// Rewrites the first value of a stored dataset in place, as an outside tool would; returns the
// value it had.
float replace_first_value(const std::string& path, const std::string& dataset, float value) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << dataset;
  hid_t space = H5Dget_space(d);
  std::vector<float> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  const float old = values[0];
  values[0] = value;
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
  return old;
}

void remove_root_attr(const std::string& path, const std::string& key) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Adelete(f, key.c_str()), 0);
  H5Fclose(f);
}

// Runs fn, which must throw a DataError (exit code 2) whose message names `path` and the hash.
template <class Fn>
void expect_refused(const std::string& path, Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Data);
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("content hash"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
    return;
  }
  ADD_FAILURE() << path << " was accepted";
}

// The model every test here writes: 1 layer, 2 heads, width 8, context 16, 2 classes.
ModelConfig tiny_config() { return test::byte_model_config(1, 2, 8, 16, 2); }

// Writes a tiny model whose parameters are drawn with `seed` to path.
void save_tiny(const std::string& path, uint64_t seed) {
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(tiny_config(), grid.tp(), seed);
  save_checkpoint(path, model, nullptr, false, grid, TrainState{}, {});
}

// Loads path into a fresh tiny model (which checks the content hash when there is one).
void load_tiny(const std::string& path) {
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 loaded(tiny_config(), grid.tp(), 6);
  load_checkpoint(path, loaded, nullptr, false, grid, {});
}

}  // namespace

TEST(CheckpointHash, WrittenAndVerified) {
  test::TempDir dir;
  const std::string a = dir.file("a.h5"), b = dir.file("b.h5");
  save_tiny(a, 5);
  const std::string sha = read_checkpoint_info(a).params_sha256;
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_TRUE(read_checkpoint_info(a).optim_sha256.empty());  // no optimizer state written
  EXPECT_NO_THROW(verify_checkpoint_content(a));
  EXPECT_NO_THROW(load_tiny(a));
  // The hash is of the content: the same tensors written by another writer hash the same.
  write_full_checkpoint(b, tiny_config(), read_full_params(a), {});
  EXPECT_EQ(read_checkpoint_info(b).params_sha256, sha);
  // Different weights, a different hash.
  save_tiny(b, 7);
  EXPECT_NE(read_checkpoint_info(b).params_sha256, sha);
}

TEST(CheckpointHash, ChangedWeightsAreRefusedOnEveryRead) {
  test::TempDir dir;
  const std::string path = dir.file("ckpt.h5");
  save_tiny(path, 5);
  const float old = replace_first_value(path, "/params/h.0.mlp.c_fc.weight", 0.5f);
  expect_refused(path, [&] { verify_checkpoint_content(path); });
  expect_refused(path, [&] { load_tiny(path); });
  expect_refused(path, [&] { read_full_params(path); });
  // Restoring the value makes it whole again: the check is of the content, not of the file.
  replace_first_value(path, "/params/h.0.mlp.c_fc.weight", old);
  EXPECT_NO_THROW(verify_checkpoint_content(path));
}

TEST(CheckpointHash, CheckpointWithoutHashLoadsUnchecked) {
  test::TempDir dir;
  const std::string path = dir.file("old.h5");
  save_tiny(path, 5);
  remove_root_attr(path, "params_sha256");
  replace_first_value(path, "/params/h.0.mlp.c_fc.weight", 0.5f);
  EXPECT_TRUE(read_checkpoint_info(path).params_sha256.empty());
  EXPECT_NO_THROW(load_tiny(path));
}
