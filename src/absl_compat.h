// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), so std::string_view must be converted where it meets Abseil.
#ifndef SALESPERF_SRC_ABSL_COMPAT_H_
#define SALESPERF_SRC_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace salesperf::internal {
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_ABSL_COMPAT_H_
