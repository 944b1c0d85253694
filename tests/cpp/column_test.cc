// The column cache (salesperf/column.h): large blocks freed by one column are reused by
// the next of the same size class, the limit holds, small blocks are never cached, and
// what is computed on reused memory equals what is computed on fresh memory.
#include "salesperf/column.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "salesperf/event_log.h"
#include "salesperf/timelines.h"
#include "test_logs.h"

namespace salesperf {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Each case starts with an empty cache, whether ctest runs it alone or not.
class ColumnCache : public ::testing::Test {
 protected:
  void SetUp() override { ReleaseColumnCache(); }
};

TEST_F(ColumnCache, ReusesTheBlockOfAFreedColumnOfTheSameSizeClass) {
  SetColumnCacheLimit(64 * kMiB);
  const ColumnCacheStats before = GetColumnCacheStats();
  const int64_t* first = nullptr;
  {
    Column<int64_t> a(kMiB / 8 * 3);  // 3 MiB
    first = a.data();
  }
  ColumnCacheStats s = GetColumnCacheStats();
  EXPECT_EQ(s.misses, before.misses + 1);
  EXPECT_EQ(s.cached_blocks, before.cached_blocks + 1);
  EXPECT_EQ(s.cached_bytes, before.cached_bytes + 3 * kMiB);  // 3 MiB is its own class
  // 3 MiB - 100 bytes rounds to the same class (steps of 256 KiB between 2 and 4 MiB).
  Column<int64_t> b(kMiB / 8 * 3 - 100 / 8);
  EXPECT_EQ(b.data(), first);
  s = GetColumnCacheStats();
  EXPECT_EQ(s.hits, before.hits + 1);
  EXPECT_EQ(s.cached_bytes, before.cached_bytes);
  // 3 MiB + 256 KiB + 8 is the next class: a miss.
  Column<char> c(3 * kMiB + 256 * 1024 + 8);
  EXPECT_EQ(GetColumnCacheStats().misses, before.misses + 2);
}

TEST_F(ColumnCache, SmallBlocksAreNeverCached) {
  SetColumnCacheLimit(64 * kMiB);
  const ColumnCacheStats before = GetColumnCacheStats();
  for (int i = 0; i < 10; ++i) {
    Column<char> small(kColumnCacheMinBytes - 1);
    small[0] = 1;
  }
  const ColumnCacheStats s = GetColumnCacheStats();
  EXPECT_EQ(s.hits, before.hits);
  EXPECT_EQ(s.misses, before.misses);
  EXPECT_EQ(s.cached_bytes, before.cached_bytes);
}

TEST_F(ColumnCache, HoldsNoMoreThanItsLimitAndReleasesOnDemand) {
  SetColumnCacheLimit(5 * kMiB);
  {
    std::vector<Column<char>> blocks;
    for (int i = 0; i < 4; ++i) blocks.emplace_back(2 * kMiB);
  }  // four 2 MiB blocks freed: two fit under 5 MiB
  ColumnCacheStats s = GetColumnCacheStats();
  EXPECT_EQ(s.cached_bytes, 4 * kMiB);
  EXPECT_EQ(s.cached_blocks, 2u);
  EXPECT_EQ(s.limit_bytes, 5 * kMiB);
  SetColumnCacheLimit(3 * kMiB);  // lowering the limit trims at once
  s = GetColumnCacheStats();
  EXPECT_EQ(s.cached_bytes, 2 * kMiB);
  ReleaseColumnCache();
  s = GetColumnCacheStats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.cached_blocks, 0u);
  EXPECT_EQ(s.limit_bytes, 3 * kMiB);
  SetColumnCacheLimit(0);  // off: nothing is kept
  { Column<char> big(4 * kMiB); }
  EXPECT_EQ(GetColumnCacheStats().cached_bytes, 0u);
}

TEST_F(ColumnCache, CountsEveryLargeAllocationFromManyThreads) {
  SetColumnCacheLimit(256 * kMiB);
  const ColumnCacheStats before = GetColumnCacheStats();
  constexpr int kThreads = 4, kRounds = 50;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([t] {
      for (int r = 0; r < kRounds; ++r) {
        Column<int32_t> col(static_cast<size_t>(kMiB / 4 * (1 + (r + t) % 3)));
        for (size_t i = 0; i < col.size(); i += 4096) col[i] = static_cast<int32_t>(i);
        ASSERT_EQ(col[4096], 4096);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const ColumnCacheStats s = GetColumnCacheStats();
  EXPECT_EQ((s.hits - before.hits) + (s.misses - before.misses), uint64_t{kThreads * kRounds});
  // At most one block per thread and class is ever needed at once: 3 classes x 4 threads.
  EXPECT_LE(s.misses - before.misses, uint64_t{3 * kThreads});
  EXPECT_LE(s.cached_bytes, 256 * kMiB);
}

// Stage timelines computed on recycled memory equal those computed on fresh memory
// (every output is written, none is read before it is written).
TEST_F(ColumnCache, ResultsOnReusedMemoryEqualResultsOnFreshMemory) {
  SetColumnCacheLimit(0);
  const EventLog fresh_log = test_logs::SynthLog(300'000, 11);
  const Timelines fresh = test_logs::RunModel(test_logs::SynthModel(), fresh_log);
  ASSERT_GT(fresh_log.size(), 100'000);
  SetColumnCacheLimit(1024 * kMiB);
  // Put six garbage-filled blocks of every size class from 1 to 4 MiB in the cache
  // (about 215 MiB; a column of the log is 1.2 or 2.4 MB).
  for (int k = 20; k < 22; ++k) {
    for (size_t j = 8; j < 16; ++j) {  // the 8 classes between 2^k and 2^(k+1) bytes
      std::vector<Column<uint8_t>> junk;
      for (int copy = 0; copy < 6; ++copy) {
        junk.emplace_back(j << (k - 3));
        std::fill(junk.back().begin(), junk.back().end(), uint8_t{0xA5});
      }
    }
  }
  ASSERT_EQ(GetColumnCacheStats().cached_blocks, 96u);
  const uint64_t hits_before = GetColumnCacheStats().hits;
  const EventLog reused_log = test_logs::SynthLog(300'000, 11);
  const Timelines reused = test_logs::RunModel(test_logs::SynthModel(), reused_log);
  EXPECT_GT(GetColumnCacheStats().hits, hits_before + 5);
  EXPECT_TRUE(fresh_log == reused_log);
  EXPECT_TRUE(fresh == reused);
}

}  // namespace
}  // namespace salesperf
