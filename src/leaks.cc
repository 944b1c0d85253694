// Where the bucket leaks: the per unit, cohort and stage fate counts (a mergeable
// accumulator), and their assessment against a benchmark with empirical-Bayes
// shrinkage. See salesperf/leaks.h.
#include "salesperf/leaks.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <cstdint>
#include <iterator>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "concentration.h"
#include "status_macros.h"
#include "salesperf/state.h"
#include "state_sums.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr std::string_view kMagic("SPLEAK\0\1", 8);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using internal::LogRising;
using internal::NoThrow;
using Beta = boost::math::beta_distribution<double, NoThrow>;

bool InCohort(int64_t t, int64_t from, int64_t to) {
  return (from == kNullInstant || t >= from) && (to == kNullInstant || t < to);
}

absl::Status CheckCohorts(const LeakCohorts& c) {
  if (c.cohort_from != kNullInstant && c.cohort_to != kNullInstant && c.cohort_to <= c.cohort_from) {
    return absl::InvalidArgumentError(absl::StrCat("cohort_to (", c.cohort_to, ") must be after cohort_from (",
                                                   c.cohort_from, ")"));
  }
  if (c.cohort_from != kNullInstant && c.past_from != kNullInstant && c.past_from >= c.cohort_from) {
    return absl::InvalidArgumentError(absl::StrCat("past_from (", c.past_from, ") must be before cohort_from (",
                                                   c.cohort_from, ")"));
  }
  return absl::OkStatus();
}


using internal::AddOverflows;

// Units with the same counts, counted once with their multiplicity.
struct Counts {
  int64_t x, n, units;
};

// The beta-binomial log marginal likelihood of the units' counts at concentration exp(t).
double LogLikelihood(std::span<const Counts> groups, double m, double t) {
  const double kappa = std::exp(t);
  const double a = kappa * m, b = kappa * (1.0 - m);
  double s = 0;
  for (const Counts& g : groups) {
    s += static_cast<double>(g.units) * (LogRising(a, g.x) + LogRising(b, g.n - g.x) - LogRising(a + b, g.n));
  }
  return s;
}

struct Prior {
  double m = kNaN;     // pooled rate (NaN: no trials)
  double kappa = 0;    // 0: no shrinkage
  int64_t units = 0;   // units with n >= 1
};

// The empirical-Bayes prior from per-unit counts (validated by the caller).
Prior FitPrior(std::span<const int64_t> converted, std::span<const int64_t> trials) {
  Prior p;
  std::vector<Counts> groups;
  Int128 sx = 0, sn = 0;
  for (size_t u = 0; u < trials.size(); ++u) {
    if (trials[u] < 1) continue;
    groups.push_back(Counts{converted[u], trials[u], 1});
    sx += converted[u];
    sn += trials[u];
  }
  p.units = static_cast<int64_t>(groups.size());
  if (sn == 0) return p;
  p.m = static_cast<double>(sx) / static_cast<double>(sn);
  if (groups.size() < 2 || sx == 0 || sx == sn) return p;
  const double m = p.m;
  std::sort(groups.begin(), groups.end(),
            [](const Counts& a, const Counts& b) { return a.x != b.x ? a.x < b.x : a.n < b.n; });
  size_t kept = 0;
  for (const Counts& g : groups) {
    if (kept > 0 && groups[kept - 1].x == g.x && groups[kept - 1].n == g.n) {
      ++groups[kept - 1].units;
    } else {
      groups[kept++] = g;
    }
  }
  groups.resize(kept);
  p.kappa = internal::MaximizeConcentration([&](double t) { return LogLikelihood(groups, m, t); });
  return p;
}

// Logits clamp their argument to [1e-6, 1 - 1e-6].
double Logit(double p) {
  p = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(p / (1.0 - p));
}
double Expit(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Linear interpolation between order statistics (numpy's default, type 7).
double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const double h = (static_cast<double>(v.size()) - 1.0) * q;
  const auto i = static_cast<size_t>(std::floor(h));
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]);
}

}  // namespace

class LeakBuilder {
 public:
  static size_t O(const LeakCounts& x) { return static_cast<size_t>(x.num_open_); }
  static size_t R(const LeakCounts& x) { return x.reasons_.size(); }

  // Room for `units` units and `reasons` reasons, zeroed.
  static void Size(LeakCounts& x, size_t units, size_t reasons) {
    const size_t o = O(x);
    x.outside_.assign(units, 0);
    x.out_of_window_.assign(units, 0);
    x.deals_.assign(units * 2, 0);
    x.won_.assign(units * 2, 0);
    x.valued_.assign(units * 2, 0);
    x.value_.assign(units * 2, 0);
    for (auto* v : {&x.reached_, &x.entrants_, &x.advanced_, &x.stalled_, &x.open_, &x.excluded_}) {
      v->assign(units * 2 * o, 0);
    }
    x.lost_.assign(units * 2 * o * reasons, 0);
  }

  static bool UnitLive(const LeakCounts& x, size_t u) {
    return x.outside_[u] != 0 || x.out_of_window_[u] != 0 || x.deals_[u * 2] != 0 || x.deals_[u * 2 + 1] != 0;
  }

  // Adds `from` into `to` (same stages; to.unit_names_ and to.reasons_ set): unit u to
  // umap[u], reason r to rmap[r] (-1: dropped; only for units and reasons holding
  // nothing). OutOfRange, naming the count and the unit, when a sum overflows; `to`
  // then holds part of the sums (callers discard it).
  static absl::Status AddMapped(LeakCounts& to, const LeakCounts& from, std::span<const int32_t> umap,
                                std::span<const int32_t> rmap, std::string_view verb) {
    const size_t o = O(from), rf = R(from), rt = R(to);
    static constexpr const char* kCohortName[] = {"current", "past"};
    for (size_t u = 0; u < umap.size(); ++u) {
      if (umap[u] < 0) continue;
      const auto v = static_cast<size_t>(umap[u]);
      auto overflow = [&](std::string_view what) {
        return absl::OutOfRangeError(absl::StrCat(Sv(verb), " would overflow the ", Sv(what), " for unit '",
                                                  to.unit_names_[v], "'"));
      };
      if (AddOverflows(to.outside_[v], from.outside_[u])) return overflow("count of outside");
      if (AddOverflows(to.out_of_window_[v], from.out_of_window_[u])) return overflow("count of out_of_window");
      for (size_t c = 0; c < 2; ++c) {
        const size_t a = u * 2 + c, b = v * 2 + c;
        auto count = [&](std::string_view field) {
          return overflow(absl::StrCat("count of ", Sv(field), " (", kCohortName[c], " cohort)"));
        };
        if (AddOverflows(to.deals_[b], from.deals_[a])) return count("deals");
        if (AddOverflows(to.won_[b], from.won_[a])) return count("won");
        if (AddOverflows(to.valued_[b], from.valued_[a])) return count("valued");
        if (AddOverflows(to.value_[b], from.value_[a])) {
          return overflow(absl::StrCat("value sum (", kCohortName[c], " cohort)"));
        }
        for (size_t k = 0; k < o; ++k) {
          const size_t ak = a * o + k, bk = b * o + k;
          auto stage = [&](std::string_view field) {
            return overflow(absl::StrCat("count of ", Sv(field), " at stage '", to.stage_names_[k], "' (",
                                         kCohortName[c], " cohort)"));
          };
          if (AddOverflows(to.reached_[bk], from.reached_[ak])) return stage("reached");
          if (AddOverflows(to.entrants_[bk], from.entrants_[ak])) return stage("entrants");
          if (AddOverflows(to.advanced_[bk], from.advanced_[ak])) return stage("advanced");
          if (AddOverflows(to.stalled_[bk], from.stalled_[ak])) return stage("stalled");
          if (AddOverflows(to.open_[bk], from.open_[ak])) return stage("open");
          if (AddOverflows(to.excluded_[bk], from.excluded_[ak])) return stage("excluded");
          for (size_t r = 0; r < rf; ++r) {
            if (rmap[r] < 0) continue;
            const auto rt_r = static_cast<size_t>(rmap[r]);
            if (AddOverflows(to.lost_[bk * rt + rt_r], from.lost_[ak * rf + r])) {
              return stage(absl::StrCat("lost for reason '", to.reasons_[rt_r], "'"));
            }
          }
        }
      }
    }
    return absl::OkStatus();
  }

  static bool ReasonLive(const LeakCounts& x, size_t r) {
    const size_t rn = R(x);
    for (size_t i = r; i < x.lost_.size(); i += rn) {
      if (x.lost_[i] != 0) return true;
    }
    return false;
  }

  // Units sorted by name (names distinct), empty ones dropped; reasons sorted by name
  // (equal names summed: OutOfRange if that overflows), empty ones dropped.
  static absl::Status Canonicalize(LeakCounts& x) {
    std::vector<std::string> units;
    for (size_t u = 0; u < x.unit_names_.size(); ++u) {
      if (UnitLive(x, u)) units.push_back(x.unit_names_[u]);
    }
    std::sort(units.begin(), units.end());
    std::vector<std::string> reasons;
    for (size_t r = 0; r < x.reasons_.size(); ++r) {
      if (ReasonLive(x, r)) reasons.push_back(x.reasons_[r]);
    }
    std::sort(reasons.begin(), reasons.end());
    reasons.erase(std::unique(reasons.begin(), reasons.end()), reasons.end());
    std::vector<int32_t> umap(x.unit_names_.size(), -1), rmap(x.reasons_.size(), -1);
    for (size_t u = 0; u < x.unit_names_.size(); ++u) {
      if (!UnitLive(x, u)) continue;
      umap[u] = static_cast<int32_t>(std::lower_bound(units.begin(), units.end(), x.unit_names_[u]) - units.begin());
    }
    for (size_t r = 0; r < x.reasons_.size(); ++r) {
      if (!ReasonLive(x, r)) continue;
      rmap[r] = static_cast<int32_t>(std::lower_bound(reasons.begin(), reasons.end(), x.reasons_[r]) - reasons.begin());
    }
    LeakCounts out;
    out.stage_names_ = x.stage_names_;
    out.num_open_ = x.num_open_;
    out.cohorts_ = x.cohorts_;
    out.unit_kind_ = x.unit_kind_;
    out.unit_names_ = std::move(units);
    out.reasons_ = std::move(reasons);
    Size(out, out.unit_names_.size(), out.reasons_.size());
    SALESPERF_RETURN_IF_ERROR(AddMapped(out, x, umap, rmap, "tallying"));
    x = std::move(out);
    return absl::OkStatus();
  }

  static absl::Status Update(LeakCounts& x, const EventLog& log, const Timelines& tl, const Units& units);
  static absl::Status Merge(LeakCounts& x, const LeakCounts& other);
  static std::string Serialize(const LeakCounts& x);
  static absl::StatusOr<LeakCounts> Deserialize(std::string_view bytes);
};

absl::StatusOr<LeakCounts> LeakCounts::Create(std::vector<std::string> stage_names, int32_t num_open,
                                              LeakCohorts cohorts) {
  if (num_open < 0 || stage_names.size() != static_cast<size_t>(num_open) + 2) {
    return absl::InvalidArgumentError(absl::StrCat(stage_names.size(), " stage names do not hold ", num_open,
                                                   " open stages plus Won and Lost"));
  }
  SALESPERF_RETURN_IF_ERROR(CheckCohorts(cohorts));
  LeakCounts x;
  x.stage_names_ = std::move(stage_names);
  x.num_open_ = num_open;
  x.cohorts_ = cohorts;
  return x;
}

absl::Status LeakBuilder::Update(LeakCounts& x, const EventLog& log, const Timelines& tl, const Units& units) {
  if (tl.stage_names != x.stage_names_ || tl.num_open != x.num_open_) {
    return absl::FailedPreconditionError("the timelines' stages differ from the leak counts'");
  }
  if (!x.unit_names_.empty() && units.kind != x.unit_kind_) {
    return absl::FailedPreconditionError(
        absl::StrCat("units of kind '", Sv(units.kind), "' added to leak counts of '", Sv(x.unit_kind_), "'"));
  }
  const int32_t D = log.num_deals();
  const auto nd = static_cast<size_t>(D);
  const int32_t O = x.num_open_;
  const auto o = static_cast<size_t>(O);
  const size_t S = o + 2;
  if (tl.current_stage.size() != nd || tl.outcome.size() != nd || tl.value.size() != nd ||
      tl.lost_reason.size() != nd || tl.first_entered.size() != nd * S || units.of_deal.size() != nd) {
    return absl::FailedPreconditionError("the timelines or units do not fit the log (deal counts differ)");
  }
  const auto U = static_cast<int32_t>(units.names.size());
  const int32_t A = log.actions().size();
  // Reasons: the action codes that lose a deal, and the stall close, numbered in one
  // pre-pass so the counting pass allocates nothing per deal.
  std::vector<int32_t> slot(static_cast<size_t>(A) + 1, -1);  // action code; last: stalled
  std::vector<std::string> reasons;
  for (size_t d = 0; d < nd; ++d) {
    if (units.of_deal[d] < 0 || units.of_deal[d] >= U) {
      return absl::FailedPreconditionError(absl::StrCat("the unit of deal ", d, " is out of range"));
    }
    if (tl.outcome[d] > static_cast<uint8_t>(Outcome::kExcluded)) {
      return absl::FailedPreconditionError(absl::StrCat("the outcome of deal ", d, " is not an Outcome"));
    }
    if (static_cast<Outcome>(tl.outcome[d]) != Outcome::kLost) continue;
    const int32_t reason = tl.lost_reason[d];
    size_t s = 0;
    if (reason == kReasonStalled) {
      s = static_cast<size_t>(A);
    } else if (reason >= 0 && reason < A) {
      s = static_cast<size_t>(reason);
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("the lost reason of deal ", d, " (", reason, ") does not fit the log's actions"));
    }
    if (slot[s] < 0) {
      slot[s] = static_cast<int32_t>(reasons.size());
      reasons.push_back(s == static_cast<size_t>(A) ? std::string(kStalledReason) : log.actions().Label(reason));
    }
  }

  LeakCounts part;
  part.stage_names_ = x.stage_names_;
  part.num_open_ = O;
  part.cohorts_ = x.cohorts_;
  part.unit_kind_ = units.kind;
  part.unit_names_ = units.names;
  part.reasons_ = std::move(reasons);
  const size_t R = part.reasons_.size();
  Size(part, units.names.size(), R);
  const LeakCohorts& co = x.cohorts_;
  const bool has_past = co.cohort_from != kNullInstant;

  for (size_t d = 0; d < nd; ++d) {
    const auto u = static_cast<size_t>(units.of_deal[d]);
    const int64_t* fe = tl.first_entered.data() + d * S;
    int32_t entry = -1, highest = -1;
    int64_t entry_time = kNullInstant;
    for (int32_t k = 0; k < O; ++k) {
      const int64_t t = fe[k];
      if (t == kNullInstant) continue;
      if (entry < 0) {
        entry = k;
        entry_time = t;
      } else {
        entry_time = std::min(entry_time, t);
      }
      highest = k;
    }
    if (entry < 0) {
      ++part.outside_[u];
      continue;
    }
    size_t c = 0;
    if (InCohort(entry_time, co.cohort_from, co.cohort_to)) {
      c = 0;
    } else if (has_past && InCohort(entry_time, co.past_from, co.cohort_from)) {
      c = 1;
    } else {
      ++part.out_of_window_[u];
      continue;
    }
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    const int32_t furthest = outcome == Outcome::kWon ? O : highest;
    const size_t uc = u * 2 + c;
    ++part.deals_[uc];
    if (outcome == Outcome::kWon) ++part.won_[uc];
    const double value = tl.value[d];
    if (!std::isnan(value)) {
      if (!(std::fabs(value) < kMaxDollars)) {
        return absl::InvalidArgumentError(
            absl::StrCat("deal '", log.deals().Label(static_cast<int32_t>(d)), "' has the value ", value,
                         ", too large for exact dollar sums (the magnitude must be below 9e14)"));
      }
      ++part.valued_[uc];
      // Rounded half away from zero, as Indicators rounds.
      part.value_[uc] += std::llround(value * static_cast<double>(kDollarScale));
    }
    const size_t base = uc * o;
    ++part.entrants_[base + static_cast<size_t>(entry)];
    const int32_t last = std::min(furthest, O - 1);
    for (int32_t k = entry; k <= last; ++k) {
      ++part.reached_[base + static_cast<size_t>(k)];
      if (furthest > k) ++part.advanced_[base + static_cast<size_t>(k)];
    }
    if (furthest < O) {
      const size_t cell = base + static_cast<size_t>(furthest);
      switch (outcome) {
        case Outcome::kLost: {
          const int32_t reason = tl.lost_reason[d];
          const size_t s = reason == kReasonStalled ? static_cast<size_t>(A) : static_cast<size_t>(reason);
          ++part.lost_[cell * R + static_cast<size_t>(slot[s])];
          break;
        }
        case Outcome::kStalled: ++part.stalled_[cell]; break;
        case Outcome::kOpen: ++part.open_[cell]; break;
        case Outcome::kExcluded: ++part.excluded_[cell]; break;
        case Outcome::kWon: break;  // furthest is O
      }
    }
  }

  SALESPERF_RETURN_IF_ERROR(Canonicalize(part));
  if (x.unit_names_.empty()) x.unit_kind_ = units.kind;
  return Merge(x, part);
}

absl::Status LeakBuilder::Merge(LeakCounts& x, const LeakCounts& other) {
  if (other.stage_names_ != x.stage_names_ || other.num_open_ != x.num_open_) {
    return absl::FailedPreconditionError("the leak counts' stages differ");
  }
  if (!(other.cohorts_ == x.cohorts_)) {
    return absl::FailedPreconditionError("the leak counts' cohorts differ");
  }
  if (!x.unit_kind_.empty() && !other.unit_kind_.empty() && other.unit_kind_ != x.unit_kind_) {
    return absl::FailedPreconditionError(absl::StrCat("the leak counts' unit kinds differ: '", Sv(x.unit_kind_),
                                                      "' and '", Sv(other.unit_kind_), "'"));
  }
  std::vector<std::string> units, reasons;
  std::set_union(x.unit_names_.begin(), x.unit_names_.end(), other.unit_names_.begin(), other.unit_names_.end(),
                 std::back_inserter(units));
  std::set_union(x.reasons_.begin(), x.reasons_.end(), other.reasons_.begin(), other.reasons_.end(),
                 std::back_inserter(reasons));
  LeakCounts out;
  out.stage_names_ = x.stage_names_;
  out.num_open_ = x.num_open_;
  out.cohorts_ = x.cohorts_;
  out.unit_kind_ = x.unit_kind_.empty() ? other.unit_kind_ : x.unit_kind_;
  Size(out, units.size(), reasons.size());
  out.reasons_ = reasons;
  out.unit_names_ = units;
  // Into a new object, assigned only when no sum overflows: a failed merge leaves `x`
  // as it was.
  for (const LeakCounts* side : {static_cast<const LeakCounts*>(&x), &other}) {
    std::vector<int32_t> umap(side->unit_names_.size()), rmap(side->reasons_.size());
    for (size_t u = 0; u < umap.size(); ++u) {
      umap[u] = static_cast<int32_t>(std::lower_bound(units.begin(), units.end(), side->unit_names_[u]) -
                                     units.begin());
    }
    for (size_t r = 0; r < rmap.size(); ++r) {
      rmap[r] = static_cast<int32_t>(std::lower_bound(reasons.begin(), reasons.end(), side->reasons_[r]) -
                                     reasons.begin());
    }
    SALESPERF_RETURN_IF_ERROR(AddMapped(out, *side, umap, rmap, "merging"));
  }
  x = std::move(out);
  return absl::OkStatus();
}

std::string LeakBuilder::Serialize(const LeakCounts& x) {
  StateWriter w;
  const size_t o = O(x), r = R(x), U = x.unit_names_.size();
  w.Reserve(128 + U * (16 + 2 * (40 + o * (48 + 8 * r))));
  w.U32(static_cast<uint32_t>(x.stage_names_.size()));
  w.U32(static_cast<uint32_t>(x.num_open_));
  for (const std::string& s : x.stage_names_) w.String(s);
  w.I64(x.cohorts_.cohort_from);
  w.I64(x.cohorts_.cohort_to);
  w.I64(x.cohorts_.past_from);
  w.String(x.unit_kind_);
  w.U32(static_cast<uint32_t>(U));
  for (const std::string& s : x.unit_names_) w.String(s);
  w.U32(static_cast<uint32_t>(r));
  for (const std::string& s : x.reasons_) w.String(s);
  for (size_t u = 0; u < U; ++u) {
    w.I64(x.outside_[u]);
    w.I64(x.out_of_window_[u]);
  }
  for (size_t uc = 0; uc < U * 2; ++uc) {
    w.I64(x.deals_[uc]);
    w.I64(x.won_[uc]);
    w.I64(x.valued_[uc]);
    w.I128(x.value_[uc]);
    for (size_t k = 0; k < o; ++k) {
      const size_t i = uc * o + k;
      w.I64(x.reached_[i]);
      w.I64(x.entrants_[i]);
      w.I64(x.advanced_[i]);
      w.I64(x.stalled_[i]);
      w.I64(x.open_[i]);
      w.I64(x.excluded_[i]);
      w.I64s(std::span<const int64_t>(x.lost_.data() + i * r, r));
    }
  }
  return WrapState(kMagic, LeakCounts::kFormatVersion, w.bytes());
}

absl::StatusOr<LeakCounts> LeakBuilder::Deserialize(std::string_view bytes) {
  absl::StatusOr<std::string_view> payload = UnwrapState(bytes, kMagic, LeakCounts::kFormatVersion, "leak counts");
  if (!payload.ok()) return payload.status();
  StateReader rd(*payload);
  auto corrupt = [](std::string_view why) {
    return absl::DataLossError(absl::StrCat("leak counts state corrupt: ", Sv(why)));
  };
  LeakCounts x;
  uint32_t num_stages = 0, num_open = 0;
  SALESPERF_RETURN_IF_ERROR(rd.Count32(num_stages, 4, "stage count"));
  SALESPERF_RETURN_IF_ERROR(rd.U32(num_open, "open stage count"));
  // No stages at all: only a default-constructed LeakCounts() (checked at the end).
  const bool stageless = num_stages == 0 && num_open == 0;
  if (!stageless && (num_stages < 2 || num_open != num_stages - 2)) {
    return corrupt(absl::StrCat(num_stages, " stages do not hold ", num_open, " open ones plus Won and Lost"));
  }
  x.num_open_ = static_cast<int32_t>(num_open);
  x.stage_names_.resize(num_stages);
  for (std::string& s : x.stage_names_) SALESPERF_RETURN_IF_ERROR(rd.String(s, "stage name"));
  SALESPERF_RETURN_IF_ERROR(rd.I64(x.cohorts_.cohort_from, "cohort_from"));
  SALESPERF_RETURN_IF_ERROR(rd.I64(x.cohorts_.cohort_to, "cohort_to"));
  SALESPERF_RETURN_IF_ERROR(rd.I64(x.cohorts_.past_from, "past_from"));
  if (!CheckCohorts(x.cohorts_).ok()) return corrupt("the cohort bounds are out of order");
  SALESPERF_RETURN_IF_ERROR(rd.String(x.unit_kind_, "unit kind"));
  uint32_t num_units = 0, num_reasons = 0;
  SALESPERF_RETURN_IF_ERROR(rd.Count32(num_units, 4, "unit count"));
  x.unit_names_.resize(num_units);
  for (std::string& s : x.unit_names_) SALESPERF_RETURN_IF_ERROR(rd.String(s, "unit name"));
  for (size_t u = 1; u < x.unit_names_.size(); ++u) {
    if (!(x.unit_names_[u - 1] < x.unit_names_[u])) return corrupt("unit names are not sorted and distinct");
  }
  SALESPERF_RETURN_IF_ERROR(rd.Count32(num_reasons, 4, "reason count"));
  x.reasons_.resize(num_reasons);
  for (std::string& s : x.reasons_) SALESPERF_RETURN_IF_ERROR(rd.String(s, "reason name"));
  for (size_t r = 1; r < x.reasons_.size(); ++r) {
    if (!(x.reasons_[r - 1] < x.reasons_[r])) return corrupt("reason names are not sorted and distinct");
  }
  const uint64_t o = num_open, R = num_reasons;
  // Bytes per unit: 16, then per cohort 40 and per stage 48 + 8 R (o < 2^30, R < 2^30).
  const uint64_t per_unit = 16 + 2 * (40 + o * (48 + 8 * R));
  if (num_units > rd.remaining() / per_unit) {
    return absl::DataLossError("leak counts state truncated while reading unit counts");
  }
  Size(x, num_units, num_reasons);
  for (size_t u = 0; u < num_units; ++u) {
    SALESPERF_RETURN_IF_ERROR(rd.I64(x.outside_[u], "outside"));
    SALESPERF_RETURN_IF_ERROR(rd.I64(x.out_of_window_[u], "out_of_window"));
  }
  for (size_t uc = 0; uc < size_t{num_units} * 2; ++uc) {
    SALESPERF_RETURN_IF_ERROR(rd.I64(x.deals_[uc], "deals"));
    SALESPERF_RETURN_IF_ERROR(rd.I64(x.won_[uc], "won"));
    SALESPERF_RETURN_IF_ERROR(rd.I64(x.valued_[uc], "valued"));
    SALESPERF_RETURN_IF_ERROR(rd.I128(x.value_[uc], "value"));
    for (size_t k = 0; k < o; ++k) {
      const size_t i = uc * o + k;
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.reached_[i], "reached"));
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.entrants_[i], "entrants"));
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.advanced_[i], "advanced"));
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.stalled_[i], "stalled"));
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.open_[i], "open"));
      SALESPERF_RETURN_IF_ERROR(rd.I64(x.excluded_[i], "excluded"));
      SALESPERF_RETURN_IF_ERROR(rd.I64s(std::span<int64_t>(x.lost_.data() + i * R, R), "lost"));
    }
  }
  SALESPERF_RETURN_IF_ERROR(rd.Done());

  // Contents no Update could produce. Sums in 128 bits: corrupt counts may be huge.
  for (const auto* v : {&x.outside_, &x.out_of_window_, &x.deals_, &x.won_, &x.valued_, &x.reached_, &x.entrants_,
                        &x.advanced_, &x.stalled_, &x.open_, &x.excluded_, &x.lost_}) {
    for (const int64_t c : *v) {
      if (c < 0) return corrupt("a count is negative");
    }
  }
  const bool has_past = x.cohorts_.cohort_from != kNullInstant;
  for (size_t u = 0; u < num_units; ++u) {
    if (!UnitLive(x, u)) return corrupt("a unit holds no deal");
    for (size_t c = 0; c < 2; ++c) {
      const size_t uc = u * 2 + c;
      if (c == 1 && !has_past && x.deals_[uc] != 0) return corrupt("a past cohort without cohort_from");
      if (x.valued_[uc] > x.deals_[uc]) return corrupt("more valued deals than deals");
      if (x.valued_[uc] == 0 && x.value_[uc] != 0) return corrupt("a value sum without valued deals");
      const Int128 limit = static_cast<Int128>(x.valued_[uc]) * static_cast<Int128>(kMaxDollars * kDollarScale);
      if (x.value_[uc] > limit || x.value_[uc] < -limit) return corrupt("a value sum beyond its deals' values");
      Int128 entrants = 0;
      for (size_t k = 0; k < o; ++k) {
        const size_t i = uc * o + k;
        entrants += x.entrants_[i];
        Int128 fates = static_cast<Int128>(x.advanced_[i]) + x.stalled_[i] + x.open_[i] + x.excluded_[i];
        for (size_t r = 0; r < R; ++r) fates += x.lost_[i * R + r];
        if (fates != x.reached_[i]) return corrupt("reached differs from the sum of fates");
        const Int128 into = k == 0 ? Int128{0} : static_cast<Int128>(x.advanced_[i - 1]);
        if (static_cast<Int128>(x.reached_[i]) != into + x.entrants_[i]) {
          return corrupt("reached differs from advanced before plus entrants");
        }
      }
      if (entrants != x.deals_[uc]) return corrupt("deals differ from the entrants");
      const int64_t won = o == 0 ? 0 : x.advanced_[uc * o + o - 1];
      if (x.won_[uc] != won) return corrupt("won differs from the advanced at the last stage");
    }
  }
  for (size_t r = 0; r < R; ++r) {
    if (!ReasonLive(x, r)) return corrupt("a reason holds no deal");
  }
  if (stageless && !(x == LeakCounts())) {
    return corrupt("0 stages do not hold 0 open ones plus Won and Lost (only a default-constructed state has none)");
  }
  return x;
}

absl::Status LeakCounts::Update(const EventLog& log, const Timelines& timelines, const Units& units) {
  return LeakBuilder::Update(*this, log, timelines, units);
}
absl::Status LeakCounts::Merge(const LeakCounts& other) { return LeakBuilder::Merge(*this, other); }
std::string LeakCounts::Serialize() const { return LeakBuilder::Serialize(*this); }
absl::StatusOr<LeakCounts> LeakCounts::Deserialize(std::string_view bytes) { return LeakBuilder::Deserialize(bytes); }

namespace {
size_t UC(int32_t u, Cohort c) { return static_cast<size_t>(u) * 2 + static_cast<size_t>(c); }
}  // namespace

int64_t LeakCounts::outside(int32_t u) const { return outside_[static_cast<size_t>(u)]; }
int64_t LeakCounts::out_of_window(int32_t u) const { return out_of_window_[static_cast<size_t>(u)]; }
int64_t LeakCounts::deals(int32_t u, Cohort c) const { return deals_[UC(u, c)]; }
int64_t LeakCounts::won(int32_t u, Cohort c) const { return won_[UC(u, c)]; }
int64_t LeakCounts::valued(int32_t u, Cohort c) const { return valued_[UC(u, c)]; }
Int128 LeakCounts::value_fixed(int32_t u, Cohort c) const { return value_[UC(u, c)]; }
int64_t LeakCounts::reached(int32_t u, Cohort c, int32_t k) const {
  return reached_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::entrants(int32_t u, Cohort c, int32_t k) const {
  return entrants_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::advanced(int32_t u, Cohort c, int32_t k) const {
  return advanced_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::stalled(int32_t u, Cohort c, int32_t k) const {
  return stalled_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::open(int32_t u, Cohort c, int32_t k) const {
  return open_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::excluded(int32_t u, Cohort c, int32_t k) const {
  return excluded_[UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k)];
}
int64_t LeakCounts::lost(int32_t u, Cohort c, int32_t k, int32_t reason) const {
  const size_t i = UC(u, c) * static_cast<size_t>(num_open_) + static_cast<size_t>(k);
  return lost_[i * reasons_.size() + static_cast<size_t>(reason)];
}

absl::StatusOr<LeakCounts> CountLeaks(const EventLog& log, const Timelines& timelines, const Units& units,
                                      LeakCohorts cohorts) {
  SALESPERF_RETURN_IF_ERROR(CheckCohorts(cohorts));
  absl::StatusOr<LeakCounts> x = LeakCounts::Create(timelines.stage_names, timelines.num_open, cohorts);
  if (!x.ok()) return absl::FailedPreconditionError(x.status().message());
  SALESPERF_RETURN_IF_ERROR(x->Update(log, timelines, units));
  return x;
}

std::string_view BenchmarkName(Benchmark b) {
  switch (b) {
    case Benchmark::kTeamMedian: return "team_median";
    case Benchmark::kTopQuartile: return "top_quartile";
    case Benchmark::kTarget: return "target";
    case Benchmark::kOwnPast: return "own_past";
  }
  return "unknown";
}

absl::StatusOr<double> BetaBinomialConcentration(std::span<const int64_t> converted,
                                                 std::span<const int64_t> trials) {
  if (converted.size() != trials.size()) {
    return absl::InvalidArgumentError(absl::StrCat("converted has ", converted.size(), " counts, trials ",
                                                   trials.size()));
  }
  for (size_t u = 0; u < trials.size(); ++u) {
    if (converted[u] < 0 || trials[u] < 0 || converted[u] > trials[u]) {
      return absl::InvalidArgumentError(absl::StrCat("unit ", u, ": need 0 <= converted <= trials, got ",
                                                     converted[u], " of ", trials[u]));
    }
  }
  return FitPrior(converted, trials).kappa;
}

namespace {

absl::Status CheckOptions(const LeakCounts& counts, const LeakOptions& op) {
  const int32_t O = counts.num_open();
  if (static_cast<uint8_t>(op.benchmark) > static_cast<uint8_t>(Benchmark::kOwnPast)) {
    return absl::InvalidArgumentError(
        absl::StrCat("benchmark ", static_cast<int>(op.benchmark), " is not a Benchmark"));
  }
  if (static_cast<uint8_t>(op.value) > static_cast<uint8_t>(ValueBasis::kOrganisation)) {
    return absl::InvalidArgumentError(absl::StrCat("value ", static_cast<int>(op.value), " is not a ValueBasis"));
  }
  if (op.benchmark == Benchmark::kTarget || !op.target.empty()) {
    if (op.target.size() != static_cast<size_t>(O)) {
      return absl::InvalidArgumentError(absl::StrCat("target has ", op.target.size(), " rates; the counts have ",
                                                     O, " open stages"));
    }
    for (size_t k = 0; k < op.target.size(); ++k) {
      const double t = op.target[k];
      if (!std::isnan(t) && !(t >= 0.0 && t <= 1.0)) {
        return absl::InvalidArgumentError(absl::StrCat("target[", k, "] = ", t, " is outside [0, 1]"));
      }
    }
  }
  if (op.benchmark == Benchmark::kOwnPast && counts.cohorts().cohort_from == kNullInstant) {
    return absl::InvalidArgumentError(
        "benchmark own_past needs a past cohort: the counts were made without cohort_from");
  }
  if (op.min_trials < 1) {
    return absl::InvalidArgumentError(absl::StrCat("min_trials must be at least 1, got ", op.min_trials));
  }
  if (!(op.interval > 0.0 && op.interval < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("interval must be in (0, 1), got ", op.interval));
  }
  if (!(op.flag_probability > 0.0 && op.flag_probability <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag_probability must be in (0, 1], got ", op.flag_probability));
  }
  if (!(op.min_relative_shortfall >= 0.0 && op.min_relative_shortfall <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_relative_shortfall must be in [0, 1], got ", op.min_relative_shortfall));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LeakAssessment> AssessLeaks(const LeakCounts& counts, const LeakOptions& options) {
  SALESPERF_RETURN_IF_ERROR(CheckOptions(counts, options));
  const int32_t O = counts.num_open();
  const auto o = static_cast<size_t>(O);
  const int32_t U = counts.num_units();
  const auto nu = static_cast<size_t>(U);
  const int32_t RN = counts.num_reasons();
  LeakAssessment a;
  a.stage_names = counts.stage_names();
  a.num_open = O;
  a.unit_names = counts.unit_names();
  a.benchmark = options.benchmark;

  std::vector<uint8_t> disq(static_cast<size_t>(RN), 0);
  for (int32_t r = 0; r < RN; ++r) {
    const std::string& name = counts.reasons()[static_cast<size_t>(r)];
    disq[static_cast<size_t>(r)] =
        std::find(options.disqualify.begin(), options.disqualify.end(), name) != options.disqualify.end() ? 1 : 0;
  }
  // Trials and conversions per cohort, unit and stage (unit-major).
  auto tally = [&](Cohort c, std::vector<int64_t>& x, std::vector<int64_t>& n, std::vector<int64_t>* lost,
                   std::vector<int64_t>* dq) {
    x.assign(nu * o, 0);
    n.assign(nu * o, 0);
    if (lost != nullptr) lost->assign(nu * o, 0);
    if (dq != nullptr) dq->assign(nu * o, 0);
    for (int32_t u = 0; u < U; ++u) {
      for (int32_t k = 0; k < O; ++k) {
        const size_t i = static_cast<size_t>(u) * o + static_cast<size_t>(k);
        int64_t l = 0, d = 0;
        for (int32_t r = 0; r < RN; ++r) (disq[static_cast<size_t>(r)] ? d : l) += counts.lost(u, c, k, r);
        x[i] = counts.advanced(u, c, k);
        n[i] = x[i] + l + d + counts.stalled(u, c, k);
        if (lost != nullptr) (*lost)[i] = l;
        if (dq != nullptr) (*dq)[i] = d;
      }
    }
  };
  std::vector<int64_t> x, n, lost, dq;
  tally(Cohort::kCurrent, x, n, &lost, &dq);

  // Priors per stage, current cohort; benchmarks per unit and stage.
  a.pooled_rate.assign(o, kNaN);
  a.concentration.assign(o, 0.0);
  a.stage_benchmark.assign(o, kNaN);
  a.stage_units.assign(o, 0);
  std::vector<double> bench(nu * o, kNaN);
  std::vector<int64_t> sx(nu), sn(nu);
  for (size_t k = 0; k < o; ++k) {
    for (size_t u = 0; u < nu; ++u) {
      sx[u] = x[u * o + k];
      sn[u] = n[u * o + k];
    }
    const Prior p = FitPrior(sx, sn);
    a.pooled_rate[k] = p.m;
    a.concentration[k] = p.kappa;
    a.stage_units[k] = p.units;
    double b = kNaN;
    if (options.benchmark == Benchmark::kTeamMedian || options.benchmark == Benchmark::kTopQuartile) {
      std::vector<double> rates;
      for (size_t u = 0; u < nu; ++u) {
        if (sn[u] >= options.min_trials) {
          rates.push_back((static_cast<double>(sx[u]) + p.kappa * p.m) / (static_cast<double>(sn[u]) + p.kappa));
        }
      }
      b = Percentile(std::move(rates), options.benchmark == Benchmark::kTeamMedian ? 0.5 : 0.75);
    } else if (options.benchmark == Benchmark::kTarget) {
      b = options.target[k];
    }
    if (options.benchmark != Benchmark::kOwnPast) {
      a.stage_benchmark[k] = b;
      for (size_t u = 0; u < nu; ++u) bench[u * o + k] = b;
    }
  }
  if (options.benchmark == Benchmark::kOwnPast) {
    std::vector<int64_t> px, pn;
    tally(Cohort::kPast, px, pn, nullptr, nullptr);
    for (size_t k = 0; k < o; ++k) {
      for (size_t u = 0; u < nu; ++u) {
        sx[u] = px[u * o + k];
        sn[u] = pn[u * o + k];
      }
      const Prior p = FitPrior(sx, sn);
      for (size_t u = 0; u < nu; ++u) {
        // A unit without past trials is benchmarked at the pooled past rate (also when
        // κ = 0, where the formula would give 0 / 0).
        bench[u * o + k] = sn[u] == 0 ? p.m
                                      : (static_cast<double>(sx[u]) + p.kappa * p.m) /
                                            (static_cast<double>(sn[u]) + p.kappa);
      }
    }
  }

  // Average deal values.
  // Over units in 128 bits: deserialized counts may each be near INT64_MAX (valued)
  // and near INT64_MAX x 9e18 (value sums), so the int64 count and even the Int128 sum
  // can overflow; the latter then falls back to a sum of doubles.
  Int128 org_fixed = 0, org_valued = 0;
  bool fixed_overflows = false;
  for (int32_t u = 0; u < U; ++u) {
    fixed_overflows = fixed_overflows || AddOverflows(org_fixed, counts.value_fixed(u, Cohort::kCurrent));
    org_valued += counts.valued(u, Cohort::kCurrent);
  }
  double org_dollars = FixedToDollars(org_fixed);
  if (fixed_overflows) {
    org_dollars = 0;
    for (int32_t u = 0; u < U; ++u) org_dollars += FixedToDollars(counts.value_fixed(u, Cohort::kCurrent));
  }
  const double org_avg = org_valued > 0 ? org_dollars / static_cast<double>(org_valued) : kNaN;
  a.average_value.assign(nu, org_avg);
  if (options.value == ValueBasis::kUnit) {
    for (int32_t u = 0; u < U; ++u) {
      const int64_t v = counts.valued(u, Cohort::kCurrent);
      if (v > 0) a.average_value[static_cast<size_t>(u)] = FixedToDollars(counts.value_fixed(u, Cohort::kCurrent)) / static_cast<double>(v);
    }
  }

  // Rows.
  LeakRows& w = a.rows;
  const size_t rows = nu * o;
  for (auto* v : {&w.unit, &w.stage, &w.rank}) v->resize(rows);
  for (auto* v : {&w.reached, &w.entrants, &w.advanced, &w.lost, &w.disqualified, &w.stalled, &w.open,
                  &w.excluded, &w.trials}) {
    v->resize(rows);
  }
  for (auto* v : {&w.rate, &w.shrunk_rate, &w.benchmark, &w.expected, &w.shortfall, &w.shrunk_shortfall,
                  &w.shortfall_lower, &w.shortfall_upper, &w.probability_real, &w.downstream_win,
                  &w.average_value, &w.dollars, &w.shrunk_dollars, &w.dollars_lower, &w.dollars_upper,
                  &w.unit_level, &w.own_benchmark, &w.own_shortfall, &w.own_probability}) {
    v->resize(rows);
  }
  w.flagged.resize(rows);
  const double tail = (1.0 - options.interval) / 2.0;
  a.benchmark_wins.assign(nu, 0.0);
  a.pending_wins.assign(nu, 0.0);
  a.won.assign(nu, 0);
  a.gap.assign(nu, 0.0);
  a.gap_dollars.assign(nu, 0.0);
  a.shrunk_gap_dollars.assign(nu, 0.0);
  a.chance_dollars.assign(nu, 0.0);
  std::vector<double> down(o + 1), dev(o);
  for (int32_t u = 0; u < U; ++u) {
    const auto us = static_cast<size_t>(u);
    // down[k + 1] = D_k = Π_{j>k} b_j; down[0] = D_{-1}.
    down[o] = 1.0;
    for (size_t k = o; k-- > 0;) down[k] = down[k + 1] * bench[us * o + k];
    const double avg = a.average_value[us];
    double bw = 0, pw = 0, shrunk_sum = 0;
    for (int32_t k = 0; k < O; ++k) {
      const auto ks = static_cast<size_t>(k);
      const size_t i = us * o + ks;
      const Cohort c = Cohort::kCurrent;
      w.unit[i] = u;
      w.stage[i] = k;
      w.reached[i] = counts.reached(u, c, k);
      w.entrants[i] = counts.entrants(u, c, k);
      w.advanced[i] = counts.advanced(u, c, k);
      w.lost[i] = lost[i];
      w.disqualified[i] = dq[i];
      w.stalled[i] = counts.stalled(u, c, k);
      w.open[i] = counts.open(u, c, k);
      w.excluded[i] = counts.excluded(u, c, k);
      w.trials[i] = n[i];
      const int64_t pending = w.open[i] + w.excluded[i];
      const double nn = static_cast<double>(n[i]), xx = static_cast<double>(x[i]);
      const double b = bench[i];
      const double kappa = a.concentration[ks];
      const double D = down[ks + 1];
      w.benchmark[i] = b;
      w.downstream_win[i] = D;
      w.average_value[i] = avg;
      w.expected[i] = b * nn;
      w.flagged[i] = 0;
      // A row with n = 0: no rate, zero deals of shortfall (b × 0: NaN when b is NaN)
      // and zero dollars (NaN also without an average value, so that the dollars still
      // sum to gap × average_value). A row with b NaN: every figure from expected on NaN.
      const double none = b * 0.0;
      if (n[i] == 0) {
        w.rate[i] = w.shrunk_rate[i] = w.probability_real[i] = kNaN;
        w.shortfall[i] = w.shrunk_shortfall[i] = w.shortfall_lower[i] = w.shortfall_upper[i] = none;
        const double no_dollars = std::isnan(avg) ? kNaN : none;
        w.dollars[i] = w.shrunk_dollars[i] = w.dollars_lower[i] = w.dollars_upper[i] = no_dollars;
      } else {
        w.rate[i] = xx / nn;
        w.shortfall[i] = b * nn - xx;
        w.shrunk_shortfall[i] = w.shortfall[i] * nn / (nn + kappa);
        if (std::isnan(b)) {
          w.shrunk_rate[i] = w.shortfall_lower[i] = w.shortfall_upper[i] = w.probability_real[i] = kNaN;
        } else {
          w.shrunk_rate[i] = (xx + kappa * b) / (nn + kappa);
          double alpha = xx + 0.5, beta = nn - xx + 0.5;  // Jeffreys
          if (kappa > 0) {
            const double bc = std::clamp(b, 1e-9, 1.0 - 1e-9);
            alpha = xx + kappa * bc;
            beta = nn - xx + kappa * (1.0 - bc);
          }
          // Boost's beta quantile can fail to converge for extreme counts (an
          // evaluation_error, found by fuzzing): that cell's interval and probability
          // are then NaN, not an exception through the caller.
          try {
            const Beta post(alpha, beta);
            const double q_lo = boost::math::quantile(post, tail);
            const double q_hi = boost::math::quantile(boost::math::complement(post, tail));
            w.shortfall_lower[i] = nn * (b - q_hi);
            w.shortfall_upper[i] = nn * (b - q_lo);
            w.probability_real[i] = b <= 0.0 ? 0.0 : b >= 1.0 ? 1.0 : boost::math::cdf(post, b);
          } catch (const std::exception&) {
            w.shortfall_lower[i] = w.shortfall_upper[i] = w.probability_real[i] = kNaN;
          }
        }
        w.dollars[i] = w.shortfall[i] * D * avg;
        w.shrunk_dollars[i] = w.shrunk_shortfall[i] * D * avg;
        w.dollars_lower[i] = w.shortfall_lower[i] * D * avg;
        w.dollars_upper[i] = w.shortfall_upper[i] * D * avg;
      }
      shrunk_sum += w.shrunk_dollars[i];
      bw += static_cast<double>(w.entrants[i]) * down[ks];
      pw += static_cast<double>(pending) * down[ks];
    }
    a.benchmark_wins[us] = bw;
    a.pending_wins[us] = pw;
    a.won[us] = counts.won(u, Cohort::kCurrent);
    a.gap[us] = bw - pw - static_cast<double>(a.won[us]);
    a.gap_dollars[us] = a.gap[us] * avg;
    a.shrunk_gap_dollars[us] = shrunk_sum;
    a.chance_dollars[us] = a.gap_dollars[us] - shrunk_sum;

    // The flag: the stage against the benchmark moved to the unit's own level at its
    // other stages (a weak unit is not a leak at every stage).
    for (size_t k = 0; k < o; ++k) {
      const size_t i = us * o + k;
      const double b = bench[i];
      dev[k] = n[i] >= 1 && b > 0.0 && b < 1.0 && !std::isnan(w.shrunk_rate[i])
                   ? Logit(w.shrunk_rate[i]) - Logit(b)
                   : kNaN;
    }
    for (size_t k = 0; k < o; ++k) {
      const size_t i = us * o + k;
      double num = 0, den = 0;
      for (size_t j = 0; j < o; ++j) {
        if (j == k || std::isnan(dev[j])) continue;
        num += static_cast<double>(n[us * o + j]) * dev[j];
        den += static_cast<double>(n[us * o + j]);
      }
      const double level = den > 0 ? num / den : 0.0;
      const double b = bench[i], kappa = a.concentration[k];
      const double nn = static_cast<double>(n[i]), xx = static_cast<double>(x[i]);
      w.unit_level[i] = level;
      w.flagged[i] = 0;
      if (std::isnan(b)) {
        w.own_benchmark[i] = w.own_shortfall[i] = w.own_probability[i] = kNaN;
        continue;
      }
      const double own = Expit(Logit(b) + level);
      w.own_benchmark[i] = own;
      if (n[i] == 0) {
        w.own_shortfall[i] = 0.0;
        w.own_probability[i] = kNaN;
        continue;
      }
      double alpha = xx + 0.5, beta = nn - xx + 0.5, shrunk = xx / nn;  // κ = 0: Jeffreys
      if (kappa > 0) {
        const double oc = std::clamp(own, 1e-9, 1.0 - 1e-9);
        alpha = xx + kappa * oc;
        beta = nn - xx + kappa * (1.0 - oc);
        shrunk = (xx + kappa * own) / (nn + kappa);
      }
      w.own_shortfall[i] = nn * (own - shrunk);
      w.own_probability[i] = own <= 0.0 ? 0.0 : own >= 1.0 ? 1.0 : boost::math::cdf(Beta(alpha, beta), own);
      w.flagged[i] = w.own_probability[i] >= options.flag_probability &&
                             w.own_shortfall[i] >= options.min_relative_shortfall * own * nn
                         ? 1
                         : 0;
    }
  }

  // Rank by shrunk dollars, largest first, NaN last; ties by unit, then stage (the
  // row order).
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t p, size_t q) {
    const double vp = w.shrunk_dollars[p], vq = w.shrunk_dollars[q];
    if (std::isnan(vp) || std::isnan(vq)) return !std::isnan(vp) && std::isnan(vq);
    return vp > vq;
  });
  for (size_t r = 0; r < rows; ++r) w.rank[order[r]] = static_cast<int32_t>(r + 1);

  // Lost counts by reason, current cohort.
  for (int32_t u = 0; u < U; ++u) {
    for (int32_t k = 0; k < O; ++k) {
      for (int32_t r = 0; r < RN; ++r) {
        const int64_t deals = counts.lost(u, Cohort::kCurrent, k, r);
        if (deals == 0) continue;
        a.reasons.push_back(LeakAssessment::ReasonRow{u, k, counts.reasons()[static_cast<size_t>(r)],
                                                      disq[static_cast<size_t>(r)] != 0, deals});
      }
    }
  }
  return a;
}

}  // namespace salesperf
