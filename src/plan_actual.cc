// Plan against actual and the key accounts of a territory plan (salesperf/targets.h).
// The definitions are in the header; this file only implements them. The stage trials
// behind p_win come from CountLeaks (one cohort: every deal), as in targets.cc.
// Where the header leaves room, this file reads it so:
//   - actual counts the wins in [period_start, period_end) at or before as_of (the
//     period is half-open, so a win exactly at period_end belongs to the next one);
//   - an open deal without a value counts 0 in the pipeline, as a won one does in the
//     actual (it still counts in open_deals and, for kWins, as one deal);
//   - an open deal that never entered an open stage is not in the pipeline (it has no
//     stage k to forecast from; leaks.h counts it `outside` the funnel);
//   - for kMargin, pipeline_value is in margin dollars (Σ value × margin_rate), like
//     the target, actual and forecast it is compared with in coverage.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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
#include "salesperf/state.h"
#include "salesperf/targets.h"
#include "status_macros.h"

namespace salesperf {

namespace {

using internal::Sv;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();


// "objective 3 (unit 'ann'), field: ..."
std::string Where(size_t i, const Objective& o, std::string_view field) {
  return absl::StrCat("objective ", i, " (unit '", Sv(o.unit), "'), ", Sv(field), ": ");
}

// The metric of one won deal: its value (0 without one), times the margin rate, or 1.
double MetricOf(PlanMetric m, double value, double margin_rate) {
  switch (m) {
    case PlanMetric::kWins: return 1.0;
    case PlanMetric::kMargin: return (std::isnan(value) ? 0.0 : value) * margin_rate;
    case PlanMetric::kBookings: break;
  }
  return std::isnan(value) ? 0.0 : value;
}

// count of sorted values v with v <= x.
int64_t CountAtMost(const std::vector<Int128>& v, Int128 x) {
  return static_cast<int64_t>(std::upper_bound(v.begin(), v.end(), x) - v.begin());
}

}  // namespace

absl::StatusOr<PlanActual> PlanVsActual(const EventLog& log, const Timelines& tl, const Units& units,
                                        std::span<const Objective> objectives, const PlanActualOptions& options) {
  if (options.shape_periods < 0) {
    return absl::InvalidArgumentError(absl::StrCat("shape_periods must be >= 0, got ", options.shape_periods));
  }
  std::unordered_map<std::string, int32_t> unit_of;
  for (size_t u = 0; u < units.names.size(); ++u) unit_of.emplace(units.names[u], static_cast<int32_t>(u));
  std::vector<int32_t> obj_unit(objectives.size());
  for (size_t i = 0; i < objectives.size(); ++i) {
    const Objective& o = objectives[i];
    const auto it = unit_of.find(o.unit);
    if (it == unit_of.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(i, o, "unit"), "the units (by '", Sv(units.kind), "') have no unit '", Sv(o.unit), "'"));
    }
    obj_unit[i] = it->second;
    if (static_cast<uint8_t>(o.metric) > static_cast<uint8_t>(PlanMetric::kWins)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(i, o, "metric"), static_cast<int>(o.metric), " is not a PlanMetric"));
    }
    if (o.period_start == kNullInstant) return absl::InvalidArgumentError(Where(i, o, "period_start") + "is required");
    if (o.period_end == kNullInstant) return absl::InvalidArgumentError(Where(i, o, "period_end") + "is required");
    if (o.period_end <= o.period_start) {
      return absl::InvalidArgumentError(absl::StrCat(Where(i, o, "period_end"), o.period_end,
                                                     " must be after period_start (", o.period_start, ")"));
    }
    if (!(std::isfinite(o.target) && o.target > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(i, o, "target"), o.target, "; it must be positive and finite"));
    }
    if (o.metric == PlanMetric::kMargin && !(o.margin_rate >= 0.0 && o.margin_rate <= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat(Where(i, o, "margin_rate"), o.margin_rate,
                                                     "; a margin objective needs a margin rate in [0, 1]"));
    }
  }
  SALESPERF_RETURN_IF_ERROR(internal::CheckTimelinesAndUnitsFit(log, tl, units));
  absl::StatusOr<LeakCounts> counts = CountLeaks(log, tl, units);
  if (!counts.ok()) return counts.status();

  const int32_t O = tl.num_open;
  const auto Ou = static_cast<size_t>(O);
  const size_t S = tl.stage_names.size();
  const auto nd = static_cast<size_t>(log.num_deals());
  const int64_t as_of = tl.as_of;

  PlanActual out;
  out.unit_names = units.names;
  out.as_of = as_of;

  // p_win_k = Π_{j>=k} x_j / n_j over every unit (NaN when a stage j >= k has no trials).
  out.stage_win_probability.assign(Ou, kNan);
  {
    double w = 1.0;
    for (int32_t k = O - 1; k >= 0; --k) {
      int64_t x = 0, n = 0;
      for (int32_t c = 0; c < counts->num_units(); ++c) {
        int64_t lost = 0;
        for (int32_t r = 0; r < counts->num_reasons(); ++r) lost += counts->lost(c, Cohort::kCurrent, k, r);
        const int64_t adv = counts->advanced(c, Cohort::kCurrent, k);
        x += adv;
        n += adv + lost + counts->stalled(c, Cohort::kCurrent, k);
      }
      w *= n > 0 ? static_cast<double>(x) / static_cast<double>(n) : kNan;
      out.stage_win_probability[static_cast<size_t>(k)] = w;
    }
  }

  // The organisation's waits D = win time - first entry into k, sorted, per open stage;
  // the won deals (time, value) sorted by time, for the shape; the open deals per unit.
  std::vector<std::vector<Int128>> waits(Ou);
  struct Win {
    int64_t time;
    double value;
    int32_t unit;
  };
  std::vector<Win> wins;
  struct OpenDeal {
    int32_t stage;
    int64_t entered;
    double value;
  };
  std::vector<std::vector<OpenDeal>> open_of(units.names.size());
  for (size_t d = 0; d < nd; ++d) {
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    if (outcome == Outcome::kWon) {
      const int64_t t = tl.outcome_time[d];
      if (t == kNullInstant) continue;
      wins.push_back({t, tl.value[d], units.of_deal[d]});
      for (size_t k = 0; k < Ou; ++k) {
        const int64_t fe = tl.first_entered[d * S + k];
        if (fe != kNullInstant) waits[k].push_back(static_cast<Int128>(t) - fe);
      }
    } else if (outcome == Outcome::kOpen) {
      const int32_t k = tl.current_stage[d];
      if (k < 0 || k >= O) continue;  // not in the funnel: no stage to forecast from
      const int64_t fe = tl.first_entered[d * S + static_cast<size_t>(k)];
      if (fe == kNullInstant) continue;
      open_of[static_cast<size_t>(units.of_deal[d])].push_back({k, fe, tl.value[d]});
    }
  }
  for (auto& w : waits) std::sort(w.begin(), w.end());
  const auto by_time = [](const Win& a, const Win& b) { return a.time < b.time; };
  std::sort(wins.begin(), wins.end(), by_time);
  std::vector<std::vector<Win>> wins_of(units.names.size());  // per unit, by time
  for (const Win& w : wins) wins_of[static_cast<size_t>(w.unit)].push_back(w);
  int64_t first_event = std::numeric_limits<int64_t>::max();
  for (int64_t t : log.time()) first_event = std::min(first_event, t);

  PlanActualRows& r = out.rows;
  const size_t N = objectives.size();
  r.unit = obj_unit;
  for (auto* v : {&r.target, &r.actual, &r.attainment, &r.elapsed, &r.shape, &r.expected_to_date, &r.pacing,
                  &r.pipeline_value, &r.weighted_pipeline, &r.forecast, &r.forecast_sd, &r.coverage, &r.gap}) {
    v->assign(N, kNan);
  }
  for (auto* v : {&r.won_deals, &r.unvalued_wins, &r.open_deals}) v->assign(N, 0);

  auto first_at_or_after = [](const std::vector<Win>& v, Int128 t) {
    return std::lower_bound(v.begin(), v.end(), t,
                            [](const Win& w, Int128 x) { return static_cast<Int128>(w.time) < x; });
  };

  for (size_t i = 0; i < N; ++i) {
    const Objective& o = objectives[i];
    const int32_t u = obj_unit[i];
    const double mr = o.metric == PlanMetric::kMargin ? o.margin_rate : 1.0;
    const Int128 ps = o.period_start, pe = o.period_end, L = pe - ps;

    // actual: the unit's wins in [period_start, period_end), at or before as_of.
    double actual = 0;
    int64_t won = 0, unvalued = 0;
    const std::vector<Win>& mine = wins_of[static_cast<size_t>(u)];
    for (auto it = first_at_or_after(mine, ps); it != mine.end() && it->time < pe && it->time <= as_of; ++it) {
      ++won;
      if (std::isnan(it->value)) ++unvalued;
      actual += MetricOf(o.metric, it->value, mr);
    }

    const double elapsed = std::clamp(
        (static_cast<double>(as_of) - static_cast<double>(o.period_start)) / static_cast<double>(L), 0.0, 1.0);

    // shape: the organisation's wins in the whole periods before period_start.
    double shape = elapsed;
    if (elapsed >= 1.0) {
      shape = 1.0;
    } else {
      double early = 0, all = 0;
      // Periods i = 1..P start at ps - i L >= first_event: P = min(shape_periods,
      // ⌊(ps - first_event) / L⌋). One pass over the wins in [ps - P L, ps), each in
      // period i = ⌈(ps - t) / L⌉ (so the cost does not grow with P).
      const Int128 room = ps - static_cast<Int128>(first_event);
      const Int128 P = room < 0 ? 0 : std::min<Int128>(options.shape_periods, room / L);
      for (auto it = first_at_or_after(wins, ps - P * L); it != wins.end() && it->time < ps; ++it) {
        const Int128 t = it->time;
        const Int128 start = ps - (ps - t + L - 1) / L * L;
        const double m = MetricOf(o.metric, it->value, mr);
        all += m;
        // offset / L < elapsed, in doubles as the definition reads
        if (static_cast<double>(t - start) / static_cast<double>(L) < elapsed) early += m;
      }
      if (all != 0) shape = early / all;
    }
    const double expected = o.target * shape;

    // The pipeline.
    const Int128 R = as_of >= o.period_end ? 0 : pe - std::max<Int128>(as_of, ps);
    double pipeline = 0, weighted = 0, var = 0;
    int64_t open = 0;
    for (const OpenDeal& od : open_of[static_cast<size_t>(u)]) {
      ++open;
      const double w = MetricOf(o.metric, od.value, mr);
      pipeline += w;
      const auto& D = waits[static_cast<size_t>(od.stage)];
      const Int128 a = static_cast<Int128>(as_of) - od.entered;
      const int64_t longer = static_cast<int64_t>(D.size()) - CountAtMost(D, a);
      const double p_time =
          longer == 0 ? 0.0
                      : static_cast<double>(CountAtMost(D, a + R) - CountAtMost(D, a)) / static_cast<double>(longer);
      const double q = out.stage_win_probability[static_cast<size_t>(od.stage)] * p_time;
      weighted += w * q;
      var += w * w * q * (1.0 - q);
    }

    r.target[i] = o.target;
    r.actual[i] = actual;
    r.attainment[i] = actual / o.target;
    r.elapsed[i] = elapsed;
    r.shape[i] = shape;
    r.expected_to_date[i] = expected;
    r.pacing[i] = expected == 0 ? kNan : actual / expected;
    r.pipeline_value[i] = pipeline;
    r.weighted_pipeline[i] = weighted;
    r.forecast[i] = actual + weighted;
    r.forecast_sd[i] = std::sqrt(var);
    r.coverage[i] = actual >= o.target ? kNan : pipeline / (o.target - actual);
    r.gap[i] = o.target - (actual + weighted);
    r.won_deals[i] = won;
    r.unvalued_wins[i] = unvalued;
    r.open_deals[i] = open;
  }
  return out;
}

absl::StatusOr<KeyAccountRows> KeyAccountProgress(const EventLog& log, const Timelines& tl,
                                                  std::span<const KeyAccount> plan, int64_t from, int64_t to) {
  if (from != kNullInstant && to != kNullInstant && from >= to) {
    return absl::InvalidArgumentError(absl::StrCat("from (", from, ") must be before to (", to, ")"));
  }
  if (log.account().empty()) return absl::FailedPreconditionError("the log has no account column");
  if (log.rep().empty()) return absl::FailedPreconditionError("the log has no rep column");
  const auto nd = static_cast<size_t>(log.num_deals());
  if (tl.outcome.size() != nd || tl.outcome_time.size() != nd || tl.value.size() != nd) {
    return absl::FailedPreconditionError("the timelines do not fit the log (deal counts differ)");
  }
  auto in_period = [&](int64_t t) {
    return t != kNullInstant && (from == kNullInstant || t >= from) && (to == kNullInstant || t < to);
  };

  // Names to codes.
  std::unordered_map<std::string, int32_t> account_code, rep_code;
  for (int32_t c = 0; c < log.accounts().size(); ++c) account_code.emplace(log.accounts().Label(c), c);
  for (int32_t c = 0; c < log.reps().size(); ++c) rep_code.emplace(log.reps().Label(c), c);

  // The account of each deal: its first non-null account.
  const auto offsets = log.deal_offsets();
  const auto account = log.account();
  const auto time = log.time();
  const auto action = log.action();
  const auto rep = log.rep();
  const auto actors = log.action_actors();
  std::vector<int32_t> deal_account(nd, kNullCode);
  const auto A = static_cast<size_t>(log.accounts().size());
  std::vector<uint8_t> engaged(A, 0), maintenance(A, 0);
  std::vector<int64_t> opened(A, 0), won(A, 0);
  std::vector<double> won_value(A, 0.0);

  // The (account, rep) pairs asked for, to mark the touched ones in one pass.
  auto key = [](int32_t a, int32_t p) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(p);
  };
  std::unordered_map<uint64_t, uint8_t> touched;
  for (const KeyAccount& k : plan) {
    const auto a = account_code.find(k.account);
    const auto p = rep_code.find(k.rep);
    if (a != account_code.end() && p != rep_code.end()) touched.emplace(key(a->second, p->second), 0);
  }

  for (size_t d = 0; d < nd; ++d) {
    const auto lo = static_cast<size_t>(offsets[d]), hi = static_cast<size_t>(offsets[d + 1]);
    int32_t acc = kNullCode;
    for (size_t e = lo; e < hi; ++e) {
      if (account[e] != kNullCode) {
        acc = account[e];
        break;
      }
    }
    deal_account[d] = acc;
    if (acc == kNullCode) continue;
    const auto ac = static_cast<size_t>(acc);
    if (lo < hi && in_period(time[lo])) ++opened[ac];
    if (static_cast<Outcome>(tl.outcome[d]) == Outcome::kWon) {
      const int64_t t = tl.outcome_time[d];
      if (in_period(t)) {
        ++won[ac];
        if (!std::isnan(tl.value[d])) won_value[ac] += tl.value[d];
      }
      if (from != kNullInstant && t != kNullInstant && t < from) maintenance[ac] = 1;
    }
    for (size_t e = lo; e < hi; ++e) {
      if (!in_period(time[e])) continue;
      const auto actor = static_cast<Actor>(actors[static_cast<size_t>(action[e])]);
      if (actor == Actor::kBuyer) {
        engaged[ac] = 1;
      } else if (actor == Actor::kSeller && rep[e] != kNullCode && !touched.empty()) {
        const auto it = touched.find(key(acc, rep[e]));
        if (it != touched.end()) it->second = 1;
      }
    }
  }

  KeyAccountRows out;
  for (const KeyAccount& k : plan) {
    const auto a = account_code.find(k.account);
    const bool known = a != account_code.end();
    const auto ac = known ? static_cast<size_t>(a->second) : 0;
    bool t = false;
    if (known) {
      const auto p = rep_code.find(k.rep);
      if (p != rep_code.end()) t = touched.at(key(a->second, p->second)) != 0;
    }
    out.known.push_back(known ? 1 : 0);
    out.touched.push_back(t ? 1 : 0);
    out.engaged.push_back(known ? engaged[ac] : 0);
    out.opened.push_back(known ? opened[ac] : 0);
    out.won.push_back(known ? won[ac] : 0);
    out.won_value.push_back(known ? won_value[ac] : 0.0);
    out.kind.emplace_back(known && maintenance[ac] ? "maintenance" : "new business");
  }
  return out;
}

}  // namespace salesperf
