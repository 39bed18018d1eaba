// The flat parameter/gradient buffer as data parallelism sees it: where each tensor's local
// shard starts, and the gradient buckets that are reduced together. The model builds it from its
// parameter table (model/params.h build_param_layout); grad_sync and the optimizer only read it.
#pragma once
#include <cstdint>
#include <vector>

namespace w2s {

// A run of whole tensors [first_param, last_param) in table order, reduced as one message.
struct Bucket {
  int first_param, last_param;  // [first, last) in table order
  int64_t offset, size;         // in the flat buffer; size is a multiple of the alignment
};

struct ParamLayout {
  std::vector<int64_t> offset;  // per parameter, into the flat buffer
  std::vector<Bucket> buckets;  // in backward (completion) order
  int64_t total = 0;            // flat buffer length, padding included
};

}  // namespace w2s
