// GradSync's schedule, seen through a recording communicator: which collectives run, in which
// order, on which parts of the flat gradient buffer, for plain DP and ZeRO-1. No MPI: the fake
// stands for a DP group of `size` ranks in which this process is rank `rank`, and each
// collective is recorded when it is started and when it is waited for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "comm/communicator.h"
#include "parallel/grad_sync.h"

namespace w2s {
namespace {

struct Event {
  std::string what;     // "start all_reduce", "wait", "all_gather", ...
  const void* buf;      // the buffer the collective reads (in place: also writes)
  size_t count;
};

class RecordingCommunicator final : public Communicator {
 public:
  RecordingCommunicator(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "dp"; }
  void all_reduce(void* buf, size_t count, DType, ReduceOp) override { log.push_back({"all_reduce", buf, count}); }
  void reduce_scatter(const void* send, void*, size_t count, DType, ReduceOp) override {
    log.push_back({"reduce_scatter", send, count});
  }
  void all_gather(const void* send, void*, size_t count, DType) override { log.push_back({"all_gather", send, count}); }
  void broadcast(void* buf, size_t count, DType, int) override { log.push_back({"broadcast", buf, count}); }
  void barrier() override {}

  class Pending final : public PendingCollective {
   public:
    Pending(RecordingCommunicator& c, const void* buf) : c_(c), buf_(buf) {}
    void wait() override { c_.log.push_back({"wait", buf_, 0}); }

   private:
    RecordingCommunicator& c_;
    const void* buf_;
  };
  std::unique_ptr<PendingCollective> start_all_reduce(void* buf, size_t count, DType, ReduceOp) override {
    log.push_back({"start all_reduce", buf, count});
    return std::make_unique<Pending>(*this, buf);
  }
  std::unique_ptr<PendingCollective> start_reduce_scatter(const void* send, void*, size_t count, DType,
                                                          ReduceOp) override {
    log.push_back({"start reduce_scatter", send, count});
    return std::make_unique<Pending>(*this, send);
  }

  std::vector<Event> log;

 private:
  int rank_, size_;
};

// Three buckets in backward order: parameters [4, 6) first, then [2, 4), then [0, 2).
ParamLayout three_buckets() {
  ParamLayout l;
  l.offset = {0, 4, 8, 12, 16, 20};
  l.buckets = {{4, 6, 16, 8}, {2, 4, 8, 8}, {0, 2, 0, 8}};
  l.total = 24;
  return l;
}

TEST(GradSyncSchedule, BucketsStartAsTheirParametersBecomeReadyAndWaitInOrder) {
  RecordingCommunicator dp(0, 2);
  ParamLayout layout = three_buckets();
  std::vector<float> grads(24, 1.0f);
  GradSync sync(dp, layout, /*zero1=*/false);
  sync.begin(grads.data());
  sync.on_ready(5);  // nothing complete: bucket 0 starts at parameter 4
  EXPECT_TRUE(dp.log.empty());
  sync.on_ready(4);  // parameters 4.. ready: the last bucket of the table goes first
  ASSERT_EQ(dp.log.size(), 1u);
  EXPECT_EQ(dp.log[0].what, "start all_reduce");
  EXPECT_EQ(dp.log[0].buf, grads.data() + 16);
  EXPECT_EQ(dp.log[0].count, 8u);
  sync.on_ready(4);  // already started: not again
  EXPECT_EQ(dp.log.size(), 1u);
  sync.on_ready(2);
  ASSERT_EQ(dp.log.size(), 2u);
  EXPECT_EQ(dp.log[1].buf, grads.data() + 8);
  sync.finish();  // starts the first bucket, then waits for all three in bucket order
  ASSERT_EQ(dp.log.size(), 6u);
  EXPECT_EQ(dp.log[2].what, "start all_reduce");
  EXPECT_EQ(dp.log[2].buf, grads.data());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(dp.log[3 + i].what, "wait");
  EXPECT_EQ(dp.log[3].buf, grads.data() + 16);
  EXPECT_EQ(dp.log[5].buf, grads.data());
  sync.all_gather_params(grads.data());  // without ZeRO-1 every rank already has everything
  EXPECT_EQ(dp.log.size(), 6u);
}

TEST(GradSyncSchedule, Zero1ReduceScattersEachBucketAndGathersTheOwnedSlices) {
  RecordingCommunicator dp(1, 2);  // rank 1 of 2 owns the second half of each bucket
  ParamLayout layout = three_buckets();
  std::vector<float> grads(24, 0.0f);
  GradSync sync(dp, layout, /*zero1=*/true);
  ASSERT_EQ(sync.owned().size(), 3u);
  EXPECT_EQ(sync.owned()[0].begin, 20);
  EXPECT_EQ(sync.owned()[0].end, 24);
  EXPECT_EQ(sync.owned()[2].begin, 4);
  sync.begin(grads.data());
  sync.finish();
  ASSERT_EQ(dp.log.size(), 6u);
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(dp.log[b].what, "start reduce_scatter");
    EXPECT_EQ(dp.log[b].count, 4u);  // each rank receives size / dp elements
  }
  sync.all_gather_params(grads.data());
  ASSERT_EQ(dp.log.size(), 9u);
  EXPECT_EQ(dp.log[6].what, "all_gather");
  EXPECT_EQ(dp.log[6].buf, grads.data() + 20);  // this rank's slice of the first bucket
  EXPECT_EQ(dp.log[6].count, 4u);
}

TEST(GradSyncSchedule, OneRankCommunicatesNothing) {
  RecordingCommunicator dp(0, 1);
  ParamLayout layout = three_buckets();
  std::vector<float> grads(24, 0.0f);
  GradSync sync(dp, layout, /*zero1=*/true);  // ZeRO-1 is off with one DP rank
  EXPECT_FALSE(sync.zero1());
  sync.begin(grads.data());
  sync.finish();
  sync.all_gather_params(grads.data());
  EXPECT_TRUE(dp.log.empty());
}

}  // namespace
}  // namespace w2s
