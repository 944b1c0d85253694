// MakeTable and MakeTrends: the accumulator's cells read out as a long table of
// figures per (unit, period, indicator), with intervals, and trends over the table.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "salesperf/indicators.h"
#include "salesperf/stats.h"
#include "state_sums.h"

namespace salesperf {
namespace {

using internal::Sv;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNanosPerDay = 86'400e9;
constexpr int64_t kAllPeriods = std::numeric_limits<int64_t>::max();
// MakeTrends: the most calendar periods one trend may span (a guard against tables
// whose period indices are far apart; MakeTable's periods are consecutive).
constexpr int64_t kMaxSpan = int64_t{1} << 24;


// What an indicator is computed from. `arg` is the action, stage or open stage.
enum class Kind : uint8_t {
  kOccurrences, kDeals, kAnswered,
  kBuyerActions, kSellerActivities, kBuyerResponseRatio,
  kEntries, kDealsEntered, kDollarsEntered,
  kConversion, kWinFrom, kPending, kTimeInStageMedian, kTimeInStageP90,
  kCreated, kCreatedDollars, kProgressed, kRegressed, kReopened, kWon, kWonDollars, kLost,
  kLostDollars, kExcluded, kStalled, kStalledDollars, kOpenStart, kOpenEnd, kAvgWonSize,
  kWinRate, kWinRateValue, kCycleTimeMedian, kCycleTimeP90, kVelocity,
};

struct Spec {
  std::string name;
  Kind kind;
  int32_t arg;
};

// The indicators of an accumulator, in the order documented at MakeTable.
std::vector<Spec> Specs(const Indicators& ind) {
  std::vector<Spec> specs;
  for (int32_t a = 0; a < ind.num_actions(); ++a) {
    const std::string& x = ind.action_names()[static_cast<size_t>(a)];
    specs.push_back({"occurrences:" + x, Kind::kOccurrences, a});
    specs.push_back({"deals:" + x, Kind::kDeals, a});
    if (static_cast<Actor>(ind.action_actors()[static_cast<size_t>(a)]) == Actor::kSeller) {
      specs.push_back({"answered:" + x, Kind::kAnswered, a});
    }
  }
  specs.push_back({"buyer_actions", Kind::kBuyerActions, -1});
  specs.push_back({"seller_activities", Kind::kSellerActivities, -1});
  specs.push_back({"buyer_response_ratio", Kind::kBuyerResponseRatio, -1});
  for (int32_t s = 0; s < ind.num_stages(); ++s) {
    const std::string& x = ind.stage_names()[static_cast<size_t>(s)];
    specs.push_back({"entries:" + x, Kind::kEntries, s});
    specs.push_back({"deals_entered:" + x, Kind::kDealsEntered, s});
    specs.push_back({"dollars_entered:" + x, Kind::kDollarsEntered, s});
  }
  for (int32_t k = 0; k < ind.num_open(); ++k) {
    const std::string& x = ind.stage_names()[static_cast<size_t>(k)];
    specs.push_back({"conversion:" + x, Kind::kConversion, k});
    specs.push_back({"win_from:" + x, Kind::kWinFrom, k});
    specs.push_back({"pending:" + x, Kind::kPending, k});
    specs.push_back({"time_in_stage_median:" + x, Kind::kTimeInStageMedian, k});
    specs.push_back({"time_in_stage_p90:" + x, Kind::kTimeInStageP90, k});
  }
  const std::pair<const char*, Kind> tail[] = {
      {"created", Kind::kCreated},         {"created_dollars", Kind::kCreatedDollars},
      {"progressed", Kind::kProgressed},   {"regressed", Kind::kRegressed},
      {"reopened", Kind::kReopened},       {"won", Kind::kWon},
      {"won_dollars", Kind::kWonDollars},  {"lost", Kind::kLost},
      {"lost_dollars", Kind::kLostDollars}, {"excluded", Kind::kExcluded},
      {"stalled", Kind::kStalled},         {"stalled_dollars", Kind::kStalledDollars},
      {"open_start", Kind::kOpenStart},    {"open_end", Kind::kOpenEnd},
      {"avg_won_size", Kind::kAvgWonSize}, {"win_rate", Kind::kWinRate},
      {"win_rate_value", Kind::kWinRateValue}, {"cycle_time_median", Kind::kCycleTimeMedian},
      {"cycle_time_p90", Kind::kCycleTimeP90}, {"velocity", Kind::kVelocity},
  };
  for (const auto& [name, kind] : tail) specs.push_back({name, kind, -1});
  return specs;
}

using internal::AddOverflows;

// OutOfRange for a sum of `what` that does not fit its type (MakeTable adds the unit
// and period in front).
absl::Status SumOverflow(std::string_view what) {
  return absl::OutOfRangeError(absl::StrCat("the sum of ", Sv(what), " overflows"));
}

// a + b, or OutOfRange naming `what`.
absl::StatusOr<int64_t> CheckedSum(int64_t a, int64_t b, std::string_view what) {
  int64_t out = a;
  if (AddOverflows(out, b)) return SumOverflow(what);
  return out;
}

bool HasWilson(Kind k) {
  return k == Kind::kAnswered || k == Kind::kConversion || k == Kind::kWinFrom ||
         k == Kind::kWinRate;
}

struct Bin {
  int64_t bucket;
  int64_t observed;
  int64_t censored;
};

// The figures of one (unit, period): one cell, nothing (zeros), or every cell of a
// unit summed ("all").
struct Sums {
  int32_t num_actions = 0, num_stages = 0, num_open = 0;
  std::vector<int64_t> action;   // [a][ActionField]
  std::vector<int64_t> stage;    // [s][StageField]
  std::vector<int64_t> cohort;   // [k][CohortField]
  std::vector<int64_t> cell;     // [CellField]
  std::vector<Int128> dollars_entered;  // [s]
  std::vector<Int128> dollars;          // [DollarField]
  std::vector<std::vector<Bin>> bins;   // [stage + 1] (0: cycle time), ascending buckets

  explicit Sums(const Indicators& ind)
      : num_actions(ind.num_actions()), num_stages(ind.num_stages()), num_open(ind.num_open()) {
    action.resize(static_cast<size_t>(kActionFields * num_actions));
    stage.resize(static_cast<size_t>(kStageFields * num_stages));
    cohort.resize(static_cast<size_t>(kCohortFields * num_open));
    cell.resize(kCellFields);
    dollars_entered.resize(static_cast<size_t>(num_stages));
    dollars.resize(kDollarCellFields);
    bins.resize(static_cast<size_t>(num_open + 1));
    Clear();
  }
  void Clear() {
    std::fill(action.begin(), action.end(), 0);
    std::fill(stage.begin(), stage.end(), 0);
    std::fill(cohort.begin(), cohort.end(), 0);
    std::fill(cell.begin(), cell.end(), 0);
    std::fill(dollars_entered.begin(), dollars_entered.end(), Int128{0});
    std::fill(dollars.begin(), dollars.end(), Int128{0});
    for (auto& b : bins) b.clear();
  }
  // Adds cell c's counters and sums (not its bins). OutOfRange, naming the field (as
  // its indicator is named), when a sum overflows ("all" adds up a unit's periods).
  absl::Status AddCounters(const Indicators& ind, int64_t c) {
    using internal::kActionFieldNames, internal::kStageFieldNames, internal::kCohortFieldNames,
        internal::kCellFieldNames, internal::kDollarFieldNames;
    auto overflow = [](std::string_view kind, std::string_view field, const std::string& arg) {
      return absl::OutOfRangeError(absl::StrCat("summing the periods would overflow the ", Sv(kind), " of ",
                                                Sv(field), arg.empty() ? "" : ":", arg));
    };
    for (int32_t a = 0; a < num_actions; ++a) {
      for (int f = 0; f < kActionFields; ++f) {
        if (AddOverflows(action[static_cast<size_t>(kActionFields * a + f)],
                         ind.action(c, a, static_cast<ActionField>(f)))) {
          return overflow("count", kActionFieldNames[f], ind.action_names()[static_cast<size_t>(a)]);
        }
      }
    }
    for (int32_t s = 0; s < num_stages; ++s) {
      for (int f = 0; f < kStageFields; ++f) {
        if (AddOverflows(stage[static_cast<size_t>(kStageFields * s + f)],
                         ind.stage(c, s, static_cast<StageField>(f)))) {
          return overflow("count", kStageFieldNames[f], ind.stage_names()[static_cast<size_t>(s)]);
        }
      }
      if (AddOverflows(dollars_entered[static_cast<size_t>(s)], ind.dollars_entered_fixed(c, s))) {
        return overflow("dollar sum", "dollars_entered", ind.stage_names()[static_cast<size_t>(s)]);
      }
    }
    for (int32_t k = 0; k < num_open; ++k) {
      for (int f = 0; f < kCohortFields; ++f) {
        if (AddOverflows(cohort[static_cast<size_t>(kCohortFields * k + f)],
                         ind.cohort(c, k, static_cast<CohortField>(f)))) {
          return overflow("count", kCohortFieldNames[f], ind.stage_names()[static_cast<size_t>(k)]);
        }
      }
    }
    for (int f = 0; f < kCellFields; ++f) {
      if (AddOverflows(cell[static_cast<size_t>(f)], ind.cell(c, static_cast<CellField>(f)))) {
        return overflow("count", kCellFieldNames[f], "");
      }
    }
    for (int f = 0; f < kDollarCellFields; ++f) {
      if (AddOverflows(dollars[static_cast<size_t>(f)], ind.dollars_fixed(c, static_cast<DollarField>(f)))) {
        return overflow("dollar sum", kDollarFieldNames[f], "");
      }
    }
    return absl::OkStatus();
  }
  int64_t A(int32_t a, ActionField f) const { return action[static_cast<size_t>(kActionFields * a + f)]; }
  int64_t S(int32_t s, StageField f) const { return stage[static_cast<size_t>(kStageFields * s + f)]; }
  int64_t K(int32_t k, CohortField f) const { return cohort[static_cast<size_t>(kCohortFields * k + f)]; }
  int64_t C(CellField f) const { return cell[static_cast<size_t>(f)]; }
  Int128 D(DollarField f) const { return dollars[static_cast<size_t>(f)]; }
};

// Bins [first, last) of the accumulator (sorted by stage, then bucket within one cell,
// or in any order when `merge`) into sums.bins, adding up equal (stage, bucket) pairs.
absl::Status LoadBins(const std::vector<DurationBin>& all, size_t first, size_t last, bool merge,
                      Sums& sums) {
  for (size_t i = first; i < last; ++i) {
    const DurationBin& b = all[i];
    if (b.stage < -1 || b.stage >= sums.num_open) {
      return absl::FailedPreconditionError(
          absl::StrCat("duration bin ", i, " has stage ", b.stage, " outside -1..",
                       sums.num_open - 1));
    }
    if (b.bucket < 0 || b.bucket > kMaxDurationBucket) {
      return absl::FailedPreconditionError(
          absl::StrCat("duration bin ", i, " has a bucket out of range (", b.bucket, ")"));
    }
    sums.bins[static_cast<size_t>(b.stage + 1)].push_back({b.bucket, b.observed, b.censored});
  }
  if (!merge) return absl::OkStatus();
  for (auto& v : sums.bins) {
    std::sort(v.begin(), v.end(), [](const Bin& x, const Bin& y) { return x.bucket < y.bucket; });
    size_t out = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (out > 0 && v[out - 1].bucket == v[i].bucket) {
        const bool observed = AddOverflows(v[out - 1].observed, v[i].observed);
        if (observed || AddOverflows(v[out - 1].censored, v[i].censored)) {
          const auto series = static_cast<int32_t>(&v - sums.bins.data()) - 1;
          return absl::OutOfRangeError(absl::StrCat(
              "summing the periods would overflow the count of ", observed ? "observed" : "censored",
              " durations of ", series < 0 ? "cycle time" : absl::StrCat("open stage ", series), " (bucket ",
              v[i].bucket, ")"));
        }
      } else {
        v[out++] = v[i];
      }
    }
    v.resize(out);
  }
  return absl::OkStatus();
}

// One figure of a row.
struct Figure {
  double value = kNaN;
  double lower = kNaN;
  double upper = kNaN;
  int64_t n = 0;
  int64_t x = 0;  // successes, for indicators with a Wilson interval
  bool immature = false;
};

// Median and p90 (days) of a histogram, and the visits behind them.
struct Durations {
  double median = kNaN;
  double p90 = kNaN;
  int64_t visits = 0;
};

// The lower edge of a duration bucket, in days.
double BucketDays(int64_t bucket, int64_t resolution) {
  const int64_t steps = BucketLowerSteps(bucket);
  int64_t ns = 0;
  if (__builtin_mul_overflow(steps, resolution, &ns)) {
    return static_cast<double>(steps) * static_cast<double>(resolution) / kNanosPerDay;
  }
  return static_cast<double>(ns) / kNanosPerDay;
}

absl::StatusOr<Durations> Summarise(const std::vector<Bin>& bins, int64_t resolution) {
  Durations out;
  std::vector<int64_t> times, observed, censored;
  times.reserve(bins.size());
  observed.reserve(bins.size());
  censored.reserve(bins.size());
  for (const Bin& b : bins) {
    times.push_back(b.bucket);
    observed.push_back(b.observed);
    censored.push_back(b.censored);
    if (AddOverflows(out.visits, b.observed) || AddOverflows(out.visits, b.censored)) {
      return SumOverflow("duration visits (observed + censored)");
    }
  }
  absl::StatusOr<SurvivalCurve> km = KaplanMeierCounts(times, observed, censored);
  if (!km.ok()) return km.status();
  for (auto [q, target] : {std::pair<double, double*>{0.5, &out.median}, {0.9, &out.p90}}) {
    absl::StatusOr<std::optional<int64_t>> t = km->Quantile(q);
    if (!t.ok()) return t.status();
    if (t->has_value()) *target = BucketDays(**t, resolution);
  }
  return out;
}

absl::StatusOr<Figure> WilsonFigure(int64_t x, int64_t n, double confidence) {
  Figure f;
  f.n = n;
  f.x = x;
  if (n == 0) return f;  // value and interval NaN: nothing to judge
  absl::StatusOr<Interval> w = Wilson(x, n, confidence);
  if (!w.ok()) return w.status();
  f.value = w->estimate;
  f.lower = w->lower;
  f.upper = w->upper;
  return f;
}

Figure Count(int64_t v) {
  Figure f;
  f.value = static_cast<double>(v);
  f.n = v;
  return f;
}

Figure Money(Int128 fixed, int64_t valued) {
  Figure f;
  f.value = FixedToDollars(fixed);
  f.n = valued;
  return f;
}

Figure Ratio(double num, double den, int64_t n) {
  Figure f;
  f.value = den == 0 ? kNaN : num / den;
  f.n = n;
  return f;
}

// Every figure of one (unit, period) in the order of `specs`.
absl::Status Evaluate(const std::vector<Spec>& specs, const Sums& s, int64_t open_start,
                      int64_t open_end, int64_t resolution, double confidence,
                      const std::vector<uint8_t>& actors, std::vector<Figure>& out) {
  std::vector<Durations> durations(s.bins.size());
  for (size_t i = 0; i < s.bins.size(); ++i) {
    absl::StatusOr<Durations> d = Summarise(s.bins[i], resolution);
    if (!d.ok()) return d.status();
    durations[i] = *d;
  }
  int64_t buyer = 0, seller = 0;
  for (int32_t a = 0; a < s.num_actions; ++a) {
    const auto actor = static_cast<Actor>(actors[static_cast<size_t>(a)]);
    if (actor == Actor::kBuyer && AddOverflows(buyer, s.A(a, kOccurrences))) return SumOverflow("buyer_actions");
    if (actor == Actor::kSeller && AddOverflows(seller, s.A(a, kOccurrences))) {
      return SumOverflow("seller_activities");
    }
  }
  const int64_t won = s.C(kWon), lost = s.C(kLost);
  absl::StatusOr<int64_t> decided = CheckedSum(won, lost, "won + lost (win_rate)");
  if (!decided.ok()) return decided.status();
  absl::StatusOr<Figure> win_rate = WilsonFigure(won, *decided, confidence);
  if (!win_rate.ok()) return win_rate.status();
  absl::StatusOr<int64_t> valued = CheckedSum(s.C(kWonValued), s.C(kLostValued), "won_valued + lost_valued");
  if (!valued.ok()) return valued.status();
  Int128 won_and_lost_dollars = s.D(kWonDollars);
  if (AddOverflows(won_and_lost_dollars, s.D(kLostDollars))) return SumOverflow("won_dollars + lost_dollars");
  const Figure avg_won = Ratio(FixedToDollars(s.D(kWonDollars)), static_cast<double>(s.C(kWonValued)),
                               s.C(kWonValued));
  const Durations& cycle = durations[0];

  out.assign(specs.size(), Figure{});
  for (size_t i = 0; i < specs.size(); ++i) {
    const int32_t arg = specs[i].arg;
    Figure& f = out[i];
    absl::StatusOr<Figure> w;
    switch (specs[i].kind) {
      case Kind::kOccurrences: f = Count(s.A(arg, kOccurrences)); break;
      case Kind::kDeals: f = Count(s.A(arg, kDeals)); break;
      case Kind::kAnswered:
        w = WilsonFigure(s.A(arg, kAnswered), s.A(arg, kOccurrences), confidence);
        if (!w.ok()) return w.status();
        f = *w;
        break;
      case Kind::kBuyerActions: f = Count(buyer); break;
      case Kind::kSellerActivities: f = Count(seller); break;
      case Kind::kBuyerResponseRatio:
        f = Ratio(static_cast<double>(buyer), static_cast<double>(seller), seller);
        break;
      case Kind::kEntries: f = Count(s.S(arg, kEntries)); break;
      case Kind::kDealsEntered: f = Count(s.S(arg, kDealsEntered)); break;
      case Kind::kDollarsEntered:
        f = Money(s.dollars_entered[static_cast<size_t>(arg)], s.S(arg, kValuedEntered));
        break;
      case Kind::kConversion: {
        absl::StatusOr<int64_t> n = CheckedSum(s.K(arg, kAdvanced), s.K(arg, kFailed), specs[i].name);
        if (!n.ok()) return n.status();
        w = WilsonFigure(s.K(arg, kAdvanced), *n, confidence);
        if (!w.ok()) return w.status();
        f = *w;
        f.immature = s.K(arg, kPending) > 0;
        break;
      }
      case Kind::kWinFrom: {
        absl::StatusOr<int64_t> n = CheckedSum(s.K(arg, kWonInWindow), s.K(arg, kWonFailed), specs[i].name);
        if (!n.ok()) return n.status();
        w = WilsonFigure(s.K(arg, kWonInWindow), *n, confidence);
        if (!w.ok()) return w.status();
        f = *w;
        f.immature = s.K(arg, kWonPending) > 0;
        break;
      }
      case Kind::kPending: f = Count(s.K(arg, kPending)); break;
      case Kind::kTimeInStageMedian:
      case Kind::kTimeInStageP90: {
        const Durations& d = durations[static_cast<size_t>(arg + 1)];
        f.value = specs[i].kind == Kind::kTimeInStageMedian ? d.median : d.p90;
        f.n = d.visits;
        break;
      }
      case Kind::kCreated: f = Count(s.C(kCreated)); break;
      case Kind::kCreatedDollars: f = Money(s.D(kCreatedDollars), s.C(kCreatedValued)); break;
      case Kind::kProgressed: f = Count(s.C(kProgressed)); break;
      case Kind::kRegressed: f = Count(s.C(kRegressed)); break;
      case Kind::kReopened: f = Count(s.C(kReopened)); break;
      case Kind::kWon: f = Count(won); break;
      case Kind::kWonDollars: f = Money(s.D(kWonDollars), s.C(kWonValued)); break;
      case Kind::kLost: f = Count(lost); break;
      case Kind::kLostDollars: f = Money(s.D(kLostDollars), s.C(kLostValued)); break;
      case Kind::kExcluded: f = Count(s.C(kExcludedOpen)); break;
      case Kind::kStalled: f = Count(s.C(kStalled)); break;
      case Kind::kStalledDollars: f = Money(s.D(kStalledDollars), s.C(kStalledValued)); break;
      case Kind::kOpenStart: f = Count(open_start); break;
      case Kind::kOpenEnd: f = Count(open_end); break;
      case Kind::kAvgWonSize: f = avg_won; break;
      case Kind::kWinRate: f = *win_rate; break;
      case Kind::kWinRateValue:
        // On the fixed-point sums: the scale cancels, so only the division rounds.
        f = Ratio(static_cast<double>(s.D(kWonDollars)), static_cast<double>(won_and_lost_dollars), *valued);
        break;
      case Kind::kCycleTimeMedian: f.value = cycle.median; f.n = cycle.visits; break;
      case Kind::kCycleTimeP90: f.value = cycle.p90; f.n = cycle.visits; break;
      case Kind::kVelocity:
        // NaN propagates from win_rate, avg_won_size and the median; a zero median
        // (every deal closed within one resolution step) has no rate.
        f.value = cycle.median == 0 ? kNaN
                                    : static_cast<double>(s.C(kCreated)) * win_rate->value *
                                          avg_won.value / cycle.median;
        f.n = cycle.visits;
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<IndicatorTable> MakeTable(const Indicators& ind, const TableOptions& options) {
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence must be in (0, 1), got ", options.confidence));
  }
  const std::vector<Spec> specs = Specs(ind);
  IndicatorTable table;
  table.unit_names = ind.unit_names();
  for (const Spec& s : specs) table.indicator_names.push_back(s.name);

  const int64_t num_cells = ind.num_cells();
  // Cells of unit u: [unit_begin[u], unit_begin[u + 1]) (cells are sorted by unit,
  // then period); the first and last periods over every cell.
  const auto num_units = static_cast<size_t>(ind.num_units());
  std::vector<int64_t> unit_begin(num_units + 1, 0);
  int64_t last_period = std::numeric_limits<int64_t>::min();
  int64_t first_period = std::numeric_limits<int64_t>::max();
  for (int64_t c = 0; c < num_cells; ++c) {
    const int32_t u = ind.cell_unit(c);
    if (u < 0 || static_cast<size_t>(u) >= num_units) {
      return absl::FailedPreconditionError(
          absl::StrCat("cell ", c, " has unit ", u, " of ", num_units));
    }
    if (c > 0 && (ind.cell_unit(c - 1) > u ||
                  (ind.cell_unit(c - 1) == u && ind.cell_period(c - 1) >= ind.cell_period(c)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("cells are not sorted by (unit, period) at cell ", c));
    }
    ++unit_begin[static_cast<size_t>(u) + 1];
    last_period = std::max(last_period, ind.cell_period(c));
    first_period = std::min(first_period, ind.cell_period(c));
  }
  for (size_t u = 0; u < num_units; ++u) unit_begin[u + 1] += unit_begin[u];
  // Bins of each cell: [bin_begin[c], bin_begin[c + 1]).
  const std::vector<DurationBin>& bins = ind.duration_bins();
  std::vector<size_t> bin_begin(static_cast<size_t>(num_cells) + 1, bins.size());
  for (size_t i = bins.size(); i-- > 0;) {
    const int32_t c = bins[i].cell;
    if (c < 0 || c >= num_cells || (i + 1 < bins.size() && bins[i + 1].cell < c)) {
      return absl::FailedPreconditionError(
          absl::StrCat("duration bin ", i, " has cell ", c, " out of order or range"));
    }
    bin_begin[static_cast<size_t>(c)] = i;
  }
  for (size_t c = static_cast<size_t>(num_cells); c-- > 0;) {
    bin_begin[c] = std::min(bin_begin[c], bin_begin[c + 1]);
  }

  if (num_cells > 0) {
    for (int64_t p = first_period; p <= last_period; ++p) {
      table.period_labels.push_back(ind.calendar().Label(p));
      table.period_index.push_back(p);
    }
  }
  const auto all_label = static_cast<int32_t>(table.period_labels.size());
  if (options.include_all_periods) {
    table.period_labels.push_back("all");
    table.period_index.push_back(kAllPeriods);
  }

  Sums sums(ind);
  std::vector<Figure> figures, previous;
  const auto num_specs = static_cast<int32_t>(specs.size());
  auto emit = [&](int32_t unit, int32_t period, const std::vector<Figure>& now,
                  const std::vector<Figure>* before) -> absl::Status {
    for (int32_t i = 0; i < num_specs; ++i) {
      const Figure& f = now[static_cast<size_t>(i)];
      table.unit.push_back(unit);
      table.period.push_back(period);
      table.indicator.push_back(i);
      table.value.push_back(f.value);
      table.lower.push_back(f.lower);
      table.upper.push_back(f.upper);
      table.n.push_back(f.n);
      table.immature.push_back(f.immature ? 1 : 0);
      double prev = kNaN, p_change = kNaN;
      if (before != nullptr) {
        const Figure& b = (*before)[static_cast<size_t>(i)];
        prev = b.value;
        if (HasWilson(specs[static_cast<size_t>(i)].kind) && b.n > 0 && f.n > 0) {
          absl::StatusOr<ProportionTest> t = TwoProportionTest(b.x, b.n, f.x, f.n);
          if (!t.ok()) return t.status();
          p_change = t->p_value;
        }
      }
      table.previous.push_back(prev);
      table.p_change.push_back(p_change);
    }
    return absl::OkStatus();
  };
  auto context = [&](const absl::Status& s, int32_t u, const std::string& period) {
    return absl::Status(s.code(), absl::StrCat("unit '", ind.unit_names()[static_cast<size_t>(u)],
                                               "', period ", period, ": ", s.message()));
  };

  for (size_t ui = 0; ui < num_units; ++ui) {
    const auto u = static_cast<int32_t>(ui);
    const int64_t begin = unit_begin[ui], end = unit_begin[ui + 1];
    if (begin == end) continue;  // no cell: no period to report
    int64_t c = begin;
    int64_t open_end = 0;
    bool first = true;
    for (int64_t p = ind.cell_period(begin); p <= last_period; ++p) {
      sums.Clear();
      const int64_t open_start = open_end;
      if (c < end && ind.cell_period(c) == p) {
        if (auto s = sums.AddCounters(ind, c); !s.ok()) return context(s, u, ind.calendar().Label(p));
        if (auto s = LoadBins(bins, bin_begin[static_cast<size_t>(c)],
                              bin_begin[static_cast<size_t>(c) + 1], false, sums);
            !s.ok()) {
          return context(s, u, ind.calendar().Label(p));
        }
        ++c;
      }
      // In 128 bits (six terms below 2^63 each cannot overflow it), then checked.
      const Int128 next = static_cast<Int128>(open_start) + sums.C(kCreated) + sums.C(kReopened) -
                          sums.C(kWon) - sums.C(kLost) - sums.C(kExcludedOpen);
      if (next > std::numeric_limits<int64_t>::max() || next < std::numeric_limits<int64_t>::min()) {
        return context(absl::OutOfRangeError("the open deals (open_end) overflow"), u, ind.calendar().Label(p));
      }
      open_end = static_cast<int64_t>(next);
      if (auto s = Evaluate(specs, sums, open_start, open_end, ind.duration_resolution(),
                            options.confidence, ind.action_actors(), figures);
          !s.ok()) {
        return context(s, u, ind.calendar().Label(p));
      }
      if (auto s = emit(u, static_cast<int32_t>(p - first_period), figures, first ? nullptr : &previous);
          !s.ok()) {
        return context(s, u, ind.calendar().Label(p));
      }
      std::swap(figures, previous);
      first = false;
    }
    if (!options.include_all_periods) continue;
    sums.Clear();
    for (int64_t k = begin; k < end; ++k) {
      if (auto s = sums.AddCounters(ind, k); !s.ok()) return context(s, u, "all");
    }
    if (auto s = LoadBins(bins, bin_begin[static_cast<size_t>(begin)],
                          bin_begin[static_cast<size_t>(end)], true, sums);
        !s.ok()) {
      return context(s, u, "all");
    }
    if (auto s = Evaluate(specs, sums, 0, open_end, ind.duration_resolution(), options.confidence,
                          ind.action_actors(), figures);
        !s.ok()) {
      return context(s, u, "all");
    }
    if (auto s = emit(u, all_label, figures, nullptr); !s.ok()) return context(s, u, "all");
  }
  return table;
}

absl::StatusOr<TrendTable> MakeTrends(const IndicatorTable& table, int periods, double confidence) {
  if (periods < 2) {
    return absl::InvalidArgumentError(absl::StrCat("periods must be at least 2, got ", periods));
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("confidence must be in (0, 1), got ", confidence));
  }
  const size_t rows = table.size();
  if (table.unit.size() != rows || table.period.size() != rows || table.indicator.size() != rows) {
    return absl::InvalidArgumentError(absl::StrCat("table columns differ in length: ", rows,
                                                   " values, ", table.unit.size(), " units, ",
                                                   table.period.size(), " periods, ",
                                                   table.indicator.size(), " indicators"));
  }
  if (table.period_index.size() != table.period_labels.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table has ", table.period_labels.size(), " period labels but ",
        table.period_index.size(), " period indices"));
  }
  const size_t num_units = table.unit_names.size();
  const size_t num_ind = table.indicator_names.size();
  // Rows of each (unit, indicator), as (period index, value), periods "all" left out.
  std::vector<std::vector<std::pair<int64_t, double>>> series(num_units * num_ind);
  for (size_t r = 0; r < rows; ++r) {
    const int32_t u = table.unit[r], i = table.indicator[r], p = table.period[r];
    if (u < 0 || static_cast<size_t>(u) >= num_units || i < 0 ||
        static_cast<size_t>(i) >= num_ind || p < 0 ||
        static_cast<size_t>(p) >= table.period_index.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", r, " has a unit, period or indicator out of range"));
    }
    const int64_t index = table.period_index[static_cast<size_t>(p)];
    if (index == kAllPeriods) continue;
    series[static_cast<size_t>(u) * num_ind + static_cast<size_t>(i)].push_back({index, table.value[r]});
  }

  TrendTable out;
  out.unit_names = table.unit_names;
  out.indicator_names = table.indicator_names;
  std::vector<double> y;
  for (size_t u = 0; u < num_units; ++u) {
    for (size_t i = 0; i < num_ind; ++i) {
      auto& v = series[u * num_ind + i];
      std::sort(v.begin(), v.end());
      for (size_t k = 1; k < v.size(); ++k) {
        if (v[k].first == v[k - 1].first) {
          return absl::InvalidArgumentError(absl::StrCat(
              "unit '", table.unit_names[u], "', indicator '", table.indicator_names[i],
              "' has two rows for period index ", v[k].first));
        }
      }
      // The last `periods` calendar periods up to the unit's last one: positions by
      // period index, so a period without a row is a gap (NaN), not a shift.
      y.clear();
      double last = kNaN;
      if (!v.empty()) {
        const int64_t last_index = v.back().first;
        last = v.back().second;
        const int64_t window_start = last_index - (periods - 1);
        auto from = std::lower_bound(
            v.begin(), v.end(), window_start,
            [](const std::pair<int64_t, double>& row, int64_t index) { return row.first < index; });
        const int64_t start = from->first;
        if (last_index - start >= kMaxSpan) {
          return absl::InvalidArgumentError(absl::StrCat(
              "unit '", table.unit_names[u], "', indicator '", table.indicator_names[i],
              "': periods ", start, " to ", last_index, " are too far apart for a trend"));
        }
        y.assign(static_cast<size_t>(last_index - start + 1), kNaN);
        for (auto it = from; it != v.end(); ++it) y[static_cast<size_t>(it->first - start)] = it->second;
      }
      absl::StatusOr<Trend> t = TrendSlope(y, confidence);
      if (!t.ok()) {
        return absl::Status(t.status().code(),
                            absl::StrCat("unit '", table.unit_names[u], "', indicator '",
                                         table.indicator_names[i], "': ", t.status().message()));
      }
      out.unit.push_back(static_cast<int32_t>(u));
      out.indicator.push_back(static_cast<int32_t>(i));
      out.slope.push_back(t->slope);
      out.lower.push_back(t->lower);
      out.upper.push_back(t->upper);
      out.last.push_back(last);
      out.n.push_back(t->n);
    }
  }
  return out;
}

}  // namespace salesperf
