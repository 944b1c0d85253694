// salesperf/event_log.h — the columnar event log of buyer, seller and system actions,
// and the ingestion that builds it while accounting for every input row.
//
// An EventLog is immutable and columnar. Events are sorted by (deal, time); ties
// keep the input order. Every id is a dense int32 code with a Dictionary back to
// the caller's value, every time is a UTC instant in int64 nanoseconds, and every
// event remembers the row it came from.
//
//   std::vector<int64_t> deal = {7, 7, 9};
//   std::vector<int64_t> time = {30, 10, 20};                 // UTC nanoseconds
//   std::vector<int64_t> action = {1, 0, 0};                  // codes into labels
//   std::vector<std::string> actions = {"call", "reply"};
//   salesperf::Vocabulary vocab;
//   vocab.Add("call", salesperf::Actor::kSeller).IgnoreError();
//   vocab.Add("reply", salesperf::Actor::kBuyer).IgnoreError();
//   salesperf::EventColumns in;
//   in.deal = salesperf::IdColumn::Integers(deal);
//   in.time = time;
//   in.action = salesperf::IdColumn::Coded(action, actions);
//   absl::StatusOr<salesperf::Ingested> out = salesperf::Ingest(in, vocab);
//   // out->log.size() == 3; out->report.rows_in == 3; out->log.row() == {1, 0, 2}
//
// Ingestion never drops a row silently: each input row is either an event of the
// log or a rejected row with its reason (IngestReport). With IngestOptions::strict
// the first bad row is an InvalidArgument error naming its row and column instead.
#ifndef SALESPERF_EVENT_LOG_H_
#define SALESPERF_EVENT_LOG_H_

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/column.h"
#include "salesperf/dictionary.h"
#include "salesperf/vocabulary.h"

namespace salesperf {

// Null time (numpy's and pandas' NaT has the same bit pattern).
inline constexpr int64_t kNullInstant = std::numeric_limits<int64_t>::min();

// One identifier column as the caller holds it. Either raw integer ids, or codes
// into a list of labels (what pandas.factorize, a pandas Categorical or an Arrow
// dictionary array gives). A row is null when `valid` is given and holds 0 there,
// or, for coded columns, when its code is negative. Labels may repeat (an Arrow
// dictionary can): codes whose labels have the same text are one value.
struct IdColumn {
  std::span<const int64_t> values;
  std::span<const uint8_t> valid;               // empty: every row is valid
  std::span<const std::string> labels;          // used when `coded`
  bool coded = false;

  static IdColumn Integers(std::span<const int64_t> ids, std::span<const uint8_t> valid = {}) {
    return IdColumn{ids, valid, {}, false};
  }
  static IdColumn Coded(std::span<const int64_t> codes, std::span<const std::string> labels) {
    return IdColumn{codes, {}, labels, true};
  }
  bool present() const { return !values.empty() || coded; }
};

// Verdicts a caller's text parser can pass along with the time column, so that the
// report says why a time is missing rather than only that it is.
enum class TimeFlag : uint8_t {
  kOk = 0,
  kUnparseable = 1,      // text that is not a time
  kNaive = 2,            // a local time with no UTC offset, and no time zone given
  kAmbiguousLocal = 3,   // a local time that a DST change makes ambiguous or non-existent
};

// The input: one span per column, all of the same length. Only deal, time and
// action are required; an absent optional column has empty spans.
struct EventColumns {
  IdColumn deal;
  std::span<const int64_t> time;        // UTC nanoseconds; kNullInstant = null
  std::span<const uint8_t> time_flags;  // optional TimeFlag per row
  IdColumn action;                      // integer actions are matched by their decimal text
  IdColumn rep;
  IdColumn account;
  IdColumn contact;
  IdColumn contact_role;
  std::span<const double> amount;       // NaN: see IngestOptions::nan_amount
  std::span<const uint8_t> amount_valid;  // optional; 0 = amount missing (allowed)
  std::vector<std::pair<std::string, IdColumn>> dimensions;  // segment, territory, ...
};

enum class NanAmount : uint8_t {
  kReject,  // a NaN amount rejects the row (reason kNanAmount)
  kNull,    // a NaN amount is a missing amount
};

struct IngestOptions {
  // Times outside [min_time, max_time] are rejected as implausible.
  // Defaults: 1970-01-01T00:00:00Z and 2200-01-01T00:00:00Z.
  int64_t min_time = 0;
  int64_t max_time = 7258118400LL * 1'000'000'000LL;
  NanAmount nan_amount = NanAmount::kReject;
  bool allow_negative_amount = false;
  // Raise on the first bad row instead of rejecting it.
  bool strict = false;
  // Worker threads; 0 = every core. The result is identical for every value.
  int threads = 0;
};

// Why a row was rejected. The numbering is stable (it is part of reports).
enum class RejectReason : uint8_t {
  kNullDeal = 0,
  kNullTime = 1,
  kUnparseableTime = 2,
  kNaiveTime = 3,
  kAmbiguousLocalTime = 4,
  kTimeOutOfRange = 5,
  kNullAction = 6,
  kUnknownAction = 7,
  kNanAmount = 8,
  kInfiniteAmount = 9,
  kNegativeAmount = 10,
  kDuplicateEvent = 11,
};
inline constexpr int kNumRejectReasons = 12;

// "null_deal", "unknown_action", ...: the stable name of a reason.
std::string_view RejectReasonName(RejectReason reason);
// The input column a reason is about: "deal", "time", "action" or "amount";
// for kDuplicateEvent, "*" (the whole row).
std::string_view RejectReasonColumn(RejectReason reason);

struct RejectedRow {
  int64_t row;           // 0-based position in the input
  RejectReason reason;
  int64_t duplicate_of;  // for kDuplicateEvent: the row that is kept; else -1
  friend bool operator==(const RejectedRow&, const RejectedRow&) = default;
};

// The accounting of one ingestion: rows_in == rows_accepted + rows_rejected, always.
struct IngestReport {
  int64_t rows_in = 0;
  int64_t rows_accepted = 0;
  int64_t rows_rejected = 0;
  int64_t rejected_by_reason[kNumRejectReasons] = {};
  std::vector<RejectedRow> rejected;  // sorted by row
  // Actions outside the vocabulary, with their row counts, by first appearance.
  std::vector<std::pair<std::string, int64_t>> unknown_actions;
  // Actions known only through a prefix rule (not listed by name).
  std::vector<std::string> prefix_matched_actions;
  bool input_was_sorted = false;  // already in (deal, time) order: no sort was needed
  int32_t deals = 0;

  // A few lines for people: the accounting and each reason with its count.
  std::string Summary() const;
  int64_t rejected_for(RejectReason r) const { return rejected_by_reason[static_cast<int>(r)]; }

  friend bool operator==(const IngestReport&, const IngestReport&) = default;
};

// A named extra dimension column (segment, territory, product, ...).
struct DimensionColumn {
  std::string name;
  Column<int32_t> codes;
  Dictionary dictionary;
  friend bool operator==(const DimensionColumn&, const DimensionColumn&) = default;
};

class EventLog {
 public:
  EventLog() = default;

  int64_t size() const { return static_cast<int64_t>(time_.size()); }
  int32_t num_deals() const { return deals_.size(); }

  // Columns, one entry per event, in (deal, time, input order) order.
  std::span<const int32_t> deal() const { return deal_; }
  std::span<const int64_t> time() const { return time_; }
  std::span<const int32_t> action() const { return action_; }
  std::span<const int64_t> row() const { return row_; }  // input row of each event
  // Optional columns: empty when the input had no such column; kNullCode where null.
  std::span<const int32_t> rep() const { return rep_; }
  std::span<const int32_t> account() const { return account_; }
  std::span<const int32_t> contact() const { return contact_; }
  std::span<const int32_t> contact_role() const { return contact_role_; }
  std::span<const double> amount() const { return amount_; }  // NaN = missing
  const std::vector<DimensionColumn>& dimensions() const { return dimensions_; }

  // deal d's events are positions [deal_offsets()[d], deal_offsets()[d + 1]).
  std::span<const int64_t> deal_offsets() const { return deal_offsets_; }

  const Dictionary& deals() const { return deals_; }
  const Dictionary& actions() const { return actions_; }  // string labels
  const Dictionary& reps() const { return reps_; }
  const Dictionary& accounts() const { return accounts_; }
  const Dictionary& contacts() const { return contacts_; }
  const Dictionary& contact_roles() const { return contact_roles_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }

  // The actor of an action code; action_actors()[a] for every code a.
  Actor actor(int32_t action) const { return static_cast<Actor>(action_actor_[action]); }
  std::span<const uint8_t> action_actors() const { return action_actor_; }

  // Every column and dictionary equal; a missing amount (NaN) equals a missing one.
  friend bool operator==(const EventLog& a, const EventLog& b);

 private:
  friend class EventLogBuilder;
  friend class EventLogAppender;
  Column<int32_t> deal_;
  Column<int64_t> time_;
  Column<int32_t> action_;
  Column<int64_t> row_;
  Column<int32_t> rep_, account_, contact_, contact_role_;
  Column<double> amount_;
  std::vector<DimensionColumn> dimensions_;
  Column<int64_t> deal_offsets_;
  Dictionary deals_, actions_, reps_, accounts_, contacts_, contact_roles_;
  std::vector<uint8_t> action_actor_;
  Vocabulary vocabulary_;
};

struct Ingested {
  EventLog log;
  IngestReport report;
};

// Validates, dictionary-encodes and sorts `columns` into an EventLog.
// Errors (InvalidArgument, naming the column): columns of different lengths, a
// missing required column, codes beyond their labels, an empty vocabulary; with
// options.strict, the first bad row, naming its row, column and reason (the
// status carries payloads "salesperf.row" and "salesperf.column").
absl::StatusOr<Ingested> Ingest(const EventColumns& columns, const Vocabulary& vocabulary,
                                const IngestOptions& options = {});

// A log grown by a batch: `log` keeps every code of the base log (deal d of the base
// is deal d here; new deals, reps, actions ... get the next codes), each deal's
// events merged in time order (base events first among equal times), and batch rows
// numbered after the base's (row = base's largest row + 1 + the batch row).
struct Appended {
  EventLog log;
  std::vector<int32_t> touched_deals;       // deals with a batch event, ascending
  std::vector<int64_t> duplicate_rows;      // batch rows equal to an event already in the base
};

// Appends `batch` (ingested on its own, e.g. a nightly extract) to `base`. Errors
// (InvalidArgument, naming the column or action): the two logs have different
// optional or dimension columns, an id column is text in one and integers in the
// other, or a batch action is unknown to the base's vocabulary or has another actor
// there. A batch event equal in every column to a base event is not added again; its
// batch row is listed in duplicate_rows.
absl::StatusOr<Appended> AppendEvents(const EventLog& base, const EventLog& batch);

// Payload type URLs set on strict-mode errors.
inline constexpr std::string_view kRowPayload = "salesperf.row";
inline constexpr std::string_view kColumnPayload = "salesperf.column";

namespace internal {
// For tests only: lowers the number of distinct ids one column may hold (normally
// INT32_MAX, as codes are int32), so that the error past it (ResourceExhausted naming
// the column and the row) can be tested without 2^31 distinct ids. Returns the previous
// limit. Not thread-safe with respect to a running Ingest or Append.
size_t SetMaxIdCodesForTesting(size_t n);
size_t MaxIdCodes();  // the limit in force
}  // namespace internal

}  // namespace salesperf

#endif  // SALESPERF_EVENT_LOG_H_
