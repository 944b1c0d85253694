// Ingestion: one fused validation + dictionary-encoding pass over the input rows,
// then (only when the input is not already in order) a stable counting sort by deal
// with a per-deal stable sort by time, then exact-duplicate removal.
//
// Cost model, for profiling: the fused pass reads each input column once and writes
// each output column once; deals are numbered in order of first appearance, so input
// already grouped by deal has non-decreasing deal codes and needs no sort at all.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "salesperf/event_log.h"
#include "absl_compat.h"

using salesperf::internal::Sv;

namespace salesperf {

// Friend of EventLog: the only code that fills one.
class EventLogBuilder {
 public:
  static absl::StatusOr<Ingested> Run(const EventColumns& in, const Vocabulary& vocabulary,
                                      const IngestOptions& options);
};

namespace {

absl::Status ColumnError(std::string_view column, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("column '", Sv(column), "': ", Sv(what)));
}

absl::Status CheckIdColumn(std::string_view name, const IdColumn& c, size_t n, bool required) {
  if (!c.present()) {
    if (required && n > 0) return ColumnError(name, "is required but was not given");
    return absl::OkStatus();
  }
  if (c.values.size() != n) {
    return ColumnError(name, absl::StrCat("has ", c.values.size(), " rows, but 'time' has ", n));
  }
  if (!c.valid.empty() && c.valid.size() != n) {
    return ColumnError(name, absl::StrCat("validity mask has ", c.valid.size(),
                                          " rows, but the column has ", n));
  }
  if (!c.coded && !c.labels.empty()) {
    return ColumnError(name, "has labels but is not marked as coded");
  }
  return absl::OkStatus();
}

// Turns one input id column into dense codes numbered by first appearance (among
// the rows it is asked to encode), and remembers the values for the Dictionary.
class IdEncoder {
 public:
  explicit IdEncoder(const IdColumn& c) : col_(c) {
    if (col_.coded) remap_.assign(col_.labels.size(), kNullCode);
  }

  bool present() const { return col_.present(); }

  bool IsNull(size_t i) const {
    if (!col_.valid.empty() && col_.valid[i] == 0) return true;
    return col_.coded && col_.values[i] < 0;
  }

  // Encodes rows row_at(0..m) into out[0..m), column at a time: one tight loop per
  // kind of column, so that the common cases (codes without a mask, sorted integer
  // ids) run without per-row dispatch. Codes beyond the labels are flagged, not read.
  template <typename RowAt>
  void EncodeRows(RowAt row_at, size_t m, int32_t* out) {
    const int64_t* values = col_.values.data();
    const uint8_t* valid = col_.valid.empty() ? nullptr : col_.valid.data();
    if (col_.coded) {
      const int64_t num_labels = static_cast<int64_t>(remap_.size());
      for (size_t k = 0; k < m; ++k) {
        const size_t i = row_at(k);
        const int64_t v = values[i];
        if (v < 0 || (valid != nullptr && valid[i] == 0)) {
          out[k] = kNullCode;
        } else if (v >= num_labels) {
          if (bad_row_ < 0) bad_row_ = static_cast<int64_t>(i);
          out[k] = kNullCode;
        } else {
          int32_t& code = remap_[static_cast<size_t>(v)];
          if (code == kNullCode) {
            code = static_cast<int32_t>(string_values_.size());
            string_values_.push_back(col_.labels[static_cast<size_t>(v)]);
          }
          out[k] = code;
        }
      }
      return;
    }
    int64_t last_value = 0;
    int32_t last_code = kNullCode;
    for (size_t k = 0; k < m; ++k) {
      const size_t i = row_at(k);
      if (valid != nullptr && valid[i] == 0) {
        out[k] = kNullCode;
        continue;
      }
      const int64_t v = values[i];
      if (v == last_value && last_code != kNullCode) {  // runs of one id: no hashing
        out[k] = last_code;
        continue;
      }
      auto [it, inserted] = int_index_.try_emplace(v, static_cast<int32_t>(int_values_.size()));
      if (inserted) int_values_.push_back(v);
      last_value = v;
      last_code = it->second;
      out[k] = last_code;
    }
  }

  // Encodes the accepted rows: every row when `keep` is empty and nothing was rejected.
  void EncodeInto(const Column<int64_t>& keep, bool all, size_t n, Column<int32_t>& out) {
    if (!present()) return;
    out.resize(all ? n : keep.size());
    if (all) {
      EncodeRows([](size_t k) { return k; }, n, out.data());
    } else {
      EncodeRows([&keep](size_t k) { return static_cast<size_t>(keep[k]); }, keep.size(), out.data());
    }
  }

  absl::Status Status(std::string_view name) const {
    if (bad_row_ < 0) return absl::OkStatus();
    return ColumnError(name, absl::StrCat("row ", bad_row_, ": code ", col_.values[static_cast<size_t>(bad_row_)],
                                          " is beyond its ", col_.labels.size(), " labels"));
  }

  Dictionary TakeDictionary() {
    if (col_.coded) return Dictionary::Strings(std::move(string_values_));
    return Dictionary::Ints(std::move(int_values_));
  }

 private:
  const IdColumn& col_;
  std::vector<int32_t> remap_;  // input code -> dense code
  std::vector<std::string> string_values_;
  absl::flat_hash_map<int64_t, int32_t> int_index_;
  std::vector<int64_t> int_values_;
  int64_t bad_row_ = -1;
};

// Resolves actions through the vocabulary once per distinct input value.
class ActionEncoder {
 public:
  ActionEncoder(const IdColumn& c, const Vocabulary& v) : col_(c), vocab_(v) {
    if (col_.coded) state_.assign(col_.labels.size(), kUnresolved);
  }

  bool IsNull(size_t i) const {
    if (!col_.valid.empty() && col_.valid[i] == 0) return true;
    return col_.coded && col_.values[i] < 0;
  }

  // Dense action code of a non-null row, or kUnknown (recording the name).
  int32_t Encode(size_t i) {
    const int64_t v = col_.values[i];
    if (col_.coded) {
      if (v >= static_cast<int64_t>(state_.size())) {
        if (bad_row_ < 0) bad_row_ = static_cast<int64_t>(i);
        return kUnknown;
      }
      int32_t& s = state_[static_cast<size_t>(v)];
      if (s == kUnresolved) s = Resolve(col_.labels[static_cast<size_t>(v)]);
      if (s == kUnknown) CountUnknown(col_.labels[static_cast<size_t>(v)]);
      return s;
    }
    auto [it, inserted] = int_state_.try_emplace(v, kUnresolved);
    if (inserted) it->second = Resolve(absl::StrCat(v));
    if (it->second == kUnknown) CountUnknown(absl::StrCat(v));
    return it->second;
  }

  absl::Status Status() const {
    if (bad_row_ < 0) return absl::OkStatus();
    return ColumnError("action", absl::StrCat("row ", bad_row_, ": code ",
                                              col_.values[static_cast<size_t>(bad_row_)],
                                              " is beyond its ", col_.labels.size(), " labels"));
  }

  static constexpr int32_t kUnresolved = -2;
  static constexpr int32_t kUnknown = -1;

  std::vector<std::string> names;     // dense action code -> name
  std::vector<uint8_t> actors;        // dense action code -> Actor
  std::vector<std::string> prefix_matched;
  std::vector<std::pair<std::string, int64_t>> unknown;  // by first appearance
  std::string last_unknown;

 private:
  int32_t Resolve(const std::string& name) {
    std::optional<Actor> actor = vocab_.Resolve(name);
    if (!actor) return kUnknown;
    if (!vocab_.IsListed(name)) prefix_matched.push_back(name);
    names.push_back(name);
    actors.push_back(static_cast<uint8_t>(*actor));
    return static_cast<int32_t>(names.size() - 1);
  }
  void CountUnknown(const std::string& name) {
    last_unknown = name;
    auto [it, inserted] = unknown_index_.try_emplace(name, unknown.size());
    if (inserted) unknown.emplace_back(name, 0);
    ++unknown[it->second].second;
  }

  const IdColumn& col_;
  const Vocabulary& vocab_;
  std::vector<int32_t> state_;  // input code -> dense action code / kUnknown / kUnresolved
  absl::flat_hash_map<int64_t, int32_t> int_state_;
  absl::flat_hash_map<std::string, size_t> unknown_index_;
  int64_t bad_row_ = -1;
};

template <typename T>
void Gather(Column<T>& column, std::span<const int64_t> order) {
  if (column.empty()) return;
  Column<T> out(order.size());
  for (size_t k = 0; k < order.size(); ++k) out[k] = column[static_cast<size_t>(order[k])];
  column.swap(out);
}

template <typename T>
void Compact(Column<T>& column, std::span<const uint8_t> drop) {
  if (column.empty()) return;
  size_t w = 0;
  for (size_t k = 0; k < column.size(); ++k) {
    if (!drop[k]) column[w++] = column[k];
  }
  column.resize(w);
}

bool SameAmount(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

absl::Status StrictError(int64_t row, std::string_view column, RejectReason reason,
                         std::string_view detail) {
  absl::Status s = absl::InvalidArgumentError(
      absl::StrCat("row ", row, ", column '", Sv(column), "': ", Sv(RejectReasonName(reason)),
                   detail.empty() ? "" : " (", Sv(detail), detail.empty() ? "" : ")"));
  s.SetPayload(Sv(kRowPayload), absl::Cord(absl::StrCat(row)));
  s.SetPayload(Sv(kColumnPayload), absl::Cord(Sv(column)));
  return s;
}

}  // namespace

absl::StatusOr<Ingested> EventLogBuilder::Run(const EventColumns& in, const Vocabulary& vocabulary,
                                              const IngestOptions& options) {
  const size_t n = in.time.size();
  if (vocabulary.empty()) {
    return absl::InvalidArgumentError(
        "the vocabulary is empty: list each action with its actor (buyer, seller or system), "
        "or give prefix rules");
  }
  if (options.min_time > options.max_time) {
    return absl::InvalidArgumentError("ingest options: min_time is after max_time");
  }
  if (auto s = CheckIdColumn("deal", in.deal, n, true); !s.ok()) return s;
  if (auto s = CheckIdColumn("action", in.action, n, true); !s.ok()) return s;
  if (auto s = CheckIdColumn("rep", in.rep, n, false); !s.ok()) return s;
  if (auto s = CheckIdColumn("account", in.account, n, false); !s.ok()) return s;
  if (auto s = CheckIdColumn("contact", in.contact, n, false); !s.ok()) return s;
  if (auto s = CheckIdColumn("contact_role", in.contact_role, n, false); !s.ok()) return s;
  for (const auto& [name, col] : in.dimensions) {
    if (name.empty()) return absl::InvalidArgumentError("a dimension column has no name");
    if (auto s = CheckIdColumn(name, col, n, true); !s.ok()) return s;
  }
  if (!in.time_flags.empty() && in.time_flags.size() != n) {
    return ColumnError("time", absl::StrCat("flags have ", in.time_flags.size(), " rows, not ", n));
  }
  const bool has_amount = !in.amount.empty();
  if (has_amount && in.amount.size() != n) {
    return ColumnError("amount", absl::StrCat("has ", in.amount.size(), " rows, but 'time' has ", n));
  }
  if (!in.amount_valid.empty() && in.amount_valid.size() != n) {
    return ColumnError("amount", "validity mask length differs from the column");
  }

  Ingested result;
  EventLog& log = result.log;
  IngestReport& report = result.report;
  report.rows_in = static_cast<int64_t>(n);

  IdEncoder deal(in.deal), rep(in.rep), account(in.account), contact(in.contact),
      role(in.contact_role);
  ActionEncoder action(in.action, vocabulary);
  std::vector<IdEncoder> dims;
  dims.reserve(in.dimensions.size());
  for (const auto& d : in.dimensions) dims.emplace_back(d.second);
  std::vector<Column<int32_t>> dim_codes(dims.size());

  const bool has_flags = !in.time_flags.empty();
  const bool has_amount_valid = !in.amount_valid.empty();
  // Rows accepted so far, materialised only once a row is rejected (until then every
  // row is kept and the column passes below copy whole columns).
  Column<int64_t> keep;
  bool all_kept = true;
  log.action_.reserve(n);

  auto reject = [&](size_t i, RejectReason r, std::string_view column,
                    std::string_view detail) -> absl::Status {
    if (options.strict) return StrictError(static_cast<int64_t>(i), column, r, detail);
    if (all_kept) {
      all_kept = false;
      keep.resize(i);
      std::iota(keep.begin(), keep.end(), int64_t{0});
    }
    report.rejected.push_back(RejectedRow{static_cast<int64_t>(i), r, -1});
    ++report.rejected_by_reason[static_cast<int>(r)];
    return absl::OkStatus();
  };

  // Pass 1, row by row: the checks that can reject a row, in column order (the first
  // failing one is the row's reason), and the action codes of accepted rows.
  for (size_t i = 0; i < n; ++i) {
    if (deal.IsNull(i)) {
      if (auto s = reject(i, RejectReason::kNullDeal, "deal", ""); !s.ok()) return s;
      continue;
    }
    const int64_t t = in.time[i];
    if (has_flags && in.time_flags[i] != 0) {
      RejectReason r = in.time_flags[i] == static_cast<uint8_t>(TimeFlag::kNaive)
                           ? RejectReason::kNaiveTime
                       : in.time_flags[i] == static_cast<uint8_t>(TimeFlag::kAmbiguousLocal)
                           ? RejectReason::kAmbiguousLocalTime
                           : RejectReason::kUnparseableTime;
      if (auto s = reject(i, r, "time", ""); !s.ok()) return s;
      continue;
    }
    if (t == kNullInstant) {
      if (auto s = reject(i, RejectReason::kNullTime, "time", ""); !s.ok()) return s;
      continue;
    }
    if (t < options.min_time || t > options.max_time) {
      if (auto s = reject(i, RejectReason::kTimeOutOfRange, "time",
                          absl::StrCat(t, " ns since 1970-01-01T00:00:00Z"));
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (action.IsNull(i)) {
      if (auto s = reject(i, RejectReason::kNullAction, "action", ""); !s.ok()) return s;
      continue;
    }
    const int32_t a = action.Encode(i);
    if (a == ActionEncoder::kUnknown) {
      if (!action.Status().ok()) return action.Status();
      if (auto s = reject(i, RejectReason::kUnknownAction, "action",
                          absl::StrCat("'", action.last_unknown, "' is not in the vocabulary"));
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (has_amount && !(has_amount_valid && in.amount_valid[i] == 0)) {
      const double amount = in.amount[i];
      if (std::isnan(amount)) {
        if (options.nan_amount == NanAmount::kReject) {
          if (auto s = reject(i, RejectReason::kNanAmount, "amount",
                              "pass nan_amount=null to treat NaN as a missing amount");
              !s.ok()) {
            return s;
          }
          continue;
        }
      } else if (std::isinf(amount)) {
        if (auto s = reject(i, RejectReason::kInfiniteAmount, "amount", ""); !s.ok()) return s;
        continue;
      } else if (amount < 0 && !options.allow_negative_amount) {
        if (auto s = reject(i, RejectReason::kNegativeAmount, "amount", absl::StrCat(amount));
            !s.ok()) {
          return s;
        }
        continue;
      }
    }
    log.action_.push_back(a);
    if (!all_kept) keep.push_back(static_cast<int64_t>(i));
  }

  // Pass 2, column by column, over the accepted rows.
  const size_t m = all_kept ? n : keep.size();
  deal.EncodeInto(keep, all_kept, n, log.deal_);
  rep.EncodeInto(keep, all_kept, n, log.rep_);
  account.EncodeInto(keep, all_kept, n, log.account_);
  contact.EncodeInto(keep, all_kept, n, log.contact_);
  role.EncodeInto(keep, all_kept, n, log.contact_role_);
  for (size_t j = 0; j < dims.size(); ++j) dims[j].EncodeInto(keep, all_kept, n, dim_codes[j]);
  if (all_kept) {
    log.time_.assign(in.time.begin(), in.time.end());
    log.row_.resize(n);
    std::iota(log.row_.begin(), log.row_.end(), int64_t{0});
  } else {
    log.time_.resize(m);
    for (size_t k = 0; k < m; ++k) log.time_[k] = in.time[static_cast<size_t>(keep[k])];
    log.row_ = std::move(keep);
  }
  if (has_amount) {
    if (all_kept) {
      log.amount_.assign(in.amount.begin(), in.amount.end());
    } else {
      log.amount_.resize(m);
      for (size_t k = 0; k < m; ++k) log.amount_[k] = in.amount[static_cast<size_t>(log.row_[k])];
    }
    if (has_amount_valid) {  // a masked-out amount is missing, whatever the value under it
      for (size_t k = 0; k < m; ++k) {
        if (in.amount_valid[static_cast<size_t>(log.row_[k])] == 0) {
          log.amount_[k] = std::numeric_limits<double>::quiet_NaN();
        }
      }
    }
  }
  // Deals are numbered by first appearance, so input grouped by deal and ordered by
  // time within each has non-decreasing (deal, time) and needs no sort.
  bool sorted = true;
  for (size_t k = 1; k < m; ++k) {
    const int32_t d0 = log.deal_[k - 1], d1 = log.deal_[k];
    if (d1 < d0 || (d1 == d0 && log.time_[k] < log.time_[k - 1])) {
      sorted = false;
      break;
    }
  }

  if (auto s = action.Status(); !s.ok()) return s;
  for (auto [enc, name] : {std::pair{&deal, "deal"}, std::pair{&rep, "rep"},
                           std::pair{&account, "account"}, std::pair{&contact, "contact"},
                           std::pair{&role, "contact_role"}}) {
    if (auto s = enc->Status(name); !s.ok()) return s;
  }
  for (size_t j = 0; j < dims.size(); ++j) {
    if (auto s = dims[j].Status(in.dimensions[j].first); !s.ok()) return s;
  }

  log.deals_ = deal.TakeDictionary();
  const size_t num_deals = static_cast<size_t>(log.deals_.size());
  report.input_was_sorted = sorted;

  // Sort: stable counting sort by deal, then a stable sort by time within each deal.
  Column<int64_t> offsets(num_deals + 1, 0);
  for (int32_t d : log.deal_) ++offsets[static_cast<size_t>(d) + 1];
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  if (!sorted) {
    Column<int64_t> order(log.deal_.size());
    {
      std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
      for (size_t k = 0; k < log.deal_.size(); ++k) {
        order[static_cast<size_t>(next[static_cast<size_t>(log.deal_[k])]++)] = static_cast<int64_t>(k);
      }
    }
    const Column<int64_t>& time = log.time_;
    for (size_t d = 0; d < num_deals; ++d) {
      auto first = order.begin() + offsets[d];
      auto last = order.begin() + offsets[d + 1];
      auto by_time = [&time](int64_t x, int64_t y) {
        return time[static_cast<size_t>(x)] < time[static_cast<size_t>(y)];
      };
      if (std::is_sorted(first, last, by_time)) continue;
      if (last - first <= 32) {
        // Insertion sort: stable, and no buffer allocation per deal as stable_sort has.
        for (auto it = first + 1; it != last; ++it) {
          const int64_t v = *it;
          auto hole = it;
          for (; hole != first && by_time(v, *(hole - 1)); --hole) *hole = *(hole - 1);
          *hole = v;
        }
      } else {
        std::stable_sort(first, last, by_time);
      }
    }
    Gather(log.deal_, order);
    Gather(log.time_, order);
    Gather(log.action_, order);
    Gather(log.row_, order);
    Gather(log.rep_, order);
    Gather(log.account_, order);
    Gather(log.contact_, order);
    Gather(log.contact_role_, order);
    Gather(log.amount_, order);
    for (auto& c : dim_codes) Gather(c, order);
  }

  // Exact duplicates: equal in every column. Only events of one deal at one instant
  // can be equal, so compare within each such run; the earliest input row is kept.
  auto same_event = [&](size_t x, size_t y) {
    if (log.action_[x] != log.action_[y]) return false;
    if (!log.rep_.empty() && log.rep_[x] != log.rep_[y]) return false;
    if (!log.account_.empty() && log.account_[x] != log.account_[y]) return false;
    if (!log.contact_.empty() && log.contact_[x] != log.contact_[y]) return false;
    if (!log.contact_role_.empty() && log.contact_role_[x] != log.contact_role_[y]) return false;
    if (!log.amount_.empty() && !SameAmount(log.amount_[x], log.amount_[y])) return false;
    for (const auto& c : dim_codes) {
      if (c[x] != c[y]) return false;
    }
    return true;
  };
  std::vector<uint8_t> drop;
  std::vector<RejectedRow> duplicates;
  for (size_t start = 0; start < m;) {
    size_t end = start + 1;
    while (end < m && log.deal_[end] == log.deal_[start] && log.time_[end] == log.time_[start]) ++end;
    if (end - start > 1) {
      if (drop.empty()) drop.assign(m, 0);
      // Within a run, positions follow input order, so the first of equals is kept.
      // Runs are short in practice; a long one is sorted by content first.
      if (end - start <= 32) {
        for (size_t y = start + 1; y < end; ++y) {
          for (size_t x = start; x < y; ++x) {
            if (!drop[x] && same_event(x, y)) {
              drop[y] = 1;
              duplicates.push_back(RejectedRow{log.row_[y], RejectReason::kDuplicateEvent, log.row_[x]});
              break;
            }
          }
        }
      } else {
        std::vector<size_t> idx(end - start);
        std::iota(idx.begin(), idx.end(), start);
        auto less = [&](size_t x, size_t y) {
          auto key = [&](size_t k) {
            return std::tuple(log.action_[k], log.rep_.empty() ? 0 : log.rep_[k],
                              log.account_.empty() ? 0 : log.account_[k],
                              log.contact_.empty() ? 0 : log.contact_[k],
                              log.contact_role_.empty() ? 0 : log.contact_role_[k]);
          };
          return key(x) < key(y);
        };
        std::stable_sort(idx.begin(), idx.end(), less);
        for (size_t p = 0; p < idx.size();) {
          size_t q = p + 1;
          while (q < idx.size() && !less(idx[p], idx[q])) ++q;
          // idx[p..q) agree on the sort key; compare fully, pairwise, in input order.
          std::vector<size_t> group(idx.begin() + static_cast<std::ptrdiff_t>(p),
                                    idx.begin() + static_cast<std::ptrdiff_t>(q));
          std::sort(group.begin(), group.end());
          for (size_t b = 1; b < group.size(); ++b) {
            for (size_t a2 = 0; a2 < b; ++a2) {
              if (!drop[group[a2]] && same_event(group[a2], group[b])) {
                drop[group[b]] = 1;
                duplicates.push_back(RejectedRow{log.row_[group[b]], RejectReason::kDuplicateEvent,
                                                 log.row_[group[a2]]});
                break;
              }
            }
          }
          p = q;
        }
      }
    }
    start = end;
  }
  if (!duplicates.empty()) {
    std::sort(duplicates.begin(), duplicates.end(),
              [](const RejectedRow& x, const RejectedRow& y) { return x.row < y.row; });
    if (options.strict) {
      const RejectedRow& first = duplicates.front();
      return StrictError(first.row, "*", RejectReason::kDuplicateEvent,
                         absl::StrCat("same as row ", first.duplicate_of));
    }
    Compact(log.deal_, drop);
    Compact(log.time_, drop);
    Compact(log.action_, drop);
    Compact(log.row_, drop);
    Compact(log.rep_, drop);
    Compact(log.account_, drop);
    Compact(log.contact_, drop);
    Compact(log.contact_role_, drop);
    Compact(log.amount_, drop);
    for (auto& c : dim_codes) Compact(c, drop);
    std::fill(offsets.begin(), offsets.end(), 0);
    for (int32_t d : log.deal_) ++offsets[static_cast<size_t>(d) + 1];
    std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
    report.rejected_by_reason[static_cast<int>(RejectReason::kDuplicateEvent)] +=
        static_cast<int64_t>(duplicates.size());
    std::vector<RejectedRow> merged;
    merged.reserve(report.rejected.size() + duplicates.size());
    std::merge(report.rejected.begin(), report.rejected.end(), duplicates.begin(),
               duplicates.end(), std::back_inserter(merged),
               [](const RejectedRow& x, const RejectedRow& y) { return x.row < y.row; });
    report.rejected.swap(merged);
  }

  log.deal_offsets_ = std::move(offsets);
  log.actions_ = Dictionary::Strings(std::move(action.names));
  log.action_actor_ = std::move(action.actors);
  if (rep.present()) log.reps_ = rep.TakeDictionary();
  if (account.present()) log.accounts_ = account.TakeDictionary();
  if (contact.present()) log.contacts_ = contact.TakeDictionary();
  if (role.present()) log.contact_roles_ = role.TakeDictionary();
  for (size_t j = 0; j < dims.size(); ++j) {
    log.dimensions_.push_back(DimensionColumn{in.dimensions[j].first, std::move(dim_codes[j]),
                                              dims[j].TakeDictionary()});
  }
  log.vocabulary_ = vocabulary;

  report.rows_accepted = log.size();
  report.rows_rejected = static_cast<int64_t>(report.rejected.size());
  report.unknown_actions = std::move(action.unknown);
  report.prefix_matched_actions = std::move(action.prefix_matched);
  report.deals = log.num_deals();
  if (report.rows_accepted + report.rows_rejected != report.rows_in) {
    return absl::InternalError(absl::StrCat("ingest accounting broken: ", report.rows_in, " in, ",
                                            report.rows_accepted, " accepted, ",
                                            report.rows_rejected, " rejected"));
  }
  return result;
}

absl::StatusOr<Ingested> Ingest(const EventColumns& columns, const Vocabulary& vocabulary,
                                const IngestOptions& options) {
  return EventLogBuilder::Run(columns, vocabulary, options);
}

}  // namespace salesperf
