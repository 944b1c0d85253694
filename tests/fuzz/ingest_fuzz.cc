// Fuzz target: ingestion from raw columns (salesperf::Ingest), then the whole
// downstream pass (Compile, RunStages, indicators, funnel, leaks, warnings) on the log.
//
// The bytes choose the row count, every column (integer or coded ids, validity masks,
// codes out of range, times at the int64 edges, NaN / infinite / negative amounts,
// time flags, unknown actions, unsorted and duplicate rows, dimensions) and the
// options (time window, NaN policy, negative amounts, strict mode, threads).
// Checked after a success: rows_in = accepted + rejected; every rejected row has a
// reason, a row number in range, and is listed once; the log holds exactly the other
// rows, sorted by (deal, time, row), within the time window; one thread and two give
// the same result.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace salesperf::fuzz {
namespace ingest_fuzz {

struct IdData {
  std::vector<int64_t> values;
  std::vector<uint8_t> valid;
  std::vector<std::string> labels;
  bool coded = false;
  bool present = false;
  IdColumn Column() const {
    if (!present) return IdColumn{};
    if (coded) return IdColumn{values, valid, labels, true};
    return IdColumn::Integers(values, valid);
  }
};

// An id column of n rows: absent (when optional), integers or codes into labels drawn
// from `pool` plus random text; nulls by mask or negative code; a few codes out of
// range (an InvalidArgument the caller must get cleanly).
inline IdData MakeIds(FuzzedDataProvider& p, size_t n, bool optional, const std::vector<std::string>& pool,
                      int64_t distinct) {
  IdData c;
  if (optional && p.ConsumeBool()) return c;
  c.present = true;
  c.coded = p.ConsumeBool();
  if (c.coded) {
    const size_t labels = p.ConsumeIntegralInRange<size_t>(0, 8);
    for (size_t i = 0; i < labels; ++i) {
      if (!pool.empty() && p.ConsumeIntegralInRange<int>(0, 3) != 0) {
        c.labels.push_back(pool[p.ConsumeIntegralInRange<size_t>(0, pool.size() - 1)]);
      } else {
        c.labels.push_back(p.ConsumeRandomLengthString(12));  // may repeat another label
      }
    }
  }
  // Labels may repeat: Ingest gives a repeated label one code (a fixed finding).
  const bool masked = p.ConsumeIntegralInRange<int>(0, 3) == 0;
  const bool wild = p.ConsumeIntegralInRange<int>(0, 7) == 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t v;
    if (wild) {
      v = p.ConsumeIntegral<int64_t>();
    } else if (c.coded) {
      const int64_t hi = static_cast<int64_t>(c.labels.size());
      v = p.ConsumeIntegralInRange<int64_t>(-1, hi == 0 ? 0 : hi - 1);
      if (p.ConsumeIntegralInRange<int>(0, 63) == 0) v = hi;  // beyond the labels
    } else {
      v = p.ConsumeIntegralInRange<int64_t>(-2, distinct);
    }
    c.values.push_back(v);
    if (masked) c.valid.push_back(p.ConsumeIntegralInRange<uint8_t>(0, 3) == 0 ? 0 : 1);
  }
  if (masked && p.ConsumeIntegralInRange<int>(0, 31) == 0 && !c.valid.empty()) c.valid.pop_back();
  return c;
}

inline void CheckIngested(const Ingested& out, size_t n, const IngestOptions& options) {
  const IngestReport& r = out.report;
  const EventLog& log = out.log;
  SP_FUZZ_CHECK(r.rows_in == static_cast<int64_t>(n), "rows_in");
  SP_FUZZ_CHECK(r.rows_in == r.rows_accepted + r.rows_rejected, "rows_in = accepted + rejected");
  SP_FUZZ_CHECK(static_cast<int64_t>(r.rejected.size()) == r.rows_rejected, "a rejected row without a reason");
  int64_t by_reason = 0;
  for (int64_t c : r.rejected_by_reason) {
    SP_FUZZ_CHECK(c >= 0, "negative reason count");
    by_reason += c;
  }
  SP_FUZZ_CHECK(by_reason == r.rows_rejected, "reason counts do not add up");
  std::vector<uint8_t> seen(n, 0);
  int64_t counted[kNumRejectReasons] = {};
  for (size_t i = 0; i < r.rejected.size(); ++i) {
    const RejectedRow& rr = r.rejected[i];
    SP_FUZZ_CHECK(rr.row >= 0 && rr.row < static_cast<int64_t>(n), "rejected row out of range");
    SP_FUZZ_CHECK(static_cast<int>(rr.reason) < kNumRejectReasons, "unknown reason");
    SP_FUZZ_CHECK(!RejectReasonName(rr.reason).empty(), "reason without a name");
    if (i > 0) SP_FUZZ_CHECK(r.rejected[i - 1].row < rr.row, "rejected rows not sorted or repeated");
    SP_FUZZ_CHECK((rr.reason == RejectReason::kDuplicateEvent) == (rr.duplicate_of >= 0), "duplicate_of");
    if (rr.duplicate_of >= 0) {
      SP_FUZZ_CHECK(rr.duplicate_of < static_cast<int64_t>(n) && rr.duplicate_of != rr.row, "duplicate_of row");
    }
    ++counted[static_cast<int>(rr.reason)];
    seen[static_cast<size_t>(rr.row)] = 1;
  }
  for (int k = 0; k < kNumRejectReasons; ++k) SP_FUZZ_CHECK(counted[k] == r.rejected_by_reason[k], "by reason");
  SP_FUZZ_CHECK(log.size() == r.rows_accepted, "log size");
  SP_FUZZ_CHECK(log.deal().size() == static_cast<size_t>(log.size()) &&
                    log.action().size() == static_cast<size_t>(log.size()) &&
                    log.row().size() == static_cast<size_t>(log.size()),
                "column sizes");
  for (int64_t i = 0; i < log.size(); ++i) {
    const int64_t row = log.row()[i];
    SP_FUZZ_CHECK(row >= 0 && row < static_cast<int64_t>(n), "event row out of range");
    SP_FUZZ_CHECK(seen[static_cast<size_t>(row)] == 0, "a row both accepted and rejected, or accepted twice");
    seen[static_cast<size_t>(row)] = 1;
    const int64_t t = log.time()[i];
    SP_FUZZ_CHECK(t != kNullInstant && t >= options.min_time && t <= options.max_time, "time outside the window");
    SP_FUZZ_CHECK(log.deal()[i] >= 0 && log.deal()[i] < log.num_deals(), "deal code");
    SP_FUZZ_CHECK(log.action()[i] >= 0 && log.action()[i] < log.actions().size(), "action code");
    if (i > 0) {
      const bool ordered = log.deal()[i - 1] < log.deal()[i] ||
                           (log.deal()[i - 1] == log.deal()[i] &&
                            (log.time()[i - 1] < t || (log.time()[i - 1] == t && log.row()[i - 1] < row)));
      SP_FUZZ_CHECK(ordered, "events not in (deal, time, row) order");
    }
    if (!log.amount().empty()) {
      const double a = log.amount()[i];
      SP_FUZZ_CHECK(std::isnan(a) || std::isfinite(a), "infinite amount accepted");
      if (!options.allow_negative_amount) SP_FUZZ_CHECK(std::isnan(a) || a >= 0, "negative amount accepted");
    }
  }
  for (size_t i = 0; i < n; ++i) SP_FUZZ_CHECK(seen[i] == 1, "a row neither accepted nor rejected");
  SP_FUZZ_CHECK(log.deal_offsets().size() == static_cast<size_t>(log.num_deals()) + 1, "deal offsets size");
  if (log.num_deals() > 0) {
    SP_FUZZ_CHECK(log.deal_offsets().front() == 0 && log.deal_offsets().back() == log.size(), "deal offsets ends");
  }
  SP_FUZZ_CHECK(r.deals == log.num_deals(), "report deals");
  if (options.strict) SP_FUZZ_CHECK(r.rows_rejected == 0, "strict mode rejected a row without an error");
  (void)r.Summary();
}

inline int Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 48);
  static const std::vector<std::string> kDealPool = {"d1", "d2", "d3", "d4"};
  static const std::vector<std::string> kPeople = {"ana", "bo", "c1", "c2", "decision_maker", "user"};

  IdData deal = MakeIds(p, n, false, kDealPool, 5);
  std::vector<int64_t> time;
  for (size_t i = 0; i < n; ++i) time.push_back(InterestingTime(p));
  std::vector<uint8_t> flags;
  if (p.ConsumeIntegralInRange<int>(0, 3) == 0) {
    for (size_t i = 0; i < n; ++i) flags.push_back(p.ConsumeIntegralInRange<uint8_t>(0, 4));  // 4: not a flag
  }
  IdData action = MakeIds(p, n, false, KnownActions(), 12);
  IdData rep = MakeIds(p, n, true, kPeople, 4);
  IdData account = MakeIds(p, n, true, kPeople, 4);
  IdData contact = MakeIds(p, n, true, kPeople, 6);
  IdData role = MakeIds(p, n, true, kPeople, 3);
  std::vector<double> amount;
  std::vector<uint8_t> amount_valid;
  if (p.ConsumeBool()) {
    for (size_t i = 0; i < n; ++i) amount.push_back(InterestingDouble(p));
    if (p.ConsumeIntegralInRange<int>(0, 3) == 0) {
      for (size_t i = 0; i < n; ++i) amount_valid.push_back(p.ConsumeBool() ? 1 : 0);
    }
  }
  std::vector<IdData> dims;
  std::vector<std::string> dim_names;
  const int num_dims = p.ConsumeIntegralInRange<int>(0, 2);
  for (int i = 0; i < num_dims; ++i) {
    dim_names.push_back(p.ConsumeBool() ? "segment" : p.ConsumeRandomLengthString(8));
    dims.push_back(MakeIds(p, n, false, {"smb", "ent"}, 3));
  }
  // Duplicate and shuffled rows: copy some rows over others.
  const int copies = p.ConsumeIntegralInRange<int>(0, 4);
  for (int c = 0; c < copies && n > 1; ++c) {
    const size_t from = p.ConsumeIntegralInRange<size_t>(0, n - 1), to = p.ConsumeIntegralInRange<size_t>(0, n - 1);
    for (IdData* col : {&deal, &action, &rep, &account, &contact, &role}) {
      if (col->present) col->values[to] = col->values[from];
    }
    time[to] = time[from];
    if (!amount.empty()) amount[to] = amount[from];
  }

  IngestOptions options;
  if (p.ConsumeIntegralInRange<int>(0, 7) == 0) {
    options.min_time = InterestingTime(p);
    options.max_time = InterestingTime(p);
  }
  options.nan_amount = p.ConsumeBool() ? NanAmount::kNull : NanAmount::kReject;
  options.allow_negative_amount = p.ConsumeBool();
  options.strict = p.ConsumeIntegralInRange<int>(0, 7) == 0;
  const bool two_threads = p.ConsumeIntegralInRange<int>(0, 15) == 0;
  options.threads = 1;

  EventColumns in;
  in.deal = deal.Column();
  in.time = time;
  in.time_flags = flags;
  in.action = action.Column();
  in.rep = rep.Column();
  in.account = account.Column();
  in.contact = contact.Column();
  in.contact_role = role.Column();
  in.amount = amount;
  in.amount_valid = amount_valid;
  for (size_t i = 0; i < dims.size(); ++i) in.dimensions.emplace_back(dim_names[i], dims[i].Column());

  // Sometimes a vocabulary of the fuzzer's own (empty included: an error).
  Vocabulary vocab = FixedVocabulary();
  if (p.ConsumeIntegralInRange<int>(0, 15) == 0) {
    vocab = Vocabulary();
    const int k = p.ConsumeIntegralInRange<int>(0, 4);
    for (int i = 0; i < k; ++i) {
      const std::string name = p.ConsumeRandomLengthString(6);
      const auto actor = static_cast<Actor>(p.ConsumeIntegralInRange<int>(0, 2));
      if (p.ConsumeBool()) {
        (void)vocab.AddPrefix(name, actor);
      } else {
        (void)vocab.Add(name, actor);
      }
    }
  }

  absl::StatusOr<Ingested> out = Ingest(in, vocab, options);
  if (!out.ok()) {
    CheckCleanError(out.status(), "Ingest");
    return 0;
  }
  CheckIngested(*out, n, options);
  if (two_threads) {
    options.threads = 2;
    absl::StatusOr<Ingested> again = Ingest(in, vocab, options);
    SP_FUZZ_CHECK(again.ok(), "two threads failed where one succeeded: " + again.status().ToString());
    std::string diff;
    const EventLog &a = out->log, &b = again->log;
    if (!std::ranges::equal(a.deal(), b.deal())) diff += " deal";
    if (!std::ranges::equal(a.time(), b.time())) diff += " time";
    if (!std::ranges::equal(a.action(), b.action())) diff += " action";
    if (!std::ranges::equal(a.row(), b.row())) diff += " row";
    if (!std::ranges::equal(a.rep(), b.rep())) diff += " rep";
    if (!std::ranges::equal(a.contact(), b.contact())) diff += " contact";
    if (!(a.deals() == b.deals())) diff += " deal-dictionary";
    if (!(a.actions() == b.actions())) diff += " action-dictionary";
    if (!(a.reps() == b.reps())) diff += " rep-dictionary";
    if (!(a.accounts() == b.accounts())) diff += " account-dictionary";
    if (!(a.contacts() == b.contacts())) diff += " contact-dictionary";
    if (!(a.contact_roles() == b.contact_roles())) diff += " role-dictionary";
    if (!(a.dimensions() == b.dimensions())) diff += " dimensions";
    if (!std::ranges::equal(a.deal_offsets(), b.deal_offsets())) diff += " deal-offsets";
    if (!(out->report.rejected == again->report.rejected)) diff += " rejected-rows";
    if (!(out->report.unknown_actions == again->report.unknown_actions)) diff += " unknown-actions";
    if (out->report.input_was_sorted != again->report.input_was_sorted) diff += " input_was_sorted";
    if (!std::ranges::equal(a.account(), b.account())) diff += " account";
    if (!std::ranges::equal(a.contact_role(), b.contact_role())) diff += " contact_role";
    if (!std::ranges::equal(a.action_actors(), b.action_actors())) diff += " action-actors";
    if (!(a.vocabulary() == b.vocabulary())) diff += " vocabulary";
    // Amounts: NaN (missing) equals NaN, as in EventLog's operator==.
    const bool amounts_equal = std::ranges::equal(a.amount(), b.amount(), [](double x, double y) {
      return x == y || (std::isnan(x) && std::isnan(y));
    });
    if (!amounts_equal) diff += " amount";
    if (!(again->report == out->report)) diff += " report";
    SP_FUZZ_CHECK(diff.empty(), "threads change the result:" + diff + " (rows " + std::to_string(n) + ")");
    SP_FUZZ_CHECK(a == b, "EventLog's operator== disagrees with the column-by-column comparison");
    SP_FUZZ_CHECK(a == EventLog(a), "a log is not equal to its copy");
  }
  if (out->log.size() == 0) return 0;
  const EventLog& log = out->log;
  RunDownstream(log, FixedModel(!log.contact().empty(), !log.contact_role().empty(), !log.amount().empty()));
  return 0;
}

}  // namespace ingest_fuzz

inline int FuzzIngest(const uint8_t* data, size_t size) { return ingest_fuzz::Run(data, size); }

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzIngest)
