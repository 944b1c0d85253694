// Internal: return early with a non-OK absl::Status (Debian's absl 20220623 has no
// public status macros).
#ifndef SALESPERF_SRC_STATUS_MACROS_H_
#define SALESPERF_SRC_STATUS_MACROS_H_

#include "absl/status/status.h"

#define SALESPERF_RETURN_IF_ERROR(expr)                      \
  do {                                                       \
    absl::Status salesperf_status_ = (expr);                 \
    if (!salesperf_status_.ok()) return salesperf_status_;   \
  } while (false)

#endif  // SALESPERF_SRC_STATUS_MACROS_H_
