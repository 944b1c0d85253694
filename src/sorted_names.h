// Internal: merging sorted lists of names, for accumulators whose keys are names kept
// in sorted order (DeviantCounts, BehaviourCounts) so that merged states are canonical.
#ifndef SALESPERF_SRC_SORTED_NAMES_H_
#define SALESPERF_SRC_SORTED_NAMES_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"

namespace salesperf::internal {

// The sorted union of two sorted, distinct name lists, and where each side's names
// went: out[map_a[i]] == a[i], out[map_b[j]] == b[j].
inline std::vector<std::string> UnionNames(const std::vector<std::string>& a, const std::vector<std::string>& b,
                                           std::vector<int32_t>& map_a, std::vector<int32_t>& map_b) {
  std::vector<std::string> out;
  out.reserve(a.size() + b.size());
  map_a.assign(a.size(), -1);
  map_b.assign(b.size(), -1);
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const auto at = static_cast<int32_t>(out.size());
    if (j == b.size() || (i < a.size() && a[i] < b[j])) {
      map_a[i] = at;
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j] < a[i]) {
      map_b[j] = at;
      out.push_back(b[j++]);
    } else {
      map_a[i++] = at;
      map_b[j] = at;
      out.push_back(b[j++]);
    }
  }
  return out;
}

// Whether names are strictly increasing (sorted and distinct), as a state's keys must be.
inline bool SortedUnique(const std::vector<std::string>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (!(v[i - 1] < v[i])) return false;
  }
  return true;
}

// FailedPrecondition naming the first unit name (in sorted order) that repeats: an
// accumulator keyed by unit names cannot tell two units of one name apart.
inline absl::Status CheckDistinctUnitNames(const std::vector<std::string>& names) {
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] == sorted[i - 1]) {
      return absl::FailedPreconditionError(absl::StrCat("unit name '", Sv(sorted[i]), "' repeats"));
    }
  }
  return absl::OkStatus();
}

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_SORTED_NAMES_H_
