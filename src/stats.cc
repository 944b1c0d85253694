#include "salesperf/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "salesperf/state.h"  // Int128

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Inputs are validated before Boost sees them; this policy keeps Boost from throwing
// should a corner slip through (the library reports errors as absl::Status only).
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;
using Normal = boost::math::normal_distribution<double, NoThrow>;
using StudentT = boost::math::students_t_distribution<double, NoThrow>;

absl::Status CheckConfidence(double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence must be in (0, 1), got ", confidence));
  }
  return absl::OkStatus();
}

absl::Status CheckCounts(int64_t successes, int64_t trials, const char* what) {
  if (successes < 0 || trials < 0 || successes > trials) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": need 0 <= successes <= trials, got ", successes, " of ", trials));
  }
  return absl::OkStatus();
}

// Φ⁻¹(1 - α/2) for confidence 1 - α: the two-sided critical value.
double NormalCritical(double confidence) {
  return boost::math::quantile(boost::math::complement(Normal(), (1.0 - confidence) / 2.0));
}

}  // namespace

absl::StatusOr<Interval> Wilson(int64_t successes, int64_t trials, double confidence) {
  if (auto s = CheckConfidence(confidence); !s.ok()) return s;
  if (auto s = CheckCounts(successes, trials, "Wilson"); !s.ok()) return s;
  if (trials == 0) return Interval{kNaN, 0.0, 1.0};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z = NormalCritical(confidence);
  const double z2 = z * z;
  const double denom = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
  // At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1); the subtraction would
  // leave a rounding residue of either sign there.
  const double lower = successes == 0 ? 0.0 : std::clamp(centre - half, 0.0, 1.0);
  const double upper = successes == trials ? 1.0 : std::clamp(centre + half, 0.0, 1.0);
  return Interval{p, lower, upper};
}

absl::StatusOr<ProportionTest> TwoProportionTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  if (auto s = CheckCounts(x1, n1, "TwoProportionTest (first)"); !s.ok()) return s;
  if (auto s = CheckCounts(x2, n2, "TwoProportionTest (second)"); !s.ok()) return s;
  if (n1 == 0 || n2 == 0) return ProportionTest{kNaN, kNaN, kNaN};
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double p2 = static_cast<double>(x2) / static_cast<double>(n2);
  // In 128 bits: counts from deserialized states may be anywhere in int64's range.
  const Int128 pooled_x = Int128{x1} + x2;
  const Int128 pooled_n = Int128{n1} + n2;
  if (pooled_x == 0 || pooled_x == pooled_n) return ProportionTest{0.0, 0.0, 1.0};
  const double pooled = static_cast<double>(pooled_x) / static_cast<double>(pooled_n);
  const double se = std::sqrt(pooled * (1.0 - pooled) *
                              (1.0 / static_cast<double>(n1) + 1.0 / static_cast<double>(n2)));
  const double difference = p2 - p1;
  const double z = difference / se;
  const double p_value = 2.0 * boost::math::cdf(boost::math::complement(Normal(), std::abs(z)));
  return ProportionTest{difference, z, p_value};
}

absl::StatusOr<Trend> TrendSlope(std::span<const double> y, double confidence) {
  if (auto s = CheckConfidence(confidence); !s.ok()) return s;
  int64_t n = 0;
  double sum_x = 0.0;
  double sum_y = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) continue;
    if (std::isinf(y[i])) {
      return absl::InvalidArgumentError(absl::StrCat("TrendSlope: value ", i, " is infinite"));
    }
    ++n;
    sum_x += static_cast<double>(i);
    sum_y += y[i];
  }
  if (n < 2) return Trend{kNaN, kNaN, kNaN, n};
  const double count = static_cast<double>(n);
  const double mean_x = sum_x / count;
  const double mean_y = sum_y / count;
  double sxx = 0.0;
  double sxy = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) continue;
    const double dx = static_cast<double>(i) - mean_x;
    sxx += dx * dx;
    sxy += dx * (y[i] - mean_y);
  }
  const double slope = sxy / sxx;
  if (n == 2) return Trend{slope, kNaN, kNaN, n};
  double ssr = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i])) continue;
    const double r = y[i] - mean_y - slope * (static_cast<double>(i) - mean_x);
    ssr += r * r;
  }
  const double df = count - 2.0;
  const double se = std::sqrt(ssr / df / sxx);
  const double t =
      boost::math::quantile(boost::math::complement(StudentT(df), (1.0 - confidence) / 2.0));
  return Trend{slope, slope - t * se, slope + t * se, n};
}

absl::StatusOr<std::optional<int64_t>> SurvivalCurve::Quantile(double q) const {
  if (!(q > 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("quantile must be in (0, 1], got ", q));
  }
  constexpr double kSlack = 1e-12;
  const double target = 1.0 - q + kSlack;
  // survival_ is non-increasing: the first value at or below the target.
  auto it = std::find_if(survival_.begin(), survival_.end(),
                         [target](double s) { return s <= target; });
  if (it == survival_.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(times_[static_cast<size_t>(it - survival_.begin())]);
}

absl::StatusOr<SurvivalCurve> KaplanMeier(std::span<const int64_t> durations,
                                          std::span<const uint8_t> observed) {
  if (durations.size() != observed.size()) {
    return absl::InvalidArgumentError(absl::StrCat("KaplanMeier: ", durations.size(),
                                                   " durations but ", observed.size(),
                                                   " observed flags"));
  }
  std::vector<std::pair<int64_t, uint8_t>> rows(durations.size());
  for (size_t i = 0; i < durations.size(); ++i) {
    if (durations[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("KaplanMeier: duration ", i, " is negative (", durations[i], ")"));
    }
    if (observed[i] > 1) {
      return absl::InvalidArgumentError(absl::StrCat("KaplanMeier: observed ", i,
                                                     " must be 0 or 1, got ", observed[i]));
    }
    rows[i] = {durations[i], observed[i]};
  }
  std::sort(rows.begin(), rows.end());
  SurvivalCurve curve;
  const auto total = static_cast<int64_t>(rows.size());
  int64_t done = 0;  // rows with a shorter duration: no longer at risk
  double survival = 1.0;
  size_t i = 0;
  while (i < rows.size()) {
    const int64_t t = rows[i].first;
    int64_t events = 0;
    size_t j = i;
    for (; j < rows.size() && rows[j].first == t; ++j) events += rows[j].second;
    const int64_t at_risk = total - done;  // includes those censored at t: events first
    if (events > 0) {
      // (n - d) / n as one division of exact integers rounds once per step.
      survival *= static_cast<double>(at_risk - events) / static_cast<double>(at_risk);
      curve.times_.push_back(t);
      curve.survival_.push_back(survival);
      curve.at_risk_.push_back(at_risk);
      curve.events_.push_back(events);
    }
    done += static_cast<int64_t>(j - i);
    i = j;
  }
  return curve;
}

absl::StatusOr<SurvivalCurve> KaplanMeierCounts(std::span<const int64_t> times,
                                                std::span<const int64_t> observed,
                                                std::span<const int64_t> censored) {
  if (times.size() != observed.size() || times.size() != censored.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KaplanMeierCounts: ", times.size(), " times but ", observed.size(),
        " observed counts and ", censored.size(), " censored counts"));
  }
  int64_t total = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    if (times[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("KaplanMeierCounts: time ", i, " is negative (", times[i], ")"));
    }
    if (i > 0 && times[i] <= times[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "KaplanMeierCounts: times must be strictly ascending, but time ", i, " (", times[i],
          ") follows ", times[i - 1]));
    }
    if (observed[i] < 0 || censored[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("KaplanMeierCounts: counts at time ", i,
                                                     " are negative (", observed[i], " observed, ",
                                                     censored[i], " censored)"));
    }
    if (__builtin_add_overflow(total, observed[i], &total) ||
        __builtin_add_overflow(total, censored[i], &total)) {
      return absl::InvalidArgumentError("KaplanMeierCounts: the total count overflows int64");
    }
  }
  // The loop of KaplanMeier over runs of equal times, with the runs given.
  SurvivalCurve curve;
  int64_t done = 0;  // counted at earlier times: no longer at risk
  double survival = 1.0;
  for (size_t i = 0; i < times.size(); ++i) {
    const int64_t events = observed[i];
    const int64_t at_risk = total - done;  // includes those censored at times[i]
    if (events > 0) {
      survival *= static_cast<double>(at_risk - events) / static_cast<double>(at_risk);
      curve.times_.push_back(times[i]);
      curve.survival_.push_back(survival);
      curve.at_risk_.push_back(at_risk);
      curve.events_.push_back(events);
    }
    done += events + censored[i];
  }
  return curve;
}

}  // namespace salesperf
