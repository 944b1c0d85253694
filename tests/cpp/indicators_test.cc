// The indicators accumulator: a hand-derived log (every expected number derived in
// the comments), a slow reference written straight from the DEFINITIONS of
// salesperf/indicators.h compared field by field on random logs, the merge laws, the
// byte format under truncation and corruption, and totals on the synthetic company.
#include "salesperf/indicators.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/state.h"
#include "raw_indicators.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::BuildLog;
using test_logs::RandomEntryActions;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::Rng;
using test_logs::SynthLog;
using test_logs::SynthModel;
using test_logs::TestVocabulary;

// The duration bucket of a step count, from the header's definition read plainly: exact
// below 128; each doubling [2^j, 2^(j+1)) beyond, cut into 64 equal parts.
int64_t RefBucket(int64_t steps) {
  if (steps < 128) return steps;
  int j = 0;
  while ((steps >> (j + 1)) != 0) ++j;  // 2^j <= steps < 2^(j+1)
  const int64_t width = int64_t{1} << (j - 6);
  return 128 + 64 * (j - 7) + (steps - (int64_t{1} << j)) / width;
}

constexpr int64_t kJan = (2026 - 1970) * 12;  // month index of 2026-01
constexpr int64_t kFeb = kJan + 1;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::string_view kMagic("SPIND\0\0\1", 8);

// ---- Small logs (built with test_logs.h) -------------------------------------------

int32_t DealCode(const EventLog& log, std::string_view label) {
  auto d = log.deals().Find(label);
  EXPECT_TRUE(d.has_value()) << label;
  return d.value_or(-1);
}

struct StageRun {
  StageMachine machine;
  Timelines timelines;
};

StageRun RunModel(const StageModel& model, const EventLog& log, RunOptions options = {}) {
  auto machine = Compile(model, log);
  EXPECT_TRUE(machine.ok()) << machine.status();
  auto t = RunStages(*machine, log, options);
  EXPECT_TRUE(t.ok()) << t.status();
  return StageRun{*std::move(machine), *std::move(t)};
}

Indicators MustCompute(const StageRun& run, const EventLog& log, const Units& units,
                       const IndicatorOptions& options) {
  auto ind = ComputeIndicators(run.machine, log, run.timelines, units, options);
  EXPECT_TRUE(ind.ok()) << ind.status();
  return ind.ok() ? *std::move(ind) : Indicators();
}

// ---- Reading an accumulator as a map of named figures -----------------------------

const std::vector<std::string> kCellFieldNames = {
    "created", "created_valued", "progressed", "regressed", "reopened", "won", "won_valued",
    "lost", "lost_valued", "excluded_open", "stalled", "stalled_valued"};
const std::vector<std::string> kDollarFieldNames = {"created_dollars", "won_dollars", "lost_dollars",
                                                    "stalled_dollars"};
const std::vector<std::string> kCohortFieldNames = {"advanced", "failed", "pending",
                                                    "won_in_window", "won_failed", "won_pending"};

using Counts = std::pair<int64_t, int64_t>;
using FieldKey = std::tuple<std::string, int64_t, std::string>;            // unit, period, field
using BinMapKey = std::tuple<std::string, int64_t, int32_t, int64_t>;      // unit, period, stage, bucket
struct Figures {
  std::map<FieldKey, Int128> fields;
  std::map<BinMapKey, std::pair<int64_t, int64_t>> bins;  // observed, censored
};

Figures Read(const Indicators& x) {
  Figures out;
  auto put = [&](int64_t c, const std::string& field, Int128 v) {
    if (v != 0) out.fields[{x.unit_names()[static_cast<size_t>(x.cell_unit(c))], x.cell_period(c), field}] += v;
  };
  for (int64_t c = 0; c < x.num_cells(); ++c) {
    for (int32_t a = 0; a < x.num_actions(); ++a) {
      const std::string& l = x.action_names()[static_cast<size_t>(a)];
      put(c, "occurrences:" + l, x.action(c, a, kOccurrences));
      put(c, "deals:" + l, x.action(c, a, kDeals));
      put(c, "answered:" + l, x.action(c, a, kAnswered));
    }
    for (int32_t s = 0; s < x.num_stages(); ++s) {
      const std::string& n = x.stage_names()[static_cast<size_t>(s)];
      put(c, "entries:" + n, x.stage(c, s, kEntries));
      put(c, "deals_entered:" + n, x.stage(c, s, kDealsEntered));
      put(c, "valued_entered:" + n, x.stage(c, s, kValuedEntered));
      put(c, "dollars_entered:" + n, x.dollars_entered_fixed(c, s));
    }
    for (int32_t k = 0; k < x.num_open(); ++k) {
      for (int f = 0; f < kCohortFields; ++f) {
        put(c, kCohortFieldNames[static_cast<size_t>(f)] + ":" + x.stage_names()[static_cast<size_t>(k)],
            x.cohort(c, k, static_cast<CohortField>(f)));
      }
    }
    for (int f = 0; f < kCellFields; ++f) put(c, kCellFieldNames[static_cast<size_t>(f)], x.cell(c, static_cast<CellField>(f)));
    for (int f = 0; f < kDollarCellFields; ++f) {
      put(c, kDollarFieldNames[static_cast<size_t>(f)], x.dollars_fixed(c, static_cast<DollarField>(f)));
    }
  }
  for (const DurationBin& b : x.duration_bins()) {
    auto& v = out.bins[{x.unit_names()[static_cast<size_t>(x.cell_unit(b.cell))], x.cell_period(b.cell), b.stage, b.bucket}];
    v.first += b.observed;
    v.second += b.censored;
  }
  return out;
}

int64_t Get(const Figures& f, const std::string& unit, int64_t period, const std::string& field) {
  auto it = f.fields.find({unit, period, field});
  return it == f.fields.end() ? 0 : static_cast<int64_t>(it->second);
}

std::string Str(Int128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string s;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    s.insert(s.begin(), static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    v /= 10;
  }
  return neg ? "-" + s : s;
}

// "" when equal, else the first differences.
std::string Diff(const Figures& want, const Figures& got) {
  std::string out;
  int shown = 0;
  std::set<FieldKey> keys;
  for (const auto& [k, v] : want.fields) keys.insert(k);
  for (const auto& [k, v] : got.fields) keys.insert(k);
  for (const FieldKey& k : keys) {
    const auto w = want.fields.find(k);
    const auto g = got.fields.find(k);
    const Int128 wv = w == want.fields.end() ? 0 : w->second;
    const Int128 gv = g == got.fields.end() ? 0 : g->second;
    if (wv != gv && shown++ < 12) {
      out += std::get<0>(k) + " " + std::to_string(std::get<1>(k)) + " " + std::get<2>(k) +
             ": want " + Str(wv) + ", got " + Str(gv) + "\n";
    }
  }
  std::set<BinMapKey> bkeys;
  for (const auto& [k, v] : want.bins) bkeys.insert(k);
  for (const auto& [k, v] : got.bins) bkeys.insert(k);
  for (const BinMapKey& k : bkeys) {
    const auto w = want.bins.find(k);
    const auto g = got.bins.find(k);
    const auto wv = w == want.bins.end() ? std::pair<int64_t, int64_t>{0, 0} : w->second;
    const auto gv = g == got.bins.end() ? std::pair<int64_t, int64_t>{0, 0} : g->second;
    if (wv != gv && shown++ < 12) {
      out += "bin " + std::get<0>(k) + " " + std::to_string(std::get<1>(k)) + " stage " +
             std::to_string(std::get<2>(k)) + " bucket " + std::to_string(std::get<3>(k)) + ": want " +
             std::to_string(wv.first) + "/" + std::to_string(wv.second) + ", got " +
             std::to_string(gv.first) + "/" + std::to_string(gv.second) + "\n";
    }
  }
  return out;
}

// The canonical-state rules of the header, checked from the outside.
void ExpectCanonical(const Indicators& x) {
  EXPECT_TRUE(std::is_sorted(x.unit_names().begin(), x.unit_names().end()));
  EXPECT_TRUE(std::adjacent_find(x.unit_names().begin(), x.unit_names().end()) == x.unit_names().end());
  EXPECT_TRUE(std::is_sorted(x.action_names().begin(), x.action_names().end()));
  EXPECT_TRUE(std::adjacent_find(x.action_names().begin(), x.action_names().end()) == x.action_names().end());
  std::vector<int64_t> occurrences(static_cast<size_t>(x.num_actions()), 0);
  std::set<int32_t> units_with_cells;
  for (int64_t c = 0; c < x.num_cells(); ++c) {
    units_with_cells.insert(x.cell_unit(c));
    if (c > 0) {
      EXPECT_LT(std::pair(x.cell_unit(c - 1), x.cell_period(c - 1)), std::pair(x.cell_unit(c), x.cell_period(c)));
    }
    bool any = false;
    for (int32_t a = 0; a < x.num_actions(); ++a) {
      occurrences[static_cast<size_t>(a)] += x.action(c, a, kOccurrences);
      any = any || x.action(c, a, kOccurrences) != 0;
    }
    for (int32_t s = 0; s < x.num_stages(); ++s) any = any || x.stage(c, s, kEntries) != 0 || x.stage(c, s, kDealsEntered) != 0;
    for (int f = 0; f < kCellFields; ++f) any = any || x.cell(c, static_cast<CellField>(f)) != 0;
    EXPECT_TRUE(any) << "cell " << c << " looks empty";
  }
  EXPECT_EQ(static_cast<int32_t>(units_with_cells.size()), x.num_units());
  for (int64_t n : occurrences) EXPECT_GT(n, 0);
  for (size_t i = 0; i < x.duration_bins().size(); ++i) {
    const DurationBin& b = x.duration_bins()[i];
    EXPECT_TRUE(b.observed > 0 || b.censored > 0);
    if (i > 0) {
      const DurationBin& p = x.duration_bins()[i - 1];
      EXPECT_LT(std::tuple(p.cell, p.stage, p.bucket), std::tuple(b.cell, b.stage, b.bucket));
    }
  }
}

// ---- 1. A log derived by hand ------------------------------------------------------

// Stages: Lead (created, the system opening a deal), Qualified (need; window 10 days,
// stalls after 20 quiet days), Proposal (proposal); Won (sign), Lost (decline); spam
// excludes. Stages without a window get conversion_window = 30 days. as_of = day 50
// (2026-02-20). Resolution 1 day, response window 7 days, months.
StageModel HandModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Qualified").Any({"need"}).Window(Days(10)).StallAfter(Days(20));
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.Exclude({"spam"});
  return m;
}

int64_t At(int64_t day, int64_t hour = 0) { return kT0 + day * kDay + hour * Hours(1); }

// Days 0..30 are January, 31..58 February.
std::vector<Ev> HandRows() {
  return {
      // A (ana): won. The call is answered by the reply exactly 7 days later; the email
      // (day 12, 23:00) is followed by the proposal 7 days 1 hour later: not answered.
      {"A", At(0, 9), "created", "ana", 1000},
      {"A", At(1, 9), "call", "ana", 1000},
      {"A", At(8, 9), "reply", "", 1000},
      {"A", At(10), "need", "", 1000},
      {"A", At(12, 23), "email", "ana", 1000},
      {"A", At(20), "proposal", "", 1000},  // exactly 10 days after Qualified: in window
      {"A", At(35), "sign", "", 1000},
      // B: reps ana (system event), bo twice (calls), cy (email): most active bo, first
      // ana, last cy. Value 600 (the last non-missing amount). Stalls in Qualified.
      {"B", At(3), "created", "ana", 500},
      {"B", At(5), "call", "bo", 500},
      {"B", At(6), "call", "bo"},
      {"B", At(15), "need", "", 600},
      {"B", At(16), "email", "cy"},
      // C: no rep, no amount: lost.
      {"C", At(20), "created"},
      {"C", At(40), "decline"},
      // D (ana, no seller event: the first rep on any event): excluded in Qualified.
      {"D", At(40), "created", "ana", 50},
      {"D", At(41), "need", "", 50},
      {"D", At(45), "spam", "", 50},
      // E (bo): open in Qualified, inside its window at as_of.
      {"E", At(44), "created", "bo", 200},
      {"E", At(45), "need", "", 200},
      // F (bo): Qualified on day 40; its 10-day window closes exactly at as_of.
      {"F", At(30), "created", "bo", 300},
      {"F", At(40), "need", "", 300},
  };
}

IndicatorOptions HandOptions() {
  IndicatorOptions o;
  o.calendar = Calendar(Grain::kMonth);
  o.conversion_window = Days(30);
  o.response_window = Days(7);
  o.duration_resolution = Days(1);
  return o;
}

class HandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = BuildLog(HandRows());
    RunOptions ro;
    ro.as_of = At(50);
    run_ = RunModel(HandModel(), log_, ro);
    auto units = UnitsByRep(log_);
    ASSERT_TRUE(units.ok()) << units.status();
    units_ = *units;
    ind_ = MustCompute(run_, log_, units_, HandOptions());
    figures_ = Read(ind_);
  }
  int64_t F(const std::string& unit, int64_t period, const std::string& field) const {
    auto it = figures_.fields.find({unit, period, field});
    return it == figures_.fields.end() ? 0 : static_cast<int64_t>(it->second);
  }
  std::pair<int64_t, int64_t> Bin(const std::string& unit, int64_t period, int32_t stage, int64_t bucket) const {
    auto it = figures_.bins.find({unit, period, stage, bucket});
    return it == figures_.bins.end() ? std::pair<int64_t, int64_t>{0, 0} : it->second;
  }
  EventLog log_;
  StageRun run_;
  Units units_;
  Indicators ind_;
  Figures figures_;
};

TEST_F(HandTest, UnitsByRepRules) {
  auto owner = [&](const Units& u, const char* deal) {
    return u.names[static_cast<size_t>(u.of_deal[static_cast<size_t>(DealCode(log_, deal))])];
  };
  EXPECT_EQ(units_.kind, "rep");
  EXPECT_EQ(owner(units_, "A"), "ana");   // seller events: ana, ana
  EXPECT_EQ(owner(units_, "B"), "bo");    // seller events: bo, bo, cy
  EXPECT_EQ(owner(units_, "C"), "(none)");
  EXPECT_EQ(owner(units_, "D"), "ana");   // no seller event: first rep on any event
  EXPECT_EQ(owner(units_, "E"), "bo");
  EXPECT_EQ(owner(units_, "F"), "bo");
  auto first = UnitsByRep(log_, OwnerRule::kFirst);
  auto last = UnitsByRep(log_, OwnerRule::kLast);
  ASSERT_TRUE(first.ok() && last.ok());
  EXPECT_EQ(owner(*first, "B"), "ana");
  EXPECT_EQ(owner(*last, "B"), "cy");
  EXPECT_EQ(owner(*first, "C"), "(none)");
  EXPECT_EQ(owner(*last, "A"), "ana");
  // cy owns no deal under kMostActive, so it is no unit there.
  EXPECT_EQ(std::count(units_.names.begin(), units_.names.end(), "cy"), 0);

  // Under kFirst B belongs to ana: ana's January calls are A's 1 + B's 2.
  Indicators by_first = MustCompute(run_, log_, *first, HandOptions());
  Figures f = Read(by_first);
  EXPECT_EQ(Get(f, "ana", kJan, "occurrences:call"), 3);
  EXPECT_EQ(Get(f, "ana", kJan, "deals:call"), 2);
  EXPECT_EQ(by_first.unit_names(), (std::vector<std::string>{"(none)", "ana", "bo"}));
  Indicators by_last = MustCompute(run_, log_, *last, HandOptions());
  EXPECT_EQ(by_last.unit_names(), (std::vector<std::string>{"(none)", "ana", "bo", "cy"}));
  EXPECT_EQ(Get(Read(by_last), "cy", kJan, "occurrences:call"), 2);
}

TEST_F(HandTest, Layout) {
  ExpectCanonical(ind_);
  EXPECT_EQ(ind_.unit_kind(), "rep");
  EXPECT_EQ(ind_.unit_names(), (std::vector<std::string>{"(none)", "ana", "bo"}));
  EXPECT_EQ(ind_.action_names(), (std::vector<std::string>{"call", "created", "decline", "email",
                                                           "need", "proposal", "reply", "sign", "spam"}));
  EXPECT_EQ(ind_.action_actors()[0], static_cast<uint8_t>(Actor::kSeller));
  EXPECT_EQ(ind_.action_actors()[1], static_cast<uint8_t>(Actor::kSystem));
  EXPECT_EQ(ind_.action_actors()[2], static_cast<uint8_t>(Actor::kBuyer));
  // (none): Jan (C created), Feb (C lost); ana: Jan, Feb; bo: Jan, Feb.
  ASSERT_EQ(ind_.num_cells(), 6);
  EXPECT_EQ(ind_.cell_unit(0), 0);
  EXPECT_EQ(ind_.cell_period(0), kJan);
  EXPECT_EQ(ind_.cell_period(1), kFeb);
  EXPECT_EQ(ind_.cell_unit(5), 2);
  EXPECT_EQ(ind_.windows(), (std::vector<int64_t>{Days(30), Days(10), Days(30)}));
  EXPECT_EQ(ind_.as_of(), At(50));
}

TEST_F(HandTest, EventCounts) {
  // ana, January: A's created, call, reply, need, email, proposal (days 0-20).
  for (const char* a : {"created", "call", "reply", "need", "email", "proposal"}) {
    EXPECT_EQ(F("ana", kJan, std::string("occurrences:") + a), 1) << a;
    EXPECT_EQ(F("ana", kJan, std::string("deals:") + a), 1) << a;
  }
  EXPECT_EQ(F("ana", kJan, "answered:call"), 1);   // reply exactly 7 days later
  EXPECT_EQ(F("ana", kJan, "answered:email"), 0);  // next buyer action 7 days 1 hour later
  // ana, February: A's sign (day 35); D's created, need, spam.
  for (const char* a : {"sign", "created", "need", "spam"}) {
    EXPECT_EQ(F("ana", kFeb, std::string("occurrences:") + a), 1) << a;
  }
  // bo, January: B's created, 2 calls, need, email and F's created (day 30 = Jan 31).
  EXPECT_EQ(F("bo", kJan, "occurrences:created"), 2);
  EXPECT_EQ(F("bo", kJan, "deals:created"), 2);
  EXPECT_EQ(F("bo", kJan, "occurrences:call"), 2);
  EXPECT_EQ(F("bo", kJan, "deals:call"), 1);   // both calls are B's
  EXPECT_EQ(F("bo", kJan, "answered:call"), 0);  // next buyer action (need) 9-10 days on
  EXPECT_EQ(F("bo", kJan, "answered:email"), 0);  // no later buyer action at all
  // bo, February: E's created and need, F's need.
  EXPECT_EQ(F("bo", kFeb, "occurrences:need"), 2);
  EXPECT_EQ(F("bo", kFeb, "deals:need"), 2);
  EXPECT_EQ(F("bo", kFeb, "occurrences:created"), 1);
  EXPECT_EQ(F("(none)", kJan, "occurrences:created"), 1);
  EXPECT_EQ(F("(none)", kFeb, "occurrences:decline"), 1);
  // Answered is 0 for non-seller actions.
  EXPECT_EQ(F("ana", kJan, "answered:created"), 0);
  int64_t total = 0;
  for (const auto& [k, v] : figures_.fields) {
    if (std::get<2>(k).rfind("occurrences:", 0) == 0) total += static_cast<int64_t>(v);
  }
  EXPECT_EQ(total, 21);
  EXPECT_EQ(total, log_.size());
}

TEST_F(HandTest, TransitionsAndDollars) {
  // ana, Jan: A enters Lead (created), Qualified, Proposal: 3 progressions.
  EXPECT_EQ(F("ana", kJan, "entries:Lead"), 1);
  EXPECT_EQ(F("ana", kJan, "entries:Qualified"), 1);
  EXPECT_EQ(F("ana", kJan, "entries:Proposal"), 1);
  EXPECT_EQ(F("ana", kJan, "progressed"), 3);
  EXPECT_EQ(F("ana", kJan, "created"), 1);
  EXPECT_EQ(F("ana", kJan, "created_valued"), 1);
  EXPECT_EQ(F("ana", kJan, "created_dollars"), 1000 * kDollarScale);
  // ana, Feb: A won (1000); D created (50), Lead -> Qualified, excluded from Qualified.
  EXPECT_EQ(F("ana", kFeb, "won"), 1);
  EXPECT_EQ(F("ana", kFeb, "won_valued"), 1);
  EXPECT_EQ(F("ana", kFeb, "won_dollars"), 1000 * kDollarScale);
  EXPECT_EQ(F("ana", kFeb, "entries:Won"), 1);
  EXPECT_EQ(F("ana", kFeb, "created"), 1);
  EXPECT_EQ(F("ana", kFeb, "created_dollars"), 50 * kDollarScale);
  EXPECT_EQ(F("ana", kFeb, "progressed"), 2);
  EXPECT_EQ(F("ana", kFeb, "excluded_open"), 1);
  // bo, Jan: B and F created (600 + 300), B into Qualified.
  EXPECT_EQ(F("bo", kJan, "created"), 2);
  EXPECT_EQ(F("bo", kJan, "created_valued"), 2);
  EXPECT_EQ(F("bo", kJan, "created_dollars"), 900 * kDollarScale);
  EXPECT_EQ(F("bo", kJan, "progressed"), 3);
  EXPECT_EQ(F("bo", kJan, "entries:Lead"), 2);
  EXPECT_EQ(F("bo", kFeb, "entries:Qualified"), 2);  // E and F
  EXPECT_EQ(F("bo", kFeb, "created_dollars"), 200 * kDollarScale);
  // (none): C created (no value) in Jan, lost in Feb.
  EXPECT_EQ(F("(none)", kJan, "created"), 1);
  EXPECT_EQ(F("(none)", kJan, "created_valued"), 0);
  EXPECT_EQ(F("(none)", kFeb, "lost"), 1);
  EXPECT_EQ(F("(none)", kFeb, "lost_valued"), 0);
  EXPECT_EQ(F("(none)", kFeb, "entries:Lost"), 1);
  // Open deals at each month end: ana 1 (A), then 1 + 1 - 1 - 1 = 0; bo 2, then 2 + 1 = 3
  // (B stalled, E, F open); (none) 1, then 0.
  auto open_end = [&](const std::string& u, int64_t p) {
    return F(u, p, "created") + F(u, p, "reopened") - F(u, p, "won") - F(u, p, "lost") - F(u, p, "excluded_open");
  };
  EXPECT_EQ(open_end("ana", kJan), 1);
  EXPECT_EQ(open_end("ana", kJan) + open_end("ana", kFeb), 0);
  EXPECT_EQ(open_end("bo", kJan) + open_end("bo", kFeb), 3);
  EXPECT_EQ(open_end("(none)", kJan) + open_end("(none)", kFeb), 0);
  // The doubles: cell 2 is (ana, Jan), after (none)'s two cells.
  ASSERT_EQ(ind_.cell_unit(2), 1);
  ASSERT_EQ(ind_.cell_period(2), kJan);
  EXPECT_EQ(ind_.dollars(2, kCreatedDollars), 1000.0);
  EXPECT_EQ(ind_.dollars_entered(2, 2), 1000.0);  // Proposal
}

TEST_F(HandTest, FirstEntries) {
  EXPECT_EQ(F("ana", kJan, "deals_entered:Lead"), 1);
  EXPECT_EQ(F("ana", kJan, "dollars_entered:Proposal"), 1000 * kDollarScale);
  EXPECT_EQ(F("ana", kFeb, "deals_entered:Won"), 1);
  EXPECT_EQ(F("ana", kFeb, "deals_entered:Qualified"), 1);  // D
  EXPECT_EQ(F("ana", kFeb, "dollars_entered:Qualified"), 50 * kDollarScale);
  EXPECT_EQ(F("bo", kJan, "deals_entered:Lead"), 2);  // B, F
  EXPECT_EQ(F("bo", kJan, "dollars_entered:Lead"), 900 * kDollarScale);
  EXPECT_EQ(F("bo", kJan, "deals_entered:Qualified"), 1);  // B
  EXPECT_EQ(F("bo", kFeb, "deals_entered:Qualified"), 2);  // E, F
  EXPECT_EQ(F("bo", kFeb, "valued_entered:Qualified"), 2);
  EXPECT_EQ(F("bo", kFeb, "dollars_entered:Qualified"), 500 * kDollarScale);
  EXPECT_EQ(F("(none)", kJan, "deals_entered:Lead"), 1);
  EXPECT_EQ(F("(none)", kJan, "valued_entered:Lead"), 0);
  EXPECT_EQ(F("(none)", kFeb, "deals_entered:Lost"), 1);
}

TEST_F(HandTest, Cohorts) {
  // ana, Jan. A: Lead -> Qualified in 9d15h (<= 30d): advanced; won after 34d15h, late,
  // and A is closed: won_failed. Qualified -> Proposal in exactly 10d: advanced (edge);
  // won 25d after: won_failed. Proposal -> Won in 15d: advanced and won_in_window.
  EXPECT_EQ(F("ana", kJan, "advanced:Lead"), 1);
  EXPECT_EQ(F("ana", kJan, "won_failed:Lead"), 1);
  EXPECT_EQ(F("ana", kJan, "advanced:Qualified"), 1);
  EXPECT_EQ(F("ana", kJan, "won_failed:Qualified"), 1);
  EXPECT_EQ(F("ana", kJan, "advanced:Proposal"), 1);
  EXPECT_EQ(F("ana", kJan, "won_in_window:Proposal"), 1);
  // ana, Feb. D: Lead -> Qualified in 1 day: advanced; never won, excluded 5 days after
  // entering Lead (< 30): neither won_failed nor won_pending. Qualified: excluded 4 days
  // in (< 10): neither failed nor pending.
  EXPECT_EQ(F("ana", kFeb, "advanced:Lead"), 1);
  EXPECT_EQ(F("ana", kFeb, "won_failed:Lead"), 0);
  EXPECT_EQ(F("ana", kFeb, "won_pending:Lead"), 0);
  EXPECT_EQ(F("ana", kFeb, "failed:Qualified"), 0);
  EXPECT_EQ(F("ana", kFeb, "pending:Qualified"), 0);
  EXPECT_EQ(F("ana", kFeb, "advanced:Qualified"), 0);
  // bo, Jan. B: Lead advanced (12d); never won, stalled, window closed (as_of - fe = 47d):
  // won_failed. F: Lead advanced (10d); won window open (20d < 30): won_pending.
  // B: Qualified never left, stalled, window closed on day 25: failed, won_failed.
  EXPECT_EQ(F("bo", kJan, "advanced:Lead"), 2);
  EXPECT_EQ(F("bo", kJan, "won_failed:Lead"), 1);
  EXPECT_EQ(F("bo", kJan, "won_pending:Lead"), 1);
  EXPECT_EQ(F("bo", kJan, "failed:Qualified"), 1);
  EXPECT_EQ(F("bo", kJan, "won_failed:Qualified"), 1);
  // bo, Feb. E: Lead advanced, won_pending; Qualified 5 days in (< 10): pending,
  // won_pending. F: Qualified on day 40, window closes on day 50 = as_of: failed, won_failed.
  EXPECT_EQ(F("bo", kFeb, "advanced:Lead"), 1);
  EXPECT_EQ(F("bo", kFeb, "won_pending:Lead"), 1);
  EXPECT_EQ(F("bo", kFeb, "pending:Qualified"), 1);
  EXPECT_EQ(F("bo", kFeb, "failed:Qualified"), 1);
  EXPECT_EQ(F("bo", kFeb, "won_pending:Qualified"), 1);
  EXPECT_EQ(F("bo", kFeb, "won_failed:Qualified"), 1);
  // (none), Jan. C: Lead never advanced (Lost does not count), closed: failed, won_failed.
  EXPECT_EQ(F("(none)", kJan, "failed:Lead"), 1);
  EXPECT_EQ(F("(none)", kJan, "won_failed:Lead"), 1);
  EXPECT_EQ(F("(none)", kJan, "advanced:Lead"), 0);
}

TEST_F(HandTest, DurationsAndStalls) {
  // Time in stage (1-day buckets, floored).
  EXPECT_EQ(Bin("ana", kJan, 0, 9), Counts(1, 0));    // A Lead 9d15h
  EXPECT_EQ(Bin("ana", kJan, 1, 10), Counts(1, 0));   // A Qualified 10d
  EXPECT_EQ(Bin("ana", kJan, 2, 15), Counts(1, 0));   // A Proposal 15d
  EXPECT_EQ(Bin("bo", kJan, 0, 12), Counts(1, 0));    // B Lead 12d
  EXPECT_EQ(Bin("bo", kJan, 0, 10), Counts(1, 0));    // F Lead 10d
  EXPECT_EQ(Bin("bo", kJan, 1, 35), Counts(0, 1));    // B Qualified, censored at as_of
  EXPECT_EQ(Bin("(none)", kJan, 0, 20), Counts(1, 0));  // C Lead -> Lost 20d
  EXPECT_EQ(Bin("ana", kFeb, 0, 1), Counts(1, 0));    // D Lead 1d
  EXPECT_EQ(Bin("ana", kFeb, 1, 4), Counts(0, 1));    // D excluded 4d in: censored
  EXPECT_EQ(Bin("bo", kFeb, 0, 1), Counts(1, 0));     // E Lead 1d
  EXPECT_EQ(Bin("bo", kFeb, 1, 5), Counts(0, 1));     // E Qualified 5d, open
  EXPECT_EQ(Bin("bo", kFeb, 1, 10), Counts(0, 1));    // F Qualified 10d, open
  // Cycle time (stage -1), in the period of creation.
  EXPECT_EQ(Bin("ana", kJan, -1, 34), Counts(1, 0));  // A won after 34d15h
  EXPECT_EQ(Bin("bo", kJan, -1, 47), Counts(0, 1));   // B open 47d
  EXPECT_EQ(Bin("bo", kJan, -1, 20), Counts(0, 1));   // F open 20d
  EXPECT_EQ(Bin("(none)", kJan, -1, 20), Counts(1, 0));  // C lost 20d
  EXPECT_EQ(Bin("ana", kFeb, -1, 5), Counts(0, 1));   // D excluded 5d
  EXPECT_EQ(Bin("bo", kFeb, -1, 6), Counts(0, 1));    // E open 6d
  int64_t bins = 0;
  for (const auto& [k, v] : figures_.bins) bins += v.first + v.second;
  EXPECT_EQ(bins, 12 + 6);  // 12 stage visits, 6 deals
  // B stalled: quiet since day 15 (need), limit 20 days: onset day 35, February.
  EXPECT_EQ(run_.timelines.outcome[static_cast<size_t>(DealCode(log_, "B"))],
            static_cast<uint8_t>(Outcome::kStalled));
  EXPECT_EQ(F("bo", kFeb, "stalled"), 1);
  EXPECT_EQ(F("bo", kFeb, "stalled_valued"), 1);
  EXPECT_EQ(F("bo", kFeb, "stalled_dollars"), 600 * kDollarScale);
  EXPECT_EQ(F("bo", kJan, "stalled"), 0);
}

TEST_F(HandTest, RollUpToOneGroupIsTheSingleUnit) {
  auto all = ind_.RollUp(std::vector<int32_t>(static_cast<size_t>(ind_.num_units()), 0), {"all"}, "all");
  ASSERT_TRUE(all.ok()) << all.status();
  Indicators single = MustCompute(run_, log_, SingleUnit(log_), HandOptions());
  EXPECT_TRUE(*all == single);
  EXPECT_EQ(all->Serialize(), single.Serialize());
  EXPECT_EQ(single.unit_names(), (std::vector<std::string>{"all"}));
  // Errors.
  EXPECT_EQ(ind_.RollUp(std::vector<int32_t>{0}, {"all"}, "all").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ind_.RollUp(std::vector<int32_t>{0, 1, 2}, {"x", "y"}, "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ind_.RollUp(std::vector<int32_t>{0, 1, 1}, {"x", "x"}, "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  // Groups without units vanish; names are sorted: (none) -> "z", ana and bo -> "a".
  auto two = ind_.RollUp(std::vector<int32_t>{2, 0, 0}, {"a", "unused", "z"}, "team");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->unit_names(), (std::vector<std::string>{"a", "z"}));
  EXPECT_EQ(two->unit_kind(), "team");
  EXPECT_EQ(Get(Read(*two), "a", kJan, "created"), 3);  // A, B, F
}

TEST_F(HandTest, SettingsAndErrors) {
  IndicatorOptions bad = HandOptions();
  bad.response_window = 0;
  auto r = Indicators::Create(run_.machine, At(50), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("response_window"), std::string_view::npos);
  bad = HandOptions();
  bad.duration_resolution = -1;
  r = Indicators::Create(run_.machine, At(50), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duration_resolution"), std::string_view::npos);

  // Update with timelines judged at another as_of, or units of another size.
  auto acc = Indicators::Create(run_.machine, At(49), HandOptions());
  ASSERT_TRUE(acc.ok());
  absl::Status s = acc->Update(log_, run_.timelines, units_);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("as_of"), std::string_view::npos);
  acc = Indicators::Create(run_.machine, At(50), HandOptions());
  Units short_units = units_;
  short_units.of_deal.pop_back();
  EXPECT_EQ(acc->Update(log_, run_.timelines, short_units).code(), absl::StatusCode::kFailedPrecondition);
  Units bad_index = units_;
  bad_index.of_deal[0] = 7;
  EXPECT_EQ(acc->Update(log_, run_.timelines, bad_index).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acc->Update(log_, run_.timelines, units_, 3, 2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acc->Update(log_, run_.timelines, units_, 0, 99).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(*acc == *Indicators::Create(run_.machine, At(50), HandOptions()));  // failures add nothing

  // Merge: another calendar, as_of, resolution, unit kind.
  IndicatorOptions weeks = HandOptions();
  weeks.calendar = Calendar(Grain::kWeek);
  Indicators other = MustCompute(run_, log_, units_, weeks);
  Indicators mine = ind_;
  s = mine.Merge(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("calendar"), std::string_view::npos) << s;
  RunOptions later;
  later.as_of = At(51);
  StageRun run51 = RunModel(HandModel(), log_, later);
  Indicators other_as_of = MustCompute(run51, log_, units_, HandOptions());
  s = mine.Merge(other_as_of);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("as_of"), std::string_view::npos) << s;
  // Both instants as ISO text, not nanoseconds.
  EXPECT_NE(s.message().find(FormatInstant(At(51))), std::string_view::npos) << s;
  EXPECT_NE(s.message().find("Z and "), std::string_view::npos) << s;
  IndicatorOptions hours = HandOptions();
  hours.duration_resolution = Hours(1);
  s = mine.Merge(MustCompute(run_, log_, units_, hours));
  EXPECT_NE(s.message().find("resolution"), std::string_view::npos) << s;
  s = mine.Merge(MustCompute(run_, log_, SingleUnit(log_), HandOptions()));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("unit kind"), std::string_view::npos) << s;
  EXPECT_TRUE(mine == ind_);  // failed merges change nothing

  // A value too large for the fixed-point sums names the deal.
  std::vector<Ev> rows = HandRows();
  rows.push_back({"huge", At(3), "created", "ana", 2e15});
  EventLog big = BuildLog(rows);
  RunOptions ro;
  ro.as_of = At(50);
  StageRun big_run = RunModel(HandModel(), big, ro);
  auto units = UnitsByRep(big);
  ASSERT_TRUE(units.ok());
  auto huge = ComputeIndicators(big_run.machine, big, big_run.timelines, *units, HandOptions());
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("'huge'"), std::string_view::npos) << huge.status();

  // The same label with another actor in another log cannot be merged in.
  Vocabulary other_vocab;
  ASSERT_TRUE(other_vocab.Add("call", Actor::kBuyer).ok());
  ASSERT_TRUE(other_vocab.Add("created", Actor::kSystem).ok());
  for (auto a : {"need", "proposal", "sign", "decline", "spam"}) ASSERT_TRUE(other_vocab.Add(a, Actor::kBuyer).ok());
  EventLog odd = BuildLog({{"Z", At(2), "created", "ana"}, {"Z", At(3), "call", "ana"}}, true, false, other_vocab);
  StageRun odd_run = RunModel(HandModel(), odd, ro);
  auto odd_units = UnitsByRep(odd);
  ASSERT_TRUE(odd_units.ok());
  mine = ind_;
  s = mine.Update(odd, odd_run.timelines, *odd_units);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'call'"), std::string_view::npos) << s;
  EXPECT_TRUE(mine == ind_);
}

TEST_F(HandTest, UnitsOtherwise) {
  EventLog seg = BuildLog({{"a", At(1), "created", "", kNaN, ""}, {"a", At(2), "call", "", kNaN, "smb"},
                           {"b", At(1), "created", "", kNaN, "ent"}, {"c", At(1), "created"}},
                          true, true);
  auto by_segment = UnitsByDimension(seg, "segment");
  ASSERT_TRUE(by_segment.ok()) << by_segment.status();
  EXPECT_EQ(by_segment->kind, "segment");
  auto name = [&](const char* d) {
    return by_segment->names[static_cast<size_t>(by_segment->of_deal[static_cast<size_t>(DealCode(seg, d))])];
  };
  EXPECT_EQ(name("a"), "smb");  // the first non-null value
  EXPECT_EQ(name("b"), "ent");
  EXPECT_EQ(name("c"), "(none)");
  EXPECT_EQ(UnitsByDimension(seg, "territory").status().code(), absl::StatusCode::kNotFound);
  std::vector<int32_t> codes = {1, 0, 1};
  auto custom = UnitsFromCodes(seg, codes, {"x", "y"});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->kind, "custom");
  EXPECT_EQ(UnitsFromCodes(seg, codes, {"x", "x"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UnitsFromCodes(seg, std::vector<int32_t>{0, 0}, {"x"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UnitsFromCodes(seg, std::vector<int32_t>{0, 2, 0}, {"x", "y"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A log without a rep column.
  EventColumns in;
  std::vector<int64_t> deal = {1}, time = {At(1)}, action = {0};
  std::vector<std::string> labels = {"created"};
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  auto norep = Ingest(in, TestVocabulary());
  ASSERT_TRUE(norep.ok());
  EXPECT_EQ(UnitsByRep(norep->log).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SingleUnit(norep->log, "company").names, (std::vector<std::string>{"company"}));
}

// ---- 2, 3. The slow reference, from the DEFINITIONS, and the merge laws ----------

// Who owns each deal, by the OwnerRule comments; names of reps, "(none)" without one.
std::vector<std::string> ReferenceOwners(const EventLog& log, OwnerRule rule) {
  std::vector<std::string> out;
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    std::vector<int32_t> reps_seen, seller_order;
    std::map<int32_t, int> seller_count;
    for (int64_t k = log.deal_offsets()[static_cast<size_t>(d)]; k < log.deal_offsets()[static_cast<size_t>(d) + 1]; ++k) {
      const int32_t r = log.rep()[static_cast<size_t>(k)];
      if (r < 0) continue;
      reps_seen.push_back(r);
      if (log.actor(log.action()[static_cast<size_t>(k)]) == Actor::kSeller) {
        if (seller_count[r]++ == 0) seller_order.push_back(r);
      }
    }
    int32_t owner = -1;
    if (rule == OwnerRule::kFirst && !reps_seen.empty()) owner = reps_seen.front();
    if (rule == OwnerRule::kLast && !reps_seen.empty()) owner = reps_seen.back();
    if (rule == OwnerRule::kMostActive) {
      int best = 0;
      for (int32_t r : seller_order) {
        if (seller_count[r] > best) {
          best = seller_count[r];
          owner = r;
        }
      }
      if (owner < 0 && !reps_seen.empty()) owner = reps_seen.front();
    }
    out.push_back(owner < 0 ? std::string(kNoUnitName) : log.reps().Label(owner));
  }
  return out;
}

Figures Reference(const EventLog& log, const Timelines& tl, const StageModel& model,
                  const std::vector<std::string>& unit_of_deal, const IndicatorOptions& opt) {
  Figures out;
  const Calendar& cal = opt.calendar;
  const int32_t O = tl.num_open, S = tl.num_stages();
  const int32_t WON = O, LOST = O + 1;
  const int64_t as_of = tl.as_of;
  auto add = [&](int32_t d, int64_t t, const std::string& field, Int128 v = 1) {
    out.fields[{unit_of_deal[static_cast<size_t>(d)], cal.PeriodIndex(t), field}] += v;
  };
  auto name = [&](int32_t s) { return tl.stage_names[static_cast<size_t>(s)]; };
  auto valued = [&](int32_t d) { return !std::isnan(tl.value[static_cast<size_t>(d)]); };
  auto fixed = [&](int32_t d) -> Int128 {
    return valued(d) ? static_cast<Int128>(std::llround(tl.value[static_cast<size_t>(d)] * 10000.0)) : 0;
  };
  // Windows: the stage's own, else the option, else none.
  std::vector<std::optional<int64_t>> window(static_cast<size_t>(O));
  for (int32_t k = 0; k < O; ++k) {
    const auto& st = model.stages()[static_cast<size_t>(k)];
    window[static_cast<size_t>(k)] = st.window ? st.window : opt.conversion_window;
  }

  // Event counts.
  std::set<std::tuple<std::string, int64_t, int32_t, int32_t>> seen;  // unit, period, action, deal
  for (int64_t i = 0; i < log.size(); ++i) {
    const auto iz = static_cast<size_t>(i);
    const int32_t d = log.deal()[iz];
    const int64_t t = log.time()[iz];
    const int32_t a = log.action()[iz];
    const std::string label = log.actions().Label(a);
    add(d, t, "occurrences:" + label);
    if (seen.insert({unit_of_deal[static_cast<size_t>(d)], cal.PeriodIndex(t), a, d}).second) add(d, t, "deals:" + label);
    if (log.actor(a) == Actor::kSeller) {
      for (int64_t j = i + 1; j < log.size() && log.deal()[static_cast<size_t>(j)] == d; ++j) {
        if (log.actor(log.action()[static_cast<size_t>(j)]) == Actor::kBuyer &&
            log.time()[static_cast<size_t>(j)] - t <= opt.response_window) {
          add(d, t, "answered:" + label);
          break;
        }
      }
    }
  }

  // Transitions.
  std::set<int32_t> had_transition;
  std::map<int32_t, int32_t> excluded_from;
  const auto& tr = tl.transitions;
  for (size_t r = 0; r < tr.size(); ++r) {
    const int32_t d = tr.deal[r];
    const int64_t t = tr.time[r];
    const auto kind = static_cast<TransitionKind>(tr.kind[r]);
    const int32_t to = tr.to[r];
    if (to >= 0) add(d, t, "entries:" + name(to));
    if (kind == TransitionKind::kProgressed || kind == TransitionKind::kSkipped) add(d, t, "progressed");
    if (kind == TransitionKind::kRegressed) add(d, t, "regressed");
    if (kind == TransitionKind::kReopened) add(d, t, "reopened");
    if (to == WON || to == LOST) {
      const std::string w = to == WON ? "won" : "lost";
      add(d, t, w);
      if (valued(d)) {
        add(d, t, w + "_valued");
        add(d, t, w + "_dollars", fixed(d));
      }
    }
    if (had_transition.insert(d).second && kind != TransitionKind::kExcluded) {
      add(d, t, "created");
      if (valued(d)) {
        add(d, t, "created_valued");
        add(d, t, "created_dollars", fixed(d));
      }
    }
    if (kind == TransitionKind::kExcluded) {
      excluded_from[d] = tr.from[r];
      if (tr.from[r] >= 0 && tr.from[r] < O) add(d, t, "excluded_open");
    }
  }

  const int64_t res = opt.duration_resolution;
  auto bin = [&](int32_t d, int64_t at, int32_t stage, int64_t duration, bool observed) {
    auto& b = out.bins[{unit_of_deal[static_cast<size_t>(d)], cal.PeriodIndex(at), stage,
                        RefBucket(duration / res)}];
    (observed ? b.first : b.second) += 1;
  };
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    auto fe = [&](int32_t s) { return tl.first_entered[static_cast<size_t>(d) * static_cast<size_t>(S) + static_cast<size_t>(s)]; };
    auto ll = [&](int32_t s) { return tl.last_left[static_cast<size_t>(d) * static_cast<size_t>(S) + static_cast<size_t>(s)]; };
    const auto outcome = static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]);
    const bool closed = outcome == Outcome::kWon || outcome == Outcome::kLost;
    const bool open = outcome == Outcome::kOpen || outcome == Outcome::kStalled;
    const bool excluded = outcome == Outcome::kExcluded;
    const int64_t x = tl.outcome_time[static_cast<size_t>(d)];
    for (int32_t s = 0; s < S; ++s) {
      if (fe(s) == kNullInstant) continue;
      add(d, fe(s), "deals_entered:" + name(s));
      if (valued(d)) {
        add(d, fe(s), "valued_entered:" + name(s));
        add(d, fe(s), "dollars_entered:" + name(s), fixed(d));
      }
    }
    for (int32_t k = 0; k < O; ++k) {
      const int64_t e = fe(k);
      if (e == kNullInstant) continue;
      std::optional<int64_t> next, won_at, exit;
      for (int32_t s = k + 1; s <= WON; ++s) {
        if (fe(s) != kNullInstant && fe(s) >= e && (!next || fe(s) < *next)) next = fe(s);
      }
      if (fe(WON) != kNullInstant && fe(WON) >= e) won_at = fe(WON);
      for (int32_t s = k + 1; s < S; ++s) {
        if (fe(s) != kNullInstant && fe(s) >= e && (!exit || fe(s) < *exit)) exit = fe(s);
      }
      const std::optional<int64_t> W = window[static_cast<size_t>(k)];
      auto judge = [&](std::optional<int64_t> reached, const std::string& adv, const std::string& fail,
                       const std::string& pend) {
        if (reached && (!W || *reached - e <= *W)) {
          add(d, e, adv + ":" + name(k));
        } else if (closed) {
          add(d, e, fail + ":" + name(k));
        } else if (open) {
          add(d, e, (W && e + *W <= as_of ? fail : pend) + ":" + name(k));
        } else if (excluded && W && x - e >= *W) {
          add(d, e, fail + ":" + name(k));
        }
      };
      judge(next, "advanced", "failed", "pending");
      judge(won_at, "won_in_window", "won_failed", "won_pending");
      if (exit) {
        bin(d, e, k, *exit - e, true);
      } else if (excluded && excluded_from.count(d) && excluded_from[d] == k) {
        bin(d, e, k, x - e, false);
      } else if (ll(k) != kNullInstant && ll(k) >= e) {
        bin(d, e, k, ll(k) - e, true);
      } else {
        bin(d, e, k, std::max<int64_t>(0, (excluded ? x : as_of) - e), false);
      }
    }
    std::optional<int64_t> c;
    for (int32_t s = 0; s < S; ++s) {
      if (fe(s) != kNullInstant && (!c || fe(s) < *c)) c = fe(s);
    }
    if (c) {
      std::optional<int64_t> close;
      for (int32_t s : {WON, LOST}) {
        if (fe(s) != kNullInstant && fe(s) >= *c && (!close || fe(s) < *close)) close = fe(s);
      }
      if (close) {
        bin(d, *c, -1, *close - *c, true);
      } else {
        bin(d, *c, -1, std::max<int64_t>(0, (excluded ? x : as_of) - *c), false);
      }
    }
    if (outcome == Outcome::kStalled) {
      const int32_t s = tl.current_stage[static_cast<size_t>(d)];
      const int64_t onset = tl.quiet_since[static_cast<size_t>(d)] + tl.stall_limit[static_cast<size_t>(s)];
      add(d, onset, "stalled");
      if (valued(d)) {
        add(d, onset, "stalled_valued");
        add(d, onset, "stalled_dollars", fixed(d));
      }
    }
  }
  for (auto it = out.fields.begin(); it != out.fields.end();) {
    it = it->second == 0 ? out.fields.erase(it) : std::next(it);
  }
  return out;
}

struct RandomCase {
  std::vector<Ev> rows;
  bool with_amount = true;
  bool with_segment = false;
  StageModel model;
  RunOptions run;
  IndicatorOptions options;
};

RandomCase MakeRandomCase(Rng& rng) {
  RandomCase rc;
  const std::vector<std::string> actions = {"created", "reply", "need", "budget", "proposal", "sign",
                                            "decline", "spam", "rescope", "meet", "call", "email",
                                            "call", "email", "reply", "need"};
  const std::vector<std::string> reps = {"ana", "bo", "cy", ""};
  const bool wide = rng.Percent(10);  // spread over decades, for many periods
  const int64_t deals = 1 + rng.Below(10);
  int64_t last_time = kT0;
  for (int64_t d = 0; d < deals; ++d) {
    const std::string deal = "d" + std::to_string(d);
    int64_t t = kT0 + rng.Below(wide ? 20 * 365 : 100) * kDay + rng.Below(24) * Hours(1);
    const int64_t n = 1 + rng.Below(14);
    const std::string segment = rng.Percent(30) ? "" : (rng.Percent(50) ? "smb" : "ent");
    for (int64_t i = 0; i < n; ++i) {
      if (i > 0) {
        switch (rng.Below(5)) {
          case 0: break;  // a tie
          case 1: t += rng.Below(120) * 60 * kNanosPerSecond; break;
          case 2: t += rng.Below(48) * Hours(1); break;
          default: t += rng.Below(wide ? 400 : 12) * kDay + rng.Below(24) * Hours(1); break;
        }
      }
      Ev e{deal, t, i == 0 && rng.Percent(70) ? "created" : rng.Pick(actions), rng.Pick(reps)};
      e.amount = rng.Percent(40) ? kNaN : static_cast<double>(rng.Below(10'000'000)) / 100.0;
      e.segment = rng.Percent(20) ? "" : segment;
      rc.rows.push_back(e);
      last_time = std::max(last_time, t);
    }
  }
  rc.with_amount = rng.Percent(85);
  rc.with_segment = rng.Percent(50);

  // The model.
  const std::vector<std::string> enter = {"created", "reply", "need", "budget", "proposal", "meet"};
  const int64_t open = 1 + rng.Below(4);
  for (int64_t k = 0; k < open; ++k) {
    Stage& st = rc.model.AddStage("S" + std::to_string(k));
    st.Any(RandomEntryActions(rng, enter));
    if (rng.Percent(50)) st.Window((1 + rng.Below(20)) * kDay + rng.Below(3) * Hours(7));
    if (rng.Percent(40)) st.StallAfter((1 + rng.Below(30)) * kDay);
    if (rng.Percent(25)) st.Optional();
  }
  rc.model.Won().Any({"sign"});
  rc.model.Lost().Any({"decline"});
  if (rng.Percent(50)) rc.model.Exclude({"spam"});
  if (rng.Percent(50)) rc.model.SetReopen(Reopen::kAllow);
  if (rng.Percent(50)) rc.model.SetOrdering(Ordering::kSkip);
  switch (rng.Below(3)) {
    case 0: break;
    case 1:
    case 2: {
      rc.model.SetRegression(rng.Percent(70) ? Regression::kRecord : Regression::kFollow);
      StageRule rule;
      rule.kind = RuleKind::kAny;
      rule.filters = {{"rescope"}};
      rc.model.Regress(rule, "S0");
      break;
    }
  }
  if (rng.Percent(30)) rc.model.CloseStalledAfter(rng.Below(10) * kDay);
  if (rng.Percent(50)) rc.run.as_of = kT0 + rng.Below((last_time - kT0) / kDay + 60) * kDay + rng.Below(24) * Hours(1);
  rc.run.threads = 1;

  const std::vector<std::string> calendars = {"month", "week", "fiscal_quarter:7", "day"};
  rc.options.calendar = *Calendar::Parse(rng.Pick(calendars));
  if (rng.Percent(50)) rc.options.conversion_window = (1 + rng.Below(30)) * kDay;
  rc.options.response_window = rng.Percent(50) ? Days(7) : (1 + rng.Below(200)) * Hours(1);
  rc.options.duration_resolution = rng.Pick(std::vector<int64_t>{Hours(1), Days(1), Hours(5), Days(7)});
  rc.options.threads = 1;
  return rc;
}

struct UnitChoice {
  Units units;
  std::vector<std::string> owner_names;  // independent, per deal
};

UnitChoice ChooseUnits(Rng& rng, const EventLog& log, bool with_segment) {
  UnitChoice out;
  switch (rng.Below(with_segment ? 6 : 5)) {
    case 0:
    case 1:
    case 2: {
      const OwnerRule rule = static_cast<OwnerRule>(rng.Below(3));
      auto u = UnitsByRep(log, rule);
      EXPECT_TRUE(u.ok());
      out.units = *u;
      out.owner_names = ReferenceOwners(log, rule);
      break;
    }
    case 3: {
      out.units = SingleUnit(log, "everyone");
      out.owner_names.assign(static_cast<size_t>(log.num_deals()), "everyone");
      break;
    }
    case 4: {
      std::vector<int32_t> codes;
      for (int32_t d = 0; d < log.num_deals(); ++d) codes.push_back(static_cast<int32_t>(rng.Below(3)));
      auto u = UnitsFromCodes(log, codes, {"zeta", "alpha", "mid"});
      EXPECT_TRUE(u.ok());
      out.units = *u;
      for (int32_t c : codes) out.owner_names.push_back(out.units.names[static_cast<size_t>(c)]);
      break;
    }
    default: {
      auto u = UnitsByDimension(log, "segment");
      EXPECT_TRUE(u.ok());
      out.units = *u;
      const auto& dims = log.dimensions();
      for (int32_t d = 0; d < log.num_deals(); ++d) {
        std::string n(kNoUnitName);
        for (int64_t k = log.deal_offsets()[static_cast<size_t>(d)]; k < log.deal_offsets()[static_cast<size_t>(d) + 1]; ++k) {
          const int32_t code = dims[0].codes[static_cast<size_t>(k)];
          if (code >= 0) {
            n = dims[0].dictionary.Label(code);
            break;
          }
        }
        out.owner_names.push_back(n);
      }
      break;
    }
  }
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    EXPECT_EQ(out.units.names[static_cast<size_t>(out.units.of_deal[static_cast<size_t>(d)])],
              out.owner_names[static_cast<size_t>(d)]);
  }
  return out;
}

constexpr int kRandomCases = 200;

TEST(IndicatorsRandom, MatchesTheSlowReferenceAndTheMergeLaws) {
  Rng rng(20260301);
  int compared = 0, with_cells = 0, splits = 0;
  int64_t total_fields = 0;
  std::map<std::string, int64_t> seen;  // per figure, over every case
  for (int i = 0; i < kRandomCases; ++i) {
    SCOPED_TRACE(i);
    RandomCase rc = MakeRandomCase(rng);
    EventLog log = BuildLog(rc.rows, rc.with_amount, rc.with_segment);
    auto machine = Compile(rc.model, log);
    ASSERT_TRUE(machine.ok()) << machine.status();
    auto tl = RunStages(*machine, log, rc.run);
    ASSERT_TRUE(tl.ok()) << tl.status();
    UnitChoice uc = ChooseUnits(rng, log, rc.with_segment);

    auto whole = ComputeIndicators(*machine, log, *tl, uc.units, rc.options);
    ASSERT_TRUE(whole.ok()) << whole.status();
    ExpectCanonical(*whole);
    const Figures want = Reference(log, *tl, rc.model, uc.owner_names, rc.options);
    const std::string diff = Diff(want, Read(*whole));
    EXPECT_EQ(diff, "") << "calendar " << rc.options.calendar.Spec();
    ++compared;
    with_cells += whole->num_cells() > 0;
    total_fields += static_cast<int64_t>(want.fields.size());
    for (const auto& [k, v] : want.fields) {
      const std::string& f = std::get<2>(k);
      seen[f.substr(0, f.find(':'))] += static_cast<int64_t>(v);
    }

    // Round trip.
    const std::string bytes = whole->Serialize();
    auto back = Indicators::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *whole);

    // Merge laws: random contiguous ranges, merged in random order.
    auto empty = Indicators::Create(*machine, tl->as_of, rc.options);
    ASSERT_TRUE(empty.ok());
    const int32_t nd = log.num_deals();
    const int64_t parts = 2 + rng.Below(3);
    std::vector<int32_t> cuts = {0, nd};
    for (int64_t p = 1; p < parts; ++p) cuts.push_back(static_cast<int32_t>(rng.Below(nd + 1)));
    std::sort(cuts.begin(), cuts.end());
    std::vector<Indicators> pieces;
    for (size_t p = 0; p + 1 < cuts.size(); ++p) {
      Indicators piece = *empty;
      ASSERT_TRUE(piece.Update(log, *tl, uc.units, cuts[p], cuts[p + 1]).ok());
      pieces.push_back(std::move(piece));
    }
    for (size_t p = pieces.size(); p > 1; --p) std::swap(pieces[p - 1], pieces[static_cast<size_t>(rng.Below(static_cast<int64_t>(p)))]);
    Indicators merged = *empty;
    for (const Indicators& piece : pieces) ASSERT_TRUE(merged.Merge(piece).ok());
    EXPECT_TRUE(merged == *whole);
    EXPECT_EQ(merged.Serialize(), bytes);
    ++splits;
    // Pairwise in another association: (p0 + (p1 + ...)).
    Indicators right = pieces.back();
    for (size_t p = pieces.size() - 1; p-- > 0;) {
      Indicators left = pieces[p];
      ASSERT_TRUE(left.Merge(right).ok());
      right = std::move(left);
    }
    EXPECT_TRUE(right == *whole);
    // Updating an accumulator range by range gives the same.
    Indicators stepwise = *empty;
    for (size_t p = 0; p + 1 < cuts.size(); ++p) ASSERT_TRUE(stepwise.Update(log, *tl, uc.units, cuts[p], cuts[p + 1]).ok());
    EXPECT_TRUE(stepwise == *whole);
    // The empty accumulator is the identity, on either side.
    Indicators left_id = *empty;
    ASSERT_TRUE(left_id.Merge(*whole).ok());
    EXPECT_TRUE(left_id == *whole);
    Indicators right_id = *whole;
    ASSERT_TRUE(right_id.Merge(*empty).ok());
    EXPECT_TRUE(right_id == *whole);
    // Adding the deals twice doubles every figure.
    Indicators twice = *whole;
    ASSERT_TRUE(twice.Merge(twice).ok());
    Indicators again = *whole;
    ASSERT_TRUE(again.Update(log, *tl, uc.units).ok());
    EXPECT_TRUE(twice == again);

    // RollUp into random groups equals computing by those groups directly.
    if (whole->num_units() > 0) {
      std::vector<int32_t> parent;
      for (int32_t u = 0; u < whole->num_units(); ++u) parent.push_back(static_cast<int32_t>(rng.Below(2)));
      auto rolled = whole->RollUp(parent, {"g1", "g0"}, "group");
      ASSERT_TRUE(rolled.ok());
      std::vector<int32_t> group_of_deal;
      for (int32_t d = 0; d < nd; ++d) {
        const std::string& n = uc.units.names[static_cast<size_t>(uc.units.of_deal[static_cast<size_t>(d)])];
        const auto u = std::find(whole->unit_names().begin(), whole->unit_names().end(), n) - whole->unit_names().begin();
        // A unit without cells (no figures) may go to either group: it adds nothing.
        group_of_deal.push_back(u < whole->num_units() ? parent[static_cast<size_t>(u)] : 0);
      }
      auto groups = UnitsFromCodes(log, group_of_deal, {"g1", "g0"}, "group");
      ASSERT_TRUE(groups.ok());
      auto direct = ComputeIndicators(*machine, log, *tl, *groups, rc.options);
      ASSERT_TRUE(direct.ok());
      EXPECT_TRUE(*rolled == *direct);
    }
  }
  EXPECT_EQ(compared, kRandomCases);
  EXPECT_GT(with_cells, kRandomCases * 9 / 10);
  EXPECT_GT(total_fields, 20 * kRandomCases);  // the comparisons are not vacuous
  EXPECT_EQ(splits, kRandomCases);
  // The random models do exercise what the definitions are about.
  for (const char* f : {"answered", "regressed", "reopened", "excluded_open", "stalled", "pending",
                        "failed", "advanced", "won_in_window", "won_pending", "won_failed", "lost_dollars",
                        "won_dollars", "stalled_dollars", "created_dollars", "dollars_entered"}) {
    EXPECT_GT(seen[f], 0) << f;
  }
}

// Durations over two centuries at a 1 ns resolution: step counts beyond the fast
// division's range, and buckets in the top doublings.
TEST(IndicatorsRandom, ExtremeDurationsMatchTheReference) {
  Rng rng(77);
  const int64_t year = Days(365);
  int64_t huge_buckets = 0;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::vector<Ev> rows;
    const int64_t deals = 1 + rng.Below(6);
    for (int64_t d = 0; d < deals; ++d) {
      const std::string deal = "x" + std::to_string(d);
      int64_t t = Days(365) + rng.Below(50) * year + rng.Below(1000) * Hours(1);
      for (int64_t n = 1 + rng.Below(5), k = 0; k < n; ++k) {
        rows.push_back({deal, t, rng.Pick(std::vector<std::string>{"created", "need", "call", "sign", "decline"}),
                        rng.Pick(std::vector<std::string>{"ana", "bo", ""}), static_cast<double>(rng.Below(1000))});
        t += rng.Below(40) * year + rng.Below(1'000'000'000);
      }
    }
    EventLog log = BuildLog(rows);
    StageModel model;
    model.AddStage("Lead").Any({"created"});
    model.AddStage("Qualified").Any({"need"}).Window(Days(30));
    model.Won().Any({"sign"});
    model.Lost().Any({"decline"});
    RunOptions ro;
    ro.as_of = 7'200'000'000'000'000'000;  // 2198
    StageRun run = RunModel(model, log, ro);
    IndicatorOptions o;
    o.calendar = Calendar(rng.Percent(50) ? Grain::kYear : Grain::kDay);
    o.duration_resolution = rng.Percent(70) ? 1 : 3;
    auto units = UnitsByRep(log);
    ASSERT_TRUE(units.ok());
    Indicators ind = MustCompute(run, log, *units, o);
    ExpectCanonical(ind);
    EXPECT_EQ(Diff(Reference(log, run.timelines, model, ReferenceOwners(log, OwnerRule::kMostActive), o), Read(ind)), "");
    for (const DurationBin& b : ind.duration_bins()) huge_buckets += b.bucket > 3000 ? 1 : 0;
  }
  EXPECT_GT(huge_buckets, 0);  // decades at 1 ns reach the top doublings (max bucket 3711)
}

// Durations at and just below whole multiples of awkward resolutions land in exactly
// the bucket of the floored step count (the accumulator divides by a reciprocal, then
// corrects).
TEST(IndicatorsRandom, BucketsAreExactFloors) {
  StageModel model;
  model.AddStage("Lead").Any({"created"});
  model.AddStage("Qualified").Any({"need"});
  model.Won().Any({"sign"});
  model.Lost().Any({"decline"});
  for (const int64_t resolution : {int64_t{3}, int64_t{7}, int64_t{1'000'003}, Hours(7), Days(3) + 1,
                                   int64_t{999'999'937}}) {
    SCOPED_TRACE(resolution);
    std::vector<Ev> rows;
    std::map<int64_t, int64_t> want;  // bucket -> deals
    for (int64_t n = 1; n <= 150; ++n) {
      for (const int64_t minus : {int64_t{0}, int64_t{1}}) {
        const std::string deal = "q" + std::to_string(n) + "_" + std::to_string(minus);
        const int64_t duration = n * resolution - minus;
        rows.push_back({deal, kT0, "created", "ana"});
        rows.push_back({deal, kT0 + duration, "need", "ana"});
        ++want[RefBucket(duration / resolution)];
      }
    }
    EventLog log = BuildLog(rows);
    RunOptions ro;
    ro.as_of = kT0 + 200 * resolution;
    StageRun run = RunModel(model, log, ro);
    IndicatorOptions o;
    o.calendar = Calendar(Grain::kYear);
    o.duration_resolution = resolution;
    Indicators ind = MustCompute(run, log, SingleUnit(log), o);
    std::map<int64_t, int64_t> got;
    for (const DurationBin& b : ind.duration_bins()) {
      if (b.stage == 0) got[b.bucket] += b.observed;
    }
    EXPECT_EQ(got, want);
  }
}

// ---- 4. Bytes ----------------------------------------------------------------------

class BytesTest : public HandTest {};

TEST_F(BytesTest, RoundTripAndLayout) {
  const std::string bytes = ind_.Serialize();
  auto back = Indicators::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == ind_);
  EXPECT_EQ(back->Serialize(), bytes);
  EXPECT_EQ(bytes.substr(0, 8), kMagic);
  EXPECT_EQ(bytes[8], 1);  // version, little-endian
  EXPECT_EQ(bytes[12], 0);  // flags
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i) size |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[static_cast<size_t>(16 + i)])) << (8 * i);
  EXPECT_EQ(size + 32, bytes.size());
  uint64_t checksum = 0;
  for (int i = 0; i < 8; ++i) {
    checksum |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[bytes.size() - 8 + static_cast<size_t>(i)])) << (8 * i);
  }
  EXPECT_EQ(checksum, Fnv1a64(std::string_view(bytes).substr(24, size)));
  // The payload starts with the calendar spec.
  EXPECT_EQ(bytes.substr(24, 9), std::string("\x05\0\0\0month", 9));
  // An empty accumulator round-trips too.
  auto empty = Indicators::Create(run_.machine, At(50), HandOptions());
  ASSERT_TRUE(empty.ok());
  auto empty_back = Indicators::Deserialize(empty->Serialize());
  ASSERT_TRUE(empty_back.ok()) << empty_back.status();
  EXPECT_TRUE(*empty_back == *empty);
}

TEST_F(BytesTest, EveryTruncationIsDataLoss) {
  const std::string bytes = ind_.Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = Indicators::Deserialize(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << n << " " << r.status();
  }
  auto longer = Indicators::Deserialize(bytes + "x");
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(BytesTest, EveryFlippedByteIsAnError) {
  const std::string bytes = ind_.Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(static_cast<uint8_t>(bad[i]) ^ mask);
      auto r = Indicators::Deserialize(bad);
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_TRUE(r.status().code() == absl::StatusCode::kDataLoss ||
                  (i >= 8 && i < 12 && r.status().code() == absl::StatusCode::kFailedPrecondition))
          << i << " " << r.status();
    }
  }
}

// Corrupted payloads with a valid checksum (so the checks behind it are reached): never
// a crash or a huge allocation, and what is accepted is canonical and round-trips.
TEST_F(BytesTest, CorruptedPayloadsBehindAValidChecksum) {
  const std::string bytes = ind_.Serialize();
  auto payload = UnwrapState(bytes, kMagic, 1, "indicators");
  ASSERT_TRUE(payload.ok());
  const std::string p(*payload);
  int rejected = 0, accepted = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x10}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = p;
      bad[i] = static_cast<char>(static_cast<uint8_t>(bad[i]) ^ mask);
      auto r = Indicators::Deserialize(WrapState(kMagic, 1, bad));
      if (r.ok()) {
        ++accepted;
        ExpectCanonical(*r);
        EXPECT_EQ(r->Serialize(), WrapState(kMagic, 1, bad));
      } else {
        ++rejected;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i << " " << r.status();
      }
    }
    // Truncated payloads, re-wrapped.
    auto r = Indicators::Deserialize(WrapState(kMagic, 1, std::string_view(p).substr(0, i)));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);  // flipped counter bits give other, valid states
  // Hostile counts: the cell count set to 2^62 must not allocate.
  std::string hostile = p;
  const size_t at = hostile.size() - 8 - ind_.duration_bins().size() * 32 -
                    static_cast<size_t>(ind_.num_cells()) * (12 + 8 * static_cast<size_t>(ind_.block_size()) +
                                                              16 * static_cast<size_t>(ind_.dollar_block_size())) -
                    8;
  uint64_t cells = 0;
  for (int k = 0; k < 8; ++k) cells |= static_cast<uint64_t>(static_cast<uint8_t>(hostile[at + static_cast<size_t>(k)])) << (8 * k);
  ASSERT_EQ(cells, static_cast<uint64_t>(ind_.num_cells()));
  hostile[at + 7] = 0x40;
  auto r = Indicators::Deserialize(WrapState(kMagic, 1, hostile));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("cell count"), std::string_view::npos) << r.status();
}

TEST_F(BytesTest, OtherVersionsAndMagic) {
  const std::string bytes = ind_.Serialize();
  auto payload = UnwrapState(bytes, kMagic, 1, "indicators");
  ASSERT_TRUE(payload.ok());
  auto v2 = Indicators::Deserialize(WrapState(kMagic, 2, *payload));
  EXPECT_EQ(v2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(v2.status().message(), "indicators state version 2, this build reads 1");
  auto other = Indicators::Deserialize(WrapState("SPOTHER\1", 1, *payload));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(other.status().message().find("not a salesperf indicators state"), std::string_view::npos);
  EXPECT_EQ(Indicators::Deserialize("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(State, WriterReaderAndEnvelope) {
  StateWriter w;
  w.U8(7);
  w.U32(0x01020304);
  w.U64(0x0102030405060708ULL);
  w.I32(-2);
  w.I64(-3);
  w.String("hé");
  const std::vector<int64_t> many = {1, -1, std::numeric_limits<int64_t>::min()};
  w.I64s(many);
  EXPECT_EQ(w.bytes().substr(1, 4), std::string("\x04\x03\x02\x01", 4));
  const std::string framed = WrapState("TESTSTA\1", 3, w.bytes());
  auto payload = UnwrapState(framed, "TESTSTA\1", 3, "test");
  ASSERT_TRUE(payload.ok());
  StateReader r(*payload);
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  std::string s;
  std::vector<int64_t> back(3);
  ASSERT_TRUE(r.U8(u8, "a").ok());
  ASSERT_TRUE(r.U32(u32, "b").ok());
  ASSERT_TRUE(r.U64(u64, "c").ok());
  ASSERT_TRUE(r.I32(i32, "d").ok());
  ASSERT_TRUE(r.I64(i64, "e").ok());
  ASSERT_TRUE(r.String(s, "f").ok());
  ASSERT_TRUE(r.I64s(back, "g").ok());
  EXPECT_TRUE(r.Done().ok());
  EXPECT_EQ(u8, 7);
  EXPECT_EQ(u32, 0x01020304u);
  EXPECT_EQ(u64, 0x0102030405060708ULL);
  EXPECT_EQ(i32, -2);
  EXPECT_EQ(i64, -3);
  EXPECT_EQ(s, "hé");
  EXPECT_EQ(back, many);
  absl::Status st = r.U32(u32, "the widget count");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("the widget count"), std::string_view::npos) << st;
  StateReader counts(std::string_view("\x05\0\0\0abcd", 8));
  st = counts.Count32(u32, 1, "names");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);  // 5 names cannot fit in 4 bytes
  EXPECT_EQ(counts.position(), 0u);
  EXPECT_EQ(Fnv1a64(""), 14695981039346656037ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);  // the published FNV-1a 64 test vector
  // Envelope errors.
  EXPECT_NE(UnwrapState(framed.substr(0, framed.size() - 1), "TESTSTA\1", 3, "test").status().message().find("truncated"),
            std::string_view::npos);
  std::string flipped = framed;
  flipped[30] = static_cast<char>(flipped[30] ^ 1);
  EXPECT_EQ(UnwrapState(flipped, "TESTSTA\1", 3, "test").status().message(), "test state checksum mismatch: the bytes are corrupted");
  std::string flags = framed;
  flags[12] = 1;
  EXPECT_EQ(UnwrapState(flags, "TESTSTA\1", 3, "test").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(UnwrapState(framed, "TESTSTA\1", 4, "test").status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---- 5. The synthetic company ------------------------------------------------------

TEST(IndicatorsSynthetic, TotalsMatchAnIndependentCount) {
  const EventLog log = SynthLog(50'000, 5);
  RunOptions ro;
  ro.threads = 1;
  StageRun run = RunModel(SynthModel(), log, ro);
  const Timelines& tl = run.timelines;
  auto units = UnitsByRep(log);
  ASSERT_TRUE(units.ok());
  IndicatorOptions o;
  o.threads = 1;
  o.conversion_window = Days(60);
  Indicators one = MustCompute(run, log, *units, o);
  ExpectCanonical(one);
  for (int threads : {2, 3}) {
    o.threads = threads;
    Indicators many = MustCompute(run, log, *units, o);
    EXPECT_TRUE(many == one) << threads;
    EXPECT_EQ(many.Serialize(), one.Serialize()) << threads;
  }
  const Figures f = Read(one);
  std::map<std::string, int64_t> total;
  for (const auto& [k, v] : f.fields) total[std::get<2>(k)] += static_cast<int64_t>(v);

  // Events.
  int64_t occurrences = 0;
  for (const auto& [k, v] : total) {
    if (k.rfind("occurrences:", 0) == 0) occurrences += v;
  }
  EXPECT_EQ(occurrences, log.size());
  std::map<std::string, int64_t> by_action;
  std::set<std::tuple<int32_t, int64_t, int32_t>> deal_month_action;
  const Calendar months(Grain::kMonth);
  for (int64_t k = 0; k < log.size(); ++k) {
    const auto kz = static_cast<size_t>(k);
    ++by_action[log.actions().Label(log.action()[kz])];
    deal_month_action.insert({log.deal()[kz], months.PeriodIndex(log.time()[kz]), log.action()[kz]});
  }
  int64_t distinct = 0;
  for (const auto& [a, n] : by_action) {
    EXPECT_EQ(total["occurrences:" + a], n) << a;
    distinct += total["deals:" + a];
  }
  EXPECT_EQ(distinct, static_cast<int64_t>(deal_month_action.size()));
  // Transitions.
  std::set<int32_t> with_transition;
  int64_t won = 0, lost = 0;
  for (size_t r = 0; r < tl.transitions.size(); ++r) {
    with_transition.insert(tl.transitions.deal[r]);
    won += tl.transitions.kind[r] == static_cast<uint8_t>(TransitionKind::kWon);
    lost += tl.transitions.kind[r] == static_cast<uint8_t>(TransitionKind::kLost);
  }
  EXPECT_EQ(total["created"], static_cast<int64_t>(with_transition.size()));
  EXPECT_EQ(total["won"], won);
  EXPECT_EQ(total["lost"], lost);
  EXPECT_GT(won, 100);
  // First entries, per stage.
  const auto S = static_cast<size_t>(tl.num_stages());
  for (size_t s = 0; s < S; ++s) {
    int64_t entered = 0;
    for (size_t d = 0; d < static_cast<size_t>(log.num_deals()); ++d) entered += tl.first_entered[d * S + s] != kNullInstant;
    EXPECT_EQ(total["deals_entered:" + tl.stage_names[s]], entered) << tl.stage_names[s];
  }
  // Stalled deals.
  int64_t stalled = 0;
  for (uint8_t oc : tl.outcome) stalled += oc == static_cast<uint8_t>(Outcome::kStalled);
  EXPECT_EQ(total["stalled"], stalled);
  EXPECT_GT(stalled, 0);
  // Open deals per unit at the end: the running sum of the flow equals a direct count.
  std::map<std::string, int64_t> open_by_flow, open_direct;
  for (const auto& [k, v] : f.fields) {
    const std::string& field = std::get<2>(k);
    const int64_t n = static_cast<int64_t>(v);
    if (field == "created" || field == "reopened") open_by_flow[std::get<0>(k)] += n;
    if (field == "won" || field == "lost" || field == "excluded_open") open_by_flow[std::get<0>(k)] -= n;
  }
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    const auto oc = static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]);
    if ((oc == Outcome::kOpen || oc == Outcome::kStalled) && tl.current_stage[static_cast<size_t>(d)] >= 0) {
      ++open_direct[units->names[static_cast<size_t>(units->of_deal[static_cast<size_t>(d)])]];
    }
  }
  for (const auto& [u, n] : open_direct) EXPECT_EQ(open_by_flow[u], n) << u;
  // Every deal has exactly one cycle-time entry (each deal has a stage).
  int64_t cycle = 0;
  for (const auto& [k, v] : f.bins) {
    if (std::get<2>(k) == -1) cycle += v.first + v.second;
  }
  EXPECT_EQ(cycle, static_cast<int64_t>(with_transition.size()));

  // Rolling reps up into teams equals computing by team.
  auto by_team = UnitsByDimension(log, "team");
  ASSERT_TRUE(by_team.ok());
  o.threads = 1;
  Indicators teams = MustCompute(run, log, *by_team, o);
  std::map<std::string, std::string> team_of_rep;
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    team_of_rep[units->names[static_cast<size_t>(units->of_deal[static_cast<size_t>(d)])]] =
        by_team->names[static_cast<size_t>(by_team->of_deal[static_cast<size_t>(d)])];
  }
  std::vector<int32_t> parent;
  for (const std::string& rep : one.unit_names()) {
    const std::string& team = team_of_rep[rep];
    parent.push_back(static_cast<int32_t>(std::find(teams.unit_names().begin(), teams.unit_names().end(), team) -
                                          teams.unit_names().begin()));
  }
  auto rolled = one.RollUp(parent, teams.unit_names(), "team");
  ASSERT_TRUE(rolled.ok());
  EXPECT_TRUE(*rolled == teams);
  auto everything = one.RollUp(std::vector<int32_t>(static_cast<size_t>(one.num_units()), 0), {"all"}, "all");
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(*everything == MustCompute(run, log, SingleUnit(log), o));
}

// Not a benchmark (bench/ has those): a rough events/s figure for the log, and a
// guard against a pathological slowdown.
TEST(IndicatorsSynthetic, UpdateSpeed) {
  const EventLog log = SynthLog(400'000, 9);
  StageRun run = RunModel(SynthModel(), log);
  auto units = UnitsByRep(log);
  ASSERT_TRUE(units.ok());
  IndicatorOptions o;
  o.threads = 1;
  double best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    Indicators ind = MustCompute(run, log, *units, o);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    ASSERT_GT(ind.num_cells(), 0);
  }
  const double rate = static_cast<double>(log.size()) / best;
  std::printf("indicators: %lld events, %lld deals, %.1f M events/s on one thread\n",
              static_cast<long long>(log.size()), static_cast<long long>(log.num_deals()), rate / 1e6);
  EXPECT_GT(rate, 1e6);
}

}  // namespace
}  // namespace salesperf

namespace salesperf {
namespace {

// The log-linear duration buckets, against their definition read literally: exact below
// 128 steps; then each doubling [2^j, 2^(j+1)) cut into 64 equal parts.
TEST(DurationBuckets, FollowTheirDefinition) {
  EXPECT_EQ(DurationBucket(0), 0);
  EXPECT_EQ(DurationBucket(127), 127);
  EXPECT_EQ(DurationBucket(128), 128);   // [128, 256) in steps of 2
  EXPECT_EQ(DurationBucket(129), 128);
  EXPECT_EQ(DurationBucket(130), 129);
  EXPECT_EQ(DurationBucket(255), 191);
  EXPECT_EQ(DurationBucket(256), 192);   // [256, 512) in steps of 4
  EXPECT_EQ(DurationBucket(259), 192);
  EXPECT_EQ(DurationBucket(260), 193);
  EXPECT_EQ(BucketLowerSteps(193), 260);
  EXPECT_EQ(DurationBucket(std::numeric_limits<int64_t>::max()), 3711);
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  int64_t previous_bucket = -1, previous_steps = -1;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const int shift = static_cast<int>(x % 62);
    const auto v = static_cast<int64_t>((x >> 2) >> shift);
    const int64_t b = DurationBucket(v);
    const int64_t lo = BucketLowerSteps(b);
    ASSERT_LE(lo, v);
    ASSERT_EQ(DurationBucket(lo), b);
    if (v >= 128) {
      ASSERT_LT(static_cast<double>(v - lo), static_cast<double>(v) / 64.0) << v;
    } else {
      ASSERT_EQ(lo, v);
    }
  }
  for (int64_t v = 0; v < 100000; ++v) {  // monotone, no bucket skipped
    const int64_t b = DurationBucket(v);
    ASSERT_TRUE(b == previous_bucket || b == previous_bucket + 1) << v;
    if (b != previous_bucket) {
      ASSERT_EQ(BucketLowerSteps(b), v);
    }
    previous_bucket = b;
    previous_steps = v;
  }
  EXPECT_EQ(previous_steps, 99999);
}

}  // namespace
}  // namespace salesperf

namespace salesperf {
namespace {

// 128-bit sums go out as i64 low then i64 high, and come back whatever their sign.
TEST(State, Int128RoundTripsAtItsExtremes) {
  const Int128 big = (static_cast<Int128>(1) << 100) + 12345;
  const std::vector<Int128> values = {0, 1, -1, big, -big,
                                      static_cast<Int128>(std::numeric_limits<int64_t>::min()) - 1};
  StateWriter w;
  for (const Int128 v : values) w.I128(v);
  ASSERT_EQ(w.bytes().size(), 16 * values.size());
  EXPECT_EQ(static_cast<uint8_t>(w.bytes()[16]), 0x01);  // 1: low word first
  EXPECT_EQ(static_cast<uint8_t>(w.bytes()[47]), 0xff);  // -1: high word all ones
  StateReader r(w.bytes());
  for (const Int128 v : values) {
    Int128 back = 0;
    ASSERT_TRUE(r.I128(back, "value").ok());
    EXPECT_TRUE(back == v);
  }
  Int128 extra = 7;
  absl::Status s = r.I128(extra, "one more");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(extra == 7);  // left unchanged
}

}  // namespace
}  // namespace salesperf

// ---- Merge and RollUp overflow, the default state (fuzz findings: issue 9) ----------

namespace salesperf {
namespace {

using raw_indicators::kIndMagic;
using raw_indicators::kJanuary;
using raw_indicators::kMax128;
using raw_indicators::kMax64;
using raw_indicators::kMin128;
using raw_indicators::MustParseInd;
using raw_indicators::OffAction;
using raw_indicators::OffCell;
using raw_indicators::OffCohort;
using raw_indicators::OffDollar;
using raw_indicators::OffStage;
using raw_indicators::RawCell;
using raw_indicators::RawIndicators;

// A merge that must fail with OutOfRange, name every word given, and change nothing.
void ExpectMergeOverflow(Indicators& into, const Indicators& other, const std::vector<std::string>& words) {
  const Indicators before = into;
  const absl::Status s = into.Merge(other);
  ASSERT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  for (const std::string& w : words) {
    EXPECT_NE(std::string(s.message()).find(w), std::string::npos) << "'" << w << "' not in: " << s.message();
  }
  EXPECT_TRUE(into == before) << "a failed merge changed the accumulator";
  EXPECT_EQ(into.Serialize(), before.Serialize());
}

TEST(IndicatorsMergeOverflow, CountersAreOutOfRangeAndLeaveTheStateUnchanged) {
  constexpr int32_t A = 0;
  // ana, 2026-01: won INT64_MAX - 5 (plus a February cell); the other side's 6 overflow.
  Indicators x = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(A, kWon), kMax64 - 5}}, {}}, {0, kJanuary + 1, {{OffCell(A, kLost), 1}}, {}}},
      {}, {"", {}, Hours(1)}));
  ASSERT_EQ(x.cell(0, kWon), kMax64 - 5);
  const Indicators y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{OffCell(A, kWon), 6}}, {}}}));
  ExpectMergeOverflow(x, y, {"merging would overflow the count of won for unit 'ana' (period 2026-01)"});
  EXPECT_EQ(x.unit_kind(), "") << "a failed merge took the other's unit kind";
  // In the other order, and with itself.
  Indicators y2 = y;
  ExpectMergeOverflow(y2, x, {"count of won", "unit 'ana'", "2026-01"});
  Indicators self = x;
  ExpectMergeOverflow(self, x, {"count of won", "unit 'ana'"});
  // Other unit lists (the relayout path): bo is new, ana's January overflows.
  const Indicators z = MustParseInd(RawIndicators(
      {"ana", "bo"}, {{0, kJanuary, {{OffCell(A, kWon), 6}}, {}}, {1, kJanuary, {{OffCell(A, kWon), 1}}, {}}}));
  ExpectMergeOverflow(x, z, {"count of won for unit 'ana' (period 2026-01)"});
  EXPECT_EQ(x.num_units(), 1);
}

TEST(IndicatorsMergeOverflow, EveryKindOfFieldIsNamed) {
  // Each field at INT64_MAX on one side and 1 on the other, with an action "call" (seller).
  const std::vector<std::pair<std::string, Actor>> call = {{"call", Actor::kSeller}};
  constexpr int32_t A = 1;
  const std::pair<int, std::string> fields[] = {
      {OffAction(0, kOccurrences), "occurrences:call"}, {OffAction(0, kAnswered), "answered:call"},
      {OffStage(A, 0, kEntries), "entries:Open"},       {OffStage(A, 2, kValuedEntered), "valued_entered:Lost"},
      {OffCohort(A, kAdvanced), "advanced:Open"},       {OffCohort(A, kWonPending), "won_pending:Open"},
      {OffCell(A, kCreated), "created"},                {OffCell(A, kStalledValued), "stalled_valued"},
  };
  for (const auto& [off, name] : fields) {
    SCOPED_TRACE(name);
    std::map<int, int64_t> big, one;  // "call" occurs (a canonical state), `off` set
    big[OffAction(0, kOccurrences)] = one[OffAction(0, kOccurrences)] = 1;
    big[off] = kMax64;
    one[off] = 1;
    Indicators x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, big, {}}}, {}, {"rep", call, Hours(1)}));
    const Indicators y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, one, {}}}, {}, {"rep", call, Hours(1)}));
    ExpectMergeOverflow(x, y, {"the count of " + name + " for unit 'ana' (period 2026-01)"});
  }
}

TEST(IndicatorsMergeOverflow, DollarSumsAndBinsAreNamed) {
  constexpr int32_t A = 0;
  const int won = OffCell(A, kWon);
  // Dollar sums at either end of the Int128 range.
  Indicators x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{OffDollar(kWonDollars), kMax128}}}}));
  Indicators y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{OffDollar(kWonDollars), 1}}}}));
  ExpectMergeOverflow(x, y, {"the dollar sum of won_dollars for unit 'ana' (period 2026-01)"});
  x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{OffDollar(kLostDollars), kMin128 + 1}}}}));
  y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{OffDollar(kLostDollars), -2}}}}));
  ExpectMergeOverflow(x, y, {"the dollar sum of lost_dollars for unit 'ana'"});
  x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{1, kMax128 - 1}}}}));  // dollars_entered:Won
  y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {{1, 2}}}}));
  ExpectMergeOverflow(x, y, {"the dollar sum of dollars_entered:Won for unit 'ana'"});
  // Duration bins: cycle time (stage -1) observed, time in Open (stage 0) censored.
  x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {}}}, {{0, -1, 5, kMax64, 0}}));
  y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {}}}, {{0, -1, 5, 1, 0}}));
  ExpectMergeOverflow(x, y, {"count of observed durations of cycle_time (bucket 5) for unit 'ana' (period 2026-01)"});
  x = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {}}}, {{0, 0, 7, 1, kMax64 - 1}}));
  y = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{won, 1}}, {}}}, {{0, 0, 7, 0, 2}}));
  ExpectMergeOverflow(x, y, {"count of censored durations of time_in_stage:Open (bucket 7) for unit 'ana'"});
}

TEST(IndicatorsMergeOverflow, SumsUpToTheLimitAreExact) {
  constexpr int32_t A = 0;
  const int won = OffCell(A, kWon), lost = OffCell(A, kLost);
  Indicators x = MustParseInd(RawIndicators(
      {"ana"},
      {{0, kJanuary, {{won, kMax64 - 6}}, {{OffDollar(kWonDollars), kMax128 - 10}, {OffDollar(kLostDollars), kMin128 + 10}}},
       {0, kJanuary + 1, {{lost, 3}}, {}}},
      {{0, -1, 2, kMax64 - 1, 4}}));
  const Indicators y = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{won, 6}, {lost, 2}}, {{OffDollar(kWonDollars), 10}, {OffDollar(kLostDollars), -10}}}},
      {{0, -1, 2, 1, 5}}));
  ASSERT_TRUE(x.Merge(y).ok());
  ASSERT_EQ(x.num_cells(), 2);
  EXPECT_EQ(x.cell(0, kWon), kMax64);  // (2^63 - 7) + 6
  EXPECT_EQ(x.cell(0, kLost), 2);
  EXPECT_EQ(x.cell(1, kLost), 3);  // February: x's alone
  EXPECT_TRUE(x.dollars_fixed(0, kWonDollars) == kMax128);
  EXPECT_TRUE(x.dollars_fixed(0, kLostDollars) == kMin128);
  ASSERT_EQ(x.duration_bins().size(), 1u);
  EXPECT_EQ(x.duration_bins()[0].observed, kMax64);  // (2^63 - 2) + 1
  EXPECT_EQ(x.duration_bins()[0].censored, 9);       // 4 + 5
  auto back = Indicators::Deserialize(x.Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == x);
}

TEST_F(HandTest, MergedWithItselfEveryFigureAddsUp) {
  Indicators thrice = ind_;
  ASSERT_TRUE(thrice.Merge(ind_).ok());
  ASSERT_TRUE(thrice.Merge(ind_).ok());
  const Figures f = Read(thrice);
  // HandTest.TransitionsAndDollars's figures, three times over.
  EXPECT_EQ(Get(f, "ana", kJan, "progressed"), 9);
  EXPECT_EQ(Get(f, "ana", kJan, "created_dollars"), 3000 * kDollarScale);
  EXPECT_EQ(Get(f, "ana", kFeb, "won"), 3);
  EXPECT_EQ(Get(f, "ana", kFeb, "won_dollars"), 3000 * kDollarScale);
  EXPECT_EQ(Get(f, "bo", kJan, "created_dollars"), 2700 * kDollarScale);
  EXPECT_EQ(Get(f, "(none)", kFeb, "lost"), 3);
  // HandTest.EventCounts's: ana's one call in January, bo's two (of one deal); 21 events.
  EXPECT_EQ(Get(f, "ana", kJan, "occurrences:call"), 3);
  EXPECT_EQ(Get(f, "bo", kJan, "occurrences:call"), 6);
  EXPECT_EQ(Get(f, "bo", kJan, "deals:call"), 3);
  int64_t total = 0;
  for (const auto& [k, v] : f.fields) {
    if (std::get<2>(k).rfind("occurrences:", 0) == 0) total += static_cast<int64_t>(v);
  }
  EXPECT_EQ(total, 63);
  ASSERT_EQ(thrice.duration_bins().size(), ind_.duration_bins().size());
  for (size_t i = 0; i < ind_.duration_bins().size(); ++i) {
    EXPECT_EQ(thrice.duration_bins()[i].observed, 3 * ind_.duration_bins()[i].observed) << i;
    EXPECT_EQ(thrice.duration_bins()[i].censored, 3 * ind_.duration_bins()[i].censored) << i;
  }
}

TEST(IndicatorsRollUpOverflow, IsOutOfRangeNamingTheGroup) {
  constexpr int32_t A = 0;
  const int won = OffCell(A, kWon);
  constexpr int64_t kHalf = int64_t{1} << 62;  // 2^62 + 2^62 = 2^63 > INT64_MAX
  const Indicators x = MustParseInd(RawIndicators(
      {"ana", "bo", "cy"},
      {{0, kJanuary, {{won, kHalf}}, {}}, {1, kJanuary, {{won, kHalf}}, {}}, {2, kJanuary, {{won, kHalf}}, {}}}));
  const Indicators before = x;
  auto r = x.RollUp(std::vector<int32_t>{0, 0, 1}, {"team", "solo"}, "team");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  EXPECT_NE(std::string(r.status().message())
                .find("rolling up would overflow the count of won for group 'team' (period 2026-01)"),
            std::string::npos)
      << r.status();
  EXPECT_TRUE(x == before);
  // Each unit a group of its own: nothing is summed.
  auto own = x.RollUp(std::vector<int32_t>{0, 1, 2}, {"a", "b", "c"}, "team");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->cell(1, kWon), kHalf);
  // Bins of two units summed into the group's cell.
  const Indicators b = MustParseInd(RawIndicators(
      {"ana", "bo"}, {{0, kJanuary, {{won, 1}}, {}}, {1, kJanuary, {{won, 1}}, {}}},
      {{0, -1, 3, kHalf, 0}, {1, -1, 3, kHalf, 0}}));
  r = b.RollUp(std::vector<int32_t>{0, 0}, {"team"}, "team");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  EXPECT_NE(std::string(r.status().message())
                .find("rolling up would overflow the count of observed durations of cycle_time (bucket 3) for group "
                      "'team' (period 2026-01)"),
            std::string::npos)
      << r.status();
  // Dollar sums.
  const Indicators d = MustParseInd(RawIndicators({"ana", "bo"},
                                                  {{0, kJanuary, {{won, 1}}, {{OffDollar(kStalledDollars), kMax128}}},
                                                   {1, kJanuary, {{won, 1}}, {{OffDollar(kStalledDollars), 1}}}}));
  r = d.RollUp(std::vector<int32_t>{0, 0}, {"team"}, "team");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("dollar sum of stalled_dollars for group 'team'"), std::string::npos)
      << r.status();
}

TEST(IndicatorsRollUpOverflow, SumsUpToTheLimitAreExact) {
  constexpr int32_t A = 0;
  const int won = OffCell(A, kWon);
  constexpr int64_t kHalf = int64_t{1} << 62;
  const Indicators x = MustParseInd(RawIndicators(
      {"ana", "bo"}, {{0, kJanuary, {{won, kHalf}}, {}}, {1, kJanuary, {{won, kHalf - 1}}, {}}},
      {{0, -1, 3, kHalf - 1, 1}, {1, -1, 3, kHalf, 2}}));
  auto r = x.RollUp(std::vector<int32_t>{0, 0}, {"team"}, "team");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->num_cells(), 1);
  EXPECT_EQ(r->unit_names(), (std::vector<std::string>{"team"}));
  EXPECT_EQ(r->cell(0, kWon), kMax64);  // 2^62 + 2^62 - 1
  ASSERT_EQ(r->duration_bins().size(), 1u);
  EXPECT_EQ(r->duration_bins()[0].observed, kMax64);
  EXPECT_EQ(r->duration_bins()[0].censored, 3);
}

TEST(IndicatorsDefault, DefaultConstructedRoundTrips) {
  const Indicators d;
  const std::string bytes = d.Serialize();
  auto back = Indicators::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == Indicators());
  EXPECT_EQ(back->Serialize(), bytes);
  // Merge, RollUp and MakeTable on it: results (it holds nothing) or clean errors.
  Indicators m;
  ASSERT_TRUE(m.Merge(d).ok());
  EXPECT_TRUE(m == Indicators());
  auto rolled = d.RollUp({}, {"all"}, "all");
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(rolled->unit_kind(), "all");
  EXPECT_EQ(rolled->num_units(), 0);
  auto rolled_back = Indicators::Deserialize(rolled->Serialize());  // the fuzz target's round trip
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.status();
  EXPECT_TRUE(*rolled_back == *rolled);
  auto table = MakeTable(d);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(table->period_labels, (std::vector<std::string>{"all"}));
  // With a real accumulator: its settings differ.
  const Indicators real = MustParseInd(RawIndicators({"ana"}, {{0, kJanuary, {{OffCell(0, kWon), 1}}, {}}}));
  Indicators r = real;
  EXPECT_EQ(r.Merge(d).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(r == real);
  Indicators d2;
  EXPECT_EQ(d2.Merge(real).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(IndicatorsDefault, OnlyTheDefaultShapeIsAcceptedWithoutStages) {
  // The default's payload written out, with one setting changed at a time.
  auto payload = [](const std::string& spec, int64_t as_of, int64_t resolution, const std::string& kind) {
    StateWriter w;
    w.String(spec);
    w.I64(as_of);
    w.I64(Days(7));
    w.I64(resolution);
    w.U32(0);  // stages
    w.U32(0);  // open
    w.String(kind);
    w.U32(0);  // units
    w.U32(0);  // actions
    w.U64(0);  // cells
    w.U64(0);  // bins
    return WrapState(kIndMagic, Indicators::kFormatVersion, w.Release());
  };
  const std::string spec = Calendar().Spec();
  EXPECT_EQ(payload(spec, 0, Hours(1), ""), Indicators().Serialize());
  EXPECT_TRUE(Indicators::Deserialize(payload(spec, 0, Hours(1), "")).ok());
  EXPECT_TRUE(Indicators::Deserialize(payload(spec, 0, Hours(1), "all")).ok());  // what RollUp gives it
  const std::string other_spec = spec == "week" ? "day" : "week";
  for (const auto& [bytes, what] : std::vector<std::pair<std::string, std::string>>{
           {payload(other_spec, 0, Hours(1), ""), "calendar"},
           {payload(spec, 5, Hours(1), ""), "as_of"},
           {payload(spec, 0, Hours(2), ""), "resolution"}}) {
    auto r = Indicators::Deserialize(bytes);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << what << ": " << r.status();
  }
}

}  // namespace
}  // namespace salesperf
