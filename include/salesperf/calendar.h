// salesperf/calendar.h — UTC calendar periods (day, ISO week, month, quarter, year,
// with fiscal quarters and years) that indicators bucket events and stage entries into.
//
// A Calendar maps a UTC instant (int64 nanoseconds) to a dense period index that
// increases with time, and an index back to its bounds and a readable label:
//
//   salesperf::Calendar weeks(salesperf::Grain::kWeek);
//   int64_t t = 1'609'459'200'000'000'000;          // 2021-01-01T00:00:00Z, a Friday
//   int64_t w = weeks.PeriodIndex(t);
//   // weeks.Label(w) == "2020-W53" (ISO week-year); weeks.Label(w + 1) == "2021-W01"
//   // weeks.PeriodStart(w + 1) is 2021-01-04T00:00:00Z, a Monday
//
//   // A fiscal year that starts on 1 July is named by the calendar year in which it
//   // ENDS: 2025-07-01 .. 2026-06-30 is FY2026, and its Q1 is July to September.
//   absl::StatusOr<salesperf::Calendar> fq = salesperf::Calendar::Parse("fiscal_quarter:7");
//   int64_t q = fq->PeriodIndex(t);                 // January..March 2021
//   // fq->Label(q) == "FY2021 Q3"; fq->Label(q - 1) == "FY2021 Q2" (October..December)
//   // fq->Spec() == "fiscal_quarter:7"
//
// Periods are UTC calendar periods (the proleptic Gregorian calendar, no time zones,
// no leap seconds). PeriodIndex is integer arithmetic only (no allocation, no time
// zone lookups), so it can run once per event in a hot loop.
//
// Indices: kDay counts days since 1970-01-01; kWeek counts ISO weeks (Monday to
// Sunday) since Monday 1969-12-29 (the week 1970-W01); kMonth counts months since
// 1970-01; kQuarter and kYear count quarters and years since the one that starts on
// the first day of the fiscal start month in 1970 (1970-01 for calendar periods).
//
// Labels: "2026-03-14", "2026-W14" (ISO week-year and week), "2026-03", "2026 Q1" and
// "2026" for calendar quarters and years, "FY2026 Q3" and "FY2026" for fiscal ones.
// With a fiscal start month of 1 the fiscal year is the calendar year, and labels
// carry no "FY"; months are the same whatever the start month.
//
// Specs (Parse / Spec): "day", "week", "month", "quarter", "year", and
// "fiscal_quarter:M", "fiscal_year:M", "fiscal_month:M" with M the start month 1..12.
// "fiscal_quarter:1" is "quarter", so Spec() gives the shortest form.
#ifndef SALESPERF_CALENDAR_H_
#define SALESPERF_CALENDAR_H_

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesperf {

enum class Grain : uint8_t {
  kDay,
  kWeek,  // ISO 8601 week: Monday to Sunday, numbered within its ISO week-year
  kMonth,
  kQuarter,
  kYear,
};

// "day", "week", "month", "quarter", "year".
std::string_view GrainName(Grain grain);

// An instant (UTC nanoseconds) as ISO 8601 text for messages: "2026-01-31T09:30:00Z",
// with the fraction of a second when it has one ("...:00.000000123Z"); kNullInstant
// (INT64_MIN) is "null". Proleptic Gregorian, any year the int64 range reaches.
std::string FormatInstant(int64_t utc_ns);

// The period index Calendar::PeriodIndices writes for a null time (kNullInstant).
inline constexpr int64_t kNoPeriod = std::numeric_limits<int64_t>::min();

namespace calendar_internal {

inline constexpr int64_t kNanosPerDay = 86'400'000'000'000;

// Floor division and modulo for a positive divisor (C++ division truncates toward 0).
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}
constexpr int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return r < 0 ? r + b : r;
}

// Days since 1970-01-01 of a proleptic Gregorian date (after Howard Hinnant's
// "days_from_civil": years are counted from March so that the leap day comes last).
constexpr int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  const int64_t y = month <= 2 ? year - 1 : year;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                       // [0, 399]
  const int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};

// The inverse of DaysFromCivil (Hinnant's "civil_from_days").
constexpr CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;                                     // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                   // [0, 11], March = 0
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{year, month, day};
}

// Months since 1970-01 of the month that holds a day: the month part of CivilFromDays
// in 32-bit unsigned arithmetic (cheaper divisions), for days in [-719468, 2^31 - 719468),
// which includes every day of an int64 nanosecond time (|days| <= 106752).
constexpr int64_t MonthsFromDays(int64_t days) {
  const auto z = static_cast<uint32_t>(days + 719468);
  const uint32_t era = z / 146097;
  const uint32_t doe = z - era * 146097;
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;  // March = 0
  // January of year Y is month 10 of the March-based year Y - 1, so the count since
  // 1970-01 is (march_year * 12 + mp + 2) - 1970 * 12.
  return static_cast<int64_t>((yoe + era * 400) * 12 + mp + 2) - 1970 * 12;
}

}  // namespace calendar_internal

class Calendar {
 public:
  // Days.
  constexpr Calendar() = default;
  // Calendar periods (fiscal start month 1) of a grain.
  constexpr explicit Calendar(Grain grain) : grain_(grain) {}

  // Periods of a grain whose quarters and years start in `fiscal_year_start_month`
  // (1..12). InvalidArgument for a month outside 1..12, and for a start month other
  // than 1 with kDay or kWeek (days and ISO weeks have no fiscal form).
  static absl::StatusOr<Calendar> Create(Grain grain, int fiscal_year_start_month = 1);

  // A calendar from its spec: "day", "week", "month", "quarter", "year",
  // "fiscal_quarter:M", "fiscal_year:M", "fiscal_month:M" (M = 1..12). Case and
  // surrounding spaces are ignored. InvalidArgument naming the spec otherwise.
  static absl::StatusOr<Calendar> Parse(std::string_view spec);

  // The spec Parse reads back into an equal Calendar.
  std::string Spec() const;

  Grain grain() const { return grain_; }
  int fiscal_year_start_month() const { return fiscal_year_start_month_; }
  // Whether quarter and year labels are fiscal ("FY2026 Q3").
  bool fiscal() const { return fiscal_year_start_month_ != 1; }

  // The index of the period holding `utc_ns`. `utc_ns` must not be kNullInstant
  // (null times have no period; the result would be that of 1677-09-21). Works for
  // every other int64, before 1970 included.
  int64_t PeriodIndex(int64_t utc_ns) const {
    using calendar_internal::FloorDiv;
    const int64_t days = FloorDiv(utc_ns, calendar_internal::kNanosPerDay);
    switch (grain_) {
      case Grain::kDay: return days;
      case Grain::kWeek: return FloorDiv(days + 3, 7);  // day -3 is Monday 1969-12-29
      case Grain::kMonth: return calendar_internal::MonthsFromDays(days);
      case Grain::kQuarter:
        return FloorDiv(calendar_internal::MonthsFromDays(days) - (fiscal_year_start_month_ - 1), 3);
      case Grain::kYear:
        return FloorDiv(calendar_internal::MonthsFromDays(days) - (fiscal_year_start_month_ - 1), 12);
    }
    return days;
  }

  // PeriodIndex, with InvalidArgument for a null time.
  absl::StatusOr<int64_t> PeriodIndexChecked(int64_t utc_ns) const;

  // PeriodIndex of each time into `out` (of the same size), and kNoPeriod for null
  // times. InvalidArgument when the sizes differ.
  absl::Status PeriodIndices(std::span<const int64_t> utc_ns, std::span<int64_t> out) const;

  // The first instant of a period, and the first instant after it (exclusive end),
  // in UTC nanoseconds. Bounds beyond the int64 range are clipped to it: the start of
  // min_index() is kNullInstant + 1 and the end of max_index() is INT64_MAX.
  // `index` must be in [min_index(), max_index()]; others are treated as the nearer of
  // the two (see CheckIndices).
  int64_t PeriodStart(int64_t index) const;
  int64_t PeriodEnd(int64_t index) const;

  // "2026-03-14", "2026-W14", "2026-03", "2026 Q1", "FY2026 Q3", "2026", "FY2026".
  // `index` as for PeriodStart.
  std::string Label(int64_t index) const;

  // The periods holding the earliest and latest non-null int64 instants.
  int64_t min_index() const { return PeriodIndex(std::numeric_limits<int64_t>::min() + 1); }
  int64_t max_index() const { return PeriodIndex(std::numeric_limits<int64_t>::max()); }

  // OutOfRange naming the first position whose index is outside
  // [min_index(), max_index()] (kNoPeriod included).
  absl::Status CheckIndices(std::span<const int64_t> indices) const;

  friend bool operator==(const Calendar&, const Calendar&) = default;

 private:
  constexpr Calendar(Grain grain, int fiscal_year_start_month)
      : grain_(grain), fiscal_year_start_month_(fiscal_year_start_month) {}

  Grain grain_ = Grain::kDay;
  int fiscal_year_start_month_ = 1;
};

}  // namespace salesperf

#endif  // SALESPERF_CALENDAR_H_
