// The funnel accumulator (counts of moves, dwell times and open deals per unit) and
// its solution as an absorbing Markov chain. See salesperf/funnel.h.
#include "salesperf/funnel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "status_macros.h"
#include "salesperf/state.h"

namespace salesperf {

using internal::Sv;

namespace {


constexpr std::string_view kMagic("SPFUN\0\0\1", 8);
constexpr double kNsPerDay = 86'400e9;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();


bool IsMove(int32_t from, int32_t num_open, TransitionKind kind) {
  return from >= 0 && from < num_open && kind != TransitionKind::kExcluded && kind != TransitionKind::kReopened;
}

}  // namespace

class FunnelBuilder {
 public:
  // Room for `units` units, zeroed.
  static void Size(FunnelCounts& x, size_t units) {
    const auto O = static_cast<size_t>(x.num_open_);
    x.moves_.assign(units * O * (O + 2), 0);
    x.dwell_ns_.assign(units * O, 0);
    x.dwell_visits_.assign(units * O, 0);
    x.open_deals_.assign(units * O, 0);
    x.open_valued_.assign(units * O, 0);
    x.open_dollars_.assign(units * O, 0);
  }

  static bool UnitLive(const FunnelCounts& x, size_t u) {
    const auto O = static_cast<size_t>(x.num_open_);
    const size_t row = O * (O + 2);
    for (size_t k = 0; k < row; ++k) {
      if (x.moves_[u * row + k] != 0) return true;
    }
    for (size_t i = 0; i < O; ++i) {
      if (x.dwell_visits_[u * O + i] != 0 || x.open_deals_[u * O + i] != 0) return true;
    }
    return false;
  }

  // Adds unit `u` of `from` into unit `v` of `to` (same stages). Returns the name of
  // the first count whose sum overflows (then `to` is partly added: callers add into a
  // new object), or nullptr.
  static const char* AddUnit(FunnelCounts& to, size_t v, const FunnelCounts& from, size_t u) {
    const auto O = static_cast<size_t>(to.num_open_);
    const size_t row = O * (O + 2);
    for (size_t k = 0; k < row; ++k) {
      if (__builtin_add_overflow(to.moves_[v * row + k], from.moves_[u * row + k], &to.moves_[v * row + k])) {
        return "moves";
      }
    }
    for (size_t i = 0; i < O; ++i) {
      const size_t a = v * O + i, b = u * O + i;
      if (__builtin_add_overflow(to.dwell_ns_[a], from.dwell_ns_[b], &to.dwell_ns_[a])) return "dwell time";
      if (__builtin_add_overflow(to.dwell_visits_[a], from.dwell_visits_[b], &to.dwell_visits_[a])) {
        return "dwell visits";
      }
      if (__builtin_add_overflow(to.open_deals_[a], from.open_deals_[b], &to.open_deals_[a])) return "open deals";
      if (__builtin_add_overflow(to.open_valued_[a], from.open_valued_[b], &to.open_valued_[a])) {
        return "open valued deals";
      }
      if (__builtin_add_overflow(to.open_dollars_[a], from.open_dollars_[b], &to.open_dollars_[a])) {
        return "open dollars";
      }
    }
    return nullptr;
  }

  // Units sorted by name (names distinct), empty ones dropped.
  static void Canonicalize(FunnelCounts& x) {
    std::vector<size_t> order;
    for (size_t u = 0; u < x.unit_names_.size(); ++u) {
      if (UnitLive(x, u)) order.push_back(u);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x.unit_names_[a] < x.unit_names_[b]; });
    FunnelCounts out;
    out.stage_names_ = x.stage_names_;
    out.num_open_ = x.num_open_;
    out.unit_kind_ = x.unit_kind_;
    out.ignored_ = x.ignored_;
    Size(out, order.size());
    for (size_t v = 0; v < order.size(); ++v) {
      out.unit_names_.push_back(x.unit_names_[order[v]]);
      AddUnit(out, v, x, order[v]);  // into zeros: cannot overflow
    }
    x = std::move(out);
  }

  static absl::Status Update(FunnelCounts& x, const EventLog& log, const Timelines& tl, const Units& units);
  static absl::Status Merge(FunnelCounts& x, const FunnelCounts& other);
  static std::string Serialize(const FunnelCounts& x);
  static absl::StatusOr<FunnelCounts> Deserialize(std::string_view bytes);
};

absl::StatusOr<FunnelCounts> FunnelCounts::Create(std::vector<std::string> stage_names, int32_t num_open) {
  if (num_open < 0 || stage_names.size() != static_cast<size_t>(num_open) + 2) {
    return absl::InvalidArgumentError(absl::StrCat(stage_names.size(), " stage names do not hold ", num_open,
                                                   " open stages plus Won and Lost"));
  }
  FunnelCounts x;
  x.stage_names_ = std::move(stage_names);
  x.num_open_ = num_open;
  return x;
}

absl::Status FunnelBuilder::Update(FunnelCounts& x, const EventLog& log, const Timelines& tl, const Units& units) {
  if (tl.stage_names != x.stage_names_ || tl.num_open != x.num_open_) {
    return absl::FailedPreconditionError("the timelines' stages differ from the funnel's");
  }
  if (!x.unit_names_.empty() && units.kind != x.unit_kind_) {
    return absl::FailedPreconditionError(
        absl::StrCat("units of kind '", Sv(units.kind), "' added to a funnel of '", Sv(x.unit_kind_), "'"));
  }
  const int32_t D = log.num_deals();
  const auto nd = static_cast<size_t>(D);
  if (tl.current_stage.size() != nd || tl.outcome.size() != nd || tl.value.size() != nd ||
      units.of_deal.size() != nd) {
    return absl::FailedPreconditionError("the timelines or units do not fit the log (deal counts differ)");
  }
  const int32_t O = x.num_open_;
  const auto S = static_cast<size_t>(O) + 2;
  const int32_t U = static_cast<int32_t>(units.names.size());
  for (size_t d = 0; d < nd; ++d) {
    if (units.of_deal[d] < 0 || units.of_deal[d] >= U) {
      return absl::FailedPreconditionError("a deal's unit is out of range");
    }
  }

  FunnelCounts part;
  part.stage_names_ = x.stage_names_;
  part.num_open_ = O;
  part.unit_kind_ = units.kind;
  part.unit_names_ = units.names;
  Size(part, units.names.size());
  const auto Os = static_cast<size_t>(O);

  // Transitions, in one pass.
  const Timelines::Transitions& tr = tl.transitions;
  const size_t n = tr.size();
  if (tr.deal.size() != n || tr.from.size() != n || tr.to.size() != n || tr.kind.size() != n) {
    return absl::FailedPreconditionError("the transition table's columns differ in length");
  }
  for (size_t t = 0; t < n; ++t) {
    const int32_t d = tr.deal[t];
    const int32_t from = tr.from[t];
    const int32_t to = tr.to[t];
    // An exclusion goes to no stage (-1); every other transition to a stage.
    if (d < 0 || d >= D || from < -1 || from >= O + 2 || to < -1 || to >= O + 2 ||
        tr.kind[t] > static_cast<uint8_t>(TransitionKind::kExcluded) ||
        (to < 0 && tr.kind[t] != static_cast<uint8_t>(TransitionKind::kExcluded))) {
      return absl::FailedPreconditionError(absl::StrCat("transition ", t, " does not fit the log and stages"));
    }
    const auto kind = static_cast<TransitionKind>(tr.kind[t]);
    if (!IsMove(from, O, kind)) {
      ++part.ignored_;
      continue;
    }
    const auto u = static_cast<size_t>(units.of_deal[static_cast<size_t>(d)]);
    const auto i = static_cast<size_t>(from);
    ++part.moves_[(u * Os + i) * S + static_cast<size_t>(to)];
    if (t > 0 && tr.deal[t - 1] == d && tr.to[t - 1] == from) {
      part.dwell_ns_[u * Os + i] += static_cast<Int128>(tr.time[t]) - static_cast<Int128>(tr.time[t - 1]);
      ++part.dwell_visits_[u * Os + i];
    }
  }

  // Open deals.
  for (size_t d = 0; d < nd; ++d) {
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    if (outcome != Outcome::kOpen && outcome != Outcome::kStalled) continue;
    const int32_t k = tl.current_stage[d];
    if (k < 0 || k >= O) continue;
    const size_t cell = static_cast<size_t>(units.of_deal[d]) * Os + static_cast<size_t>(k);
    ++part.open_deals_[cell];
    const double value = tl.value[d];
    if (std::isnan(value)) continue;
    if (!(std::fabs(value) < kMaxDollars)) {
      return absl::InvalidArgumentError(
          absl::StrCat("deal '", log.deals().Label(static_cast<int32_t>(d)), "' has the value ", value,
                       ", too large for exact dollar sums (the magnitude must be below 9e14)"));
    }
    ++part.open_valued_[cell];
    // Rounded half away from zero, as Indicators rounds (its RoundHalfAway is llround).
    part.open_dollars_[cell] += std::llround(value * static_cast<double>(kDollarScale));
  }

  Canonicalize(part);
  if (x.unit_names_.empty()) x.unit_kind_ = units.kind;
  return Merge(x, part);
}

absl::Status FunnelBuilder::Merge(FunnelCounts& x, const FunnelCounts& other) {
  if (other.stage_names_ != x.stage_names_ || other.num_open_ != x.num_open_) {
    return absl::FailedPreconditionError("the funnels' stages differ");
  }
  if (!x.unit_kind_.empty() && !other.unit_kind_.empty() && other.unit_kind_ != x.unit_kind_) {
    return absl::FailedPreconditionError(absl::StrCat("the funnels' unit kinds differ: '", Sv(x.unit_kind_),
                                                      "' and '", Sv(other.unit_kind_), "'"));
  }
  std::vector<std::string> names;
  names.reserve(x.unit_names_.size() + other.unit_names_.size());
  std::set_union(x.unit_names_.begin(), x.unit_names_.end(), other.unit_names_.begin(), other.unit_names_.end(),
                 std::back_inserter(names));
  FunnelCounts out;
  out.stage_names_ = x.stage_names_;
  out.num_open_ = x.num_open_;
  // Into a new object, assigned only when every sum fits: a failed merge leaves `x` as
  // it was (its unit kind included).
  out.unit_kind_ = x.unit_kind_.empty() ? other.unit_kind_ : x.unit_kind_;
  if (__builtin_add_overflow(x.ignored_, other.ignored_, &out.ignored_)) {
    return absl::OutOfRangeError("merging would overflow the count of ignored transitions");
  }
  Size(out, names.size());
  for (const FunnelCounts* side : {static_cast<const FunnelCounts*>(&x), &other}) {
    size_t v = 0;
    for (size_t u = 0; u < side->unit_names_.size(); ++u) {
      while (names[v] != side->unit_names_[u]) ++v;
      if (const char* what = AddUnit(out, v, *side, u)) {
        return absl::OutOfRangeError(
            absl::StrCat("merging would overflow the ", what, " of unit '", Sv(names[v]), "'"));
      }
    }
  }
  out.unit_names_ = std::move(names);
  x = std::move(out);
  return absl::OkStatus();
}

std::string FunnelBuilder::Serialize(const FunnelCounts& x) {
  StateWriter w;
  const auto O = static_cast<size_t>(x.num_open_);
  w.Reserve(64 + x.unit_names_.size() * (16 + O * (O + 2) * 8 + O * 56));
  w.U32(static_cast<uint32_t>(x.stage_names_.size()));
  w.U32(static_cast<uint32_t>(x.num_open_));
  for (const std::string& s : x.stage_names_) w.String(s);
  w.String(x.unit_kind_);
  w.U32(static_cast<uint32_t>(x.unit_names_.size()));
  for (const std::string& s : x.unit_names_) w.String(s);
  const size_t row = O * (O + 2);
  for (size_t u = 0; u < x.unit_names_.size(); ++u) {
    w.I64s(std::span<const int64_t>(x.moves_.data() + u * row, row));
    for (size_t i = 0; i < O; ++i) {
      w.I128(x.dwell_ns_[u * O + i]);
      w.I64(x.dwell_visits_[u * O + i]);
    }
    for (size_t i = 0; i < O; ++i) {
      w.I64(x.open_deals_[u * O + i]);
      w.I64(x.open_valued_[u * O + i]);
      w.I128(x.open_dollars_[u * O + i]);
    }
  }
  w.I64(x.ignored_);
  return WrapState(kMagic, FunnelCounts::kFormatVersion, w.bytes());
}

absl::StatusOr<FunnelCounts> FunnelBuilder::Deserialize(std::string_view bytes) {
  absl::StatusOr<std::string_view> payload = UnwrapState(bytes, kMagic, FunnelCounts::kFormatVersion, "funnel");
  if (!payload.ok()) return payload.status();
  StateReader r(*payload);
  auto corrupt = [](std::string_view why) {
    return absl::DataLossError(absl::StrCat("funnel state corrupt: ", Sv(why)));
  };
  FunnelCounts x;
  uint32_t num_stages = 0, num_open = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count32(num_stages, 4, "stage count"));
  SALESPERF_RETURN_IF_ERROR(r.U32(num_open, "open stage count"));
  // A default-constructed FunnelCounts (no stages at all) serializes too.
  const bool default_shape = num_stages == 0 && num_open == 0;
  if (!default_shape && (num_stages < 2 || num_open != num_stages - 2)) {
    return corrupt(absl::StrCat(num_stages, " stages do not hold ", num_open, " open ones plus Won and Lost"));
  }
  x.num_open_ = static_cast<int32_t>(num_open);
  x.stage_names_.resize(num_stages);
  for (std::string& s : x.stage_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "stage name"));
  SALESPERF_RETURN_IF_ERROR(r.String(x.unit_kind_, "unit kind"));
  uint32_t num_units = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count32(num_units, 4, "unit count"));
  x.unit_names_.resize(num_units);
  for (std::string& s : x.unit_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "unit name"));
  for (size_t u = 1; u < x.unit_names_.size(); ++u) {
    if (!(x.unit_names_[u - 1] < x.unit_names_[u])) return corrupt("unit names are not sorted and distinct");
  }
  const auto O = static_cast<uint64_t>(num_open);
  const uint64_t row = O * (O + 2);  // O < 2^30: no overflow
  const uint64_t per_unit = 8 * row + 24 * O + 32 * O;
  if (per_unit > 0 && num_units > r.remaining() / per_unit) {
    return absl::DataLossError("funnel state truncated while reading unit counts");
  }
  Size(x, num_units);
  for (size_t u = 0; u < num_units; ++u) {
    SALESPERF_RETURN_IF_ERROR(r.I64s(std::span<int64_t>(x.moves_.data() + u * row, row), "moves"));
    for (size_t i = 0; i < O; ++i) {
      SALESPERF_RETURN_IF_ERROR(r.I128(x.dwell_ns_[u * O + i], "dwell time"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.dwell_visits_[u * O + i], "dwell visits"));
    }
    for (size_t i = 0; i < O; ++i) {
      SALESPERF_RETURN_IF_ERROR(r.I64(x.open_deals_[u * O + i], "open deals"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.open_valued_[u * O + i], "open valued"));
      SALESPERF_RETURN_IF_ERROR(r.I128(x.open_dollars_[u * O + i], "open dollars"));
    }
  }
  SALESPERF_RETURN_IF_ERROR(r.I64(x.ignored_, "ignored"));
  SALESPERF_RETURN_IF_ERROR(r.Done());
  for (const int64_t m : x.moves_) {
    if (m < 0) return corrupt("a move count is negative");
  }
  for (size_t k = 0; k < x.dwell_visits_.size(); ++k) {
    if (x.dwell_visits_[k] < 0 || x.dwell_ns_[k] < 0) return corrupt("a dwell count or time is negative");
    if (x.dwell_visits_[k] == 0 && x.dwell_ns_[k] != 0) return corrupt("dwell time without visits");
    if (x.open_deals_[k] < 0 || x.open_valued_[k] < 0 || x.open_valued_[k] > x.open_deals_[k]) {
      return corrupt("open deal counts are negative or inconsistent");
    }
    if (x.open_valued_[k] == 0 && x.open_dollars_[k] != 0) return corrupt("open dollars without valued deals");
  }
  if (x.ignored_ < 0) return corrupt("the ignored count is negative");
  if (default_shape && !(x == FunnelCounts())) return corrupt("a funnel without stages holds counts");
  for (size_t u = 0; u < num_units; ++u) {
    if (!UnitLive(x, u)) return corrupt("a unit holds nothing");
  }
  return x;
}

absl::Status FunnelCounts::Update(const EventLog& log, const Timelines& timelines, const Units& units) {
  return FunnelBuilder::Update(*this, log, timelines, units);
}
absl::Status FunnelCounts::Merge(const FunnelCounts& other) { return FunnelBuilder::Merge(*this, other); }
std::string FunnelCounts::Serialize() const { return FunnelBuilder::Serialize(*this); }
absl::StatusOr<FunnelCounts> FunnelCounts::Deserialize(std::string_view bytes) {
  return FunnelBuilder::Deserialize(bytes);
}

int64_t FunnelCounts::moves(int32_t u, int32_t i, int32_t j) const {
  const auto O = static_cast<size_t>(num_open_);
  return moves_[(static_cast<size_t>(u) * O + static_cast<size_t>(i)) * (O + 2) + static_cast<size_t>(j)];
}
Int128 FunnelCounts::dwell_ns(int32_t u, int32_t i) const {
  return dwell_ns_[static_cast<size_t>(u) * static_cast<size_t>(num_open_) + static_cast<size_t>(i)];
}
int64_t FunnelCounts::dwell_visits(int32_t u, int32_t i) const {
  return dwell_visits_[static_cast<size_t>(u) * static_cast<size_t>(num_open_) + static_cast<size_t>(i)];
}
int64_t FunnelCounts::open_deals(int32_t u, int32_t i) const {
  return open_deals_[static_cast<size_t>(u) * static_cast<size_t>(num_open_) + static_cast<size_t>(i)];
}
int64_t FunnelCounts::open_valued(int32_t u, int32_t i) const {
  return open_valued_[static_cast<size_t>(u) * static_cast<size_t>(num_open_) + static_cast<size_t>(i)];
}
Int128 FunnelCounts::open_dollars_fixed(int32_t u, int32_t i) const {
  return open_dollars_[static_cast<size_t>(u) * static_cast<size_t>(num_open_) + static_cast<size_t>(i)];
}

absl::StatusOr<FunnelCounts> CountFunnel(const EventLog& log, const Timelines& timelines, const Units& units) {
  absl::StatusOr<FunnelCounts> x = FunnelCounts::Create(timelines.stage_names, timelines.num_open);
  if (!x.ok()) return absl::FailedPreconditionError(x.status().message());
  SALESPERF_RETURN_IF_ERROR(x->Update(log, timelines, units));
  return x;
}

namespace {

// Stages (of 0..O-1) from which a stage in `target` is reachable along edges
// i -> j with moves[i][j] > 0, j open (the targets themselves included).
std::vector<bool> CanReach(const std::vector<int64_t>& moves, int32_t O, std::vector<bool> target) {
  const auto S = static_cast<size_t>(O) + 2;
  bool changed = true;
  while (changed) {
    changed = false;
    for (int32_t i = 0; i < O; ++i) {
      if (target[static_cast<size_t>(i)]) continue;
      for (int32_t j = 0; j < O; ++j) {
        if (target[static_cast<size_t>(j)] && moves[static_cast<size_t>(i) * S + static_cast<size_t>(j)] > 0) {
          target[static_cast<size_t>(i)] = true;
          changed = true;
          break;
        }
      }
    }
  }
  return target;
}

}  // namespace

namespace {

// Absorption probabilities and expected times of the kept stages (those that reach
// Won or Lost and nothing without data), by state reduction (Grassmann, Taksar and
// Heyman 1985; Sheskin 1985) instead of an LU solve of (I - Q) x = R.
//
// Why: I - Q is ill-conditioned exactly where funnels are interesting: a stage that
// deals rarely leave (self-loops, or two stages trading deals back and forth) has rows
// of Q summing to 1 - 1e-12 or closer, and the subtraction in I - Q cancels. An LU
// solve then returned win probabilities of 1.015 with loss 0, or win + loss = 0.98
// (fuzz findings, docs/fuzzing.md). State reduction never subtracts: eliminating stage
// m sends the moves into m onward in m's proportions, r[i][j] += r[i][m] * r[m][j] /
// out[m], where out[m] is the sum of m's moves to other stages still in the chain (not
// 1 - r[m][m] / n[m]). Every quantity stays a sum of non-negative terms, so each result
// has a small relative error however close to singular the chain is.
//
// With r[i][j] the moves of kept stage i (r[i][i] its self-loops, n[i] all its moves),
// the chain's equations multiplied by n[i] read
//   out[i] w[i] = r[i][Won] + sum_{j != i} r[i][j] w[j]
//   out[i] t[i] = g[i]      + sum_{j != i} r[i][j] t[j],   g[i] = h[i] n[i],
// (out[i] = n[i] - r[i][i], summed over j != i). Stages are eliminated in order 0..K-1,
// each into the stages after it; then w, l and t follow by back substitution from the
// last stage, whose row holds only Won and Lost.
void SolveAbsorption(FunnelChain& c, const std::vector<size_t>& keep, const std::vector<double>& n,
                     std::span<const int64_t> visits, const std::vector<bool>& no_time) {
  const size_t Os = static_cast<size_t>(c.num_open);
  const size_t S = Os + 2;
  const size_t K = keep.size();
  const size_t W = K + 2;  // local columns: kept stages 0..K-1, Won K, Lost K + 1
  std::vector<double> r(K * W, 0.0), g(K, 0.0);
  for (size_t a = 0; a < K; ++a) {
    const size_t i = keep[a];
    for (size_t b = 0; b < K; ++b) {
      if (b != a) r[a * W + b] = static_cast<double>(c.moves[i * S + keep[b]]);
    }
    r[a * W + K] = static_cast<double>(c.moves[i * S + Os]);
    r[a * W + K + 1] = static_cast<double>(c.moves[i * S + Os + 1]);
    if (visits[i] > 0) g[a] = c.mean_days_in_stage[i] * n[i];  // NaN'd below when used
  }
  // Reduction: row a becomes a's moves to stages after a and to Won, Lost, normalised
  // to probabilities (p), with G[a] its time term over out[a].
  std::vector<bool> failed(K, false);
  for (size_t m = 0; m < K; ++m) {
    double out = 0;
    for (size_t j = m + 1; j < W; ++j) out += r[m * W + j];
    if (!(out > 0) || !std::isfinite(out) || failed[m]) {
      // Only when an extreme chain underflows: m's fate is unknown, and so is that of
      // every stage that moves into it.
      failed[m] = true;
      for (size_t i = m + 1; i < K; ++i) failed[i] = failed[i] || r[i * W + m] > 0;
      continue;
    }
    for (size_t j = m + 1; j < W; ++j) r[m * W + j] /= out;
    g[m] /= out;
    for (size_t i = m + 1; i < K; ++i) {
      const double into = r[i * W + m];
      if (!(into > 0)) continue;
      r[i * W + m] = 0;
      for (size_t j = m + 1; j < W; ++j) {
        if (j != i) r[i * W + j] += into * r[m * W + j];  // into i itself: a self-loop, dropped
      }
      g[i] += into * g[m];
    }
  }
  std::vector<double> w(K, kNaN), l(K, kNaN), t(K, kNaN);
  for (size_t a = K; a-- > 0;) {
    if (failed[a]) continue;
    double win = r[a * W + K], loss = r[a * W + K + 1], time = g[a];
    bool known = true;
    for (size_t b = a + 1; b < K; ++b) {
      const double p = r[a * W + b];
      if (!(p > 0)) continue;
      known = known && !std::isnan(w[b]);
      win += p * w[b];
      loss += p * l[b];
      time += p * t[b];
    }
    if (!known) continue;
    // win + loss is 1 in exact arithmetic (every kept stage is absorbed); dividing by
    // the computed sum removes the rounding, so that win + loss = 1 and both lie in
    // [0, 1] to the last bit or two.
    const double total = win + loss;
    w[a] = win / total;
    l[a] = loss / total;
    t[a] = std::isfinite(time) ? time : kNaN;
  }
  for (size_t a = 0; a < K; ++a) {
    const size_t i = keep[a];
    c.win_probability[i] = w[a];
    c.loss_probability[i] = l[a];
    if (!no_time[i]) c.expected_days_to_close[i] = t[a];
  }
}

// The one solver behind SolveFunnel and SolveMoves: `c` holds stage_names, num_open,
// moves and open_deals; dwell, visits and dollars are per open stage.
absl::Status SolveChain(FunnelChain& c, std::span<const Int128> dwell, std::span<const int64_t> visits,
                std::span<const Int128> dollars) {
  const int32_t O = c.num_open;
  const auto Os = static_cast<size_t>(O);
  const size_t S = Os + 2;
  // Row sums in double: exact below 2^53 and never an overflow (counts are >= 0).
  std::vector<double> n(Os, 0.0);
  for (size_t i = 0; i < Os; ++i) {
    for (size_t j = 0; j < S; ++j) n[i] += static_cast<double>(c.moves[i * S + j]);
  }
  c.probability.assign(Os * S, kNaN);
  c.mean_days_in_stage.assign(Os, kNaN);
  for (size_t i = 0; i < Os; ++i) {
    if (n[i] > 0) {
      for (size_t j = 0; j < S; ++j) {
        c.probability[i * S + j] = static_cast<double>(c.moves[i * S + j]) / n[i];
      }
    }
    if (visits[i] > 0) {
      c.mean_days_in_stage[i] = static_cast<double>(dwell[i]) / static_cast<double>(visits[i]) / kNsPerDay;
    }
  }

  // Stages whose absorption is unknown: those with no data, those never left for Won
  // or Lost (a closed set of stages with no exit), and every stage that reaches them.
  std::vector<bool> absorbs(Os, false);
  for (size_t i = 0; i < Os; ++i) absorbs[i] = c.moves[i * S + Os] > 0 || c.moves[i * S + Os + 1] > 0;
  const std::vector<bool> exits = CanReach(c.moves, O, absorbs);
  std::vector<bool> bad(Os, false);
  for (size_t i = 0; i < Os; ++i) bad[i] = n[i] == 0 || !exits[i];
  bad = CanReach(c.moves, O, bad);
  // Stages that reach a stage without dwell data (expected time unknown).
  std::vector<bool> no_time(Os, false);
  for (size_t i = 0; i < Os; ++i) no_time[i] = bad[i] || visits[i] == 0;
  no_time = CanReach(c.moves, O, no_time);

  c.win_probability.assign(Os, kNaN);
  c.loss_probability.assign(Os, kNaN);
  c.expected_days_to_close.assign(Os, kNaN);
  std::vector<size_t> keep;
  for (size_t i = 0; i < Os; ++i) {
    if (!bad[i]) keep.push_back(i);
  }
  if (!keep.empty()) SolveAbsorption(c, keep, n, visits, no_time);

  Int128 total = 0;
  c.expected_open_value = 0;
  c.open_deals_unpriced = 0;
  for (size_t i = 0; i < Os; ++i) {
    if (__builtin_add_overflow(total, dollars[i], &total)) {
      return absl::OutOfRangeError("the open dollars summed over stages overflow");
    }
    if (std::isnan(c.win_probability[i])) {
      if (__builtin_add_overflow(c.open_deals_unpriced, c.open_deals[i], &c.open_deals_unpriced)) {
        return absl::OutOfRangeError("the unpriced open deals summed over stages overflow");
      }
    } else {
      c.expected_open_value += FixedToDollars(dollars[i]) * c.win_probability[i];
    }
  }
  c.open_dollars = FixedToDollars(total);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FunnelChain> SolveFunnel(const FunnelCounts& counts, int32_t unit) {
  if (unit < -1 || unit >= counts.num_units()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unit ", unit, " is out of range (", counts.num_units(), " units; -1 for the organisation)"));
  }
  const int32_t O = counts.num_open();
  const auto Os = static_cast<size_t>(O);
  const size_t S = Os + 2;
  FunnelChain c;
  c.stage_names = counts.stage_names();
  c.num_open = O;
  c.moves.assign(Os * S, 0);
  c.open_deals.assign(Os, 0);
  std::vector<Int128> dwell(Os, 0), dollars(Os, 0);
  std::vector<int64_t> visits(Os, 0);
  const int32_t first = unit < 0 ? 0 : unit;
  const int32_t last = unit < 0 ? counts.num_units() : unit + 1;
  // Real counts are far from the limits; deserialized ones may not be.
  auto overflow = [&](int32_t i, std::string_view what) {
    return absl::OutOfRangeError(absl::StrCat("the organisation's ", Sv(what), " of stage '",
                                              Sv(counts.stage_names()[static_cast<size_t>(i)]),
                                              "' summed over units overflows"));
  };
  for (int32_t u = first; u < last; ++u) {
    for (int32_t i = 0; i < O; ++i) {
      const auto is = static_cast<size_t>(i);
      for (int32_t j = 0; j < O + 2; ++j) {
        int64_t& m = c.moves[is * S + static_cast<size_t>(j)];
        if (__builtin_add_overflow(m, counts.moves(u, i, j), &m)) return overflow(i, "moves");
      }
      if (__builtin_add_overflow(dwell[is], counts.dwell_ns(u, i), &dwell[is])) return overflow(i, "dwell time");
      if (__builtin_add_overflow(visits[is], counts.dwell_visits(u, i), &visits[is])) {
        return overflow(i, "visits");
      }
      if (__builtin_add_overflow(c.open_deals[is], counts.open_deals(u, i), &c.open_deals[is])) {
        return overflow(i, "open deals");
      }
      if (__builtin_add_overflow(dollars[is], counts.open_dollars_fixed(u, i), &dollars[is])) {
        return overflow(i, "open dollars");
      }
    }
  }
  SALESPERF_RETURN_IF_ERROR(SolveChain(c, dwell, visits, dollars));
  return c;
}

absl::StatusOr<FunnelChain> SolveMoves(std::vector<std::string> stage_names, int32_t num_open,
                                       std::span<const int64_t> moves, std::span<const Int128> dwell_ns,
                                       std::span<const int64_t> dwell_visits) {
  if (num_open < 0 || stage_names.size() != static_cast<size_t>(num_open) + 2) {
    return absl::InvalidArgumentError(absl::StrCat(stage_names.size(), " stage names do not hold ", num_open,
                                                   " open stages plus Won and Lost"));
  }
  const auto Os = static_cast<size_t>(num_open);
  const size_t S = Os + 2;
  if (moves.size() != Os * S) {
    return absl::InvalidArgumentError(
        absl::StrCat("moves has ", moves.size(), " entries, not ", Os * S, " (open stages x stages)"));
  }
  if (dwell_ns.size() != dwell_visits.size() || (!dwell_ns.empty() && dwell_ns.size() != Os)) {
    return absl::InvalidArgumentError(absl::StrCat("dwell_ns and dwell_visits must both be empty or both hold ",
                                                   Os, " entries (one per open stage)"));
  }
  for (size_t k = 0; k < moves.size(); ++k) {
    if (moves[k] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("moves[", k / S, "][", k % S, "] is negative"));
    }
  }
  for (size_t i = 0; i < dwell_ns.size(); ++i) {
    if (dwell_visits[i] < 0 || dwell_ns[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("the dwell of open stage ", i, " is negative"));
    }
  }
  FunnelChain c;
  c.stage_names = std::move(stage_names);
  c.num_open = num_open;
  c.moves.assign(moves.begin(), moves.end());
  c.open_deals.assign(Os, 0);
  std::vector<Int128> dwell(Os, 0), dollars(Os, 0);
  std::vector<int64_t> visits(Os, 0);
  for (size_t i = 0; i < dwell_ns.size(); ++i) {
    dwell[i] = dwell_ns[i];
    visits[i] = dwell_visits[i];
  }
  SALESPERF_RETURN_IF_ERROR(SolveChain(c, dwell, visits, dollars));
  return c;
}

}  // namespace salesperf
