// salesperf/salesperf.h — everything in the library, in one include.
//
//   #include "salesperf/salesperf.h"
//   auto ingested = salesperf::Ingest(columns, vocabulary);
#ifndef SALESPERF_SALESPERF_H_
#define SALESPERF_SALESPERF_H_

#include "salesperf/calendar.h"
#include "salesperf/column.h"
#include "salesperf/dictionary.h"
#include "salesperf/deviance.h"
#include "salesperf/event_log.h"
#include "salesperf/funnel.h"
#include "salesperf/indicators.h"
#include "salesperf/leaks.h"
#include "salesperf/practices.h"
#include "salesperf/stage_model.h"
#include "salesperf/state.h"
#include "salesperf/stats.h"
#include "salesperf/synth.h"
#include "salesperf/targets.h"
#include "salesperf/timelines.h"
#include "salesperf/vocabulary.h"

namespace salesperf {
inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
}  // namespace salesperf

#endif  // SALESPERF_SALESPERF_H_
