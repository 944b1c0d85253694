// Tests of salesperf/deviance.h parts 1 (AssessDeviants) and 3 (DiagnoseReps): hand-
// derived logs with the arithmetic in comments, independent references (a brute-force
// grid of the marginal likelihood, a series for the incomplete gamma function, Poisson
// sums for the Garwood bounds, a std::map per-deal reference for the activity counts),
// the answer rules at their boundaries and every bad option.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "salesperf/deviance.h"
#include "salesperf/state.h"
#include "salesperf/leaks.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::AddRandomDeals;
using test_logs::BuildLog;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::MustRep;
using test_logs::Rng;
using test_logs::RunModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t At(double day) { return kT0 + static_cast<int64_t>(day * static_cast<double>(kDay)); }

bool Same(double a, double b, double rel) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

// L on created, Won on sign, Lost on decline; deals left at L stall after 40 days.
StageModel SimpleModel() {
  StageModel m;
  m.AddStage("L").Any({"created"}).StallAfter(Days(40));
  m.AddStage("P").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.Exclude({"spam"});
  return m;
}

RunOptions AsOf(double day) {
  RunOptions r;
  r.as_of = At(day);
  return r;
}

DeviantAssessment MustAssess(const EventLog& log, const Timelines& tl, const Units& u, const DeviantOptions& o) {
  auto a = AssessDeviants(log, tl, u, o);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : DeviantAssessment();
}

// ---- Independent references ---------------------------------------------------------

// The regularized lower incomplete gamma P(a, x) by its power series
// x^a e^-x / Γ(a+1) Σ_n x^n / ((a+1)...(a+n)) (converges for every x; slow for large x,
// which these tests do not need).
double RefGammaP(double a, double x) {
  if (x <= 0) return 0;
  double term = 1.0, sum = 1.0;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return std::exp(a * std::log(x) - x - std::lgamma(a + 1.0)) * sum;
}

// The q-quantile of Gamma(shape, rate) by bisection on RefGammaP.
double RefGammaQuantile(double shape, double rate, double q) {
  double lo = 0, hi = 1;
  while (RefGammaP(shape, hi * rate) < q) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (RefGammaP(shape, mid * rate) < q ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// The negative-binomial marginal log-likelihood at α, written from the header with
// std::lgamma.
double RefNbLogLik(const std::vector<int64_t>& o, const std::vector<double>& e, double a) {
  double f = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    const double oi = static_cast<double>(o[i]);
    f += std::lgamma(a + oi) - std::lgamma(a) + a * std::log(a / (a + e[i])) + oi * std::log(e[i] / (a + e[i]));
  }
  return f;
}

// P(Poisson(m) <= k).
double PoissonCdf(int64_t k, double m) {
  double term = std::exp(-m), sum = term;
  for (int64_t i = 1; i <= k; ++i) {
    term *= m / static_cast<double>(i);
    sum += term;
  }
  return sum;
}

// ---- 1. Hand-derived expectation model ---------------------------------------------

// Ten decided deals. Segment SMB: s1..s6, won s1 s2 s3 s6 (4 of 6); Ent: e1..e4, won e2
// (1 of 4). Rep A: s1..s5 and e1; rep B: s6 and e2..e4. Rep C: o1, open (not decided);
// rep A also has x1, a deal with only a call (no stage: not decided).
// Values: s1 100, s2 200, e1 300, e2 400; the others none (they count at the mean of
// the decided deals' values, (100 + 200 + 300 + 400) / 4 = 250).
std::vector<Ev> HandRows() {
  std::vector<Ev> rows;
  auto deal = [&](const std::string& d, const std::string& rep, const std::string& seg, bool w, double value) {
    rows.push_back(Ev{d, At(0), "created", rep, value, seg});
    rows.push_back(Ev{d, At(2), "call", rep, kNaN, ""});
    rows.push_back(Ev{d, At(5), w ? "sign" : "decline", rep, kNaN, seg});
  };
  deal("s1", "A", "SMB", true, 100);
  deal("s2", "A", "SMB", true, 200);
  deal("s3", "A", "SMB", true, kNaN);
  deal("s4", "A", "SMB", false, kNaN);
  deal("s5", "A", "SMB", false, kNaN);
  deal("e1", "A", "Ent", false, 300);
  deal("s6", "B", "SMB", true, kNaN);
  deal("e2", "B", "Ent", true, 400);
  deal("e3", "B", "Ent", false, kNaN);
  deal("e4", "B", "Ent", false, kNaN);
  rows.push_back(Ev{"o1", At(1), "created", "C", 999, "Ent"});
  rows.push_back(Ev{"x1", At(1), "call", "A", kNaN, "SMB"});
  return rows;
}

TEST(AssessDeviants, HandLogisticOneBinaryCovariateRidgeZero) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  ASSERT_EQ(units.names, (std::vector<std::string>{"A", "B", "C"}));
  DeviantOptions o;
  o.covariates = {"segment"};
  o.ridge = 0;
  const DeviantAssessment a = MustAssess(log, tl, units, o);
  EXPECT_EQ(a.decided_deals, 10);
  // Reference SMB (6 deals against 4). Ridge 0 with one binary covariate: the fitted
  // probabilities are the group win rates: SMB 4/6 = 2/3, Ent 1/4.
  // β0 = logit(2/3) = ln 2; β1 = logit(1/4) - ln 2 = ln(1/3) - ln 2 = -ln 6.
  ASSERT_EQ(a.coefficient_names, (std::vector<std::string>{"(intercept)", "segment=Ent"}));
  EXPECT_EQ(a.reference_levels, (std::vector<std::string>{"SMB"}));
  EXPECT_NEAR(a.coefficients[0], std::log(2.0), 1e-12);
  EXPECT_NEAR(a.coefficients[1], -std::log(6.0), 1e-12);
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    const std::string name = log.deals().Label(d);
    const double p = a.deal_probability[static_cast<size_t>(d)];
    if (name == "o1" || name == "x1") {
      EXPECT_TRUE(std::isnan(p)) << name;
    } else {
      EXPECT_NEAR(p, name[0] == 's' ? 2.0 / 3.0 : 0.25, 1e-12) << name;
    }
  }
  // A: 6 decided, 3 won; E = 5 × 2/3 + 1/4 = 43/12; ratio = 36/43.
  // B: 4 decided, 2 won; E = 2/3 + 3 × 1/4 = 17/12; ratio = 24/17.
  // C: nothing decided: E = 0 and every figure NaN.
  EXPECT_EQ(a.decided, (std::vector<int64_t>{6, 4, 0}));
  EXPECT_EQ(a.won, (std::vector<int64_t>{3, 2, 0}));
  EXPECT_NEAR(a.expected[0], 43.0 / 12.0, 1e-12);
  EXPECT_NEAR(a.expected[1], 17.0 / 12.0, 1e-12);
  EXPECT_EQ(a.expected[2], 0.0);
  EXPECT_NEAR(a.ratio[0], 36.0 / 43.0, 1e-12);
  EXPECT_NEAR(a.ratio[1], 24.0 / 17.0, 1e-12);
  EXPECT_TRUE(std::isnan(a.ratio[2]));
  // B's deal mix is hard: E (17/12) is below its deals × the pooled rate (4 × 5/10 = 2).
  EXPECT_LT(a.expected[1], 4 * 0.5);
  // Values. A won s1 100 + s2 200 + s3 (250) = 550; expected 2/3 × (100 + 200 + 3 × 250)
  // + 1/4 × 300 = 700 + 75 = 775; excess -225. B won s6 (250) + e2 400 = 650; expected
  // 2/3 × 250 + 1/4 × (400 + 250 + 250) = 500/3 + 225; excess 650 - 500/3 - 225.
  EXPECT_NEAR(a.won_value[0], 550, 1e-9);
  EXPECT_NEAR(a.expected_value[0], 775, 1e-9);
  EXPECT_NEAR(a.excess_value[0], -225, 1e-9);
  EXPECT_NEAR(a.won_value[1], 650, 1e-9);
  EXPECT_NEAR(a.expected_value[1], 500.0 / 3.0 + 225, 1e-9);
  EXPECT_NEAR(a.excess_value[1], 650 - 500.0 / 3.0 - 225, 1e-9);
  EXPECT_EQ(a.won_value[2], 0.0);
  for (auto* v : {&a.ratio_shrunk, &a.ratio_lower, &a.ratio_upper, &a.probability_above, &a.probability_below}) {
    EXPECT_TRUE(std::isnan((*v)[2]));
  }
  EXPECT_EQ(a.deviant[2], 0);
  // Two units with E > 0: α is fitted. The posterior of each is Gamma(α + O, α + E).
  const double al = a.concentration;
  ASSERT_GT(al, 0);
  for (size_t u = 0; u < 2; ++u) {
    const double sh = al + static_cast<double>(a.won[u]), rate = al + a.expected[u];
    EXPECT_NEAR(a.ratio_shrunk[u], sh / rate, 1e-12);
    EXPECT_NEAR(a.ratio_lower[u], RefGammaQuantile(sh, rate, 0.025), 1e-9 * (1 + a.ratio_lower[u]));
    EXPECT_NEAR(a.ratio_upper[u], RefGammaQuantile(sh, rate, 0.975), 1e-9 * (1 + a.ratio_upper[u]));
    EXPECT_NEAR(a.probability_below[u], RefGammaP(sh, rate), 1e-10);
    EXPECT_NEAR(a.probability_above[u], 1 - RefGammaP(sh, rate), 1e-10);
  }
  // Rank by ratio_shrunk, NaN last: A's shrunk ratio is below 1 and B's above.
  EXPECT_LT(a.ratio_shrunk[0], 1.0);
  EXPECT_GT(a.ratio_shrunk[1], 1.0);
  EXPECT_EQ(a.rank, (std::vector<int32_t>{2, 1, 3}));
  // The brute-force grid: α is at least as likely as every grid point (to rounding).
  const std::vector<int64_t> obs = {3, 2};
  const std::vector<double> ex = {43.0 / 12.0, 17.0 / 12.0};
  double best = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= 20000; ++i) {
    const double t = std::log(kMinConcentration) + (std::log(kMaxConcentration) - std::log(kMinConcentration)) * i / 20000;
    best = std::max(best, RefNbLogLik(obs, ex, std::exp(t)));
  }
  EXPECT_GE(RefNbLogLik(obs, ex, al), best - 1e-9);
}

TEST(AssessDeviants, InterceptOnlyIsThePooledRateAndTiesRankByUnit) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  const DeviantAssessment a = MustAssess(log, tl, units, {});
  // Pooled rate 5 / 10: intercept logit(1/2) = 0; E_A = 6 / 2 = 3 = O_A, E_B = 2 = O_B.
  ASSERT_EQ(a.coefficient_names, (std::vector<std::string>{"(intercept)"}));
  EXPECT_TRUE(a.reference_levels.empty());
  EXPECT_NEAR(a.coefficients[0], 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(a.expected[0], 3.0);
  EXPECT_DOUBLE_EQ(a.expected[1], 2.0);
  // (α + 3) / (α + 3) = (α + 2) / (α + 2) = 1: a tie, ranked by unit index; C (NaN) last.
  EXPECT_EQ(a.ratio_shrunk[0], 1.0);
  EXPECT_EQ(a.ratio_shrunk[1], 1.0);
  EXPECT_EQ(a.rank, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(a.deviant, (std::vector<int8_t>{0, 0, 0}));
}

TEST(AssessDeviants, RidgeSolvesThePenalisedScoreEquations) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  for (double ridge : {0.5, 1.0, 10.0}) {
    DeviantOptions o;
    o.covariates = {"segment"};
    o.ridge = ridge;
    const DeviantAssessment a = MustAssess(log, tl, units, o);
    // Score equations at the optimum: Σ (y - p) = 0 (intercept, unpenalised) and
    // Σ_Ent (y - p) - ridge β1 = 0, with p = expit(β0 [+ β1]).
    const double b0 = a.coefficients[0], b1 = a.coefficients[1];
    const double ps = 1 / (1 + std::exp(-b0)), pe = 1 / (1 + std::exp(-(b0 + b1)));
    EXPECT_NEAR((4 - 6 * ps) + (1 - 4 * pe), 0.0, 1e-12) << ridge;
    EXPECT_NEAR((1 - 4 * pe) - ridge * b1, 0.0, 1e-12) << ridge;
    // With an intercept, Σ E = Σ O whatever the ridge.
    EXPECT_NEAR(a.expected[0] + a.expected[1], 5.0, 1e-12);
    // The penalty pulls Ent toward SMB: β1 is between -ln 6 and 0.
    EXPECT_GT(b1, -std::log(6.0));
    EXPECT_LT(b1, 0.0);
  }
}

TEST(AssessDeviants, SeparationWithoutRidgeIsInternalAndAllLostIsZero) {
  // Ent deals all lost: with ridge 0 the fit runs off to -∞.
  std::vector<Ev> rows = HandRows();
  for (Ev& e : rows) {
    if (e.deal == "e2" && e.action == "sign") e.action = "decline";
  }
  const EventLog log = BuildLog(rows, true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  DeviantOptions o;
  o.covariates = {"segment"};
  o.ridge = 0;
  auto a = AssessDeviants(log, tl, units, o);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(a.status().message().find("did not converge"), std::string::npos) << a.status();
  o.ridge = 1;
  EXPECT_TRUE(AssessDeviants(log, tl, units, o).ok());
  // Every decided deal lost: p = 0 for all, E = 0: every shrunk figure NaN.
  for (Ev& e : rows) {
    if (e.action == "sign") e.action = "decline";
  }
  const EventLog lost = BuildLog(rows, true, true);
  const Timelines tl2 = RunModel(SimpleModel(), lost, AsOf(10));
  const DeviantAssessment z = MustAssess(lost, tl2, MustRep(lost), o);
  EXPECT_EQ(z.won, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(z.expected[0], 0.0);
  EXPECT_TRUE(std::isnan(z.ratio_shrunk[0]));
  EXPECT_EQ(z.concentration, 0.0);
}

TEST(AssessDeviants, NullLevelsAndTheReferenceTie) {
  // Segment level: the first non-null value among the deal's events. Deals with no
  // segment at all are "(none)". Two levels tied at 2 deals: the lowest code is the
  // reference ("Y", seen first); "(none)" comes after every real level.
  std::vector<Ev> rows;
  auto deal = [&](const std::string& d, const std::vector<std::string>& segs, bool w) {
    rows.push_back(Ev{d, At(0), "created", "A", kNaN, segs[0]});
    rows.push_back(Ev{d, At(1), "call", "A", kNaN, segs[1]});
    rows.push_back(Ev{d, At(2), w ? "sign" : "decline", "A", kNaN, ""});
  };
  deal("d1", {"Y", "Z"}, true);
  deal("d2", {"", "Y"}, false);  // first non-null: Y
  deal("d3", {"Z", ""}, true);
  deal("d4", {"", "Z"}, false);
  deal("d5", {"", ""}, true);    // (none)
  const EventLog log = BuildLog(rows, true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  DeviantOptions o;
  o.covariates = {"segment"};
  o.ridge = 2;
  const DeviantAssessment a = MustAssess(log, tl, MustRep(log), o);
  EXPECT_EQ(a.reference_levels, (std::vector<std::string>{"Y"}));
  EXPECT_EQ(a.coefficient_names, (std::vector<std::string>{"(intercept)", "segment=Z", "segment=(none)"}));
  // Deals d1, d2 are Y, d3, d4 Z, d5 (none): the fitted probabilities per level, and the
  // penalised score equations: Σ (y - p) = 0; Σ_Z (y - p) = 2 β_Z; Σ_none (y - p) = 2 β_none.
  EXPECT_EQ(a.deal_probability[0], a.deal_probability[1]);
  EXPECT_EQ(a.deal_probability[2], a.deal_probability[3]);
  const double pY = a.deal_probability[0], pZ = a.deal_probability[2], pN = a.deal_probability[4];
  EXPECT_NEAR(pY, 1 / (1 + std::exp(-a.coefficients[0])), 1e-15);
  EXPECT_NEAR(pZ, 1 / (1 + std::exp(-a.coefficients[0] - a.coefficients[1])), 1e-15);
  EXPECT_NEAR(pN, 1 / (1 + std::exp(-a.coefficients[0] - a.coefficients[2])), 1e-15);
  EXPECT_NEAR((1 - 2 * pY) + (1 - 2 * pZ) + (1 - pN), 0.0, 1e-12);
  EXPECT_NEAR((1 - 2 * pZ) - 2 * a.coefficients[1], 0.0, 1e-12);
  EXPECT_NEAR((1 - pN) - 2 * a.coefficients[2], 0.0, 1e-12);
  EXPECT_GT(pN, pY);
}

// The Jeffreys case: one unit, intercept only. E = n × pooled rate = O, so with O = 1
// the posterior is Gamma(3/2, 1) (α = 0), whose CDF is closed-form:
// P(θ < x) = erf(√x) - 2 √(x/π) e^-x. ratio_shrunk = O / E = 1.
TEST(AssessDeviants, JeffreysPosteriorWithOneUnit) {
  std::vector<Ev> rows = {
      {"a", At(0), "created", "A"}, {"a", At(1), "sign", "A"},
      {"b", At(0), "created", "A"}, {"b", At(1), "decline", "A"},
      {"c", At(0), "created", "A"}, {"c", At(1), "decline", "A"},
  };
  const EventLog log = BuildLog(rows);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const DeviantAssessment a = MustAssess(log, tl, MustRep(log), {});
  EXPECT_EQ(a.concentration, 0.0);
  EXPECT_DOUBLE_EQ(a.expected[0], 1.0);
  EXPECT_DOUBLE_EQ(a.ratio_shrunk[0], 1.0);
  auto cdf = [](double x) { return std::erf(std::sqrt(x)) - 2 * std::sqrt(x / M_PI) * std::exp(-x); };
  EXPECT_NEAR(a.probability_below[0], cdf(1.0), 1e-14);  // 0.4275932955...
  EXPECT_NEAR(a.probability_below[0], 0.42759329552912, 1e-12);
  EXPECT_NEAR(a.probability_above[0], 1 - cdf(1.0), 1e-14);
  auto quantile = [&](double q) {
    double lo = 0, hi = 50;
    for (int i = 0; i < 200; ++i) {
      const double m = (lo + hi) / 2;
      (cdf(m) < q ? lo : hi) = m;
    }
    return lo;
  };
  EXPECT_NEAR(a.ratio_lower[0], quantile(0.025), 1e-10);
  EXPECT_NEAR(a.ratio_upper[0], quantile(0.975), 1e-10);
  // interval 0.5: the quartiles.
  DeviantOptions o;
  o.interval = 0.5;
  const DeviantAssessment b = MustAssess(log, tl, MustRep(log), o);
  EXPECT_NEAR(b.ratio_lower[0], quantile(0.25), 1e-10);
  EXPECT_NEAR(b.ratio_upper[0], quantile(0.75), 1e-10);
}

// The flag rules at their boundaries: +1 needs probability_above >= flag_probability
// AND ratio_shrunk >= 1 + min_effect; -1 the mirror.
TEST(AssessDeviants, DeviantFlagBoundaries) {
  // The hand log repeated 4 times (labels suffixed) makes the evidence stronger.
  std::vector<Ev> rows;
  for (int k = 0; k < 4; ++k) {
    for (Ev e : HandRows()) {
      e.deal += "_" + std::to_string(k);
      rows.push_back(e);
    }
  }
  const EventLog log = BuildLog(rows, true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  DeviantOptions o;
  o.covariates = {"segment"};
  o.ridge = 0;
  const DeviantAssessment base = MustAssess(log, tl, units, o);
  const double pa = base.probability_above[1], rb = base.ratio_shrunk[1];
  const double pb = base.probability_below[0], ra = base.ratio_shrunk[0];
  ASSERT_GT(pa, 0.5);
  ASSERT_LT(pa, 1.0);
  ASSERT_GT(pb, 0.5);
  ASSERT_LT(pb, 1.0);
  ASSERT_TRUE(rb > 1 && rb < 2);
  ASSERT_TRUE(ra > 0.5 && ra < 1);
  auto run = [&](double fp, double me) {
    DeviantOptions x = o;
    x.flag_probability = fp;
    x.min_effect = me;
    return MustAssess(log, tl, units, x).deviant;
  };
  // B (+1 side). rb - 1 is exact (Sterbenz), so 1 + (rb - 1) == rb: at the boundary.
  EXPECT_EQ(run(pa, rb - 1)[1], 1);
  EXPECT_EQ(run(std::nextafter(pa, 1.0), rb - 1)[1], 0);
  EXPECT_EQ(run(pa, std::nextafter(rb, 2.0) - 1)[1], 0);
  // A (-1 side): 1 - (1 - ra) == ra for ra in [1/2, 1).
  EXPECT_EQ(run(pb, 1 - ra)[0], -1);
  EXPECT_EQ(run(std::nextafter(pb, 1.0), 1 - ra)[0], 0);
  EXPECT_EQ(run(pb, 1 - std::nextafter(ra, 0.0))[0], 0);
  EXPECT_EQ(run(pb, 0.0)[0], -1);
}

// α against a brute-force grid of the marginal likelihood on random logs, plus the
// per-unit counts against a per-deal std::map reference.
TEST(AssessDeviants, RandomLogsAlphaAgainstGridAndCounts) {
  Rng rng(20260611);
  int fitted = 0;
  for (int c = 0; c < 60; ++c) {
    std::vector<Ev> rows;
    const std::vector<std::string> reps = {"r0", "r1", "r2", "r3", "r4", "r5"};
    AddRandomDeals(rng, {"created", "proposal", "sign", "decline", "call", "email", "reply"}, reps, 120, 6, rows);
    for (Ev& e : rows) e.segment = rng.Percent(10) ? "" : rng.Pick(std::vector<std::string>{"S", "M", "E"});
    const EventLog log = BuildLog(rows, true, true);
    const Timelines tl = RunModel(SimpleModel(), log);
    const Units units = MustRep(log);
    DeviantOptions o;
    o.covariates = {"segment"};
    o.ridge = 1;
    auto r = AssessDeviants(log, tl, units, o);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
      continue;
    }
    const DeviantAssessment& a = *r;
    // Reference counts.
    std::map<std::string, std::pair<int64_t, int64_t>> by_unit;  // decided, won
    std::map<std::string, double> e_by_unit;
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      const auto outcome = static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]);
      const bool entered = tl.first_entered[static_cast<size_t>(d) * 4] != kNullInstant ||
                           tl.first_entered[static_cast<size_t>(d) * 4 + 1] != kNullInstant;
      const bool dec = entered && (outcome == Outcome::kWon || outcome == Outcome::kLost || outcome == Outcome::kStalled);
      EXPECT_EQ(dec, !std::isnan(a.deal_probability[static_cast<size_t>(d)]));
      if (!dec) continue;
      auto& [n, w] = by_unit[units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])]];
      ++n;
      w += outcome == Outcome::kWon;
      e_by_unit[units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])]] +=
          a.deal_probability[static_cast<size_t>(d)];
    }
    std::vector<int64_t> obs;
    std::vector<double> ex;
    for (size_t u = 0; u < units.names.size(); ++u) {
      const auto it = by_unit.find(units.names[u]);
      EXPECT_EQ(a.decided[u], it == by_unit.end() ? 0 : it->second.first);
      EXPECT_EQ(a.won[u], it == by_unit.end() ? 0 : it->second.second);
      EXPECT_NEAR(a.expected[u], e_by_unit[units.names[u]], 1e-9);
      if (a.expected[u] > 0) {
        obs.push_back(a.won[u]);
        ex.push_back(a.expected[u]);
      }
    }
    if (obs.size() < 2) {
      EXPECT_EQ(a.concentration, 0.0);
      continue;
    }
    ++fitted;
    const double lo = std::log(kMinConcentration), hi = std::log(kMaxConcentration);
    double best = -std::numeric_limits<double>::infinity(), best_t = lo;
    for (int i = 0; i <= 4000; ++i) {
      const double t = lo + (hi - lo) * i / 4000;
      const double f = RefNbLogLik(obs, ex, std::exp(t));
      if (f > best) {
        best = f;
        best_t = t;
      }
    }
    const double got = RefNbLogLik(obs, ex, a.concentration);
    EXPECT_GE(got, best - 1e-9 * std::max(1.0, std::fabs(best))) << "case " << c;
    // Where the grid's best is inside the range, α is near it (the likelihood is
    // unimodal in practice); at a bound, α is that bound.
    if (best_t == lo) {
      EXPECT_EQ(a.concentration, kMinConcentration) << c;
    }
    if (best_t == hi) {
      EXPECT_EQ(a.concentration, kMaxConcentration) << c;
    }
  }
  EXPECT_GT(fitted, 30);
}

TEST(AssessDeviants, BadOptionsAndMisfits) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  auto expect = [&](const DeviantOptions& o, absl::StatusCode code, const std::string& word) {
    auto r = AssessDeviants(log, tl, units, o);
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_NE(r.status().message().find(word), std::string::npos) << r.status();
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {-0.1, kNaN, inf}) {
    DeviantOptions o;
    o.ridge = v;
    expect(o, absl::StatusCode::kInvalidArgument, "ridge");
  }
  for (double v : {0.0, 1.0, -1.0, kNaN}) {
    DeviantOptions o;
    o.interval = v;
    expect(o, absl::StatusCode::kInvalidArgument, "interval");
  }
  for (double v : {0.5, 1.0, 0.2, kNaN}) {
    DeviantOptions o;
    o.flag_probability = v;
    expect(o, absl::StatusCode::kInvalidArgument, "flag_probability");
  }
  for (double v : {-0.01, kNaN, inf}) {
    DeviantOptions o;
    o.min_effect = v;
    expect(o, absl::StatusCode::kInvalidArgument, "min_effect");
  }
  DeviantOptions o;
  o.covariates = {"territory"};
  expect(o, absl::StatusCode::kNotFound, "'territory'");
  o.covariates = {"segment", "segment"};
  expect(o, absl::StatusCode::kInvalidArgument, "twice");
  // Units and timelines of another size.
  Units bad = units;
  bad.of_deal.push_back(0);
  EXPECT_EQ(AssessDeviants(log, tl, bad).status().code(), absl::StatusCode::kFailedPrecondition);
  bad = units;
  bad.of_deal[0] = 7;
  EXPECT_EQ(AssessDeviants(log, tl, bad).status().code(), absl::StatusCode::kFailedPrecondition);
  Timelines t2 = tl;
  t2.outcome.push_back(0);
  EXPECT_EQ(AssessDeviants(log, t2, units).status().code(), absl::StatusCode::kFailedPrecondition);
  // No decided deal.
  const EventLog open = BuildLog({{"a", At(0), "created", "A"}});
  const Timelines tlo = RunModel(SimpleModel(), open, AsOf(1));
  auto r = AssessDeviants(open, tlo, MustRep(open));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no deal is decided"), std::string::npos);
}

// ---- 3. Diagnosis ---------------------------------------------------------------------

// A DeviantAssessment built by hand for `names` with the given conversion figures.
DeviantAssessment HandDev(const std::vector<std::string>& names, std::vector<double> shrunk,
                          std::vector<double> upper, std::vector<double> below) {
  DeviantAssessment d;
  d.unit_names = names;
  const size_t U = names.size();
  d.decided.assign(U, 10);
  d.won.assign(U, 5);
  d.expected.assign(U, 5.0);
  d.ratio_shrunk = std::move(shrunk);
  d.ratio_lower.assign(U, 0.1);
  d.ratio_upper = std::move(upper);
  d.probability_below = std::move(below);
  d.probability_above.resize(U);
  for (size_t u = 0; u < U; ++u) d.probability_above[u] = 1 - d.probability_below[u];
  return d;
}

RepDiagnosis MustDiagnose(const EventLog& log, const Timelines& tl, const Units& u, const DeviantAssessment& dev,
                          const BehaviourAssessment* beh = nullptr, const DiagnosisOptions& o = {}) {
  auto r = DiagnoseReps(log, tl, u, dev, beh, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : RepDiagnosis();
}

// Rep A: deal a1 created day 0, calls on days 1 and 3, signed day 7, a call on day 8
// (after the deal's end: not counted): 1 week, 2 activities. Deal a2 created day 0,
// open at as_of day 14 with emails on days 2, 4, 6: 2 weeks, 3 activities.
// A: 3 weeks, 5 activities.
// Rep B: deal b1 created day 0, calls days 1..6 (6), declined day 7: 1 week, 6.
// Rep C: deal c1 created day 0, one call day 3, declined day 14: 2 weeks, 1 activity.
// Rep D: deal d1, created and declined at the same instant (0 weeks): volume NaN.
std::vector<Ev> DiagRows() {
  std::vector<Ev> r = {
      {"a1", At(0), "created", "A"}, {"a1", At(1), "call", "A"},  {"a1", At(3), "call", "A"},
      {"a1", At(7), "sign", "A"},    {"a1", At(8), "call", "A"},  {"a2", At(0), "created", "A"},
      {"a2", At(2), "email", "A"},   {"a2", At(4), "email", "A"}, {"a2", At(6), "email", "A"},
      {"b1", At(0), "created", "B"}, {"b1", At(7), "decline", "B"},
      {"c1", At(0), "created", "C"}, {"c1", At(3), "call", "C"},  {"c1", At(14), "decline", "C"},
      {"d1", At(5), "created", "D"},   {"d1", At(5), "decline", "D"},
  };
  for (int i = 1; i <= 6; ++i) r.push_back(Ev{"b1", At(i), "call", "B"});
  return r;
}

TEST(DiagnoseReps, HandVolumesGarwoodAndAnswers) {
  const EventLog log = BuildLog(DiagRows());
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(14));
  const Units units = MustRep(log);
  ASSERT_EQ(units.names, (std::vector<std::string>{"A", "B", "C", "D"}));
  const DeviantAssessment dev = HandDev(units.names, {1.0, 0.8, 0.5, kNaN}, {1.0, 0.99, 0.7, kNaN},
                                        {0.5, 0.95, 0.99, kNaN});
  const RepDiagnosis g = MustDiagnose(log, tl, units, dev);
  EXPECT_NEAR(g.active_weeks[0], 3.0, 1e-12);
  EXPECT_NEAR(g.active_weeks[1], 1.0, 1e-12);
  EXPECT_NEAR(g.active_weeks[2], 2.0, 1e-12);
  EXPECT_EQ(g.active_weeks[3], 0.0);
  EXPECT_EQ(g.activities, (std::vector<int64_t>{5, 6, 1, 0}));
  // Volumes 5/3, 6, 1/2, NaN; peers (>= 4 weeks): none, so the peer volume is NaN.
  EXPECT_TRUE(std::isnan(g.peer_volume));
  EXPECT_TRUE(std::isnan(g.volume_ratio[0]));
  // min_weeks 1: peers A, B, C; median of {1/2, 5/3, 6} = 5/3.
  DiagnosisOptions o;
  o.min_weeks = 1;
  const RepDiagnosis h = MustDiagnose(log, tl, units, dev, nullptr, o);
  EXPECT_NEAR(h.peer_volume, 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(h.volume[0], 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(h.volume_ratio[0], 1.0, 1e-12);
  EXPECT_NEAR(h.volume_ratio[1], 6 / (5.0 / 3.0), 1e-12);
  EXPECT_NEAR(h.volume_ratio[2], 0.5 / (5.0 / 3.0), 1e-12);
  EXPECT_TRUE(std::isnan(h.volume[3]));
  EXPECT_TRUE(std::isnan(h.volume_ratio[3]));
  // Garwood: bounds × weeks × peer volume are the Poisson bounds L, U of the count k:
  // P(Poisson(U) <= k) = 0.025, P(Poisson(L) >= k) = 0.025. C (k = 1): L = -ln 0.975.
  for (size_t u = 0; u < 3; ++u) {
    const int64_t k = h.activities[u];
    const double s = h.active_weeks[u] * h.peer_volume;
    const double L = h.volume_lower[u] * s, Up = h.volume_upper[u] * s;
    EXPECT_NEAR(PoissonCdf(k, Up), 0.025, 1e-10) << u;
    EXPECT_NEAR(1 - PoissonCdf(k - 1, L), 0.025, 1e-10) << u;
  }
  EXPECT_NEAR(h.volume_lower[2] * 2 * h.peer_volume, -std::log(0.975), 1e-12);
  // Quadrants: A v = 1 (boundary), c = 1 (boundary): productive. B v > 1, c = 0.8: busy.
  // C v < 1, c = 0.5: low/low. D: unknown.
  EXPECT_EQ(h.quadrant, (std::vector<std::string>{"productive", "busy, low conversion",
                                                   "low activity, low conversion", "unknown"}));
  // know_how: A: ratio_upper 1.0 >= 1 and below 0.5: yes. B: below 0.95 >= 0.95 and
  // 0.8 <= 1 - 0.2 (= 0.8 exactly): no. C: no. D: unclear.
  EXPECT_EQ(h.know_how, (std::vector<std::string>{"yes", "no", "no", "unclear"}));
  // want_to: C's upper bound: U(k=1) = 5.5716 / (2 × 5/3) = 1.67 >= 1: yes.
  EXPECT_EQ(h.want_to[2], "yes");
  EXPECT_EQ(h.want_to[3], "unclear");
  EXPECT_EQ(h.understands_metrics, (std::vector<std::string>{"unclear", "unclear", "unclear", "unclear"}));
  EXPECT_NE(h.understands_metrics_evidence[0].find("no behaviour assessment"), std::string::npos);
  EXPECT_EQ(h.non_productive, (std::vector<uint8_t>{0, 1, 1, 0}));
  // Diagnosed: A, B, C (D has no answer); 2 of 3 non-productive: methods question.
  EXPECT_TRUE(h.methods_question);
  for (size_t u = 0; u < 4; ++u) EXPECT_TRUE(Same(h.conversion[u], dev.ratio_shrunk[u], 0)) << u;
  EXPECT_FALSE(h.know_how_evidence[0].empty());
  EXPECT_NE(h.want_to_evidence[0].find("5 seller activities"), std::string::npos) << h.want_to_evidence[0];
}

TEST(DiagnoseReps, KnowHowBoundaries) {
  const EventLog log = BuildLog(DiagRows());
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(14));
  const Units units = MustRep(log);
  auto answer = [&](double shrunk, double upper, double below, double min_gap = 0.2, double fp = 0.95) {
    DeviantAssessment dev = HandDev(units.names, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0});
    dev.ratio_shrunk[0] = shrunk;
    dev.ratio_upper[0] = upper;
    dev.probability_below[0] = below;
    DiagnosisOptions o;
    o.min_gap = min_gap;
    o.flag_probability = fp;
    return MustDiagnose(log, tl, units, dev, nullptr, o).know_how[0];
  };
  EXPECT_EQ(answer(0.8, 0.95, 0.95), "no");
  EXPECT_EQ(answer(std::nextafter(0.8, 1.0), 0.95, 0.95), "unclear");
  EXPECT_EQ(answer(0.8, 0.95, std::nextafter(0.95, 0.0)), "unclear");
  EXPECT_EQ(answer(0.8, 1.0, std::nextafter(0.95, 0.0)), "yes");
  EXPECT_EQ(answer(0.9, std::nextafter(1.0, 0.0), 0.5), "unclear");
  EXPECT_EQ(answer(0.5, 1.2, 0.99), "no");  // "no" is asked first
  EXPECT_EQ(answer(0.6, 0.9, 0.97, 0.4, 0.97), "no");
  EXPECT_EQ(answer(kNaN, kNaN, kNaN), "unclear");
}

TEST(DiagnoseReps, WantToBoundaryAndMethodsQuestion) {
  const EventLog log = BuildLog(DiagRows());
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(14));
  const Units units = MustRep(log);
  const DeviantAssessment dev = HandDev(units.names, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0});
  DiagnosisOptions o;
  o.min_weeks = 1;
  const RepDiagnosis h = MustDiagnose(log, tl, units, dev, nullptr, o);
  // Take a unit whose upper bound is in [1/2, 1) by raising C's... C's upper is 1.67;
  // use interval 0.5 to narrow: find the bound, then set min_gap at it exactly.
  double up = h.volume_upper[2];
  DiagnosisOptions n = o;
  n.interval = 0.2;
  up = MustDiagnose(log, tl, units, dev, nullptr, n).volume_upper[2];
  ASSERT_TRUE(up >= 0.5 && up < 1.0) << up;
  n.min_gap = 1 - up;  // 1 - (1 - up) == up: not strictly below: unclear
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, nullptr, n).want_to[2], "unclear");
  n.min_gap = 1 - std::nextafter(up, 1.0);  // 1 - gap just above up: no
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, nullptr, n).want_to[2], "no");
  // Want to: no, but C converts as its deal mix predicts (c = 1): a will question, not a
  // non-productive rep. Just below 1 it is non-productive.
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, nullptr, n).non_productive[2], 0);
  DeviantAssessment below = dev;
  below.ratio_shrunk[2] = std::nextafter(1.0, 0.0);
  EXPECT_EQ(MustDiagnose(log, tl, units, below, nullptr, n).non_productive[2], 1);
  n.min_gap = 0;  // up < 1: no
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, nullptr, n).want_to[2], "no");
  // A's volume ratio is 1 with a wide interval: yes. 
  EXPECT_EQ(h.want_to[0], "yes");
  // Methods question: everything "yes" but C with know_how no: 1 of 3 diagnosed (D has
  // none) -> at least a third: true.
  DeviantAssessment one = dev;
  one.ratio_shrunk[3] = kNaN;
  one.ratio_upper[3] = kNaN;
  one.probability_below[3] = kNaN;
  one.ratio_shrunk[2] = 0.5;
  one.probability_below[2] = 0.99;
  const RepDiagnosis m = MustDiagnose(log, tl, units, one, nullptr, o);
  EXPECT_EQ(m.non_productive, (std::vector<uint8_t>{0, 0, 1, 0}));
  EXPECT_EQ(m.know_how[3], "unclear");
  EXPECT_EQ(m.want_to[3], "unclear");
  EXPECT_TRUE(m.methods_question);
  // D diagnosed too (know_how yes): 1 of 4 -> false.
  one.ratio_shrunk[3] = 1;
  one.ratio_upper[3] = 1;
  one.probability_below[3] = 0;
  EXPECT_FALSE(MustDiagnose(log, tl, units, one, nullptr, o).methods_question);
}

// A hand-made BehaviourAssessment: rows 0 and 2 replicate, row 1 does not.
// Row 0: present 30, absent 70 (share 0.3); row 2: present 50, absent 50 (0.5).
// Units A..D trials / present per row.
TEST(DiagnoseReps, AdoptionFromHandBehaviours) {
  const EventLog log = BuildLog(DiagRows());
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(14));
  const Units units = MustRep(log);
  const DeviantAssessment dev = HandDev(units.names, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0});
  BehaviourAssessment b;
  b.unit_names = units.names;
  b.rows.stage = {1, 1, 2};
  b.rows.present = {30, 99, 50};
  b.rows.absent = {70, 1, 50};
  b.rows.replicate = {1, 0, 1};
  // Row-major (row * 4 + unit).
  b.unit_trials = {20, 40, 0, 40, /**/ 5, 5, 5, 5, /**/ 10, 20, 0, 70};
  b.unit_present = {12, 2, 0, 16, /**/ 5, 5, 5, 5, /**/ 8, 1, 0, 41};
  // A: P = 12 + 8 = 20; X = 20 × 0.3 + 10 × 0.5 = 11; ratio 20/11.
  // B: P = 2 + 1 = 3; X = 40 × 0.3 + 20 × 0.5 = 22; ratio 3/22.
  // C: X = 0: NaN. D: P = 16 + 41 = 57; X = 12 + 35 = 47.
  const RepDiagnosis g = MustDiagnose(log, tl, units, dev, &b);
  EXPECT_DOUBLE_EQ(g.adoption_present[0], 20);
  EXPECT_DOUBLE_EQ(g.adoption_expected[0], 11);
  EXPECT_NEAR(g.adoption_ratio[0], 20.0 / 11.0, 1e-12);
  EXPECT_NEAR(g.adoption_ratio[1], 3.0 / 22.0, 1e-12);
  EXPECT_TRUE(std::isnan(g.adoption_ratio[2]));
  EXPECT_NEAR(g.adoption_ratio[3], 57.0 / 47.0, 1e-12);
  // Garwood on P: P(Poisson(U) <= P) = 0.025, P(Poisson(L) >= P) = 0.025.
  for (size_t u : {0, 1, 3}) {
    const auto k = static_cast<int64_t>(g.adoption_present[u]);
    EXPECT_NEAR(PoissonCdf(k, g.adoption_upper[u] * g.adoption_expected[u]), 0.025, 1e-10);
    EXPECT_NEAR(1 - PoissonCdf(k - 1, g.adoption_lower[u] * g.adoption_expected[u]), 0.025, 1e-10);
  }
  // A: lower bound of 20 is 12.2 > 11: upper >= 1: yes. B: upper of 3 is 8.77 / 22 =
  // 0.40 < 0.8: no. C: unclear. D: yes.
  EXPECT_EQ(g.understands_metrics, (std::vector<std::string>{"yes", "no", "unclear", "yes"}));
  EXPECT_NE(g.understands_metrics_evidence[2].find("no trials"), std::string::npos);
  // understands_metrics never makes a rep non-productive.
  EXPECT_EQ(g.non_productive[1], 0);
  // Boundary: D's upper at min_gap = 1 - upper... narrow to interval 0.01 so D's upper is
  // in [1/2, 1) after scaling D's expected up: put D's row-2 trials to 150 (X = 87).
  b.unit_trials[2 * 4 + 3] = 150;
  DiagnosisOptions o;
  o.interval = 0.5;
  const double up = MustDiagnose(log, tl, units, dev, &b, o).adoption_upper[3];
  ASSERT_TRUE(up >= 0.5 && up < 1.0) << up;
  o.min_gap = 1 - up;
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, &b, o).understands_metrics[3], "unclear");
  o.min_gap = 1 - std::nextafter(up, 1.0);
  EXPECT_EQ(MustDiagnose(log, tl, units, dev, &b, o).understands_metrics[3], "no");
  // No replicate row: NaN, unclear, saying so.
  b.rows.replicate = {0, 0, 0};
  const RepDiagnosis z = MustDiagnose(log, tl, units, dev, &b);
  EXPECT_TRUE(std::isnan(z.adoption_ratio[0]));
  EXPECT_EQ(z.understands_metrics[0], "unclear");
  EXPECT_NE(z.understands_metrics_evidence[0].find("no practice to replicate"), std::string::npos);
}

// Active weeks and activities against a slow per-deal reference on random logs (with
// stalls, exclusions, open and closed deals), and the peer median by sorting.
TEST(DiagnoseReps, RandomLogsAgainstPerDealReference) {
  Rng rng(77);
  for (int c = 0; c < 100; ++c) {
    std::vector<Ev> rows;
    AddRandomDeals(rng, {"created", "proposal", "sign", "decline", "spam", "call", "email", "reply"},
                   {"r0", "r1", "r2", "r3"}, 40, 8, rows);
    const EventLog log = BuildLog(rows);
    const Timelines tl = RunModel(SimpleModel(), log);
    const Units units = MustRep(log);
    const size_t U = units.names.size();
    DeviantAssessment dev = HandDev(units.names, std::vector<double>(U, 1.0), std::vector<double>(U, 1.0),
                                    std::vector<double>(U, 0.0));
    DiagnosisOptions o;
    o.min_weeks = static_cast<double>(rng.Below(4));
    const RepDiagnosis g = MustDiagnose(log, tl, units, dev, nullptr, o);
    // Reference: the deal's events from the log's columns, gathered in a std::map.
    std::map<int32_t, std::vector<std::pair<int64_t, int32_t>>> events;
    for (int64_t i = 0; i < log.size(); ++i) {
      events[log.deal()[static_cast<size_t>(i)]].push_back({log.time()[static_cast<size_t>(i)],
                                                            log.action()[static_cast<size_t>(i)]});
    }
    std::vector<double> weeks(U, 0);
    std::vector<int64_t> acts(U, 0);
    for (const auto& [d, evs] : events) {
      int64_t first = evs[0].first;
      for (const auto& e : evs) first = std::min(first, e.first);
      const auto oc = static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]);
      int64_t end = oc == Outcome::kOpen ? tl.as_of : tl.outcome_time[static_cast<size_t>(d)];
      if (end < first) end = first;
      const auto u = static_cast<size_t>(units.of_deal[static_cast<size_t>(d)]);
      weeks[u] += static_cast<double>(end - first) / static_cast<double>(7 * kDay);
      for (const auto& e : evs) {
        if (e.first <= end && log.actor(e.second) == Actor::kSeller) ++acts[u];
      }
    }
    std::vector<double> peers;
    for (size_t u = 0; u < U; ++u) {
      EXPECT_NEAR(g.active_weeks[u], weeks[u], 1e-9) << c << " " << u;
      EXPECT_EQ(g.activities[u], acts[u]) << c << " " << u;
      const double v = weeks[u] > 0 ? static_cast<double>(acts[u]) / weeks[u] : kNaN;
      EXPECT_TRUE(Same(g.volume[u], v, 1e-9));
      if (weeks[u] >= o.min_weeks && weeks[u] > 0) peers.push_back(v);
    }
    std::sort(peers.begin(), peers.end());
    double med = kNaN;
    if (!peers.empty()) {
      const size_t n = peers.size();
      med = n % 2 ? peers[n / 2] : 0.5 * (peers[n / 2 - 1] + peers[n / 2]);
    }
    EXPECT_TRUE(Same(g.peer_volume, med, 1e-9)) << c;
    for (size_t u = 0; u < U; ++u) {
      EXPECT_TRUE(Same(g.volume_ratio[u], med > 0 ? g.volume[u] / med : kNaN, 1e-9));
    }
  }
}

TEST(DiagnoseReps, BadOptionsAndMisfits) {
  const EventLog log = BuildLog(DiagRows());
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(14));
  const Units units = MustRep(log);
  const DeviantAssessment dev = HandDev(units.names, {1, 1, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0});
  auto expect = [&](const DiagnosisOptions& o, const std::string& word) {
    auto r = DiagnoseReps(log, tl, units, dev, nullptr, o);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(word), std::string::npos) << r.status();
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (double v : {-1.0, kNaN, inf}) {
    DiagnosisOptions o;
    o.min_weeks = v;
    expect(o, "min_weeks");
  }
  for (double v : {-0.1, 1.0, kNaN}) {
    DiagnosisOptions o;
    o.min_gap = v;
    expect(o, "min_gap");
  }
  for (double v : {0.0, 1.0, kNaN}) {
    DiagnosisOptions o;
    o.interval = v;
    expect(o, "interval");
  }
  for (double v : {0.5, 1.0, kNaN}) {
    DiagnosisOptions o;
    o.flag_probability = v;
    expect(o, "flag_probability");
  }
  auto misfit = [&](const DeviantAssessment& d, const BehaviourAssessment* b, const Units& u,
                    const std::string& word) {
    auto r = DiagnoseReps(log, tl, u, d, b);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
    EXPECT_NE(r.status().message().find(word), std::string::npos) << r.status();
  };
  DeviantAssessment d2 = dev;
  d2.unit_names[0] = "Z";
  misfit(d2, nullptr, units, "deviants");
  d2 = dev;
  d2.ratio_upper.pop_back();
  misfit(d2, nullptr, units, "deviants");
  BehaviourAssessment b;
  b.unit_names = units.names;
  b.rows.stage = {1};
  b.rows.present = {1};
  b.rows.absent = {1};
  b.rows.replicate = {1};
  b.unit_trials = {1, 1, 1};
  b.unit_present = {1, 1, 1, 1};
  misfit(dev, &b, units, "behaviours");
  b.unit_trials.push_back(1);
  b.unit_names = {"A"};
  misfit(dev, &b, units, "behaviours");
  Units u2 = units;
  u2.of_deal.pop_back();
  misfit(dev, nullptr, u2, "deal counts");
}

// ---- Mergeable counts (DeviantCounts) ------------------------------------------------

// Exact equality with NaN equal to NaN.
bool Identical(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Every per-unit figure of `a` (units in any order) equals `b`'s for the same unit name,
// bit for bit; the model figures too.
void ExpectSameAssessment(const DeviantAssessment& a, const DeviantAssessment& b, const std::string& what) {
  EXPECT_EQ(a.coefficient_names, b.coefficient_names) << what;
  ASSERT_EQ(a.coefficients.size(), b.coefficients.size()) << what;
  for (size_t j = 0; j < a.coefficients.size(); ++j) EXPECT_TRUE(Identical(a.coefficients[j], b.coefficients[j])) << what;
  EXPECT_EQ(a.reference_levels, b.reference_levels) << what;
  EXPECT_TRUE(Identical(a.concentration, b.concentration)) << what;
  EXPECT_EQ(a.decided_deals, b.decided_deals) << what;
  ASSERT_EQ(a.unit_names.size(), b.unit_names.size()) << what;
  for (size_t u = 0; u < a.unit_names.size(); ++u) {
    const auto it = std::find(b.unit_names.begin(), b.unit_names.end(), a.unit_names[u]);
    ASSERT_NE(it, b.unit_names.end()) << what << " " << a.unit_names[u];
    const auto v = static_cast<size_t>(it - b.unit_names.begin());
    const std::string where = what + " unit " + a.unit_names[u];
    EXPECT_EQ(a.decided[u], b.decided[v]) << where;
    EXPECT_EQ(a.won[u], b.won[v]) << where;
    EXPECT_EQ(a.deviant[u], b.deviant[v]) << where;
    EXPECT_EQ(a.rank[u], b.rank[v]) << where;
    for (const auto field : {&DeviantAssessment::expected, &DeviantAssessment::ratio, &DeviantAssessment::won_value,
                             &DeviantAssessment::expected_value, &DeviantAssessment::excess_value,
                             &DeviantAssessment::ratio_shrunk, &DeviantAssessment::ratio_lower,
                             &DeviantAssessment::ratio_upper, &DeviantAssessment::probability_above,
                             &DeviantAssessment::probability_below}) {
      EXPECT_TRUE(Identical((a.*field)[u], (b.*field)[v])) << where << ": " << (a.*field)[u] << " vs " << (b.*field)[v];
    }
  }
}

// Merges `parts` pairwise in a random tree: two random items merged into one until one is left.
DeviantCounts MergeRandomTree(std::vector<DeviantCounts> parts, Rng& rng) {
  while (parts.size() > 1) {
    const auto i = static_cast<size_t>(rng.Below(static_cast<int64_t>(parts.size())));
    DeviantCounts a = std::move(parts[i]);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i));
    const auto j = static_cast<size_t>(rng.Below(static_cast<int64_t>(parts.size())));
    DeviantCounts b = std::move(parts[j]);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(j));
    // Half the time through the bytes, as between processes.
    if (rng.Percent(50)) {
      auto back = DeviantCounts::Deserialize(b.Serialize());
      EXPECT_TRUE(back.ok()) << back.status();
      if (back.ok()) b = *std::move(back);
    }
    const absl::Status st = rng.Percent(50) ? a.Merge(b) : (b.Merge(a).ok() ? (a = std::move(b), absl::OkStatus()) : absl::InternalError("merge"));
    EXPECT_TRUE(st.ok()) << st;
    parts.push_back(std::move(a));
  }
  return parts.empty() ? DeviantCounts() : std::move(parts[0]);
}

// The rows of each part when the deals are dealt into `n` parts at random (events keep
// their order within a deal); empty parts are dropped.
std::vector<std::vector<Ev>> SplitByDeal(const std::vector<Ev>& rows, int n, Rng& rng) {
  std::map<std::string, int> part_of;
  std::vector<std::vector<Ev>> parts(static_cast<size_t>(n));
  for (const Ev& e : rows) {
    auto [it, added] = part_of.try_emplace(e.deal, 0);
    if (added) it->second = static_cast<int>(rng.Below(n));
    parts[static_cast<size_t>(it->second)].push_back(e);
  }
  std::erase_if(parts, [](const std::vector<Ev>& p) { return p.empty(); });
  return parts;
}

TEST(DeviantCounts, HandCellsValuesAndFinalize) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units units = MustRep(log);
  const std::vector<std::string> cov = {"segment"};
  auto c = DeviantCounts::Count(log, tl, units, cov);
  ASSERT_TRUE(c.ok()) << c.status();
  // Units A, B, C (C holds only the open o1); levels Ent < SMB; cells (A,Ent) (A,SMB)
  // (B,Ent) (B,SMB): four; ten decided deals.
  EXPECT_EQ(c->unit_names(), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(c->levels(), (std::vector<std::vector<std::string>>{{"Ent", "SMB"}}));
  EXPECT_EQ(c->num_cells(), 4u);
  EXPECT_EQ(c->decided_deals(), 10);
  // Intercept only: p = 5/10 for every deal. Mean value (100+200+300+400)/4 = 250.
  // A: values 100, 200, 250 (s3), 250 (s4), 250 (s5), 300 (e1): Σ = 1350, expected value
  //    0.5 x 1350 = 675; won s1 s2 s3: 100 + 200 + 250 = 550.
  // B: 250 (s6), 400 (e2), 250 (e3), 250 (e4): Σ = 1150 -> 575; won s6 e2: 250 + 400 = 650.
  // (Counted without covariates: the model is the intercept alone.)
  auto c0 = DeviantCounts::Count(log, tl, units, std::vector<std::string>{});
  ASSERT_TRUE(c0.ok()) << c0.status();
  EXPECT_EQ(c0->num_cells(), 2u);  // (A), (B)
  DeviantOptions o;
  auto a = c0->Finalize(o);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->deal_probability.empty());
  EXPECT_EQ(a->expected_value[0], 675.0);
  EXPECT_EQ(a->won_value[0], 550.0);
  EXPECT_EQ(a->expected_value[1], 575.0);
  EXPECT_EQ(a->won_value[1], 650.0);
  EXPECT_EQ(a->excess_value[1], 75.0);
  EXPECT_EQ(a->decided[2], 0);
  EXPECT_TRUE(std::isnan(a->ratio_shrunk[2]));
  // The whole-log function gives the same figures (its units happen to be in name order).
  ExpectSameAssessment(*a, MustAssess(log, tl, units, o), "hand");
  o.covariates = cov;
  auto with_segment = c->Finalize(o);
  ASSERT_TRUE(with_segment.ok()) << with_segment.status();
  ExpectSameAssessment(*with_segment, MustAssess(log, tl, units, o), "hand, segment");
  // Options naming other covariates are refused.
  o.covariates = {"other"};
  EXPECT_EQ(c->Finalize(o).status().code(), absl::StatusCode::kFailedPrecondition);
  o.covariates = {};
  o.ridge = -1;
  EXPECT_EQ(c->Finalize(o).status().code(), absl::StatusCode::kInvalidArgument);
  // A split by rep: A's deals and x1 in one part, the others in another.
  std::vector<Ev> p1, p2;
  for (const Ev& e : HandRows()) (e.rep == "A" ? p1 : p2).push_back(e);
  const EventLog l1 = BuildLog(p1, true, true), l2 = BuildLog(p2, true, true);
  auto c1 = DeviantCounts::Count(l1, RunModel(SimpleModel(), l1, AsOf(10)), MustRep(l1), cov);
  auto c2 = DeviantCounts::Count(l2, RunModel(SimpleModel(), l2, AsOf(10)), MustRep(l2), cov);
  ASSERT_TRUE(c1.ok() && c2.ok());
  ASSERT_TRUE(c2->Merge(*c1).ok());
  EXPECT_TRUE(*c2 == *c);
  EXPECT_EQ(c2->Serialize(), c->Serialize());
}

TEST(DeviantCounts, RandomSplitsMergeToTheWholeLogBitForBit) {
  Rng rng(8080);
  int compared = 0, with_values = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<Ev> rows;
    const std::vector<std::string> reps = {"r0", "r1", "r2", "r3", "r4", "r5"};
    AddRandomDeals(rng, {"created", "proposal", "sign", "decline", "call", "email", "reply"}, reps, 150, 6, rows);
    for (Ev& e : rows) e.segment = rng.Percent(10) ? "" : rng.Pick(std::vector<std::string>{"S", "M", "E", "X"});
    const EventLog log = BuildLog(rows, true, true);
    const Timelines tl = RunModel(SimpleModel(), log, AsOf(200));
    const Units units = MustRep(log);
    const std::vector<std::string> cov =
        rng.Percent(75) ? std::vector<std::string>{"segment"} : std::vector<std::string>{};
    auto whole = DeviantCounts::Count(log, tl, units, cov);
    ASSERT_TRUE(whole.ok()) << whole.status();
    const std::string bytes = whole->Serialize();
    auto back = DeviantCounts::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *whole);
    // Split by deal into 2..5 parts, counted apart and merged in a random tree.
    const auto parts = SplitByDeal(rows, 2 + static_cast<int>(rng.Below(4)), rng);
    std::vector<DeviantCounts> counts;
    for (const auto& p : parts) {
      const EventLog pl = BuildLog(p, true, true);
      auto pc = DeviantCounts::Count(pl, RunModel(SimpleModel(), pl, AsOf(200)), MustRep(pl), cov);
      ASSERT_TRUE(pc.ok()) << pc.status();
      counts.push_back(*std::move(pc));
    }
    const DeviantCounts merged = MergeRandomTree(std::move(counts), rng);
    SCOPED_TRACE(absl::StrCat("round ", round, ", ", parts.size(), " parts"));
    EXPECT_TRUE(merged == *whole);
    EXPECT_EQ(merged.Serialize(), bytes);
    DeviantOptions o;
    o.covariates = cov;
    auto single = AssessDeviants(log, tl, units, o);
    auto fin = merged.Finalize(o);
    ASSERT_EQ(single.ok(), fin.ok()) << single.status() << " / " << fin.status();
    if (!single.ok()) {
      EXPECT_EQ(single.status().code(), fin.status().code());
      continue;
    }
    ExpectSameAssessment(*fin, *single, absl::StrCat("round ", round));
    ++compared;
    // The dollar figures against a per-deal reference (std::map by rep): won value and
    // Σ p̂ × value, a missing value counting at the mean of the decided deals' values.
    double vsum = 0;
    int64_t nv = 0;
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      if (!std::isnan(single->deal_probability[static_cast<size_t>(d)]) && !std::isnan(tl.value[static_cast<size_t>(d)])) {
        vsum += tl.value[static_cast<size_t>(d)];
        ++nv;
      }
    }
    std::map<std::string, std::pair<double, double>> ref;  // won value, expected value
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      const double p = single->deal_probability[static_cast<size_t>(d)];
      if (std::isnan(p)) continue;
      double v = tl.value[static_cast<size_t>(d)];
      if (std::isnan(v)) v = vsum / static_cast<double>(nv);
      auto& [won_v, exp_v] = ref[units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])]];
      if (static_cast<Outcome>(tl.outcome[static_cast<size_t>(d)]) == Outcome::kWon) won_v += v;
      exp_v += p * v;
    }
    for (size_t u = 0; u < units.names.size(); ++u) {
      const auto it = ref.find(units.names[u]);
      const double wv = it == ref.end() ? 0 : it->second.first, ev = it == ref.end() ? 0 : it->second.second;
      EXPECT_NEAR(single->won_value[u], wv, 1e-6 * std::max(1.0, std::fabs(wv))) << units.names[u];
      EXPECT_NEAR(single->expected_value[u], ev, 1e-6 * std::max(1.0, std::fabs(ev))) << units.names[u];
      with_values += wv > 0;
    }
    if (HasFailure()) break;
  }
  EXPECT_GT(compared, 40);
  EXPECT_GT(with_values, 100);
}

TEST(DeviantCounts, HostileBytesGiveCleanErrors) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  auto c = DeviantCounts::Count(log, tl, MustRep(log), std::vector<std::string>{"segment"});
  ASSERT_TRUE(c.ok());
  const std::string bytes = c->Serialize();
  // Every strict prefix: DataLoss.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DeviantCounts::Deserialize(bytes.substr(0, n)).status().code(), absl::StatusCode::kDataLoss) << n;
  }
  // Every byte with a bit flipped: an error (the checksum, or the header fields), never a crash.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    const auto r = DeviantCounts::Deserialize(b);
    EXPECT_FALSE(r.ok()) << i;
    if (i >= 8 && i < 12) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << i;  // the version
    }
  }
  // Another version.
  std::string v2 = bytes;
  v2[8] = 2;
  EXPECT_EQ(DeviantCounts::Deserialize(v2).status().code(), absl::StatusCode::kFailedPrecondition);
  // A well-framed payload with a cell count far beyond its bytes, unsorted units, a cell
  // out of range: DataLoss before any large allocation.
  auto frame = [](const StateWriter& w) { return WrapState(std::string_view("SPDEVC\0\0\1", 8), 1, w.bytes()); };
  {
    StateWriter w;
    w.U32(0);
    w.String("rep");
    w.U32(1);
    w.String("a");
    w.U64(uint64_t{1} << 60);
    EXPECT_EQ(DeviantCounts::Deserialize(frame(w)).status().code(), absl::StatusCode::kDataLoss);
  }
  {
    StateWriter w;
    w.U32(0);
    w.String("rep");
    w.U32(2);
    w.String("b");
    w.String("a");
    w.U64(0);
    EXPECT_EQ(DeviantCounts::Deserialize(frame(w)).status().code(), absl::StatusCode::kDataLoss);
  }
  {
    StateWriter w;
    w.U32(0);
    w.String("rep");
    w.U32(1);
    w.String("a");
    w.U64(1);
    w.U32(5);  // unit 5 of 1
    for (int i = 0; i < 4; ++i) w.I64(1);
    w.I128(0);
    w.I128(0);
    EXPECT_EQ(DeviantCounts::Deserialize(frame(w)).status().code(), absl::StatusCode::kDataLoss);
  }
  {  // won > deals
    StateWriter w;
    w.U32(0);
    w.String("rep");
    w.U32(1);
    w.String("a");
    w.U64(1);
    w.U32(0);
    w.I64(1);
    w.I64(2);
    w.I64(0);
    w.I64(0);
    w.I128(0);
    w.I128(0);
    EXPECT_EQ(DeviantCounts::Deserialize(frame(w)).status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(DeviantCounts, MismatchedMergesAreRefused) {
  const EventLog log = BuildLog(HandRows(), true, true);
  const Timelines tl = RunModel(SimpleModel(), log, AsOf(10));
  const Units reps = MustRep(log);
  auto a = DeviantCounts::Count(log, tl, reps, std::vector<std::string>{"segment"});
  auto b = DeviantCounts::Count(log, tl, reps, std::vector<std::string>{});
  ASSERT_TRUE(a.ok() && b.ok());
  DeviantCounts x = *a;
  absl::Status st = x.Merge(*b);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("covariates"), std::string::npos) << st;
  EXPECT_TRUE(x == *a);  // unchanged
  auto seg = UnitsByDimension(log, "segment");
  ASSERT_TRUE(seg.ok());
  auto c = DeviantCounts::Count(log, tl, *seg, std::vector<std::string>{"segment"});
  ASSERT_TRUE(c.ok());
  st = x.Merge(*c);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("unit kind"), std::string::npos) << st;
  // Merging into an empty accumulator copies; merging an empty one changes nothing.
  DeviantCounts empty;
  ASSERT_TRUE(empty.Merge(*a).ok());
  EXPECT_TRUE(empty == *a);
  ASSERT_TRUE(x.Merge(DeviantCounts()).ok());
  EXPECT_TRUE(x == *a);
  // Count's own errors.
  EXPECT_EQ(DeviantCounts::Count(log, tl, reps, std::vector<std::string>{"nope"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DeviantCounts::Count(log, tl, reps, std::vector<std::string>{"segment", "segment"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace salesperf
