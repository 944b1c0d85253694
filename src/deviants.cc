// Positive deviants: each unit's wins against those its deal mix predicts (a
// ridge-penalised logistic expectation model over every decided deal), shrunk by a
// gamma-Poisson empirical-Bayes prior. See salesperf/deviance.h, part 1.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "fit_checks.h"
#include "concentration.h"
#include "salesperf/deviance.h"
#include "salesperf/leaks.h"
#include "status_macros.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using internal::LogRising;
using internal::NoThrow;
using Gamma = boost::math::gamma_distribution<double, NoThrow>;

absl::Status CheckOptions(const DeviantOptions& op) {
  if (!(op.ridge >= 0.0 && std::isfinite(op.ridge))) {
    return absl::InvalidArgumentError(absl::StrCat("ridge must be finite and >= 0, got ", op.ridge));
  }
  if (!(op.interval > 0.0 && op.interval < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("interval must be in (0, 1), got ", op.interval));
  }
  if (!(op.flag_probability > 0.5 && op.flag_probability < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag_probability must be in (0.5, 1), got ", op.flag_probability));
  }
  if (!(op.min_effect >= 0.0 && std::isfinite(op.min_effect))) {
    return absl::InvalidArgumentError(absl::StrCat("min_effect must be finite and >= 0, got ", op.min_effect));
  }
  return absl::OkStatus();
}



// The negative-binomial marginal log-likelihood at α = exp(t) (constant terms left out).
double NbLogLikelihood(std::span<const int64_t> o, std::span<const double> e, double t) {
  const double a = std::exp(t);
  double f = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    f += LogRising(a, o[i]) + a * std::log(a / (a + e[i]));
    if (o[i] > 0) f += static_cast<double>(o[i]) * std::log(e[i] / (a + e[i]));
  }
  return f;
}

// α maximising the marginal likelihood over [kMinConcentration, kMaxConcentration]
// (src/concentration.h: the search leaks.cc's κ uses).
double FitConcentration(std::span<const int64_t> o, std::span<const double> e) {
  return internal::MaximizeConcentration([&](double t) { return NbLogLikelihood(o, e, t); });
}

double Expit(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

absl::StatusOr<DeviantAssessment> AssessDeviants(const EventLog& log, const Timelines& tl, const Units& units,
                                                 const DeviantOptions& options) {
  SALESPERF_RETURN_IF_ERROR(CheckOptions(options));
  SALESPERF_RETURN_IF_ERROR(internal::CheckTimelinesAndUnitsFit(log, tl, units));
  const auto nd = static_cast<size_t>(log.num_deals());
  const size_t U = units.names.size();
  const auto O = static_cast<size_t>(tl.num_open);
  const size_t S = tl.stage_names.size();

  // The covariates' columns.
  std::vector<const DimensionColumn*> cov;
  for (size_t i = 0; i < options.covariates.size(); ++i) {
    const std::string& name = options.covariates[i];
    for (size_t j = 0; j < i; ++j) {
      if (options.covariates[j] == name) {
        return absl::InvalidArgumentError(absl::StrCat("covariates: '", Sv(name), "' is named twice"));
      }
    }
    const DimensionColumn* found = nullptr;
    for (const DimensionColumn& c : log.dimensions()) {
      if (c.name == name) found = &c;
    }
    if (found == nullptr) {
      std::string have;
      for (const DimensionColumn& c : log.dimensions()) absl::StrAppend(&have, have.empty() ? "" : ", ", Sv(c.name));
      return absl::NotFoundError(absl::StrCat("covariates: the log has no dimension column '", Sv(name),
                                              "' (it has: ", have.empty() ? "none" : have, ")"));
    }
    cov.push_back(found);
  }
  const size_t C = cov.size();

  // Decided deals, their outcome and their covariate levels. A level is the dimension
  // code; "(none)" (every event null) is the code dictionary.size(), after the others.
  std::vector<uint8_t> decided(nd, 0), won(nd, 0);
  std::vector<int32_t> level(nd * C, 0);
  const auto offsets = log.deal_offsets();
  int64_t total = 0, total_won = 0;
  for (size_t d = 0; d < nd; ++d) {
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    if (outcome != Outcome::kWon && outcome != Outcome::kLost && outcome != Outcome::kStalled) continue;
    const int64_t* fe = tl.first_entered.data() + d * S;
    bool entered = false;
    for (size_t k = 0; k < O && !entered; ++k) entered = fe[k] != kNullInstant;
    if (!entered) continue;
    decided[d] = 1;
    won[d] = outcome == Outcome::kWon ? 1 : 0;
    ++total;
    total_won += won[d];
    for (size_t c = 0; c < C; ++c) {
      const auto& codes = cov[c]->codes;
      int32_t v = cov[c]->dictionary.size();
      for (auto i = offsets[d]; i < offsets[d + 1]; ++i) {
        if (codes[static_cast<size_t>(i)] != kNullCode) {
          v = codes[static_cast<size_t>(i)];
          break;
        }
      }
      level[d * C + c] = v;
    }
  }
  if (total == 0) {
    return absl::FailedPreconditionError(
        "no deal is decided (won, lost or stalled after entering an open stage): nothing to assess");
  }

  DeviantAssessment out;
  out.unit_names = units.names;
  out.decided_deals = total;

  // Design: per covariate, the levels present among decided deals; the reference is
  // the most frequent (ties: the lowest code); the others get a column, in code order.
  std::vector<std::vector<int32_t>> column_of(C);  // per covariate, per level: column (-1: reference)
  out.coefficient_names.push_back("(intercept)");
  size_t P = 1;
  for (size_t c = 0; c < C; ++c) {
    const auto L = static_cast<size_t>(cov[c]->dictionary.size()) + 1;
    std::vector<int64_t> count(L, 0);
    for (size_t d = 0; d < nd; ++d) {
      if (decided[d]) ++count[static_cast<size_t>(level[d * C + c])];
    }
    size_t ref = 0;
    for (size_t l = 1; l < L; ++l) {
      if (count[l] > count[ref]) ref = l;
    }
    auto label = [&](size_t l) {
      return l + 1 == L ? std::string(kNoUnitName) : cov[c]->dictionary.Label(static_cast<int32_t>(l));
    };
    out.reference_levels.push_back(label(ref));
    column_of[c].assign(L, -1);
    for (size_t l = 0; l < L; ++l) {
      if (l == ref || count[l] == 0) continue;
      column_of[c][l] = static_cast<int32_t>(P++);
      out.coefficient_names.push_back(absl::StrCat(Sv(cov[c]->name), "=", Sv(label(l))));
    }
  }

  // Deals with the same covariate levels share x: fit on the distinct patterns.
  std::map<std::vector<int32_t>, size_t> pattern_index;
  std::vector<std::vector<int32_t>> pattern_cols;  // active non-intercept columns
  std::vector<double> pn, py;                       // deals and wins per pattern
  std::vector<int32_t> pattern_of(nd, -1);
  std::vector<int32_t> key(C);
  for (size_t d = 0; d < nd; ++d) {
    if (!decided[d]) continue;
    for (size_t c = 0; c < C; ++c) key[c] = level[d * C + c];
    auto [it, added] = pattern_index.try_emplace(key, pattern_cols.size());
    if (added) {
      std::vector<int32_t> cols;
      for (size_t c = 0; c < C; ++c) {
        const int32_t j = column_of[c][static_cast<size_t>(key[c])];
        if (j >= 0) cols.push_back(j);
      }
      pattern_cols.push_back(std::move(cols));
      pn.push_back(0);
      py.push_back(0);
    }
    pattern_of[d] = static_cast<int32_t>(it->second);
    pn[it->second] += 1;
    py[it->second] += won[d];
  }
  const size_t NP = pattern_cols.size();

  Eigen::VectorXd beta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(P));
  std::vector<double> p_of(NP);
  const double mean_y = static_cast<double>(total_won) / static_cast<double>(total);
  if (total_won == 0 || total_won == total) {
    // Every decided deal had the same outcome: the fit's limit is p = mean y for every
    // deal (intercept ±∞, covariates 0).
    beta[0] = total_won == 0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    std::fill(p_of.begin(), p_of.end(), mean_y);
  } else {
    beta[0] = std::log(mean_y / (1.0 - mean_y));
    const auto PI = static_cast<Eigen::Index>(P);
    bool converged = false;
    for (int it = 0; it < 100 && !converged; ++it) {
      Eigen::VectorXd grad = Eigen::VectorXd::Zero(PI);
      Eigen::MatrixXd hess = Eigen::MatrixXd::Zero(PI, PI);
      for (size_t q = 0; q < NP; ++q) {
        double eta = beta[0];
        for (int32_t j : pattern_cols[q]) eta += beta[j];
        const double p = Expit(eta);
        const double r = py[q] - pn[q] * p, w = pn[q] * p * (1.0 - p);
        grad[0] += r;
        hess(0, 0) += w;
        for (int32_t j : pattern_cols[q]) {
          grad[j] += r;
          hess(0, j) += w;
          hess(j, 0) += w;
          for (int32_t k : pattern_cols[q]) hess(j, k) += w;
        }
      }
      for (Eigen::Index j = 1; j < PI; ++j) {
        grad[j] -= options.ridge * beta[j];
        hess(j, j) += options.ridge;
      }
      Eigen::LDLT<Eigen::MatrixXd> ldlt(hess);
      if (ldlt.info() != Eigen::Success) break;
      const Eigen::VectorXd step = ldlt.solve(grad);
      if (!step.allFinite()) break;
      beta += step;
      converged = step.cwiseAbs().maxCoeff() < 1e-10;
    }
    if (!converged || !beta.allFinite()) {
      return absl::InternalError(
          "the expectation model did not converge in 100 Newton steps (with ridge = 0, a covariate level whose "
          "deals were all won or all lost, or covariates that determine each other, have no finite fit: use a "
          "ridge > 0 or fewer covariates)");
    }
    for (size_t q = 0; q < NP; ++q) {
      double eta = beta[0];
      for (int32_t j : pattern_cols[q]) eta += beta[j];
      p_of[q] = Expit(eta);
    }
  }
  out.coefficients.assign(beta.data(), beta.data() + beta.size());

  // Deal values: a missing value counts at the mean of the decided deals' values.
  double value_sum = 0;
  int64_t valued = 0;
  for (size_t d = 0; d < nd; ++d) {
    if (decided[d] && !std::isnan(tl.value[d])) {
      value_sum += tl.value[d];
      ++valued;
    }
  }
  const double mean_value = valued > 0 ? value_sum / static_cast<double>(valued) : kNaN;

  out.decided.assign(U, 0);
  out.won.assign(U, 0);
  out.expected.assign(U, 0.0);
  out.won_value.assign(U, 0.0);
  out.expected_value.assign(U, 0.0);
  out.deal_probability.assign(nd, kNaN);
  for (size_t d = 0; d < nd; ++d) {
    if (!decided[d]) continue;
    const auto u = static_cast<size_t>(units.of_deal[d]);
    const double p = p_of[static_cast<size_t>(pattern_of[d])];
    const double v = std::isnan(tl.value[d]) ? mean_value : tl.value[d];
    out.deal_probability[d] = p;
    ++out.decided[u];
    out.won[u] += won[d];
    out.expected[u] += p;
    if (won[d]) out.won_value[u] += v;
    out.expected_value[u] += p * v;
  }
  out.ratio.resize(U);
  out.excess_value.resize(U);
  for (size_t u = 0; u < U; ++u) {
    out.ratio[u] = out.expected[u] > 0 ? static_cast<double>(out.won[u]) / out.expected[u] : kNaN;
    out.excess_value[u] = out.won_value[u] - out.expected_value[u];
  }

  // The gamma-Poisson prior.
  std::vector<int64_t> fit_o;
  std::vector<double> fit_e;
  for (size_t u = 0; u < U; ++u) {
    if (out.expected[u] > 0) {
      fit_o.push_back(out.won[u]);
      fit_e.push_back(out.expected[u]);
    }
  }
  const double alpha = fit_o.size() >= 2 ? FitConcentration(fit_o, fit_e) : 0.0;
  out.concentration = alpha;
  out.ratio_shrunk.assign(U, kNaN);
  out.ratio_lower.assign(U, kNaN);
  out.ratio_upper.assign(U, kNaN);
  out.probability_above.assign(U, kNaN);
  out.probability_below.assign(U, kNaN);
  out.deviant.assign(U, 0);
  const double lo_q = (1.0 - options.interval) / 2.0, hi_q = (1.0 + options.interval) / 2.0;
  for (size_t u = 0; u < U; ++u) {
    const double e = out.expected[u];
    if (!(e > 0)) continue;
    const auto o = static_cast<double>(out.won[u]);
    const double shape = alpha > 0 ? alpha + o : o + 0.5;
    const double rate = alpha > 0 ? alpha + e : e;
    out.ratio_shrunk[u] = (alpha + o) / (alpha + e);
    const Gamma g(shape, 1.0 / rate);
    out.ratio_lower[u] = boost::math::quantile(g, lo_q);
    out.ratio_upper[u] = boost::math::quantile(g, hi_q);
    // P(θ < 1) = P(shape, rate): the regularized incomplete gamma functions.
    out.probability_below[u] = boost::math::gamma_p(shape, rate, NoThrow());
    out.probability_above[u] = boost::math::gamma_q(shape, rate, NoThrow());
    const double r = out.ratio_shrunk[u];
    if (out.probability_above[u] >= options.flag_probability && r >= 1.0 + options.min_effect) {
      out.deviant[u] = 1;
    } else if (out.probability_below[u] >= options.flag_probability && r <= 1.0 - options.min_effect) {
      out.deviant[u] = -1;
    }
  }
  std::vector<size_t> order(U);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double x = out.ratio_shrunk[a], y = out.ratio_shrunk[b];
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return x > y;
  });
  out.rank.assign(U, 0);
  for (size_t i = 0; i < U; ++i) out.rank[order[i]] = static_cast<int32_t>(i + 1);
  return out;
}

}  // namespace salesperf
