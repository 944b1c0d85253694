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
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "salesperf/state.h"
#include "absl_compat.h"
#include "fit_checks.h"
#include "concentration.h"
#include "salesperf/deviance.h"
#include "salesperf/leaks.h"
#include "sorted_names.h"
#include "status_macros.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

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

// ---- Counting ----------------------------------------------------------------------

namespace {

constexpr std::string_view kDevMagic("SPDEVC\0\0", 8);
constexpr uint64_t kNoPattern = std::numeric_limits<uint64_t>::max();

// The levels of a pattern in mixed radix (the first covariate most significant), each
// covariate counting its levels plus "(none)".
uint64_t PatternCode(const DeviantCounts& x, std::span<const int32_t> levels) {
  uint64_t pc = 0;
  for (size_t c = 0; c < levels.size(); ++c) {
    pc = pc * (x.levels()[c].size() + 1) + static_cast<uint64_t>(levels[c]);
  }
  return pc;
}

// One cell's sums.
struct DevCell {
  int64_t deals = 0, won = 0, valued = 0, won_valued = 0;
  Int128 value = 0, won_value = 0;
  void Add(const DevCell& o) {
    deals += o.deals;
    won += o.won;
    valued += o.valued;
    won_valued += o.won_valued;
    value += o.value;
    won_value += o.won_value;
  }
};


using internal::UnionNames;

}  // namespace

class DeviantCountsBuilder {
 public:
  // `deal_patterns` (when not null): per deal, its covariate levels in mixed radix
  // (PatternCode of its canonical levels), kNoPattern for deals not decided.
  static absl::StatusOr<DeviantCounts> Count(const EventLog& log, const Timelines& tl, const Units& units,
                                             std::span<const std::string> covariates,
                                             std::vector<uint64_t>* deal_patterns) {
    SALESPERF_RETURN_IF_ERROR(internal::CheckTimelinesAndUnitsFit(log, tl, units));
    SALESPERF_RETURN_IF_ERROR(internal::CheckDistinctUnitNames(units.names));
    const auto nd = static_cast<size_t>(log.num_deals());
    const auto O = static_cast<size_t>(tl.num_open);
    const size_t S = tl.stage_names.size();
    std::vector<const DimensionColumn*> cov;
    for (size_t i = 0; i < covariates.size(); ++i) {
      const std::string& name = covariates[i];
      for (size_t j = 0; j < i; ++j) {
        if (covariates[j] == name) {
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

    DeviantCounts x;
    x.covariates_.assign(covariates.begin(), covariates.end());
    x.unit_kind_ = units.kind;
    // Units by name.
    const size_t U = units.names.size();
    std::vector<int32_t> unit_order(U);
    std::iota(unit_order.begin(), unit_order.end(), 0);
    std::sort(unit_order.begin(), unit_order.end(),
              [&](int32_t a, int32_t b) { return units.names[static_cast<size_t>(a)] < units.names[static_cast<size_t>(b)]; });
    std::vector<int32_t> unit_rank(U);
    for (size_t i = 0; i < U; ++i) {
      unit_rank[static_cast<size_t>(unit_order[i])] = static_cast<int32_t>(i);
      x.unit_names_.push_back(units.names[static_cast<size_t>(unit_order[i])]);
    }

    // Per decided deal: its covariate codes (the dictionary size for "(none)").
    std::vector<int32_t> code(nd * C, -1);
    std::vector<uint8_t> decided(nd, 0);
    const auto offsets = log.deal_offsets();
    std::vector<std::vector<uint8_t>> used(C);
    for (size_t c = 0; c < C; ++c) used[c].assign(static_cast<size_t>(cov[c]->dictionary.size()) + 1, 0);
    for (size_t d = 0; d < nd; ++d) {
      const auto outcome = static_cast<Outcome>(tl.outcome[d]);
      if (outcome != Outcome::kWon && outcome != Outcome::kLost && outcome != Outcome::kStalled) continue;
      const int64_t* fe = tl.first_entered.data() + d * S;
      bool entered = false;
      for (size_t k = 0; k < O && !entered; ++k) entered = fe[k] != kNullInstant;
      if (!entered) continue;
      const double value = tl.value[d];
      if (!std::isnan(value) && !(std::fabs(value) < kMaxDollars)) {
        return absl::InvalidArgumentError(absl::StrCat("deal '", Sv(log.deals().Label(static_cast<int32_t>(d))),
                                                       "' has the value ", value, ", beyond the ", kMaxDollars,
                                                       " the exact dollar sums allow"));
      }
      decided[d] = 1;
      for (size_t c = 0; c < C; ++c) {
        const auto& codes = cov[c]->codes;
        int32_t v = cov[c]->dictionary.size();
        for (auto i = offsets[d]; i < offsets[d + 1]; ++i) {
          if (codes[static_cast<size_t>(i)] != kNullCode) {
            v = codes[static_cast<size_t>(i)];
            break;
          }
        }
        code[d * C + c] = v;
        used[c][static_cast<size_t>(v)] = 1;
      }
    }
    // Canonical levels: the used labels sorted by name, then "(none)".
    std::vector<std::vector<int32_t>> canon(C);
    x.levels_.resize(C);
    x.has_none_.assign(C, 0);
    for (size_t c = 0; c < C; ++c) {
      const auto L = static_cast<size_t>(cov[c]->dictionary.size());
      std::vector<int32_t> codes;
      for (size_t l = 0; l < L; ++l) {
        if (used[c][l]) codes.push_back(static_cast<int32_t>(l));
      }
      std::sort(codes.begin(), codes.end(), [&](int32_t a, int32_t b) {
        return cov[c]->dictionary.Label(a) < cov[c]->dictionary.Label(b);
      });
      canon[c].assign(L + 1, -1);
      for (size_t i = 0; i < codes.size(); ++i) {
        canon[c][static_cast<size_t>(codes[i])] = static_cast<int32_t>(i);
        x.levels_[c].push_back(cov[c]->dictionary.Label(codes[i]));
      }
      canon[c][L] = static_cast<int32_t>(codes.size());
      x.has_none_[c] = used[c][L];
    }
    // The cells, keyed by the unit then each covariate's level in mixed radix, so that
    // the keys' order is the canonical (unit, levels) order: a slot per key when the
    // key space is small next to the deals, else a hash map; sorted at the end.
    const uint64_t space = std::max<uint64_t>(U, 1);
    uint64_t pattern_space = 1;
    std::vector<uint64_t> size(C);
    for (size_t c = 0; c < C; ++c) {
      size[c] = x.levels_[c].size() + 1;
      if (pattern_space > std::numeric_limits<uint64_t>::max() / size[c] / space) {
        return absl::InvalidArgumentError("covariates: their level combinations are too many to count (over 2^64)");
      }
      pattern_space *= size[c];
    }
    const bool dense = space * pattern_space <= std::max<uint64_t>(uint64_t{1} << 20, 4 * nd);
    std::vector<int32_t> slot(dense ? space * pattern_space : 0, -1);
    std::unordered_map<uint64_t, int32_t> sparse;
    std::vector<std::pair<uint64_t, DevCell>> cells;
    if (deal_patterns != nullptr) deal_patterns->assign(nd, kNoPattern);
    for (size_t d = 0; d < nd; ++d) {
      if (!decided[d]) continue;
      uint64_t pc = 0;
      for (size_t c = 0; c < C; ++c) {
        pc = pc * size[c] + static_cast<uint64_t>(canon[c][static_cast<size_t>(code[d * C + c])]);
      }
      if (deal_patterns != nullptr) (*deal_patterns)[d] = pc;
      const uint64_t key = static_cast<uint64_t>(unit_rank[static_cast<size_t>(units.of_deal[d])]) * pattern_space + pc;
      int32_t& at = dense ? slot[key] : sparse.try_emplace(key, -1).first->second;
      if (at < 0) {
        at = static_cast<int32_t>(cells.size());
        cells.emplace_back(key, DevCell{});
      }
      DevCell& cell = cells[static_cast<size_t>(at)].second;
      const bool won = static_cast<Outcome>(tl.outcome[d]) == Outcome::kWon;
      const double value = tl.value[d];
      ++cell.deals;
      cell.won += won ? 1 : 0;
      if (!std::isnan(value)) {
        const Int128 fixed = std::llround(value * static_cast<double>(kDollarScale));
        ++cell.valued;
        cell.value += fixed;
        if (won) {
          ++cell.won_valued;
          cell.won_value += fixed;
        }
      }
    }
    std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    x.cell_unit_.clear();
    x.cell_level_.assign(cells.size() * C, 0);
    for (auto* v : {&x.deals_, &x.won_, &x.valued_, &x.won_valued_}) v->clear();
    x.value_.clear();
    x.won_value_.clear();
    for (size_t i = 0; i < cells.size(); ++i) {
      uint64_t pc = cells[i].first % pattern_space;
      x.cell_unit_.push_back(static_cast<int32_t>(cells[i].first / pattern_space));
      for (size_t c = C; c-- > 0;) {
        x.cell_level_[i * C + c] = static_cast<int32_t>(pc % size[c]);
        pc /= size[c];
      }
      const DevCell& cell = cells[i].second;
      x.deals_.push_back(cell.deals);
      x.won_.push_back(cell.won);
      x.valued_.push_back(cell.valued);
      x.won_valued_.push_back(cell.won_valued);
      x.value_.push_back(cell.value);
      x.won_value_.push_back(cell.won_value);
    }
    return x;
  }

  static void Store(DeviantCounts& x, const std::map<std::vector<int32_t>, DevCell>& cells) {
    const size_t C = x.covariates_.size();
    x.cell_unit_.clear();
    x.cell_level_.clear();
    for (auto* v : {&x.deals_, &x.won_, &x.valued_, &x.won_valued_}) v->clear();
    x.value_.clear();
    x.won_value_.clear();
    for (const auto& [k, cell] : cells) {
      x.cell_unit_.push_back(k[0]);
      for (size_t c = 0; c < C; ++c) x.cell_level_.push_back(k[1 + c]);
      x.deals_.push_back(cell.deals);
      x.won_.push_back(cell.won);
      x.valued_.push_back(cell.valued);
      x.won_valued_.push_back(cell.won_valued);
      x.value_.push_back(cell.value);
      x.won_value_.push_back(cell.won_value);
    }
  }

  static DevCell CellAt(const DeviantCounts& x, size_t i) {
    return DevCell{x.deals_[i], x.won_[i], x.valued_[i], x.won_valued_[i], x.value_[i], x.won_value_[i]};
  }

  static absl::Status Merge(DeviantCounts& x, const DeviantCounts& y) {
    if (y == DeviantCounts()) return absl::OkStatus();
    if (x == DeviantCounts()) {
      x = y;
      return absl::OkStatus();
    }
    if (x.covariates_ != y.covariates_) {
      return absl::FailedPreconditionError(absl::StrCat("cannot merge deviant counts of different covariates: [",
                                                        absl::StrJoin(x.covariates_, ", "), "] and [",
                                                        absl::StrJoin(y.covariates_, ", "), "]"));
    }
    if (x.unit_kind_ != y.unit_kind_) {
      return absl::FailedPreconditionError(absl::StrCat("cannot merge deviant counts of different unit kinds: '",
                                                        Sv(x.unit_kind_), "' and '", Sv(y.unit_kind_), "'"));
    }
    const size_t C = x.covariates_.size();
    std::vector<int32_t> ux, uy;
    std::vector<std::string> units = UnionNames(x.unit_names_, y.unit_names_, ux, uy);
    std::vector<std::vector<int32_t>> lx(C), ly(C);
    std::vector<std::vector<std::string>> levels(C);
    for (size_t c = 0; c < C; ++c) {
      levels[c] = UnionNames(x.levels_[c], y.levels_[c], lx[c], ly[c]);
      lx[c].push_back(static_cast<int32_t>(levels[c].size()));  // "(none)"
      ly[c].push_back(static_cast<int32_t>(levels[c].size()));
    }
    std::map<std::vector<int32_t>, DevCell> cells;
    std::vector<int32_t> key(1 + C);
    auto add = [&](const DeviantCounts& z, const std::vector<int32_t>& um, const std::vector<std::vector<int32_t>>& lm) {
      for (size_t i = 0; i < z.cell_unit_.size(); ++i) {
        key[0] = um[static_cast<size_t>(z.cell_unit_[i])];
        for (size_t c = 0; c < C; ++c) key[1 + c] = lm[c][static_cast<size_t>(z.cell_level_[i * C + c])];
        cells[key].Add(CellAt(z, i));
      }
    };
    add(x, ux, lx);
    add(y, uy, ly);
    for (size_t c = 0; c < C; ++c) x.has_none_[c] = static_cast<uint8_t>(x.has_none_[c] | y.has_none_[c]);
    x.unit_names_ = std::move(units);
    x.levels_ = std::move(levels);
    Store(x, cells);
    return absl::OkStatus();
  }

  static std::string Serialize(const DeviantCounts& x) {
    StateWriter w;
    const size_t C = x.covariates_.size();
    w.U32(static_cast<uint32_t>(C));
    for (const std::string& s : x.covariates_) w.String(s);
    w.String(x.unit_kind_);
    w.U32(static_cast<uint32_t>(x.unit_names_.size()));
    for (const std::string& s : x.unit_names_) w.String(s);
    for (size_t c = 0; c < C; ++c) {
      w.U8(x.has_none_[c]);
      w.U32(static_cast<uint32_t>(x.levels_[c].size()));
      for (const std::string& s : x.levels_[c]) w.String(s);
    }
    w.U64(x.cell_unit_.size());
    for (size_t i = 0; i < x.cell_unit_.size(); ++i) {
      w.U32(static_cast<uint32_t>(x.cell_unit_[i]));
      for (size_t c = 0; c < C; ++c) w.U32(static_cast<uint32_t>(x.cell_level_[i * C + c]));
      w.I64(x.deals_[i]);
      w.I64(x.won_[i]);
      w.I64(x.valued_[i]);
      w.I64(x.won_valued_[i]);
      w.I128(x.value_[i]);
      w.I128(x.won_value_[i]);
    }
    return WrapState(kDevMagic, DeviantCounts::kFormatVersion, w.bytes());
  }

  static absl::StatusOr<DeviantCounts> Deserialize(std::string_view bytes) {
    absl::StatusOr<std::string_view> payload = UnwrapState(bytes, kDevMagic, DeviantCounts::kFormatVersion, "deviant counts");
    if (!payload.ok()) return payload.status();
    StateReader r(*payload);
    auto bad = [](std::string_view what) { return absl::DataLossError(absl::StrCat("deviant counts state: ", Sv(what))); };
    const auto sorted_unique = internal::SortedUnique;
    DeviantCounts x;
    uint32_t C = 0;
    SALESPERF_RETURN_IF_ERROR(r.Count32(C, 4, "covariate count"));
    x.covariates_.resize(C);
    for (auto& s : x.covariates_) SALESPERF_RETURN_IF_ERROR(r.String(s, "covariate name"));
    {
      std::vector<std::string> sorted = x.covariates_;
      std::sort(sorted.begin(), sorted.end());
      if (!sorted_unique(sorted)) return bad("a covariate is named twice");
    }
    SALESPERF_RETURN_IF_ERROR(r.String(x.unit_kind_, "unit kind"));
    uint32_t U = 0;
    SALESPERF_RETURN_IF_ERROR(r.Count32(U, 4, "unit count"));
    x.unit_names_.resize(U);
    for (auto& s : x.unit_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "unit name"));
    if (!sorted_unique(x.unit_names_)) return bad("unit names not sorted or repeated");
    x.levels_.resize(C);
    x.has_none_.assign(C, 0);
    for (size_t c = 0; c < C; ++c) {
      SALESPERF_RETURN_IF_ERROR(r.U8(x.has_none_[c], "(none) flag"));
      if (x.has_none_[c] > 1) return bad("a (none) flag is not 0 or 1");
      uint32_t L = 0;
      SALESPERF_RETURN_IF_ERROR(r.Count32(L, 4, "level count"));
      x.levels_[c].resize(L);
      for (auto& s : x.levels_[c]) SALESPERF_RETURN_IF_ERROR(r.String(s, "level"));
      if (!sorted_unique(x.levels_[c])) return bad("levels not sorted or repeated");
    }
    uint64_t n = 0;
    SALESPERF_RETURN_IF_ERROR(r.Count64(n, 4 + 4 * size_t{C} + 4 * 8 + 2 * 16, "cell count"));
    x.cell_unit_.resize(n);
    x.cell_level_.resize(n * C);
    for (auto* v : {&x.deals_, &x.won_, &x.valued_, &x.won_valued_}) v->resize(n);
    x.value_.resize(n);
    x.won_value_.resize(n);
    std::vector<std::vector<uint8_t>> level_used(C);
    for (size_t c = 0; c < C; ++c) level_used[c].assign(x.levels_[c].size() + 1, 0);
    constexpr Int128 kMaxFixed = static_cast<Int128>(kMaxDollars * kDollarScale);
    for (size_t i = 0; i < n; ++i) {
      uint32_t u = 0;
      SALESPERF_RETURN_IF_ERROR(r.U32(u, "cell unit"));
      if (u >= U) return bad("a cell's unit is out of range");
      x.cell_unit_[i] = static_cast<int32_t>(u);
      for (size_t c = 0; c < C; ++c) {
        uint32_t l = 0;
        SALESPERF_RETURN_IF_ERROR(r.U32(l, "cell level"));
        if (l > x.levels_[c].size() || (l == x.levels_[c].size() && !x.has_none_[c])) {
          return bad("a cell's level is out of range");
        }
        x.cell_level_[i * C + c] = static_cast<int32_t>(l);
        level_used[c][l] = 1;
      }
      SALESPERF_RETURN_IF_ERROR(r.I64(x.deals_[i], "cell deals"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.won_[i], "cell wins"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.valued_[i], "cell valued deals"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.won_valued_[i], "cell valued wins"));
      SALESPERF_RETURN_IF_ERROR(r.I128(x.value_[i], "cell value"));
      SALESPERF_RETURN_IF_ERROR(r.I128(x.won_value_[i], "cell won value"));
      const int64_t d = x.deals_[i], w = x.won_[i], v = x.valued_[i], wv = x.won_valued_[i];
      if (d < 1 || d > (int64_t{1} << 32) || w < 0 || w > d || v < 0 || v > d || wv < 0 || wv > w || wv > v) {
        return bad("a cell's counts are impossible");
      }
      const Int128 lim_v = static_cast<Int128>(v) * kMaxFixed, lim_w = static_cast<Int128>(wv) * kMaxFixed;
      if (x.value_[i] > lim_v || x.value_[i] < -lim_v || x.won_value_[i] > lim_w || x.won_value_[i] < -lim_w) {
        return bad("a cell's dollar sums are impossible");
      }
      if (i > 0) {
        const auto prev = std::make_pair(x.cell_unit_[i - 1], std::vector<int32_t>(x.cell_level_.begin() + static_cast<std::ptrdiff_t>((i - 1) * C), x.cell_level_.begin() + static_cast<std::ptrdiff_t>(i * C)));
        const auto cur = std::make_pair(x.cell_unit_[i], std::vector<int32_t>(x.cell_level_.begin() + static_cast<std::ptrdiff_t>(i * C), x.cell_level_.begin() + static_cast<std::ptrdiff_t>((i + 1) * C)));
        if (!(prev < cur)) return bad("cells not sorted or repeated");
      }
    }
    for (size_t c = 0; c < C; ++c) {
      for (size_t l = 0; l < level_used[c].size(); ++l) {
        const bool exists = l < x.levels_[c].size() || x.has_none_[c];
        if (exists && !level_used[c][l]) return bad("a level no cell uses");
      }
    }
    SALESPERF_RETURN_IF_ERROR(r.Done());
    return x;
  }

  // The assessment; per pattern (levels, sorted) its fitted p when `patterns` is given.
  static absl::StatusOr<DeviantAssessment> Finalize(const DeviantCounts& x, const DeviantOptions& options,
                                                    std::map<std::vector<int32_t>, double>* patterns) {
    SALESPERF_RETURN_IF_ERROR(CheckOptions(options));
    if (!options.covariates.empty() && options.covariates != x.covariates_) {
      return absl::FailedPreconditionError(absl::StrCat("covariates: the counts are of [", absl::StrJoin(x.covariates_, ", "),
                                                        "], the options name [", absl::StrJoin(options.covariates, ", "), "]"));
    }
    const size_t C = x.covariates_.size(), U = x.unit_names_.size(), N = x.cell_unit_.size();
    int64_t total = 0, total_won = 0, valued = 0;
    Int128 value_sum = 0;
    for (size_t i = 0; i < N; ++i) {
      total += x.deals_[i];
      total_won += x.won_[i];
      valued += x.valued_[i];
      value_sum += x.value_[i];
    }
    if (total == 0) {
      return absl::FailedPreconditionError(
          "no deal is decided (won, lost or stalled after entering an open stage): nothing to assess");
    }
    DeviantAssessment out;
    out.unit_names = x.unit_names_;
    out.decided_deals = total;

    // Design: the reference is the most frequent level (ties: the first by name,
    // "(none)" last); the others get a column, in level order.
    std::vector<std::vector<int32_t>> column_of(C);
    out.coefficient_names.push_back("(intercept)");
    size_t P = 1;
    for (size_t c = 0; c < C; ++c) {
      const size_t L = x.levels_[c].size() + 1;
      std::vector<int64_t> count(L, 0);
      for (size_t i = 0; i < N; ++i) count[static_cast<size_t>(x.cell_level_[i * C + c])] += x.deals_[i];
      size_t ref = 0;
      for (size_t l = 1; l < L; ++l) {
        if (count[l] > count[ref]) ref = l;
      }
      auto label = [&](size_t l) { return l + 1 == L ? std::string(kNoUnitName) : x.levels_[c][l]; };
      out.reference_levels.push_back(label(ref));
      column_of[c].assign(L, -1);
      for (size_t l = 0; l < L; ++l) {
        if (l == ref || count[l] == 0) continue;
        column_of[c][l] = static_cast<int32_t>(P++);
        out.coefficient_names.push_back(absl::StrCat(Sv(x.covariates_[c]), "=", Sv(label(l))));
      }
    }
    // The distinct patterns, sorted; deals and wins of each.
    std::map<std::vector<int32_t>, size_t> pattern_index;
    std::vector<int32_t> key(C);
    for (size_t i = 0; i < N; ++i) {
      for (size_t c = 0; c < C; ++c) key[c] = x.cell_level_[i * C + c];
      pattern_index.emplace(key, 0);
    }
    const size_t NP = pattern_index.size();
    std::vector<std::vector<int32_t>> pattern_cols;
    {
      size_t q = 0;
      for (auto& [k, idx] : pattern_index) {
        idx = q++;
        std::vector<int32_t> cols;
        for (size_t c = 0; c < C; ++c) {
          const int32_t j = column_of[c][static_cast<size_t>(k[c])];
          if (j >= 0) cols.push_back(j);
        }
        pattern_cols.push_back(std::move(cols));
      }
    }
    std::vector<size_t> cell_pattern(N);
    std::vector<int64_t> pn_i(NP, 0), py_i(NP, 0);
    for (size_t i = 0; i < N; ++i) {
      for (size_t c = 0; c < C; ++c) key[c] = x.cell_level_[i * C + c];
      cell_pattern[i] = pattern_index.find(key)->second;
      pn_i[cell_pattern[i]] += x.deals_[i];
      py_i[cell_pattern[i]] += x.won_[i];
    }
    std::vector<double> pn(NP), py(NP);
    for (size_t q = 0; q < NP; ++q) {
      pn[q] = static_cast<double>(pn_i[q]);
      py[q] = static_cast<double>(py_i[q]);
    }

    Eigen::VectorXd beta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(P));
    std::vector<double> p_of(NP);
    const double mean_y = static_cast<double>(total_won) / static_cast<double>(total);
    if (total_won == 0 || total_won == total) {
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
    if (patterns != nullptr) {
      patterns->clear();
      for (const auto& [k, idx] : pattern_index) patterns->emplace(k, p_of[idx]);
    }

    // Deal values: a missing value counts at the mean of the decided deals' values.
    const double mean_value = valued > 0 ? FixedToDollars(value_sum) / static_cast<double>(valued) : kNaN;
    out.decided.assign(U, 0);
    out.won.assign(U, 0);
    out.expected.assign(U, 0.0);
    out.won_value.assign(U, 0.0);
    out.expected_value.assign(U, 0.0);
    std::vector<Int128> won_fixed(U, 0);
    std::vector<int64_t> won_missing(U, 0);
    for (size_t i = 0; i < N; ++i) {
      const auto u = static_cast<size_t>(x.cell_unit_[i]);
      const double p = p_of[cell_pattern[i]];
      const int64_t missing = x.deals_[i] - x.valued_[i];
      double v = FixedToDollars(x.value_[i]);
      if (missing > 0) v += static_cast<double>(missing) * mean_value;
      out.decided[u] += x.deals_[i];
      out.won[u] += x.won_[i];
      out.expected[u] += static_cast<double>(x.deals_[i]) * p;
      out.expected_value[u] += p * v;
      won_fixed[u] += x.won_value_[i];
      won_missing[u] += x.won_[i] - x.won_valued_[i];
    }
    out.ratio.resize(U);
    out.excess_value.resize(U);
    for (size_t u = 0; u < U; ++u) {
      out.won_value[u] = FixedToDollars(won_fixed[u]);
      if (won_missing[u] > 0) out.won_value[u] += static_cast<double>(won_missing[u]) * mean_value;
      out.ratio[u] = out.expected[u] > 0 ? static_cast<double>(out.won[u]) / out.expected[u] : kNaN;
      out.excess_value[u] = out.won_value[u] - out.expected_value[u];
    }
    Shrink(out, options);
    return out;
  }

  // The gamma-Poisson prior, the posterior figures, the flags and the ranks.
  static void Shrink(DeviantAssessment& out, const DeviantOptions& options) {
    const size_t U = out.unit_names.size();
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
  }
};

absl::StatusOr<DeviantCounts> DeviantCounts::Count(const EventLog& log, const Timelines& timelines, const Units& units,
                                                   std::span<const std::string> covariates) {
  return DeviantCountsBuilder::Count(log, timelines, units, covariates, nullptr);
}
absl::Status DeviantCounts::Merge(const DeviantCounts& other) { return DeviantCountsBuilder::Merge(*this, other); }
std::string DeviantCounts::Serialize() const { return DeviantCountsBuilder::Serialize(*this); }
absl::StatusOr<DeviantCounts> DeviantCounts::Deserialize(std::string_view bytes) {
  return DeviantCountsBuilder::Deserialize(bytes);
}
absl::StatusOr<DeviantAssessment> DeviantCounts::Finalize(const DeviantOptions& options) const {
  return DeviantCountsBuilder::Finalize(*this, options, nullptr);
}
int64_t DeviantCounts::decided_deals() const { return std::accumulate(deals_.begin(), deals_.end(), int64_t{0}); }

absl::StatusOr<DeviantAssessment> AssessDeviants(const EventLog& log, const Timelines& tl, const Units& units,
                                                 const DeviantOptions& options) {
  SALESPERF_RETURN_IF_ERROR(CheckOptions(options));
  std::vector<uint64_t> deal_patterns;
  absl::StatusOr<DeviantCounts> counts =
      DeviantCountsBuilder::Count(log, tl, units, options.covariates, &deal_patterns);
  if (!counts.ok()) return counts.status();
  std::map<std::vector<int32_t>, double> patterns;
  absl::StatusOr<DeviantAssessment> sorted = DeviantCountsBuilder::Finalize(*counts, options, &patterns);
  if (!sorted.ok()) return sorted.status();
  // Back to the Units' order.
  const size_t U = units.names.size();
  const DeviantAssessment& s = *sorted;
  std::vector<size_t> at(U);  // unit u of the Units is s's unit at[u]
  for (size_t u = 0; u < U; ++u) {
    at[u] = static_cast<size_t>(std::lower_bound(s.unit_names.begin(), s.unit_names.end(), units.names[u]) -
                                s.unit_names.begin());
  }
  DeviantAssessment out;
  out.unit_names = units.names;
  out.coefficient_names = s.coefficient_names;
  out.coefficients = s.coefficients;
  out.reference_levels = s.reference_levels;
  out.concentration = s.concentration;
  out.decided_deals = s.decided_deals;
  auto permute = [&](const auto& from, auto& to) {
    to.resize(U);
    for (size_t u = 0; u < U; ++u) to[u] = from[at[u]];
  };
  permute(s.decided, out.decided);
  permute(s.won, out.won);
  permute(s.expected, out.expected);
  permute(s.ratio, out.ratio);
  permute(s.won_value, out.won_value);
  permute(s.expected_value, out.expected_value);
  permute(s.excess_value, out.excess_value);
  permute(s.ratio_shrunk, out.ratio_shrunk);
  permute(s.ratio_lower, out.ratio_lower);
  permute(s.ratio_upper, out.ratio_upper);
  permute(s.probability_above, out.probability_above);
  permute(s.probability_below, out.probability_below);
  permute(s.deviant, out.deviant);
  permute(s.rank, out.rank);
  const auto nd = static_cast<size_t>(log.num_deals());
  out.deal_probability.assign(nd, kNaN);
  std::vector<std::pair<uint64_t, double>> p_of;  // by pattern code, sorted
  for (const auto& [levels, p] : patterns) p_of.emplace_back(PatternCode(*counts, levels), p);
  std::sort(p_of.begin(), p_of.end());
  for (size_t d = 0; d < nd; ++d) {
    if (deal_patterns[d] == kNoPattern) continue;
    const auto it = std::lower_bound(p_of.begin(), p_of.end(), std::make_pair(deal_patterns[d], -kInf));
    out.deal_probability[d] = it->second;
  }
  return out;
}

}  // namespace salesperf
