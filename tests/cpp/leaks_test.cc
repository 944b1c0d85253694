// Leaks: a hand-derived log (counts and assessment worked out in the comments), a slow
// per-deal reference of the DEFINITIONS on random logs, the conservation and gap
// identities, the empirical-Bayes concentration against a brute-force maximisation,
// the benchmarks, the merge laws, the byte format under truncation and corruption,
// and the errors.
#include "salesperf/leaks.h"

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

#include "salesperf/state.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::AddRandomDeals;
using test_logs::BuildLog;
using test_logs::RandomEntryActions;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::MustRep;
using test_logs::Rng;
using test_logs::RunModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::string_view kMagic("SPLEAK\0\1", 8);

LeakCounts MustCount(const EventLog& log, const Timelines& tl, const Units& units, LeakCohorts cohorts = {}) {
  auto c = CountLeaks(log, tl, units, cohorts);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : LeakCounts();
}

LeakAssessment MustAssess(const LeakCounts& c, const LeakOptions& options) {
  auto a = AssessLeaks(c, options);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : LeakAssessment();
}

int64_t At(int64_t day) { return kT0 + day * kDay; }

bool Same(double a, double b, double rel) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

// ---- An independent regularized incomplete beta: Simpson's rule -------------------

// I_x(a, b) by numerical integration of the density (in logs), on the side x <= 1/2
// (I_x(a, b) = 1 - I_{1-x}(b, a)), where (1 - t)^(b-1) is smooth; for a < 4 the
// substitution t = u^p, p = 4 / a, makes the integrand p u^3 (1 - u^p)^(b-1) smooth at 0.
double RefBetaCdf(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > 0.5) return 1.0 - RefBetaCdf(b, a, 1.0 - x);
  const double lnB = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  const double p = a < 4 ? 4 / a : 1.0;
  const double top = std::pow(x, 1 / p);
  const int N = 20000;
  const double h = top / N;
  double sum = 0;
  for (int i = 0; i <= N; ++i) {
    const double u = i * h;
    const double e = p * a - 1;
    double f = 0;
    if (u > 0) {
      f = std::exp(std::log(p) + e * std::log(u) + (b - 1) * std::log1p(-std::pow(u, p)) - lnB);
    } else if (e == 0) {
      f = std::exp(std::log(p) - lnB);
    }
    sum += f * (i == 0 || i == N ? 1 : (i % 2 == 1 ? 4 : 2));
  }
  return sum * h / 3;
}

// ---- 1. The hand-derived log -------------------------------------------------------

// L (0), Q (1), P (2); Won on sign, Lost on decline, spam excludes, rescope moves back
// to Q (recorded); skipping and reopening allowed. Q stalls after 5 days, and a deal
// stalled 10 days more is closed as lost "(stalled)". as_of = day 30.
StageModel HandModel() {
  StageModel m;
  m.AddStage("L").Any({"created"});
  m.AddStage("Q").Any({"need"}).StallAfter(Days(5));
  m.AddStage("P").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.Exclude({"spam"});
  StageRule rescope;
  rescope.filters = {{"rescope"}};
  m.Regress(rescope, "Q");
  m.SetRegression(Regression::kRecord);
  m.SetOrdering(Ordering::kSkip);
  m.SetReopen(Reopen::kAllow);
  m.CloseStalledAfter(Days(10));
  return m;
}

RunOptions HandRun() {
  RunOptions r;
  r.as_of = At(30);
  return r;
}

// Cohorts: current [day 0, day 19), past [day -30, day 0).
LeakCohorts HandCohorts() { return LeakCohorts{At(0), At(19), At(-30)}; }

std::vector<Ev> HandRows() {
  auto ev = [](std::string d, int64_t day, std::string a, std::string rep = "", double amount = kNaN) {
    return Ev{std::move(d), At(day), std::move(a), std::move(rep), amount};
  };
  return {
      // ana, current cohort.
      // A: L(0) Q(2) P(5) W(9); 1,000.                entry L, furthest Won.
      ev("A", 0, "created", "ana", 1000), ev("A", 2, "need"), ev("A", 5, "proposal"), ev("A", 9, "sign"),
      // B: L(0), skips to P(3), lost (6); 2,000.       entry L, furthest P, lost decline at P.
      ev("B", 0, "created", "ana", 2000), ev("B", 3, "proposal"), ev("B", 6, "decline"),
      // C: L(0) Q(1) P(3), back to Q (4), lost (8).    furthest P (highest ever): lost at P.
      ev("C", 0, "created", "ana"), ev("C", 1, "need"), ev("C", 3, "proposal"), ev("C", 4, "rescope"),
      ev("C", 8, "decline"),
      // D: L(0) Q(2), quiet since 2: stalled at 7, closed at 17 <= 30: lost "(stalled)" at Q.
      ev("D", 0, "created", "ana"), ev("D", 2, "need"),
      // M: enters at Q(3) (skip from no stage), P(6), open (P has no stall limit).
      ev("M", 3, "need", "ana"), ev("M", 6, "proposal"),
      // bo, current cohort.
      // E: L(18) Q(20): 10 days quiet > 5, closed only at 35 > 30: stalled at Q.
      ev("E", 18, "created", "bo"), ev("E", 20, "need"),
      // F: L(0) Q(25): 5 days quiet, not > 5: open at Q; 500.
      ev("F", 0, "created", "bo", 500), ev("F", 25, "need"),
      // G: L(0), spam (4): excluded at L.
      ev("G", 0, "created", "bo"), ev("G", 4, "spam"),
      // H: L(0) Q(1) W(3) from Q; 4,000.               furthest Won: passes through P.
      ev("H", 0, "created", "bo", 4000), ev("H", 1, "need"), ev("H", 3, "sign"),
      // I: L(0) Q(1) P(2) W(4), reopened into Q (28): open; judged at furthest P.
      ev("I", 0, "created", "bo"), ev("I", 1, "need"), ev("I", 2, "proposal"), ev("I", 4, "sign"),
      ev("I", 28, "need"),
      // Past cohort. P1 (ana): L(-20) Q(-18), lost (-10) at Q. P2 (bo): L(-25), W(-20).
      ev("P1", -20, "created", "ana"), ev("P1", -18, "need"), ev("P1", -10, "decline"),
      ev("P2", -25, "created", "bo"), ev("P2", -20, "sign"),
      // Out of window: O1 (ana) enters at -40 < past_from; O2 (bo) at 20 >= cohort_to.
      ev("O1", -40, "created", "ana"), ev("O2", 20, "created", "bo"),
      // Outside the funnel: K (ana) no stage; J (bo) won without an open stage.
      ev("K", 5, "reply", "ana"), ev("J", 5, "sign", "bo"),
  };
}

TEST(LeaksHand, Counts) {
  const EventLog log = BuildLog(HandRows());
  const Timelines tl = RunModel(HandModel(), log, HandRun());
  const LeakCounts c = MustCount(log, tl, MustRep(log), HandCohorts());
  ASSERT_EQ(c.num_open(), 3);
  ASSERT_EQ(c.unit_names(), (std::vector<std::string>{"ana", "bo"}));
  ASSERT_EQ(c.reasons(), (std::vector<std::string>{"(stalled)", "decline"}));
  const Cohort cur = Cohort::kCurrent, past = Cohort::kPast;
  // ana (0): A B C D M current, P1 past, O1 out of window, K outside: 8 deals.
  EXPECT_EQ(c.deals(0, cur), 5);
  EXPECT_EQ(c.deals(0, past), 1);
  EXPECT_EQ(c.out_of_window(0), 1);
  EXPECT_EQ(c.outside(0), 1);
  EXPECT_EQ(c.won(0, cur), 1);
  EXPECT_EQ(c.valued(0, cur), 2);
  EXPECT_TRUE(c.value_fixed(0, cur) == static_cast<Int128>(3000) * kDollarScale);
  // ana, current:        L   Q   P
  //   reached            4   5   4   (A B C D; + M at Q; A B C M at P, B's Q passed through)
  //   entrants           4   1   0
  //   advanced           4   4   1   (A B C D; A B C M; A)
  //   lost (stalled)     .   1   .   (D)
  //   lost decline       .   .   2   (B, and C at its furthest P)
  //   open               .   .   1   (M)
  const std::vector<int64_t> reached = {4, 5, 4}, entrants = {4, 1, 0}, advanced = {4, 4, 1};
  for (int32_t k = 0; k < 3; ++k) {
    const auto i = static_cast<size_t>(k);
    EXPECT_EQ(c.reached(0, cur, k), reached[i]) << k;
    EXPECT_EQ(c.entrants(0, cur, k), entrants[i]) << k;
    EXPECT_EQ(c.advanced(0, cur, k), advanced[i]) << k;
    EXPECT_EQ(c.stalled(0, cur, k), 0) << k;
    EXPECT_EQ(c.excluded(0, cur, k), 0) << k;
  }
  EXPECT_EQ(c.lost(0, cur, 1, 0), 1);
  EXPECT_EQ(c.lost(0, cur, 2, 1), 2);
  EXPECT_EQ(c.lost(0, cur, 1, 1) + c.lost(0, cur, 2, 0) + c.lost(0, cur, 0, 0) + c.lost(0, cur, 0, 1), 0);
  EXPECT_EQ(c.open(0, cur, 2), 1);
  EXPECT_EQ(c.open(0, cur, 0) + c.open(0, cur, 1), 0);
  // bo, current:         L   Q   P
  //   reached            5   4   2   (E F G H I; E F H I; H I)
  //   entrants           5   0   0
  //   advanced           4   2   1   (E F H I; H I; H)
  //   excluded           1   .   .   (G)
  //   stalled            .   1   .   (E)
  //   open               .   1   1   (F; I, reopened, at its furthest P)
  const std::vector<int64_t> b_reached = {5, 4, 2}, b_advanced = {4, 2, 1};
  for (int32_t k = 0; k < 3; ++k) {
    const auto i = static_cast<size_t>(k);
    EXPECT_EQ(c.reached(1, cur, k), b_reached[i]) << k;
    EXPECT_EQ(c.entrants(1, cur, k), k == 0 ? 5 : 0) << k;
    EXPECT_EQ(c.advanced(1, cur, k), b_advanced[i]) << k;
    EXPECT_EQ(c.lost(1, cur, k, 0) + c.lost(1, cur, k, 1), 0) << k;
  }
  EXPECT_EQ(c.excluded(1, cur, 0), 1);
  EXPECT_EQ(c.stalled(1, cur, 1), 1);
  EXPECT_EQ(c.open(1, cur, 1), 1);
  EXPECT_EQ(c.open(1, cur, 2), 1);
  EXPECT_EQ(c.won(1, cur), 1);
  EXPECT_EQ(c.deals(1, cur), 5);
  EXPECT_EQ(c.valued(1, cur), 2);
  EXPECT_TRUE(c.value_fixed(1, cur) == static_cast<Int128>(4500) * kDollarScale);
  // Past: P1 (ana) reached L Q, advanced L, lost decline at Q; P2 (bo) won from L:
  // reached and advanced at L Q P.
  EXPECT_EQ(c.reached(0, past, 0), 1);
  EXPECT_EQ(c.reached(0, past, 1), 1);
  EXPECT_EQ(c.reached(0, past, 2), 0);
  EXPECT_EQ(c.lost(0, past, 1, 1), 1);
  for (int32_t k = 0; k < 3; ++k) EXPECT_EQ(c.advanced(1, past, k), 1) << k;
  EXPECT_EQ(c.won(1, past), 1);
  EXPECT_EQ(c.deals(1, past), 1);
  EXPECT_EQ(c.out_of_window(1), 1);
  EXPECT_EQ(c.outside(1), 1);
}

// The assessment against target (0.8, 0.5, 0.5), "(stalled)" a disqualification.
//   D_2 = 1, D_1 = 0.5, D_0 = 0.25, D_{-1} = 0.2.
// Trials n = advanced + lost + disqualified + stalled, x = advanced:
//   ana: L 4/4, Q 4/5 (D disqualified), P 1/3 (M pending)
//   bo:  L 4/4 (G pending), Q 2/3 (E stalled is a trial; F pending), P 1/1 (I pending)
// Shortfall b n - x:  ana -0.8, -1.5, 0.5;  bo -0.8, -0.5, -0.5.
// Σ shortfall D:      ana -0.2 - 0.75 + 0.5 = -0.45;  bo -0.2 - 0.25 - 0.5 = -0.95.
// Gap terms:          ana benchmark wins 4(0.2) + 1(0.25) = 1.05, pending M at P 0.5, won 1:
//                         gap = 1.05 - 0.5 - 1 = -0.45;
//                     bo  benchmark wins 5(0.2) = 1, pending G 0.2 + F 0.25 + I 0.5 = 0.95,
//                         won 1: gap = -0.95.
// Average values: ana (1000 + 2000) / 2 = 1500, bo (500 + 4000) / 2 = 2250; dollars:
//   ana -0.8(0.25)1500 = -300, -1.5(0.5)1500 = -1125, 0.5(1)1500 = 750: Σ -675 = -0.45(1500)
//   bo  -0.8(0.25)2250 = -450, -0.5(0.5)2250 = -562.5, -0.5(1)2250 = -1125: Σ -2137.5.
// Stage L: m = 8/8 = 1, so κ = 0: raw rates, and the Jeffreys posterior Beta(4.5, 0.5).
TEST(LeaksHand, AssessmentAgainstATarget) {
  const EventLog log = BuildLog(HandRows());
  const LeakCounts c = MustCount(log, RunModel(HandModel(), log, HandRun()), MustRep(log), HandCohorts());
  LeakOptions op;
  op.benchmark = Benchmark::kTarget;
  op.target = {0.8, 0.5, 0.5};
  op.disqualify = {"(stalled)", "no such reason"};
  const LeakAssessment a = MustAssess(c, op);
  ASSERT_EQ(a.rows.size(), 6u);
  EXPECT_EQ(a.stage_benchmark, op.target);
  EXPECT_EQ(a.stage_units, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_DOUBLE_EQ(a.pooled_rate[0], 1.0);
  EXPECT_DOUBLE_EQ(a.pooled_rate[1], 6.0 / 8);
  EXPECT_DOUBLE_EQ(a.pooled_rate[2], 2.0 / 4);
  EXPECT_EQ(a.concentration[0], 0.0);
  // The κ of the other stages is BetaBinomialConcentration's (tested on its own below).
  EXPECT_EQ(a.concentration[1], *BetaBinomialConcentration(std::vector<int64_t>{4, 2}, std::vector<int64_t>{5, 3}));
  EXPECT_EQ(a.concentration[2], *BetaBinomialConcentration(std::vector<int64_t>{1, 1}, std::vector<int64_t>{3, 1}));
  const LeakRows& r = a.rows;
  EXPECT_EQ(r.unit, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(r.stage, (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(r.trials, (std::vector<int64_t>{4, 5, 3, 4, 3, 1}));
  EXPECT_EQ(r.advanced, (std::vector<int64_t>{4, 4, 1, 4, 2, 1}));
  EXPECT_EQ(r.lost, (std::vector<int64_t>{0, 0, 2, 0, 0, 0}));
  EXPECT_EQ(r.disqualified, (std::vector<int64_t>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(r.stalled, (std::vector<int64_t>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(r.open, (std::vector<int64_t>{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(r.excluded, (std::vector<int64_t>{0, 0, 0, 1, 0, 0}));
  const std::vector<double> rate = {1, 0.8, 1.0 / 3, 1, 2.0 / 3, 1};
  const std::vector<double> expected = {3.2, 2.5, 1.5, 3.2, 1.5, 0.5};
  const std::vector<double> shortfall = {-0.8, -1.5, 0.5, -0.8, -0.5, -0.5};
  const std::vector<double> down = {0.25, 0.5, 1, 0.25, 0.5, 1};
  const std::vector<double> dollars = {-300, -1125, 750, -450, -562.5, -1125};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(r.rate[i], rate[i], 1e-15) << i;
    EXPECT_NEAR(r.expected[i], expected[i], 1e-12) << i;
    EXPECT_NEAR(r.shortfall[i], shortfall[i], 1e-12) << i;
    EXPECT_DOUBLE_EQ(r.downstream_win[i], down[i]) << i;
    EXPECT_NEAR(r.dollars[i], dollars[i], 1e-9) << i;
    EXPECT_DOUBLE_EQ(r.average_value[i], i < 3 ? 1500 : 2250) << i;
    EXPECT_EQ(r.benchmark[i], op.target[i % 3]) << i;
  }
  EXPECT_NEAR(a.benchmark_wins[0], 1.05, 1e-12);
  EXPECT_NEAR(a.benchmark_wins[1], 1.0, 1e-12);
  EXPECT_NEAR(a.pending_wins[0], 0.5, 1e-12);
  EXPECT_NEAR(a.pending_wins[1], 0.95, 1e-12);
  EXPECT_EQ(a.won, (std::vector<int64_t>{1, 1}));
  EXPECT_NEAR(a.gap[0], -0.45, 1e-12);
  EXPECT_NEAR(a.gap[1], -0.95, 1e-12);
  EXPECT_NEAR(a.gap_dollars[0], -675, 1e-9);
  EXPECT_NEAR(a.gap_dollars[1], -2137.5, 1e-9);
  EXPECT_EQ(a.average_value, (std::vector<double>{1500, 2250}));
  // Stage L, κ = 0: shrunk = raw; Jeffreys Beta(4.5, 0.5) for both units (4 of 4).
  for (const size_t i : {size_t{0}, size_t{3}}) {
    EXPECT_EQ(r.shrunk_rate[i], 1.0);
    EXPECT_EQ(r.shrunk_shortfall[i], r.shortfall[i]);
    EXPECT_NEAR(r.probability_real[i], RefBetaCdf(4.5, 0.5, 0.8), 1e-8);
    // Quantiles q: 4 n (b - q) bounds; I_q = 0.025 and 0.975.
    const double q_hi = 0.8 - r.shortfall_lower[i] / 4, q_lo = 0.8 - r.shortfall_upper[i] / 4;
    EXPECT_NEAR(RefBetaCdf(4.5, 0.5, q_lo), 0.025, 1e-8);
    EXPECT_NEAR(RefBetaCdf(4.5, 0.5, q_hi), 0.975, 1e-8);
    EXPECT_LT(r.shortfall_lower[i], r.shortfall_upper[i]);
    EXPECT_EQ(r.flagged[i], 0);  // a surplus
  }
  // Other stages: the posterior Beta(x + κb, n - x + κ(1 - b)), shrunk shortfall
  // shortfall n / (n + κ), shrunk dollars from it.
  double shrunk_sum[2] = {0, 0};
  for (size_t i = 0; i < 6; ++i) {
    const double k = a.concentration[i % 3], b = op.target[i % 3];
    const double n = static_cast<double>(r.trials[i]), x = static_cast<double>(r.advanced[i]);
    if (k > 0) {
      EXPECT_NEAR(r.shrunk_rate[i], (x + k * b) / (n + k), 1e-12) << i;
      EXPECT_NEAR(r.shrunk_shortfall[i], shortfall[i] * n / (n + k), 1e-12) << i;
    }
    EXPECT_NEAR(r.shrunk_dollars[i], r.shrunk_shortfall[i] * down[i] * r.average_value[i], 1e-9) << i;
    shrunk_sum[i / 3] += r.shrunk_dollars[i];
  }
  EXPECT_NEAR(a.shrunk_gap_dollars[0], shrunk_sum[0], 1e-9);
  EXPECT_NEAR(a.chance_dollars[1], a.gap_dollars[1] - shrunk_sum[1], 1e-9);
  // Only ana's P has a positive shortfall, so it ranks first (when its shrunk shortfall
  // stays positive, which it does for any κ).
  EXPECT_GT(r.shrunk_dollars[2], 0);
  EXPECT_EQ(r.rank[2], 1);
  std::vector<int32_t> ranks = r.rank;
  std::sort(ranks.begin(), ranks.end());
  EXPECT_EQ(ranks, (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  // Reasons, current cohort: ana Q "(stalled)" 1 (disqualified), ana P decline 2.
  ASSERT_EQ(a.reasons.size(), 2u);
  EXPECT_EQ(a.reasons[0].unit, 0);
  EXPECT_EQ(a.reasons[0].stage, 1);
  EXPECT_EQ(a.reasons[0].reason, "(stalled)");
  EXPECT_TRUE(a.reasons[0].disqualified);
  EXPECT_EQ(a.reasons[0].deals, 1);
  EXPECT_EQ(a.reasons[1].stage, 2);
  EXPECT_EQ(a.reasons[1].reason, "decline");
  EXPECT_FALSE(a.reasons[1].disqualified);
  EXPECT_EQ(a.reasons[1].deals, 2);

  // Without the disqualification ana's Q has a lost trial instead (same n).
  op.disqualify.clear();
  const LeakAssessment b = MustAssess(c, op);
  EXPECT_EQ(b.rows.lost[1], 1);
  EXPECT_EQ(b.rows.disqualified[1], 0);
  EXPECT_EQ(b.rows.trials[1], 5);

  // The organisation's average value: (1000 + 2000 + 500 + 4000) / 4 = 1875 for both.
  op.value = ValueBasis::kOrganisation;
  const LeakAssessment org = MustAssess(c, op);
  EXPECT_EQ(org.average_value, (std::vector<double>{1875, 1875}));
  EXPECT_NEAR(org.gap_dollars[0], -0.45 * 1875, 1e-9);
}

// A target with a NaN stage: its benchmark and every D below it are NaN, so are the
// dollars there and the gap; the stage itself is never flagged.
TEST(LeaksHand, NaNTargetStagePropagates) {
  const EventLog log = BuildLog(HandRows());
  const LeakCounts c = MustCount(log, RunModel(HandModel(), log, HandRun()), MustRep(log), HandCohorts());
  LeakOptions op;
  op.benchmark = Benchmark::kTarget;
  op.target = {0.5, kNaN, 0.9};
  op.flag_probability = 0.5;
  op.min_relative_shortfall = 0.0;  // the flag below turns on the probability alone
  const LeakAssessment a = MustAssess(c, op);
  for (size_t u = 0; u < 2; ++u) {
    const size_t i = u * 3;
    EXPECT_TRUE(std::isnan(a.rows.downstream_win[i]));      // D_0 = b_1 b_2
    EXPECT_DOUBLE_EQ(a.rows.downstream_win[i + 1], 0.9);    // D_1 = b_2
    EXPECT_DOUBLE_EQ(a.rows.downstream_win[i + 2], 1.0);
    EXPECT_TRUE(std::isnan(a.rows.dollars[i]));
    EXPECT_TRUE(std::isnan(a.rows.shortfall[i + 1]));
    EXPECT_TRUE(std::isnan(a.rows.probability_real[i + 1]));
    EXPECT_EQ(a.rows.flagged[i + 1], 0);
    EXPECT_FALSE(std::isnan(a.rows.dollars[i + 2]));
    EXPECT_TRUE(std::isnan(a.gap[u]));
    EXPECT_TRUE(std::isnan(a.gap_dollars[u]));
  }
  // NaN rows rank last.
  for (size_t i = 0; i < a.rows.size(); ++i) {
    if (std::isnan(a.rows.shrunk_dollars[i])) {
      EXPECT_GT(a.rows.rank[i], 2) << i;
    }
  }
  // ana's P: 1 of 3 against 0.9 is flagged at probability 0.5 (a shortfall of 1.7).
  EXPECT_NEAR(a.rows.shortfall[2], 1.7, 1e-12);
  EXPECT_GT(a.rows.probability_real[2], 0.5);
  // Its level at the other stages: only L (4 of 4 against 0.5, Q's benchmark is NaN).
  EXPECT_EQ(a.rows.flagged[2], a.rows.own_probability[2] >= 0.5 ? 1 : 0);
}

// ---- 2. A raw state writer, from the header's byte format -------------------------

struct RawCell {  // one unit, cohort and stage
  int64_t reached = 0, entrants = 0, advanced = 0, stalled = 0, open = 0, excluded = 0;
  std::vector<int64_t> lost;  // per reason
};
struct RawCohort {
  int64_t deals = 0, won = 0, valued = 0;
  Int128 value = 0;
  std::vector<RawCell> stages;
};
struct RawUnit {
  std::string name;
  int64_t outside = 0, out_of_window = 0;
  RawCohort cohort[2];
};

std::string RawPayload(int32_t O, const std::vector<std::string>& reasons, const std::vector<RawUnit>& units,
                       LeakCohorts co = {}, std::string kind = "rep") {
  StateWriter w;
  w.U32(static_cast<uint32_t>(O + 2));
  w.U32(static_cast<uint32_t>(O));
  for (int32_t s = 0; s < O; ++s) w.String("S" + std::to_string(s));
  w.String("Won");
  w.String("Lost");
  w.I64(co.cohort_from);
  w.I64(co.cohort_to);
  w.I64(co.past_from);
  w.String(kind);
  w.U32(static_cast<uint32_t>(units.size()));
  for (const RawUnit& u : units) w.String(u.name);
  w.U32(static_cast<uint32_t>(reasons.size()));
  for (const std::string& r : reasons) w.String(r);
  for (const RawUnit& u : units) {
    w.I64(u.outside);
    w.I64(u.out_of_window);
  }
  for (const RawUnit& u : units) {
    for (const RawCohort& c : u.cohort) {
      w.I64(c.deals);
      w.I64(c.won);
      w.I64(c.valued);
      w.I64(static_cast<int64_t>(c.value));        // low 64 bits
      w.I64(static_cast<int64_t>(c.value >> 64));  // high 64 bits
      for (int32_t k = 0; k < O; ++k) {
        const RawCell cell = k < static_cast<int32_t>(c.stages.size()) ? c.stages[static_cast<size_t>(k)] : RawCell{};
        w.I64(cell.reached);
        w.I64(cell.entrants);
        w.I64(cell.advanced);
        w.I64(cell.stalled);
        w.I64(cell.open);
        w.I64(cell.excluded);
        for (size_t r = 0; r < reasons.size(); ++r) w.I64(r < cell.lost.size() ? cell.lost[r] : 0);
      }
    }
  }
  return w.Release();
}

std::string RawState(int32_t O, const std::vector<std::string>& reasons, const std::vector<RawUnit>& units,
                     LeakCohorts co = {}) {
  return WrapState(kMagic, 1, RawPayload(O, reasons, units, co));
}

// A unit with one open stage: x of n current deals won, the rest lost (reason 0).
RawUnit OneStageUnit(std::string name, int64_t x, int64_t n, int64_t value_each = 0) {
  RawUnit u;
  u.name = std::move(name);
  RawCohort& c = u.cohort[0];
  c.deals = n;
  c.won = x;
  if (value_each != 0) {
    c.valued = n;
    c.value = static_cast<Int128>(value_each) * kDollarScale * n;
  }
  RawCell cell;
  cell.reached = cell.entrants = n;
  cell.advanced = x;
  cell.lost = {n - x};
  c.stages = {cell};
  return u;
}

LeakCounts MustParse(const std::string& bytes) {
  auto c = LeakCounts::Deserialize(bytes);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : LeakCounts();
}

TEST(LeaksBytes, SerializeMatchesTheDocumentedLayout) {
  const EventLog log = BuildLog(HandRows());
  Timelines tl = RunModel(HandModel(), log, HandRun());
  tl.stage_names = {"S0", "S1", "S2", "Won", "Lost"};
  const LeakCounts c = MustCount(log, tl, MustRep(log), HandCohorts());
  std::vector<RawUnit> raw;
  for (int32_t u = 0; u < c.num_units(); ++u) {
    RawUnit ru;
    ru.name = c.unit_names()[static_cast<size_t>(u)];
    ru.outside = c.outside(u);
    ru.out_of_window = c.out_of_window(u);
    for (const Cohort co : {Cohort::kCurrent, Cohort::kPast}) {
      RawCohort& rc = ru.cohort[static_cast<size_t>(co)];
      rc.deals = c.deals(u, co);
      rc.won = c.won(u, co);
      rc.valued = c.valued(u, co);
      rc.value = c.value_fixed(u, co);
      for (int32_t k = 0; k < 3; ++k) {
        RawCell cell{c.reached(u, co, k), c.entrants(u, co, k), c.advanced(u, co, k), c.stalled(u, co, k),
                     c.open(u, co, k),    c.excluded(u, co, k), {}};
        for (int32_t r = 0; r < c.num_reasons(); ++r) cell.lost.push_back(c.lost(u, co, k, r));
        rc.stages.push_back(cell);
      }
    }
    raw.push_back(ru);
  }
  const std::string bytes = RawState(3, c.reasons(), raw, HandCohorts());
  EXPECT_EQ(c.Serialize(), bytes);
  EXPECT_TRUE(MustParse(bytes) == c);
}

TEST(LeaksBytes, RoundTripTruncationAndCorruption) {
  const EventLog log = BuildLog(HandRows());
  const LeakCounts c = MustCount(log, RunModel(HandModel(), log, HandRun()), MustRep(log), HandCohorts());
  const std::string bytes = c.Serialize();
  const LeakCounts back = MustParse(bytes);
  EXPECT_TRUE(back == c);
  EXPECT_EQ(back.Serialize(), bytes);
  const LeakCounts empty = *LeakCounts::Create({"a", "Won", "Lost"}, 1);
  EXPECT_TRUE(MustParse(empty.Serialize()) == empty);

  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = LeakCounts::Deserialize(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << n;
  }
  std::string version = bytes;
  version[8] = 2;
  EXPECT_EQ(LeakCounts::Deserialize(version).status().code(), absl::StatusCode::kFailedPrecondition);
  // Every single flipped byte, any bit pattern tried: rejected, never a crash.
  for (size_t k = 0; k < bytes.size(); ++k) {
    for (const int mask : {0x01, 0x10, 0x80, 0xff}) {
      std::string flipped = bytes;
      flipped[k] = static_cast<char>(flipped[k] ^ mask);
      EXPECT_FALSE(LeakCounts::Deserialize(flipped).ok()) << k << " " << mask;
    }
  }
  // A correct frame around another version's payload.
  EXPECT_EQ(LeakCounts::Deserialize(WrapState(kMagic, 2, "x")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// Checksummed payloads no Update could produce.
TEST(LeaksBytes, ImpossibleContentsAreDataLoss) {
  const std::vector<std::string> reasons = {"decline"};
  // The valid base: two units at one stage.
  const std::vector<RawUnit> good = {OneStageUnit("a", 2, 5, 100), OneStageUnit("b", 1, 3)};
  ASSERT_TRUE(LeakCounts::Deserialize(RawState(1, reasons, good)).ok());
  auto expect_bad = [&](const std::string& bytes, const std::string& what) {
    auto r = LeakCounts::Deserialize(bytes);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << what << ": " << r.status();
  };
  auto units = good;
  std::swap(units[0], units[1]);
  expect_bad(RawState(1, reasons, units), "unsorted units");
  units = good;
  units[1].name = "a";
  expect_bad(RawState(1, reasons, units), "repeated units");
  expect_bad(RawState(1, {"z", "decline"}, good), "unsorted reasons");
  units = good;
  units[0].cohort[0].stages[0].lost = {-1};
  units[0].cohort[0].stages[0].advanced = 6;
  units[0].cohort[0].won = 6;
  expect_bad(RawState(1, reasons, units), "negative count");
  units = good;
  units[0].cohort[0].stages[0].reached = 6;
  expect_bad(RawState(1, reasons, units), "reached differs from fates");
  units = good;
  units[0].cohort[0].stages[0].open = 1;
  units[0].cohort[0].stages[0].lost = {2};
  EXPECT_TRUE(LeakCounts::Deserialize(RawState(1, reasons, units)).ok()) << "fates moved, still whole";
  units[0].cohort[0].stages[0].entrants = 4;
  expect_bad(RawState(1, reasons, units), "reached differs from entrants");
  units = good;
  units[0].cohort[0].won = 1;
  expect_bad(RawState(1, reasons, units), "won differs from the last advanced");
  units = good;
  units[0].cohort[0].deals = 6;
  expect_bad(RawState(1, reasons, units), "deals differ from entrants");
  units = good;
  units[1].cohort[0].valued = 4;
  expect_bad(RawState(1, reasons, units), "more valued than deals");
  units = good;
  units[1].cohort[0].value = 5;
  expect_bad(RawState(1, reasons, units), "value without valued deals");
  units = good;
  units.push_back(RawUnit{"c", 0, 0, {}});
  expect_bad(RawState(1, reasons, units), "an empty unit");
  expect_bad(RawState(1, {"decline", "zzz"}, good), "an empty reason");
  units = good;
  units[1].cohort[1] = units[1].cohort[0];
  expect_bad(RawState(1, reasons, units), "a past cohort without cohort_from");
  EXPECT_TRUE(LeakCounts::Deserialize(RawState(1, reasons, units, LeakCohorts{At(0), kNullInstant, kNullInstant})).ok());
  expect_bad(RawState(1, reasons, good, LeakCohorts{At(5), At(1), kNullInstant}), "cohort_to before cohort_from");
  expect_bad(RawState(1, reasons, good, LeakCohorts{At(5), kNullInstant, At(6)}), "past_from after cohort_from");
  // A huge unit count with few bytes left.
  std::string p = RawPayload(1, reasons, good);
  expect_bad(WrapState(kMagic, 1, p + "x"), "bytes left over");
}

// ---- 3. The concentration against a brute-force maximisation ----------------------

// Σ_u lnB(x + κm, n - x + κ(1-m)) - lnB(κm, κ(1-m)) as sums of logarithms (the
// ratios of gamma functions at integer offsets), independent of lgamma.
double RefLogLik(const std::vector<int64_t>& x, const std::vector<int64_t>& n, double m, double kappa) {
  const double a = kappa * m, b = kappa * (1 - m);
  double s = 0;
  for (size_t u = 0; u < x.size(); ++u) {
    for (int64_t i = 0; i < x[u]; ++i) s += std::log(a + static_cast<double>(i));
    for (int64_t i = 0; i < n[u] - x[u]; ++i) s += std::log(b + static_cast<double>(i));
    for (int64_t i = 0; i < n[u]; ++i) s -= std::log(a + b + static_cast<double>(i));
  }
  return s;
}

// Dense grid on ln κ, then two finer grids around the best point.
double BruteKappa(const std::vector<int64_t>& x, const std::vector<int64_t>& n, double m) {
  double lo = std::log(kMinConcentration), hi = std::log(kMaxConcentration);
  double best = lo;
  for (int round = 0; round < 3; ++round) {
    const int G = 2000;
    double best_f = -std::numeric_limits<double>::infinity();
    const double step = (hi - lo) / G;
    for (int i = 0; i <= G; ++i) {
      const double t = lo + step * i;
      const double f = RefLogLik(x, n, m, std::exp(t));
      if (f > best_f) {
        best_f = f;
        best = t;
      }
    }
    lo = std::max(std::log(kMinConcentration), best - step);
    hi = std::min(std::log(kMaxConcentration), best + step);
  }
  return std::exp(best);
}

TEST(LeaksConcentration, MatchesABruteForceMaximum) {
  std::mt19937_64 g(5);
  int interior = 0, at_max = 0, at_min = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int units = 2 + static_cast<int>(g() % 7);
    std::vector<int64_t> x(static_cast<size_t>(units)), n(static_cast<size_t>(units));
    // Per case, a spread of true rates from none to wide.
    const double spread = static_cast<double>(g() % 100) / 100.0;
    const double centre = 0.1 + 0.8 * static_cast<double>(g() % 100) / 100.0;
    int64_t sx = 0, sn = 0;
    for (size_t u = 0; u < x.size(); ++u) {
      n[u] = static_cast<int64_t>(g() % 40);  // some units without trials
      double p = centre + spread * (static_cast<double>(g() % 1000) / 1000.0 - 0.5);
      p = std::clamp(p, 0.0, 1.0);
      x[u] = 0;
      for (int64_t i = 0; i < n[u]; ++i) x[u] += static_cast<double>(g() % 10000) / 10000.0 < p ? 1 : 0;
      sx += x[u];
      sn += n[u];
    }
    const auto k = BetaBinomialConcentration(x, n);
    ASSERT_TRUE(k.ok()) << k.status();
    int with_trials = 0;
    for (const int64_t t : n) with_trials += t > 0 ? 1 : 0;
    if (with_trials < 2 || sx == 0 || sx == sn) {
      EXPECT_EQ(*k, 0.0) << iter;
      continue;
    }
    std::vector<int64_t> xs, ns;
    for (size_t u = 0; u < x.size(); ++u) {
      if (n[u] > 0) {
        xs.push_back(x[u]);
        ns.push_back(n[u]);
      }
    }
    const double m = static_cast<double>(sx) / static_cast<double>(sn);
    const double brute = BruteKappa(xs, ns, m);
    ASSERT_GE(*k, kMinConcentration);
    ASSERT_LE(*k, kMaxConcentration);
    const double f_impl = RefLogLik(xs, ns, m, *k), f_brute = RefLogLik(xs, ns, m, brute);
    // At least as likely as the brute-force optimum (to rounding), and at the same
    // place when the optimum is well defined.
    EXPECT_GE(f_impl, f_brute - 1e-9 * std::max(1.0, std::fabs(f_brute))) << iter << " " << *k << " vs " << brute;
    const double curvature = RefLogLik(xs, ns, m, brute * 1.01) + RefLogLik(xs, ns, m, brute / 1.01) - 2 * f_brute;
    if (brute > kMinConcentration * 1.05 && brute < kMaxConcentration / 1.05 && curvature < -1e-6) {
      EXPECT_NEAR(std::log(*k), std::log(brute), 1e-3) << iter;
      ++interior;
    } else if (brute >= kMaxConcentration / 1.05) {
      ++at_max;
    } else {
      ++at_min;
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(interior, 20);
  EXPECT_GT(at_max, 20);
}

TEST(LeaksConcentration, EdgeCases) {
  using V = std::vector<int64_t>;
  EXPECT_EQ(*BetaBinomialConcentration(V{}, V{}), 0.0);
  EXPECT_EQ(*BetaBinomialConcentration(V{3}, V{10}), 0.0);               // one unit
  EXPECT_EQ(*BetaBinomialConcentration(V{3, 0}, V{10, 0}), 0.0);         // one with trials
  EXPECT_EQ(*BetaBinomialConcentration(V{0, 0, 0}, V{5, 9, 2}), 0.0);    // m = 0
  EXPECT_EQ(*BetaBinomialConcentration(V{5, 9, 2}, V{5, 9, 2}), 0.0);    // m = 1
  // Identical rates: no spread beyond chance, the largest κ.
  const double same = *BetaBinomialConcentration(V{5, 5, 5, 5, 5, 5}, V{10, 10, 10, 10, 10, 10});
  EXPECT_GE(same, kMaxConcentration * (1 - 1e-6));
  // All or nothing per unit: all spread, the smallest κ.
  const double apart = *BetaBinomialConcentration(V{0, 20, 0, 20, 0, 20}, V{20, 20, 20, 20, 20, 20});
  EXPECT_LE(apart, kMinConcentration * (1 + 1e-6));
  // Large counts (lgamma differences inside) agree with the sums of logs.
  V xs = {120, 300, 75, 410}, ns = {400, 700, 300, 800};
  const double big = *BetaBinomialConcentration(xs, ns);
  const double m = 905.0 / 2200;
  EXPECT_NEAR(std::log(big), std::log(BruteKappa(xs, ns, m)), 1e-3);
  EXPECT_EQ(BetaBinomialConcentration(V{1, 2}, V{3}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BetaBinomialConcentration(V{4}, V{3}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BetaBinomialConcentration(V{-1}, V{3}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BetaBinomialConcentration(V{0}, V{-3}).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- 4. Team benchmarks by hand percentiles ---------------------------------------

// Type 7: h = (N - 1) q, v[floor h] + (h - floor h)(v[floor h + 1] - v[floor h]).
TEST(LeaksBenchmarks, TeamMedianAndTopQuartile) {
  // One stage; units (x of n): a 2/10, b 5/10, c 9/10, d 6/12, e 1/3 (below min_trials 5).
  const std::vector<RawUnit> units = {OneStageUnit("a", 2, 10, 100), OneStageUnit("b", 5, 10, 100),
                                      OneStageUnit("c", 9, 10, 100), OneStageUnit("d", 6, 12, 100),
                                      OneStageUnit("e", 1, 3, 100)};
  const LeakCounts c = MustParse(RawState(1, {"decline"}, units));
  LeakOptions op;
  op.min_trials = 5;
  const LeakAssessment med = MustAssess(c, op);
  const double k = med.concentration[0], m = med.pooled_rate[0];
  EXPECT_DOUBLE_EQ(m, 23.0 / 45);
  EXPECT_EQ(med.stage_units[0], 5);
  EXPECT_GT(k, 0);
  auto s = [&](double x, double n) { return (x + k * m) / (n + k); };
  // Qualifying shrunk rates in order: a < d (6/12 = 1/2) vs b (5/10)? Both at 1/2 raw,
  // but d's larger n pulls it less toward m > 1/2: a < d < b < c.
  std::vector<double> q = {s(2, 10), s(6, 12), s(5, 10), s(9, 10)};
  ASSERT_TRUE(std::is_sorted(q.begin(), q.end()));
  // N = 4: median h = 1.5, mean of q1 and q2; top quartile h = 2.25.
  EXPECT_NEAR(med.stage_benchmark[0], (q[1] + q[2]) / 2, 1e-12);
  op.benchmark = Benchmark::kTopQuartile;
  const LeakAssessment top = MustAssess(c, op);
  EXPECT_NEAR(top.stage_benchmark[0], q[2] + 0.25 * (q[3] - q[2]), 1e-12);
  // With e qualifying too (min_trials 3): N = 5, e's 1/3 pulled toward m, lowest;
  // median h = 2: the third smallest; top quartile h = 3: the fourth.
  op.min_trials = 3;
  std::vector<double> q5 = {s(1, 3), s(2, 10), s(6, 12), s(5, 10), s(9, 10)};
  std::sort(q5.begin(), q5.end());
  EXPECT_NEAR(MustAssess(c, op).stage_benchmark[0], q5[3], 1e-12);
  op.benchmark = Benchmark::kTeamMedian;
  EXPECT_NEAR(MustAssess(c, op).stage_benchmark[0], q5[2], 1e-12);
  // Nobody qualifies: NaN benchmark, NaN figures, nothing flagged.
  op.min_trials = 13;
  const LeakAssessment none = MustAssess(c, op);
  EXPECT_TRUE(std::isnan(none.stage_benchmark[0]));
  for (size_t i = 0; i < none.rows.size(); ++i) {
    EXPECT_TRUE(std::isnan(none.rows.shortfall[i]));
    EXPECT_EQ(none.rows.flagged[i], 0);
  }
  EXPECT_TRUE(std::isnan(none.gap[0]));
}

// Two units, identical pairs: κ = 0 only with one unit. With one unit of trials the
// median is its raw rate, and a unit with no trials has rate NaN, shortfall 0.
TEST(LeaksBenchmarks, OneUnitAndEmptyStage) {
  RawUnit a = OneStageUnit("a", 3, 10, 50);
  RawUnit b;  // b: one deal, open (pending): no trials.
  b.name = "b";
  b.cohort[0].deals = 1;
  b.cohort[0].stages = {RawCell{1, 1, 0, 0, 1, 0, {0}}};
  const LeakCounts c = MustParse(RawState(1, {"decline"}, {a, b}));
  LeakOptions op;
  op.min_trials = 1;
  const LeakAssessment r = MustAssess(c, op);
  EXPECT_EQ(r.concentration[0], 0.0);
  EXPECT_EQ(r.stage_units[0], 1);
  EXPECT_DOUBLE_EQ(r.stage_benchmark[0], 0.3);
  EXPECT_DOUBLE_EQ(r.rows.shortfall[0], 0.0);
  EXPECT_TRUE(std::isnan(r.rows.rate[1]));
  EXPECT_EQ(r.rows.shortfall[1], 0.0);
  EXPECT_EQ(r.rows.shrunk_shortfall[1], 0.0);
  EXPECT_TRUE(std::isnan(r.rows.shrunk_rate[1]));
  EXPECT_EQ(r.rows.expected[1], 0.0);
  EXPECT_EQ(r.rows.dollars[1], 0.0);
  EXPECT_EQ(r.rows.shrunk_dollars[1], 0.0);
  EXPECT_EQ(r.rows.dollars_lower[1], 0.0);
  EXPECT_TRUE(std::isnan(r.rows.probability_real[1]));
  EXPECT_EQ(r.rows.flagged[1], 0);
  // b has no valued deal: it uses the organisation's average (a's 50).
  EXPECT_EQ(r.average_value[1], 50.0);
  // b's gap: no entrant wins, its pending deal's: 0.3 - 0.3 = 0... entrants 1 × 0.3
  // less pending 1 × 0.3, less 0 won.
  EXPECT_NEAR(r.gap[1], 0.0, 1e-15);
  // Jeffreys for a: Beta(3.5, 7.5), P(p < 0.3).
  EXPECT_NEAR(r.rows.probability_real[0], RefBetaCdf(3.5, 7.5, 0.3), 1e-8);
  // One stage: no other stage sets a level, so the own benchmark is the benchmark.
  EXPECT_EQ(r.rows.unit_level[0], 0.0);
  EXPECT_NEAR(r.rows.own_benchmark[0], 0.3, 1e-15);
  EXPECT_NEAR(r.rows.own_probability[0], r.rows.probability_real[0], 1e-12);
  EXPECT_NEAR(r.rows.own_shortfall[0], r.rows.shrunk_shortfall[0], 1e-12);
}

// The flag looks at a stage against the unit's level at its other stages. One unit
// (so κ = 0: raw rates, Jeffreys), target 0.5 at both stages, 0.2 at both:
//   S0: 10 enter, 2 advance, 8 lost;  S1: 8 more enter, 2 of 10 won, 8 lost.
//   dev_j = logit(0.2) - logit(0.5) = -ln 4 at both, so each stage's level is -ln 4 and
//   its own benchmark expit(0 - ln 4) = 1/5 = 0.2: own shortfall 10 (0.2 - 0.2) = 0,
//   own probability I_0.2(2.5, 8.5), about a half: not flagged, although against the
//   benchmark itself P(p < 0.5) = I_0.5(2.5, 8.5) > 0.95.
TEST(LeaksBenchmarks, AWeakUnitIsNotALeakAtEveryStage) {
  RawUnit u;
  u.name = "weak";
  u.cohort[0].deals = 18;
  u.cohort[0].won = 2;
  u.cohort[0].stages = {RawCell{10, 10, 2, 0, 0, 0, {8}}, RawCell{10, 8, 2, 0, 0, 0, {8}}};
  const LeakCounts c = MustParse(RawState(2, {"decline"}, {u}));
  LeakOptions op;
  op.benchmark = Benchmark::kTarget;
  op.target = {0.5, 0.5};
  const LeakAssessment a = MustAssess(c, op);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(a.rows.unit_level[k], -std::log(4.0), 1e-12) << k;
    EXPECT_NEAR(a.rows.own_benchmark[k], 0.2, 1e-12) << k;
    EXPECT_NEAR(a.rows.own_shortfall[k], 0.0, 1e-12) << k;
    EXPECT_NEAR(a.rows.own_probability[k], RefBetaCdf(2.5, 8.5, 0.2), 1e-8) << k;
    EXPECT_NEAR(a.rows.probability_real[k], RefBetaCdf(2.5, 8.5, 0.5), 1e-8) << k;
    EXPECT_GT(a.rows.probability_real[k], 0.95) << k;
    EXPECT_LT(a.rows.own_probability[k], 0.95) << k;
    EXPECT_EQ(a.rows.flagged[k], 0) << k;
    // Still a leak in dollars against the target: 0.5 (10) - 2 = 3 deals.
    EXPECT_NEAR(a.rows.shortfall[k], 3.0, 1e-12) << k;
  }
  // The same unit at 0.2 on S1 only, 0.8 on S0: S1 is now below the unit's level.
  //   S0: 10 enter, 8 advance, 2 lost; S1: 8 from S0 + 2 entrants, 2 won, 8 lost.
  //   S1's level = logit(0.8) = ln 4: own benchmark expit(ln 4) = 0.8, own shortfall
  //   10 (0.8 - 0.2) = 6, own probability I_0.8(2.5, 8.5), about 1: flagged.
  u.cohort[0].deals = 12;
  u.cohort[0].stages = {RawCell{10, 10, 8, 0, 0, 0, {2}}, RawCell{10, 2, 2, 0, 0, 0, {8}}};
  const LeakAssessment b = MustAssess(MustParse(RawState(2, {"decline"}, {u})), op);
  EXPECT_NEAR(b.rows.own_benchmark[1], 0.8, 1e-12);
  EXPECT_NEAR(b.rows.own_shortfall[1], 6.0, 1e-12);
  EXPECT_NEAR(b.rows.own_probability[1], RefBetaCdf(2.5, 8.5, 0.8), 1e-8);
  EXPECT_EQ(b.rows.flagged[1], 1);
  EXPECT_NEAR(b.rows.own_benchmark[0], 0.2, 1e-12);  // S0 against S1's level
  EXPECT_EQ(b.rows.flagged[0], 0);
}

// Own past: each unit against its own past rate shrunk toward the past pool with the
// past κ; a unit without past trials gets the pooled past rate; a stage with no past
// trials at all gives NaN.
TEST(LeaksBenchmarks, OwnPast) {
  const LeakCohorts co{At(0), kNullInstant, kNullInstant};
  // Two stages. Past: a 4/8 at S0 (all advanced deals then lost at S1: 0/4), b 6/8 at
  // S0 (then 0/6); c has no past deals. Current: a 2/4, b 2/4, c 3/4 at S0, all
  // advanced deals won at S1.
  auto unit = [](std::string name, int64_t cx, int64_t cn, int64_t px, int64_t pn) {
    RawUnit u;
    u.name = std::move(name);
    RawCohort& c = u.cohort[0];
    c.deals = cn;
    c.won = cx;
    c.stages = {RawCell{cn, cn, cx, 0, 0, 0, {cn - cx}}, RawCell{cx, 0, cx, 0, 0, 0, {0}}};
    if (pn > 0) {
      RawCohort& p = u.cohort[1];
      p.deals = pn;
      p.stages = {RawCell{pn, pn, px, 0, 0, 0, {pn - px}}, RawCell{px, 0, 0, 0, 0, 0, {px}}};
    }
    return u;
  };
  const LeakCounts c = MustParse(RawState(2, {"decline"}, {unit("a", 2, 4, 4, 8), unit("b", 2, 4, 6, 8),
                                                           unit("c", 3, 4, 0, 0)}, co));
  LeakOptions op;
  op.benchmark = Benchmark::kOwnPast;
  const LeakAssessment r = MustAssess(c, op);
  const double kp = *BetaBinomialConcentration(std::vector<int64_t>{4, 6, 0}, std::vector<int64_t>{8, 8, 0});
  const double mp = 10.0 / 16;
  ASSERT_GT(kp, 0);
  EXPECT_NEAR(r.rows.benchmark[0], (4 + kp * mp) / (8 + kp), 1e-12);
  EXPECT_NEAR(r.rows.benchmark[2], (6 + kp * mp) / (8 + kp), 1e-12);
  EXPECT_NEAR(r.rows.benchmark[4], mp, 1e-15);
  // S1 in the past: 0 of 10, m = 0, κ = 0: raw rates 0, and c (no trials) gets m = 0.
  EXPECT_EQ(r.rows.benchmark[1], 0.0);
  EXPECT_EQ(r.rows.benchmark[3], 0.0);
  EXPECT_EQ(r.rows.benchmark[5], 0.0);
  // D_0 = b_1 = 0: no wins expected downstream.
  EXPECT_EQ(r.rows.downstream_win[0], 0.0);
  for (const double sb : r.stage_benchmark) EXPECT_TRUE(std::isnan(sb));
  // Without past deals at all: NaN.
  const LeakCounts now = MustParse(RawState(2, {"decline"}, {unit("a", 2, 4, 0, 0), unit("b", 1, 4, 0, 0)}, co));
  const LeakAssessment nan = MustAssess(now, op);
  for (size_t i = 0; i < nan.rows.size(); ++i) EXPECT_TRUE(std::isnan(nan.rows.benchmark[i])) << i;
  EXPECT_TRUE(std::isnan(nan.gap[0]));
}

// ---- 5. The slow reference on random logs -------------------------------------------

struct RandomCase {
  std::vector<Ev> rows;
  StageModel model;
  RunOptions run;
  LeakCohorts cohorts;
};

RandomCase MakeRandomCase(Rng& rng) {
  RandomCase rc;
  const std::vector<std::string> actions = {"created", "reply", "need", "budget", "proposal", "sign", "decline",
                                            "spam", "rescope", "rescope", "meet", "call", "need", "proposal",
                                            "budget", "reply", "decline"};
  const std::vector<std::string> reps = {"ana", "bo", "cy", "dee", ""};
  const int64_t last = AddRandomDeals(rng, actions, reps, 25, 14, rc.rows);
  const std::vector<std::string> enter = {"created", "reply", "need", "budget", "proposal", "meet"};
  const int64_t open = 1 + rng.Below(4);
  for (int64_t k = 0; k < open; ++k) {
    Stage& st = rc.model.AddStage("S" + std::to_string(k));
    st.Any(RandomEntryActions(rng, enter));
    if (rng.Percent(40)) st.StallAfter((1 + rng.Below(30)) * kDay);
    if (rng.Percent(30)) st.Window((1 + rng.Below(20)) * kDay);
    if (rng.Percent(25)) st.Optional();
  }
  rc.model.Won().Any({"sign"});
  rc.model.Lost().Any(rng.Percent(50) ? std::vector<std::string>{"decline"} : std::vector<std::string>{"decline", "budget"});
  if (rng.Percent(50)) rc.model.Exclude({"spam"});
  if (rng.Percent(50)) rc.model.SetReopen(Reopen::kAllow);
  if (rng.Percent(50)) rc.model.SetOrdering(Ordering::kSkip);
  if (rng.Below(3) != 0) {
    rc.model.SetRegression(rng.Percent(70) ? Regression::kRecord : Regression::kFollow);
    StageRule rule;
    rule.filters = {{"rescope"}};
    rc.model.Regress(rule, "S" + std::to_string(rng.Below(open)));
  }
  if (rng.Percent(40)) rc.model.CloseStalledAfter(rng.Below(10) * kDay);
  rc.run.as_of = last + rng.Below(30) * kDay;  // fixed, so parts judge stalls alike
  rc.run.threads = 1;
  if (rng.Percent(70)) {
    rc.cohorts.cohort_from = At(rng.Below(50) - 5);
    if (rng.Percent(60)) rc.cohorts.past_from = rc.cohorts.cohort_from - (1 + rng.Below(40)) * kDay;
  }
  if (rng.Percent(50)) {
    const int64_t from = rc.cohorts.cohort_from == kNullInstant ? At(0) : rc.cohorts.cohort_from;
    rc.cohorts.cohort_to = from + (1 + rng.Below(50)) * kDay;
  }
  return rc;
}

// The DEFINITIONS, per deal, into maps keyed by unit name and cohort.
struct RefCell {
  int64_t deals = 0, won = 0, valued = 0;
  Int128 value = 0;
  std::map<int32_t, int64_t> reached, entrants, advanced, stalled, open, excluded;
  std::map<std::pair<int32_t, std::string>, int64_t> lost;
};
struct RefUnit {
  int64_t outside = 0, out_of_window = 0;
  std::map<int, RefCell> cohort;
};

std::map<std::string, RefUnit> Reference(const EventLog& log, const Timelines& tl, const Units& units,
                                         const LeakCohorts& co) {
  std::map<std::string, RefUnit> out;
  const int32_t O = tl.num_open, S = tl.num_stages();
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    RefUnit& ru = out[units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])]];
    std::set<int32_t> entered;
    std::vector<int64_t> times;
    for (int32_t s = 0; s < O; ++s) {
      const int64_t t = tl.first_entered[static_cast<size_t>(d * S + s)];
      if (t != kNullInstant) {
        entered.insert(s);
        times.push_back(t);
      }
    }
    if (entered.empty()) {
      ++ru.outside;
      continue;
    }
    const int64_t when = *std::min_element(times.begin(), times.end());
    auto in = [](int64_t t, int64_t from, int64_t to) {
      return !(from != kNullInstant && t < from) && !(to != kNullInstant && t >= to);
    };
    int cohort = -1;
    if (in(when, co.cohort_from, co.cohort_to)) {
      cohort = 0;
    } else if (co.cohort_from != kNullInstant && in(when, co.past_from, co.cohort_from)) {
      cohort = 1;
    }
    if (cohort < 0) {
      ++ru.out_of_window;
      continue;
    }
    RefCell& c = ru.cohort[cohort];
    const auto outcome = static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]);
    const int32_t entry = *entered.begin();
    const int32_t furthest = outcome == Outcome::kWon ? O : *entered.rbegin();
    ++c.deals;
    c.won += outcome == Outcome::kWon ? 1 : 0;
    const double v = tl.value[static_cast<size_t>(d)];
    if (!std::isnan(v)) {
      ++c.valued;
      c.value += std::llround(v * 1e4);
    }
    ++c.entrants[entry];
    for (int32_t k = 0; k < O; ++k) {
      const bool reached = entry <= k && k <= std::min(furthest, O - 1);
      if (!reached) continue;
      ++c.reached[k];
      if (furthest > k) ++c.advanced[k];
      if (furthest != k) continue;
      if (outcome == Outcome::kLost) {
        const int32_t why = tl.lost_reason[static_cast<size_t>(d)];
        ++c.lost[{k, why == kReasonStalled ? "(stalled)" : log.actions().Label(why)}];
      }
      if (outcome == Outcome::kStalled) ++c.stalled[k];
      if (outcome == Outcome::kOpen) ++c.open[k];
      if (outcome == Outcome::kExcluded) ++c.excluded[k];
    }
  }
  return out;
}

int64_t Get(const std::map<int32_t, int64_t>& m, int32_t k) {
  const auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

void ExpectMatchesReference(const LeakCounts& c, const EventLog& log, const Timelines& tl, const Units& units,
                            const LeakCohorts& co, const std::string& what) {
  const std::map<std::string, RefUnit> ref = Reference(log, tl, units, co);
  std::vector<std::string> names;
  std::set<std::string> reasons;
  for (const auto& [name, ru] : ref) {
    names.push_back(name);
    for (const auto& [k, cell] : ru.cohort) {
      for (const auto& [key, v] : cell.lost) reasons.insert(key.second);
    }
  }
  ASSERT_EQ(c.unit_names(), names) << what;
  ASSERT_EQ(c.reasons(), std::vector<std::string>(reasons.begin(), reasons.end())) << what;
  EXPECT_EQ(c.cohorts(), co) << what;
  EXPECT_EQ(c.unit_kind(), units.kind) << what;
  const RefCell empty;
  for (int32_t u = 0; u < c.num_units(); ++u) {
    const RefUnit& ru = ref.at(names[static_cast<size_t>(u)]);
    EXPECT_EQ(c.outside(u), ru.outside) << what;
    EXPECT_EQ(c.out_of_window(u), ru.out_of_window) << what;
    for (const Cohort ch : {Cohort::kCurrent, Cohort::kPast}) {
      const auto it = ru.cohort.find(static_cast<int>(ch));
      const RefCell& rc = it == ru.cohort.end() ? empty : it->second;
      EXPECT_EQ(c.deals(u, ch), rc.deals) << what;
      EXPECT_EQ(c.won(u, ch), rc.won) << what;
      EXPECT_EQ(c.valued(u, ch), rc.valued) << what;
      EXPECT_TRUE(c.value_fixed(u, ch) == rc.value) << what;
      for (int32_t k = 0; k < c.num_open(); ++k) {
        EXPECT_EQ(c.reached(u, ch, k), Get(rc.reached, k)) << what << " u" << u << " k" << k;
        EXPECT_EQ(c.entrants(u, ch, k), Get(rc.entrants, k)) << what;
        EXPECT_EQ(c.advanced(u, ch, k), Get(rc.advanced, k)) << what;
        EXPECT_EQ(c.stalled(u, ch, k), Get(rc.stalled, k)) << what;
        EXPECT_EQ(c.open(u, ch, k), Get(rc.open, k)) << what;
        EXPECT_EQ(c.excluded(u, ch, k), Get(rc.excluded, k)) << what;
        for (int32_t r = 0; r < c.num_reasons(); ++r) {
          const auto l = rc.lost.find({k, c.reasons()[static_cast<size_t>(r)]});
          EXPECT_EQ(c.lost(u, ch, k, r), l == rc.lost.end() ? 0 : l->second) << what;
        }
      }
    }
  }
}

// The conservation identities of the header.
void ExpectConservation(const LeakCounts& c, const Units& units, const std::string& what) {
  const int32_t O = c.num_open();
  std::map<std::string, int64_t> deals_of;
  for (const int32_t u : units.of_deal) ++deals_of[units.names[static_cast<size_t>(u)]];
  for (int32_t u = 0; u < c.num_units(); ++u) {
    const std::string& name = c.unit_names()[static_cast<size_t>(u)];
    EXPECT_EQ(c.deals(u, Cohort::kCurrent) + c.deals(u, Cohort::kPast) + c.out_of_window(u) + c.outside(u),
              deals_of[name])
        << what;
    deals_of.erase(name);
    for (const Cohort ch : {Cohort::kCurrent, Cohort::kPast}) {
      for (int32_t k = 0; k < O; ++k) {
        int64_t fates = c.advanced(u, ch, k) + c.stalled(u, ch, k) + c.open(u, ch, k) + c.excluded(u, ch, k);
        for (int32_t r = 0; r < c.num_reasons(); ++r) fates += c.lost(u, ch, k, r);
        EXPECT_EQ(c.reached(u, ch, k), fates) << what;
        EXPECT_EQ(c.reached(u, ch, k), (k == 0 ? 0 : c.advanced(u, ch, k - 1)) + c.entrants(u, ch, k)) << what;
      }
    }
  }
  for (const auto& [name, n] : deals_of) EXPECT_EQ(n, 0) << what << " unit " << name << " missing";
}

// Σ_k shortfall_k D_k = gap and Σ dollars = gap_dollars, and the rows' formulas.
void ExpectAssessmentLaws(const LeakCounts& c, const LeakAssessment& a, const LeakOptions& op,
                          const std::string& what) {
  const auto O = static_cast<size_t>(c.num_open());
  ASSERT_EQ(a.rows.size(), static_cast<size_t>(c.num_units()) * O) << what;
  const LeakRows& r = a.rows;
  for (size_t u = 0; u < static_cast<size_t>(c.num_units()); ++u) {
    double sum = 0, dollars = 0, shrunk = 0, bw = 0, pw = 0;
    for (size_t k = 0; k < O; ++k) {
      const size_t i = u * O + k;
      // D_k from the row benchmarks.
      double D = 1, Dm1 = 1;
      for (size_t j = k + 1; j < O; ++j) D *= r.benchmark[u * O + j];
      Dm1 = D * r.benchmark[i];
      EXPECT_TRUE(Same(r.downstream_win[i], D, 1e-12)) << what;
      const double n = static_cast<double>(r.trials[i]), x = static_cast<double>(r.advanced[i]);
      EXPECT_EQ(r.trials[i], r.reached[i] - r.open[i] - r.excluded[i]) << what;
      EXPECT_EQ(r.trials[i], r.advanced[i] + r.lost[i] + r.disqualified[i] + r.stalled[i]) << what;
      const double b = r.benchmark[i], kappa = a.concentration[k];
      if (r.trials[i] > 0) {
        EXPECT_TRUE(Same(r.rate[i], x / n, 1e-15)) << what;
        EXPECT_TRUE(Same(r.shortfall[i], b * n - x, 1e-12)) << what;
        EXPECT_TRUE(Same(r.shrunk_shortfall[i], (b * n - x) * n / (n + kappa), 1e-12)) << what;
        EXPECT_TRUE(Same(r.shrunk_shortfall[i], n * (b - r.shrunk_rate[i]), 1e-9)) << what;
        EXPECT_TRUE(Same(r.expected[i], b * n, 1e-12)) << what;
        if (!std::isnan(b)) {
          EXPECT_LE(r.shortfall_lower[i], r.shortfall_upper[i] + 1e-12) << what;
          EXPECT_GE(r.probability_real[i], 0.0) << what;
          EXPECT_LE(r.probability_real[i], 1.0) << what;
          // The posterior, checked by Simpson's rule where it is not too peaked.
          double alpha = x + 0.5, beta = n - x + 0.5;
          if (kappa > 0) {
            const double bc = std::clamp(b, 1e-9, 1 - 1e-9);
            alpha = x + kappa * bc;
            beta = n - x + kappa * (1 - bc);
          }
          if (alpha + beta < 300 && b > 0.01 && b < 0.99 && alpha > 0.05 && beta > 0.05) {
            EXPECT_NEAR(r.probability_real[i], RefBetaCdf(alpha, beta, b), 2e-6) << what;
            const double q_lo = b - r.shortfall_upper[i] / n;
            EXPECT_NEAR(RefBetaCdf(alpha, beta, q_lo), (1 - op.interval) / 2, 2e-6) << what << " a=" << alpha << " b=" << beta << " q=" << q_lo << " n=" << n;
          }
          EXPECT_TRUE(Same(r.dollars[i], r.shortfall[i] * D * r.average_value[i], 1e-12)) << what;
          EXPECT_TRUE(Same(r.dollars_lower[i], r.shortfall_lower[i] * D * r.average_value[i], 1e-12)) << what;
        } else {
          // b NaN: every figure from expected on NaN.
          EXPECT_EQ(r.flagged[i], 0) << what;
          for (const double v : {r.expected[i], r.shortfall[i], r.shrunk_rate[i], r.shrunk_shortfall[i],
                                 r.shortfall_lower[i], r.shortfall_upper[i], r.probability_real[i], r.dollars[i],
                                 r.shrunk_dollars[i], r.dollars_lower[i], r.dollars_upper[i]}) {
            EXPECT_TRUE(std::isnan(v)) << what;
          }
        }
      } else {
        EXPECT_TRUE(std::isnan(r.rate[i])) << what;
        EXPECT_TRUE(std::isnan(r.shrunk_rate[i])) << what;
        EXPECT_TRUE(Same(r.shortfall[i], b * 0.0, 0)) << what;
        EXPECT_TRUE(Same(r.shrunk_shortfall[i], b * 0.0, 0)) << what;
        const double no_dollars = std::isnan(r.average_value[i]) ? kNaN : b * 0.0;
        EXPECT_TRUE(Same(r.dollars[i], no_dollars, 0)) << what;
        EXPECT_TRUE(Same(r.dollars_upper[i], no_dollars, 0)) << what;
        EXPECT_TRUE(std::isnan(r.probability_real[i])) << what;
        EXPECT_EQ(r.flagged[i], 0) << what;
      }
      sum += r.shortfall[i] * r.downstream_win[i];
      dollars += r.dollars[i];
      shrunk += r.shrunk_dollars[i];
      bw += static_cast<double>(r.entrants[i]) * Dm1;
      pw += static_cast<double>(r.open[i] + r.excluded[i]) * Dm1;
    }
    // The flag against the benchmark moved to the unit's level at its other stages.
    auto logit = [](double p) {
      p = std::min(std::max(p, 1e-6), 1 - 1e-6);
      return std::log(p / (1 - p));
    };
    for (size_t k = 0; k < O; ++k) {
      const size_t i = u * O + k;
      double num = 0, den = 0;
      for (size_t j = 0; j < O; ++j) {
        const size_t q = u * O + j;
        const double bj = r.benchmark[q];
        if (j == k || r.trials[q] < 1 || !(bj > 0 && bj < 1) || std::isnan(r.shrunk_rate[q])) continue;
        num += static_cast<double>(r.trials[q]) * (logit(r.shrunk_rate[q]) - logit(bj));
        den += static_cast<double>(r.trials[q]);
      }
      const double level = den > 0 ? num / den : 0.0;
      EXPECT_TRUE(Same(r.unit_level[i], level, 1e-12)) << what;
      const double b = r.benchmark[i];
      if (std::isnan(b)) {
        EXPECT_TRUE(std::isnan(r.own_benchmark[i]) && std::isnan(r.own_probability[i])) << what;
        EXPECT_EQ(r.flagged[i], 0) << what;
        continue;
      }
      const double own = 1 / (1 + std::exp(-(logit(b) + level)));
      EXPECT_TRUE(Same(r.own_benchmark[i], own, 1e-12)) << what;
      if (r.trials[i] == 0) {
        EXPECT_EQ(r.own_shortfall[i], 0.0) << what;
        EXPECT_TRUE(std::isnan(r.own_probability[i])) << what;
        EXPECT_EQ(r.flagged[i], 0) << what;
        continue;
      }
      const double n = static_cast<double>(r.trials[i]), x = static_cast<double>(r.advanced[i]);
      const double kappa = a.concentration[k];
      const double own_shrunk = kappa > 0 ? (x + kappa * own) / (n + kappa) : x / n;
      EXPECT_TRUE(Same(r.own_shortfall[i], n * (own - own_shrunk), 1e-9)) << what;
      double alpha = x + 0.5, beta = n - x + 0.5;
      if (kappa > 0) {
        const double oc = std::clamp(own, 1e-9, 1 - 1e-9);
        alpha = x + kappa * oc;
        beta = n - x + kappa * (1 - oc);
      }
      if (alpha + beta < 300 && own > 0.01 && own < 0.99 && alpha > 0.05 && beta > 0.05) {
        EXPECT_NEAR(r.own_probability[i], RefBetaCdf(alpha, beta, own), 2e-6) << what;
      }
      const bool flag = r.own_probability[i] >= op.flag_probability &&
                        r.own_shortfall[i] >= op.min_relative_shortfall * own * n;
      EXPECT_EQ(r.flagged[i], flag ? 1 : 0) << what;
    }
    EXPECT_TRUE(Same(a.benchmark_wins[u], bw, 1e-12)) << what;
    EXPECT_TRUE(Same(a.pending_wins[u], pw, 1e-12)) << what;
    EXPECT_TRUE(Same(a.gap[u], bw - pw - static_cast<double>(a.won[u]), 1e-12)) << what;
    EXPECT_TRUE(Same(sum, a.gap[u], 1e-9)) << what << " unit " << u << ": " << sum << " vs " << a.gap[u];
    EXPECT_TRUE(Same(dollars, a.gap_dollars[u], 1e-9)) << what << " unit " << u << ": " << dollars << " vs " << a.gap_dollars[u] << " gap " << a.gap[u] << " avg " << a.average_value[u];
    EXPECT_TRUE(Same(shrunk, a.shrunk_gap_dollars[u], 1e-9)) << what;
    EXPECT_TRUE(Same(a.chance_dollars[u], a.gap_dollars[u] - a.shrunk_gap_dollars[u], 1e-9)) << what;
  }
  // Ranks: a permutation, ordered by shrunk dollars (NaN last, ties by row order).
  std::vector<size_t> by_rank(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    ASSERT_GE(r.rank[i], 1) << what;
    ASSERT_LE(static_cast<size_t>(r.rank[i]), r.size()) << what;
    by_rank[static_cast<size_t>(r.rank[i] - 1)] = i;
  }
  for (size_t p = 1; p < by_rank.size(); ++p) {
    const double prev = r.shrunk_dollars[by_rank[p - 1]], next = r.shrunk_dollars[by_rank[p]];
    if (std::isnan(prev)) {
      EXPECT_TRUE(std::isnan(next)) << what;
    }
    if (!std::isnan(prev) && !std::isnan(next)) {
      EXPECT_GE(prev, next) << what;
    }
    if (prev == next || (std::isnan(prev) && std::isnan(next))) {
      EXPECT_LT(by_rank[p - 1], by_rank[p]) << what;
    }
  }
}

TEST(LeaksReference, RandomLogs) {
  Rng rng(20261122);
  int reached_later = 0, lost_stalled = 0, past = 0, nan_gap = 0, finite_gap = 0, flagged = 0;
  for (int iter = 0; iter < 200; ++iter) {
    const RandomCase rc = MakeRandomCase(rng);
    const EventLog log = BuildLog(rc.rows);
    const Timelines tl = RunModel(rc.model, log, rc.run);
    const Units units = MustRep(log);
    const LeakCounts c = MustCount(log, tl, units, rc.cohorts);
    const std::string what = "case " + std::to_string(iter);
    ExpectMatchesReference(c, log, tl, units, rc.cohorts, what);
    ExpectConservation(c, units, what);
    for (int32_t u = 0; u < c.num_units(); ++u) {
      past += c.deals(u, Cohort::kPast) > 0 ? 1 : 0;
      for (int32_t k = 1; k < c.num_open(); ++k) reached_later += c.entrants(u, Cohort::kCurrent, k) > 0 ? 1 : 0;
    }
    for (const std::string& r : c.reasons()) lost_stalled += r == "(stalled)" ? 1 : 0;
    // Every benchmark.
    for (const Benchmark bm : {Benchmark::kTeamMedian, Benchmark::kTopQuartile, Benchmark::kTarget, Benchmark::kOwnPast}) {
      if (bm == Benchmark::kOwnPast && rc.cohorts.cohort_from == kNullInstant) continue;
      LeakOptions op;
      op.benchmark = bm;
      op.min_trials = 1 + rng.Below(3);
      op.interval = 0.5 + 0.49 * static_cast<double>(rng.Below(100)) / 100;
      op.flag_probability = 0.5 + 0.5 * static_cast<double>(rng.Below(100)) / 100;
      op.min_relative_shortfall = rng.Percent(50) ? 0.0 : 0.2;
      op.value = rng.Percent(50) ? ValueBasis::kUnit : ValueBasis::kOrganisation;
      if (rng.Percent(50)) op.disqualify = {"(stalled)"};
      if (rng.Percent(30)) op.disqualify.push_back("budget");
      if (bm == Benchmark::kTarget) {
        for (int32_t k = 0; k < c.num_open(); ++k) {
          op.target.push_back(rng.Percent(10) ? kNaN : static_cast<double>(rng.Below(101)) / 100);
        }
      }
      const LeakAssessment a = MustAssess(c, op);
      ExpectAssessmentLaws(c, a, op, what + " " + std::string(BenchmarkName(bm)));
      for (const double g : a.gap) (std::isnan(g) ? nan_gap : finite_gap) += 1;
      for (const uint8_t f : a.rows.flagged) flagged += f;
    }
    if (HasFailure()) return;
  }
  // The cases exercise what they should.
  EXPECT_GT(reached_later, 20);
  EXPECT_GT(lost_stalled, 10);
  EXPECT_GT(past, 50);
  EXPECT_GT(nan_gap, 20);
  EXPECT_GT(finite_gap, 200);
  EXPECT_GT(flagged, 20);
}

// ---- 6. Merge laws ------------------------------------------------------------------

TEST(LeaksMerge, RandomSplitsEqualTheWhole) {
  Rng rng(99);
  std::mt19937_64 shuffle(3);
  for (int iter = 0; iter < 150; ++iter) {
    const RandomCase rc = MakeRandomCase(rng);
    const EventLog log = BuildLog(rc.rows);
    const Timelines tl = RunModel(rc.model, log, rc.run);
    const LeakCounts whole = MustCount(log, tl, MustRep(log), rc.cohorts);
    std::map<std::string, int64_t> part_of;
    const int64_t parts = 2 + rng.Below(3);
    for (const Ev& e : rc.rows) part_of.try_emplace(e.deal, rng.Below(parts));
    std::vector<LeakCounts> pieces;
    for (int64_t p = 0; p < parts; ++p) {
      std::vector<Ev> rows;
      for (const Ev& e : rc.rows) {
        if (part_of[e.deal] == p) rows.push_back(e);
      }
      if (rows.empty()) continue;
      const EventLog sub = BuildLog(rows);
      pieces.push_back(MustCount(sub, RunModel(rc.model, sub, rc.run), MustRep(sub), rc.cohorts));
    }
    std::shuffle(pieces.begin(), pieces.end(), shuffle);
    LeakCounts merged = *LeakCounts::Create(tl.stage_names, tl.num_open, rc.cohorts);
    for (const LeakCounts& piece : pieces) ASSERT_TRUE(merged.Merge(piece).ok());
    EXPECT_TRUE(merged == whole) << iter;
    EXPECT_EQ(merged.Serialize(), whole.Serialize()) << iter;
    // A tree of merges gives the same.
    if (pieces.size() >= 2) {
      LeakCounts left = pieces[0], right = pieces[1];
      for (size_t i = 2; i < pieces.size(); ++i) ASSERT_TRUE((i % 2 ? left : right).Merge(pieces[i]).ok());
      ASSERT_TRUE(right.Merge(left).ok());
      EXPECT_EQ(right.Serialize(), whole.Serialize()) << iter;
    }
    // Update twice counts twice; merging with itself equals that.
    LeakCounts twice = whole;
    ASSERT_TRUE(twice.Update(log, tl, MustRep(log)).ok());
    LeakCounts self = whole;
    ASSERT_TRUE(self.Merge(whole).ok());
    EXPECT_TRUE(twice == self) << iter;
    EXPECT_TRUE(MustParse(whole.Serialize()) == whole) << iter;
    if (HasFailure()) return;
  }
}

// ---- 7. Errors ------------------------------------------------------------------------

void ExpectInvalid(const LeakCounts& c, const LeakOptions& op, const std::string& names) {
  const auto r = AssessLeaks(c, op);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << names;
  EXPECT_NE(std::string(r.status().message()).find(names), std::string::npos) << r.status();
}

TEST(LeaksErrors, OptionsNameTheOption) {
  const EventLog log = BuildLog(HandRows());
  const Timelines tl = RunModel(HandModel(), log, HandRun());
  const LeakCounts c = MustCount(log, tl, MustRep(log), HandCohorts());
  LeakOptions op;
  for (const double v : {0.0, 1.0, -0.5, kNaN}) {
    op = {};
    op.interval = v;
    ExpectInvalid(c, op, "interval");
  }
  for (const double v : {0.0, 1.01, kNaN}) {
    op = {};
    op.flag_probability = v;
    ExpectInvalid(c, op, "flag_probability");
  }
  op = {};
  op.flag_probability = 1.0;
  EXPECT_TRUE(AssessLeaks(c, op).ok());
  for (const double v : {-0.01, 1.5, kNaN}) {
    op = {};
    op.min_relative_shortfall = v;
    ExpectInvalid(c, op, "min_relative_shortfall");
  }
  op = {};
  op.min_trials = 0;
  ExpectInvalid(c, op, "min_trials");
  op = {};
  op.benchmark = Benchmark::kTarget;
  ExpectInvalid(c, op, "target");
  op.target = {0.5, 0.5};
  ExpectInvalid(c, op, "target");
  op.target = {0.5, 1.5, 0.5};
  ExpectInvalid(c, op, "target[1]");
  op.target = {0.5, -0.1, 0.5};
  ExpectInvalid(c, op, "target[1]");
  op.target = {0.5, kNaN, 1.0};
  EXPECT_TRUE(AssessLeaks(c, op).ok());
  op = {};
  op.benchmark = static_cast<Benchmark>(9);
  ExpectInvalid(c, op, "benchmark");
  op = {};
  op.value = static_cast<ValueBasis>(7);
  ExpectInvalid(c, op, "value");
  // Own past needs cohort_from.
  const LeakCounts open_cohort = MustCount(log, tl, MustRep(log));
  op = {};
  op.benchmark = Benchmark::kOwnPast;
  ExpectInvalid(open_cohort, op, "cohort_from");
  EXPECT_TRUE(AssessLeaks(c, op).ok());
}

TEST(LeaksErrors, CountsAndMerges) {
  const EventLog log = BuildLog(HandRows());
  const Timelines tl = RunModel(HandModel(), log, HandRun());
  const Units reps = MustRep(log);
  // Cohorts out of order.
  EXPECT_EQ(CountLeaks(log, tl, reps, {At(5), At(5), kNullInstant}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CountLeaks(log, tl, reps, {At(5), kNullInstant, At(5)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LeakCounts::Create(tl.stage_names, 3, {At(5), At(1), kNullInstant}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LeakCounts::Create(tl.stage_names, 2).status().code(), absl::StatusCode::kInvalidArgument);
  // past_from without cohort_from is unused, not an error.
  EXPECT_TRUE(CountLeaks(log, tl, reps, {kNullInstant, kNullInstant, At(5)}).ok());
  // Stage mismatch.
  LeakCounts other = *LeakCounts::Create({"X", "Won", "Lost"}, 1);
  EXPECT_EQ(other.Update(log, tl, reps).code(), absl::StatusCode::kFailedPrecondition);
  // Units or timelines not fitting the log.
  Units short_units = reps;
  short_units.of_deal.pop_back();
  EXPECT_EQ(CountLeaks(log, tl, short_units).status().code(), absl::StatusCode::kFailedPrecondition);
  Units bad_code = reps;
  bad_code.of_deal[0] = 7;
  EXPECT_EQ(CountLeaks(log, tl, bad_code).status().code(), absl::StatusCode::kFailedPrecondition);
  Timelines short_tl = tl;
  short_tl.first_entered.pop_back();
  EXPECT_EQ(CountLeaks(log, short_tl, reps).status().code(), absl::StatusCode::kFailedPrecondition);
  // Another unit kind into counts holding units.
  LeakCounts c = MustCount(log, tl, reps);
  Units kind = reps;
  kind.kind = "team";
  EXPECT_EQ(c.Update(log, tl, kind).code(), absl::StatusCode::kFailedPrecondition);
  // Merges: stages, cohorts, kinds.
  EXPECT_EQ(c.Merge(other).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.Merge(MustCount(log, tl, reps, HandCohorts())).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.Merge(MustCount(log, tl, kind)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(c.Merge(*LeakCounts::Create(tl.stage_names, 3)).ok());
  // A value too large for the sums names the deal.
  std::vector<Ev> rows = HandRows();
  rows.push_back(Ev{"Z", At(1), "created", "ana", 1e15});
  const EventLog big = BuildLog(rows);
  const auto r = CountLeaks(big, RunModel(HandModel(), big, HandRun()), MustRep(big), HandCohorts());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("'Z'"), std::string::npos) << r.status();
}


// ---- Merge overflow and the default state (fuzz finding: issue 9) ----------------

constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();

// A unit holding only deals outside the funnel (valid: a unit is kept when it holds any deal).
RawUnit OutsideUnit(std::string name, int64_t outside) {
  RawUnit u;
  u.name = std::move(name);
  u.outside = outside;
  return u;
}

// Deserialize's `==` copy, for "a failed merge changed nothing".
void ExpectMergeOverflow(LeakCounts& into, const LeakCounts& other, const std::vector<std::string>& words) {
  const LeakCounts before = into;
  const absl::Status s = into.Merge(other);
  ASSERT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  for (const std::string& w : words) {
    EXPECT_NE(std::string(s.message()).find(w), std::string::npos) << "'" << w << "' not in: " << s.message();
  }
  EXPECT_TRUE(into == before) << "a failed merge changed the counts";
  EXPECT_EQ(into.Serialize(), before.Serialize());
}

TEST(LeaksMergeOverflow, OutsideCountIsOutOfRangeAndLeavesTheCountsUnchanged) {
  const std::vector<std::string> reasons = {"decline"};
  // ana: INT64_MAX - 1 deals outside; + 2 more is INT64_MAX + 1.
  LeakCounts x = MustParse(RawState(1, reasons, {OutsideUnit("ana", kMax64 - 1), OneStageUnit("bo", 1, 2)}));
  const LeakCounts y = MustParse(RawState(1, {}, {OutsideUnit("ana", 2)}));
  ExpectMergeOverflow(x, y, {"merging would overflow the count of outside", "unit 'ana'"});
  EXPECT_EQ(x.outside(0), kMax64 - 1);
  EXPECT_EQ(x.deals(1, Cohort::kCurrent), 2);
  // Either order, and with itself.
  LeakCounts y2 = y;
  ExpectMergeOverflow(y2, x, {"outside", "unit 'ana'"});
  LeakCounts self = x;
  ExpectMergeOverflow(self, x, {"outside", "unit 'ana'"});
}

TEST(LeaksMergeOverflow, FunnelCountsAndUnitKindStayUnchanged) {
  const std::vector<std::string> reasons = {"decline"};
  // A unit of INT64_MAX - 1 current deals, all lost at the one stage; the other side's 2
  // make deals overflow (checked first: every later count of the cohort is <= deals).
  const std::string base = RawPayload(1, reasons, {OneStageUnit("ana", 0, kMax64 - 1)}, {}, "");
  LeakCounts x = MustParse(WrapState(kMagic, 1, base));
  ASSERT_EQ(x.unit_kind(), "");
  ASSERT_EQ(x.lost(0, Cohort::kCurrent, 0, 0), kMax64 - 1);
  const LeakCounts y = MustParse(RawState(1, reasons, {OneStageUnit("ana", 1, 2)}));  // kind "rep"
  ExpectMergeOverflow(x, y, {"merging would overflow the count of deals (current cohort)", "unit 'ana'"});
  EXPECT_EQ(x.unit_kind(), "") << "the unit kind of a failed merge was taken";
  // Past cohort: the message names it.
  const LeakCohorts co{At(0), kNullInstant, kNullInstant};
  RawUnit past = OneStageUnit("cy", 0, kMax64);
  std::swap(past.cohort[0], past.cohort[1]);
  LeakCounts p = MustParse(RawState(1, reasons, {past}, co));
  RawUnit one = OneStageUnit("cy", 0, 1);
  std::swap(one.cohort[0], one.cohort[1]);
  ExpectMergeOverflow(p, MustParse(RawState(1, reasons, {one}, co)), {"deals (past cohort)", "unit 'cy'"});
}

TEST(LeaksMergeOverflow, SumsUpToTheLimitAreExact) {
  const std::vector<std::string> reasons = {"decline"};
  LeakCounts x = MustParse(RawState(1, reasons, {OutsideUnit("ana", kMax64 - 2), OneStageUnit("bo", 3, kMax64 - 7)}));
  const LeakCounts y = MustParse(RawState(1, reasons, {OutsideUnit("ana", 2), OneStageUnit("bo", 4, 7, 10)}));
  ASSERT_TRUE(x.Merge(y).ok());
  ASSERT_EQ(x.unit_names(), (std::vector<std::string>{"ana", "bo"}));
  EXPECT_EQ(x.outside(0), kMax64);
  const Cohort cur = Cohort::kCurrent;
  EXPECT_EQ(x.deals(1, cur), kMax64);                  // (2^63 - 8) + 7
  EXPECT_EQ(x.won(1, cur), 7);                         // 3 + 4
  EXPECT_EQ(x.reached(1, cur, 0), kMax64);
  EXPECT_EQ(x.advanced(1, cur, 0), 7);
  EXPECT_EQ(x.lost(1, cur, 0, 0), kMax64 - 7);         // (2^63 - 11) + 3
  EXPECT_EQ(x.valued(1, cur), 7);
  EXPECT_TRUE(x.value_fixed(1, cur) == static_cast<Int128>(70) * kDollarScale);  // 7 deals of 10
  // And the merged state is a valid one.
  auto back = LeakCounts::Deserialize(x.Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == x);
}

TEST(LeaksMergeOverflow, RealCountsMergedWithThemselvesAddUp) {
  const EventLog log = BuildLog(HandRows());
  const LeakCounts c = MustCount(log, RunModel(HandModel(), log, HandRun()), MustRep(log), HandCohorts());
  LeakCounts twice = c;
  ASSERT_TRUE(twice.Merge(c).ok());
  ASSERT_TRUE(twice.Merge(c).ok());  // three times the counts
  const Cohort cur = Cohort::kCurrent, past = Cohort::kPast;
  // LeaksHand.Counts: ana has 5 current deals, 1 past, 1 out of window, 1 outside; one
  // decline at stage 1 and two at stage 2; bo 5 current deals, 1 outside.
  EXPECT_EQ(twice.deals(0, cur), 15);
  EXPECT_EQ(twice.deals(0, past), 3);
  EXPECT_EQ(twice.out_of_window(0), 3);
  EXPECT_EQ(twice.outside(0), 3);
  EXPECT_EQ(twice.lost(0, cur, 1, 0), 3);
  EXPECT_EQ(twice.lost(0, cur, 2, 1), 6);
  EXPECT_EQ(twice.deals(1, cur), 15);
  EXPECT_EQ(twice.outside(1), 3);
}

TEST(LeaksMergeOverflow, AssessLeaksAveragesHugeValuedCounts) {
  // Three units of INT64_MAX - 1 valued deals worth 800,000,000,000,000 each: the
  // organisation's valued count (3 x (2^63 - 2)) overflows int64 and its value sum
  // (3 x 7.4e37) the Int128 range, yet the average is 8e14.
  const std::vector<std::string> reasons = {"decline"};
  constexpr int64_t kEach = 800'000'000'000'000;
  const LeakCounts c = MustParse(RawState(1, reasons, {OneStageUnit("a", 0, kMax64 - 1, kEach),
                                                       OneStageUnit("b", 0, kMax64 - 1, kEach),
                                                       OneStageUnit("c", 0, kMax64 - 1, kEach)}));
  LeakOptions o;
  o.benchmark = Benchmark::kTarget;
  o.target = {0.5};
  o.value = ValueBasis::kOrganisation;
  absl::StatusOr<LeakAssessment> a = AssessLeaks(c, o);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->average_value.size(), 3u);
  for (const double v : a->average_value) EXPECT_NEAR(v, 8e14, 1e3);
}

TEST(LeaksDefault, DefaultConstructedRoundTrips) {
  const LeakCounts d;
  const std::string bytes = d.Serialize();
  auto back = LeakCounts::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == LeakCounts());
  EXPECT_EQ(back->Serialize(), bytes);
  // Merge and AssessLeaks on it: a result or a clean error, never a crash.
  LeakCounts m;
  EXPECT_TRUE(m.Merge(d).ok());
  EXPECT_TRUE(m == LeakCounts());
  for (const Benchmark b : {Benchmark::kTeamMedian, Benchmark::kTopQuartile, Benchmark::kTarget}) {
    LeakOptions o;
    o.benchmark = b;
    absl::StatusOr<LeakAssessment> a = AssessLeaks(d, o);
    if (a.ok()) {
      EXPECT_EQ(a->rows.size(), 0u);
    } else {
      EXPECT_TRUE(a.status().code() == absl::StatusCode::kInvalidArgument ||
                  a.status().code() == absl::StatusCode::kFailedPrecondition)
          << a.status();
    }
  }
  LeakCounts real = *LeakCounts::Create({"a", "Won", "Lost"}, 1);
  EXPECT_EQ(real.Merge(d).code(), absl::StatusCode::kFailedPrecondition);  // stages differ
}

TEST(LeaksDefault, OnlyTheDefaultShapeIsAcceptedWithoutStages) {
  // The default's payload, written out: 0 stages, 0 open, null cohorts, kind "", no
  // units, no reasons.
  auto payload = [](int64_t cohort_from, const std::string& kind, uint32_t units) {
    StateWriter w;
    w.U32(0);
    w.U32(0);
    w.I64(cohort_from);
    w.I64(kNullInstant);
    w.I64(kNullInstant);
    w.String(kind);
    w.U32(units);
    if (units == 1) w.String("ana");
    w.U32(0);
    if (units == 1) {
      w.I64(1);  // outside
      w.I64(0);
      for (int i = 0; i < 2; ++i) {
        for (int k = 0; k < 5; ++k) w.I64(0);  // deals, won, valued, value lo, hi
      }
    }
    return WrapState(kMagic, 1, w.Release());
  };
  EXPECT_EQ(payload(kNullInstant, "", 0), LeakCounts().Serialize());
  EXPECT_TRUE(LeakCounts::Deserialize(payload(kNullInstant, "", 0)).ok());
  for (const auto& [bytes, what] : std::vector<std::pair<std::string, std::string>>{
           {payload(At(0), "", 0), "cohorts"}, {payload(kNullInstant, "rep", 0), "a unit kind"},
           {payload(kNullInstant, "", 1), "a unit"}}) {
    auto r = LeakCounts::Deserialize(bytes);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << what << ": " << r.status();
  }
  // Stage counts other than 0 and 0 are as wrong as before.
  StateWriter w;
  w.U32(1);
  w.U32(0);
  w.String("Won");
  auto r = LeakCounts::Deserialize(WrapState(kMagic, 1, w.Release()));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("1 stages do not hold 0 open ones"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace salesperf
