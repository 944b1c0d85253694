#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "salesperf/event_log.h"

namespace salesperf {

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNullDeal: return "null_deal";
    case RejectReason::kNullTime: return "null_time";
    case RejectReason::kUnparseableTime: return "unparseable_time";
    case RejectReason::kNaiveTime: return "naive_time";
    case RejectReason::kAmbiguousLocalTime: return "ambiguous_local_time";
    case RejectReason::kTimeOutOfRange: return "time_out_of_range";
    case RejectReason::kNullAction: return "null_action";
    case RejectReason::kUnknownAction: return "unknown_action";
    case RejectReason::kNanAmount: return "nan_amount";
    case RejectReason::kInfiniteAmount: return "infinite_amount";
    case RejectReason::kNegativeAmount: return "negative_amount";
    case RejectReason::kDuplicateEvent: return "duplicate_event";
  }
  return "unknown_reason";
}

std::string_view RejectReasonColumn(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNullDeal: return "deal";
    case RejectReason::kNullTime:
    case RejectReason::kUnparseableTime:
    case RejectReason::kNaiveTime:
    case RejectReason::kAmbiguousLocalTime:
    case RejectReason::kTimeOutOfRange: return "time";
    case RejectReason::kNullAction:
    case RejectReason::kUnknownAction: return "action";
    case RejectReason::kNanAmount:
    case RejectReason::kInfiniteAmount:
    case RejectReason::kNegativeAmount: return "amount";
    case RejectReason::kDuplicateEvent: return "*";
  }
  return "?";
}

std::string IngestReport::Summary() const {
  std::string out = absl::StrFormat("%d rows in = %d accepted + %d rejected; %d deals%s\n",
                                    rows_in, rows_accepted, rows_rejected, deals,
                                    input_was_sorted ? "" : " (input was re-sorted by deal, time)");
  for (int r = 0; r < kNumRejectReasons; ++r) {
    if (rejected_by_reason[r] == 0) continue;
    const auto reason = static_cast<RejectReason>(r);
    absl::StrAppendFormat(&out, "  %-22s %10d  (column %s)\n", RejectReasonName(reason),
                          rejected_by_reason[r], RejectReasonColumn(reason));
  }
  for (const auto& [name, count] : unknown_actions) {
    absl::StrAppendFormat(&out, "  unknown action '%s': %d rows\n", name, count);
  }
  return out;
}

}  // namespace salesperf
