// Working backwards from the number: the plan of salesperf/targets.h. The definitions
// are in the header; this file only implements them. The fates and trials per unit and
// stage come from CountLeaks, the concentration from BetaBinomialConcentration.
#include "salesperf/targets.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "fit_checks.h"
#include "salesperf/leaks.h"
#include "status_macros.h"

#include "splitmix.h"

namespace salesperf {

namespace {

using internal::Sv;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kWeek = Days(7);
constexpr double kNanosPerDay = 86'400e9;

// ---- Random numbers: the shared SplitMix64 (splitmix.h), with the distributions
// written out (never std:: distributions, whose output differs between standard
// libraries), as in synth.cc.

using internal::Mix;

class Random {
 public:
  explicit Random(uint64_t seed) : bits_(seed) {}
  uint64_t Next() { return bits_.Next(); }
  // In the open interval (0, 1), so that logarithms and powers stay finite.
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  double Normal() {  // Box-Muller, one value per call
    const double u1 = Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // ln of a Gamma(a, 1) draw (Marsaglia & Tsang 2000; for a < 1 the boost
  // Ga(a) = Ga(a + 1) U^(1/a), kept in logs so that tiny shapes do not underflow).
  double LogGamma(double a) {
    if (a < 1.0) return LogGamma(a + 1.0) + std::log(Uniform()) / a;
    const double d = a - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0, v = 0;
      do {
        x = Normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = Uniform();
      const double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) {
        return std::log(d * v);
      }
    }
  }
  // Ga(a) / (Ga(a) + Ga(b)) = 1 / (1 + exp(ln Ga(b) - ln Ga(a))).
  double Beta(double a, double b) {
    const double la = LogGamma(a);
    const double lb = LogGamma(b);
    return 1.0 / (1.0 + std::exp(lb - la));
  }

 private:
  internal::SplitMix64 bits_;
};

// numpy's default quantile (linear interpolation) of sorted values.
double SortedQuantile(const std::vector<double>& v, double q) {
  if (v.empty()) return kNan;
  const double h = static_cast<double>(v.size() - 1) * q;
  const auto lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v.back();
  if (v[lo] == v[lo + 1]) return v[lo];
  return v[lo] + (h - static_cast<double>(lo)) * (v[lo + 1] - v[lo]);
}

double Median(std::vector<double> v) {
  for (double x : v) {
    if (std::isnan(x)) return kNan;
  }
  std::sort(v.begin(), v.end());
  return SortedQuantile(v, 0.5);
}

// The figures of the history, per unit (Units index) and open stage.
struct Figures {
  int32_t num_units = 0, num_open = 0;
  std::vector<double> alpha, beta, rate;           // U x O: the rate posterior, its mean
  std::vector<double> value, value_se;             // U
  std::vector<double> lag_ns;                      // U x O (double ns; NaN: none)
  std::vector<double> run_rate, occurrences;       // U x O
  double lookback_weeks = 0;
  size_t At(int32_t u, int32_t k) const {
    return static_cast<size_t>(u) * static_cast<size_t>(num_open) + static_cast<size_t>(k);
  }
};


// The window [as_of - lookback, as_of), saturating at the smallest instant.
int64_t WindowStart(int64_t as_of, int64_t lookback) {
  int64_t lo = 0;
  if (__builtin_sub_overflow(as_of, lookback, &lo)) return std::numeric_limits<int64_t>::min() + 1;
  return lo;
}

absl::StatusOr<Figures> ComputeFigures(const EventLog& log, const Timelines& tl, const Units& units,
                                       RateSource rates, int64_t lookback, int64_t min_won,
                                       const StageMachine* machine) {
  SALESPERF_RETURN_IF_ERROR(internal::CheckTimelinesAndUnitsFit(log, tl, units));
  absl::StatusOr<LeakCounts> counts = CountLeaks(log, tl, units);
  if (!counts.ok()) return counts.status();

  Figures f;
  const auto U = static_cast<int32_t>(units.names.size());
  const int32_t O = tl.num_open;
  f.num_units = U;
  f.num_open = O;
  const size_t UO = static_cast<size_t>(U) * static_cast<size_t>(O);
  const size_t S = tl.stage_names.size();

  // Advanced and trials per Units unit (LeakCounts keeps its units sorted by name, and
  // only those holding a deal).
  std::unordered_map<std::string, int32_t> in_counts;
  for (int32_t i = 0; i < counts->num_units(); ++i) in_counts.emplace(counts->unit_names()[static_cast<size_t>(i)], i);
  std::vector<int64_t> x(UO, 0), n(UO, 0);
  for (int32_t u = 0; u < U; ++u) {
    const auto it = in_counts.find(units.names[static_cast<size_t>(u)]);
    if (it == in_counts.end()) continue;
    const int32_t c = it->second;
    for (int32_t k = 0; k < O; ++k) {
      int64_t lost = 0;
      for (int32_t r = 0; r < counts->num_reasons(); ++r) lost += counts->lost(c, Cohort::kCurrent, k, r);
      x[f.At(u, k)] = counts->advanced(c, Cohort::kCurrent, k);
      n[f.At(u, k)] = x[f.At(u, k)] + lost + counts->stalled(c, Cohort::kCurrent, k);
    }
  }

  // The rate posteriors.
  f.alpha.assign(UO, kNan);
  f.beta.assign(UO, kNan);
  f.rate.assign(UO, kNan);
  std::vector<int64_t> xs(static_cast<size_t>(U)), ns(static_cast<size_t>(U));
  for (int32_t k = 0; k < O; ++k) {
    int64_t sx = 0, sn = 0;
    for (int32_t u = 0; u < U; ++u) {
      xs[static_cast<size_t>(u)] = x[f.At(u, k)];
      ns[static_cast<size_t>(u)] = n[f.At(u, k)];
      sx += x[f.At(u, k)];
      sn += n[f.At(u, k)];
    }
    double kappa = 0;
    const double m = sn > 0 ? static_cast<double>(sx) / static_cast<double>(sn) : kNan;
    if (rates == RateSource::kUnit) {
      absl::StatusOr<double> kk = BetaBinomialConcentration(xs, ns);
      if (!kk.ok()) return kk.status();
      kappa = *kk;
    }
    for (int32_t u = 0; u < U; ++u) {
      const size_t i = f.At(u, k);
      double a = 0, b = 0;
      if (rates == RateSource::kOrganisation) {
        a = static_cast<double>(sx) + 0.5;
        b = static_cast<double>(sn - sx) + 0.5;
      } else if (kappa > 0) {
        a = static_cast<double>(x[i]) + kappa * m;
        b = static_cast<double>(n[i] - x[i]) + kappa * (1.0 - m);
      } else {
        a = static_cast<double>(x[i]) + 0.5;
        b = static_cast<double>(n[i] - x[i]) + 0.5;
      }
      f.alpha[i] = a;
      f.beta[i] = b;
      f.rate[i] = a / (a + b);
    }
  }

  // Values and lags of the won deals.
  const auto nd = static_cast<size_t>(log.num_deals());
  std::vector<std::vector<double>> values(static_cast<size_t>(U));
  std::vector<double> org_values;
  std::vector<std::vector<double>> lags(UO);
  std::vector<std::vector<double>> org_lags(static_cast<size_t>(O));
  for (size_t d = 0; d < nd; ++d) {
    if (static_cast<Outcome>(tl.outcome[d]) != Outcome::kWon) continue;
    const auto u = static_cast<size_t>(units.of_deal[d]);
    const double v = tl.value[d];
    if (!std::isnan(v)) {
      values[u].push_back(v);
      org_values.push_back(v);
    }
    const int64_t won_at = tl.outcome_time[d];
    if (won_at == kNullInstant) continue;
    for (int32_t k = 0; k < O; ++k) {
      const int64_t fe = tl.first_entered[d * S + static_cast<size_t>(k)];
      if (fe == kNullInstant) continue;
      const double lag = static_cast<double>(won_at) - static_cast<double>(fe);
      lags[u * static_cast<size_t>(O) + static_cast<size_t>(k)].push_back(lag);
      org_lags[static_cast<size_t>(k)].push_back(lag);
    }
  }
  auto mean_se = [](const std::vector<double>& v) -> std::pair<double, double> {
    if (v.empty()) return {kNan, kNan};
    double mean = 0, m2 = 0;  // Welford
    for (size_t i = 0; i < v.size(); ++i) {
      const double delta = v[i] - mean;
      mean += delta / static_cast<double>(i + 1);
      m2 += delta * (v[i] - mean);
    }
    if (v.size() < 2) return {mean, kNan};
    const double sd = std::sqrt(m2 / static_cast<double>(v.size() - 1));
    return {mean, sd / std::sqrt(static_cast<double>(v.size()))};
  };
  const auto [org_value, org_se] = mean_se(org_values);
  f.value.assign(static_cast<size_t>(U), org_value);
  f.value_se.assign(static_cast<size_t>(U), org_se);
  for (int32_t u = 0; u < U; ++u) {
    const auto& v = values[static_cast<size_t>(u)];
    if (static_cast<int64_t>(v.size()) < min_won) continue;
    std::tie(f.value[static_cast<size_t>(u)], f.value_se[static_cast<size_t>(u)]) = mean_se(v);
  }
  f.lag_ns.assign(UO, kNan);
  for (int32_t k = 0; k < O; ++k) {
    const double org_lag = Median(org_lags[static_cast<size_t>(k)]);
    for (int32_t u = 0; u < U; ++u) {
      const auto& v = lags[f.At(u, k)];
      f.lag_ns[f.At(u, k)] = static_cast<int64_t>(v.size()) < min_won ? org_lag : Median(v);
    }
  }

  // Run rates and leading-indicator occurrences in [as_of - lookback, as_of).
  const int64_t from = WindowStart(tl.as_of, lookback);
  const int64_t to = tl.as_of;
  auto in_window = [&](int64_t t) { return t != kNullInstant && t >= from && t < to; };
  std::vector<int64_t> entered(UO, 0);
  for (size_t d = 0; d < nd; ++d) {
    const auto u = units.of_deal[d];
    for (int32_t k = 0; k < O; ++k) {
      if (in_window(tl.first_entered[d * S + static_cast<size_t>(k)])) ++entered[f.At(u, k)];
    }
  }
  f.lookback_weeks = static_cast<double>(lookback) / static_cast<double>(kWeek);
  f.run_rate.assign(UO, 0.0);
  for (size_t i = 0; i < UO; ++i) f.run_rate[i] = static_cast<double>(entered[i]) / f.lookback_weeks;

  f.occurrences.assign(UO, kNan);
  if (machine != nullptr) {
    const int32_t A = log.actions().size();
    if (machine->stage_names != tl.stage_names || machine->num_open != O) {
      return absl::FailedPreconditionError("the machine's stages differ from the timelines'");
    }
    if (machine->rule_offsets.size() != static_cast<size_t>(A) + 1 ||
        machine->rule_group.size() != machine->rules.size()) {
      return absl::FailedPreconditionError("the machine was not compiled against this log (action counts differ)");
    }
    // The stages whose entry rules name each action.
    std::vector<std::vector<int32_t>> stages_of(static_cast<size_t>(A));
    for (size_t r = 0; r < machine->rules.size(); ++r) {
      if (machine->rule_group[r] != 0) continue;
      const int32_t k = machine->rules[r].target;
      if (k < 0 || k >= O) continue;
      for (const CompiledFilter& filter : machine->rules[r].filters) {
        for (int32_t a : filter.actions) {
          if (a < 0 || a >= A) {
            return absl::FailedPreconditionError(
                absl::StrCat("the machine names action code ", a, ", beyond the log's ", A, " actions"));
          }
          auto& list = stages_of[static_cast<size_t>(a)];
          if (std::find(list.begin(), list.end(), k) == list.end()) list.push_back(k);
        }
      }
    }
    std::vector<int64_t> occurred(UO, 0);
    const auto deal = log.deal();
    const auto time = log.time();
    const auto action = log.action();
    for (size_t e = 0; e < time.size(); ++e) {
      if (!in_window(time[e])) continue;
      const auto& list = stages_of[static_cast<size_t>(action[e])];
      if (list.empty()) continue;
      const int32_t u = units.of_deal[static_cast<size_t>(deal[e])];
      for (int32_t k : list) ++occurred[f.At(u, k)];
    }
    for (size_t i = 0; i < UO; ++i) {
      f.occurrences[i] =
          entered[i] == 0 ? 1.0 : static_cast<double>(occurred[i]) / static_cast<double>(entered[i]);
    }
  }
  return f;
}

absl::Status CheckLookback(int64_t lookback, int64_t min_won) {
  if (lookback <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("lookback must be positive, got ", lookback, " ns"));
  }
  if (min_won < 1) return absl::InvalidArgumentError(absl::StrCat("min_won must be at least 1, got ", min_won));
  return absl::OkStatus();
}

// t - lag, kNullInstant when it leaves the int64 range (a lag can be negative for a deal
// that entered a stage again after a win and a reopening).
int64_t Shift(int64_t t, int64_t lag) {
  int64_t out = 0;
  if (__builtin_sub_overflow(t, lag, &out) || out == kNullInstant) return kNullInstant;
  return out;
}

// win_k = Π_{j>=k} rate_j for every k, into `win` (size O).
void WinProbabilities(const double* rate, int32_t O, double* win) {
  double w = 1.0;
  for (int32_t k = O - 1; k >= 0; --k) {
    w *= rate[k];
    win[k] = w;
  }
}

}  // namespace

absl::StatusOr<std::vector<double>> BetaDraws(double a, double b, int64_t n, uint64_t seed) {
  if (!(a > 0 && std::isfinite(a)) || !(b > 0 && std::isfinite(b))) {
    return absl::InvalidArgumentError(absl::StrCat("Beta(a, b) needs positive finite a and b, got ", a, ", ", b));
  }
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("n must be non-negative, got ", n));
  Random rng(seed);
  std::vector<double> out(static_cast<size_t>(n));
  for (double& v : out) v = rng.Beta(a, b);
  return out;
}

absl::StatusOr<TargetPlan> PlanTargets(const EventLog& log, const Timelines& timelines, const Units& units,
                                       const TargetOptions& o, const StageMachine* machine) {
  if (o.period_start == kNullInstant) return absl::InvalidArgumentError("period_start is required");
  if (o.period_end == kNullInstant) return absl::InvalidArgumentError("period_end is required");
  if (o.period_end <= o.period_start) {
    return absl::InvalidArgumentError(absl::StrCat("period_end (", o.period_end, ") must be after period_start (",
                                                   o.period_start, ")"));
  }
  if (static_cast<uint8_t>(o.rates) > static_cast<uint8_t>(RateSource::kOrganisation)) {
    return absl::InvalidArgumentError(absl::StrCat("rates ", static_cast<int>(o.rates), " is not a RateSource"));
  }
  SALESPERF_RETURN_IF_ERROR(CheckLookback(o.lookback, o.min_won));
  if (o.draws < 100 || o.draws > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat("draws must be in [100, 1000000], got ", o.draws));
  }
  if (!(o.interval > 0.0 && o.interval < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("interval must be in (0, 1), got ", o.interval));
  }
  std::unordered_map<std::string, int32_t> unit_of;
  for (size_t u = 0; u < units.names.size(); ++u) unit_of.emplace(units.names[u], static_cast<int32_t>(u));
  std::vector<double> target(units.names.size(), kNan);
  for (const auto& [name, dollars] : o.targets) {
    const auto it = unit_of.find(name);
    if (it == unit_of.end()) {
      return absl::InvalidArgumentError(absl::StrCat("targets: the units (by '", Sv(units.kind),
                                                     "') have no unit '", Sv(name), "'"));
    }
    if (!(std::isfinite(dollars) && dollars > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("targets: unit '", Sv(name), "' has the target ", dollars, "; it must be positive and finite"));
    }
    double& t = target[static_cast<size_t>(it->second)];
    if (!std::isnan(t)) {
      return absl::InvalidArgumentError(absl::StrCat("targets: unit '", Sv(name), "' has more than one target"));
    }
    t = dollars;
  }

  absl::StatusOr<Figures> fig = ComputeFigures(log, timelines, units, o.rates, o.lookback, o.min_won, machine);
  if (!fig.ok()) return fig.status();
  const Figures& f = *fig;
  const int32_t O = f.num_open;

  TargetPlan plan;
  plan.stage_names = timelines.stage_names;
  plan.num_open = O;
  plan.unit_names = units.names;
  plan.weeks = (static_cast<double>(o.period_end) - static_cast<double>(o.period_start)) / static_cast<double>(kWeek);
  const double W = plan.weeks;
  const double q_lo = (1.0 - o.interval) / 2.0;
  const double q_hi = (1.0 + o.interval) / 2.0;
  TargetRows& r = plan.rows;

  const auto Ou = static_cast<size_t>(O);
  std::vector<double> win(Ou), draw_rate(Ou), draw_win(Ou);
  std::vector<std::vector<double>> draws(Ou, std::vector<double>(static_cast<size_t>(o.draws)));
  for (int32_t u = 0; u < f.num_units; ++u) {
    const double T = target[static_cast<size_t>(u)];
    if (std::isnan(T)) continue;
    const double value = f.value[static_cast<size_t>(u)];
    const double se = f.value_se[static_cast<size_t>(u)];
    const bool value_ok = std::isfinite(value) && value > 0;
    const double wins_needed = value_ok ? T / value : kNan;
    const double* rate = f.rate.data() + f.At(u, 0);
    WinProbabilities(rate, O, win.data());

    // The Monte Carlo: the unit's own stream.
    Random rng(o.seed ^ Mix(static_cast<uint64_t>(u) + 1));
    for (int32_t i = 0; i < o.draws; ++i) {
      for (int32_t k = 0; k < O; ++k) draw_rate[static_cast<size_t>(k)] = rng.Beta(f.alpha[f.At(u, k)], f.beta[f.At(u, k)]);
      const double z = rng.Normal();
      double v = value;
      if (std::isfinite(se)) v = std::max(value + se * z, 0.01 * value);
      WinProbabilities(draw_rate.data(), O, draw_win.data());
      for (size_t k = 0; k < Ou; ++k) draws[k][static_cast<size_t>(i)] = T / v / draw_win[k] / W;
    }

    for (int32_t k = 0; k < O; ++k) {
      const size_t i = f.At(u, k);
      const auto ks = static_cast<size_t>(k);
      const bool ok = value_ok && win[ks] > 0 && std::isfinite(win[ks]);
      const double entries_needed = ok ? wins_needed / win[ks] : kNan;
      const double per_week = entries_needed / W;
      double lower = kNan, upper = kNan;
      if (ok) {
        std::vector<double>& d = draws[ks];
        std::sort(d.begin(), d.end());
        lower = SortedQuantile(d, q_lo);
        upper = SortedQuantile(d, q_hi);
      }
      const double lag = f.lag_ns[i];
      const bool lag_ok = std::isfinite(lag) && std::fabs(lag) < 9e18;
      const auto lag_ns = lag_ok ? static_cast<int64_t>(std::llround(lag)) : int64_t{0};
      r.unit.push_back(u);
      r.stage.push_back(k);
      r.target.push_back(T);
      r.value.push_back(value);
      r.value_se.push_back(se);
      r.wins_needed.push_back(wins_needed);
      r.rate.push_back(rate[k]);
      r.win_probability.push_back(win[ks]);
      r.lag_days.push_back(lag / kNanosPerDay);
      r.entries_needed.push_back(entries_needed);
      r.entries_per_week.push_back(per_week);
      r.entries_lower.push_back(lower);
      r.entries_upper.push_back(upper);
      r.occurrences_per_entry.push_back(f.occurrences[i]);
      r.occurrences_per_week.push_back(per_week * f.occurrences[i]);
      r.needed_from.push_back(lag_ok ? Shift(o.period_start, lag_ns) : kNullInstant);
      r.needed_to.push_back(lag_ok ? Shift(o.period_end, lag_ns) : kNullInstant);
      r.run_rate.push_back(f.run_rate[i]);
      r.gap_per_week.push_back(per_week - f.run_rate[i]);
    }
  }
  return plan;
}

absl::StatusOr<WhatIf> WhatIfRevenue(const EventLog& log, const Timelines& timelines, const Units& units,
                                     const WhatIfOptions& o) {
  if (!(std::isfinite(o.horizon_weeks) && o.horizon_weeks > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("horizon_weeks must be positive and finite, got ", o.horizon_weeks));
  }
  if (o.add_reps < 0) return absl::InvalidArgumentError(absl::StrCat("add_reps must be >= 0, got ", o.add_reps));
  if (!(std::isfinite(o.ramp_weeks) && o.ramp_weeks >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("ramp_weeks must be >= 0 and finite, got ", o.ramp_weeks));
  }
  if (o.stage < 0 || o.stage >= timelines.num_open) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage must be an open stage in [0, ", timelines.num_open, "), got ", o.stage));
  }
  if (!(std::isfinite(o.raise) && o.raise > -1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("raise must be finite and > -1, got ", o.raise));
  }
  SALESPERF_RETURN_IF_ERROR(CheckLookback(o.lookback, o.min_won));
  absl::StatusOr<Figures> fig =
      ComputeFigures(log, timelines, units, RateSource::kUnit, o.lookback, o.min_won, nullptr);
  if (!fig.ok()) return fig.status();
  const Figures& f = *fig;
  const int32_t O = f.num_open;
  const double H = o.horizon_weeks;

  WhatIf out;
  std::vector<double> weekly(static_cast<size_t>(f.num_units));
  std::vector<double> win(static_cast<size_t>(O)), raised(static_cast<size_t>(O));
  double base = 0, extra = 0;
  for (int32_t u = 0; u < f.num_units; ++u) {
    const double* rate = f.rate.data() + f.At(u, 0);
    WinProbabilities(rate, O, win.data());
    std::copy(rate, rate + O, raised.begin());
    raised[static_cast<size_t>(o.stage)] = std::min(1.0, raised[static_cast<size_t>(o.stage)] * (1.0 + o.raise));
    double raised_win0 = 1.0;
    for (double x : raised) raised_win0 *= x;
    const double flow = f.run_rate[f.At(u, 0)] * f.value[static_cast<size_t>(u)];
    weekly[static_cast<size_t>(u)] = flow * win[0];
    base += weekly[static_cast<size_t>(u)];
    extra += flow * (raised_win0 - win[0]);
  }
  out.baseline_revenue = base * H;
  out.raise_stage_revenue = extra * H;
  out.median_unit_weekly = Median(weekly);
  // Σ_{t=1..⌊H⌋} min(1, t / R), plus the last part-week.
  const double R = o.ramp_weeks;
  const double full = std::floor(H);
  double ramp = 0;
  if (R == 0) {
    ramp = H;
  } else {
    const double m = std::min(full, std::floor(R));
    ramp = m * (m + 1.0) / (2.0 * R) + (full - m) + (H - full) * std::min(1.0, (full + 1.0) / R);
  }
  out.add_reps_revenue = static_cast<double>(o.add_reps) * out.median_unit_weekly * ramp;
  return out;
}

}  // namespace salesperf
