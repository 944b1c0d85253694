// Ingestion speed and memory, beside peers measured in the same run:
//   BM_CopyColumns        copying the input columns once (the floor: touching the data)
//   BM_SortIndexStd       std::stable_sort of a row index by (deal, time) (what a naive ingest pays)
//   BM_IngestSorted       salesperf::Ingest on input already in (deal, time) order
//   BM_IngestShuffled     salesperf::Ingest on the same rows in random order
// Arguments: rows, threads (1, or 0 = every core). Counters: rows/s
// (items_per_second), and peak_mem_x = the most bytes Ingest held allocated at once,
// over the bytes of the input columns (the EventLog it returns included).
// Wall time is what counts for threaded runs: run with --benchmark_filter and read
// the Time column (UseRealTime is set).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "salesperf/event_log.h"

// ---- allocation accounting (this binary only) ----
namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n + 16);
  if (!p) throw std::bad_alloc();
  *static_cast<std::size_t*>(p) = n;
  const int64_t live = g_live.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
  int64_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {}
  return static_cast<char*>(p) + 16;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  void* base = static_cast<char*>(p) - 16;
  g_live.fetch_sub(static_cast<int64_t>(*static_cast<std::size_t*>(base)));
  std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

struct Columns {
  std::vector<int64_t> deal, time, action, rep;
  std::vector<double> amount;
  std::vector<std::string> action_labels = {"opportunity_created", "call", "email", "reply",
                                            "state_need", "request_proposal", "sign"};
  std::vector<std::string> rep_labels;
  int64_t bytes() const {
    return static_cast<int64_t>(deal.size() * (4 * sizeof(int64_t) + sizeof(double)));
  }
  salesperf::EventColumns View() const {
    salesperf::EventColumns in;
    in.deal = salesperf::IdColumn::Integers(deal);
    in.time = time;
    in.action = salesperf::IdColumn::Coded(action, action_labels);
    in.rep = salesperf::IdColumn::Coded(rep, rep_labels);
    in.amount = amount;
    return in;
  }
};

// ~20 events per deal, in (deal, time) order; deal ids are large sparse integers.
Columns MakeColumns(int64_t n, bool shuffled) {
  Columns c;
  std::mt19937_64 rng(42);
  for (int r = 0; r < 50; ++r) c.rep_labels.push_back("rep-" + std::to_string(r));
  c.deal.reserve(static_cast<size_t>(n));
  int64_t deal = 1'000'000'007, t = 1'700'000'000'000'000'000;
  int64_t rep = 0;
  double amount = 1000;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 20 == 0) {
      deal += 1 + static_cast<int64_t>(rng() % 7);
      t = 1'700'000'000'000'000'000 + static_cast<int64_t>(rng() % 1'000'000'000'000'000);
      rep = static_cast<int64_t>(rng() % 50);
      amount = 1000.0 + static_cast<double>(rng() % 100'000);
    }
    t += 1 + static_cast<int64_t>(rng() % 3'600'000'000'000);
    c.deal.push_back(deal);
    c.time.push_back(t);
    c.action.push_back(static_cast<int64_t>(rng() % 7));
    c.rep.push_back(rep);
    c.amount.push_back(amount);
  }
  if (shuffled) {
    std::vector<size_t> p(static_cast<size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng);
    Columns s;
    s.rep_labels = c.rep_labels;
    for (size_t i : p) {
      s.deal.push_back(c.deal[i]);
      s.time.push_back(c.time[i]);
      s.action.push_back(c.action[i]);
      s.rep.push_back(c.rep[i]);
      s.amount.push_back(c.amount[i]);
    }
    return s;
  }
  return c;
}

salesperf::Vocabulary Vocab() {
  salesperf::Vocabulary v;
  for (auto a : {"call", "email"}) (void)v.Add(a, salesperf::Actor::kSeller);
  for (auto a : {"reply", "state_need", "request_proposal", "sign"}) (void)v.Add(a, salesperf::Actor::kBuyer);
  (void)v.Add("opportunity_created", salesperf::Actor::kSystem);
  return v;
}

const Columns& Input(int64_t n, bool shuffled) {
  static Columns sorted_cache, shuffled_cache;
  Columns& c = shuffled ? shuffled_cache : sorted_cache;
  if (static_cast<int64_t>(c.deal.size()) != n) c = MakeColumns(n, shuffled);
  return c;
}

void RunIngest(benchmark::State& state, bool shuffled) {
  const Columns& c = Input(state.range(0), shuffled);
  const salesperf::Vocabulary vocab = Vocab();
  const salesperf::EventColumns view = c.View();
  salesperf::IngestOptions options;
  options.threads = static_cast<int>(state.range(1));
  int64_t peak_over = 0;
  for (auto _ : state) {
    const int64_t before = g_live.load();
    g_peak.store(before);
    auto out = salesperf::Ingest(view, vocab, options);
    peak_over = std::max(peak_over, g_peak.load() - before);
    if (!out.ok() || out->report.rows_accepted != state.range(0)) {
      state.SkipWithError("ingest did not accept every row");
      break;
    }
    benchmark::DoNotOptimize(out->log.time().data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["peak_mem_x"] = static_cast<double>(peak_over) / static_cast<double>(c.bytes());
}

void BM_IngestSorted(benchmark::State& state) { RunIngest(state, false); }
void BM_IngestShuffled(benchmark::State& state) { RunIngest(state, true); }

void BM_CopyColumns(benchmark::State& state) {
  const Columns& c = Input(state.range(0), false);
  for (auto _ : state) {
    std::vector<int64_t> deal(c.deal), time(c.time), action(c.action), rep(c.rep);
    std::vector<double> amount(c.amount);
    benchmark::DoNotOptimize(deal.data());
    benchmark::DoNotOptimize(amount.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_SortIndexStd(benchmark::State& state) {
  const Columns& c = Input(state.range(0), true);
  for (auto _ : state) {
    std::vector<int64_t> idx(c.deal.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      const auto x = static_cast<size_t>(a), y = static_cast<size_t>(b);
      return c.deal[x] != c.deal[y] ? c.deal[x] < c.deal[y] : c.time[x] < c.time[y];
    });
    benchmark::DoNotOptimize(idx.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

constexpr int64_t kSmall = 1'000'000, kLarge = 10'000'000;
BENCHMARK(BM_CopyColumns)->Arg(kSmall)->Arg(kLarge)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IngestSorted)
    ->ArgsProduct({{kSmall, kLarge}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SortIndexStd)->Arg(kSmall)->Arg(kLarge)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IngestShuffled)
    ->ArgsProduct({{kSmall, kLarge}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
