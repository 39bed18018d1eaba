// safetensors reader/writer and the Hugging Face GPT-2 import/export: a bit-identical round
// trip through export-hf and import-hf, F16/BF16 conversion, and every malformed file refused
// with its reason.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "comm/process_grid.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/hf_gpt2.h"
#include "io/safetensors.h"
#include "model/gpt2.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace w2s;

namespace {

// A safetensors file from a header JSON and raw data bytes, exactly as given (no checks).
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>(n >> (8 * i)));
  f << header << data;
}

std::string expect_refused(const std::string& path) {
  try {
    SafetensorsReader r(path);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << path << " was accepted";
  return "";
}

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

// Saves a model of shape cfg (parameters drawn with `seed`, then changed by `edit` if given) as
// DIR/a.h5 and exports it to DIR/hf.
void export_model(const test::TempDir& dir, const ModelConfig& cfg, uint64_t seed,
                  const std::function<void(Gpt2&)>& edit = nullptr) {
  ProcessGrid grid = ProcessGrid::single();
  Gpt2 model(cfg, grid.tp(), seed);
  if (edit) edit(model);
  save_checkpoint(dir.file("a.h5"), model, nullptr, false, grid, TrainState{}, {});
  export_hf_gpt2(dir.file("a.h5"), dir.file("hf"));
}

// A tensor's shape as a Hugging Face file stores it (the checkpoint's rows, not padded ones).
std::vector<int64_t> hf_shape(const ParamSpec& spec) {
  return spec.is_1d ? std::vector<int64_t>{spec.cols} : std::vector<int64_t>{spec.stored_rows, spec.cols};
}

void expect_bit_identical(const std::map<std::string, std::vector<float>>& want,
                          const std::map<std::string, std::vector<float>>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, values] : want) {
    ASSERT_EQ(values.size(), got.at(name).size()) << name;
    EXPECT_EQ(std::memcmp(values.data(), got.at(name).data(), values.size() * 4), 0) << name << " differs";
  }
}

}  // namespace

TEST(Safetensors, RoundTripAndHalfPrecision) {
  test::TempDir dir;
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
  write_safetensors(dir.file("x.safetensors"), {{"a", {2, 3}, a.data()}}, {{"k", "v"}});
  SafetensorsReader r(dir.file("x.safetensors"));
  EXPECT_EQ(r.read_f32("a"), a);
  EXPECT_EQ(r.metadata().at("k"), "v");
  EXPECT_EQ(r.tensors().at("a").shape, (std::vector<int64_t>{2, 3}));
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00.
  std::string h = R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})";
  std::string data("\x00\x3c\x00\xc0\xff\x7b\x01\x00\x80\x3f\x00\xbf", 12);
  write_raw(dir.file("half.safetensors"), h, data);
  SafetensorsReader hr(dir.file("half.safetensors"));
  EXPECT_EQ(hr.read_f32("h"), (std::vector<float>{1.0f, -2.0f, 65504.0f, 5.9604644775390625e-08f}));
  EXPECT_EQ(hr.read_f32("b"), (std::vector<float>{1.0f, -0.5f}));
}

TEST(Safetensors, RefusesMalformedFiles) {
  test::TempDir dir;
  auto file = [&](const std::string& name, const std::string& header, const std::string& data) {
    write_raw(dir.file(name), header, data);
    return dir.file(name);
  };
  std::string d8 = f32_bytes({1, 2});
  EXPECT_NE(expect_refused(file("off.st", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", d8)).find("out of range"), std::string::npos);
  EXPECT_NE(expect_refused(file("dtype.st", R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", d8)).find("unknown dtype"), std::string::npos);
  EXPECT_NE(expect_refused(file("shape.st", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8)).find("bytes for shape"), std::string::npos);
  EXPECT_NE(expect_refused(file("overlap.st", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8)).find("overlap"), std::string::npos);
  EXPECT_NE(expect_refused(file("trunc.st", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8.substr(0, 5))).find("out of range"), std::string::npos);
  EXPECT_NE(expect_refused(file("extra.st", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8)).find("covers 4 of 8"), std::string::npos);
  EXPECT_NE(expect_refused(file("json.st", R"({"a":{"dtype":"F32",)", d8)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(expect_refused(file("field.st", R"({"a":{"dtype":"F32","shape":[2]}})", d8)).find("malformed field"), std::string::npos);
  // Header length beyond the file.
  std::ofstream(dir.file("len.st"), std::ios::binary) << std::string("\xff\xff\xff\x00\x00\x00\x00\x00{}", 10);
  EXPECT_NE(expect_refused(dir.file("len.st")).find("header length"), std::string::npos);
}

TEST(HfGpt2, ExportImportIsBitIdentical) {
  test::TempDir dir;
  // A non-zero classification head, so the round trip is tested on real values.
  export_model(dir, test::byte_model_config(2, 2, 16, 32, 3), 77, [](Gpt2& model) {
    float* score = model.param(model.table().score);
    for (int i = 0; i < 3 * 16; ++i) score[i] = 0.01f * static_cast<float>(i);
  });
  auto config = nlohmann::json::parse(std::ifstream(dir.file("hf/config.json")));
  EXPECT_EQ(config["architectures"][0], "GPT2ForSequenceClassification");
  EXPECT_EQ(config["n_embd"], 16);
  SafetensorsReader st(dir.file("hf/model.safetensors"));
  EXPECT_TRUE(st.has("transformer.h.1.mlp.c_proj.weight"));
  EXPECT_TRUE(st.has("score.weight"));
  import_hf_gpt2(dir.file("hf"), dir.file("b.h5"), "byte");
  expect_bit_identical(read_full_params(dir.file("a.h5")), read_full_params(dir.file("b.h5")));
  EXPECT_EQ(read_checkpoint_info(dir.file("b.h5")).config.num_classes, 3);
}

TEST(HfGpt2, RefusesMissingUnexpectedAndMisshapenTensors) {
  test::TempDir dir;
  const ModelConfig cfg = test::byte_model_config(1, 2, 8, 16, 0);
  export_model(dir, cfg, 1);
  auto params = read_full_params(dir.file("a.h5"));
  auto rewrite = [&](const std::string& drop, const std::string& extra, const std::string& bad_shape) {
    std::vector<SafetensorsTensor> t;
    std::vector<float> junk(64, 0.0f);
    for (const auto& spec : build_param_table(cfg, 1).specs) {
      if (spec.name == drop) continue;
      std::vector<int64_t> shape = hf_shape(spec);
      if (spec.name == bad_shape) shape = {spec.cols, spec.stored_rows};
      t.push_back({"transformer." + spec.name, shape, params.at(spec.name).data()});
    }
    if (!extra.empty()) t.push_back({extra, {4}, junk.data()});
    write_safetensors(dir.file("hf/model.safetensors"), t);
  };
  auto refused = [&](const char* what) {
    try {
      import_hf_gpt2(dir.file("hf"), dir.file("b.h5"), "byte");
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  rewrite("ln_f.bias", "", "");
  EXPECT_NE(refused("missing").find("'ln_f.bias' missing"), std::string::npos);
  rewrite("", "transformer.h.0.mystery", "");
  EXPECT_NE(refused("extra").find("unexpected tensor 'transformer.h.0.mystery'"), std::string::npos);
  rewrite("", "", "h.0.attn.c_attn.weight");
  EXPECT_NE(refused("shape").find("has shape [24,8], expected [8,24]"), std::string::npos);
  EXPECT_FALSE(file_exists(dir.file("b.h5")));
}

namespace {

// A small model exported to DIR/hf, then rewritten as two shards with their index (the first
// half of the tensors in model-00001-of-00002.safetensors, the rest in the second), as large
// Hugging Face models ship.
struct ShardedFolder {
  test::TempDir dir;
  ModelConfig cfg;
  std::map<std::string, std::vector<float>> params;
  std::vector<std::pair<std::string, std::vector<int64_t>>> layout;  // HF name, shape
  ShardedFolder() {
    cfg = test::byte_model_config(2, 2, 8, 16, 0);
    export_model(dir, cfg, 5);
    std::remove(dir.file("hf/model.safetensors").c_str());
    params = read_full_params(dir.file("a.h5"));
    for (const auto& spec : build_param_table(cfg, 1).specs)
      layout.push_back({"transformer." + spec.name, hf_shape(spec)});
  }
  // Writes the shards; `misplace` is listed by the index in the shard it is not in.
  void write(const std::string& misplace = "", const std::string& unlisted = "") {
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    std::vector<SafetensorsTensor> shard[2];
    for (size_t i = 0; i < layout.size(); ++i) {
      const auto& [name, shape] = layout[i];
      int k = i < layout.size() / 2 ? 0 : 1;
      shard[k].push_back({name, shape, params.at(name.substr(12)).data()});
      if (name == unlisted) continue;
      index["weight_map"][name] = name == misplace ? file_name(1 - k) : file_name(k);
    }
    for (int k = 0; k < 2; ++k) write_safetensors(dir.file("hf/" + file_name(k)), shard[k]);
    write_text_atomic(dir.file("hf/model.safetensors.index.json"), index.dump(2));
  }
  static std::string file_name(int k) { return "model-0000" + std::to_string(k + 1) + "-of-00002.safetensors"; }
  std::string import_error() {
    try {
      import_hf_gpt2(dir.file("hf"), dir.file("b.h5"), "byte");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST(HfGpt2, ImportsShardedSafetensorsWithTheirIndex) {
  ShardedFolder f;
  f.write();
  SafetensorsFolder folder(f.dir.file("hf"));
  EXPECT_EQ(folder.shard_count(), 2u);
  EXPECT_EQ(folder.source(), f.dir.file("hf/model.safetensors.index.json"));
  EXPECT_EQ(folder.file_of("transformer.ln_f.bias"), f.dir.file("hf/" + ShardedFolder::file_name(1)));
  import_hf_gpt2(f.dir.file("hf"), f.dir.file("b.h5"), "byte");
  expect_bit_identical(f.params, read_full_params(f.dir.file("b.h5")));
}

TEST(HfGpt2, RefusesAnIndexThatDisagreesWithItsShards) {
  ShardedFolder f;
  const std::string first = f.layout.front().first, last = f.layout.back().first;
  f.write(first);
  std::string e = f.import_error();
  EXPECT_NE(e.find(ShardedFolder::file_name(1) + ": tensor '" + first + "' missing (the index puts it in this shard)"),
            std::string::npos) << e;
  f.write("", last);
  e = f.import_error();
  EXPECT_NE(e.find(ShardedFolder::file_name(1) + ": tensor '" + last + "' is not in"), std::string::npos) << e;
  f.write();
  std::remove(f.dir.file("hf/" + ShardedFolder::file_name(1)).c_str());
  e = f.import_error();
  EXPECT_NE(e.find("model.safetensors.index.json: shard '" + ShardedFolder::file_name(1) + "' not found"),
            std::string::npos) << e;
  write_text_atomic(f.dir.file("hf/model.safetensors.index.json"),
                    nlohmann::json({{"weight_map", {{first, "../elsewhere.safetensors"}}}}).dump());
  e = f.import_error();
  EXPECT_NE(e.find("is not a file name beside the index"), std::string::npos) << e;
  std::remove(f.dir.file("hf/model.safetensors.index.json").c_str());
  e = f.import_error();
  EXPECT_NE(e.find("no model.safetensors and no model.safetensors.index.json"), std::string::npos) << e;
  EXPECT_FALSE(file_exists(f.dir.file("b.h5")));
}
