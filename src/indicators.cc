// The leading-indicators accumulator: units, one pass over each deal's events,
// transitions and stage entries into per-(unit, period) cells, the canonical state,
// merging, rolling up and the byte format. Definitions: salesperf/indicators.h.
//
// Update tallies the deals into a fresh part laid out on the log's own codes (action
// code = action index, Units index = unit index, so the hot loop maps nothing), puts
// the part in canonical order, and merges it in. Per event the work is a period check
// against the cached [start, end) of the current cell, the occurrence increment, and
// the deal-stamp test for distinct deals; events are read backwards so that "answered"
// needs only the time of the nearest later buyer action. A period lookup that misses
// first tries the periods the deal's earlier passes touched, then a cache of period
// bounds by day (the calendar only when that misses) and a hash of (unit, period) cells.
// Durations are appended as one-integer (series, bucket) records and counted into bins
// once at the end (grouped by series, then a dense histogram per series), straight in
// the canonical cell order.
#include "salesperf/indicators.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "status_macros.h"
#include "parallel.h"
#include "salesperf/state.h"
#include "state_sums.h"

namespace salesperf {

using internal::Sv;

namespace {



constexpr int64_t kNoWindow = std::numeric_limits<int64_t>::max();
constexpr std::string_view kMagic("SPIND\0\0\1", 8);
constexpr uint8_t kBuyer = static_cast<uint8_t>(Actor::kBuyer);
constexpr uint8_t kSeller = static_cast<uint8_t>(Actor::kSeller);

// b - a, clamped to [0, INT64_MAX] (durations).
int64_t Span(int64_t a, int64_t b) {
  const Int128 d = static_cast<Int128>(b) - static_cast<Int128>(a);
  if (d < 0) return 0;
  if (d > static_cast<Int128>(std::numeric_limits<int64_t>::max())) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(d);
}

// std::llround for |x| < 2^63, inline (llround is a library call, made once per deal):
// the truncation q is exact, and so is x - q (x is a whole number from 2^52 on), so the
// comparison with 0.5 rounds halves away from zero exactly as llround does.
int64_t RoundHalfAway(double x) {
  auto q = static_cast<int64_t>(x);
  const double r = x - static_cast<double>(q);
  if (r >= 0.5) {
    ++q;
  } else if (r <= -0.5) {
    --q;
  }
  return q;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

using internal::AddOverflows;

// The name of field `f` of a cell's block of counters (as MakeTable names its indicators).
std::string CounterName(const Indicators& x, size_t f) {
  using internal::kActionFieldNames, internal::kStageFieldNames, internal::kCohortFieldNames,
      internal::kCellFieldNames;
  const size_t actions = kActionFields * x.action_names().size();
  const size_t stages = kStageFields * x.stage_names().size();
  const size_t cohorts = kCohortFields * static_cast<size_t>(x.num_open());
  if (f < actions) {
    return absl::StrCat(kActionFieldNames[f % kActionFields], ":", x.action_names()[f / kActionFields]);
  }
  f -= actions;
  if (f < stages) return absl::StrCat(kStageFieldNames[f % kStageFields], ":", x.stage_names()[f / kStageFields]);
  f -= stages;
  if (f < cohorts) {
    return absl::StrCat(kCohortFieldNames[f % kCohortFields], ":", x.stage_names()[f / kCohortFields]);
  }
  f -= cohorts;
  return f < std::size(kCellFieldNames) ? std::string(kCellFieldNames[f]) : absl::StrCat("field ", f);
}

// The name of field `f` of a cell's block of dollar sums.
std::string DollarName(const Indicators& x, size_t f) {
  if (f < x.stage_names().size()) return absl::StrCat("dollars_entered:", x.stage_names()[f]);
  f -= x.stage_names().size();
  return f < std::size(internal::kDollarFieldNames) ? std::string(internal::kDollarFieldNames[f])
                                                    : absl::StrCat("dollar field ", f);
}

// The name of a duration bin's count.
std::string BinName(const Indicators& x, const DurationBin& b, bool observed) {
  const std::string series = b.stage < 0 ? std::string("cycle_time")
                             : static_cast<size_t>(b.stage) < x.stage_names().size()
                                 ? absl::StrCat("time_in_stage:", x.stage_names()[static_cast<size_t>(b.stage)])
                                 : absl::StrCat("stage ", b.stage);
  return absl::StrCat(observed ? "observed" : "censored", " durations of ", series, " (bucket ", b.bucket, ")");
}

// OutOfRange: "<verb> would overflow the <what> for <noun> '<unit>' (period <label>)".
absl::Status OverflowError(std::string_view verb, std::string_view what, std::string_view noun,
                           std::string_view unit, const Calendar& calendar, int64_t period) {
  return absl::OutOfRangeError(absl::StrCat(Sv(verb), " would overflow the ", Sv(what), " for ", Sv(noun), " '",
                                            Sv(unit), "' (period ", calendar.Label(period), ")"));
}


// Units from an owner code per deal (-1 = none) over a dictionary of labels: the
// labels of owners that own a deal, in code order, then kNoUnitName when needed.
Units UnitsFromOwners(std::string kind, const std::vector<int32_t>& owner, const Dictionary& labels) {
  Units out;
  out.kind = std::move(kind);
  std::vector<int32_t> unit_of_code(static_cast<size_t>(labels.size()), -1);
  bool any_none = false;
  for (const int32_t o : owner) {
    if (o < 0) {
      any_none = true;
    } else {
      unit_of_code[static_cast<size_t>(o)] = 0;
    }
  }
  int32_t none_unit = -1;
  for (int32_t c = 0; c < labels.size(); ++c) {
    if (unit_of_code[static_cast<size_t>(c)] < 0) continue;
    unit_of_code[static_cast<size_t>(c)] = static_cast<int32_t>(out.names.size());
    out.names.push_back(labels.Label(c));
    if (out.names.back() == kNoUnitName) none_unit = unit_of_code[static_cast<size_t>(c)];
  }
  if (any_none && none_unit < 0) {
    none_unit = static_cast<int32_t>(out.names.size());
    out.names.emplace_back(kNoUnitName);
  }
  out.of_deal.resize(owner.size());
  for (size_t d = 0; d < owner.size(); ++d) {
    out.of_deal[d] = owner[d] < 0 ? none_unit : unit_of_code[static_cast<size_t>(owner[d])];
  }
  return out;
}

absl::Status CheckDistinct(const std::vector<std::string>& names, std::string_view what) {
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] == sorted[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(Sv(what), " name '", Sv(sorted[i]), "' repeats"));
    }
  }
  return absl::OkStatus();
}

// A comparator of bins by (cell, stage, bucket), as a type so that sorts inline it.
struct BinOrder {
  bool operator()(const DurationBin& a, const DurationBin& b) const {
    if (a.cell != b.cell) return a.cell < b.cell;
    if (a.stage != b.stage) return a.stage < b.stage;
    return a.bucket < b.bucket;
  }
};
bool BinLess(const DurationBin& a, const DurationBin& b) { return BinOrder()(a, b); }

// The counters of one part while it is being tallied, laid out on the log's codes.
class Tally {
 public:
  Tally(const Calendar& calendar, int32_t num_actions, int32_t num_stages, int32_t num_open,
        int64_t resolution)
      : calendar_(calendar),
        A_(num_actions),
        series_per_cell_(num_open + 1),
        B_(kActionFields * num_actions + kStageFields * num_stages + kCohortFields * num_open +
           kCellFields),
        DB_(num_stages + kDollarCellFields),
        resolution_(resolution),
        inverse_resolution_(1.0 / static_cast<double>(resolution)) {
    for (Bounds& b : day_bounds_) b = Bounds{kNoPeriod, 1, 0};  // empty: start > end
    for (CellSlot& c : recent_) c.unit = -1;
  }

  // The period last looked up, and the cell of it for the current deal's unit.
  struct Cache {
    int64_t start = std::numeric_limits<int64_t>::max();
    int64_t end = std::numeric_limits<int64_t>::min();
    int64_t period = kNoPeriod;
    int64_t counter_base = 0;  // cell * B
    int64_t stamp_base = 0;    // cell * A
    int32_t cell = 0;
    void Invalidate() {
      start = std::numeric_limits<int64_t>::max();
      end = std::numeric_limits<int64_t>::min();
    }
  };

  // Points `cache` at the cell of (unit, P(t)) when t is outside its period: the
  // common case is the two compares. The periods the deal's earlier passes touched are
  // tried inline: most misses of the transition and first-entry passes are such returns
  // to a period already seen.
  inline void Locate(Cache& cache, int32_t unit, int64_t t) {
    if (t >= cache.start && t < cache.end) [[likely]] return;
    if (!FindSeen(cache, t)) NewPeriod(cache, unit, t);
  }

  // A new deal: its unit may differ, so every cache forgets its cell; the periods the
  // deal touches are remembered (up to kDealPeriods) for its other passes.
  void BeginDeal(Cache& a, Cache& b, Cache& c) {
    a.Invalidate();
    b.Invalidate();
    c.Invalidate();
    deal_periods_ = 0;
  }

  // Locate's slow path, out of line (for the event loop, which keeps its registers).
  [[gnu::noinline]] void Miss(Cache& cache, int32_t unit, int64_t t) {
    if (!FindSeen(cache, t)) NewPeriod(cache, unit, t);
  }

  // Points `cache` at one of the deal's periods seen so far that holds t, if any.
  bool FindSeen(Cache& cache, int64_t t) const {
    for (int i = 0; i < deal_periods_; ++i) {
      if (t >= seen_[i].start && t < seen_[i].end) {
        cache = seen_[i];
        return true;
      }
    }
    return false;
  }

  // The first time the deal touches the period of t.
  [[gnu::noinline]] void NewPeriod(Cache& cache, int32_t unit, int64_t t) {
    // The period of t from a direct-mapped cache of bounds keyed by t's day: deals come
    // in no time order, so only a table over many periods hits often, and a hit spares
    // the calendar's civil-date arithmetic. An entry is taken only when t lies inside
    // its bounds, so a collision or a period not aligned on days costs a lookup only.
    Bounds& b = day_bounds_[static_cast<uint64_t>(t / Days(1)) & (kDaySlots - 1)];
    if (!(t >= b.start && t < b.end)) {
      b.period = calendar_.PeriodIndex(t);
      b.start = calendar_.PeriodStart(b.period);
      b.end = calendar_.PeriodEnd(b.period);
    }
    const int64_t p = b.period;
    cache.start = b.start;
    cache.end = b.end;
    cache.period = p;
    Point(cache, CellOf(unit, p));
    if (deal_periods_ < kDealPeriods) seen_[deal_periods_++] = cache;
  }

  int64_t* block(int32_t cell) { return counters.data() + static_cast<int64_t>(cell) * B_; }
  int64_t* block(const Cache& cache) { return counters.data() + cache.counter_base; }
  Int128* dollar_block(int32_t cell) { return dollars.data() + static_cast<int64_t>(cell) * DB_; }
  int32_t* stamps(const Cache& cache) { return stamp.data() + cache.stamp_base; }

  // Room for n records. The buffer is left uninitialized (unlike a vector's resize), so
  // the pages the records never reach are never touched; AddBin then needs no
  // capacity check.
  void ReserveBins(size_t n) {
    records_.reset(new uint64_t[n]);
    num_records_ = 0;
  }

  // One duration of (cell, stage); binned now, counted and sorted at the end. A record
  // is one integer: series << kRecordSeriesShift | bucket << 1 | censored, with
  // series = cell * (num_open + 1) + stage + 1 (below 2^51: cells are in memory).
  [[gnu::always_inline]] void AddBin(int32_t cell, int32_t stage, int64_t duration, bool observed) {
    const uint64_t series = static_cast<uint64_t>(cell) * static_cast<uint64_t>(series_per_cell_) +
                            static_cast<uint64_t>(stage + 1);
    const auto bucket = static_cast<uint64_t>(DurationBucket(Bucket(duration)));
    records_[num_records_++] = (series << kRecordSeriesShift) | (bucket << 1) | (observed ? 0 : 1);
  }

  // The bins on the cells renumbered by `new_cell` (one-to-one, -1 = dropped; there are
  // `num_new` new cells), sorted by (new cell, stage, bucket). A counting sort groups
  // the records by new series (few: cells x stages), keeping only their 13 low bits
  // (bucket, censored); each group is then counted into a dense per-bucket histogram
  // (buckets are below 2^12) whose touched buckets a bitmap lists in order. This reads
  // the records twice instead of the several passes of a full-key radix sort.
  std::vector<DurationBin> TakeBins(const std::vector<int32_t>& new_cell, size_t num_new) {
    const auto per_cell = static_cast<size_t>(series_per_cell_);
    std::vector<int64_t> new_series(new_cell.size() * per_cell);  // by old series; -1 dropped
    for (size_t c = 0; c < new_cell.size(); ++c) {
      for (size_t k = 0; k < per_cell; ++k) {
        new_series[c * per_cell + k] =
            new_cell[c] < 0 ? -1 : static_cast<int64_t>(static_cast<size_t>(new_cell[c]) * per_cell + k);
      }
    }
    const size_t num_series = num_new * per_cell;
    std::vector<size_t> at(num_series + 1, 0);
    for (const uint64_t r : std::span(records_.get(), num_records_)) {
      const int64_t ns = new_series[static_cast<size_t>(r >> kRecordSeriesShift)];
      if (ns >= 0) ++at[static_cast<size_t>(ns) + 1];
    }
    for (size_t i = 0; i < num_series; ++i) at[i + 1] += at[i];
    std::vector<uint16_t> low(at[num_series]);
    for (const uint64_t r : std::span(records_.get(), num_records_)) {
      const int64_t ns = new_series[static_cast<size_t>(r >> kRecordSeriesShift)];
      if (ns >= 0) low[at[static_cast<size_t>(ns)]++] = static_cast<uint16_t>(r & kRecordLowMask);
    }
    records_.reset();
    num_records_ = 0;
    // at[s] is now the end of series s (and the start of s + 1).
    // First the number of bins (the touched buckets alone), so that the output is
    // allocated once at its size rather than grown by copies.
    uint64_t touched[(size_t{1} << kRecordSeriesShift) / 128] = {};  // a bit per bucket
    size_t num_bins = 0;
    for (size_t s = 0, begin = 0; s < num_series; begin = at[s++]) {
      if (begin == at[s]) continue;
      for (size_t i = begin; i < at[s]; ++i) touched[low[i] >> 7] |= uint64_t{1} << ((low[i] >> 1) & 63);
      for (uint64_t& w : touched) num_bins += static_cast<size_t>(std::popcount(std::exchange(w, 0)));
    }
    std::vector<DurationBin> out(num_bins);
    std::vector<int64_t> count(size_t{1} << kRecordSeriesShift, 0);  // by low bits
    size_t o = 0;
    for (size_t s = 0, begin = 0; s < num_series; begin = at[s++]) {
      if (begin == at[s]) continue;
      for (size_t i = begin; i < at[s]; ++i) {
        const uint16_t v = low[i];
        ++count[v];
        touched[v >> 7] |= uint64_t{1} << ((v >> 1) & 63);
      }
      const auto cell = static_cast<int32_t>(s / per_cell);
      const int32_t stage = static_cast<int32_t>(s % per_cell) - 1;
      for (size_t w = 0; w < std::size(touched); ++w) {
        for (uint64_t bits = std::exchange(touched[w], 0); bits != 0; bits &= bits - 1) {
          const size_t bucket = w * 64 + static_cast<size_t>(std::countr_zero(bits));
          out[o++] = DurationBin{cell, stage, static_cast<int64_t>(bucket), std::exchange(count[2 * bucket], 0),
                                 std::exchange(count[2 * bucket + 1], 0)};
        }
      }
    }
    return out;
  }

  std::vector<int32_t> cell_unit;
  std::vector<int64_t> cell_period;
  std::vector<int64_t> counters;
  std::vector<Int128> dollars;
  std::vector<int32_t> stamp;  // per cell and action: the last deal counted in deals[a]

 private:
  struct Bounds {
    int64_t period, start, end;
  };
  static_assert(kMaxDurationBucket < 4096, "a bucket must fit the 12 bits of a record");
  static constexpr int kRecordSeriesShift = 13;
  static constexpr uint64_t kRecordLowMask = (uint64_t{1} << kRecordSeriesShift) - 1;

  // duration / resolution for duration >= 0, without a 64-bit division in the common
  // case: a double estimate, exact after one correction while the quotient is below
  // 2^40 (the estimate is then within 2^-10 of the true quotient).
  int64_t Bucket(int64_t duration) const {
    const double estimate = static_cast<double>(duration) * inverse_resolution_;
    if (estimate < 0x1p40) {
      auto q = static_cast<int64_t>(estimate);
      const Int128 r = static_cast<Int128>(duration) - static_cast<Int128>(q) * resolution_;
      if (r < 0) {
        --q;
      } else if (r >= resolution_) {
        ++q;
      }
      return q;
    }
    return duration / resolution_;
  }
  struct CellSlot {
    int32_t unit;
    int32_t cell;
    int64_t period;
  };


  void Point(Cache& cache, int32_t cell) {
    cache.cell = cell;
    cache.counter_base = static_cast<int64_t>(cell) * B_;
    cache.stamp_base = static_cast<int64_t>(cell) * A_;
  }

  static size_t Slot(int32_t unit, int64_t period) {
    return (static_cast<size_t>(unit) * 0x9E3779B1u + static_cast<size_t>(period)) & (kRecentSlots - 1);
  }

  int32_t FindCell(int32_t unit, int64_t period) {
    CellSlot& slot = recent_[Slot(unit, period)];
    if (slot.unit == unit && slot.period == period) return slot.cell;
    const auto it = cells_.find(std::pair(unit, period));
    if (it == cells_.end()) return -1;
    slot = CellSlot{unit, it->second, period};
    return it->second;
  }

  int32_t CellOf(int32_t unit, int64_t period) {
    const int32_t found = FindCell(unit, period);
    if (found >= 0) return found;
    const auto cell = static_cast<int32_t>(cell_unit.size());
    cells_.emplace(std::pair(unit, period), cell);
    recent_[Slot(unit, period)] = CellSlot{unit, cell, period};
    cell_unit.push_back(unit);
    cell_period.push_back(period);
    counters.resize(counters.size() + static_cast<size_t>(B_), 0);
    dollars.resize(dollars.size() + static_cast<size_t>(DB_), 0);
    stamp.resize(stamp.size() + static_cast<size_t>(A_), -1);
    return cell;
  }

  static constexpr int kDealPeriods = 4;
  Cache seen_[kDealPeriods];
  int deal_periods_ = 0;
  static constexpr size_t kDaySlots = 1024;
  static constexpr size_t kRecentSlots = 1024;
  const Calendar calendar_;
  const int32_t A_, series_per_cell_;
  const int B_, DB_;
  const int64_t resolution_;
  const double inverse_resolution_;
  Bounds day_bounds_[kDaySlots];
  CellSlot recent_[kRecentSlots];
  absl::flat_hash_map<std::pair<int32_t, int64_t>, int32_t> cells_;
  std::unique_ptr<uint64_t[]> records_;  // num_records_ of them, room for ReserveBins
  size_t num_records_ = 0;
};

}  // namespace

// Everything that touches Indicators' private state (the header befriends this class).
// Members are defined out of line on purpose: a second definition elsewhere would be
// a link error rather than a silent ODR violation.
class IndicatorsBuilder {
 public:
  static Indicators EmptyLike(const Indicators& x);
  static absl::Status CheckSameSettings(const Indicators& a, const Indicators& b);
  static absl::Status Update(Indicators& acc, const EventLog& log, const Timelines& timelines,
                             const Units& units, int32_t first_deal, int32_t last_deal);
  static absl::Status TallyDeals(Indicators& part, const EventLog& log, const Timelines& timelines,
                                 const Units& units, int32_t first_deal, int32_t last_deal);
  // Sorts and prunes to the canonical state; `cell_map`, when given, receives the new
  // index of each old cell (-1 when dropped). Cells (and bins) with equal keys are
  // summed: OutOfRange when a sum overflows, worded "<verb> would overflow ... for
  // <noun> '<name>'", and `x` is then left half-done (callers discard it).
  static absl::Status Canonicalize(Indicators& x, std::vector<int32_t>* cell_map = nullptr,
                                   std::string_view verb = "tallying", std::string_view noun = "unit");
  static absl::Status RemapBins(Indicators& x, const std::vector<int32_t>& new_cell, std::string_view verb,
                                std::string_view noun);
  static absl::Status Merge(Indicators& into, const Indicators& other);
  static Indicators Relayout(const Indicators& x, const std::vector<std::string>& units,
                             const std::vector<std::string>& actions,
                             const std::vector<uint8_t>& actors);
  // OutOfRange, naming the field, unit and period, when a sum overflows.
  static absl::StatusOr<Indicators> MergeSameLists(const Indicators& a, const Indicators& b);
  static absl::StatusOr<Indicators> RollUp(const Indicators& x, std::span<const int32_t> parent,
                                           std::vector<std::string> names, std::string kind);
  static std::string Serialize(const Indicators& x);
  static absl::StatusOr<Indicators> Deserialize(std::string_view bytes);
};

// ---- Units -------------------------------------------------------------------------

absl::StatusOr<Units> UnitsByRep(const EventLog& log, OwnerRule rule) {
  const auto reps = log.rep();
  if (reps.size() != static_cast<size_t>(log.size()) || (log.size() > 0 && reps.empty())) {
    return absl::FailedPreconditionError("the log has no rep column: units by rep need one");
  }
  const auto offsets = log.deal_offsets();
  const auto actions = log.action();
  const auto actors = log.action_actors();
  const auto nd = static_cast<size_t>(log.num_deals());
  std::vector<int32_t> owner(nd, -1);
  std::vector<int32_t> count(static_cast<size_t>(log.reps().size()), 0);
  std::vector<int32_t> seen;  // reps on the deal's seller events, in order of first sight
  for (size_t d = 0; d < nd; ++d) {
    const auto lo = static_cast<size_t>(offsets[d]);
    const auto hi = static_cast<size_t>(offsets[d + 1]);
    int32_t first = -1, last = -1;
    for (size_t k = lo; k < hi; ++k) {
      if (reps[k] < 0) continue;
      if (first < 0) first = reps[k];
      last = reps[k];
    }
    switch (rule) {
      case OwnerRule::kFirst: owner[d] = first; break;
      case OwnerRule::kLast: owner[d] = last; break;
      case OwnerRule::kMostActive: {
        seen.clear();
        for (size_t k = lo; k < hi; ++k) {
          const int32_t r = reps[k];
          if (r < 0 || actors[static_cast<size_t>(actions[k])] != kSeller) continue;
          if (count[static_cast<size_t>(r)]++ == 0) seen.push_back(r);
        }
        int32_t best = -1, best_count = 0;
        for (const int32_t r : seen) {  // strictly more: ties keep the one seen first
          if (count[static_cast<size_t>(r)] > best_count) {
            best = r;
            best_count = count[static_cast<size_t>(r)];
          }
          count[static_cast<size_t>(r)] = 0;
        }
        owner[d] = best >= 0 ? best : first;
        break;
      }
    }
  }
  return UnitsFromOwners("rep", owner, log.reps());
}

absl::StatusOr<Units> UnitsByDimension(const EventLog& log, std::string_view dimension) {
  const DimensionColumn* column = nullptr;
  for (const DimensionColumn& c : log.dimensions()) {
    if (c.name == dimension) column = &c;
  }
  if (column == nullptr) {
    return absl::NotFoundError(absl::StrCat("the log has no dimension '", Sv(dimension), "'"));
  }
  const auto offsets = log.deal_offsets();
  const auto nd = static_cast<size_t>(log.num_deals());
  std::vector<int32_t> owner(nd, -1);
  for (size_t d = 0; d < nd; ++d) {
    for (auto k = static_cast<size_t>(offsets[d]); k < static_cast<size_t>(offsets[d + 1]); ++k) {
      if (column->codes[k] >= 0) {
        owner[d] = column->codes[k];
        break;
      }
    }
  }
  return UnitsFromOwners(column->name, owner, column->dictionary);
}

Units SingleUnit(const EventLog& log, std::string name) {
  Units out;
  out.kind = "all";
  out.names.push_back(std::move(name));
  out.of_deal.assign(static_cast<size_t>(log.num_deals()), 0);
  return out;
}

absl::StatusOr<Units> UnitsFromCodes(const EventLog& log, std::span<const int32_t> unit_of_deal,
                                     std::vector<std::string> names, std::string kind) {
  if (unit_of_deal.size() != static_cast<size_t>(log.num_deals())) {
    return absl::InvalidArgumentError(absl::StrCat("unit_of_deal has ", unit_of_deal.size(),
                                                    " entries but the log has ", log.num_deals(),
                                                    " deals"));
  }
  if (names.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("too many unit names");
  }
  for (size_t d = 0; d < unit_of_deal.size(); ++d) {
    if (unit_of_deal[d] < 0 || static_cast<size_t>(unit_of_deal[d]) >= names.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unit_of_deal[", d, "] = ", unit_of_deal[d], " is not an index into the ", names.size(),
          " unit names (deal '", log.deals().Label(static_cast<int32_t>(d)), "')"));
    }
  }
  SALESPERF_RETURN_IF_ERROR(CheckDistinct(names, "unit"));
  Units out;
  out.kind = std::move(kind);
  out.names = std::move(names);
  out.of_deal.assign(unit_of_deal.begin(), unit_of_deal.end());
  return out;
}

// ---- Create ------------------------------------------------------------------------

absl::StatusOr<Indicators> Indicators::Create(const StageMachine& machine, int64_t as_of,
                                              const IndicatorOptions& options) {
  if (options.response_window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("response_window must be positive, got ", options.response_window));
  }
  if (options.duration_resolution <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration_resolution must be positive, got ", options.duration_resolution));
  }
  if (options.conversion_window && *options.conversion_window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("conversion_window must be positive, got ", *options.conversion_window));
  }
  if (machine.num_open < 0 || machine.stage_names.size() != static_cast<size_t>(machine.num_open) + 2 ||
      machine.window.size() != static_cast<size_t>(machine.num_open)) {
    return absl::InvalidArgumentError(
        "the stage machine is malformed (stage names, open stages and windows disagree)");
  }
  Indicators x;
  x.calendar_ = options.calendar;
  x.as_of_ = as_of;
  x.response_window_ = options.response_window;
  x.resolution_ = options.duration_resolution;
  x.stage_names_ = machine.stage_names;
  x.num_open_ = machine.num_open;
  x.windows_.resize(static_cast<size_t>(machine.num_open));
  for (size_t k = 0; k < x.windows_.size(); ++k) {
    const int64_t w = machine.window[k];
    if (w <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("stage '", Sv(machine.stage_names[k]),
                                                     "' has a non-positive window ", w));
    }
    x.windows_[k] = w != kNoWindow ? w : options.conversion_window.value_or(kNoWindow);
  }
  return x;
}

Indicators IndicatorsBuilder::EmptyLike(const Indicators& x) {
  Indicators out;
  out.calendar_ = x.calendar_;
  out.as_of_ = x.as_of_;
  out.response_window_ = x.response_window_;
  out.resolution_ = x.resolution_;
  out.stage_names_ = x.stage_names_;
  out.num_open_ = x.num_open_;
  out.windows_ = x.windows_;
  return out;
}

absl::Status IndicatorsBuilder::CheckSameSettings(const Indicators& a, const Indicators& b) {
  auto differ = [](std::string_view setting, std::string_view detail) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot merge indicators with different ", Sv(setting), Sv(detail.empty() ? "" : " ("),
        Sv(detail), Sv(detail.empty() ? "" : ")")));
  };
  if (!(a.calendar_ == b.calendar_)) {
    return differ("calendars", absl::StrCat(a.calendar_.Spec(), " and ", b.calendar_.Spec()));
  }
  if (a.stage_names_ != b.stage_names_ || a.num_open_ != b.num_open_) return differ("stages", "");
  if (a.windows_ != b.windows_) return differ("conversion windows", "");
  if (a.response_window_ != b.response_window_) {
    return differ("response windows", absl::StrCat(a.response_window_, " and ", b.response_window_, " ns"));
  }
  if (a.resolution_ != b.resolution_) {
    return differ("duration resolutions", absl::StrCat(a.resolution_, " and ", b.resolution_, " ns"));
  }
  if (a.as_of_ != b.as_of_) {
    return differ("as_of times", absl::StrCat(FormatInstant(a.as_of_), " and ", FormatInstant(b.as_of_)));
  }
  if (!a.unit_kind_.empty() && !b.unit_kind_.empty() && a.unit_kind_ != b.unit_kind_) {
    return differ("unit kinds", absl::StrCat("'", a.unit_kind_, "' and '", b.unit_kind_, "'"));
  }
  return absl::OkStatus();
}

// ---- Update ------------------------------------------------------------------------

absl::Status Indicators::Update(const EventLog& log, const Timelines& timelines, const Units& units,
                                int32_t first_deal, int32_t last_deal) {
  return IndicatorsBuilder::Update(*this, log, timelines, units, first_deal, last_deal);
}

absl::Status IndicatorsBuilder::Update(Indicators& acc, const EventLog& log, const Timelines& t,
                                       const Units& units, int32_t first_deal, int32_t last_deal) {
  const int32_t nd = log.num_deals();
  if (last_deal == -1) last_deal = nd;
  if (first_deal < 0 || last_deal < first_deal || last_deal > nd) {
    return absl::InvalidArgumentError(absl::StrCat("deal range [", first_deal, ", ", last_deal,
                                                   ") is not within the log's ", nd, " deals"));
  }
  if (t.stage_names != acc.stage_names_ || t.num_open != acc.num_open_) {
    return absl::FailedPreconditionError(
        "the timelines come from a stage model with other stages than this accumulator's");
  }
  if (t.as_of != acc.as_of_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the timelines are judged at as_of ", FormatInstant(t.as_of), ", this accumulator at ",
                     FormatInstant(acc.as_of_), " (create it with the timelines' as_of)"));
  }
  const auto ndz = static_cast<size_t>(nd);
  const auto S = static_cast<size_t>(acc.num_stages());
  if (t.current_stage.size() != ndz || t.outcome.size() != ndz || t.outcome_time.size() != ndz ||
      t.value.size() != ndz || t.quiet_since.size() != ndz || t.first_entered.size() != ndz * S ||
      t.last_left.size() != ndz * S || t.stall_limit.size() != static_cast<size_t>(acc.num_open_)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the timelines do not fit the log: they have ", t.outcome.size(), " deals, the log ", nd));
  }
  const auto& tr = t.transitions;
  const size_t ntr = tr.time.size();
  if (tr.deal.size() != ntr || tr.from.size() != ntr || tr.to.size() != ntr || tr.kind.size() != ntr) {
    return absl::FailedPreconditionError("the timelines' transition columns differ in length");
  }
  if (units.of_deal.size() != ndz) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the units have ", units.of_deal.size(), " deals, the log ", nd, " (make them from this log)"));
  }
  if (units.names.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("too many units");
  }
  SALESPERF_RETURN_IF_ERROR(CheckDistinct(units.names, "unit"));
  if (!acc.unit_kind_.empty() && !units.kind.empty() && acc.unit_kind_ != units.kind) {
    return absl::FailedPreconditionError(absl::StrCat("the units are by '", units.kind,
                                                      "', this accumulator's by '", acc.unit_kind_, "'"));
  }
  if (log.action_actors().size() != static_cast<size_t>(log.actions().size())) {
    return absl::FailedPreconditionError("the log's action actors do not match its actions");
  }

  Indicators part = EmptyLike(acc);
  part.unit_kind_ = units.kind;
  part.unit_names_ = units.names;
  const int32_t num_actions = log.actions().size();
  part.action_names_.reserve(static_cast<size_t>(num_actions));
  for (int32_t a = 0; a < num_actions; ++a) part.action_names_.push_back(log.actions().Label(a));
  part.action_actors_.assign(log.action_actors().begin(), log.action_actors().end());
  SALESPERF_RETURN_IF_ERROR(TallyDeals(part, log, t, units, first_deal, last_deal));  // canonical
  if (acc.cell_unit_.empty()) {  // nothing to merge with (nor any action): take the part
    std::string kind = acc.unit_kind_.empty() ? units.kind : std::move(acc.unit_kind_);
    acc = std::move(part);
    acc.unit_kind_ = std::move(kind);
    return absl::OkStatus();
  }
  return Merge(acc, part);  // checks the actors of shared action labels first
}

absl::Status IndicatorsBuilder::TallyDeals(Indicators& part, const EventLog& log, const Timelines& tl,
                                           const Units& units, int32_t first_deal, int32_t last_deal) {
  const int32_t A = part.num_actions();
  const int32_t S = part.num_stages();
  const int32_t O = part.num_open_;
  const int32_t won_stage = O, lost_stage = O + 1;
  const auto U = static_cast<int32_t>(units.names.size());
  const int64_t as_of = part.as_of_;
  const int64_t response_window = part.response_window_;
  // Offsets within a block.
  const int stage_base = kActionFields * A;
  const int cohort_base = stage_base + kStageFields * S;
  const int cell_base = cohort_base + kCohortFields * O;
  const int dollar_cell_base = S;

  Tally tally(part.calendar_, A, S, O, part.resolution_);
  // At most one duration per deal and open stage, plus its cycle time.
  tally.ReserveBins(static_cast<size_t>(last_deal - first_deal) * static_cast<size_t>(O + 1));
  // One cache per pass over a deal, each pass in time order: events (backwards),
  // transitions, first entries.
  Tally::Cache ev, trc, fec;

  const int64_t* times = log.time().data();
  const int32_t* actions = log.action().data();
  // Per action: 1 for a seller action, 2 for a buyer action (one load per event).
  constexpr uint8_t kSellerBit = 1, kBuyerBit = 2;
  std::vector<uint8_t> role(static_cast<size_t>(A));
  for (size_t a = 0; a < role.size(); ++a) {
    role[a] = log.action_actors()[a] == kSeller ? kSellerBit : log.action_actors()[a] == kBuyer ? kBuyerBit : 0;
  }
  const auto offsets = log.deal_offsets();
  const auto& tr = tl.transitions;
  const size_t ntr = tr.time.size();
  size_t cur = static_cast<size_t>(
      std::lower_bound(tr.deal.begin(), tr.deal.end(), first_deal) - tr.deal.begin());
  std::vector<int32_t> fe_cell(static_cast<size_t>(S));
  std::vector<int64_t> suffix(2 * static_cast<size_t>(S) + 2);

  for (int32_t d = first_deal; d < last_deal; ++d) {
    const auto di = static_cast<size_t>(d);
    const int32_t u = units.of_deal[di];
    if (u < 0 || u >= U) {
      return absl::InvalidArgumentError(absl::StrCat("the unit of deal '", log.deals().Label(d), "' is ",
                                                     u, ", not an index into the ", U, " unit names"));
    }
    tally.BeginDeal(ev, trc, fec);
    if (d + 4 < last_deal) {
      const size_t ahead = di + 4;
      __builtin_prefetch(&tl.first_entered[ahead * static_cast<size_t>(S)]);
      __builtin_prefetch(&tl.last_left[ahead * static_cast<size_t>(S)]);
      __builtin_prefetch(&times[offsets[ahead + 1] - 1]);
      __builtin_prefetch(&actions[offsets[ahead + 1] - 1]);
    }
    const double value = tl.value[di];
    const bool valued = !std::isnan(value);
    int64_t fixed = 0;
    if (valued) {
      if (!(std::fabs(value) < kMaxDollars)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "deal '", log.deals().Label(d), "' has the value ", value,
            ", too large for exact dollar sums (the magnitude must be below 9e14)"));
      }
      fixed = RoundHalfAway(value * static_cast<double>(kDollarScale));
    }
    const int64_t v_count = valued ? 1 : 0;

    // Events, backwards: occurrences, distinct deals (stamps), answered. The cache's
    // fields are copied into locals, which stores into the counters cannot alias.
    {
      int64_t answer_from = std::numeric_limits<int64_t>::max();  // no buyer action later
      int64_t start = ev.start, end = ev.end;
      int64_t* block = tally.block(ev);
      int32_t* stamps = tally.stamps(ev);
      const int64_t lo = offsets[di];
      for (int64_t k = offsets[di + 1]; k-- > lo;) {
        const int64_t t = times[k];
        const int32_t a = actions[k];
        if (t < start || t >= end) [[unlikely]] {
          tally.Miss(ev, u, t);
          start = ev.start;
          end = ev.end;
          block = tally.block(ev);
          stamps = tally.stamps(ev);
        }
        // Branch-free: which branch an event takes is data, and mispredicts cost more
        // than the stores (answered of a non-seller action gets + 0).
        int64_t* f = block + kActionFields * a;
        ++f[kOccurrences];
        f[kDeals] += stamps[a] != d ? 1 : 0;
        stamps[a] = d;
        const uint8_t r = role[static_cast<size_t>(a)];
        f[kAnswered] += static_cast<int64_t>(r & (t >= answer_from ? kSellerBit : 0));
        int64_t answered_from_here;
        if (__builtin_sub_overflow(t, response_window, &answered_from_here)) {
          answered_from_here = std::numeric_limits<int64_t>::min();
        }
        answer_from = (r & kBuyerBit) != 0 ? answered_from_here : answer_from;
      }
    }

    // The other passes start where the events did (a deal's first transition and first
    // entry are usually at its first event): the event cache, now on the deal's earliest
    // event period and unit, is a valid start for them and spares each a miss.
    trc = ev;
    fec = ev;

    // Transitions.
    int32_t excluded_from = -2;  // the stage the deal was excluded from (-2: not excluded)
    for (const size_t first_row = cur; cur < ntr && tr.deal[cur] == d; ++cur) {
      const int32_t from = tr.from[cur], to = tr.to[cur];
      const uint8_t kind = tr.kind[cur];
      if (from < -1 || from >= S || to < -1 || to >= S ||
          kind > static_cast<uint8_t>(TransitionKind::kExcluded)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "transition ", cur, " of deal '", log.deals().Label(d), "' is malformed (from ", from,
            ", to ", to, ", kind ", kind, ")"));
      }
      tally.Locate(trc, u, tr.time[cur]);
      int64_t* b = tally.block(trc);
      Int128* db = tally.dollar_block(trc.cell);
      int64_t* cell = b + cell_base;
      if (to >= 0) ++b[stage_base + kStageFields * to + kEntries];
      switch (static_cast<TransitionKind>(kind)) {
        case TransitionKind::kProgressed:
        case TransitionKind::kSkipped: ++cell[kProgressed]; break;
        case TransitionKind::kRegressed: ++cell[kRegressed]; break;
        case TransitionKind::kReopened: ++cell[kReopened]; break;
        case TransitionKind::kExcluded:
          excluded_from = from;
          if (from >= 0 && from < O) ++cell[kExcludedOpen];
          break;
        default: break;
      }
      if (to == won_stage) {
        ++cell[kWon];
        cell[kWonValued] += v_count;
        db[dollar_cell_base + kWonDollars] += fixed;
      } else if (to == lost_stage) {
        ++cell[kLost];
        cell[kLostValued] += v_count;
        db[dollar_cell_base + kLostDollars] += fixed;
      }
      if (cur == first_row && static_cast<TransitionKind>(kind) != TransitionKind::kExcluded) {
        ++cell[kCreated];
        cell[kCreatedValued] += v_count;
        db[dollar_cell_base + kCreatedDollars] += fixed;
      }
    }
    if (cur < ntr && tr.deal[cur] < d) {
      return absl::FailedPreconditionError("the timelines' transitions are not ordered by deal");
    }

    // First entries; the cell of each is kept for the cohorts and durations below.
    const int64_t* fe = &tl.first_entered[di * static_cast<size_t>(S)];
    const int64_t* ll = &tl.last_left[di * static_cast<size_t>(S)];
    int64_t created = kNullInstant;
    int32_t created_cell = -1;
    for (int32_t s = 0; s < S; ++s) {
      if (fe[s] == kNullInstant) continue;
      tally.Locate(fec, u, fe[s]);
      fe_cell[static_cast<size_t>(s)] = fec.cell;
      if (created == kNullInstant || fe[s] < created) {
        created = fe[s];
        created_cell = fec.cell;
      }
      int64_t* f = tally.block(fec) + stage_base + kStageFields * s;
      ++f[kDealsEntered];
      f[kValuedEntered] += v_count;
      tally.dollar_block(fec.cell)[s] += fixed;
    }
    if (created == kNullInstant && tl.outcome[di] != static_cast<uint8_t>(Outcome::kStalled)) continue;

    const uint8_t outcome = tl.outcome[di];
    if (outcome > static_cast<uint8_t>(Outcome::kExcluded)) {
      return absl::FailedPreconditionError(
          absl::StrCat("deal '", log.deals().Label(d), "' has an unknown outcome ", outcome));
    }
    const auto oc = static_cast<Outcome>(outcome);
    const bool closed = oc == Outcome::kWon || oc == Outcome::kLost;
    const bool open_like = oc == Outcome::kOpen || oc == Outcome::kStalled;
    const bool excluded = oc == Outcome::kExcluded;
    const int64_t excluded_at = tl.outcome_time[di];
    // Where a duration still running (or cut by the exclusion) is censored.
    const int64_t censor_at = excluded ? excluded_at : as_of;

    // Cohorts and time in stage. With first entries in stage order (no regression or
    // reopening), the first entry after fe[k] into a higher stage is the minimum over
    // the higher stages: suffix minima give it; otherwise a scan does.
    constexpr int64_t kInf = std::numeric_limits<int64_t>::max();
    int64_t* const after_any = suffix.data();       // min fe[s], s >= i (Won, Lost included)
    int64_t* const after_open = suffix.data() + S + 1;  // min fe[s], s >= i, s <= Won
    // The running minima stay in registers: read back from the arrays (which the
    // compiler must assume fe may alias), each step would wait on the previous store.
    after_any[S] = after_open[S] = kInf;
    int64_t min_any = kInf, min_open = kInf;
    for (int32_t s = S - 1; s >= 0; --s) {
      const int64_t x = fe[s] == kNullInstant ? kInf : fe[s];
      min_any = std::min(x, min_any);
      if (s <= won_stage) min_open = std::min(x, min_open);
      after_any[s] = min_any;
      after_open[s] = min_open;
    }
    for (int32_t k = 0; k < O; ++k) {
      const int64_t entered = fe[k];
      if (entered == kNullInstant) continue;
      const int64_t W = part.windows_[static_cast<size_t>(k)];
      int64_t exit = after_any[k + 1], next = after_open[k + 1];
      if (exit < entered || next < entered) [[unlikely]] {  // an earlier entry above: scan
        exit = next = kInf;
        for (int32_t s = k + 1; s < S; ++s) {
          const int64_t x = fe[s];
          if (x == kNullInstant || x < entered) continue;
          exit = std::min(exit, x);
          if (s <= won_stage) next = std::min(next, x);
        }
      }
      const int64_t won_at = fe[won_stage] != kNullInstant && fe[won_stage] >= entered ? fe[won_stage] : kInf;
      const int32_t cell = fe_cell[static_cast<size_t>(k)];
      int64_t* c = tally.block(cell) + cohort_base + kCohortFields * k;
      auto judge = [&](int64_t reached, int advanced, int failed, int pending) {
        if (reached != kInf && (W == kNoWindow || Span(entered, reached) <= W)) {
          ++c[advanced];
        } else if (closed) {
          ++c[failed];
        } else if (open_like) {
          ++c[W != kNoWindow && static_cast<Int128>(as_of) - entered >= W ? failed : pending];
        } else if (excluded && W != kNoWindow && static_cast<Int128>(excluded_at) - entered >= W) {
          ++c[failed];
        }
      };
      judge(next, kAdvanced, kFailed, kPending);
      judge(won_at, kWonInWindow, kWonFailed, kWonPending);

      if (exit != kInf) {
        tally.AddBin(cell, k, Span(entered, exit), true);
      } else if (excluded && excluded_from == k) {
        tally.AddBin(cell, k, Span(entered, excluded_at), false);
      } else if (ll[k] != kNullInstant && ll[k] >= entered) {
        tally.AddBin(cell, k, Span(entered, ll[k]), true);
      } else {
        tally.AddBin(cell, k, Span(entered, censor_at), false);
      }
    }

    // Cycle time.
    if (created != kNullInstant) {
      int64_t close = kNullInstant;
      for (const int32_t s : {won_stage, lost_stage}) {
        if (fe[s] != kNullInstant && fe[s] >= created && (close == kNullInstant || fe[s] < close)) close = fe[s];
      }
      if (close != kNullInstant) {
        tally.AddBin(created_cell, -1, Span(created, close), true);
      } else {
        tally.AddBin(created_cell, -1, Span(created, censor_at), false);
      }
    }

    // Stalls.
    if (oc == Outcome::kStalled) {
      const int32_t s = tl.current_stage[di];
      int64_t onset = tl.outcome_time[di];
      if (s >= 0 && s < O && tl.stall_limit[static_cast<size_t>(s)] >= 0 &&
          tl.quiet_since[di] != kNullInstant) {
        onset = SaturatingAdd(tl.quiet_since[di], tl.stall_limit[static_cast<size_t>(s)]);
      }
      if (onset != kNullInstant) {
        tally.Locate(trc, u, onset);
        int64_t* cell = tally.block(trc) + cell_base;
        ++cell[kStalled];
        cell[kStalledValued] += v_count;
        tally.dollar_block(trc.cell)[dollar_cell_base + kStalledDollars] += fixed;
      }
    }
  }

  // Canonical order: the cells first, then the bins straight into the new cells' order.
  part.cell_unit_ = std::move(tally.cell_unit);
  part.cell_period_ = std::move(tally.cell_period);
  part.counters_ = std::move(tally.counters);
  part.dollars_ = std::move(tally.dollars);
  part.bins_.clear();
  std::vector<int32_t> cell_map;
  SALESPERF_RETURN_IF_ERROR(Canonicalize(part, &cell_map));  // cells are distinct: sums nothing
  part.bins_ = tally.TakeBins(cell_map, part.cell_unit_.size());
  return absl::OkStatus();
}

// ---- Canonical state ---------------------------------------------------------------

absl::Status IndicatorsBuilder::Canonicalize(Indicators& x, std::vector<int32_t>* cell_map, std::string_view verb,
                                             std::string_view noun) {
  const int32_t A = x.num_actions();
  const int B = x.block_size();
  const int DB = x.dollar_block_size();
  const int tail = B - kActionFields * A;  // stage, cohort and cell fields
  const size_t nc = x.cell_unit_.size();

  // Actions that occur, sorted by label.
  std::vector<uint8_t> occurs(static_cast<size_t>(A), 0);
  for (size_t c = 0; c < nc; ++c) {
    const int64_t* b = &x.counters_[c * static_cast<size_t>(B)];
    for (int32_t a = 0; a < A; ++a) {
      if (b[kActionFields * a + kOccurrences] != 0 || b[kActionFields * a + kDeals] != 0 ||
          b[kActionFields * a + kAnswered] != 0) {
        occurs[static_cast<size_t>(a)] = 1;
      }
    }
  }
  std::vector<int32_t> action_order;
  for (int32_t a = 0; a < A; ++a) {
    if (occurs[static_cast<size_t>(a)]) action_order.push_back(a);
  }
  std::sort(action_order.begin(), action_order.end(), [&](int32_t a, int32_t b) {
    return x.action_names_[static_cast<size_t>(a)] < x.action_names_[static_cast<size_t>(b)];
  });
  std::vector<int32_t> new_action(static_cast<size_t>(A), -1);
  for (size_t i = 0; i < action_order.size(); ++i) new_action[static_cast<size_t>(action_order[i])] = static_cast<int32_t>(i);
  const auto A2 = static_cast<int32_t>(action_order.size());
  const int B2 = kActionFields * A2 + tail;

  // Cells with something in them (a bin counts, though a bin's cell always has a
  // stage entry too).
  std::vector<uint8_t> live(nc, 0);
  for (const DurationBin& bin : x.bins_) {
    if ((bin.observed != 0 || bin.censored != 0) && bin.cell >= 0 && static_cast<size_t>(bin.cell) < nc) {
      live[static_cast<size_t>(bin.cell)] = 1;
    }
  }
  for (size_t c = 0; c < nc; ++c) {
    if (live[c]) continue;
    const int64_t* b = &x.counters_[c * static_cast<size_t>(B)];
    const Int128* db = &x.dollars_[c * static_cast<size_t>(DB)];
    live[c] = std::any_of(b, b + B, [](int64_t v) { return v != 0; }) ||
              std::any_of(db, db + DB, [](Int128 v) { return v != 0; });
  }

  // Units that hold a live cell, sorted by name.
  const auto U = static_cast<int32_t>(x.unit_names_.size());
  std::vector<uint8_t> used(static_cast<size_t>(U), 0);
  for (size_t c = 0; c < nc; ++c) {
    if (live[c]) used[static_cast<size_t>(x.cell_unit_[c])] = 1;
  }
  std::vector<int32_t> unit_order;
  for (int32_t u = 0; u < U; ++u) {
    if (used[static_cast<size_t>(u)]) unit_order.push_back(u);
  }
  std::sort(unit_order.begin(), unit_order.end(), [&](int32_t a, int32_t b) {
    return x.unit_names_[static_cast<size_t>(a)] < x.unit_names_[static_cast<size_t>(b)];
  });
  std::vector<int32_t> new_unit(static_cast<size_t>(U), -1);
  for (size_t i = 0; i < unit_order.size(); ++i) new_unit[static_cast<size_t>(unit_order[i])] = static_cast<int32_t>(i);

  // Cells sorted by (unit, period); equal keys summed.
  std::vector<size_t> order;
  order.reserve(nc);
  for (size_t c = 0; c < nc; ++c) {
    if (live[c]) order.push_back(c);
  }
  auto key = [&](size_t c) { return std::pair(new_unit[static_cast<size_t>(x.cell_unit_[c])], x.cell_period_[c]); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<int32_t> new_cell(nc, -1);
  std::vector<int32_t> cell_unit;
  std::vector<int64_t> cell_period;
  std::vector<int64_t> counters;
  std::vector<Int128> dollars;
  cell_unit.reserve(order.size());
  cell_period.reserve(order.size());
  counters.reserve(order.size() * static_cast<size_t>(B2));
  dollars.reserve(order.size() * static_cast<size_t>(DB));
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t c = order[i];
    const bool first = i == 0 || key(c) != key(order[i - 1]);
    if (first) {
      cell_unit.push_back(key(c).first);
      cell_period.push_back(x.cell_period_[c]);
      counters.resize(counters.size() + static_cast<size_t>(B2), 0);
      dollars.resize(dollars.size() + static_cast<size_t>(DB), 0);
    }
    const size_t n = cell_unit.size() - 1;
    new_cell[c] = static_cast<int32_t>(n);
    const int64_t* from = &x.counters_[c * static_cast<size_t>(B)];
    int64_t* to = &counters[n * static_cast<size_t>(B2)];
    const Int128* dfrom = &x.dollars_[c * static_cast<size_t>(DB)];
    Int128* dto = &dollars[n * static_cast<size_t>(DB)];
    if (first) {  // a copy (the only case in Update: its cells are distinct)
      for (int32_t a = 0; a < A; ++a) {
        const int32_t na = new_action[static_cast<size_t>(a)];
        if (na < 0) continue;
        for (int f = 0; f < kActionFields; ++f) to[kActionFields * na + f] = from[kActionFields * a + f];
      }
      std::copy(from + kActionFields * A, from + B, to + kActionFields * A2);
      std::copy(dfrom, dfrom + DB, dto);
      continue;
    }
    // Another cell of the same (unit, period) (RollUp): checked sums.
    auto overflow = [&](const std::string& what) {
      return OverflowError(verb, what, noun, x.unit_names_[static_cast<size_t>(x.cell_unit_[c])], x.calendar_,
                           x.cell_period_[c]);
    };
    for (int32_t a = 0; a < A; ++a) {
      const int32_t na = new_action[static_cast<size_t>(a)];
      if (na < 0) continue;
      for (int f = 0; f < kActionFields; ++f) {
        if (AddOverflows(to[kActionFields * na + f], from[kActionFields * a + f])) {
          return overflow(absl::StrCat("count of ", CounterName(x, static_cast<size_t>(kActionFields * a + f))));
        }
      }
    }
    for (int f = 0; f < tail; ++f) {
      if (AddOverflows(to[kActionFields * A2 + f], from[kActionFields * A + f])) {
        return overflow(absl::StrCat("count of ", CounterName(x, static_cast<size_t>(kActionFields * A + f))));
      }
    }
    for (int f = 0; f < DB; ++f) {
      if (AddOverflows(dto[f], dfrom[f])) {
        return overflow(absl::StrCat("dollar sum of ", DollarName(x, static_cast<size_t>(f))));
      }
    }
  }

  std::vector<std::string> unit_names, action_names;
  std::vector<uint8_t> action_actors;
  unit_names.reserve(unit_order.size());
  for (const int32_t u : unit_order) unit_names.push_back(std::move(x.unit_names_[static_cast<size_t>(u)]));
  for (const int32_t a : action_order) {
    action_names.push_back(std::move(x.action_names_[static_cast<size_t>(a)]));
    action_actors.push_back(x.action_actors_[static_cast<size_t>(a)]);
  }
  x.unit_names_ = std::move(unit_names);
  x.action_names_ = std::move(action_names);
  x.action_actors_ = std::move(action_actors);
  x.cell_unit_ = std::move(cell_unit);
  x.cell_period_ = std::move(cell_period);
  x.counters_ = std::move(counters);
  x.dollars_ = std::move(dollars);
  SALESPERF_RETURN_IF_ERROR(RemapBins(x, new_cell, verb, noun));
  if (cell_map != nullptr) *cell_map = std::move(new_cell);
  return absl::OkStatus();
}

// Bins onto new cells (new_cell[old], -1 = dropped): grouped by new cell keeping their
// order (a counting sort), each group sorted unless it already is, equal keys summed,
// empty ones dropped.
absl::Status IndicatorsBuilder::RemapBins(Indicators& x, const std::vector<int32_t>& new_cell,
                                          std::string_view verb, std::string_view noun) {
  if (x.bins_.empty()) return absl::OkStatus();
  const size_t nc = new_cell.size();
  const size_t nc2 = x.cell_unit_.size();
  std::vector<size_t> start(nc2 + 1, 0);
  for (const DurationBin& bin : x.bins_) {
    if ((bin.observed != 0 || bin.censored != 0) && bin.cell >= 0 && static_cast<size_t>(bin.cell) < nc &&
        new_cell[static_cast<size_t>(bin.cell)] >= 0) {
      ++start[static_cast<size_t>(new_cell[static_cast<size_t>(bin.cell)]) + 1];
    }
  }
  for (size_t c = 0; c < nc2; ++c) start[c + 1] += start[c];
  std::vector<DurationBin> bins(start[nc2]);
  {
    std::vector<size_t> at(start.begin(), start.end() - 1);
    for (const DurationBin& bin : x.bins_) {
      if ((bin.observed != 0 || bin.censored != 0) && bin.cell >= 0 && static_cast<size_t>(bin.cell) < nc &&
          new_cell[static_cast<size_t>(bin.cell)] >= 0) {
        DurationBin& b = bins[at[static_cast<size_t>(new_cell[static_cast<size_t>(bin.cell)])]++];
        b = bin;
        b.cell = new_cell[static_cast<size_t>(bin.cell)];
      }
    }
  }
  for (size_t c = 0; c < nc2; ++c) {
    const auto first = bins.begin() + static_cast<std::ptrdiff_t>(start[c]);
    const auto last = bins.begin() + static_cast<std::ptrdiff_t>(start[c + 1]);
    if (!std::is_sorted(first, last, BinOrder())) std::sort(first, last, BinOrder());
  }
  size_t w = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    if (w > 0 && !BinLess(bins[w - 1], bins[i])) {
      DurationBin& to = bins[w - 1];
      const bool observed = AddOverflows(to.observed, bins[i].observed);
      if (observed || AddOverflows(to.censored, bins[i].censored)) {
        const auto cell = static_cast<size_t>(to.cell);
        return OverflowError(verb, absl::StrCat("count of ", BinName(x, to, observed)), noun,
                             x.unit_names_[static_cast<size_t>(x.cell_unit_[cell])], x.calendar_,
                             x.cell_period_[cell]);
      }
    } else {
      bins[w++] = bins[i];
    }
  }
  bins.resize(w);
  x.bins_ = std::move(bins);
  return absl::OkStatus();
}

// ---- Merge -------------------------------------------------------------------------

absl::Status Indicators::Merge(const Indicators& other) { return IndicatorsBuilder::Merge(*this, other); }

// `x` on other (sorted, superset) unit and action lists: same cells, wider blocks.
Indicators IndicatorsBuilder::Relayout(const Indicators& x, const std::vector<std::string>& units,
                                       const std::vector<std::string>& actions,
                                       const std::vector<uint8_t>& actors) {
  Indicators out = EmptyLike(x);
  out.unit_kind_ = x.unit_kind_;
  out.unit_names_ = units;
  out.action_names_ = actions;
  out.action_actors_ = actors;
  std::vector<int32_t> unit_map(x.unit_names_.size());
  for (size_t u = 0, j = 0; u < x.unit_names_.size(); ++u) {
    while (units[j] != x.unit_names_[u]) ++j;
    unit_map[u] = static_cast<int32_t>(j);
  }
  std::vector<int32_t> action_map(x.action_names_.size());
  for (size_t a = 0, j = 0; a < x.action_names_.size(); ++a) {
    while (actions[j] != x.action_names_[a]) ++j;
    action_map[a] = static_cast<int32_t>(j);
  }
  const int32_t A = x.num_actions();
  const int B = x.block_size();
  const int B2 = out.block_size();
  const int tail = B - kActionFields * A;
  const int tail2 = B2 - kActionFields * out.num_actions();
  const size_t nc = x.cell_unit_.size();
  out.cell_unit_.resize(nc);
  for (size_t c = 0; c < nc; ++c) out.cell_unit_[c] = unit_map[static_cast<size_t>(x.cell_unit_[c])];
  out.cell_period_ = x.cell_period_;
  out.counters_.assign(nc * static_cast<size_t>(B2), 0);
  for (size_t c = 0; c < nc; ++c) {
    const int64_t* from = &x.counters_[c * static_cast<size_t>(B)];
    int64_t* to = &out.counters_[c * static_cast<size_t>(B2)];
    for (int32_t a = 0; a < A; ++a) {
      for (int f = 0; f < kActionFields; ++f) {
        to[kActionFields * action_map[static_cast<size_t>(a)] + f] = from[kActionFields * a + f];
      }
    }
    std::copy(from + B - tail, from + B, to + B2 - tail2);
  }
  out.dollars_ = x.dollars_;
  out.bins_ = x.bins_;
  return out;
}

// Both canonical with the same unit and action lists: a merge of sorted cells and bins.
absl::StatusOr<Indicators> IndicatorsBuilder::MergeSameLists(const Indicators& a, const Indicators& b) {
  Indicators out = EmptyLike(a);
  out.unit_kind_ = a.unit_kind_.empty() ? b.unit_kind_ : a.unit_kind_;
  out.unit_names_ = a.unit_names_;
  out.action_names_ = a.action_names_;
  out.action_actors_ = a.action_actors_;
  const auto B = static_cast<size_t>(a.block_size());
  const auto DB = static_cast<size_t>(a.dollar_block_size());
  const size_t na = a.cell_unit_.size(), nb = b.cell_unit_.size();
  std::vector<int32_t> map_a(na), map_b(nb);
  size_t i = 0, j = 0;
  auto append = [&](const Indicators& x, size_t c) {
    out.cell_unit_.push_back(x.cell_unit_[c]);
    out.cell_period_.push_back(x.cell_period_[c]);
    out.counters_.insert(out.counters_.end(), x.counters_.begin() + static_cast<std::ptrdiff_t>(c * B),
                         x.counters_.begin() + static_cast<std::ptrdiff_t>((c + 1) * B));
    out.dollars_.insert(out.dollars_.end(), x.dollars_.begin() + static_cast<std::ptrdiff_t>(c * DB),
                        x.dollars_.begin() + static_cast<std::ptrdiff_t>((c + 1) * DB));
    return static_cast<int32_t>(out.cell_unit_.size() - 1);
  };
  out.cell_unit_.reserve(na + nb);
  out.cell_period_.reserve(na + nb);
  out.counters_.reserve((na + nb) * B);
  out.dollars_.reserve((na + nb) * DB);
  while (i < na || j < nb) {
    const bool take_a = j == nb || (i < na && std::pair(a.cell_unit_[i], a.cell_period_[i]) <=
                                                  std::pair(b.cell_unit_[j], b.cell_period_[j]));
    const bool take_b = i == na || (j < nb && std::pair(b.cell_unit_[j], b.cell_period_[j]) <=
                                                  std::pair(a.cell_unit_[i], a.cell_period_[i]));
    if (take_a && take_b) {
      const int32_t n = append(a, i);
      auto overflow = [&](const std::string& what) {
        return OverflowError("merging", what, "unit", out.unit_names_[static_cast<size_t>(a.cell_unit_[i])],
                             out.calendar_, a.cell_period_[i]);
      };
      int64_t* to = &out.counters_[static_cast<size_t>(n) * B];
      const int64_t* from = &b.counters_[j * B];
      for (size_t f = 0; f < B; ++f) {
        if (AddOverflows(to[f], from[f])) return overflow(absl::StrCat("count of ", CounterName(out, f)));
      }
      Int128* dto = &out.dollars_[static_cast<size_t>(n) * DB];
      const Int128* dfrom = &b.dollars_[j * DB];
      for (size_t f = 0; f < DB; ++f) {
        if (AddOverflows(dto[f], dfrom[f])) return overflow(absl::StrCat("dollar sum of ", DollarName(out, f)));
      }
      map_a[i++] = n;
      map_b[j++] = n;
    } else if (take_a) {
      map_a[i] = append(a, i);
      ++i;
    } else {
      map_b[j] = append(b, j);
      ++j;
    }
  }
  // Bins: both lists stay sorted under the monotone cell maps.
  out.bins_.reserve(a.bins_.size() + b.bins_.size());
  size_t p = 0, q = 0;
  while (p < a.bins_.size() || q < b.bins_.size()) {
    DurationBin x{}, y{};
    if (p < a.bins_.size()) {
      x = a.bins_[p];
      x.cell = map_a[static_cast<size_t>(x.cell)];
    }
    if (q < b.bins_.size()) {
      y = b.bins_[q];
      y.cell = map_b[static_cast<size_t>(y.cell)];
    }
    if (q == b.bins_.size() || (p < a.bins_.size() && BinLess(x, y))) {
      out.bins_.push_back(x);
      ++p;
    } else if (p == a.bins_.size() || BinLess(y, x)) {
      out.bins_.push_back(y);
      ++q;
    } else {
      const bool observed = AddOverflows(x.observed, y.observed);
      if (observed || AddOverflows(x.censored, y.censored)) {
        const auto cell = static_cast<size_t>(x.cell);
        return OverflowError("merging", absl::StrCat("count of ", BinName(out, x, observed)), "unit",
                             out.unit_names_[static_cast<size_t>(out.cell_unit_[cell])], out.calendar_,
                             out.cell_period_[cell]);
      }
      out.bins_.push_back(x);
      ++p;
      ++q;
    }
  }
  return out;
}

absl::Status IndicatorsBuilder::Merge(Indicators& into, const Indicators& other) {
  if (&into == &other) {
    const Indicators copy = other;
    return Merge(into, copy);
  }
  SALESPERF_RETURN_IF_ERROR(CheckSameSettings(into, other));
  // Actions: the same label must have the same actor.
  for (size_t i = 0, j = 0; i < into.action_names_.size() && j < other.action_names_.size();) {
    const int cmp = into.action_names_[i].compare(other.action_names_[j]);
    if (cmp < 0) {
      ++i;
    } else if (cmp > 0) {
      ++j;
    } else {
      if (into.action_actors_[i] != other.action_actors_[j]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "action '", into.action_names_[i], "' is a ",
            Sv(ActorName(static_cast<Actor>(into.action_actors_[i]))), " action in one accumulator and a ",
            Sv(ActorName(static_cast<Actor>(other.action_actors_[j]))), " action in the other"));
      }
      ++i;
      ++j;
    }
  }
  // From here on `into` changes only on success: a sum that overflows is OutOfRange
  // (MergeSameLists) and leaves it as it was.
  std::string kind = into.unit_kind_.empty() ? other.unit_kind_ : into.unit_kind_;
  if (other.cell_unit_.empty()) {
    into.unit_kind_ = std::move(kind);
    return absl::OkStatus();
  }
  if (into.cell_unit_.empty()) {
    into = other;
    into.unit_kind_ = std::move(kind);
    return absl::OkStatus();
  }
  if (into.unit_names_ == other.unit_names_ && into.action_names_ == other.action_names_) {
    absl::StatusOr<Indicators> merged = MergeSameLists(into, other);
    if (!merged.ok()) return merged.status();
    into = *std::move(merged);
    return absl::OkStatus();
  }
  // Union lists (sorted), both sides laid out on them, then the sorted merge.
  std::vector<std::string> units;
  std::set_union(into.unit_names_.begin(), into.unit_names_.end(), other.unit_names_.begin(),
                 other.unit_names_.end(), std::back_inserter(units));
  std::vector<std::string> actions;
  std::vector<uint8_t> actors;
  for (size_t i = 0, j = 0; i < into.action_names_.size() || j < other.action_names_.size();) {
    const bool take_i = j == other.action_names_.size() ||
                        (i < into.action_names_.size() && into.action_names_[i] <= other.action_names_[j]);
    if (take_i) {
      actions.push_back(into.action_names_[i]);
      actors.push_back(into.action_actors_[i]);
      if (j < other.action_names_.size() && other.action_names_[j] == into.action_names_[i]) ++j;
      ++i;
    } else {
      actions.push_back(other.action_names_[j]);
      actors.push_back(other.action_actors_[j]);
      ++j;
    }
  }
  absl::StatusOr<Indicators> merged =
      MergeSameLists(Relayout(into, units, actions, actors), Relayout(other, units, actions, actors));
  if (!merged.ok()) return merged.status();
  into = *std::move(merged);
  into.unit_kind_ = std::move(kind);
  return absl::OkStatus();
}

// ---- RollUp ------------------------------------------------------------------------

absl::StatusOr<Indicators> Indicators::RollUp(std::span<const int32_t> parent,
                                              std::vector<std::string> names, std::string kind) const {
  return IndicatorsBuilder::RollUp(*this, parent, std::move(names), std::move(kind));
}

absl::StatusOr<Indicators> IndicatorsBuilder::RollUp(const Indicators& x, std::span<const int32_t> parent,
                                                     std::vector<std::string> names, std::string kind) {
  if (parent.size() != x.unit_names_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("parent has ", parent.size(),
                                                   " entries but the accumulator has ",
                                                   x.unit_names_.size(), " units"));
  }
  if (names.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("too many group names");
  }
  for (size_t u = 0; u < parent.size(); ++u) {
    if (parent[u] < 0 || static_cast<size_t>(parent[u]) >= names.size()) {
      return absl::InvalidArgumentError(absl::StrCat("parent[", u, "] = ", parent[u], " (unit '",
                                                     x.unit_names_[u], "') is not an index into the ",
                                                     names.size(), " group names"));
    }
  }
  SALESPERF_RETURN_IF_ERROR(CheckDistinct(names, "group"));
  Indicators out = x;
  out.unit_kind_ = std::move(kind);
  out.unit_names_ = std::move(names);
  for (int32_t& u : out.cell_unit_) u = parent[static_cast<size_t>(u)];
  // The cells of a group's units in one period are summed: OutOfRange naming the group
  // when a sum overflows.
  SALESPERF_RETURN_IF_ERROR(Canonicalize(out, nullptr, "rolling up", "group"));
  return out;
}

// ---- Reading -----------------------------------------------------------------------

double Indicators::dollars_entered(int64_t c, int32_t s) const {
  return FixedToDollars(dollars_entered_fixed(c, s));
}

double Indicators::dollars(int64_t c, DollarField f) const { return FixedToDollars(dollars_fixed(c, f)); }

// ---- Bytes -------------------------------------------------------------------------

std::string Indicators::Serialize() const { return IndicatorsBuilder::Serialize(*this); }

absl::StatusOr<Indicators> Indicators::Deserialize(std::string_view bytes) {
  return IndicatorsBuilder::Deserialize(bytes);
}

std::string IndicatorsBuilder::Serialize(const Indicators& x) {
  StateWriter w;
  w.Reserve(256 + x.counters_.size() * 8 + x.dollars_.size() * 16 + x.bins_.size() * 32 +
            x.cell_unit_.size() * 12);
  w.String(x.calendar_.Spec());
  w.I64(x.as_of_);
  w.I64(x.response_window_);
  w.I64(x.resolution_);
  w.U32(static_cast<uint32_t>(x.stage_names_.size()));
  w.U32(static_cast<uint32_t>(x.num_open_));
  for (const std::string& s : x.stage_names_) w.String(s);
  for (const int64_t win : x.windows_) w.I64(win);
  w.String(x.unit_kind_);
  w.U32(static_cast<uint32_t>(x.unit_names_.size()));
  for (const std::string& s : x.unit_names_) w.String(s);
  w.U32(static_cast<uint32_t>(x.action_names_.size()));
  for (size_t a = 0; a < x.action_names_.size(); ++a) {
    w.String(x.action_names_[a]);
    w.U8(x.action_actors_[a]);
  }
  w.U64(x.cell_unit_.size());
  for (size_t c = 0; c < x.cell_unit_.size(); ++c) {
    w.I32(x.cell_unit_[c]);
    w.I64(x.cell_period_[c]);
  }
  w.I64s(x.counters_);
  for (const Int128 v : x.dollars_) w.I128(v);
  w.U64(x.bins_.size());
  for (const DurationBin& b : x.bins_) {
    w.I32(b.cell);
    w.I32(b.stage);
    w.I64(b.bucket);
    w.I64(b.observed);
    w.I64(b.censored);
  }
  return WrapState(kMagic, Indicators::kFormatVersion, w.bytes());
}

absl::StatusOr<Indicators> IndicatorsBuilder::Deserialize(std::string_view bytes) {
  absl::StatusOr<std::string_view> payload = UnwrapState(bytes, kMagic, Indicators::kFormatVersion, "indicators");
  if (!payload.ok()) return payload.status();
  StateReader r(*payload);
  auto corrupt = [](std::string_view why) {
    return absl::DataLossError(absl::StrCat("indicators state corrupt: ", Sv(why)));
  };
  Indicators x;
  std::string spec;
  SALESPERF_RETURN_IF_ERROR(r.String(spec, "calendar spec"));
  absl::StatusOr<Calendar> calendar = Calendar::Parse(spec);
  if (!calendar.ok()) return corrupt(std::string(calendar.status().message()));
  if (calendar->Spec() != spec) return corrupt(absl::StrCat("calendar spec '", spec, "' is not in its canonical form"));
  x.calendar_ = *calendar;
  SALESPERF_RETURN_IF_ERROR(r.I64(x.as_of_, "as_of"));
  SALESPERF_RETURN_IF_ERROR(r.I64(x.response_window_, "response window"));
  SALESPERF_RETURN_IF_ERROR(r.I64(x.resolution_, "duration resolution"));
  if (x.response_window_ <= 0) return corrupt("the response window is not positive");
  if (x.resolution_ <= 0) return corrupt("the duration resolution is not positive");
  uint32_t num_stages = 0, num_open = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count32(num_stages, 4, "stage count"));
  SALESPERF_RETURN_IF_ERROR(r.U32(num_open, "open stage count"));
  // No stages at all: only a default-constructed Indicators(), possibly with a unit kind
  // (checked at the end).
  const bool stageless = num_stages == 0 && num_open == 0;
  if (!stageless && (num_stages < 2 || num_open != num_stages - 2)) {
    return corrupt(absl::StrCat(num_stages, " stages do not hold ", num_open, " open ones plus Won and Lost"));
  }
  x.num_open_ = static_cast<int32_t>(num_open);
  x.stage_names_.resize(num_stages);
  for (std::string& s : x.stage_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "stage name"));
  if (num_open > r.remaining() / 8) {
    return absl::DataLossError("indicators state truncated while reading stage windows");
  }
  x.windows_.resize(num_open);
  SALESPERF_RETURN_IF_ERROR(r.I64s(x.windows_, "stage windows"));
  for (const int64_t w : x.windows_) {
    if (w <= 0) return corrupt("a stage window is not positive");
  }
  SALESPERF_RETURN_IF_ERROR(r.String(x.unit_kind_, "unit kind"));
  uint32_t num_units = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count32(num_units, 4, "unit count"));
  x.unit_names_.resize(num_units);
  for (std::string& s : x.unit_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "unit name"));
  for (size_t u = 1; u < x.unit_names_.size(); ++u) {
    if (!(x.unit_names_[u - 1] < x.unit_names_[u])) return corrupt("unit names are not sorted and distinct");
  }
  uint32_t num_actions = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count32(num_actions, 5, "action count"));
  x.action_names_.resize(num_actions);
  x.action_actors_.resize(num_actions);
  for (size_t a = 0; a < num_actions; ++a) {
    SALESPERF_RETURN_IF_ERROR(r.String(x.action_names_[a], "action label"));
    SALESPERF_RETURN_IF_ERROR(r.U8(x.action_actors_[a], "action actor"));
    if (x.action_actors_[a] >= kNumActors) return corrupt("an action has an unknown actor");
    if (a > 0 && !(x.action_names_[a - 1] < x.action_names_[a])) {
      return corrupt("action labels are not sorted and distinct");
    }
  }
  const int64_t block = int64_t{kActionFields} * num_actions + int64_t{kStageFields} * num_stages +
                        int64_t{kCohortFields} * num_open + kCellFields;
  if (block > std::numeric_limits<int32_t>::max() / 16) return corrupt("the cell block is too large");
  const auto B = static_cast<size_t>(block);
  const size_t DB = static_cast<size_t>(num_stages) + kDollarCellFields;
  uint64_t num_cells = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count64(num_cells, 12 + 8 * B + 16 * DB, "cell count"));
  if (num_cells > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return corrupt("too many cells");
  const auto nc = static_cast<size_t>(num_cells);
  x.cell_unit_.resize(nc);
  x.cell_period_.resize(nc);
  const int64_t min_period = x.calendar_.min_index(), max_period = x.calendar_.max_index();
  for (size_t c = 0; c < nc; ++c) {
    SALESPERF_RETURN_IF_ERROR(r.I32(x.cell_unit_[c], "cell unit"));
    SALESPERF_RETURN_IF_ERROR(r.I64(x.cell_period_[c], "cell period"));
    if (x.cell_unit_[c] < 0 || static_cast<uint32_t>(x.cell_unit_[c]) >= num_units) {
      return corrupt(absl::StrCat("cell ", c, " names unit ", x.cell_unit_[c], " of ", num_units));
    }
    if (x.cell_period_[c] < min_period || x.cell_period_[c] > max_period) {
      return corrupt(absl::StrCat("cell ", c, " has period ", x.cell_period_[c], ", outside the calendar"));
    }
    if (c > 0 && !(std::pair(x.cell_unit_[c - 1], x.cell_period_[c - 1]) <
                   std::pair(x.cell_unit_[c], x.cell_period_[c]))) {
      return corrupt("cells are not sorted by (unit, period) and distinct");
    }
  }
  // Every unit holds a cell: cells are sorted by unit, so they cover 0..U-1 in order.
  {
    int32_t next = 0;
    for (size_t c = 0; c < nc; ++c) {
      if (x.cell_unit_[c] == next) ++next;
    }
    if (static_cast<uint32_t>(next) != num_units) return corrupt("a unit holds no cell");
  }
  x.counters_.resize(nc * B);
  SALESPERF_RETURN_IF_ERROR(r.I64s(x.counters_, "counters"));
  for (const int64_t v : x.counters_) {
    if (v < 0) return corrupt("a counter is negative");
  }
  x.dollars_.resize(nc * DB);
  for (Int128& v : x.dollars_) SALESPERF_RETURN_IF_ERROR(r.I128(v, "dollar sums"));
  uint64_t num_bins = 0;
  SALESPERF_RETURN_IF_ERROR(r.Count64(num_bins, 32, "bin count"));
  x.bins_.resize(static_cast<size_t>(num_bins));
  for (size_t i = 0; i < x.bins_.size(); ++i) {
    DurationBin& b = x.bins_[i];
    SALESPERF_RETURN_IF_ERROR(r.I32(b.cell, "bin cell"));
    SALESPERF_RETURN_IF_ERROR(r.I32(b.stage, "bin stage"));
    SALESPERF_RETURN_IF_ERROR(r.I64(b.bucket, "bin bucket"));
    SALESPERF_RETURN_IF_ERROR(r.I64(b.observed, "bin observed count"));
    SALESPERF_RETURN_IF_ERROR(r.I64(b.censored, "bin censored count"));
    if (b.cell < 0 || static_cast<size_t>(b.cell) >= nc) return corrupt(absl::StrCat("bin ", i, " names cell ", b.cell));
    if (b.stage < -1 || b.stage >= x.num_open_) return corrupt(absl::StrCat("bin ", i, " names stage ", b.stage));
    if (b.bucket < 0 || b.bucket > kMaxDurationBucket) {
      return corrupt(absl::StrCat("bin ", i, " has bucket ", b.bucket, " (valid: 0..", kMaxDurationBucket, ")"));
    }
    if (b.observed < 0 || b.censored < 0 || (b.observed == 0 && b.censored == 0)) {
      return corrupt(absl::StrCat("bin ", i, " has a negative or empty count"));
    }
    if (i > 0 && !BinLess(x.bins_[i - 1], b)) return corrupt("bins are not sorted and distinct");
  }
  SALESPERF_RETURN_IF_ERROR(r.Done());
  // Canonical: every action occurs, every cell holds something.
  const auto A = static_cast<size_t>(num_actions);
  std::vector<uint8_t> occurs(A, 0);
  std::vector<uint8_t> cell_has_bin(nc, 0);
  for (const DurationBin& b : x.bins_) cell_has_bin[static_cast<size_t>(b.cell)] = 1;
  for (size_t c = 0; c < nc; ++c) {
    const int64_t* blk = &x.counters_[c * B];
    for (size_t a = 0; a < A; ++a) {
      if (blk[kActionFields * a + kOccurrences] != 0) occurs[a] = 1;
    }
    const Int128* db = &x.dollars_[c * DB];
    if (!cell_has_bin[c] && std::all_of(blk, blk + B, [](int64_t v) { return v == 0; }) &&
        std::all_of(db, db + DB, [](Int128 v) { return v == 0; })) {
      return corrupt(absl::StrCat("cell ", c, " is empty"));
    }
  }
  if (std::find(occurs.begin(), occurs.end(), 0) != occurs.end()) return corrupt("an action never occurs");
  if (stageless) {
    // Indicators() as it is, or with a unit kind (RollUp gives it one); nothing else.
    Indicators empty;
    empty.unit_kind_ = x.unit_kind_;
    if (!(x == empty)) {
      return corrupt("0 stages do not hold 0 open ones plus Won and Lost (only a default-constructed state has none)");
    }
  }
  return x;
}

// ---- ComputeIndicators -------------------------------------------------------------

absl::StatusOr<Indicators> ComputeIndicators(const StageMachine& machine, const EventLog& log,
                                             const Timelines& timelines, const Units& units,
                                             const IndicatorOptions& options) {
  if (options.threads < 0) return absl::InvalidArgumentError("threads must be 0 (every core) or more");
  absl::StatusOr<Indicators> acc = Indicators::Create(machine, timelines.as_of, options);
  if (!acc.ok()) return acc.status();
  const int32_t nd = log.num_deals();
  const int threads = internal::ThreadsFor(options.threads, static_cast<size_t>(log.size()), 1 << 14);
  if (threads <= 1 || nd < 2) {
    SALESPERF_RETURN_IF_ERROR(acc->Update(log, timelines, units));
    return acc;
  }
  // Contiguous deal ranges of about equal event counts.
  const auto parts = static_cast<size_t>(std::min<int32_t>(threads, nd));
  const auto offsets = log.deal_offsets();
  std::vector<int32_t> cut(parts + 1, 0);
  cut[parts] = nd;
  for (size_t i = 1; i < parts; ++i) {
    const int64_t target = log.size() * static_cast<int64_t>(i) / static_cast<int64_t>(parts);
    const auto at = std::lower_bound(offsets.begin(), offsets.begin() + nd, target) - offsets.begin();
    cut[i] = std::max(cut[i - 1], static_cast<int32_t>(at));
  }
  std::vector<Indicators> part(parts, *acc);
  std::vector<absl::Status> status(parts);
  internal::ParallelFor(parts, threads, [&](size_t i) {
    status[i] = part[i].Update(log, timelines, units, cut[i], cut[i + 1]);
  });
  for (const absl::Status& s : status) SALESPERF_RETURN_IF_ERROR(s);
  for (size_t i = 1; i < parts; ++i) SALESPERF_RETURN_IF_ERROR(part[0].Merge(part[i]));
  return std::move(part[0]);
}

}  // namespace salesperf
