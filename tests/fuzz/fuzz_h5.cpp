// HDF5 attribute and dataset reading of our schemas: token datasets (TokenDataset::open and
// read), checkpoints (read_checkpoint_info) and label shards (verify_label_shard). The input
// drives mutations of a valid file of the chosen kind (attributes deleted, retyped or given
// hostile values; datasets deleted or replaced with other types and shapes), so every input
// is a well-formed HDF5 file and the fuzzer exercises *our* validation, not libhdf5's decoder.
// The mutation happens in memory (core driver on a file image); only the result is written, to
// the tmpfs scratch folder, because the readers under test open a path.
// With W2S_FUZZ_H5_RAW=1 the input is instead the file's bytes (libhdf5's own robustness:
// see docs/reliability.md for why that mode is not part of the gate).
#include <hdf5.h>

#include <cmath>
#include <limits>

#include "data/token_dataset.h"
#include "fuzz_util.h"
#include "io/checkpoint.h"
#include "io/h5.h"
#include "io/label_shards.h"

namespace {
using namespace w2s;

enum Kind { kTokens, kRegression, kCheckpoint, kLabel, kKinds };

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

LabelShardMeta label_meta() {
  LabelShardMeta m;
  m.supervisor_sha256 = std::string(64, 'a');
  m.dataset_sha256 = std::string(64, 'b');
  m.num_shards = 2;
  m.shard_index = 1;
  m.batch = 4;
  return m;
}

std::string make_token_base(bool regression) {
  TokenDatasetInfo info;
  info.task = regression ? "regression" : "classification";
  info.num_classes = regression ? 1 : 3;
  info.max_len = 4;
  info.pad_id = 257;
  info.tokenizer = "byte";
  info.tokenizer_sha256 = std::string(64, 'c');
  info.source_sha256 = std::string(64, 'd');
  info.split = "train_a";
  info.vocab_size = 258;
  info.has_soft_labels = !regression;
  std::vector<TokenizedExample> rows;
  for (int i = 0; i < 3; ++i) {
    TokenizedExample r;
    r.id = 10 + i;
    r.tokens.assign(static_cast<size_t>(1 + i), 65 + i);
    r.label = i % 3;
    r.target = 0.5f * i;
    if (!regression) r.soft = {0.2f, 0.3f, 0.5f};
    rows.push_back(r);
  }
  const std::string path = fuzz::scratch_path(regression ? "base_reg.h5" : "base_cls.h5");
  write_token_dataset(path, info, rows);
  return read_bytes(path);
}

std::string make_checkpoint_base() {
  // read_checkpoint_info reads attributes only: the base holds them without tensors.
  const std::string path = fuzz::scratch_path("base_ckpt.h5");
  {
    h5::File f = h5::File::create(path);
    f.stamp("checkpoint");
    for (auto [k, v] : {std::pair{"n_layer", 1}, {"n_head", 2}, {"d_model", 8}, {"n_ctx", 16}, {"vocab_size", 258},
                        {"num_classes", 2}})
      f.set_attr("/", k, static_cast<int64_t>(v));
    f.set_attr("/", "tokenizer", std::string("byte"));
    f.set_attr("/", "task", std::string("classification"));
    f.create_group("/state");
    for (auto [k, v] : {std::pair{"step", 3}, {"total_steps", 10}, {"seed", 0}, {"skipped_steps", 1}})
      f.set_attr("/state", k, static_cast<int64_t>(v));
  }
  return read_bytes(path);
}

std::string make_label_base() {
  const std::string path = fuzz::scratch_path("base_label.h5");
  write_label_shard(path, label_meta(), {4, 5, 6}, {0.1f, 0.9f, 0.5f, 0.5f, 1.f, 0.f}, {-2.f, 2.f, 0.f, 0.f, 9.f, -9.f});
  return read_bytes(path);
}

const std::string& base(Kind k) {
  static const std::string bases[kKinds] = {make_token_base(false), make_token_base(true), make_checkpoint_base(),
                                            make_label_base()};
  return bases[k];
}

const std::vector<std::string>& attr_names(Kind k) {
  static const std::vector<std::string> common = {"w2s_kind", "w2s_schema", "w2s_version"};
  static const std::vector<std::string> tokens = [] {
    auto v = common;
    for (auto s : {"task", "num_classes", "max_len", "pad_id", "vocab_size", "tokenizer", "tokenizer_sha256",
                   "source_sha256", "split"})
      v.push_back(s);
    return v;
  }();
  static const std::vector<std::string> ckpt = [] {
    auto v = common;
    for (auto s : {"n_layer", "n_head", "d_model", "n_ctx", "vocab_size", "num_classes", "tokenizer", "task", "loss",
                   "/state:step", "/state:total_steps", "/state:seed", "/state:skipped_steps"})
      v.push_back(s);
    return v;
  }();
  static const std::vector<std::string> label = [] {
    auto v = common;
    for (auto s : {"supervisor_sha256", "dataset_sha256", "shard_index", "num_shards", "temperature", "num_classes",
                   "batch", "count"})
      v.push_back(s);
    return v;
  }();
  return k == kCheckpoint ? ckpt : k == kLabel ? label : tokens;
}

const std::vector<std::string>& dataset_names(Kind k) {
  static const std::vector<std::string> tokens = {"/input_ids", "/lengths", "/ids", "/labels", "/targets", "/soft_labels"};
  static const std::vector<std::string> ckpt = {"/state", "/optim/m", "/params"};
  static const std::vector<std::string> label = {"/ids", "/probs", "/logits"};
  return k == kCheckpoint ? ckpt : k == kLabel ? label : tokens;
}

int64_t hostile_int(fuzz::Bytes& in) {
  static const int64_t table[] = {0, 1, -1, 2, 3, 4, 7, 258, 1 << 20, (1 << 24) + 1, INT32_MAX, int64_t{INT32_MAX} + 1,
                                  INT32_MIN, INT64_MAX, INT64_MIN};
  const uint8_t b = in.byte();
  if (b < 200) return table[b % std::size(table)];
  return static_cast<int64_t>(static_cast<uint64_t>(in.u32()) << 32 | in.u32());
}

double hostile_double(fuzz::Bytes& in) {
  static const double table[] = {0.0, 1.0, -1.0, 0.5, 1e-300, 1e300, std::numeric_limits<double>::infinity(),
                                 std::numeric_limits<double>::quiet_NaN(), 2.5};
  return table[in.byte() % std::size(table)];
}

void set_attr(hid_t file, const std::string& spec, fuzz::Bytes& in) {
  const size_t colon = spec.find(':');
  const std::string obj = colon == std::string::npos ? "/" : spec.substr(0, colon);
  const std::string key = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (H5Lexists(file, obj.c_str(), H5P_DEFAULT) <= 0 && obj != "/") return;
  hid_t o = H5Oopen(file, obj.c_str(), H5P_DEFAULT);
  if (o < 0) return;
  if (H5Aexists(o, key.c_str()) > 0) H5Adelete(o, key.c_str());
  const uint8_t op = in.byte() % 5;
  hid_t space = H5Screate(H5S_SCALAR);
  auto write = [&](hid_t type, const void* value) {
    hid_t a = H5Acreate2(o, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Awrite(a, type, value), H5Aclose(a);
  };
  if (op == 1) {
    int64_t v = hostile_int(in);
    write(H5T_NATIVE_INT64, &v);
  } else if (op == 2) {
    double v = hostile_double(in);
    write(H5T_NATIVE_DOUBLE, &v);
  } else if (op == 3) {
    std::string s = in.str(70);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, std::max<size_t>(s.size(), 1));
    s.resize(std::max<size_t>(s.size(), 1), '\0');
    write(type, s.data());
    H5Tclose(type);
  } else if (op == 4) {  // an attribute that is an array, not a scalar
    hsize_t dim = in.byte() % 4;
    hid_t arr = H5Screate_simple(1, &dim, nullptr);
    int64_t v[4] = {1, 2, 3, 4};
    hid_t a = H5Acreate2(o, key.c_str(), H5T_NATIVE_INT64, arr, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Awrite(a, H5T_NATIVE_INT64, v), H5Aclose(a);
    H5Sclose(arr);
  }  // op 0: deleted
  H5Sclose(space);
  H5Oclose(o);
}

void replace_dataset(hid_t file, const std::string& name, fuzz::Bytes& in) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(file, name.c_str(), H5P_DEFAULT);
  const uint8_t op = in.byte();
  if (op % 4 == 0) return;  // deleted
  static const hid_t* types[] = {&H5T_NATIVE_INT32_g, &H5T_NATIVE_INT64_g, &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g,
                                 &H5T_NATIVE_UINT8_g};
  const hid_t type = *types[(op >> 2) % std::size(types)];
  const int rank = 1 + (op >> 5) % 3;
  hsize_t dims[3] = {in.byte() % 6u, in.byte() % 6u, in.byte() % 4u};
  size_t n = 1;
  for (int d = 0; d < rank; ++d) n *= dims[d];
  std::vector<double> values(n);
  for (double& v : values) v = in.byte() < 128 ? static_cast<double>(hostile_int(in) % 300) : hostile_double(in);
  hid_t space = H5Screate_simple(rank, dims, nullptr);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t ds = H5Dcreate2(file, name.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (ds >= 0) {
    if (n) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());  // converted on write
    H5Dclose(ds);
  }
  H5Pclose(lcpl);
  H5Sclose(space);
}

// The mutated file's bytes. The base image is opened in memory (core driver, no backing store),
// mutated there and its image taken back: no file is written or reread on the way.
std::vector<char> mutate(Kind kind, fuzz::Bytes& in) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 64 * 1024, 0);
  H5Pset_file_image(fapl, const_cast<char*>(base(kind).data()), base(kind).size());  // copied by HDF5
  hid_t file = H5Fopen("fuzz_h5_image", H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (file < 0) std::abort();  // the harness's own base image
  for (int m = in.byte() % 6; m > 0 && in.left(); --m) {
    const uint8_t what = in.byte();
    if (what & 1) set_attr(file, attr_names(kind)[(what >> 1) % attr_names(kind).size()], in);
    else replace_dataset(file, dataset_names(kind)[(what >> 1) % dataset_names(kind).size()], in);
  }
  H5Fflush(file, H5F_SCOPE_GLOBAL);
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  if (size <= 0) std::abort();
  std::vector<char> image(static_cast<size_t>(size));
  if (H5Fget_file_image(file, image.data(), image.size()) != size) std::abort();
  if (H5Fclose(file) < 0) std::abort();
  return image;
}

// HDF5 allocates its per-file metadata cache (~1 MiB, zeroed) on every open and, with the default
// free-list limits, returns it to malloc on close: under ASan that is a fresh mmap and a page
// fault per page on every open, most of an execution's time. Unlimited free lists keep the blocks.
void init_hdf5() {
  static const bool done = [] {
    H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
    return true;
  }();
  (void)done;
}

void read_tokens(const std::string& path) {
  TokenDataset ds = TokenDataset::open(path);
  const TokenDatasetInfo& info = ds.info();
  std::vector<int64_t> all;
  for (int64_t i = ds.size() - 1; i >= 0; --i) all.push_back(i);
  ExampleBatch batch;
  ds.read(all, batch);
  if (batch.n != ds.size() || batch.T < 1 || batch.T > info.max_len) std::abort();
  if (batch.tokens.size() != static_cast<size_t>(batch.n) * batch.T) std::abort();
  for (int i = 0; i < batch.n; ++i)
    if (batch.lengths[i] < 1 || batch.lengths[i] > batch.T) std::abort();
  if (info.vocab_size > 0)
    for (int32_t t : batch.tokens)
      if (t < 0 || (t >= info.vocab_size && t != info.pad_id)) std::abort();
  (void)ds.ids(), (void)ds.lengths(), (void)ds.sha256();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool raw = std::getenv("W2S_FUZZ_H5_RAW") != nullptr;
  fuzz::Bytes in(data, size);
  const Kind kind = static_cast<Kind>(in.byte() % kKinds);
  const std::string path = fuzz::scratch_path("input.h5");
  init_hdf5();
  if (raw) {
    fuzz::write_file(path, in.rest().data(), in.left());
  } else {
    const std::vector<char> image = mutate(kind, in);
    fuzz::write_file(path, image.data(), image.size());  // the readers under test take a path
  }
  switch (kind) {
    case kTokens:
    case kRegression: fuzz::accepts([&] { read_tokens(path); }); break;
    case kCheckpoint: fuzz::accepts([&] { (void)read_checkpoint_info(path); }); break;
    case kLabel: (void)verify_label_shard(path, label_meta()); break;  // documented never to throw
    default: break;
  }
  return 0;
}
