// salesperf/stats.h — the small statistics behind leading-indicator reports:
// conversion ratios with intervals, period-over-period changes, trend slopes, and
// time-in-stage / cycle times with open deals counted as right-censored.
//
// What each is for in sales practice:
//   Wilson             a stage conversion ratio ("7 of 20 leads stated a need") with
//                      an interval that stays honest for small counts and 0% / 100%.
//   TwoProportionTest  did this period's conversion change from the last one, or is
//                      the difference within what chance gives?
//   TrendSlope         is a leading indicator rising or falling over the last N periods,
//                      and by how much per period?
//   KaplanMeier        how long deals take to leave a stage (or to close) when many are
//                      still open: open deals count for the time they have been seen.
//
//   absl::StatusOr<salesperf::Interval> r = salesperf::Wilson(7, 20);
//   // r->estimate == 0.35, r->lower ≈ 0.181, r->upper ≈ 0.567
//   absl::StatusOr<salesperf::ProportionTest> t = salesperf::TwoProportionTest(7, 20, 15, 25);
//   // t->difference == 0.6 - 0.35; t->p_value ≈ 0.095
//   std::vector<double> leads = {12, 15, NAN, 19, 22};
//   absl::StatusOr<salesperf::Trend> s = salesperf::TrendSlope(leads);
//   // s->slope == 2.4 per period, over s->n == 4 periods (x = 0, 1, 3, 4)
//   std::vector<int64_t> days = {3, 5, 5, 8};     // any unit; salesperf uses ns
//   std::vector<uint8_t> closed = {1, 1, 0, 1};   // 0: still open (censored)
//   absl::StatusOr<salesperf::SurvivalCurve> km = salesperf::KaplanMeier(days, closed);
//   // km->Quantile(0.5) -> 5 (the median): S(5) = 3/4 * 2/3 = 0.5
//   // The same from a histogram (distinct times, events and censorings per time):
//   // salesperf::KaplanMeierCounts({3, 5, 8}, {1, 1, 1}, {0, 1, 0}) is the same curve.
//
// Every function is exact arithmetic on doubles plus Boost.Math's normal and
// Student t quantiles; nothing is approximated by hand. Bad input (negative counts,
// successes > trials, a confidence outside (0, 1), mismatched spans) is an
// InvalidArgument error; a question the data cannot answer (no trials, too few
// periods, a quantile the curve never reaches) is NaN or std::nullopt, documented
// per function.
#ifndef SALESPERF_STATS_H_
#define SALESPERF_STATS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace salesperf {

// A point estimate with a two-sided confidence interval.
struct Interval {
  double estimate;
  double lower;
  double upper;
};

// Wilson score interval for a proportion successes / trials:
//   p = x / n, z = Φ⁻¹(1 - (1 - confidence) / 2),
//   centre = (p + z²/(2n)) / (1 + z²/n),
//   half   = z / (1 + z²/n) * sqrt(p(1 - p)/n + z²/(4n²)),
//   [lower, upper] = [centre - half, centre + half], clamped to [0, 1];
//   lower is exactly 0 when x == 0 and upper exactly 1 when x == n.
// The estimate is the observed ratio p (not the centre).
// trials == 0: estimate NaN, interval [0, 1] (nothing is known).
// InvalidArgument: negative counts, successes > trials, confidence not in (0, 1).
absl::StatusOr<Interval> Wilson(int64_t successes, int64_t trials, double confidence = 0.95);

// A two-sided test of p1 == p2 for two proportions (e.g. last period vs this one).
struct ProportionTest {
  double difference;  // p2 - p1: positive when the second proportion is higher
  double z;           // difference / pooled standard error; same sign as difference
  double p_value;     // two-sided: 2 * (1 - Φ(|z|))
};

// Pooled two-proportion z test:
//   p1 = x1/n1, p2 = x2/n2, p = (x1 + x2)/(n1 + n2),
//   se = sqrt(p(1 - p)(1/n1 + 1/n2)), z = (p2 - p1) / se.
// Degenerate cases:
//   n1 == 0 or n2 == 0: every field NaN (one proportion is undefined);
//   pooled p == 0 or 1 (both 0% or both 100%): difference 0, z 0, p_value 1, since the
//   two observed proportions are identical and there is no evidence of a change.
// InvalidArgument: negative counts or x > n.
absl::StatusOr<ProportionTest> TwoProportionTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

// A least-squares trend over consecutive periods.
struct Trend {
  double slope;  // change per period
  double lower;  // confidence interval of the slope
  double upper;
  int64_t n;     // periods used (the non-NaN values)
};

// Ordinary least squares of y[i] on the period number i (0..size-1):
//   slope = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)², computed about the means (two passes);
//   s² = Σ residual² / (n - 2), se = sqrt(s² / Σ(x - x̄)²),
//   [lower, upper] = slope ∓ t_{n-2}(1 - (1 - confidence)/2) · se  (Student t).
// NaN values are skipped and the other periods keep their positions, so a missing
// month does not shift the later ones.
// n < 2: slope NaN; n == 2: the exact slope with a NaN interval (no degrees of
// freedom left); a perfect line gives a zero-width interval.
// InvalidArgument: an infinite value, confidence not in (0, 1).
absl::StatusOr<Trend> TrendSlope(std::span<const double> y, double confidence = 0.95);

// The Kaplan–Meier estimate of a survival curve: S(t) = Π_{tᵢ <= t} (nᵢ - dᵢ) / nᵢ over
// the distinct event times tᵢ, where dᵢ is the number of events at tᵢ and nᵢ the number
// at risk (durations >= tᵢ). Between event times, and before the first, S is constant
// (S = 1 before the first event).
class SurvivalCurve {
 public:
  SurvivalCurve() = default;

  // Distinct times at which at least one event happened, ascending.
  const std::vector<int64_t>& times() const { return times_; }
  // S(t) just after each of times() (right-continuous), non-increasing.
  const std::vector<double>& survival() const { return survival_; }
  // nᵢ and dᵢ at each of times().
  const std::vector<int64_t>& at_risk() const { return at_risk_; }
  const std::vector<int64_t>& events() const { return events_; }

  // The smallest event time t with S(t) <= 1 - q: q = 0.5 the median, q = 0.9 the p90.
  // std::nullopt when the curve never gets that low ("not reached": too many deals are
  // still open to say). S is compared with an absolute slack of 1e-12, so that a curve
  // that is mathematically at 1 - q (e.g. 9/10·8/9·…·5/6 = 0.5) counts as reaching it
  // despite rounding. InvalidArgument: q not in (0, 1].
  absl::StatusOr<std::optional<int64_t>> Quantile(double q) const;

 private:
  friend absl::StatusOr<SurvivalCurve> KaplanMeier(std::span<const int64_t>,
                                                   std::span<const uint8_t>);
  friend absl::StatusOr<SurvivalCurve> KaplanMeierCounts(std::span<const int64_t>,
                                                         std::span<const int64_t>,
                                                         std::span<const int64_t>);
  std::vector<int64_t> times_;
  std::vector<double> survival_;
  std::vector<int64_t> at_risk_;
  std::vector<int64_t> events_;
};

// The survival curve of durations (e.g. int64 ns in a stage), where observed[i] is 1
// when the event happened at durations[i] (the deal left the stage) and 0 when the
// duration is right-censored (the deal is still open: it lasted at least that long).
// Ties: at one time, events come before censorings, so a deal censored at t is still
// at risk for the events at t (the standard convention; lifelines and R's survival
// do the same). O(n log n): one sort.
// Empty input gives an empty curve. InvalidArgument: spans of different sizes, a
// negative duration, an observed value other than 0 or 1.
absl::StatusOr<SurvivalCurve> KaplanMeier(std::span<const int64_t> durations,
                                          std::span<const uint8_t> observed);

// The same curve from counts already grouped by time (a histogram, e.g. durations
// bucketed by a resolution): at times[i], observed[i] durations ended (events) and
// censored[i] were right-censored. Equal to KaplanMeier on the expanded data (each
// times[i] repeated observed[i] times with flag 1 and censored[i] times with flag 0),
// bit for bit, with the same tie convention (events before censorings at one time).
// A time with no event contributes only to the numbers at risk before it. O(size).
//   std::vector<int64_t> t = {3, 5, 8}, d = {1, 1, 1}, c = {0, 1, 0};
//   KaplanMeierCounts(t, d, c)  // == KaplanMeier({3, 5, 5, 8}, {1, 1, 0, 1})
// Empty input gives an empty curve. InvalidArgument: spans of different sizes, times
// not strictly ascending, a negative time or count, a total count beyond int64.
absl::StatusOr<SurvivalCurve> KaplanMeierCounts(std::span<const int64_t> times,
                                                std::span<const int64_t> observed,
                                                std::span<const int64_t> censored);

}  // namespace salesperf

#endif  // SALESPERF_STATS_H_
