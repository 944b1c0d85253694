// The data signals of salesperf/practices.h (PracticeSignals): for every signal a tiny
// hand-built log with its figure derived by hand in the comments, the edges of each
// definition (the UTC offset's day boundary, runs of exactly max_days_without_break,
// gaps of exactly vacation_days, the 365-day boundaries, the horizon's instant), the
// cases where the data cannot speak, option errors; a slow reference (std::set of days
// per rep) for the day-run and rep-month signals on random logs; and the synthetic
// company, where every signal must speak or say why, with values in range.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/calendar.h"
#include "salesperf/funnel.h"
#include "salesperf/leaks.h"
#include "salesperf/practices.h"
#include "salesperf/state.h"
#include "salesperf/synth.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::BuildLog;
using test_logs::BuildLogWith;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::LogColumns;
using test_logs::RunModel;
using test_logs::SynthLog;
using test_logs::SynthModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kHour = Hours(1);

int64_t At(int64_t day) { return kT0 + day * kDay; }

RunOptions AsOf(int64_t t) {
  RunOptions o;
  o.as_of = t;
  return o;
}

std::vector<PracticeSignal> MustSignals(const EventLog& log, const Timelines& tl, const SignalOptions& o) {
  auto s = PracticeSignals(log, tl, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : std::vector<PracticeSignal>();
}

PracticeSignal Get(const std::vector<PracticeSignal>& all, std::string_view name) {
  for (const PracticeSignal& s : all) {
    if (s.signal == name) return s;
  }
  ADD_FAILURE() << "no signal " << name;
  PracticeSignal none;
  none.value = none.score = kNaN;
  return none;
}

void ExpectSpeaks(const PracticeSignal& s, double value, double score, int64_t cases) {
  EXPECT_TRUE(s.speaks) << s.signal << ": " << s.reason;
  EXPECT_NEAR(s.value, value, 1e-9) << s.signal;
  EXPECT_NEAR(s.score, score, 1e-9) << s.signal;
  EXPECT_EQ(s.cases, cases) << s.signal;
  EXPECT_FALSE(s.evidence.empty()) << s.signal;
  EXPECT_TRUE(s.reason.empty()) << s.signal << ": " << s.reason;
}

// Cannot speak: NaN value and score, and a reason that mentions `about`.
void ExpectSilent(const PracticeSignal& s, std::string_view about, int64_t cases = -1) {
  EXPECT_FALSE(s.speaks) << s.signal;
  EXPECT_TRUE(std::isnan(s.value)) << s.signal;
  EXPECT_TRUE(std::isnan(s.score)) << s.signal;
  EXPECT_NE(s.reason.find(about), std::string::npos) << s.signal << ": '" << s.reason << "' lacks '" << about << "'";
  if (cases >= 0) {
    EXPECT_EQ(s.cases, cases) << s.signal;
  }
}

// ---- 0. The rows, and the errors ---------------------------------------------------

StageModel BasicModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created", "reply"});
  m.AddStage("Qualified").Any({"need"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.SetOrdering(Ordering::kSkip);
  return m;
}

TEST(PracticeSignals, OneRowPerSignalInTheHeadersOrder) {
  const EventLog log = BuildLog({{"A", At(0), "created", "ana"}, {"A", At(1), "call", "ana"}});
  const Timelines tl = RunModel(BasicModel(), log);
  const auto s = MustSignals(log, tl, {});
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"customer_retention", "retained_customers"},
      {"qualifying_account_criteria", "qualification_consistency"},
      {"qualifying_account_criteria", "late_losses"},
      {"account_development", "expansion_rate"},
      {"sales_support", "support_wait"},
      {"downtime", "no_day_off_stretches"},
      {"downtime", "no_vacation"},
      {"sales_metrics", "leading_indicator_coverage"},
      {"advanced_sales_metrics", "buyer_defined_stages"},
      {"non_productive_sales_reps", "non_productive_share"},
      {"pipeline_management_and_forecasting", "stalled_share"},
      {"pipeline_management_and_forecasting", "forecast_accuracy"}};
  ASSERT_EQ(s.size(), expected.size());
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].practice, expected[i].first) << i;
    EXPECT_EQ(s[i].signal, expected[i].second) << i;
    EXPECT_NE(std::find(kPracticeIds.begin(), kPracticeIds.end(), s[i].practice), kPracticeIds.end());
    // Every row either speaks or says why not; never both.
    EXPECT_NE(s[i].speaks, !s[i].reason.empty()) << s[i].signal;
  }
}

TEST(PracticeSignals, UnknownStagesAndBadOptionsAreInvalidArgument) {
  const EventLog log = BuildLog({{"A", At(0), "created", "ana"}, {"A", At(1), "call", "ana"}});
  const Timelines tl = RunModel(BasicModel(), log);
  auto expect_invalid = [&](const SignalOptions& o, std::string_view names) {
    auto s = PracticeSignals(log, tl, o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
    EXPECT_NE(std::string(s.status().message()).find(names), std::string::npos) << s.status();
  };
  SignalOptions o;
  o.qualification_stage = "Negotiation";
  expect_invalid(o, "Negotiation");
  o.qualification_stage = "Won";  // an outcome, not an open stage
  expect_invalid(o, "Won");
  o = {};
  o.support_stages = {"Proposal", "Legal review"};
  expect_invalid(o, "Legal review");
  o = {};
  o.min_cases = 0;
  expect_invalid(o, "min_cases");
  o = {};
  o.max_days_without_break = 0;
  expect_invalid(o, "max_days_without_break");
  o = {};
  o.vacation_days = 0;
  expect_invalid(o, "vacation_days");
  o = {};
  o.support_target_days = kNaN;
  expect_invalid(o, "support_target_days");
  o = {};
  o.utc_offset_minutes = 1441;
  expect_invalid(o, "utc_offset_minutes");
  o = {};
  o.forecast_horizon = 0;
  expect_invalid(o, "forecast_horizon");
  o = {};
  o.non_productive_fraction = 1.5;
  expect_invalid(o, "non_productive_fraction");
}

TEST(PracticeSignals, TimelinesOfAnotherLogAreFailedPrecondition) {
  const EventLog small = BuildLog({{"A", At(0), "created", "ana"}});
  const EventLog big = BuildLog({{"A", At(0), "created", "ana"}, {"B", At(0), "created", "bo"}});
  const Timelines tl = RunModel(BasicModel(), small);
  auto s = PracticeSignals(big, tl, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
}

// ---- 1. retained_customers and expansion_rate (account column) ---------------------

// Each deal: created (with its account and rep) and, when won, signed. as_of = day 800,
// so as_of - 365 d = day 435.
struct AccountDeal {
  std::string deal, account;
  int64_t created;
  int64_t signed_day;  // -1: never signed; -2: declined at created + 1
};

EventLog AccountLog(const std::vector<AccountDeal>& deals) {
  std::vector<Ev> rows;
  LogColumns cols;
  for (const AccountDeal& d : deals) {
    rows.push_back({d.deal, At(d.created), "created", "ana"});
    cols.account.push_back(d.account);
    if (d.signed_day >= 0) {
      rows.push_back({d.deal, At(d.signed_day), "sign", ""});
      cols.account.push_back(d.account);
    } else if (d.signed_day == -2) {
      rows.push_back({d.deal, At(d.created + 1), "decline", ""});
      cols.account.push_back("");  // the deal's account is its first non-null one
    }
  }
  return BuildLogWith(rows, cols);
}

std::vector<AccountDeal> AccountDeals() {
  return {
      // A: first win day 100; won again day 500 (in (435, 800]); A2 created day 400,
      //    within 365 d of the first win: retained and expanded.
      {"A1", "A", 90, 100}, {"A2", "A", 400, 500},
      // B: first win day 435 exactly (= as_of - 365 d: a customer); won again on day
      //    800 = as_of (included); B2 created day 700, 265 d after: retained, expanded.
      {"B1", "B", 430, 435}, {"B2", "B", 700, 800},
      // C: first win day 436, after as_of - 365 d: not a customer.
      {"C1", "C", 400, 436}, {"C2", "C", 500, 600},
      // D: first win day 10; D2 won on day 435 (not after the cutoff: not retained),
      //    created day 376 = 366 d after the first win: not expanded.
      {"D1", "D", 0, 10}, {"D2", "D", 376, 435},
      // E: first win day 50; E2 created day 60 and lost: expanded, not retained.
      {"E1", "E", 40, 50}, {"E2", "E", 60, -2},
      // F: first win day 20; F2 created day 385 = exactly 365 d after, still open:
      //    expanded (the window is (first win, first win + 365 d]), not retained.
      {"F1", "F", 10, 20}, {"F2", "F", 385, -1},
      // G: never won: no customer.
      {"G1", "G", 0, -2},
  };
}

TEST(RetainedCustomers, HandCounted) {
  const EventLog log = AccountLog(AccountDeals());
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(800)));
  SignalOptions o;
  o.min_cases = 5;
  const auto s = MustSignals(log, tl, o);
  // Customers (a win at or before day 435): A, B, D, E, F = 5. Retained (a win in
  // (435, 800]): A (500), B (800) = 2. value 2/5 = 0.4, score 40.
  ExpectSpeaks(Get(s, "retained_customers"), 0.4, 40, 5);
  // First wins at or before day 435: A, B, D, E, F = 5 customers. Expanded: A (day
  // 400 - 100 = 300 d), B (265 d), E (10 d), F (365 d exactly) = 4; D (366 d) not.
  // value 4/5 = 0.8, score 80.
  ExpectSpeaks(Get(s, "expansion_rate"), 0.8, 80, 5);

  o.min_cases = 6;  // 5 customers are too few
  const auto few = MustSignals(log, tl, o);
  ExpectSilent(Get(few, "retained_customers"), "5 customers", 5);
  ExpectSilent(Get(few, "expansion_rate"), "5 customers", 5);
}

TEST(RetainedCustomers, OneNanosecondMovesTheBoundary) {
  // With as_of one nanosecond earlier, B2's win on day 800 is after as_of (ignored) and
  // the cutoff is day 435 - 1 ns, so B1 (won day 435) is no customer any more, and D2's
  // win on day 435 is now inside the last 365 days: customers A, D, E, F = 4, retained
  // A (500) and D (435) = 2: 1/2.
  const EventLog log = AccountLog(AccountDeals());
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(800) - 1));
  SignalOptions o;
  o.min_cases = 4;
  const auto s = MustSignals(log, tl, o);
  ExpectSpeaks(Get(s, "retained_customers"), 0.5, 50, 4);
  // Expansion: customers A, D, E, F; expanded A, E, F: 3/4.
  ExpectSpeaks(Get(s, "expansion_rate"), 0.75, 75, 4);
}

TEST(RetainedCustomers, NoAccountColumnCannotSpeak) {
  std::vector<Ev> rows;
  for (const AccountDeal& d : AccountDeals()) {
    rows.push_back({d.deal, At(d.created), "created", "ana"});
    if (d.signed_day >= 0) rows.push_back({d.deal, At(d.signed_day), "sign", ""});
  }
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(800)));
  SignalOptions o;
  o.min_cases = 1;
  const auto s = MustSignals(log, tl, o);
  ExpectSilent(Get(s, "retained_customers"), "no account column", 0);
  ExpectSilent(Get(s, "expansion_rate"), "no account column", 0);
}

// ---- 2. qualification_consistency and late_losses ----------------------------------

StageModel QualModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created"}).StallAfter(Days(30));
  m.AddStage("Qualified").Any({"need"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.SetOrdering(Ordering::kSkip);
  m.CloseStalledAfter(Days(10));
  return m;
}

// Qualification stage: Qualified (the second open stage, the default). as_of day 200.
std::vector<Ev> QualRows(bool with_reps = true) {
  auto r = [&](const char* rep) { return with_reps ? std::string(rep) : std::string(); };
  return {
      // rep a: a1 L->Q (converted, open); a2 L->Q->X (converted; lost at Q: late);
      // a3 L->W (won from Lead: converted); a4 L->X (failed; lost early);
      // a5 created day 195 (open in Lead, 5 d quiet < 30: pending, no trial);
      // a6 enters at Q then lost (no trial: entered at the stage; a late loss).
      {"a1", At(0), "created", r("a")}, {"a1", At(1), "call", r("a")}, {"a1", At(5), "need", ""},
      {"a2", At(0), "created", r("a")}, {"a2", At(3), "need", ""}, {"a2", At(20), "decline", ""},
      {"a3", At(0), "created", r("a")}, {"a3", At(10), "sign", ""},
      {"a4", At(0), "created", r("a")}, {"a4", At(4), "decline", ""},
      {"a5", At(195), "created", r("a")},
      {"a6", At(0), "need", r("a")}, {"a6", At(2), "decline", ""},
      // rep b: b1 L->Q (converted); b2 L->X (failed, early); b3 stalls in Lead
      // (quiet from day 0, limit 30 d) and is closed as stalled on day 40 (failed; not
      // a loss for late_losses); b4 created under a's name but b is its only seller
      // (most active rep: b), L->X (failed, early).
      {"b1", At(0), "created", r("b")}, {"b1", At(6), "need", ""},
      {"b2", At(0), "created", r("b")}, {"b2", At(2), "decline", ""},
      {"b3", At(0), "created", r("b")},
      {"b4", At(0), "created", r("a")}, {"b4", At(1), "call", r("b")}, {"b4", At(3), "decline", ""},
      // rep c: c1 L->Q (converted): one trial.
      {"c1", At(0), "created", r("c")}, {"c1", At(2), "need", ""},
      // d9: no rep at all (with reps): no trial of any rep.
      {"d9", At(0), "created", ""}, {"d9", At(3), "decline", ""},
  };
}

TEST(QualificationConsistency, HandCountedWithTheSharedConcentration) {
  const EventLog log = BuildLog(QualRows());
  const Timelines tl = RunModel(QualModel(), log, AsOf(At(200)));
  ASSERT_EQ(tl.outcome[*log.deals().Find("b3")], static_cast<uint8_t>(Outcome::kLost));
  ASSERT_EQ(tl.lost_reason[*log.deals().Find("b3")], kReasonStalled);
  SignalOptions o;
  o.min_cases = 4;
  const auto s = MustSignals(log, tl, o);
  // Trials: a x=3 n=4, b x=1 n=4, c x=1 n=1. Pooled m = 5/9; kappa from leaks.h over
  // the three reps. Reps with >= 4 trials: a, b, with shrunk rates
  // (3 + km) / (4 + k) and (1 + km) / (4 + k): mean (4 + 2km) / (2 (4 + k)), population
  // sd = half their difference = 1 / (4 + k), CV = 2 / (4 + 2km).
  const std::vector<int64_t> x = {3, 1, 1}, n = {4, 4, 1};
  const absl::StatusOr<double> kappa = BetaBinomialConcentration(x, n);
  ASSERT_TRUE(kappa.ok()) << kappa.status();
  const double m = 5.0 / 9.0;
  const double cv = 2.0 / (4.0 + 2.0 * *kappa * m);
  ExpectSpeaks(Get(s, "qualification_consistency"), cv, 100.0 * std::max(0.0, 1.0 - cv / 0.5), 2);
  // Lost deals, stall closes aside: a2 (Q), a4 (L), a6 (Q), b2 (L), b4 (L), d9 (L) = 6;
  // at or after Qualified: a2, a6 = 2. value 1/3, score 66.67.
  ExpectSpeaks(Get(s, "late_losses"), 2.0 / 6.0, 100.0 * 4.0 / 6.0, 6);

  o.min_cases = 5;  // no rep has 5 trials; 6 losses are enough
  const auto five = MustSignals(log, tl, o);
  ExpectSilent(Get(five, "qualification_consistency"), "only 0 reps", 0);
  EXPECT_TRUE(Get(five, "late_losses").speaks);
  o.min_cases = 7;
  ExpectSilent(Get(MustSignals(log, tl, o), "late_losses"), "only 6 deals lost", 6);
}

TEST(QualificationConsistency, EqualRatesHaveNoVariation) {
  // a: 2 of 4 converted, b: 2 of 4: equal raw rates, so whatever kappa, both shrunk
  // rates are 1/2 exactly: CV 0, score 100.
  std::vector<Ev> rows;
  for (const char* rep : {"a", "b"}) {
    for (int i = 0; i < 4; ++i) {
      const std::string d = std::string(rep) + std::to_string(i);
      rows.push_back({d, At(0), "created", rep});
      rows.push_back({d, At(2), i < 2 ? "need" : "decline", ""});
    }
  }
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(QualModel(), log, AsOf(At(10)));
  SignalOptions o;
  o.min_cases = 4;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "qualification_consistency"), 0.0, 100.0, 2);
}

TEST(QualificationConsistency, ANamedStage) {
  const EventLog log = BuildLog(QualRows());
  const Timelines tl = RunModel(QualModel(), log, AsOf(At(200)));
  SignalOptions o;
  o.min_cases = 3;
  o.qualification_stage = "Proposal";
  const auto s = MustSignals(log, tl, o);
  // Below Proposal, decided: a2 (fail), a3 (won: converted), a4, a6 (fail): a x=1 n=4;
  // b2, b3, b4 (fail): b x=0 n=3; a1, b1, c1 are open in Qualified (pending).
  // Pooled m = 1/7; shrunk a = (1 + km)/(4 + k), b = km/(3 + k).
  const std::vector<int64_t> x = {1, 0}, n = {4, 3};
  const double k = *BetaBinomialConcentration(x, n);
  const double m = 1.0 / 7.0;
  const double ra = (1 + k * m) / (4 + k), rb = (k * m) / (3 + k);
  const double mean = (ra + rb) / 2, sd = std::fabs(ra - rb) / 2;
  ExpectSpeaks(Get(s, "qualification_consistency"), sd / mean, 100.0 * std::max(0.0, 1.0 - sd / mean / 0.5), 2);
  // No loss at or after Proposal: 0 of 6, score 100.
  ExpectSpeaks(Get(s, "late_losses"), 0.0, 100.0, 6);
}

TEST(QualificationConsistency, NoRepColumnOrNoSecondStageCannotSpeak) {
  LogColumns cols;
  cols.rep = false;
  const EventLog log = BuildLogWith(QualRows(false), cols);
  ASSERT_TRUE(log.rep().empty());
  const Timelines tl = RunModel(QualModel(), log, AsOf(At(200)));
  SignalOptions o;
  o.min_cases = 1;
  const auto s = MustSignals(log, tl, o);
  ExpectSilent(Get(s, "qualification_consistency"), "no rep column", 0);
  EXPECT_TRUE(Get(s, "late_losses").speaks);  // needs no rep
  for (const char* name : {"no_day_off_stretches", "no_vacation", "leading_indicator_coverage",
                           "non_productive_share"}) {
    ExpectSilent(Get(s, name), "no rep column", 0);
  }

  StageModel one;
  one.AddStage("Lead").Any({"created"});
  one.Won().Any({"sign"});
  one.Lost().Any({"decline"});
  const EventLog log2 = BuildLog(QualRows());
  const Timelines tl2 = RunModel(one, log2, AsOf(At(200)));
  const auto s2 = MustSignals(log2, tl2, o);
  ExpectSilent(Get(s2, "qualification_consistency"), "qualification_stage", 0);
  ExpectSilent(Get(s2, "late_losses"), "qualification_stage", 0);
}

// ---- 3. support_wait ---------------------------------------------------------------

StageModel SupportModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Review").Any({"budget"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.SetOrdering(Ordering::kSkip);
  return m;
}

TEST(SupportWait, MedianOfCompletedVisits) {
  const std::vector<Ev> rows = {
      // r1: Review 1 -> 4 (3 d); Proposal 4 -> 9 (5 d, won).
      {"r1", At(0), "created", "a"}, {"r1", At(1), "budget", ""}, {"r1", At(4), "proposal", ""},
      {"r1", At(9), "sign", ""},
      // r2: Review 2 -> 12 (10 d); Proposal from 12, still open (no completed visit).
      {"r2", At(0), "created", "a"}, {"r2", At(2), "budget", ""}, {"r2", At(12), "proposal", ""},
      // r3: enters Review from no stage on day 0, won on day 2 (2 d).
      {"r3", At(0), "budget", "a"}, {"r3", At(2), "sign", ""},
      // r4: in Review since day 1, still there (not completed).
      {"r4", At(0), "created", "a"}, {"r4", At(1), "budget", ""},
      // r5: Review 5 -> lost at 6.5 (1.5 d).
      {"r5", At(0), "created", "a"}, {"r5", At(5), "budget", ""}, {"r5", At(6) + 12 * kHour, "decline", ""},
  };
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(SupportModel(), log, AsOf(At(20)));
  SignalOptions o;
  o.min_cases = 4;
  o.support_stages = {"Review"};
  // Review visits: 3, 10, 2, 1.5 -> median (2 + 3) / 2 = 2.5 days; target 5: score 100.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "support_wait"), 2.5, 100, 4);
  o.support_target_days = 1;  // score 100 x 1 / 2.5 = 40
  ExpectSpeaks(Get(MustSignals(log, tl, o), "support_wait"), 2.5, 40, 4);
  // Review and Proposal (listed twice: counted once): 3, 10, 2, 1.5, 5 -> median 3;
  // score 100 x 1/3.
  o.support_stages = {"Proposal", "Review", "Proposal"};
  ExpectSpeaks(Get(MustSignals(log, tl, o), "support_wait"), 3.0, 100.0 / 3.0, 5);
  o.min_cases = 6;
  ExpectSilent(Get(MustSignals(log, tl, o), "support_wait"), "only 5 completed visits", 5);
  o.support_stages = {};
  ExpectSilent(Get(MustSignals(log, tl, o), "support_wait"), "support_stages", 0);
}

// ---- 4. no_day_off_stretches ---------------------------------------------------------

// Seller calls of `rep` at `hour` UTC on each day of [from, to] of January 2026 (day
// numbers from kT0), on the rep's own deal.
void Calls(std::vector<Ev>& rows, const std::string& rep, int64_t from, int64_t to, int64_t hour) {
  for (int64_t d = from; d <= to; ++d) rows.push_back({"deal-" + rep, At(d) + hour * kHour, "call", rep});
}

TEST(NoDayOffStretches, RunsAtTheOffsetAndTheLimit) {
  std::vector<Ev> rows;
  // x: 13 consecutive days (0..12) at noon UTC: run 13 > 12 whatever the offset.
  Calls(rows, "x", 0, 12, 12);
  // y: 12 consecutive days (20..31) at noon: run 12 = max_days_without_break: not over.
  Calls(rows, "y", 20, 31, 12);
  // A buyer action naming y the day before, and a call with no rep the day after, are
  // no seller activity of y.
  rows.push_back({"deal-y", At(19) + 12 * kHour, "reply", "y"});
  rows.push_back({"deal-y", At(32) + 12 * kHour, "call", ""});
  // z: a call at 20:00 UTC on day 0, then calls at 02:00 UTC on days 1..12. At UTC:
  // days 0..12, run 13 (over). At UTC-5 (-300 min): 15:00 on day 0 and 21:00 on days
  // 0..11: days 0..11, run 12 (not over).
  rows.push_back({"deal-z", At(0) + 20 * kHour, "call", "z"});
  Calls(rows, "z", 1, 12, 2);
  // w: days 0..4 and 6..10 at noon: 10 active days, longest run 5.
  Calls(rows, "w", 0, 4, 12);
  Calls(rows, "w", 6, 10, 12);
  // v: 3 active days: below min_cases = 10, not judged.
  Calls(rows, "v", 0, 2, 12);
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(40)));
  SignalOptions o;
  o.min_cases = 10;
  o.max_days_without_break = 12;
  // UTC: judged x, y, z, w; over: x, z. value 2/4, score 50.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_day_off_stretches"), 0.5, 50, 4);
  // UTC-5: over: x only. 1/4, score 75.
  o.utc_offset_minutes = -300;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_day_off_stretches"), 0.25, 75, 4);
  // UTC, limit 13: nobody works more than 13 days in a row.
  o.utc_offset_minutes = 0;
  o.max_days_without_break = 13;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_day_off_stretches"), 0.0, 100, 4);
  // Limit 11: y (12) is over too: 3/4.
  o.max_days_without_break = 11;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_day_off_stretches"), 0.75, 25, 4);
  // With min_cases 14 no rep is judged.
  o.min_cases = 14;
  ExpectSilent(Get(MustSignals(log, tl, o), "no_day_off_stretches"), "14 or more distinct days", 0);
  // Activity after as_of does not count: as_of on day 11 at 00:00 leaves x days 0..10
  // (11 days), z days 0..10 (UTC), w 10 days; y none: with limit 10, x and z are over
  // (run 11): 2 of 3.
  const Timelines early = RunModel(BasicModel(), log, AsOf(At(11)));
  o.min_cases = 10;
  o.max_days_without_break = 10;
  ExpectSpeaks(Get(MustSignals(log, early, o), "no_day_off_stretches"), 2.0 / 3.0, 100.0 / 3.0, 3);
}

// ---- 5. no_vacation ------------------------------------------------------------------

TEST(NoVacation, GapsInTheLast365Days) {
  // as_of = day 800 at 12:00: the window is days 436..800; "before" = day 435.
  std::vector<Ev> rows;
  auto daily = [&](const std::string& rep, int64_t from, int64_t to, std::set<int64_t> skip = {}) {
    for (int64_t d = from; d <= to; ++d) {
      if (!skip.count(d)) rows.push_back({"deal-" + rep, At(d) + 9 * kHour, "email", rep});
    }
  };
  std::set<int64_t> seven, six;
  for (int64_t d = 500; d <= 506; ++d) seven.insert(d);
  for (int64_t d = 500; d <= 505; ++d) six.insert(d);
  daily("p", 400, 800, seven);  // a gap of exactly 7 days: a vacation
  daily("q", 400, 800, six);    // a 6-day gap: no vacation
  daily("r", 436, 800);         // active only inside the window: not judged
  daily("s", 435, 800);         // first active on day 435 = as_of's day - 365: judged, no gap
  daily("t", 0, 600);           // stopped on day 600: days 601..800 are a gap
  daily("u", 300, 300);         // active on day 300, then from day 443: the window's
  daily("u", 443, 800);         // first 7 days (436..442) are a gap
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(800) + 12 * kHour));
  SignalOptions o;
  o.vacation_days = 7;
  // Judged p, q, s, t, u; no vacation: q, s. value 2/5, score 60.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_vacation"), 0.4, 60, 5);
  // vacation_days 8: p's and u's 7-day gaps are too short: q, s, p, u: 4/5.
  o.vacation_days = 8;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_vacation"), 0.8, 20, 5);
  // vacation_days 6: q's gap counts: s only: 1/5.
  o.vacation_days = 6;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_vacation"), 0.2, 80, 5);
  // At UTC+14 (840 min), as_of (12:00 UTC) is day 801 locally: the window is 437..801,
  // "before" 436; the emails (09:00 UTC = 23:00 local) stay on their days. Now r (first
  // day 436) is judged too: 6 reps. Nobody works on day 801, a 1-day gap, so with
  // vacation_days 1 every rep had a break: value 0.
  o.vacation_days = 1;
  o.utc_offset_minutes = 840;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "no_vacation"), 0.0, 100, 6);
  // A year earlier nobody has been active for 365 days.
  o.utc_offset_minutes = 0;
  const Timelines early = RunModel(BasicModel(), log, AsOf(At(364)));
  ExpectSilent(Get(MustSignals(log, early, o), "no_vacation"), "365 days", 0);
}

// ---- 6. leading_indicator_coverage -----------------------------------------------------

TEST(LeadingIndicatorCoverage, RepMonthsAtTheOffset) {
  const std::vector<Ev> rows = {
      // m1 (m's): calls on Jan 6, Feb 5, Mar 7 (noon UTC); replies on Jan 7 and Mar 12.
      {"m1", At(5) + 12 * kHour, "call", "m"}, {"m1", At(6) + 12 * kHour, "reply", ""},
      {"m1", At(35) + 12 * kHour, "call", "m"}, {"m1", At(65) + 12 * kHour, "call", "m"},
      {"m1", At(70) + 12 * kHour, "reply", ""},
      // n1 (n's): calls on Jan 10 (noon) and Feb 1 at 02:00 UTC (Jan 31 at UTC-5); a
      // reply on Feb 10.
      {"n1", At(9) + 12 * kHour, "call", "n"}, {"n1", At(31) + 2 * kHour, "call", "n"},
      {"n1", At(40) + 12 * kHour, "reply", ""},
      // n2: m calls twice, n once, in January: m's deal; its January reply covers m's
      // January, not n's.
      {"n2", At(12) + 12 * kHour, "call", "m"}, {"n2", At(12) + 13 * kHour, "call", "m"},
      {"n2", At(12) + 14 * kHour, "call", "n"}, {"n2", At(13) + 12 * kHour, "reply", ""},
  };
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(90)));
  SignalOptions o;
  // UTC: m Jan (reply m1, n2), Feb (none), Mar (m1): 2 of 3; n Jan (none: n2 is m's),
  // Feb (n1): 1 of 2. 3 of 5 = 0.6.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "leading_indicator_coverage"), 0.6, 60, 5);
  // UTC-5: n's February call falls in January: n has January only (uncovered): 2 of 4.
  o.utc_offset_minutes = -300;
  ExpectSpeaks(Get(MustSignals(log, tl, o), "leading_indicator_coverage"), 0.5, 50, 4);
  // No seller activity at all: nothing to judge.
  const EventLog quiet = BuildLog({{"A", At(0), "created", "ana"}, {"A", At(1), "reply", "ana"}});
  ExpectSilent(Get(MustSignals(quiet, RunModel(BasicModel(), quiet), {}), "leading_indicator_coverage"),
               "no rep-month", 0);
}

// ---- 7. buyer_defined_stages -------------------------------------------------------

TEST(BuyerDefinedStages, ShareOfEntriesByBuyerActions) {
  const std::vector<Ev> rows = {
      // d1: Lead by `created` (system), Qualified by `need` (buyer), Won (not open).
      {"d1", At(0), "created", "a"}, {"d1", At(1), "need", ""}, {"d1", At(2), "sign", ""},
      // d2: Lead by `reply` (buyer), Qualified by `need` (buyer).
      {"d2", At(0), "reply", "a"}, {"d2", At(1), "need", ""},
      // d3: Lead by `created` (system), then Lost (not open).
      {"d3", At(0), "created", "a"}, {"d3", At(1), "decline", ""},
  };
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(BasicModel(), log);
  // Entries into open stages: 5; by buyer actions: 3. value 0.6.
  ExpectSpeaks(Get(MustSignals(log, tl, {}), "buyer_defined_stages"), 0.6, 60, 5);
  const EventLog none = BuildLog({{"A", At(0), "call", "ana"}});
  ExpectSilent(Get(MustSignals(none, RunModel(BasicModel(), none), {}), "buyer_defined_stages"), "no transition",
               0);
}

// ---- 8. non_productive_share ---------------------------------------------------------

std::vector<Ev> ProductivityRows() {
  auto won = [](std::vector<Ev>& rows, const std::string& deal, const std::string& rep, double amount) {
    rows.push_back({deal, At(0), "created", rep, amount});
    rows.push_back({deal, At(50), "sign", ""});
  };
  std::vector<Ev> rows;
  // r1: active in Jan and Feb, won 10,000: 5,000 per active month.
  won(rows, "w1", "r1", 10000);
  rows.push_back({"w1", At(1), "call", "r1"});
  rows.push_back({"w1", At(40), "call", "r1"});
  // r2: active in Jan, won 3,000: 3,000.
  won(rows, "w2", "r2", 3000);
  rows.push_back({"w2", At(2), "call", "r2"});
  // r3: active in Jan, its deal lost: 0.
  rows.push_back({"w3", At(0), "created", "r3", 8000});
  rows.push_back({"w3", At(3), "call", "r3"});
  rows.push_back({"w3", At(9), "decline", ""});
  // r4: active in Jan and Mar, won 4,000: 2,000.
  won(rows, "w4", "r4", 4000);
  rows.push_back({"w4", At(3), "email", "r4"});
  rows.push_back({"w4", At(62), "email", "r4"});
  // r5: active in Jan, won 1,000 and a deal with no value: 1,000.
  won(rows, "w5", "r5", 1000);
  rows.push_back({"w5", At(4), "call", "r5"});
  won(rows, "w5b", "r5", kNaN);
  // r6 owns a won deal of 50,000 but has no seller activity: no active month, left out.
  won(rows, "w6", "r6", 50000);
  return rows;
}

TEST(NonProductiveShare, BelowAFractionOfTheMedianRep) {
  const EventLog log = BuildLog(ProductivityRows());
  const Timelines tl = RunModel(BasicModel(), log, AsOf(At(100)));
  SignalOptions o;
  // Figures 5,000, 3,000, 0, 2,000, 1,000: median 2,000; half of it 1,000; below: r3
  // (1,000 is not below 1,000). 1 of 5: 0.2, score 80.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "non_productive_share"), 0.2, 80, 5);
  o.non_productive_fraction = 0.6;  // bar 1,200: r3 and r5
  ExpectSpeaks(Get(MustSignals(log, tl, o), "non_productive_share"), 0.4, 60, 5);
  // Without amounts nothing is known of the dollars won.
  LogColumns cols;
  cols.amount = false;
  const EventLog bare = BuildLogWith(ProductivityRows(), cols);
  ExpectSilent(Get(MustSignals(bare, RunModel(BasicModel(), bare, AsOf(At(100))), o), "non_productive_share"),
               "value", 5);
  // Two reps are too few.
  std::vector<Ev> two;
  for (const Ev& e : ProductivityRows()) {
    if (e.deal == "w1" || e.deal == "w2") two.push_back(e);
  }
  const EventLog small = BuildLog(two);
  ExpectSilent(Get(MustSignals(small, RunModel(BasicModel(), small, AsOf(At(100))), o), "non_productive_share"),
               "only 2 reps", 2);
}

// ---- 9. stalled_share ------------------------------------------------------------------

TEST(StalledShare, StalledAmongTheOpen) {
  StageModel m = BasicModel();
  m.mutable_stages()[0].StallAfter(Days(10));
  const std::vector<Ev> rows = {
      {"s1", At(0), "created", "a"},                                   // stalled in Lead
      {"s2", At(95), "created", "a"},                                  // open (5 d quiet)
      {"s3", At(0), "created", "a"}, {"s3", At(5), "sign", ""},        // won
      {"s4", At(0), "created", "a"}, {"s4", At(95), "need", ""},       // open in Qualified
  };
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(m, log, AsOf(At(100)));
  // Open or stalled: s1, s2, s4; stalled s1: 1/3, score 66.67.
  ExpectSpeaks(Get(MustSignals(log, tl, {}), "stalled_share"), 1.0 / 3.0, 200.0 / 3.0, 3);
  const EventLog closed = BuildLog({{"A", At(0), "created", "a"}, {"A", At(1), "sign", ""}});
  ExpectSilent(Get(MustSignals(closed, RunModel(m, closed), {}), "stalled_share"), "no deal is open", 0);
}

// ---- 10. forecast_accuracy -----------------------------------------------------------

StageModel ForecastModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Qualified").Any({"need"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

// as_of day 200, horizon 100 days: T = day 100.
std::vector<Ev> ForecastRows() {
  return {
      // History closed before T: moves L->Q 3, L->X 1; Q->W 2, Q->X 1.
      {"h1", At(0), "created", "a"}, {"h1", At(5), "need", ""}, {"h1", At(10), "sign", ""},
      {"h2", At(0), "created", "a"}, {"h2", At(5), "need", ""}, {"h2", At(10), "decline", ""},
      {"h3", At(0), "created", "a"}, {"h3", At(5), "decline", ""},
      {"h4", At(0), "created", "a"}, {"h4", At(5), "need", ""}, {"h4", At(20), "sign", ""},
      // f1: in Lead at T (1,000); won on day 180.
      {"f1", At(50), "created", "a", 1000}, {"f1", At(150), "need", ""}, {"f1", At(180), "sign", ""},
      // f2: in Qualified at T (its L->Q on day 60 is a move before T too) (3,000); lost.
      {"f2", At(50), "created", "a", 3000}, {"f2", At(60), "need", ""}, {"f2", At(150), "decline", ""},
      // f3: in Lead at T (2,000), still in Lead at as_of.
      {"f3", At(90), "created", "a", 2000},
      // f4: in Lead at T but without a value: left out.
      {"f4", At(60), "created", "a"},
      // f5: created after T; f6 created exactly at T (not before it): not open at T.
      {"f5", At(120), "created", "a", 500},
      {"f6", At(100), "created", "a", 700},
  };
}

TEST(ForecastAccuracy, TheChainBeforeTheHorizon) {
  const EventLog log = BuildLog(ForecastRows());
  const Timelines tl = RunModel(ForecastModel(), log, AsOf(At(200)));
  SignalOptions o;
  o.forecast_horizon = Days(100);
  o.min_cases = 3;
  // Moves before T: L->Q 4 (h1, h2, h4, f2), L->X 1; Q->W 2, Q->X 1.
  // P(win | Q) = 2/3; P(win | L) = 4/5 x 2/3 = 8/15.
  // forecast = 1000 x 8/15 + 3000 x 2/3 + 2000 x 8/15 = 3600.
  // actual = 1000 (f1 won) + 0 (f2 lost) + 2000 x 8/15 (f3 still in Lead) = 6200/3.
  // value = 1 - |3600 - 6200/3| / (6200/3) = 1 - 4600/6200 = 8/31.
  ExpectSpeaks(Get(MustSignals(log, tl, o), "forecast_accuracy"), 8.0 / 31.0, 800.0 / 31.0, 3);
  o.min_cases = 4;
  ExpectSilent(Get(MustSignals(log, tl, o), "forecast_accuracy"), "only 3", 3);
}

TEST(ForecastAccuracy, NoWinProbabilityOrNothingActual) {
  SignalOptions o;
  o.forecast_horizon = Days(100);
  o.min_cases = 1;
  // Every deal open at T sits in a stage with no move before T.
  const EventLog unpriced = BuildLog({{"f1", At(50), "created", "a", 1000}, {"f1", At(150), "sign", ""},
                                      {"f2", At(60), "created", "a", 1000}});
  ExpectSilent(Get(MustSignals(unpriced, RunModel(ForecastModel(), unpriced, AsOf(At(200))), o),
                   "forecast_accuracy"),
               "win probability", 0);
  // The one deal open at T is lost: actual 0.
  const EventLog lost = BuildLog({{"h1", At(0), "created", "a"}, {"h1", At(5), "sign", ""},
                                  {"f1", At(50), "created", "a", 1000}, {"f1", At(150), "decline", ""}});
  ExpectSilent(Get(MustSignals(lost, RunModel(ForecastModel(), lost, AsOf(At(200))), o), "forecast_accuracy"),
               "actual", 1);
}

// ---- 11. The slow reference on random logs ---------------------------------------------

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int64_t Below(int64_t n) { return static_cast<int64_t>(g() % static_cast<uint64_t>(n)); }
  bool Percent(int p) { return Below(100) < p; }
};

int64_t FloorDay(int64_t t, int64_t offset_minutes) {
  const Int128 x = static_cast<Int128>(t) + static_cast<Int128>(offset_minutes) * 60'000'000'000LL;
  Int128 q = x / kDay;
  if (x % kDay < 0) --q;
  return static_cast<int64_t>(q);
}

// Months since 1970-01 by civil date (the independent route).
int64_t MonthOfDay(int64_t day) {
  const calendar_internal::CivilDate c = calendar_internal::CivilFromDays(day);
  return (c.year - 1970) * 12 + (c.month - 1);
}

TEST(PracticeSignalsReference, DayRunsAndRepMonthsOnRandomLogs) {
  Rng rng(2026);
  const std::vector<std::string> seller = {"call", "email"};
  const std::vector<std::string> other = {"reply", "need", "created", "sign", "decline", "budget"};
  int speaking = 0;
  for (int iter = 0; iter < 100; ++iter) {
    const int reps = 2 + static_cast<int>(rng.Below(5));
    const int deals = 3 + static_cast<int>(rng.Below(15));
    std::vector<Ev> rows;
    for (int d = 0; d < deals; ++d) {
      const std::string name = "d" + std::to_string(d);
      const double amount = rng.Percent(80) ? static_cast<double>(100 * (1 + rng.Below(100))) : kNaN;
      rows.push_back({name, At(rng.Below(30)) + rng.Below(kDay), "created",
                      rng.Percent(80) ? "r" + std::to_string(rng.Below(reps)) : "", amount});
    }
    for (int r = 0; r < reps; ++r) {
      const int64_t from = rng.Below(500), to = from + rng.Below(500);
      const int p = std::vector<int>{30, 70, 95, 100}[static_cast<size_t>(rng.Below(4))];
      for (int64_t day = from; day <= to; ++day) {
        if (!rng.Percent(p)) continue;
        rows.push_back({"d" + std::to_string(rng.Below(deals)), At(day) + rng.Below(kDay),
                        seller[static_cast<size_t>(rng.Below(2))], "r" + std::to_string(r)});
      }
    }
    const int64_t others = rng.Below(300);
    for (int64_t k = 0; k < others; ++k) {
      rows.push_back({"d" + std::to_string(rng.Below(deals)), At(rng.Below(1000)) + rng.Below(kDay),
                      other[static_cast<size_t>(rng.Below(static_cast<int64_t>(other.size())))],
                      rng.Percent(50) ? "r" + std::to_string(rng.Below(reps)) : ""});
    }
    const EventLog log = BuildLog(rows);
    const int64_t as_of = rng.Percent(50) ? At(1000) + kDay : At(200 + rng.Below(800)) + rng.Below(kDay);
    const Timelines tl = RunModel(BasicModel(), log, AsOf(as_of));
    SignalOptions o;
    o.utc_offset_minutes = std::vector<int32_t>{-720, -300, 0, 0, 330, 840}[static_cast<size_t>(rng.Below(6))];
    o.max_days_without_break = 1 + static_cast<int32_t>(rng.Below(8));
    o.vacation_days = 1 + static_cast<int32_t>(rng.Below(10));
    o.min_cases = 1 + rng.Below(6);
    o.non_productive_fraction = 0.25 * static_cast<double>(1 + rng.Below(4));
    const auto s = MustSignals(log, tl, o);
    const std::string ctx = "iter " + std::to_string(iter);

    // Reference: days per rep, a std::set, from the raw columns.
    const auto nr = static_cast<size_t>(log.reps().size());
    std::vector<std::set<int64_t>> days(nr);
    std::vector<std::set<int64_t>> months(nr);
    for (int64_t k = 0; k < log.size(); ++k) {
      const int32_t r = log.rep()[k];
      if (r < 0 || log.time()[k] > as_of || log.actor(log.action()[k]) != Actor::kSeller) continue;
      const int64_t day = FloorDay(log.time()[k], o.utc_offset_minutes);
      days[static_cast<size_t>(r)].insert(day);
      months[static_cast<size_t>(r)].insert(MonthOfDay(day));
    }
    // no_day_off_stretches.
    int64_t judged = 0, over = 0;
    for (const auto& ds : days) {
      if (static_cast<int64_t>(ds.size()) < o.min_cases) continue;
      ++judged;
      int64_t longest = 0;
      for (const int64_t d : ds) {
        int64_t run = 0;
        while (ds.count(d + run)) ++run;
        longest = std::max(longest, run);
      }
      over += longest > o.max_days_without_break ? 1 : 0;
    }
    const PracticeSignal runs = Get(s, "no_day_off_stretches");
    EXPECT_EQ(runs.speaks, judged > 0) << ctx;
    EXPECT_EQ(runs.cases, judged) << ctx;
    if (judged > 0) {
      EXPECT_DOUBLE_EQ(runs.value, static_cast<double>(over) / static_cast<double>(judged)) << ctx;
    }
    // no_vacation.
    const int64_t last = FloorDay(as_of, o.utc_offset_minutes);
    int64_t vjudged = 0, never = 0;
    for (const auto& ds : days) {
      if (ds.empty() || *ds.begin() > last - 365) continue;
      ++vjudged;
      int64_t gap = 0, longest_gap = 0;
      for (int64_t d = last - 364; d <= last; ++d) {
        gap = ds.count(d) ? 0 : gap + 1;
        longest_gap = std::max(longest_gap, gap);
      }
      never += longest_gap < o.vacation_days ? 1 : 0;
    }
    const PracticeSignal vac = Get(s, "no_vacation");
    EXPECT_EQ(vac.speaks, vjudged > 0) << ctx;
    EXPECT_EQ(vac.cases, vjudged) << ctx;
    if (vjudged > 0) {
      EXPECT_DOUBLE_EQ(vac.value, static_cast<double>(never) / static_cast<double>(vjudged)) << ctx;
    }
    // Owners, counted afresh: most seller events naming the rep, ties to the first seen;
    // else the first rep on any event.
    std::vector<int32_t> owner(static_cast<size_t>(log.num_deals()), -1);
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      std::map<int32_t, int64_t> count;
      std::vector<int32_t> order;
      int32_t first = -1;
      for (int64_t k = log.deal_offsets()[d]; k < log.deal_offsets()[d + 1]; ++k) {
        const int32_t r = log.rep()[k];
        if (r < 0) continue;
        if (first < 0) first = r;
        if (log.actor(log.action()[k]) != Actor::kSeller) continue;
        if (count[r]++ == 0) order.push_back(r);
      }
      int32_t best = -1;
      for (const int32_t r : order) {
        if (best < 0 || count[r] > count[best]) best = r;
      }
      owner[static_cast<size_t>(d)] = best >= 0 ? best : first;
    }
    // leading_indicator_coverage.
    std::set<std::pair<int32_t, int64_t>> buyer_months;
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      const int32_t r = owner[static_cast<size_t>(d)];
      if (r < 0) continue;
      for (int64_t k = log.deal_offsets()[d]; k < log.deal_offsets()[d + 1]; ++k) {
        if (log.time()[k] > as_of || log.actor(log.action()[k]) != Actor::kBuyer) continue;
        buyer_months.insert({r, MonthOfDay(FloorDay(log.time()[k], o.utc_offset_minutes))});
      }
    }
    int64_t rep_months = 0, covered = 0;
    for (size_t r = 0; r < nr; ++r) {
      for (const int64_t mo : months[r]) {
        ++rep_months;
        covered += buyer_months.count({static_cast<int32_t>(r), mo}) ? 1 : 0;
      }
    }
    const PracticeSignal cov = Get(s, "leading_indicator_coverage");
    EXPECT_EQ(cov.speaks, rep_months > 0) << ctx;
    EXPECT_EQ(cov.cases, rep_months) << ctx;
    if (rep_months > 0) {
      EXPECT_DOUBLE_EQ(cov.value, static_cast<double>(covered) / static_cast<double>(rep_months)) << ctx;
    }
    // non_productive_share.
    std::vector<double> won(nr, 0.0);
    int64_t valued = 0;
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      const int32_t r = owner[static_cast<size_t>(d)];
      if (r < 0 || tl.outcome[d] != static_cast<uint8_t>(Outcome::kWon) || std::isnan(tl.value[d]) ||
          tl.outcome_time[d] > as_of) {
        continue;  // not won by as_of (RunStages reads events after an early as_of)
      }
      won[static_cast<size_t>(r)] += tl.value[d];
      ++valued;
    }
    std::vector<double> fig;
    for (size_t r = 0; r < nr; ++r) {
      if (!months[r].empty()) fig.push_back(won[r] / static_cast<double>(months[r].size()));
    }
    const PracticeSignal np = Get(s, "non_productive_share");
    const bool np_speaks = fig.size() >= 3 && valued > 0;
    EXPECT_EQ(np.speaks, np_speaks) << ctx;
    if (np_speaks) {
      std::vector<double> sorted = fig;
      std::sort(sorted.begin(), sorted.end());
      const size_t n = sorted.size();
      const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      int64_t below = 0;
      for (const double f : fig) below += f < o.non_productive_fraction * median ? 1 : 0;
      EXPECT_DOUBLE_EQ(np.value, static_cast<double>(below) / static_cast<double>(n)) << ctx;
    }
    speaking += runs.speaks && vac.speaks && cov.speaks && np.speaks ? 1 : 0;
    if (HasFailure()) return;
  }
  EXPECT_GT(speaking, 20);  // the reference was exercised, not only the silent paths
}

// ---- 12. The synthetic company ---------------------------------------------------------

TEST(PracticeSignalsSynthetic, EverySignalSpeaksOrSaysWhy) {
  const EventLog log = SynthLog(60'000, 5);
  const Timelines tl = RunModel(SynthModel(), log);
  SignalOptions o;
  o.qualification_stage = "Qualified";
  o.support_stages = {"Proposal"};
  const auto s = MustSignals(log, tl, o);
  ASSERT_EQ(s.size(), 12u);
  int speaking = 0;
  for (const PracticeSignal& x : s) {
    SCOPED_TRACE(x.signal + ": " + x.evidence + x.reason);
    if (!x.speaks) {
      EXPECT_FALSE(x.reason.empty());
      EXPECT_TRUE(std::isnan(x.value) && std::isnan(x.score));
      continue;
    }
    ++speaking;
    EXPECT_TRUE(x.reason.empty());
    EXPECT_FALSE(x.evidence.empty());
    EXPECT_GT(x.cases, 0);
    EXPECT_GE(x.score, 0.0);
    EXPECT_LE(x.score, 100.0);
    EXPECT_GE(x.value, 0.0);
    if (x.signal != "support_wait" && x.signal != "qualification_consistency") {
      EXPECT_LE(x.value, 1.0);
    }
  }
  // The synthetic company has reps, accounts, values, two years of history and a
  // Proposal stage that buyers wait in: every signal has something to say.
  EXPECT_EQ(speaking, 12);
  // Planted truths the signals must see: stages are entered only by buyer actions and
  // the system's opportunity_created; reps are active for the whole period, so each
  // is judged for vacations; rep skills differ, so qualification rates do too.
  EXPECT_LT(Get(s, "buyer_defined_stages").value, 1.0);
  EXPECT_GT(Get(s, "buyer_defined_stages").value, 0.5);
  EXPECT_EQ(Get(s, "no_vacation").cases, SynthOptions().reps);
  EXPECT_GT(Get(s, "qualification_consistency").value, 0.0);
  EXPECT_LE(Get(s, "forecast_accuracy").value, 1.0);
}

// SolveMoves (funnel.h) shares SolveFunnel's solver: the same moves and dwell give the
// same chain, bit for bit.
TEST(SolveMoves, EqualsSolveFunnelOnTheSyntheticCompany) {
  const EventLog log = SynthLog(20'000, 3);
  const Timelines tl = RunModel(SynthModel(), log);
  auto counts = CountFunnel(log, tl, SingleUnit(log));
  ASSERT_TRUE(counts.ok()) << counts.status();
  auto org = SolveFunnel(*counts, -1);
  ASSERT_TRUE(org.ok()) << org.status();
  const auto O = static_cast<size_t>(counts->num_open());
  std::vector<Int128> dwell(O);
  std::vector<int64_t> visits(O);
  for (size_t i = 0; i < O; ++i) {
    dwell[i] = counts->dwell_ns(0, static_cast<int32_t>(i));
    visits[i] = counts->dwell_visits(0, static_cast<int32_t>(i));
  }
  auto alone = SolveMoves(tl.stage_names, tl.num_open, org->moves, dwell, visits);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(alone->moves, org->moves);
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    }
    return true;
  };
  EXPECT_TRUE(same(alone->probability, org->probability));
  EXPECT_TRUE(same(alone->win_probability, org->win_probability));
  EXPECT_TRUE(same(alone->loss_probability, org->loss_probability));
  EXPECT_TRUE(same(alone->mean_days_in_stage, org->mean_days_in_stage));
  EXPECT_TRUE(same(alone->expected_days_to_close, org->expected_days_to_close));
  EXPECT_EQ(alone->open_deals, std::vector<int64_t>(O, 0));
  EXPECT_EQ(alone->open_dollars, 0.0);
  EXPECT_EQ(alone->expected_open_value, 0.0);
  // Without dwell: the same probabilities, no times.
  auto no_dwell = SolveMoves(tl.stage_names, tl.num_open, org->moves);
  ASSERT_TRUE(no_dwell.ok()) << no_dwell.status();
  EXPECT_TRUE(same(no_dwell->win_probability, org->win_probability));
  for (const double d : no_dwell->expected_days_to_close) EXPECT_TRUE(std::isnan(d));
  // Bad input.
  std::vector<int64_t> bad = org->moves;
  bad[3] = -1;
  EXPECT_EQ(SolveMoves(tl.stage_names, tl.num_open, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.pop_back();
  EXPECT_EQ(SolveMoves(tl.stage_names, tl.num_open, bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SolveMoves(tl.stage_names, tl.num_open + 1, org->moves).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SolveMoves(tl.stage_names, tl.num_open, org->moves, dwell, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace salesperf
