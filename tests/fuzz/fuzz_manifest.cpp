// Label-set manifest.json (LabelSet::open, src/io/label_shards.h): two real shards are written
// once; each input becomes DIR/manifest.json and the set is opened. "@SHA0@" / "@SHA1@" in the
// input are replaced by the shards' real sha256, so mutations of a valid manifest (the seed
// corpus) get past the hash check and reach the attribute, count and id checks.
#include "core/sha256.h"
#include "fuzz_util.h"
#include "io/label_shards.h"

namespace {

struct Fixture {
  std::string dir;
  std::string sha[2];
};

const Fixture& fixture() {
  static const Fixture fx = [] {
    using namespace w2s;
    Fixture f;
    f.dir = fuzz::scratch_path("labels");
    std::filesystem::create_directories(f.dir);
    LabelShardMeta meta;
    meta.supervisor_sha256 = std::string(64, 'a');
    meta.dataset_sha256 = std::string(64, 'b');
    meta.num_shards = 2;
    meta.num_classes = 2;
    meta.batch = 4;
    const std::vector<int64_t> ids[2] = {{0, 1, 2, 3}, {4, 5, 6}};
    for (int k = 0; k < 2; ++k) {
      meta.shard_index = k;
      std::vector<float> probs, logits;
      for (size_t i = 0; i < ids[k].size(); ++i) probs.insert(probs.end(), {0.25f, 0.75f}), logits.insert(logits.end(), {-1.f, 1.f});
      const std::string path = f.dir + "/" + label_shard_name(k, 2);
      write_label_shard(path, meta, ids[k], probs, logits);
      f.sha[k] = sha256_file(path);
    }
    return f;
  }();
  return fx;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace w2s;
  const Fixture& fx = fixture();
  std::string manifest(reinterpret_cast<const char*>(data), size);
  replace_all(manifest, "@SHA0@", fx.sha[0]);
  replace_all(manifest, "@SHA1@", fx.sha[1]);
  fuzz::write_file(fx.dir + "/manifest.json", manifest.data(), manifest.size());
  fuzz::accepts([&] {
    LabelSet set = LabelSet::open(fx.dir);
    // Accepted: exactly the 7 labelled examples, each readable.
    if (set.size() != 7 || set.num_classes() != 2) std::abort();
    for (int64_t id = 0; id < 7; ++id)
      if (set.probs(id)[1] != 0.75f || set.logits(id)[0] != -1.f) std::abort();
  });
  return 0;
}
