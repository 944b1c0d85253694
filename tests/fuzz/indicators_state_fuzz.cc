// Fuzz target: Indicators::Deserialize, and what reads a deserialized accumulator
// (MakeTable, MakeTrends, Merge, RollUp). Input: see FuzzState in fuzz_common.h (a mode
// byte, then a payload framed here with a valid checksum, or raw bytes).
// Checked: bytes that parse re-serialize to themselves and to an equal object; the
// readers give a result or a clean error; merging a state into a copy of itself doubles
// it consistently (Merge then RollUp to one group both succeed or fail cleanly).
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace salesperf::fuzz {
namespace indicators_state_fuzz {

inline void Consume(const Indicators& ind) {
  absl::StatusOr<IndicatorTable> table = MakeTable(ind);
  if (table.ok()) {
    SP_FUZZ_CHECK(table->unit.size() == table->size() && table->n.size() == table->size(), "table columns");
    absl::StatusOr<TrendTable> trends = MakeTrends(*table, 3);
    if (!trends.ok()) CheckCleanError(trends.status(), "MakeTrends");
  } else {
    CheckCleanError(table.status(), "MakeTable");
  }
  // Sums that do not fit are an OutOfRange error that leaves the state as it was.
  Indicators twice = ind;
  const absl::Status merged = twice.Merge(ind);
  if (!merged.ok()) {
    CheckCleanError(merged, "Merge");
    SP_FUZZ_CHECK(twice == ind, "a failed Merge changed the indicators");
  } else {
    CheckStateRoundTrip(twice, "merged indicators");
  }
  std::vector<int32_t> parent(static_cast<size_t>(ind.num_units()), 0);
  absl::StatusOr<Indicators> rolled = ind.RollUp(parent, {"everyone"}, "all");
  if (rolled.ok()) {
    CheckStateRoundTrip(*rolled, "rolled-up indicators");
  } else {
    CheckCleanError(rolled.status(), "RollUp");
  }
}

}  // namespace indicators_state_fuzz

inline int FuzzIndicatorsState(const uint8_t* data, size_t size) {
  return FuzzState<Indicators>(data, size, std::string_view("SPIND\0\0\1", 8), Indicators::kFormatVersion,
                               "indicators", indicators_state_fuzz::Consume);
}

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzIndicatorsState)
