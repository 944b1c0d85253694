// A minimal fork-join helper: runs independent tasks on a few threads. Every task
// writes only its own outputs, so results never depend on the thread count.
#ifndef SALESPERF_SRC_PARALLEL_H_
#define SALESPERF_SRC_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace salesperf::internal {

// The thread count to use for `requested` (0 = every core) and `work` items: one
// thread for small inputs, where starting threads costs more than it saves.
inline int ThreadsFor(int requested, size_t work, size_t min_work_per_thread = 1 << 16) {
  int t = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  t = std::max(t, 1);
  const size_t by_work = std::max<size_t>(1, work / min_work_per_thread);
  return static_cast<int>(std::min<size_t>(static_cast<size_t>(t), by_work));
}

// Calls fn(i) for every i in [0, tasks), on up to `threads` threads (the caller's
// thread included). Tasks are handed out in order as threads become free.
template <typename Fn>
void ParallelFor(size_t tasks, int threads, Fn&& fn) {
  if (threads <= 1 || tasks <= 1) {
    for (size_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < tasks; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  const size_t extra = std::min<size_t>(static_cast<size_t>(threads), tasks) - 1;
  pool.reserve(extra);
  for (size_t t = 0; t < extra; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& th : pool) th.join();
}

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_PARALLEL_H_
