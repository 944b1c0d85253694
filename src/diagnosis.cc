// Skill, will and the metrics: for each unit, does it know how (conversion against
// its deal mix), want to (activity volume against its peers) and understand the
// metrics (adoption of the practices that move buyers). See salesperf/deviance.h,
// part 3.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <boost/math/distributions/chi_squared.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"
#include "concentration.h"
#include "salesperf/deviance.h"
#include "status_macros.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kWeek = 7LL * 86'400'000'000'000LL;

using internal::NoThrow;
using ChiSquared = boost::math::chi_squared_distribution<double, NoThrow>;

absl::Status CheckOptions(const DiagnosisOptions& op) {
  if (!(op.min_weeks >= 0.0 && std::isfinite(op.min_weeks))) {
    return absl::InvalidArgumentError(absl::StrCat("min_weeks must be finite and >= 0, got ", op.min_weeks));
  }
  if (!(op.min_gap >= 0.0 && op.min_gap < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("min_gap must be in [0, 1), got ", op.min_gap));
  }
  if (!(op.interval > 0.0 && op.interval < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("interval must be in (0, 1), got ", op.interval));
  }
  if (!(op.flag_probability > 0.5 && op.flag_probability < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag_probability must be in (0.5, 1), got ", op.flag_probability));
  }
  return absl::OkStatus();
}

absl::Status CheckFit(const EventLog& log, const Timelines& tl, const Units& units, const DeviantAssessment& dev,
                      const BehaviourAssessment* beh) {
  const auto nd = static_cast<size_t>(log.num_deals());
  if (tl.outcome.size() != nd || tl.outcome_time.size() != nd || units.of_deal.size() != nd ||
      log.deal_offsets().size() != nd + 1) {
    return absl::FailedPreconditionError("the timelines or units do not fit the log (deal counts differ)");
  }
  const size_t U = units.names.size();
  for (size_t d = 0; d < nd; ++d) {
    if (units.of_deal[d] < 0 || static_cast<size_t>(units.of_deal[d]) >= U) {
      return absl::FailedPreconditionError(absl::StrCat("the unit of deal ", d, " is out of range"));
    }
  }
  if (dev.unit_names != units.names) {
    return absl::FailedPreconditionError("deviants: the assessment's units differ from these units");
  }
  for (const auto* v : {&dev.ratio_shrunk, &dev.ratio_lower, &dev.ratio_upper, &dev.probability_below}) {
    if (v->size() != U) {
      return absl::FailedPreconditionError(
          absl::StrCat("deviants: the assessment has ", v->size(), " figures for ", U, " units"));
    }
  }
  if (dev.decided.size() != U || dev.won.size() != U || dev.expected.size() != U) {
    return absl::FailedPreconditionError(absl::StrCat("deviants: the assessment's counts are not per unit (", U,
                                                      " units)"));
  }
  if (beh != nullptr) {
    if (beh->unit_names != units.names) {
      return absl::FailedPreconditionError("behaviours: the assessment's units differ from these units");
    }
    const size_t R = beh->rows.size();
    const BehaviourRows& r = beh->rows;
    if (r.replicate.size() != R || r.present.size() != R || r.absent.size() != R) {
      return absl::FailedPreconditionError("behaviours: the rows' columns have different lengths");
    }
    if (beh->unit_trials.size() != R * U || beh->unit_present.size() != R * U) {
      return absl::FailedPreconditionError(absl::StrCat("behaviours: unit_trials and unit_present need rows x units = ",
                                                        R * U, " entries, have ", beh->unit_trials.size(), " and ",
                                                        beh->unit_present.size()));
    }
  }
  return absl::OkStatus();
}

// The exact (Garwood) interval of a Poisson mean given the count k, at `interval`:
// [χ²((1-c)/2; 2k) / 2, χ²((1+c)/2; 2k + 2) / 2], the lower bound 0 when k = 0.
std::pair<double, double> Garwood(double k, double interval) {
  const double lo_q = (1.0 - interval) / 2.0, hi_q = (1.0 + interval) / 2.0;
  const double lo = k > 0 ? boost::math::quantile(ChiSquared(2.0 * k), lo_q) / 2.0 : 0.0;
  const double hi = boost::math::quantile(ChiSquared(2.0 * k + 2.0), hi_q) / 2.0;
  return {lo, hi};
}

// Linear interpolation between order statistics (numpy's default median).
double Median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::string Pct(double x) { return absl::StrFormat("%.0f%%", 100.0 * x); }
std::string F2(double x) { return absl::StrFormat("%.2f", x); }

}  // namespace

absl::StatusOr<RepDiagnosis> DiagnoseReps(const EventLog& log, const Timelines& tl, const Units& units,
                                          const DeviantAssessment& dev, const BehaviourAssessment* beh,
                                          const DiagnosisOptions& options) {
  SALESPERF_RETURN_IF_ERROR(CheckOptions(options));
  SALESPERF_RETURN_IF_ERROR(CheckFit(log, tl, units, dev, beh));
  const auto nd = static_cast<size_t>(log.num_deals());
  const size_t U = units.names.size();
  const auto offsets = log.deal_offsets();
  const auto times = log.time();
  const auto actions = log.action();
  const auto actors = log.action_actors();

  RepDiagnosis out;
  out.unit_names = units.names;
  std::vector<int64_t> active_ns(U, 0);
  out.activities.assign(U, 0);
  for (size_t d = 0; d < nd; ++d) {
    const int64_t b = offsets[d], e = offsets[d + 1];
    if (b == e) continue;
    const int64_t first = times[static_cast<size_t>(b)];
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    int64_t end = outcome == Outcome::kOpen ? tl.as_of : tl.outcome_time[d];
    end = std::max(end, first);
    const auto u = static_cast<size_t>(units.of_deal[d]);
    active_ns[u] += end - first;
    int64_t n = 0;
    for (int64_t i = b; i < e; ++i) {
      const auto ii = static_cast<size_t>(i);
      if (times[ii] > end) break;  // events are in time order within a deal
      n += actors[static_cast<size_t>(actions[ii])] == static_cast<uint8_t>(Actor::kSeller) ? 1 : 0;
    }
    out.activities[u] += n;
  }

  out.active_weeks.resize(U);
  out.volume.resize(U);
  std::vector<double> peers;
  for (size_t u = 0; u < U; ++u) {
    // Whole weeks and the remainder apart, so that long sums keep their precision.
    out.active_weeks[u] = static_cast<double>(active_ns[u] / kWeek) +
                          static_cast<double>(active_ns[u] % kWeek) / static_cast<double>(kWeek);
    out.volume[u] = out.active_weeks[u] > 0 ? static_cast<double>(out.activities[u]) / out.active_weeks[u] : kNaN;
    if (out.active_weeks[u] >= options.min_weeks && !std::isnan(out.volume[u])) peers.push_back(out.volume[u]);
  }
  out.peer_volume = Median(peers);
  out.volume_ratio.assign(U, kNaN);
  out.volume_lower.assign(U, kNaN);
  out.volume_upper.assign(U, kNaN);
  for (size_t u = 0; u < U; ++u) {
    if (std::isnan(out.volume[u]) || !(out.peer_volume > 0)) continue;
    const double scale = out.active_weeks[u] * out.peer_volume;
    const auto [lo, hi] = Garwood(static_cast<double>(out.activities[u]), options.interval);
    out.volume_ratio[u] = out.volume[u] / out.peer_volume;
    out.volume_lower[u] = lo / scale;
    out.volume_upper[u] = hi / scale;
  }

  out.conversion = dev.ratio_shrunk;
  out.conversion_lower = dev.ratio_lower;
  out.conversion_upper = dev.ratio_upper;

  // Adoption of the practices to replicate.
  out.adoption_present.assign(U, kNaN);
  out.adoption_expected.assign(U, kNaN);
  out.adoption_ratio.assign(U, kNaN);
  out.adoption_lower.assign(U, kNaN);
  out.adoption_upper.assign(U, kNaN);
  int64_t replicate_rows = 0;
  if (beh != nullptr) {
    const BehaviourRows& r = beh->rows;
    for (size_t i = 0; i < r.size(); ++i) replicate_rows += r.replicate[i] ? 1 : 0;
    if (replicate_rows > 0) {
      std::fill(out.adoption_present.begin(), out.adoption_present.end(), 0.0);
      std::fill(out.adoption_expected.begin(), out.adoption_expected.end(), 0.0);
      for (size_t i = 0; i < r.size(); ++i) {
        if (!r.replicate[i]) continue;
        const int64_t n = r.present[i] + r.absent[i];
        const double share = n > 0 ? static_cast<double>(r.present[i]) / static_cast<double>(n) : 0.0;
        for (size_t u = 0; u < U; ++u) {
          out.adoption_present[u] += static_cast<double>(beh->unit_present[i * U + u]);
          out.adoption_expected[u] += static_cast<double>(beh->unit_trials[i * U + u]) * share;
        }
      }
      for (size_t u = 0; u < U; ++u) {
        const double x = out.adoption_expected[u];
        if (!(x > 0)) continue;
        const auto [lo, hi] = Garwood(out.adoption_present[u], options.interval);
        out.adoption_ratio[u] = out.adoption_present[u] / x;
        out.adoption_lower[u] = lo / x;
        out.adoption_upper[u] = hi / x;
      }
    }
  }

  // The answers.
  const std::string ci = absl::StrFormat("%.0f%% CI", 100.0 * options.interval);
  const double short_of = 1.0 - options.min_gap;
  out.know_how.resize(U);
  out.want_to.resize(U);
  out.understands_metrics.resize(U);
  out.know_how_evidence.resize(U);
  out.want_to_evidence.resize(U);
  out.understands_metrics_evidence.resize(U);
  out.non_productive.assign(U, 0);
  out.quadrant.resize(U);
  int64_t diagnosed = 0, non_productive = 0;
  for (size_t u = 0; u < U; ++u) {
    // Know how: conversion against the deal mix.
    const double c = dev.ratio_shrunk[u], c_up = dev.ratio_upper[u], below = dev.probability_below[u];
    if (below >= options.flag_probability && c <= short_of) {
      out.know_how[u] = "no";
    } else if (c_up >= 1.0) {
      out.know_how[u] = "yes";
    } else {
      out.know_how[u] = "unclear";
    }
    if (std::isnan(c)) {
      out.know_how_evidence[u] = "no decided deal with an expected win: conversion cannot be judged";
    } else {
      out.know_how_evidence[u] = absl::StrCat(
          "won ", dev.won[u], " of ", dev.decided[u], " decided deals against ", absl::StrFormat("%.1f", dev.expected[u]),
          " expected from the deal mix: ", F2(c), "x shrunk (", ci, " ", F2(dev.ratio_lower[u]), "-", F2(c_up),
          "), ", Pct(below), " probability of converting below the mix");
    }
    // Want to: activity volume against the median peer.
    const double v = out.volume_ratio[u], v_up = out.volume_upper[u];
    if (v_up < short_of) {
      out.want_to[u] = "no";
    } else if (v_up >= 1.0) {
      out.want_to[u] = "yes";
    } else {
      out.want_to[u] = "unclear";
    }
    if (std::isnan(out.volume[u])) {
      out.want_to_evidence[u] = "no active deal-weeks: activity volume cannot be judged";
    } else if (std::isnan(v)) {
      out.want_to_evidence[u] = absl::StrCat("no peer volume (no unit with at least ", options.min_weeks,
                                             " active weeks and activity): volume cannot be compared");
    } else {
      out.want_to_evidence[u] = absl::StrCat(
          out.activities[u], " seller activities over ", absl::StrFormat("%.1f", out.active_weeks[u]),
          " active deal-weeks: ", F2(out.volume[u]), " a week against the peer median ", F2(out.peer_volume), ", ",
          F2(v), "x (", ci, " ", F2(out.volume_lower[u]), "-", F2(v_up), ")");
    }
    // Understands the metrics: adoption of the practices that move buyers.
    const double a = out.adoption_ratio[u], a_up = out.adoption_upper[u];
    if (a_up < short_of) {
      out.understands_metrics[u] = "no";
    } else if (a_up >= 1.0) {
      out.understands_metrics[u] = "yes";
    } else {
      out.understands_metrics[u] = "unclear";
    }
    if (beh == nullptr) {
      out.understands_metrics_evidence[u] = "no behaviour assessment given: adoption cannot be judged";
    } else if (replicate_rows == 0) {
      out.understands_metrics_evidence[u] = "no practice to replicate was found: adoption cannot be judged";
    } else if (std::isnan(a)) {
      out.understands_metrics_evidence[u] = "no trials at the stages of the practices to replicate";
    } else {
      out.understands_metrics_evidence[u] = absl::StrCat(
          "did the ", replicate_rows, " practices to replicate on ", absl::StrFormat("%.0f", out.adoption_present[u]),
          " trials against ", absl::StrFormat("%.1f", out.adoption_expected[u]), " at the pooled rate: ", F2(a),
          "x (", ci, " ", F2(out.adoption_lower[u]), "-", F2(a_up), ")");
    }
    // Output, not effort alone: a rep who does little but converts at or above what the
    // deal mix predicts is a will question ("efficient, low activity"), not non-productive.
    out.non_productive[u] =
        out.know_how[u] == "no" || (out.want_to[u] == "no" && !(c >= 1.0)) ? 1 : 0;
    if (out.know_how[u] != "unclear" || out.want_to[u] != "unclear") {
      ++diagnosed;
      non_productive += out.non_productive[u];
    }
    if (std::isnan(v) || std::isnan(c)) {
      out.quadrant[u] = "unknown";
    } else if (v >= 1.0) {
      out.quadrant[u] = c >= 1.0 ? "productive" : "busy, low conversion";
    } else {
      out.quadrant[u] = c >= 1.0 ? "efficient, low activity" : "low activity, low conversion";
    }
  }
  out.methods_question = diagnosed > 0 && 3 * non_productive >= diagnosed;
  return out;
}

}  // namespace salesperf
