#include "salesperf/calendar.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "salesperf/event_log.h"

namespace salesperf {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDayNs = 86'400 * kSecond;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min() + 1;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Seconds since the epoch of a few dates, from Python's datetime (not from this code).
constexpr int64_t k2021_01_01 = 1609459200;
constexpr int64_t k2021_01_04 = 1609718400;
constexpr int64_t k2020_12_31 = 1609372800;
constexpr int64_t k2027_01_01 = 1798761600;
constexpr int64_t k2026_12_28 = 1798416000;
constexpr int64_t k2000_02_29 = 951782400;
constexpr int64_t k2000_03_01 = 951868800;
constexpr int64_t k1900_02_28 = -2203977600;
constexpr int64_t k1900_03_01 = -2203891200;
constexpr int64_t k2025_07_01 = 1751328000;
constexpr int64_t k2026_06_30 = 1782777600;
constexpr int64_t k2026_03_30 = 1774828800;
constexpr int64_t k1960_01_01 = -315619200;

Calendar Cal(std::string_view spec) {
  absl::StatusOr<Calendar> c = Calendar::Parse(spec);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Calendar();
}

std::string LabelAt(const Calendar& c, int64_t ns) { return c.Label(c.PeriodIndex(ns)); }

TEST(Calendar, TheHeaderExample) {
  salesperf::Calendar weeks(salesperf::Grain::kWeek);
  int64_t t = 1'609'459'200'000'000'000;
  int64_t w = weeks.PeriodIndex(t);
  EXPECT_EQ(weeks.Label(w), "2020-W53");
  EXPECT_EQ(weeks.Label(w + 1), "2021-W01");
  EXPECT_EQ(weeks.PeriodStart(w + 1), k2021_01_04 * kSecond);
  absl::StatusOr<salesperf::Calendar> fq = salesperf::Calendar::Parse("fiscal_quarter:7");
  ASSERT_TRUE(fq.ok());
  int64_t q = fq->PeriodIndex(t);
  EXPECT_EQ(fq->Label(q), "FY2021 Q3");
  EXPECT_EQ(fq->Label(q - 1), "FY2021 Q2");
  EXPECT_EQ(fq->Spec(), "fiscal_quarter:7");
}

TEST(Calendar, Days) {
  Calendar c(Grain::kDay);
  EXPECT_EQ(c.PeriodIndex(0), 0);
  EXPECT_EQ(c.PeriodIndex(kDayNs - 1), 0);
  EXPECT_EQ(c.PeriodIndex(kDayNs), 1);
  EXPECT_EQ(c.PeriodIndex(-1), -1);
  EXPECT_EQ(c.Label(0), "1970-01-01");
  EXPECT_EQ(c.Label(-1), "1969-12-31");
  EXPECT_EQ(LabelAt(c, k2000_02_29 * kSecond), "2000-02-29");
  EXPECT_EQ(LabelAt(c, k2000_02_29 * kSecond + kDayNs), "2000-03-01");
  EXPECT_EQ(LabelAt(c, k1900_02_28 * kSecond + kDayNs), "1900-03-01");  // 1900: no leap day
  EXPECT_EQ(c.PeriodStart(c.PeriodIndex(k1900_03_01 * kSecond + 5)), k1900_03_01 * kSecond);
  EXPECT_EQ(c.Label(c.min_index()), "1677-09-21");
  EXPECT_EQ(c.Label(c.max_index()), "2262-04-11");
}

TEST(Calendar, IsoWeeks) {
  Calendar c(Grain::kWeek);
  EXPECT_EQ(c.Label(0), "1970-W01");
  EXPECT_EQ(c.PeriodStart(0), -3 * kDayNs);  // Monday 1969-12-29
  EXPECT_EQ(c.PeriodIndex(-1), 0);           // Wednesday 1969-12-31
  const int64_t w = c.PeriodIndex(k2021_01_04 * kSecond);
  EXPECT_EQ(c.Label(w), "2021-W01");
  EXPECT_EQ(c.PeriodStart(w), k2021_01_04 * kSecond);
  EXPECT_EQ(LabelAt(c, k2021_01_04 * kSecond - 1), "2020-W53");
  EXPECT_EQ(LabelAt(c, k2020_12_31 * kSecond), "2020-W53");
  EXPECT_EQ(LabelAt(c, k2021_01_01 * kSecond), "2020-W53");
  EXPECT_EQ(LabelAt(c, k2027_01_01 * kSecond), "2026-W53");
  EXPECT_EQ(c.PeriodStart(c.PeriodIndex(k2027_01_01 * kSecond)), k2026_12_28 * kSecond);
  EXPECT_EQ(LabelAt(c, k2026_03_30 * kSecond), "2026-W14");
  EXPECT_EQ(LabelAt(c, k2026_03_30 * kSecond - 1), "2026-W13");
  EXPECT_EQ(LabelAt(c, k1960_01_01 * kSecond), "1959-W53");
  EXPECT_EQ(c.PeriodEnd(w) - c.PeriodStart(w), 7 * kDayNs);
}

TEST(Calendar, Months) {
  Calendar c(Grain::kMonth);
  EXPECT_EQ(c.PeriodIndex(0), 0);
  EXPECT_EQ(c.PeriodIndex(-1), -1);
  EXPECT_EQ(c.Label(-1), "1969-12");
  EXPECT_EQ(c.Label(-12), "1969-01");
  EXPECT_EQ(c.Label(-13), "1968-12");
  EXPECT_EQ(LabelAt(c, k2000_02_29 * kSecond), "2000-02");
  EXPECT_EQ(c.PeriodEnd(c.PeriodIndex(k2000_02_29 * kSecond)), k2000_03_01 * kSecond);
  EXPECT_EQ(c.PeriodEnd(c.PeriodIndex(k1900_02_28 * kSecond)), k1900_03_01 * kSecond);
  EXPECT_EQ(LabelAt(c, k2021_01_01 * kSecond - 1), "2020-12");
  EXPECT_EQ(c.PeriodIndex(k2021_01_01 * kSecond), (2021 - 1970) * 12);
  // Months are months whatever the fiscal start month.
  Calendar f = Cal("fiscal_month:7");
  EXPECT_EQ(f.PeriodIndex(k2025_07_01 * kSecond), c.PeriodIndex(k2025_07_01 * kSecond));
  EXPECT_EQ(f.Label(7), "1970-08");
}

TEST(Calendar, CalendarQuartersAndYears) {
  Calendar q(Grain::kQuarter);
  Calendar y(Grain::kYear);
  EXPECT_EQ(q.Label(0), "1970 Q1");
  EXPECT_EQ(q.Label(-1), "1969 Q4");
  EXPECT_EQ(LabelAt(q, k2026_03_30 * kSecond), "2026 Q1");
  EXPECT_EQ(LabelAt(q, k2025_07_01 * kSecond), "2025 Q3");
  EXPECT_EQ(LabelAt(q, k2025_07_01 * kSecond - 1), "2025 Q2");
  EXPECT_EQ(y.Label(0), "1970");
  EXPECT_EQ(LabelAt(y, -1), "1969");
  EXPECT_EQ(LabelAt(y, k2021_01_01 * kSecond), "2021");
  EXPECT_EQ(y.PeriodStart(y.PeriodIndex(k2020_12_31 * kSecond)), (k2021_01_01 * kSecond) - 366 * kDayNs);
}

TEST(Calendar, FiscalYearIsNamedByTheYearItEnds) {
  Calendar q = Cal("fiscal_quarter:7");
  Calendar y = Cal("fiscal_year:7");
  const int64_t start = k2025_07_01 * kSecond;
  const int64_t last_day = k2026_06_30 * kSecond;
  EXPECT_EQ(LabelAt(y, start), "FY2026");
  EXPECT_EQ(LabelAt(y, last_day + kDayNs - 1), "FY2026");
  EXPECT_EQ(LabelAt(y, last_day + kDayNs), "FY2027");
  EXPECT_EQ(LabelAt(y, start - 1), "FY2025");
  EXPECT_EQ(y.PeriodStart(y.PeriodIndex(last_day)), start);
  EXPECT_EQ(y.PeriodEnd(y.PeriodIndex(start)), last_day + kDayNs);
  EXPECT_EQ(LabelAt(q, start), "FY2026 Q1");               // July..September
  EXPECT_EQ(LabelAt(q, start - 1), "FY2025 Q4");           // June 2025
  EXPECT_EQ(LabelAt(q, k2021_01_01 * kSecond), "FY2021 Q3");  // January..March
  EXPECT_EQ(LabelAt(q, k2021_01_01 * kSecond - 1), "FY2021 Q2");
  EXPECT_EQ(LabelAt(q, k2026_03_30 * kSecond), "FY2026 Q3");
  EXPECT_EQ(LabelAt(q, last_day), "FY2026 Q4");
  EXPECT_EQ(q.PeriodStart(q.PeriodIndex(k2026_03_30 * kSecond)), k2026_03_30 * kSecond - 88 * kDayNs);
  // Before 1970: December 1969 is in FY1970 (July 1969 .. June 1970), quarter 2.
  EXPECT_EQ(LabelAt(q, -1), "FY1970 Q2");
  EXPECT_EQ(LabelAt(y, -1), "FY1970");
  // Start month 4 (April): 2026-03-30 is in FY2026 Q4; 2025-07-01 in FY2026 Q2.
  Calendar q4 = Cal("fiscal_quarter:4");
  EXPECT_EQ(LabelAt(q4, k2026_03_30 * kSecond), "FY2026 Q4");
  EXPECT_EQ(LabelAt(q4, k2025_07_01 * kSecond), "FY2026 Q2");
  // Start month 12: December 2020 opens FY2021.
  Calendar y12 = Cal("fiscal_year:12");
  EXPECT_EQ(LabelAt(y12, k2020_12_31 * kSecond), "FY2021");
  EXPECT_EQ(LabelAt(y12, k2020_12_31 * kSecond - 31 * kDayNs), "FY2020");
}

TEST(Calendar, NullTimesAndBulkIndices) {
  Calendar c(Grain::kMonth);
  EXPECT_EQ(c.PeriodIndexChecked(kNullInstant).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*c.PeriodIndexChecked(0), 0);
  std::vector<int64_t> times = {0, kNullInstant, -1, k2021_01_01 * kSecond};
  for (const char* spec : {"day", "week", "month", "quarter", "fiscal_year:4"}) {
    Calendar cal = Cal(spec);
    std::vector<int64_t> out(times.size());
    ASSERT_TRUE(cal.PeriodIndices(times, out).ok());
    EXPECT_EQ(out[0], cal.PeriodIndex(0)) << spec;
    EXPECT_EQ(out[1], kNoPeriod) << spec;
    EXPECT_EQ(out[2], cal.PeriodIndex(-1)) << spec;
    EXPECT_EQ(out[3], cal.PeriodIndex(times[3])) << spec;
  }
  std::vector<int64_t> small(2);
  EXPECT_EQ(c.PeriodIndices(times, small).code(), absl::StatusCode::kInvalidArgument);
  std::vector<int64_t> ok = {c.min_index(), 0, c.max_index()};
  EXPECT_TRUE(c.CheckIndices(ok).ok());
  std::vector<int64_t> bad = {0, c.max_index() + 1};
  absl::Status s = c.CheckIndices(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("position 1"), std::string::npos) << s;
}

// A slow, obviously correct calendar: step day by day from 1970-01-01.
struct RefDate {
  int64_t year, month, day;
};
bool Leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int64_t MonthLength(int64_t y, int64_t m) {
  static constexpr int64_t kLen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && Leap(y) ? 29 : kLen[m - 1];
}

class Reference {
 public:
  Reference() {
    // Days -106752 (1677-09-21) .. 106751 (2262-04-11).
    RefDate d{1970, 1, 1};
    forward_.push_back(d);
    for (int64_t i = 1; i <= kLast; ++i) {
      if (++d.day > MonthLength(d.year, d.month)) {
        d.day = 1;
        if (++d.month > 12) { d.month = 1; ++d.year; }
      }
      forward_.push_back(d);
    }
    d = {1970, 1, 1};
    backward_.push_back(d);
    for (int64_t i = 1; i <= -kFirst; ++i) {
      if (--d.day < 1) {
        if (--d.month < 1) { d.month = 12; --d.year; }
        d.day = MonthLength(d.year, d.month);
      }
      backward_.push_back(d);
    }
  }
  RefDate At(int64_t day) const {
    return day >= 0 ? forward_[static_cast<size_t>(day)] : backward_[static_cast<size_t>(-day)];
  }
  static constexpr int64_t kFirst = -106752;
  static constexpr int64_t kLast = 106751;

  // ISO week by the textbook rule: week = (ordinal - weekday + 10) / 7, moved into the
  // neighbouring year when it is 0 or past the year's last week.
  std::string IsoWeek(int64_t day) const {
    const RefDate d = At(day);
    const int64_t weekday = ((day + 3) % 7 + 7) % 7 + 1;  // 1970-01-01 was a Thursday (4)
    int64_t ordinal = d.day;
    for (int64_t m = 1; m < d.month; ++m) ordinal += MonthLength(d.year, m);
    int64_t year = d.year;
    int64_t week = (ordinal - weekday + 10) / 7;
    auto weeks_in = [](int64_t y) {
      // A year has 53 weeks when it starts on a Thursday, or is leap and starts on a Wednesday.
      const int64_t jan1_weekday = [&] {
        int64_t days = 0;  // days from 1970-01-01 to y-01-01
        for (int64_t k = 1970; k < y; ++k) days += Leap(k) ? 366 : 365;
        for (int64_t k = y; k < 1970; ++k) days -= Leap(k) ? 366 : 365;
        return ((days + 3) % 7 + 7) % 7 + 1;
      }();
      return (jan1_weekday == 4 || (Leap(y) && jan1_weekday == 3)) ? 53 : 52;
    };
    if (week < 1) {
      --year;
      week = weeks_in(year);
    } else if (week > weeks_in(year)) {
      ++year;
      week = 1;
    }
    return absl::StrFormat("%04d-W%02d", year, week);
  }

 private:
  std::vector<RefDate> forward_, backward_;
};

const Reference& Ref() {
  static const Reference* r = new Reference();
  return *r;
}

TEST(Calendar, AgreesWithADayByDayReference) {
  std::mt19937_64 rng(20260322);
  std::uniform_int_distribution<int64_t> any_time(kMin, kMax);
  const Calendar day(Grain::kDay), week(Grain::kWeek), month(Grain::kMonth);
  const Calendar quarter(Grain::kQuarter), year(Grain::kYear);
  const Calendar fq7 = Cal("fiscal_quarter:7"), fy4 = Cal("fiscal_year:4");
  for (int i = 0; i < 3000; ++i) {
    const int64_t t = any_time(rng);
    const int64_t days = day.PeriodIndex(t);
    ASSERT_GE(days, Reference::kFirst);
    ASSERT_LE(days, Reference::kLast);
    const RefDate d = Ref().At(days);
    SCOPED_TRACE(absl::StrFormat("t=%d %04d-%02d-%02d", t, d.year, d.month, d.day));
    EXPECT_EQ(day.Label(days), absl::StrFormat("%04d-%02d-%02d", d.year, d.month, d.day));
    EXPECT_EQ(month.Label(month.PeriodIndex(t)), absl::StrFormat("%04d-%02d", d.year, d.month));
    EXPECT_EQ(quarter.Label(quarter.PeriodIndex(t)),
              absl::StrFormat("%04d Q%d", d.year, (d.month - 1) / 3 + 1));
    EXPECT_EQ(year.Label(year.PeriodIndex(t)), absl::StrFormat("%04d", d.year));
    EXPECT_EQ(week.Label(week.PeriodIndex(t)), Ref().IsoWeek(days));
    const int64_t fy7 = d.month >= 7 ? d.year + 1 : d.year;
    const int64_t fq = ((d.month - 7 + 12) % 12) / 3 + 1;
    EXPECT_EQ(fq7.Label(fq7.PeriodIndex(t)), absl::StrFormat("FY%04d Q%d", fy7, fq));
    EXPECT_EQ(fy4.Label(fy4.PeriodIndex(t)), absl::StrFormat("FY%04d", d.month >= 4 ? d.year + 1 : d.year));
  }
  // Every day of the int64 range, for the month arithmetic every coarser grain uses.
  for (int64_t days = Reference::kFirst + 1; days <= Reference::kLast; ++days) {
    const RefDate d = Ref().At(days);
    ASSERT_EQ(month.PeriodIndex(days * kDayNs + kDayNs / 2), (d.year - 1970) * 12 + d.month - 1)
        << days;
  }
  // Every day around 1970, for the ISO week label (the hardest part).
  for (int64_t days = -800; days < 800; ++days) {
    EXPECT_EQ(week.Label(week.PeriodIndex(days * kDayNs)), Ref().IsoWeek(days)) << days;
  }
}

TEST(Calendar, PeriodsTileTheTimeLine) {
  std::mt19937_64 rng(7);
  for (const char* spec : {"day", "week", "month", "quarter", "year", "fiscal_month:11",
                           "fiscal_quarter:7", "fiscal_quarter:12", "fiscal_year:4",
                           "fiscal_year:2"}) {
    SCOPED_TRACE(spec);
    const Calendar c = Cal(spec);
    const int64_t lo = c.min_index(), hi = c.max_index();
    std::uniform_int_distribution<int64_t> pick(lo + 1, hi - 1);
    for (int i = 0; i < 3000; ++i) {
      const int64_t k = i < 2 ? (i == 0 ? lo + 1 : hi - 1) : pick(rng);
      const int64_t start = c.PeriodStart(k), end = c.PeriodEnd(k);
      ASSERT_LT(start, end) << k;
      ASSERT_EQ(c.PeriodIndex(start), k);
      ASSERT_EQ(c.PeriodIndex(end - 1), k);
      ASSERT_EQ(c.PeriodIndex(end), k + 1);
      ASSERT_EQ(c.PeriodIndex(start - 1), k - 1);
      ASSERT_EQ(c.PeriodStart(k + 1), end);
      ASSERT_LT(c.Label(k), c.Label(k + 1));  // labels sort in time order
    }
    // The clipped ends of the int64 range.
    EXPECT_EQ(c.PeriodStart(lo), kMin);
    EXPECT_EQ(c.PeriodIndex(c.PeriodEnd(lo)), lo + 1);
    EXPECT_EQ(c.PeriodEnd(hi), kMax);
  }
}

TEST(Calendar, ParseAndSpecRoundTrip) {
  for (const char* spec : {"day", "week", "month", "quarter", "year", "fiscal_month:3",
                           "fiscal_quarter:7", "fiscal_quarter:12", "fiscal_year:4"}) {
    absl::StatusOr<Calendar> c = Calendar::Parse(spec);
    ASSERT_TRUE(c.ok()) << spec << ": " << c.status();
    EXPECT_EQ(c->Spec(), spec);
    EXPECT_EQ(*Calendar::Parse(c->Spec()), *c);
  }
  EXPECT_EQ(Cal(" Fiscal_Quarter:7 "), Cal("fiscal_quarter:7"));
  EXPECT_EQ(Cal("fiscal_quarter:1"), Calendar(Grain::kQuarter));
  EXPECT_EQ(Cal("fiscal_quarter:1").Spec(), "quarter");
  EXPECT_EQ(Cal("WEEK").grain(), Grain::kWeek);
  EXPECT_NE(Cal("fiscal_quarter:7"), Cal("fiscal_year:7"));
  EXPECT_NE(Cal("fiscal_quarter:7"), Cal("fiscal_quarter:6"));
  EXPECT_TRUE(Cal("fiscal_year:4").fiscal());
  EXPECT_EQ(Cal("fiscal_year:4").fiscal_year_start_month(), 4);
  EXPECT_EQ(Calendar(), Calendar(Grain::kDay));

  absl::StatusOr<Calendar> made = Calendar::Create(Grain::kQuarter, 7);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(*made, Cal("fiscal_quarter:7"));
  EXPECT_EQ(Calendar::Create(Grain::kQuarter, 13).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Calendar::Create(Grain::kYear, 0).status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status week = Calendar::Create(Grain::kWeek, 4).status();
  EXPECT_EQ(week.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(week.message().find("weeks"), std::string::npos) << week;
}

TEST(Calendar, ParseErrorsNameTheSpec) {
  for (const char* spec : {"", "days", "fortnight", "fiscal_quarter", "fiscal_quarter:",
                           "fiscal_quarter:0", "fiscal_quarter:13", "fiscal_year:x",
                           "fiscal_year:4.5", "week:3", "fiscal_week:3", "quarter:7"}) {
    absl::StatusOr<Calendar> c = Calendar::Parse(spec);
    ASSERT_FALSE(c.ok()) << spec;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(absl::StrFormat("calendar spec '%s'", spec)),
              std::string::npos)
        << c.status();
  }
  absl::Status s = Calendar::Parse("fiscal_year:13").status();
  EXPECT_NE(s.message().find("'13' is not a month 1..12"), std::string::npos) << s;
  s = Calendar::Parse("fiscal_year").status();
  EXPECT_NE(s.message().find("start month is missing"), std::string::npos) << s;
}

}  // namespace
}  // namespace salesperf

// Messages show instants as ISO 8601 UTC. Expected texts are pandas'
// Timestamp(ns).isoformat() with a Z (checked by hand: 2026-01-01 is day 20,454;
// 2024-02-29 is day 19,782; int64's ends are pandas' Timestamp.max and .min).
namespace salesperf {
namespace {
TEST(FormatInstant, IsIso8601UtcWithTheFractionWhenThereIsOne) {
  constexpr int64_t kS = 1'000'000'000;
  EXPECT_EQ(FormatInstant(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatInstant(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatInstant(20454 * 86400 * kS + (9 * 3600 + 30 * 60) * kS + 123),
            "2026-01-01T09:30:00.000000123Z");
  EXPECT_EQ(FormatInstant(19782 * 86400 * kS), "2024-02-29T00:00:00Z");
  EXPECT_EQ(FormatInstant(std::numeric_limits<int64_t>::max()), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatInstant(std::numeric_limits<int64_t>::min() + 1), "1677-09-21T00:12:43.145224193Z");
  EXPECT_EQ(FormatInstant(std::numeric_limits<int64_t>::min()), "null");
}
}  // namespace
}  // namespace salesperf
