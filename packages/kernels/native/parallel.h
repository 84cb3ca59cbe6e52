// A tiny fork-join pool for the elementwise / row kernels (OpenBLAS has its own).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rlhf {

/**
 * Splits [0, n) into one contiguous range per thread and runs them in
 * parallel, the calling thread taking the first. Work below a size threshold
 * runs inline: waking a worker costs microseconds.
 */
class Parallel {
 public:
  static Parallel& get() {
    // Never destroyed: its detached workers block forever and must not be
    // joined (or terminate the process) at exit.
    static Parallel* instance = new Parallel();
    return *instance;
  }

  /** Number of threads used for large kernels (1 = everything inline). */
  void setThreads(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    threads_ = n < 1 ? 1 : n;
    while (static_cast<int>(workers_.size()) < threads_ - 1) {
      const int index = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, index] { loop(index); });
      workers_.back().detach();
    }
  }

  int threads() const { return threads_; }

  /**
   * Runs fn(begin, end, part) over [0, n) split across threads when `work`
   * (an element count) is large enough; inner boundaries are multiples of
   * `align`; `part` numbers the ranges from 0 (< threads()).
   */
  void run(int64_t n, int64_t work, const std::function<void(int64_t, int64_t, int)>& fn, int64_t align = 16) {
    const int t = threads_;
    if (t <= 1 || work < kMinWork || n < 2) {
      fn(0, n, 0);
      return;
    }
    const int parts = static_cast<int>(n < t ? n : t);
    std::vector<int64_t> bounds(parts + 1);
    for (int i = 0; i <= parts; i++) {
      int64_t b = n * i / parts;
      if (i > 0 && i < parts && align > 1) b = (b / align) * align;
      bounds[i] = b;
    }
    // One fork-join at a time: a second caller (another worker_thread using the
    // addon) runs the same parts inline, one after another, instead of waiting
    // or clobbering the job; the same parts keep per-part sums (LayerNorm's
    // dgamma, say) grouped as in a split run, so results do not depend on timing.
    std::unique_lock<std::mutex> owner(runMutex_, std::try_to_lock);
    if (!owner.owns_lock()) {
      for (int i = 0; i < parts; i++) fn(bounds[i], bounds[i + 1], i);
      return;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = &fn;
      bounds_ = &bounds;
      parts_ = parts;
      pending_ = parts - 1;
      generation_++;
    }
    wake_.notify_all();
    fn(bounds[0], bounds[1], 0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  static constexpr int64_t kMinWork = 1 << 15;

  Parallel() = default;

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t, int)>* job;
      int64_t begin = 0, end = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= parts_) continue;  // this round needs fewer threads
        job = job_;
        begin = (*bounds_)[index];
        end = (*bounds_)[index + 1];
      }
      (*job)(begin, end, index);
      std::unique_lock<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex runMutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  const std::vector<int64_t>* bounds_ = nullptr;
  int parts_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  int threads_ = 1;
};

}  // namespace rlhf
