// Fuzz target: FunnelCounts::Deserialize, and what reads a deserialized accumulator
// (SolveFunnel for the organisation and each unit, Merge). Input: see FuzzState in
// fuzz_common.h. Checked: canonical round trip; the win and loss probabilities of a
// stage lie in [0, 1] and sum to 1, its expected days are >= 0; readers give a result
// or a clean error, and a Merge that fails leaves the funnel as it was.
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
    // State reduction divides by win + loss (docs/funnel.md): both within [0, 1]
    // exactly, and their sum within a few units in the last place of 1.
    SP_FUZZ_CHECK(w >= 0 && w <= 1 && l >= 0 && l <= 1, "a probability outside [0, 1]: " + detail);
    SP_FUZZ_CHECK(std::fabs(w + l - 1) <= 1e-12, "win + loss != 1: " + detail);
    const double t = c.expected_days_to_close[k];
    SP_FUZZ_CHECK(std::isnan(t) || (t >= 0 && std::isfinite(t)), "expected days negative or infinite: " + detail);
  }
}

inline void Consume(const FunnelCounts& counts) {
  for (int32_t u = -1; u < std::min(counts.num_units(), 4); ++u) {
    absl::StatusOr<FunnelChain> chain = SolveFunnel(counts, u);
    if (chain.ok()) {
      CheckChain(*chain);
    } else {
      CheckCleanError(chain.status(), "SolveFunnel");
    }
  }
  FunnelCounts twice = counts;
  const absl::Status merged = twice.Merge(counts);
  if (merged.ok()) {
    CheckStateRoundTrip(twice, "merged funnel");
  } else {
    CheckCleanError(merged, "Merge");
    SP_FUZZ_CHECK(twice == counts, "a failed Merge changed the funnel");
  }
}

}  // namespace funnel_state_fuzz

inline int FuzzFunnelState(const uint8_t* data, size_t size) {
  return FuzzState<FunnelCounts>(data, size, std::string_view("SPFUN\0\0\1", 8), FunnelCounts::kFormatVersion,
                                 "funnel", funnel_state_fuzz::Consume);
}

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzFunnelState)
