// Internal: what the readers of deserialized states share to add up their figures
// safely (src/indicators.cc, src/indicator_table.cc, src/leaks.cc), and the names of
// an Indicators cell's fields in errors (as MakeTable names its indicators).
//
// A state read by Deserialize may hold counts anywhere up to INT64_MAX and dollar sums
// anywhere in the Int128 range (no log comes near; hostile or fabricated bytes do), so
// every sum over cells, units or states is checked: docs/errors.md E100.
#ifndef SALESPERF_SRC_STATE_SUMS_H_
#define SALESPERF_SRC_STATE_SUMS_H_

#include <iterator>

#include "salesperf/indicators.h"

namespace salesperf::internal {

// acc += v unless that overflows: true when it does (acc then holds the wrapped value,
// so callers discard it).
template <typename T>
bool AddOverflows(T& acc, T v) {
  return __builtin_add_overflow(acc, v, &acc);
}

// The fields of an Indicators cell, in their order within each block.
inline constexpr const char* kActionFieldNames[] = {"occurrences", "deals", "answered"};
inline constexpr const char* kStageFieldNames[] = {"entries", "deals_entered", "valued_entered"};
inline constexpr const char* kCohortFieldNames[] = {"advanced",      "failed",     "pending",
                                                    "won_in_window", "won_failed", "won_pending"};
inline constexpr const char* kCellFieldNames[] = {"created", "created_valued", "progressed",    "regressed",
                                                  "reopened", "won",           "won_valued",    "lost",
                                                  "lost_valued", "excluded_open", "stalled", "stalled_valued"};
inline constexpr const char* kDollarFieldNames[] = {"created_dollars", "won_dollars", "lost_dollars",
                                                    "stalled_dollars"};
static_assert(std::size(kActionFieldNames) == kActionFields && std::size(kStageFieldNames) == kStageFields &&
              std::size(kCohortFieldNames) == kCohortFields && std::size(kCellFieldNames) == kCellFields &&
              std::size(kDollarFieldNames) == kDollarCellFields);

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_STATE_SUMS_H_
