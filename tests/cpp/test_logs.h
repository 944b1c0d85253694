// Small event logs for tests, built from rows of strings: one deal, time, action, rep,
// amount and segment per row, with one shared vocabulary. Used by the accumulator tests
// (indicators, funnel, leaks, practice signals), which all need the same kind of
// hand-written logs; with the helpers they share around them: running a stage model on
// one thread, the deals' reps as units, a seeded random source, and the synthetic
// company's log and stage model.
#ifndef SALESPERF_TESTS_CPP_TEST_LOGS_H_
#define SALESPERF_TESTS_CPP_TEST_LOGS_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/stage_model.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"
#include "salesperf/vocabulary.h"

namespace salesperf::test_logs {

inline constexpr int64_t kDay = Days(1);
inline constexpr int64_t kT0 = 20454LL * kDay;  // 2026-01-01T00:00:00Z

struct Ev {
  std::string deal;
  int64_t time;  // ns
  std::string action;
  std::string rep = "";  // "" = null
  double amount = std::numeric_limits<double>::quiet_NaN();  // NaN = missing
  std::string segment = "";
};

// Buyer: reply, need, budget, proposal, sign, decline, spam, rescope, meet; seller:
// call, email; system: created.
inline Vocabulary TestVocabulary() {
  Vocabulary v;
  for (auto a : {"reply", "need", "budget", "proposal", "sign", "decline", "spam", "rescope", "meet"}) {
    (void)v.Add(a, Actor::kBuyer);
  }
  for (auto a : {"call", "email"}) (void)v.Add(a, Actor::kSeller);
  (void)v.Add("created", Actor::kSystem);
  return v;
}

// The code of `v` in `labels`, appending it when new.
inline int64_t CodeOf(std::vector<std::string>& labels, const std::string& v) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == v) return static_cast<int64_t>(i);
  }
  labels.push_back(v);
  return static_cast<int64_t>(labels.size() - 1);
}

// The log of `rows` (NaN amounts are missing amounts). Without `with_amount` the log
// has no amount column; with `with_segment` it has a "segment" dimension.
inline EventLog BuildLog(const std::vector<Ev>& rows, bool with_amount = true, bool with_segment = false,
                         const Vocabulary& vocab = TestVocabulary()) {
  std::vector<std::string> deals, actions, reps, segments;
  std::vector<int64_t> deal, time, action, rep, segment;
  std::vector<double> amount;
  for (const Ev& r : rows) {
    deal.push_back(CodeOf(deals, r.deal));
    time.push_back(r.time);
    action.push_back(CodeOf(actions, r.action));
    rep.push_back(r.rep.empty() ? -1 : CodeOf(reps, r.rep));
    segment.push_back(r.segment.empty() ? -1 : CodeOf(segments, r.segment));
    amount.push_back(r.amount);
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  if (with_amount) in.amount = amount;
  if (with_segment) in.dimensions.emplace_back("segment", IdColumn::Coded(segment, segments));
  IngestOptions options;
  options.nan_amount = NanAmount::kNull;
  auto out = Ingest(in, vocab, options);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? std::move(out->log) : EventLog();
}

// Which optional columns BuildLogWith gives the log.
struct LogColumns {
  bool rep = true;       // false: no rep column at all (not merely null reps)
  bool amount = true;
  bool segment = false;
  // One account per row ("" = null); empty: no account column.
  std::vector<std::string> account;
};

// The log of `rows` with the columns chosen in `columns` (BuildLog's, plus an account
// column and the choice to leave the rep column out).
inline EventLog BuildLogWith(const std::vector<Ev>& rows, const LogColumns& columns,
                             const Vocabulary& vocab = TestVocabulary()) {
  EXPECT_TRUE(columns.account.empty() || columns.account.size() == rows.size());
  std::vector<std::string> deals, actions, reps, segments, accounts;
  std::vector<int64_t> deal, time, action, rep, segment, account;
  std::vector<double> amount;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Ev& r = rows[i];
    deal.push_back(CodeOf(deals, r.deal));
    time.push_back(r.time);
    action.push_back(CodeOf(actions, r.action));
    rep.push_back(r.rep.empty() ? -1 : CodeOf(reps, r.rep));
    segment.push_back(r.segment.empty() ? -1 : CodeOf(segments, r.segment));
    amount.push_back(r.amount);
    if (!columns.account.empty()) {
      account.push_back(columns.account[i].empty() ? -1 : CodeOf(accounts, columns.account[i]));
    }
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  if (columns.rep) in.rep = IdColumn::Coded(rep, reps);
  if (!columns.account.empty()) in.account = IdColumn::Coded(account, accounts);
  if (columns.amount) in.amount = amount;
  if (columns.segment) in.dimensions.emplace_back("segment", IdColumn::Coded(segment, segments));
  IngestOptions options;
  options.nan_amount = NanAmount::kNull;
  auto out = Ingest(in, vocab, options);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? std::move(out->log) : EventLog();
}

// ---- Running a stage model ------------------------------------------------------------

// The timelines of `model` on `log`, on one thread (options.threads is overridden); on
// an error, a test failure and empty timelines.
inline Timelines RunModel(const StageModel& model, const EventLog& log, RunOptions options = {}) {
  options.threads = 1;
  auto machine = Compile(model, log);
  EXPECT_TRUE(machine.ok()) << machine.status();
  if (!machine.ok()) return Timelines();
  auto t = RunStages(*machine, log, options);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : Timelines();
}

// The log's deals by their most active rep; on an error, a test failure and no units.
inline Units MustRep(const EventLog& log) {
  auto u = UnitsByRep(log);
  EXPECT_TRUE(u.ok()) << u.status();
  return u.ok() ? *std::move(u) : Units();
}

// ---- Random logs ------------------------------------------------------------------------

// Random numbers by a fixed seed and plain modular mapping (no std:: distributions), so
// the random cases are the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_(); }
  int64_t Below(int64_t n) { return static_cast<int64_t>(g_() % static_cast<uint64_t>(n)); }
  bool Percent(int p) { return Below(100) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Below(static_cast<int64_t>(v.size())))]; }

 private:
  std::mt19937_64 g_;
};

// ---- Random small logs and stage rules (the draws are part of each test's data:
// changing their order changes every random case) ---------------------------------------

// Up to max_deals deals "d0".."dN" of up to max_events events each, starting in the
// 60 days from kT0, with ties (a quarter of the gaps) and gaps up to 10 days; the first
// event is "created" seven times in ten; 40% of amounts missing. Returns the last time.
inline int64_t AddRandomDeals(Rng& rng, const std::vector<std::string>& actions,
                              const std::vector<std::string>& reps, int64_t max_deals, int64_t max_events,
                              std::vector<Ev>& rows) {
  constexpr int64_t kHour = 3'600'000'000'000LL;
  int64_t last = kT0;
  const int64_t deals = 1 + rng.Below(max_deals);
  for (int64_t d = 0; d < deals; ++d) {
    const std::string deal = "d" + std::to_string(d);
    int64_t t = kT0 + rng.Below(60) * kDay + rng.Below(24) * kHour;
    const int64_t n = 1 + rng.Below(max_events);
    for (int64_t i = 0; i < n; ++i) {
      if (i > 0) t += rng.Below(4) == 0 ? 0 : rng.Below(10 * 24) * kHour;
      Ev e{deal, t, i == 0 && rng.Percent(70) ? "created" : rng.Pick(actions), rng.Pick(reps)};
      e.amount = rng.Percent(40) ? std::numeric_limits<double>::quiet_NaN()
                                 : static_cast<double>(rng.Below(10'000'000)) / 100.0;
      rows.push_back(e);
      last = std::max(last, t);
    }
  }
  return last;
}

// The actions of a random stage-entry rule: one of `enter`, and another 40% of the
// time, sorted and distinct.
inline std::vector<std::string> RandomEntryActions(Rng& rng, const std::vector<std::string>& enter) {
  std::vector<std::string> any = {rng.Pick(enter)};
  if (rng.Percent(40)) any.push_back(rng.Pick(enter));
  std::sort(any.begin(), any.end());
  any.erase(std::unique(any.begin(), any.end()), any.end());
  return any;
}

// ---- The synthetic company --------------------------------------------------------------

// The ingested log of the synthetic company generated with `options`; on an error, a
// test failure and an empty log.
inline EventLog SynthLog(const SynthOptions& options) {
  auto company = GenerateCompany(options);
  EXPECT_TRUE(company.ok()) << company.status();
  if (!company.ok()) return EventLog();
  auto ingested = Ingest(company->columns(), company->vocabulary());
  EXPECT_TRUE(ingested.ok()) << ingested.status();
  return ingested.ok() ? std::move(ingested->log) : EventLog();
}

// The same, with the default options but for the event count and the seed.
inline EventLog SynthLog(int64_t events, uint64_t seed) {
  SynthOptions options;
  options.events = events;
  options.seed = seed;
  return SynthLog(options);
}

// The synthetic company's stages, entered by its buyer actions.
inline StageModel SynthModel() {
  StageModel m;
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged").Any({"reply"}).Window(Days(30));
  m.AddStage("Qualified").Any({"state_need"}).StallAfter(Days(45));
  m.AddStage("Budget").Any({"share_budget"});
  m.AddStage("Proposal").Any({"request_proposal"});
  m.AddStage("Commit").Any({"verbal_commit"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

}  // namespace salesperf::test_logs

#endif  // SALESPERF_TESTS_CPP_TEST_LOGS_H_
