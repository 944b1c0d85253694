// Fuzz target: LeakCounts::Deserialize, and what reads a deserialized accumulator
// (AssessLeaks under each benchmark, Merge). Input: see FuzzState in fuzz_common.h.
// Checked: canonical round trip; one assessment row per unit x open stage; readers
// give a result or a clean error.
#include <cstdint>
#include <exception>
#include <limits>
#include <string>

#include "fuzz_common.h"

namespace salesperf::fuzz {
namespace leaks_state_fuzz {

inline void Consume(const LeakCounts& counts) {
  for (Benchmark b : {Benchmark::kTeamMedian, Benchmark::kTopQuartile, Benchmark::kTarget, Benchmark::kOwnPast}) {
    LeakOptions o;
    o.benchmark = b;
    o.min_trials = 1;
    if (b == Benchmark::kTarget) {
      o.target.assign(static_cast<size_t>(counts.num_open()), 0.5);
      if (!o.target.empty()) o.target.back() = std::numeric_limits<double>::quiet_NaN();
    }
    // AssessLeaks must not throw (Boost's beta quantile once escaped from it: a fixed
    // finding); an exception here ends the run as a crash.
    absl::StatusOr<LeakAssessment> a = AssessLeaks(counts, o);
    if (!a.ok()) {
      CheckCleanError(a.status(), "AssessLeaks");
      continue;
    }
    SP_FUZZ_CHECK(a->rows.size() == static_cast<size_t>(counts.num_units()) * static_cast<size_t>(counts.num_open()),
                  "one row per unit x open stage");
  }
  LeakCounts twice = counts;
  const absl::Status merged = twice.Merge(counts);
  if (merged.ok()) {
    CheckStateRoundTrip(twice, "merged leaks");
  } else {
    CheckCleanError(merged, "Merge");
    SP_FUZZ_CHECK(twice == counts, "a failed Merge changed the leak counts");
  }
}

}  // namespace leaks_state_fuzz

inline int FuzzLeaksState(const uint8_t* data, size_t size) {
  return FuzzState<LeakCounts>(data, size, std::string_view("SPLEAK\0\1", 8), LeakCounts::kFormatVersion, "leaks",
                               leaks_state_fuzz::Consume);
}

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzLeaksState)
