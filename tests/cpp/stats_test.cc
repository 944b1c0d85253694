// Hand-derived cases for salesperf/stats.h: each expected value is computed here from
// the textbook formula (or taken from a published table), not from the code under test.
#include "salesperf/stats.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kZ95 = 1.959963984540054;  // Φ⁻¹(0.975)

// Wilson bounds straight from the formula.
void WilsonByHand(double x, double n, double z, double& lower, double& upper) {
  const double p = x / n;
  const double denom = 1 + z * z / n;
  const double centre = (p + z * z / (2 * n)) / denom;
  const double half = z / denom * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  lower = centre - half;
  upper = centre + half;
}

TEST(Wilson, FiveOfTen) {
  auto r = Wilson(5, 10);
  ASSERT_TRUE(r.ok()) << r.status();
  double lo = 0;
  double hi = 0;
  WilsonByHand(5, 10, kZ95, lo, hi);
  EXPECT_EQ(r->estimate, 0.5);
  EXPECT_NEAR(r->lower, lo, 1e-14);
  EXPECT_NEAR(r->upper, hi, 1e-14);
  // Published value (e.g. Newcombe 1998 tables): [0.2366, 0.7634], symmetric about 0.5.
  EXPECT_NEAR(r->lower, 0.2366, 5e-5);
  EXPECT_NEAR(r->upper, 0.7634, 5e-5);
  EXPECT_NEAR(r->lower + r->upper, 1.0, 1e-15);
}

TEST(Wilson, NoneAndAllOfTen) {
  auto none = Wilson(0, 10);
  ASSERT_TRUE(none.ok());
  double lo = 0;
  double hi = 0;
  WilsonByHand(0, 10, kZ95, lo, hi);
  EXPECT_EQ(none->estimate, 0.0);
  EXPECT_EQ(none->lower, 0.0);  // exactly, not a rounding residue
  EXPECT_NEAR(none->upper, hi, 1e-14);
  // At x = 0 the formula reduces to z²/(n + z²).
  EXPECT_NEAR(none->upper, kZ95 * kZ95 / (10 + kZ95 * kZ95), 1e-15);
  EXPECT_NEAR(none->upper, 0.2775, 5e-5);

  auto all = Wilson(10, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->estimate, 1.0);
  EXPECT_EQ(all->upper, 1.0);
  EXPECT_NEAR(all->lower, 1.0 - none->upper, 1e-15);  // mirror image of 0/10
}

TEST(Wilson, OtherConfidence) {
  auto r = Wilson(3, 40, 0.9);
  ASSERT_TRUE(r.ok());
  double lo = 0;
  double hi = 0;
  WilsonByHand(3, 40, 1.6448536269514722, lo, hi);  // Φ⁻¹(0.95)
  EXPECT_NEAR(r->lower, lo, 1e-14);
  EXPECT_NEAR(r->upper, hi, 1e-14);
}

TEST(Wilson, NoTrialsIsUnknown) {
  auto r = Wilson(0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->estimate));
  EXPECT_EQ(r->lower, 0.0);
  EXPECT_EQ(r->upper, 1.0);
}

TEST(Wilson, BadInput) {
  EXPECT_EQ(Wilson(11, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Wilson(-1, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Wilson(0, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Wilson(1, 2, 1.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Wilson(1, 2, 0.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Wilson(1, 2, kNaN).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TwoProportionTest, ByHand) {
  // 7/20 last quarter, 15/25 this quarter.
  auto r = TwoProportionTest(7, 20, 15, 25);
  ASSERT_TRUE(r.ok()) << r.status();
  const double p = 22.0 / 45.0;
  const double se = std::sqrt(p * (1 - p) * (1.0 / 20 + 1.0 / 25));
  const double z = (0.6 - 0.35) / se;
  EXPECT_NEAR(r->difference, 0.25, 1e-15);
  EXPECT_NEAR(r->z, z, 1e-13);
  EXPECT_NEAR(r->p_value, std::erfc(z / std::sqrt(2.0)), 1e-13);  // 2(1 - Φ(z))
  // Swapping the periods flips the sign and keeps the p-value.
  auto back = TwoProportionTest(15, 25, 7, 20);
  ASSERT_TRUE(back.ok());
  EXPECT_NEAR(back->z, -r->z, 1e-14);
  EXPECT_NEAR(back->p_value, r->p_value, 1e-15);
}

TEST(TwoProportionTest, CountsNearTheInt64LimitDoNotOverflow) {
  // 3/4 of n against 1/4 of n with n = 2^62: pooled x = n and pooled n = 2n = 2^63 (one
  // past INT64_MAX, a fuzz finding). Pooled p = 1/2, se = sqrt(1/4 * 2/n) = 2^-31.5, and
  // z = -0.5 / 2^-31.5 = -2^30.5.
  const int64_t n = int64_t{1} << 62;
  auto r = TwoProportionTest(3 * (n / 4), n, n / 4, n);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->difference, -0.5);
  EXPECT_NEAR(r->z, -std::pow(2.0, 30.5), 1e-6);
  EXPECT_EQ(r->p_value, 0.0);
}

TEST(TwoProportionTest, EqualProportionsGiveZeroAndOne) {
  auto r = TwoProportionTest(5, 10, 10, 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->difference, 0.0);
  EXPECT_EQ(r->z, 0.0);
  EXPECT_NEAR(r->p_value, 1.0, 1e-15);
}

TEST(TwoProportionTest, Degenerate) {
  auto none = TwoProportionTest(0, 10, 0, 30);  // pooled p = 0
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->difference, 0.0);
  EXPECT_EQ(none->z, 0.0);
  EXPECT_EQ(none->p_value, 1.0);
  auto all = TwoProportionTest(10, 10, 30, 30);  // pooled p = 1
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->p_value, 1.0);
  auto empty = TwoProportionTest(0, 0, 3, 30);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(std::isnan(empty->difference));
  EXPECT_TRUE(std::isnan(empty->z));
  EXPECT_TRUE(std::isnan(empty->p_value));
  EXPECT_EQ(TwoProportionTest(3, 2, 1, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TwoProportionTest(1, 2, -1, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrendSlope, ExactLineHasZeroWidthInterval) {
  // y = 2 + 3x: every intermediate is an exact binary fraction, so residuals are 0.
  std::vector<double> y = {2, 5, 8, 11, 14};
  auto r = TrendSlope(y);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->slope, 3.0);
  EXPECT_EQ(r->lower, 3.0);
  EXPECT_EQ(r->upper, 3.0);
  EXPECT_EQ(r->n, 5);
}

TEST(TrendSlope, ByHandWithStudentT) {
  // x = 0..4, y = {1, 3, 2, 5, 4}: x̄ = 2, ȳ = 3, Sxx = 10, Sxy = 8, slope = 0.8.
  // Fitted: 1.4, 2.2, 3.0, 3.8, 4.6; residuals -0.4, 0.8, -1.0, 1.2, -0.6; SSR = 3.6.
  // se = sqrt(3.6 / 3 / 10); t(0.975, 3 df) = 3.18244630528371 (tables).
  std::vector<double> y = {1, 3, 2, 5, 4};
  auto r = TrendSlope(y);
  ASSERT_TRUE(r.ok());
  const double se = std::sqrt(3.6 / 3 / 10);
  const double t = 3.18244630528371;
  EXPECT_NEAR(r->slope, 0.8, 1e-15);
  EXPECT_NEAR(r->lower, 0.8 - t * se, 1e-13);
  EXPECT_NEAR(r->upper, 0.8 + t * se, 1e-13);
}

TEST(TrendSlope, NaNKeepsPositions) {
  // x = 0, 1, 3, 4 (period 2 missing): x̄ = 2, ȳ = 17, Sxx = 10, Sxy = 24.
  std::vector<double> y = {12, 15, kNaN, 19, 22};
  auto r = TrendSlope(y);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->n, 4);
  EXPECT_NEAR(r->slope, 2.4, 1e-15);
  // Residuals: 12-12.2, 15-14.6, 19-19.4, 22-21.8 = -0.2, 0.4, -0.4, 0.2; SSR = 0.4.
  const double se = std::sqrt(0.4 / 2 / 10);
  // With 2 df the t quantile has a closed form: t = (2p - 1) / sqrt(2p(1 - p)).
  const double t = 0.95 / std::sqrt(2 * 0.975 * 0.025);
  EXPECT_NEAR(r->lower, 2.4 - t * se, 1e-13);
  EXPECT_NEAR(r->upper, 2.4 + t * se, 1e-13);
}

TEST(TrendSlope, TooFewPeriods) {
  std::vector<double> two = {1, kNaN, 4};
  auto r = TrendSlope(two);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->n, 2);
  EXPECT_NEAR(r->slope, 1.5, 1e-15);  // exact through the two points
  EXPECT_TRUE(std::isnan(r->lower));
  EXPECT_TRUE(std::isnan(r->upper));
  std::vector<double> one = {kNaN, 7};
  auto s = TrendSlope(one);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->n, 1);
  EXPECT_TRUE(std::isnan(s->slope));
  auto empty = TrendSlope({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->n, 0);
  EXPECT_TRUE(std::isnan(empty->slope));
}

TEST(TrendSlope, BadInput) {
  std::vector<double> y = {1, std::numeric_limits<double>::infinity(), 3};
  EXPECT_EQ(TrendSlope(y).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<double> ok = {1, 2, 3};
  EXPECT_EQ(TrendSlope(ok, 1.5).status().code(), absl::StatusCode::kInvalidArgument);
}

// Freireich et al. (1963), 6-MP arm: weeks of remission, + marks a censored patient.
// 6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+
TEST(KaplanMeier, TextbookSixMp) {
  std::vector<int64_t> t = {6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16,
                            17, 19, 20, 22, 23, 25, 32, 32, 34, 35};
  std::vector<uint8_t> d = {1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};
  // Shuffle the input order: the estimate must not depend on it.
  std::vector<int64_t> ts(t.rbegin(), t.rend());
  std::vector<uint8_t> ds(d.rbegin(), d.rend());
  auto km = KaplanMeier(ts, ds);
  ASSERT_TRUE(km.ok()) << km.status();
  // By hand: at 6, 21 at risk, 3 events (the 6+ is still at risk: events first);
  // 7: 17 at risk; 10: 15 (9+ gone); 13: 12; 16: 11; 22: 7; 23: 6.
  EXPECT_EQ(km->times(), (std::vector<int64_t>{6, 7, 10, 13, 16, 22, 23}));
  EXPECT_EQ(km->at_risk(), (std::vector<int64_t>{21, 17, 15, 12, 11, 7, 6}));
  EXPECT_EQ(km->events(), (std::vector<int64_t>{3, 1, 1, 1, 1, 1, 1}));
  const std::vector<double> factors = {18.0 / 21, 16.0 / 17, 14.0 / 15, 11.0 / 12,
                                       10.0 / 11, 6.0 / 7,   5.0 / 6};
  double s = 1.0;
  ASSERT_EQ(km->survival().size(), factors.size());
  for (size_t i = 0; i < factors.size(); ++i) {
    s *= factors[i];
    EXPECT_NEAR(km->survival()[i], s, 1e-15) << "at " << km->times()[i];
  }
  // Published: S(6) = 0.857, S(7) = 0.807, S(10) = 0.753, S(13) = 0.690, S(16) = 0.628,
  // S(22) = 0.538, S(23) = 0.448.
  EXPECT_NEAR(km->survival()[0], 0.857, 5e-4);
  EXPECT_NEAR(km->survival()[6], 0.448, 5e-4);
  // Median 23 weeks; the curve never reaches 0.1, so p90 is not reached.
  EXPECT_EQ(*km->Quantile(0.5), std::optional<int64_t>(23));
  EXPECT_EQ(*km->Quantile(0.1), std::optional<int64_t>(6));  // S(6) = 0.857 <= 0.9
  EXPECT_EQ(*km->Quantile(0.9), std::nullopt);
}

TEST(KaplanMeier, NoCensoringIsTheEmpiricalDistribution) {
  // 10 deals, all closed at days 1..10: S(k) = (10 - k)/10, the median is day 5 even
  // though 9/10 · 8/9 · … · 5/6 may round to just above 0.5.
  std::vector<int64_t> t = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<uint8_t> d(10, 1);
  auto km = KaplanMeier(t, d);
  ASSERT_TRUE(km.ok());
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_NEAR(km->survival()[i], (9.0 - static_cast<double>(i)) / 10.0, 1e-15);
  }
  EXPECT_EQ(**km->Quantile(0.5), 5);
  EXPECT_EQ(**km->Quantile(0.9), 9);
  EXPECT_EQ(**km->Quantile(1.0), 10);
}

TEST(KaplanMeier, EdgeCases) {
  auto empty = KaplanMeier({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->times().empty());
  EXPECT_EQ(*empty->Quantile(0.5), std::nullopt);

  std::vector<int64_t> t = {5, 7};
  std::vector<uint8_t> open = {0, 0};  // every deal still open: nothing to estimate
  auto censored = KaplanMeier(t, open);
  ASSERT_TRUE(censored.ok());
  EXPECT_TRUE(censored->times().empty());
  EXPECT_EQ(*censored->Quantile(0.5), std::nullopt);

  std::vector<uint8_t> mixed = {1, 0};
  auto km = KaplanMeier(t, mixed);
  ASSERT_TRUE(km.ok());
  EXPECT_EQ(km->survival(), (std::vector<double>{0.5}));
  EXPECT_EQ(km->Quantile(0.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(km->Quantile(1.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(km->Quantile(kNaN).status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<int64_t> zero = {0, 0, 3};
  std::vector<uint8_t> flags = {1, 0, 1};
  auto at_zero = KaplanMeier(zero, flags);
  ASSERT_TRUE(at_zero.ok());
  EXPECT_EQ(at_zero->times(), (std::vector<int64_t>{0, 3}));
  EXPECT_NEAR(at_zero->survival()[0], 2.0 / 3.0, 1e-16);
  EXPECT_EQ(at_zero->survival()[1], 0.0);  // the last deal at risk closed
}

TEST(KaplanMeier, BadInput) {
  std::vector<int64_t> t = {1, 2};
  std::vector<uint8_t> one = {1};
  EXPECT_EQ(KaplanMeier(t, one).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> negative = {1, -2};
  std::vector<uint8_t> d = {1, 1};
  EXPECT_EQ(KaplanMeier(negative, d).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> two = {1, 2};
  EXPECT_EQ(KaplanMeier(t, two).status().code(), absl::StatusCode::kInvalidArgument);
}

// KaplanMeierCounts against KaplanMeier on the expanded rows: the same arithmetic in the
// same order, so every field must agree exactly (doubles included), on random
// histograms with ties, empty times, censoring-only times and zero times.
TEST(KaplanMeierCounts, EqualsKaplanMeierOnExpandedData) {
  std::mt19937_64 rng(20260314);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int64_t> times, observed, censored;
    std::vector<int64_t> durations;
    std::vector<uint8_t> flags;
    const int distinct = static_cast<int>(rng() % 25);
    int64_t t = static_cast<int64_t>(rng() % 3);  // sometimes starts at 0
    for (int i = 0; i < distinct; ++i) {
      t += 1 + static_cast<int64_t>(rng() % 4);
      const auto d = static_cast<int64_t>(rng() % 4);  // 0: no event at t
      const auto c = static_cast<int64_t>(rng() % 3);
      times.push_back(t);
      observed.push_back(d);
      censored.push_back(c);
      for (int64_t k = 0; k < d + c; ++k) {
        durations.push_back(t);
        flags.push_back(k < d ? 1 : 0);
      }
    }
    // Shuffle the expanded rows: KaplanMeier sorts them.
    for (size_t i = durations.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(rng() % i);
      std::swap(durations[i - 1], durations[j]);
      std::swap(flags[i - 1], flags[j]);
    }
    auto counts = KaplanMeierCounts(times, observed, censored);
    auto rows = KaplanMeier(durations, flags);
    ASSERT_TRUE(counts.ok()) << counts.status();
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(counts->times(), rows->times()) << "trial " << trial;
    EXPECT_EQ(counts->at_risk(), rows->at_risk()) << "trial " << trial;
    EXPECT_EQ(counts->events(), rows->events()) << "trial " << trial;
    EXPECT_EQ(counts->survival(), rows->survival()) << "trial " << trial;  // bit for bit
    for (double q : {0.1, 0.5, 0.9, 1.0}) {
      EXPECT_EQ(*counts->Quantile(q), *rows->Quantile(q)) << "trial " << trial << " q " << q;
    }
  }
}

TEST(KaplanMeierCounts, SixMpFromAHistogram) {
  // The 6-MP arm above, grouped: (time, events, censored).
  std::vector<int64_t> t = {6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35};
  std::vector<int64_t> d = {3, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0};
  std::vector<int64_t> c = {1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1, 1};
  auto km = KaplanMeierCounts(t, d, c);
  ASSERT_TRUE(km.ok()) << km.status();
  EXPECT_EQ(km->times(), (std::vector<int64_t>{6, 7, 10, 13, 16, 22, 23}));
  EXPECT_EQ(km->at_risk(), (std::vector<int64_t>{21, 17, 15, 12, 11, 7, 6}));
  EXPECT_NEAR(km->survival()[6], 0.448, 5e-4);
  EXPECT_EQ(*km->Quantile(0.5), std::optional<int64_t>(23));
}

TEST(KaplanMeierCounts, EdgeCasesAndBadInput) {
  auto empty = KaplanMeierCounts({}, {}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->times().empty());
  std::vector<int64_t> t = {0, 4}, none = {0, 0}, two = {0, 2}, one = {1, 0};
  auto censored = KaplanMeierCounts(t, none, two);  // only censorings: no curve
  ASSERT_TRUE(censored.ok());
  EXPECT_TRUE(censored->times().empty());
  auto at_zero = KaplanMeierCounts(t, one, two);  // 1 event at 0 of 3 at risk
  ASSERT_TRUE(at_zero.ok());
  EXPECT_EQ(at_zero->times(), (std::vector<int64_t>{0}));
  EXPECT_NEAR(at_zero->survival()[0], 2.0 / 3.0, 1e-16);

  std::vector<int64_t> short_span = {1};
  EXPECT_EQ(KaplanMeierCounts(t, short_span, two).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KaplanMeierCounts(t, two, short_span).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> unsorted = {4, 0}, repeated = {4, 4}, negative_time = {-1, 4};
  EXPECT_EQ(KaplanMeierCounts(unsorted, one, two).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KaplanMeierCounts(repeated, one, two).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KaplanMeierCounts(negative_time, one, two).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> negative_count = {1, -1};
  EXPECT_EQ(KaplanMeierCounts(t, negative_count, two).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KaplanMeierCounts(t, one, negative_count).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> huge = {std::numeric_limits<int64_t>::max(), 1};
  EXPECT_EQ(KaplanMeierCounts(t, huge, two).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace salesperf
