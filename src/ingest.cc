// Ingestion, in four steps:
//   1. validate row by row, in row chunks on several threads: the checks that can
//      reject a row, in column order (a row's reason is its first failing check);
//   2. encode column by column, one column per task: ids become dense codes numbered
//      by first appearance among accepted rows; time and amount are copied whole when
//      nothing was rejected;
//   3. only when the input is not already in (deal, time) order: a stable counting
//      sort by deal, a stable sort by time within each deal, a gather per column;
//   4. drop exact duplicates (equal in every column), keeping the earliest input row.
// Each task writes only its own outputs, so the result is the same for any number of
// threads. Deals are numbered in order of first appearance, so input already grouped
// by deal has non-decreasing deal codes and skips step 3.
#include <algorithm>
#include <atomic>
#include <limits>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "parallel.h"
#include "salesperf/event_log.h"

using salesperf::internal::Sv;

namespace salesperf {
namespace {
std::atomic<size_t> max_id_codes{static_cast<size_t>(std::numeric_limits<int32_t>::max())};
}  // namespace

size_t internal::MaxIdCodes() { return max_id_codes.load(std::memory_order_relaxed); }
size_t internal::SetMaxIdCodesForTesting(size_t n) { return max_id_codes.exchange(n); }

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

  // Codes are int32: a column holds at most INT32_MAX distinct ids (max_codes_). Full()
  // says whether `size` codes are already given out, and remembers the first row that
  // wanted one more.
  bool Full(size_t size, size_t row) {
    if (size < max_codes_) return false;
    if (full_row_ < 0 || static_cast<int64_t>(row) < full_row_) full_row_ = static_cast<int64_t>(row);
    return true;
  }
  // For tests of the limit without 2^31 distinct ids (internal::SetMaxIdCodesForTesting).
  size_t max_codes_ = internal::MaxIdCodes();

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
            // A label repeated under two codes (an Arrow dictionary may repeat values)
            // is one value: the second code gets the first one's dense code.
            const std::string& label = col_.labels[static_cast<size_t>(v)];
            auto [it, inserted] = label_code_.try_emplace(label, static_cast<int32_t>(string_values_.size()));
            if (inserted) {
              if (Full(string_values_.size(), i)) {
                label_code_.erase(it);
                out[k] = kNullCode;
                continue;
              }
              string_values_.push_back(label);
            }
            code = it->second;
          }
          out[k] = code;
        }
      }
      return;
    }
    int64_t last_value = 0;
    int32_t last_code = kNullCode;
    if (DenseRange(row_at, m, values, valid)) {  // ids in a narrow range: a table, not a hash
      int32_t* table = dense_.data();
      for (size_t k = 0; k < m; ++k) {
        const size_t i = row_at(k);
        if (valid != nullptr && valid[i] == 0) {
          out[k] = kNullCode;
          continue;
        }
        const int64_t v = values[i];
        int32_t& code = table[static_cast<uint64_t>(v) - static_cast<uint64_t>(dense_min_)];
        if (code == kNullCode) {
          if (Full(int_values_.size(), i)) {
            out[k] = kNullCode;
            continue;
          }
          code = static_cast<int32_t>(int_values_.size());
          int_values_.push_back(v);
        }
        out[k] = code;
      }
      return;
    }
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
      if (int_values_.size() >= max_codes_ && !int_index_.contains(v)) {
        Full(int_values_.size(), i);
        out[k] = kNullCode;
        continue;
      }
      auto [it, inserted] = int_index_.try_emplace(v, static_cast<int32_t>(int_values_.size()));
      if (inserted) int_values_.push_back(v);
      last_value = v;
      last_code = it->second;
      out[k] = last_code;
    }
  }

  // Whether the valid ids of rows row_at(0..m) span at most m + 1024 values (sequential
  // CRM ids, the generator's deal numbers): then a table indexed by id - min, of at
  // most 4 bytes per row, replaces the hash map. Sizes dense_ when it returns true.
  template <typename RowAt>
  bool DenseRange(RowAt row_at, size_t m, const int64_t* values, const uint8_t* valid) {
    if (m == 0 || !int_values_.empty()) return false;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (size_t k = 0; k < m; ++k) {
      const size_t i = row_at(k);
      if (valid != nullptr && valid[i] == 0) continue;
      lo = std::min(lo, values[i]);
      hi = std::max(hi, values[i]);
    }
    if (lo > hi) return false;  // no valid id
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);  // no overflow
    if (span >= m + 1024) return false;
    dense_min_ = lo;
    dense_.assign(span + 1, kNullCode);
    return true;
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
    if (full_row_ >= 0) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "column '", Sv(name), "': more than ", max_codes_, " distinct ids (row ", full_row_,
          " brings one more); codes are 32-bit"));
    }
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
  absl::flat_hash_map<std::string_view, int32_t> label_code_;  // label text -> dense code
  absl::flat_hash_map<int64_t, int32_t> int_index_;
  Column<int32_t> dense_;  // id - dense_min_ -> dense code (see DenseRange)
  int64_t dense_min_ = 0;
  std::vector<int64_t> int_values_;
  int64_t bad_row_ = -1;
  int64_t full_row_ = -1;  // first row whose id found no code left (see Full)
};

// The action column as codes into labels, each label resolved through the
// vocabulary once, before any row is read. Integer actions are first turned into
// codes into their decimal text.
class ActionTable {
 public:
  ActionTable(const IdColumn& col, const Vocabulary& vocab) {
    if (col.coded) {
      column_ = col;
    } else {
      absl::flat_hash_map<int64_t, int64_t> index;
      owned_codes_.resize(col.values.size());
      for (size_t i = 0; i < col.values.size(); ++i) {
        if (!col.valid.empty() && col.valid[i] == 0) {
          owned_codes_[i] = -1;
          continue;
        }
        auto [it, inserted] = index.try_emplace(col.values[i], static_cast<int64_t>(owned_labels_.size()));
        if (inserted) owned_labels_.push_back(absl::StrCat(col.values[i]));
        owned_codes_[i] = it->second;
      }
      column_ = IdColumn::Coded(owned_codes_, owned_labels_);
    }
    actor_.resize(column_.labels.size());
    for (size_t k = 0; k < column_.labels.size(); ++k) {
      std::optional<Actor> a = vocab.Resolve(column_.labels[k]);
      actor_[k] = a ? static_cast<int8_t>(*a) : kUnknown;
    }
  }

  const IdColumn& column() const { return column_; }
  bool IsNull(size_t i) const {
    return column_.values[i] < 0 || (!column_.valid.empty() && column_.valid[i] == 0);
  }
  int64_t num_labels() const { return static_cast<int64_t>(actor_.size()); }
  // The actor of a row's label, or kUnknown; the code must be in range.
  int8_t actor(int64_t code) const { return actor_[static_cast<size_t>(code)]; }

  static constexpr int8_t kUnknown = -1;

 private:
  IdColumn column_;
  Column<int64_t> owned_codes_;
  std::vector<std::string> owned_labels_;
  std::vector<int8_t> actor_;
};

template <typename T>
void Gather(Column<T>& column, std::span<const int64_t> order) {
  if (column.empty()) return;
  Column<T> out(order.size());
  // Random reads: prefetching a few iterations ahead keeps several misses in flight.
  constexpr size_t kAhead = 16;
  const size_t n = order.size();
  const size_t head = n > kAhead ? n - kAhead : 0;
  for (size_t k = 0; k < head; ++k) {
    __builtin_prefetch(&column[static_cast<size_t>(order[k + kAhead])]);
    out[k] = column[static_cast<size_t>(order[k])];
  }
  for (size_t k = head; k < n; ++k) out[k] = column[static_cast<size_t>(order[k])];
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

absl::Status StrictError(int64_t row, std::string_view column, RejectReason reason,
                         std::string_view detail) {
  absl::Status s = absl::InvalidArgumentError(
      absl::StrCat("row ", row, ", column '", Sv(column), "': ", Sv(RejectReasonName(reason)),
                   detail.empty() ? "" : " (", Sv(detail), detail.empty() ? "" : ")"));
  s.SetPayload(Sv(kRowPayload), absl::Cord(absl::StrCat(row)));
  s.SetPayload(Sv(kColumnPayload), absl::Cord(Sv(column)));
  return s;
}

// The outcome of validating one chunk of rows.
struct ChunkResult {
  std::vector<RejectedRow> rejected;   // in row order
  std::vector<int64_t> unknown_count;  // per action label (sized on first use)
  std::vector<int64_t> unknown_first;  // first row of each unknown label
  absl::Status error;                  // strict mode's first bad row, or a bad code
};

// Bounded, so that an adversarial run of simultaneous events stays O(k log k).
constexpr size_t kPairwiseRun = 32;

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
  if (options.threads < 0) {
    return absl::InvalidArgumentError("ingest options: threads must be 0 (every core) or more");
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
  const int threads = internal::ThreadsFor(options.threads, n);

  Ingested result;
  EventLog& log = result.log;
  IngestReport& report = result.report;
  report.rows_in = static_cast<int64_t>(n);

  const ActionTable actions(in.action, vocabulary);
  const bool has_flags = !in.time_flags.empty();
  const bool has_amount_valid = !in.amount_valid.empty();

  // ---- 1. Validate, in row chunks.
  const size_t num_chunks = threads == 1 ? 1 : static_cast<size_t>(threads) * 4;
  std::vector<ChunkResult> chunks(num_chunks);
  internal::ParallelFor(num_chunks, threads, [&](size_t c) {
    ChunkResult& out = chunks[c];
    const size_t begin = n * c / num_chunks, end = n * (c + 1) / num_chunks;
    auto reject = [&](size_t i, RejectReason r, std::string_view column,
                      std::string_view detail) -> bool {
      if (options.strict) {
        out.error = StrictError(static_cast<int64_t>(i), column, r, detail);
        return false;
      }
      out.rejected.push_back(RejectedRow{static_cast<int64_t>(i), r, -1});
      return true;
    };
    const bool deal_coded = in.deal.coded;
    const uint8_t* deal_valid = in.deal.valid.empty() ? nullptr : in.deal.valid.data();
    for (size_t i = begin; i < end; ++i) {
      if ((deal_valid != nullptr && deal_valid[i] == 0) || (deal_coded && in.deal.values[i] < 0)) {
        if (!reject(i, RejectReason::kNullDeal, "deal", "")) return;
        continue;
      }
      const int64_t t = in.time[i];
      if (has_flags && in.time_flags[i] != 0) {
        const RejectReason r = in.time_flags[i] == static_cast<uint8_t>(TimeFlag::kNaive)
                                   ? RejectReason::kNaiveTime
                               : in.time_flags[i] == static_cast<uint8_t>(TimeFlag::kAmbiguousLocal)
                                   ? RejectReason::kAmbiguousLocalTime
                                   : RejectReason::kUnparseableTime;
        if (!reject(i, r, "time", "")) return;
        continue;
      }
      if (t == kNullInstant) {
        if (!reject(i, RejectReason::kNullTime, "time", "")) return;
        continue;
      }
      if (t < options.min_time || t > options.max_time) {
        if (!reject(i, RejectReason::kTimeOutOfRange, "time",
                    absl::StrCat(t, " ns since 1970-01-01T00:00:00Z"))) {
          return;
        }
        continue;
      }
      if (actions.IsNull(i)) {
        if (!reject(i, RejectReason::kNullAction, "action", "")) return;
        continue;
      }
      const int64_t code = actions.column().values[i];
      if (code >= actions.num_labels()) {
        out.error = ColumnError("action", absl::StrCat("row ", i, ": code ", code, " is beyond its ",
                                                       actions.num_labels(), " labels"));
        return;
      }
      if (actions.actor(code) == ActionTable::kUnknown) {
        const auto k = static_cast<size_t>(code);
        if (!reject(i, RejectReason::kUnknownAction, "action",
                    absl::StrCat("'", actions.column().labels[k], "' is not in the vocabulary"))) {
          return;
        }
        if (out.unknown_count.empty()) {
          out.unknown_count.assign(static_cast<size_t>(actions.num_labels()), 0);
          out.unknown_first.assign(static_cast<size_t>(actions.num_labels()), -1);
        }
        if (out.unknown_count[k]++ == 0) out.unknown_first[k] = static_cast<int64_t>(i);
        continue;
      }
      if (has_amount && !(has_amount_valid && in.amount_valid[i] == 0)) {
        const double amount = in.amount[i];
        if (std::isnan(amount)) {
          if (options.nan_amount == NanAmount::kReject) {
            if (!reject(i, RejectReason::kNanAmount, "amount",
                        "pass nan_amount=null to treat NaN as a missing amount")) {
              return;
            }
            continue;
          }
        } else if (std::isinf(amount)) {
          if (!reject(i, RejectReason::kInfiniteAmount, "amount", "")) return;
          continue;
        } else if (amount < 0 && !options.allow_negative_amount) {
          if (!reject(i, RejectReason::kNegativeAmount, "amount", absl::StrCat(amount))) return;
          continue;
        }
      }
    }
  });
  // Chunks are in row order, so the first chunk with an error holds the first bad row.
  for (const ChunkResult& c : chunks) {
    if (!c.error.ok()) return c.error;
  }
  {
    size_t total = 0;
    for (const ChunkResult& c : chunks) total += c.rejected.size();
    report.rejected.reserve(total);
    for (ChunkResult& c : chunks) {
      report.rejected.insert(report.rejected.end(), c.rejected.begin(), c.rejected.end());
    }
    for (const RejectedRow& r : report.rejected) ++report.rejected_by_reason[static_cast<int>(r.reason)];
    // Unknown actions, with their row counts, in order of first appearance.
    std::vector<std::tuple<int64_t, std::string, int64_t>> unknown;  // first row, name, rows
    for (size_t k = 0; k < static_cast<size_t>(actions.num_labels()); ++k) {
      int64_t count = 0, first = -1;
      for (const ChunkResult& c : chunks) {
        if (c.unknown_count.empty() || c.unknown_count[k] == 0) continue;
        if (first < 0) first = c.unknown_first[k];
        count += c.unknown_count[k];
      }
      if (count > 0) unknown.emplace_back(first, actions.column().labels[k], count);
    }
    std::sort(unknown.begin(), unknown.end());
    absl::flat_hash_map<std::string, size_t> seen;  // a label repeated under two codes is one action
    for (auto& [first, name, count] : unknown) {
      auto [it, inserted] = seen.try_emplace(name, report.unknown_actions.size());
      if (inserted) {
        report.unknown_actions.emplace_back(std::move(name), count);
      } else {
        report.unknown_actions[it->second].second += count;
      }
    }
  }
  chunks.clear();

  // Rows accepted, materialised only when some row was rejected.
  const bool all_kept = report.rejected.empty();
  Column<int64_t> keep;
  if (!all_kept) {
    keep.resize(n - report.rejected.size());
    size_t w = 0, r = 0;
    for (size_t i = 0; i < n; ++i) {
      if (r < report.rejected.size() && report.rejected[r].row == static_cast<int64_t>(i)) {
        ++r;
      } else {
        keep[w++] = static_cast<int64_t>(i);
      }
    }
  }
  const size_t m = all_kept ? n : keep.size();

  // ---- 2. Encode, one column per task.
  IdEncoder deal(in.deal), action(actions.column()), rep(in.rep), account(in.account),
      contact(in.contact), role(in.contact_role);
  std::vector<IdEncoder> dims;
  dims.reserve(in.dimensions.size());
  for (const auto& d : in.dimensions) dims.emplace_back(d.second);
  std::vector<Column<int32_t>> dim_codes(dims.size());
  std::vector<std::function<void()>> tasks = {
      [&] { deal.EncodeInto(keep, all_kept, n, log.deal_); },
      [&] { action.EncodeInto(keep, all_kept, n, log.action_); },
      [&] { rep.EncodeInto(keep, all_kept, n, log.rep_); },
      [&] { account.EncodeInto(keep, all_kept, n, log.account_); },
      [&] { contact.EncodeInto(keep, all_kept, n, log.contact_); },
      [&] { role.EncodeInto(keep, all_kept, n, log.contact_role_); },
      [&] {
        if (all_kept) {
          log.time_.assign(in.time.begin(), in.time.end());
        } else {
          log.time_.resize(m);
          for (size_t k = 0; k < m; ++k) log.time_[k] = in.time[static_cast<size_t>(keep[k])];
        }
      },
      [&] {
        if (!has_amount) return;
        log.amount_.resize(m);
        for (size_t k = 0; k < m; ++k) {
          const size_t i = all_kept ? k : static_cast<size_t>(keep[k]);
          // A masked-out amount is missing, whatever the value under it.
          log.amount_[k] = has_amount_valid && in.amount_valid[i] == 0
                               ? std::numeric_limits<double>::quiet_NaN()
                               : in.amount[i];
        }
      },
  };
  for (size_t j = 0; j < dims.size(); ++j) {
    tasks.push_back([&, j] { dims[j].EncodeInto(keep, all_kept, n, dim_codes[j]); });
  }
  internal::ParallelFor(tasks.size(), threads, [&](size_t t) { tasks[t](); });
  if (all_kept) {
    log.row_.resize(n);
    std::iota(log.row_.begin(), log.row_.end(), int64_t{0});
  } else {
    log.row_ = std::move(keep);
  }
  for (auto [enc, name] : {std::pair{&deal, "deal"}, std::pair{&action, "action"}, std::pair{&rep, "rep"},
                           std::pair{&account, "account"}, std::pair{&contact, "contact"},
                           std::pair{&role, "contact_role"}}) {
    if (auto s = enc->Status(name); !s.ok()) return s;
  }
  for (size_t j = 0; j < dims.size(); ++j) {
    if (auto s = dims[j].Status(in.dimensions[j].first); !s.ok()) return s;
  }

  log.deals_ = deal.TakeDictionary();
  const size_t num_deals = static_cast<size_t>(log.deals_.size());

  // ---- 3. Sort, unless already in order.
  bool sorted = true;
  for (size_t k = 1; k < m; ++k) {
    const int32_t d0 = log.deal_[k - 1], d1 = log.deal_[k];
    if (d1 < d0 || (d1 == d0 && log.time_[k] < log.time_[k - 1])) {
      sorted = false;
      break;
    }
  }
  report.input_was_sorted = sorted;
  Column<int64_t> offsets(num_deals + 1, 0);
  for (int32_t d : log.deal_) ++offsets[static_cast<size_t>(d) + 1];
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  if (!sorted) {
    // The scatter also moves each time next to its row, so that sorting a deal's
    // events reads contiguous memory instead of chasing indices into the time column.
    Column<int64_t> order(m), sorted_time(m);
    {
      Column<int64_t> next(offsets.begin(), offsets.end() - 1);
      for (size_t k = 0; k < m; ++k) {
        const auto pos = static_cast<size_t>(next[static_cast<size_t>(log.deal_[k])]++);
        order[pos] = static_cast<int64_t>(k);
        sorted_time[pos] = log.time_[k];
      }
    }
    const size_t blocks = static_cast<size_t>(threads) * 8;
    internal::ParallelFor(blocks, threads, [&](size_t b) {
      std::vector<std::pair<int64_t, int64_t>> buffer;
      for (size_t d = num_deals * b / blocks; d < num_deals * (b + 1) / blocks; ++d) {
        const auto first = static_cast<size_t>(offsets[d]), last = static_cast<size_t>(offsets[d + 1]);
        int64_t* t = sorted_time.data();
        int64_t* o = order.data();
        if (std::is_sorted(t + first, t + last)) continue;
        if (last - first <= kPairwiseRun) {
          // Insertion sort of (time, row) pairs: stable, and allocation-free.
          for (size_t i = first + 1; i < last; ++i) {
            const int64_t tv = t[i], ov = o[i];
            size_t hole = i;
            for (; hole > first && tv < t[hole - 1]; --hole) {
              t[hole] = t[hole - 1];
              o[hole] = o[hole - 1];
            }
            t[hole] = tv;
            o[hole] = ov;
          }
        } else {
          buffer.clear();
          for (size_t i = first; i < last; ++i) buffer.emplace_back(t[i], o[i]);
          std::stable_sort(buffer.begin(), buffer.end(),
                           [](const auto& x, const auto& y) { return x.first < y.first; });
          for (size_t i = first; i < last; ++i) std::tie(t[i], o[i]) = buffer[i - first];
        }
      }
    });
    log.time_.swap(sorted_time);
    sorted_time = Column<int64_t>();
    std::vector<std::function<void()>> gathers = {
        [&] { Gather(log.deal_, order); },
        [&] { Gather(log.action_, order); },  [&] { Gather(log.row_, order); },
        [&] { Gather(log.rep_, order); },     [&] { Gather(log.account_, order); },
        [&] { Gather(log.contact_, order); }, [&] { Gather(log.contact_role_, order); },
        [&] { Gather(log.amount_, order); },
    };
    for (auto& c : dim_codes) gathers.push_back([&c, &order] { Gather(c, order); });
    internal::ParallelFor(gathers.size(), threads, [&](size_t t) { gathers[t](); });
  }

  // ---- 4. Exact duplicates: equal in every column. Only events of one deal at one
  // instant can be equal, so compare within each such run; the earliest row is kept.
  auto compare = [&](size_t x, size_t y) -> int {  // <0, 0, >0 over every column but row
    auto cmp = [](auto a, auto b) { return a < b ? -1 : b < a ? 1 : 0; };
    if (int c = cmp(log.action_[x], log.action_[y])) return c;
    if (!log.rep_.empty()) { if (int c = cmp(log.rep_[x], log.rep_[y])) return c; }
    if (!log.account_.empty()) { if (int c = cmp(log.account_[x], log.account_[y])) return c; }
    if (!log.contact_.empty()) { if (int c = cmp(log.contact_[x], log.contact_[y])) return c; }
    if (!log.contact_role_.empty()) {
      if (int c = cmp(log.contact_role_[x], log.contact_role_[y])) return c;
    }
    if (!log.amount_.empty()) {  // NaN (missing) equals NaN and sorts first
      const double a = log.amount_[x], b = log.amount_[y];
      const bool na = std::isnan(a), nb = std::isnan(b);
      if (na != nb) return na ? -1 : 1;
      if (!na) { if (int c = cmp(a, b)) return c; }
    }
    for (const auto& col : dim_codes) {
      if (int c = cmp(col[x], col[y])) return c;
    }
    return 0;
  };
  std::vector<uint8_t> drop;
  std::vector<RejectedRow> duplicates;
  auto mark = [&](size_t dup, size_t kept) {
    drop[dup] = 1;
    duplicates.push_back(RejectedRow{log.row_[dup], RejectReason::kDuplicateEvent, log.row_[kept]});
  };
  for (size_t start = 0; start < m;) {
    size_t end = start + 1;
    while (end < m && log.deal_[end] == log.deal_[start] && log.time_[end] == log.time_[start]) ++end;
    if (end - start > 1) {
      if (drop.empty()) drop.assign(m, 0);
      // Positions within a run follow input order, so the first of equals is kept.
      if (end - start <= kPairwiseRun) {
        for (size_t y = start + 1; y < end; ++y) {
          for (size_t x = start; x < y; ++x) {
            if (!drop[x] && compare(x, y) == 0) {
              mark(y, x);
              break;
            }
          }
        }
      } else {  // a long run: sort by content (stable), then equal neighbours
        std::vector<size_t> idx(end - start);
        std::iota(idx.begin(), idx.end(), start);
        std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return compare(x, y) < 0; });
        for (size_t p = 1, head = idx[0]; p < idx.size(); ++p) {
          if (compare(head, idx[p]) == 0) {
            mark(idx[p], head);
          } else {
            head = idx[p];
          }
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
  log.actions_ = action.TakeDictionary();
  for (const std::string& name : log.actions_.strings()) {
    log.action_actor_.push_back(static_cast<uint8_t>(*vocabulary.Resolve(name)));
    if (!vocabulary.IsListed(name)) report.prefix_matched_actions.push_back(name);
  }
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
  report.deals = log.num_deals();
  if (report.rows_accepted + report.rows_rejected != report.rows_in) {
    return absl::InternalError(absl::StrCat("ingest accounting broken: ", report.rows_in, " in, ",
                                            report.rows_accepted, " accepted, ",
                                            report.rows_rejected, " rejected"));
  }
  return result;
}

// Member by member, as `= default` would, except the amounts: NaN marks a missing
// amount, and two logs missing the same amounts are equal (a fuzz finding: a log
// compared unequal to its own copy). Add a new member here as well.
bool operator==(const EventLog& a, const EventLog& b) {
  const auto same_amounts = [](const Column<double>& x, const Column<double>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))) return false;
    }
    return true;
  };
  return a.deal_ == b.deal_ && a.time_ == b.time_ && a.action_ == b.action_ && a.row_ == b.row_ &&
         a.rep_ == b.rep_ && a.account_ == b.account_ && a.contact_ == b.contact_ &&
         a.contact_role_ == b.contact_role_ && same_amounts(a.amount_, b.amount_) &&
         a.dimensions_ == b.dimensions_ && a.deal_offsets_ == b.deal_offsets_ && a.deals_ == b.deals_ &&
         a.actions_ == b.actions_ && a.reps_ == b.reps_ && a.accounts_ == b.accounts_ &&
         a.contacts_ == b.contacts_ && a.contact_roles_ == b.contact_roles_ &&
         a.action_actor_ == b.action_actor_ && a.vocabulary_ == b.vocabulary_;
}

absl::StatusOr<Ingested> Ingest(const EventColumns& columns, const Vocabulary& vocabulary,
                                const IngestOptions& options) {
  return EventLogBuilder::Run(columns, vocabulary, options);
}

}  // namespace salesperf
