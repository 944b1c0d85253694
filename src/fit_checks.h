// Internal: the check every per-unit analysis makes before reading a log's timelines
// and units together (targets.cc, plan_actual.cc, deviants.cc). Not installed.
#ifndef SALESPERF_SRC_FIT_CHECKS_H_
#define SALESPERF_SRC_FIT_CHECKS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/timelines.h"

namespace salesperf::internal {

// FailedPrecondition when the timelines' stage names are not their open stages plus
// Won and Lost, when their per-deal columns or the units' deal map differ in size from
// the log's deals, or when a deal's unit is out of range.
inline absl::Status CheckTimelinesAndUnitsFit(const EventLog& log, const Timelines& tl, const Units& units) {
  const auto nd = static_cast<size_t>(log.num_deals());
  if (tl.num_open < 0 || tl.stage_names.size() != static_cast<size_t>(tl.num_open) + 2) {
    return absl::FailedPreconditionError("the timelines' stage names do not hold their open stages plus Won and Lost");
  }
  const size_t S = tl.stage_names.size();
  if (tl.outcome.size() != nd || tl.outcome_time.size() != nd || tl.value.size() != nd ||
      tl.current_stage.size() != nd || tl.first_entered.size() != nd * S || units.of_deal.size() != nd) {
    return absl::FailedPreconditionError("the timelines or units do not fit the log (deal counts differ)");
  }
  const auto U = static_cast<int32_t>(units.names.size());
  for (size_t d = 0; d < nd; ++d) {
    if (units.of_deal[d] < 0 || units.of_deal[d] >= U) {
      return absl::FailedPreconditionError(absl::StrCat("the unit of deal ", d, " is out of range"));
    }
  }
  return absl::OkStatus();
}

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_FIT_CHECKS_H_
