// Internal: what the empirical-Bayes code shares — the Boost.Math policy it computes
// with, and the one-dimensional search for a prior's concentration that maximises a
// marginal likelihood (the beta-binomial κ of leaks.cc, the gamma-Poisson α of
// deviants.cc). Not installed.
#ifndef SALESPERF_SRC_CONCENTRATION_H_
#define SALESPERF_SRC_CONCENTRATION_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "salesperf/leaks.h"

namespace salesperf::internal {

// Inputs are validated before Boost sees them; these policies only keep Boost from
// throwing should a corner slip through (the library reports errors as absl::Status
// only). Computing in double rather than long double (promote_double<false>) made the
// leak assessment 7x faster (bench/leaks_bench, BM_Assess/24: 22.0 ms -> 3.0 ms) at
// about 1e-15 relative error.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::promote_double<false>,
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;

// ln Γ(a + k) - ln Γ(a), for a > 0 and an integer k >= 0: a sum of logarithms for
// small k (exact, no cancellation), the lgamma difference for large k. The
// beta-binomial (leaks) and gamma-Poisson (deviants) marginal likelihoods are sums of it.
inline double LogRising(double a, int64_t k) {
  if (k <= 64) {
    double s = 0;
    for (int64_t i = 0; i < k; ++i) s += std::log(a + static_cast<double>(i));
    return s;
  }
  return boost::math::lgamma(a + static_cast<double>(k), NoThrow()) - boost::math::lgamma(a, NoThrow());
}

// The concentration c in [kMinConcentration, kMaxConcentration] that maximises
// log_likelihood(ln c): a coarse scan of 33 points on ln c brackets the maximum
// (guarding against a second mode), then golden-section search refines it to 1e-9 in
// ln c (1e-9 relative in c). A maximum at either end of the range returns that bound
// exactly.
template <typename LogLikelihood>
double MaximizeConcentration(const LogLikelihood& log_likelihood) {
  const double lo = std::log(kMinConcentration), hi = std::log(kMaxConcentration);
  constexpr int kGrid = 32;
  double best_t = lo, best_f = -std::numeric_limits<double>::infinity();
  int best_i = 0;
  std::vector<double> grid(kGrid + 1);
  for (int i = 0; i <= kGrid; ++i) {
    const double t = i == kGrid ? hi : lo + (hi - lo) * i / kGrid;
    const double f = log_likelihood(t);
    grid[static_cast<size_t>(i)] = t;
    if (f > best_f) {
      best_f = f;
      best_t = t;
      best_i = i;
    }
  }
  double a = grid[static_cast<size_t>(std::max(best_i - 1, 0))];
  double b = grid[static_cast<size_t>(std::min(best_i + 1, kGrid))];
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - inv_phi * (b - a), d = a + inv_phi * (b - a);
  double fc = log_likelihood(c), fd = log_likelihood(d);
  for (int it = 0; it < 200 && b - a > 1e-9; ++it) {
    if (fc >= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - inv_phi * (b - a);
      fc = log_likelihood(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + inv_phi * (b - a);
      fd = log_likelihood(d);
    }
    if (fc > best_f) {
      best_f = fc;
      best_t = c;
    }
    if (fd > best_f) {
      best_f = fd;
      best_t = d;
    }
  }
  if (best_t == lo) return kMinConcentration;
  if (best_t == hi) return kMaxConcentration;
  return std::clamp(std::exp(best_t), kMinConcentration, kMaxConcentration);
}

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_CONCENTRATION_H_
