// Wall-clock timing for progress lines and benchmarks.
#pragma once
#include <chrono>

namespace w2s {

class Timer {
 public:
  Timer() : start_(Clock::now()) {}
  void reset() { start_ = Clock::now(); }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

// Accumulates the time spent inside scoped regions (e.g. communication).
class StopWatch {
 public:
  void start() { t_.reset(); }
  void stop() { total_ += t_.seconds(); }
  double total() const { return total_; }
  void clear() { total_ = 0; }

 private:
  Timer t_;
  double total_ = 0;
};

}  // namespace w2s
