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
  // MakeTable sums each unit's cells into its "all" period: huge deserialized sums
  // overflow there too (the same open finding as Merge).
  if (!Doublable(ind, ind.num_cells() + 1)) return;
  absl::StatusOr<IndicatorTable> table = MakeTable(ind);
  if (table.ok()) {
    SP_FUZZ_CHECK(table->unit.size() == table->size() && table->n.size() == table->size(), "table columns");
    absl::StatusOr<TrendTable> trends = MakeTrends(*table, 3);
    if (!trends.ok()) CheckCleanError(trends.status(), "MakeTrends");
  } else {
    CheckCleanError(table.status(), "MakeTable");
  }
  // Huge counts overflow Merge (a known open finding: see Doublable in fuzz_common.h).
  if (!Doublable(ind)) return;
  Indicators twice = ind;
  const absl::Status merged = twice.Merge(ind);
  if (!merged.ok()) {
    CheckCleanError(merged, "Merge");
  } else {
    CheckStateRoundTrip(twice, "merged indicators");
  }
  if (!Doublable(ind, ind.num_units())) return;
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
