// Hand-written Indicators states for tests: the bytes of the format documented in
// salesperf/indicators.h, written field by field (independently of Serialize), so that
// tests can build states no log produces (counts near INT64_MAX, dollar sums near the
// Int128 limit) and check what Deserialize, Merge, RollUp and MakeTable do with them.
#ifndef SALESPERF_TESTS_CPP_RAW_INDICATORS_H_
#define SALESPERF_TESTS_CPP_RAW_INDICATORS_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/calendar.h"
#include "salesperf/indicators.h"
#include "salesperf/state.h"
#include "test_logs.h"

namespace salesperf::raw_indicators {

inline constexpr std::string_view kIndMagic("SPIND\0\0\1", 8);
inline constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
inline constexpr Int128 kMax128 = ((Int128{1} << 126) - 1) + (Int128{1} << 126);  // 2^127 - 1
inline constexpr Int128 kMin128 = -kMax128 - 1;
inline constexpr int64_t kJanuary = (2026 - 1970) * 12;  // month index of 2026-01

// A cell of a hand-written state: unit index, period, and the non-zero fields (offsets
// into the block, see Off* below).
struct RawCell {
  int32_t unit;
  int64_t period;
  std::map<int, int64_t> counters;
  std::map<int, Int128> dollars;
};

// The stages of every hand-written state: Open (window 30 days), Won, Lost; the block of
// A actions is [3 A action fields][3 x 3 stage fields][6 cohort fields][12 cell fields],
// the dollar block [3 dollars_entered][4 dollar fields].
inline int OffAction(int32_t a, ActionField f) { return kActionFields * a + f; }
inline int OffStage(int32_t A, int32_t s, StageField f) { return kActionFields * A + kStageFields * s + f; }
inline int OffCohort(int32_t A, CohortField f) { return kActionFields * A + kStageFields * 3 + f; }
inline int OffCell(int32_t A, CellField f) { return kActionFields * A + kStageFields * 3 + kCohortFields + f; }
inline int OffDollar(DollarField f) { return 3 + f; }

struct RawOptions {
  std::string kind = "rep";
  std::vector<std::pair<std::string, Actor>> actions;
  int64_t resolution = Hours(1);
};

// An Indicators state (monthly, as_of day 100 after test_logs::kT0) written from the
// header's byte format; cells must be given in canonical order.
inline std::string RawIndicators(const std::vector<std::string>& units, const std::vector<RawCell>& cells,
                                 const std::vector<DurationBin>& bins = {}, const RawOptions& o = {}) {
  const auto A = static_cast<int32_t>(o.actions.size());
  const int B = kActionFields * A + kStageFields * 3 + kCohortFields + kCellFields;
  StateWriter w;
  w.String("month");
  w.I64(test_logs::kT0 + 100 * test_logs::kDay);  // as_of
  w.I64(Days(7));
  w.I64(o.resolution);
  w.U32(3);
  w.U32(1);
  for (const char* st : {"Open", "Won", "Lost"}) w.String(st);
  w.I64(Days(30));
  w.String(o.kind);
  w.U32(static_cast<uint32_t>(units.size()));
  for (const std::string& u : units) w.String(u);
  w.U32(static_cast<uint32_t>(A));
  for (const auto& [label, actor] : o.actions) {
    w.String(label);
    w.U8(static_cast<uint8_t>(actor));
  }
  w.U64(cells.size());
  for (const RawCell& c : cells) {
    w.I32(c.unit);
    w.I64(c.period);
  }
  for (const RawCell& c : cells) {
    for (int f = 0; f < B; ++f) {
      auto it = c.counters.find(f);
      w.I64(it == c.counters.end() ? 0 : it->second);
    }
  }
  for (const RawCell& c : cells) {
    for (int f = 0; f < 3 + kDollarCellFields; ++f) {
      auto it = c.dollars.find(f);
      w.I128(it == c.dollars.end() ? 0 : it->second);
    }
  }
  w.U64(bins.size());
  for (const DurationBin& b : bins) {
    w.I32(b.cell);
    w.I32(b.stage);
    w.I64(b.bucket);
    w.I64(b.observed);
    w.I64(b.censored);
  }
  return WrapState(kIndMagic, Indicators::kFormatVersion, w.Release());
}

inline Indicators MustParseInd(const std::string& bytes) {
  auto x = Indicators::Deserialize(bytes);
  EXPECT_TRUE(x.ok()) << x.status();
  return x.ok() ? *std::move(x) : Indicators();
}

}  // namespace salesperf::raw_indicators

#endif  // SALESPERF_TESTS_CPP_RAW_INDICATORS_H_
