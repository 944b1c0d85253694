#include "salesperf/calendar.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl_compat.h"
#include "salesperf/event_log.h"

namespace salesperf {

using calendar_internal::CivilFromDays;
using calendar_internal::DaysFromCivil;
using calendar_internal::FloorDiv;
using calendar_internal::FloorMod;
using calendar_internal::kNanosPerDay;
using internal::Sv;

namespace {

constexpr int64_t kMinInstant = std::numeric_limits<int64_t>::min() + 1;
constexpr int64_t kMaxInstant = std::numeric_limits<int64_t>::max();

// Days since the epoch to nanoseconds, clipped to [kMinInstant, kMaxInstant].
int64_t DaysToNanos(int64_t days) {
  int64_t ns = 0;
  if (__builtin_mul_overflow(days, kNanosPerDay, &ns)) return days < 0 ? kMinInstant : kMaxInstant;
  return std::max(ns, kMinInstant);
}

// Days since the epoch of the first day of a month counted since 1970-01.
int64_t DaysOfMonthIndex(int64_t month_index) {
  return DaysFromCivil(1970 + FloorDiv(month_index, 12), FloorMod(month_index, 12) + 1, 1);
}

constexpr std::string_view kSpecHelp =
    "expected day, week, month, quarter, year, fiscal_quarter:M, fiscal_year:M or "
    "fiscal_month:M with M the fiscal year's start month 1..12";

}  // namespace

std::string FormatInstant(int64_t utc_ns) {
  if (utc_ns == std::numeric_limits<int64_t>::min()) return "null";
  constexpr int64_t kSecond = 1'000'000'000;
  const int64_t seconds = calendar_internal::FloorDiv(utc_ns, kSecond);
  const int64_t nanos = calendar_internal::FloorMod(utc_ns, kSecond);  // [0, 1e9); seconds * 1e9 can overflow
  const int64_t days = calendar_internal::FloorDiv(seconds, 86400);
  const int64_t sod = seconds - days * 86400;
  const calendar_internal::CivilDate d = CivilFromDays(days);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day, sod / 3600,
                                    sod / 60 % 60, sod % 60);
  if (nanos != 0) absl::StrAppendFormat(&out, ".%09d", nanos);
  out += 'Z';
  return out;
}

std::string_view GrainName(Grain grain) {
  switch (grain) {
    case Grain::kDay: return "day";
    case Grain::kWeek: return "week";
    case Grain::kMonth: return "month";
    case Grain::kQuarter: return "quarter";
    case Grain::kYear: return "year";
  }
  return "day";
}

absl::StatusOr<Calendar> Calendar::Create(Grain grain, int fiscal_year_start_month) {
  if (fiscal_year_start_month < 1 || fiscal_year_start_month > 12) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fiscal year start month must be 1..12, not ", fiscal_year_start_month));
  }
  if (fiscal_year_start_month != 1 && (grain == Grain::kDay || grain == Grain::kWeek)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a fiscal year start month applies to month, quarter and year calendars, not ",
        Sv(GrainName(grain)), "s"));
  }
  return Calendar(grain, fiscal_year_start_month);
}

absl::StatusOr<Calendar> Calendar::Parse(std::string_view spec) {
  const std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(Sv(spec)));
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("calendar spec '", Sv(spec), "': ", Sv(why), "; ", Sv(kSpecHelp)));
  };
  for (Grain g : {Grain::kDay, Grain::kWeek, Grain::kMonth, Grain::kQuarter, Grain::kYear}) {
    if (text == GrainName(g)) return Calendar(g);
  }
  const size_t colon = text.find(':');
  const std::string_view head = std::string_view(text).substr(0, colon);
  Grain grain;
  if (head == "fiscal_month") {
    grain = Grain::kMonth;
  } else if (head == "fiscal_quarter") {
    grain = Grain::kQuarter;
  } else if (head == "fiscal_year") {
    grain = Grain::kYear;
  } else {
    return bad("unknown calendar");
  }
  if (colon == std::string::npos) return bad("the fiscal year's start month is missing");
  int month = 0;
  const std::string_view digits = std::string_view(text).substr(colon + 1);
  if (!absl::SimpleAtoi(Sv(digits), &month) || month < 1 || month > 12) {
    return bad(absl::StrCat("start month '", Sv(digits), "' is not a month 1..12"));
  }
  return Calendar(grain, month);
}

std::string Calendar::Spec() const {
  if (fiscal_year_start_month_ == 1) return std::string(GrainName(grain_));
  return absl::StrCat("fiscal_", Sv(GrainName(grain_)), ":", fiscal_year_start_month_);
}

absl::StatusOr<int64_t> Calendar::PeriodIndexChecked(int64_t utc_ns) const {
  if (utc_ns == kNullInstant) {
    return absl::InvalidArgumentError("a null time (NaT) has no calendar period");
  }
  return PeriodIndex(utc_ns);
}

absl::Status Calendar::PeriodIndices(std::span<const int64_t> utc_ns, std::span<int64_t> out) const {
  if (utc_ns.size() != out.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "period indices: ", utc_ns.size(), " times but room for ", out.size(), " indices"));
  }
  // One loop per grain, so that the grain's branch is taken once, not once per time.
  auto fill = [&](auto index_of) {
    for (size_t i = 0; i < utc_ns.size(); ++i) {
      out[i] = utc_ns[i] == kNullInstant ? kNoPeriod : index_of(utc_ns[i]);
    }
  };
  switch (grain_) {
    case Grain::kDay:
      fill([](int64_t t) { return FloorDiv(t, kNanosPerDay); });
      break;
    case Grain::kWeek:
      fill([](int64_t t) { return FloorDiv(FloorDiv(t, kNanosPerDay) + 3, 7); });
      break;
    default:
      fill([this](int64_t t) { return PeriodIndex(t); });
      break;
  }
  return absl::OkStatus();
}

int64_t Calendar::PeriodStart(int64_t index) const {
  // Clamping keeps the arithmetic below far from int64 overflow for any index.
  index = std::clamp(index, min_index(), max_index() + 1);
  const int64_t shift = fiscal_year_start_month_ - 1;
  switch (grain_) {
    case Grain::kDay: return DaysToNanos(index);
    case Grain::kWeek: return DaysToNanos(index * 7 - 3);
    case Grain::kMonth: return DaysToNanos(DaysOfMonthIndex(index));
    case Grain::kQuarter: return DaysToNanos(DaysOfMonthIndex(index * 3 + shift));
    case Grain::kYear: return DaysToNanos(DaysOfMonthIndex(index * 12 + shift));
  }
  return kMinInstant;
}

int64_t Calendar::PeriodEnd(int64_t index) const {
  index = std::clamp(index, min_index(), max_index());
  return PeriodStart(index + 1);
}

std::string Calendar::Label(int64_t index) const {
  index = std::clamp(index, min_index(), max_index());
  // A fiscal year is named by the calendar year in which it ends.
  const int64_t fy_offset = fiscal_year_start_month_ == 1 ? 0 : 1;
  const char* fy_prefix = fiscal_year_start_month_ == 1 ? "" : "FY";
  switch (grain_) {
    case Grain::kDay: {
      const auto d = CivilFromDays(index);
      return absl::StrFormat("%04d-%02d-%02d", d.year, d.month, d.day);
    }
    case Grain::kWeek: {
      // The ISO week-year is the year of the week's Thursday.
      const int64_t thursday = index * 7;
      const int64_t year = CivilFromDays(thursday).year;
      const int64_t week = (thursday - DaysFromCivil(year, 1, 1)) / 7 + 1;
      return absl::StrFormat("%04d-W%02d", year, week);
    }
    case Grain::kMonth:
      return absl::StrFormat("%04d-%02d", 1970 + FloorDiv(index, 12), FloorMod(index, 12) + 1);
    case Grain::kQuarter:
      return absl::StrFormat("%s%04d Q%d", fy_prefix, 1970 + FloorDiv(index, 4) + fy_offset,
                             FloorMod(index, 4) + 1);
    case Grain::kYear:
      return absl::StrFormat("%s%04d", fy_prefix, 1970 + index + fy_offset);
  }
  return "";
}

absl::Status Calendar::CheckIndices(std::span<const int64_t> indices) const {
  const int64_t lo = min_index();
  const int64_t hi = max_index();
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < lo || indices[i] > hi) {
      return absl::OutOfRangeError(absl::StrCat(
          Sv(Spec()), " period index ", indices[i], " at position ", i, " is outside ", lo, "..",
          hi, " (the periods of int64 nanosecond times, 1677..2262)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace salesperf
