// Fuzz target: FunnelCounts::Deserialize, and what reads a deserialized accumulator
// (SolveFunnel for the organisation and each unit, Merge). Input: see FuzzState in
// fuzz_common.h. Checked: canonical round trip; win + loss probabilities of a stage
// with a win probability sum to 1; readers give a result or a clean error.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_common.h"

namespace salesperf::fuzz {
namespace funnel_state_fuzz {

inline void CheckChain(const FunnelChain& c) {
  SP_FUZZ_CHECK(c.win_probability.size() == static_cast<size_t>(c.num_open) &&
                    c.loss_probability.size() == static_cast<size_t>(c.num_open),
                "chain sizes");
  for (int32_t k = 0; k < c.num_open; ++k) {
    const double w = c.win_probability[k], l = c.loss_probability[k];
    if (std::isnan(w)) continue;
    char detail_text[96];
    std::snprintf(detail_text, sizeof detail_text, "stage %d: win %.17g, loss %.17g", k, w, l);
    const std::string detail = detail_text;
    // Open finding (docs/fuzzing.md): on extreme, ill-conditioned counts the LU solve
    // returns a win probability up to ~2.4e-7 above 1, and win + loss off by up to 3e-4.
    // Checked to 1e-9 with SALESPERF_FUZZ_OPEN_FINDINGS=1; otherwise to 1e-2.
    const double tolerance = OpenFindings() ? 1e-9 : 1e-2;
    SP_FUZZ_CHECK(w >= -tolerance && w <= 1 + tolerance, "win probability outside [0, 1]: " + detail);
    SP_FUZZ_CHECK(std::fabs(w + l - 1) <= tolerance, "win + loss != 1: " + detail);
  }
}

inline void Consume(const FunnelCounts& counts) {
  // SolveFunnel sums each row of moves, and every unit for the organisation: huge
  // deserialized counts overflow there too (the open overflow finding).
  if (!Doublable(counts, (int64_t{counts.num_units()} + 1) * static_cast<int64_t>(counts.stage_names().size() + 1))) {
    return;
  }
  for (int32_t u = -1; u < std::min(counts.num_units(), 4); ++u) {
    absl::StatusOr<FunnelChain> chain = SolveFunnel(counts, u);
    if (chain.ok()) {
      CheckChain(*chain);
    } else {
      CheckCleanError(chain.status(), "SolveFunnel");
    }
  }
  // Huge counts overflow Merge (a known open finding: see Doublable in fuzz_common.h).
  if (!Doublable(counts)) return;
  FunnelCounts twice = counts;
  const absl::Status merged = twice.Merge(counts);
  if (merged.ok()) {
    CheckStateRoundTrip(twice, "merged funnel");
  } else {
    CheckCleanError(merged, "Merge");
  }
}

}  // namespace funnel_state_fuzz

inline int FuzzFunnelState(const uint8_t* data, size_t size) {
  return FuzzState<FunnelCounts>(data, size, std::string_view("SPFUN\0\0\1", 8), FunnelCounts::kFormatVersion,
                                 "funnel", funnel_state_fuzz::Consume);
}

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzFunnelState)
