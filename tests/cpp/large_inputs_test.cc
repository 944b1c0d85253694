// Large and extreme inputs: ids beyond 32 bits, times at the ends of int64, 100,000
// reps, 10,000 actions, dollar values at the limit of the fixed-point sums, and the
// guards against counts past 2^31 that can be reached without allocating 2^31 rows.
// Each case runs the whole pipeline (ingest, stages, indicators and their table,
// funnel, leaks) and checks exact figures derived by hand in the comments; under
// ASan+UBSan any overflow or out-of-bounds access fails the run.
//
// The audit of row counts and indices behind these tests is in docs/robustness.md.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <type_traits>
#include <utility>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/calendar.h"
#include "salesperf/event_log.h"
#include "salesperf/funnel.h"
#include "salesperf/indicators.h"
#include "salesperf/leaks.h"
#include "salesperf/stage_model.h"
#include "salesperf/state.h"
#include "salesperf/timelines.h"
#include "salesperf/vocabulary.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::BuildLog;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::MustRep;
using test_logs::RunModel;
using test_logs::TestVocabulary;

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

// Lead (created) -> Engaged (reply) -> Qualified (need) -> Proposal (proposal);
// Won on sign, Lost on decline; over TestVocabulary.
StageModel Ladder() {
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Qualified").Any({"need"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

// The value of (unit, period label, indicator) in a table; NaN when absent.
double Cell(const IndicatorTable& t, const std::string& unit, const std::string& period,
            const std::string& indicator) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.unit_names[static_cast<size_t>(t.unit[i])] == unit &&
        t.period_labels[static_cast<size_t>(t.period[i])] == period &&
        t.indicator_names[static_cast<size_t>(t.indicator[i])] == indicator) {
      return t.value[i];
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// Everything downstream of a log, each step's status kept.
struct Pipeline {
  Timelines timelines;
  absl::StatusOr<Indicators> indicators = absl::UnknownError("not run");
  absl::StatusOr<IndicatorTable> table = absl::UnknownError("not run");
  absl::StatusOr<FunnelCounts> funnel = absl::UnknownError("not run");
  absl::StatusOr<FunnelChain> chain = absl::UnknownError("not run");
  absl::StatusOr<LeakCounts> leaks = absl::UnknownError("not run");
  absl::StatusOr<LeakAssessment> assessment = absl::UnknownError("not run");
};

Pipeline RunAll(const EventLog& log, const StageModel& model, Calendar calendar = Calendar(Grain::kMonth),
                int threads = 1, bool with_table = true) {
  Pipeline p;
  auto machine = Compile(model, log);
  EXPECT_TRUE(machine.ok()) << machine.status();
  if (!machine.ok()) return p;
  RunOptions ro;
  ro.threads = threads;
  auto tl = RunStages(*machine, log, ro);
  EXPECT_TRUE(tl.ok()) << tl.status();
  if (!tl.ok()) return p;
  p.timelines = *std::move(tl);
  const Units units = MustRep(log);
  IndicatorOptions io;
  io.calendar = calendar;
  io.threads = threads;
  p.indicators = ComputeIndicators(*machine, log, p.timelines, units, io);
  if (p.indicators.ok() && with_table) p.table = MakeTable(*p.indicators);
  p.funnel = CountFunnel(log, p.timelines, units);
  if (p.funnel.ok()) p.chain = SolveFunnel(*p.funnel, -1);
  p.leaks = CountLeaks(log, p.timelines, units);
  if (p.leaks.ok()) p.assessment = AssessLeaks(*p.leaks);
  return p;
}

// ---------------------------------------------------------------- ids beyond 32 bits

// Integer deal and rep ids at the ends of int64 and around 2^31 and 2^32: each one
// its own deal, its value kept exactly in the dictionary (no truncation to 32 bits:
// 2^32 + 1 would collide with 1, 2^31 would turn negative), labels in full decimal.
TEST(LargeIds, Int64DealAndRepIdsKeepEveryBit) {
  const std::vector<int64_t> ids = {kI64Max, kI64Min, kI64Min + 1, int64_t{1} << 32, (int64_t{1} << 32) + 1,
                                    1, int64_t{1} << 31, -(int64_t{1} << 31) - 1, -1, 0};
  std::vector<int64_t> deal, time, action, rep;
  std::vector<std::string> actions = {"created", "call", "sign"};
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t a = 0; a < 3; ++a) {
      deal.push_back(ids[i]);
      time.push_back(kT0 + static_cast<int64_t>(i) * kDay + a);
      action.push_back(a);
      rep.push_back(ids[ids.size() - 1 - i]);  // reps: the same values, reversed
    }
  }
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Integers(rep);
  auto out = Ingest(in, TestVocabulary());
  ASSERT_TRUE(out.ok()) << out.status();
  const EventLog& log = out->log;
  ASSERT_EQ(log.num_deals(), 10);
  ASSERT_TRUE(log.deals().is_integer());
  EXPECT_EQ(log.deals().ints(), ids);  // numbered by first appearance
  EXPECT_EQ(log.deals().Label(0), "9223372036854775807");
  EXPECT_EQ(log.deals().Label(1), "-9223372036854775808");
  EXPECT_EQ(log.deals().Find(int64_t{1} << 32), 3);
  EXPECT_EQ(log.deals().Find(int64_t{1}), 5);
  EXPECT_EQ(log.deals().Find(std::string_view("4294967297")), 4);
  EXPECT_EQ(log.reps().size(), 10);

  // Through the pipeline: 10 deals, one per rep, every one won.
  Pipeline p = RunAll(log, Ladder());
  ASSERT_TRUE(p.leaks.ok()) << p.leaks.status();
  EXPECT_EQ(p.leaks->num_units(), 10);
  ASSERT_TRUE(p.table.ok()) << p.table.status();
  double won = 0;
  for (const std::string& u : p.table->unit_names) won += Cell(*p.table, u, "all", "won");
  EXPECT_EQ(won, 10);
  // Unit names are the reps' decimal labels, sorted as text.
  EXPECT_TRUE(std::is_sorted(p.leaks->unit_names().begin(), p.leaks->unit_names().end()));
  EXPECT_NE(std::find(p.leaks->unit_names().begin(), p.leaks->unit_names().end(), "-9223372036854775808"),
            p.leaks->unit_names().end());
}

// Long string ids (a 1 MiB deal id) survive ingestion and a state round trip.
TEST(LargeIds, LongStringIds) {
  const std::string big(1 << 20, 'x');
  std::vector<Ev> rows = {{big, kT0, "created", big + "rep"}, {big, kT0 + kDay, "sign", big + "rep"}};
  EventLog log = BuildLog(rows);
  ASSERT_EQ(log.num_deals(), 1);
  EXPECT_EQ(log.deals().Label(0), big);
  Pipeline p = RunAll(log, Ladder());
  ASSERT_TRUE(p.indicators.ok()) << p.indicators.status();
  auto back = Indicators::Deserialize(p.indicators->Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->unit_names()[0], big + "rep");
}

// ---------------------------------------------------------------- extreme times

// Times at the ends of int64 (INT64_MIN is the null time, so INT64_MIN + 1 is the
// earliest) accepted when min_time / max_time are opened wide, and the pipeline runs
// on them without overflow. Deal "a": created at INT64_MIN + 1, reply at 0, sign at
// INT64_MAX. Its time in Lead is 0 - (INT64_MIN + 1) = 2^63 - 1 ns, in Engaged
// INT64_MAX - 0 = 2^63 - 1 ns; its cycle time (2^64 - 2 ns) does not fit an int64:
// it must saturate or be refused, never wrap to a negative duration.
TEST(ExtremeTimes, Int64LimitsThroughThePipeline) {
  std::vector<std::string> deals = {"a", "b"}, actions = {"created", "reply", "sign", "call"}, reps = {"r"};
  std::vector<int64_t> deal = {0, 0, 0, 1, 1, 1};
  std::vector<int64_t> time = {kI64Min + 1, 0, kI64Max, -kDay, -1, kI64Max - 1};
  std::vector<int64_t> action = {0, 1, 2, 0, 3, 1};
  std::vector<int64_t> rep = {0, 0, 0, 0, 0, 0};
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  // Default limits (1970 .. 2200): the pre-1970 and far-future times are rejected.
  {
    auto out = Ingest(in, TestVocabulary());
    ASSERT_TRUE(out.ok()) << out.status();
    // Rejected: INT64_MIN+1, INT64_MAX, -kDay, -1, INT64_MAX-1; kept: time 0.
    EXPECT_EQ(out->report.rejected_for(RejectReason::kTimeOutOfRange), 5);
    EXPECT_EQ(out->report.rows_accepted, 1);
  }
  IngestOptions wide;
  wide.min_time = kI64Min + 1;
  wide.max_time = kI64Max;
  auto out = Ingest(in, TestVocabulary(), wide);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->report.rows_accepted, 6);
  const EventLog& log = out->log;
  for (const Grain g : {Grain::kDay, Grain::kWeek, Grain::kMonth, Grain::kYear}) {
    // The table lists every period of the 584 years: 213,500 days x 68 indicators
    // would be 14.5 million rows; days and weeks are checked without it.
    const bool with_table = g == Grain::kMonth || g == Grain::kYear;
    Pipeline p = RunAll(log, Ladder(), Calendar(g), 1, with_table);
    // Deal a is Won at INT64_MAX, deal b still in Engaged.
    ASSERT_EQ(p.timelines.outcome.size(), 2u);
    EXPECT_EQ(p.timelines.outcome[0], static_cast<uint8_t>(Outcome::kWon));
    EXPECT_EQ(p.timelines.outcome_time[0], kI64Max);
    EXPECT_EQ(p.timelines.current_stage[1], 1);
    // Each step either works or refuses cleanly (no crash, no UB under UBSan).
    for (const absl::Status& s : {p.indicators.status(), p.funnel.status(), p.leaks.status()}) {
      EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kInvalidArgument ||
                  s.code() == absl::StatusCode::kOutOfRange)
          << s;
    }
    ASSERT_TRUE(p.funnel.ok()) << p.funnel.status();
    // Dwell in Lead: deal a 2^63 - 1 ns, deal b (created at -1 day, reply at
    // INT64_MAX - 1) 2^63 - 2 + 86400e9 ns: the 128-bit sum holds both exactly.
    const Int128 lead_dwell = static_cast<Int128>(kI64Max) +
                              (static_cast<Int128>(kI64Max - 1) + static_cast<Int128>(kDay));
    EXPECT_TRUE(p.funnel->dwell_ns(0, 0) == lead_dwell);
    EXPECT_EQ(p.funnel->dwell_visits(0, 0), 2);
    ASSERT_TRUE(p.chain.ok()) << p.chain.status();
    EXPECT_GT(p.chain->mean_days_in_stage[0], 0);  // positive, not wrapped
    if (p.table.ok()) {
      for (size_t i = 0; i < p.table->size(); ++i) {
        const std::string& name = p.table->indicator_names[static_cast<size_t>(p.table->indicator[i])];
        if (name.starts_with("time_in_stage") || name.starts_with("cycle_time")) {
          EXPECT_FALSE(p.table->value[i] < 0) << name << " = " << p.table->value[i];
        }
      }
      EXPECT_EQ(Cell(*p.table, "r", "all", "won"), 1);
      EXPECT_EQ(Cell(*p.table, "r", "all", "occurrences:created"), 2);
    } else if (with_table) {
      ADD_FAILURE() << "table: " << p.table.status();
    }
  }
}

// Pre-1970 times (negative ns) with min_time lowered: months before the epoch get
// their own labels, and durations across the epoch are exact (1 day + 1 ns).
TEST(ExtremeTimes, BeforeTheEpoch) {
  std::vector<std::string> deals = {"a"}, actions = {"created", "reply"}, reps = {"r"};
  std::vector<int64_t> deal = {0, 0}, time = {-kDay - 1, 0}, action = {0, 1}, rep = {0, 0};
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  IngestOptions o;
  o.min_time = -Days(365LL * 200);  // year 1770
  auto out = Ingest(in, TestVocabulary(), o);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->report.rows_accepted, 2) << out->report.Summary();
  Pipeline p = RunAll(out->log, Ladder(), Calendar(Grain::kMonth));
  ASSERT_TRUE(p.table.ok()) << p.table.status();
  ASSERT_EQ(p.table->unit_names, std::vector<std::string>{"r"});
  ASSERT_EQ(p.table->period_labels, (std::vector<std::string>{"1969-12", "1970-01", "all"}));
  EXPECT_EQ(Cell(*p.table, "r", "1969-12", "occurrences:created"), 1);
  EXPECT_EQ(Cell(*p.table, "r", "1970-01", "occurrences:reply"), 1);
  ASSERT_TRUE(p.funnel.ok()) << p.funnel.status();
  ASSERT_EQ(p.funnel->num_units(), 1);
  EXPECT_TRUE(p.funnel->dwell_ns(0, 0) == static_cast<Int128>(kDay + 1));
}

// ---------------------------------------------------------------- dollars at the limit

// The fixed-point dollar sums: value x 10,000 (kDollarScale) rounded to an int64 and
// summed in 128 bits; a magnitude of 9e14 or more is refused (InvalidArgument naming
// the deal), never wrapped.
EventLog ValuedLog(const std::vector<double>& values, bool won) {
  std::vector<Ev> rows;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string d = "d" + std::to_string(i);
    rows.push_back({d, kT0, "created", "r", values[i]});
    if (won) rows.push_back({d, kT0 + kDay, "sign", "r"});
  }
  return BuildLog(rows);
}

TEST(Dollars, JustBelowTheLimitSumsExactlyPastInt64) {
  // 2,000 won deals of $899,999,999,999,936 (64 x 14,062,499,999,999: a multiple of
  // $64, so that value x 10,000 = 8,999,999,999,999,360,000 is a multiple of 1,024 and
  // exact in a double, and below 2^63 = 9,223,372,036,854,775,808). Their sum,
  // 17,999,999,999,998,720,000,000 in fixed point, is far past int64 and exact in
  // 128 bits: 1,799,999,999,999,872,000 dollars.
  const double v = 899'999'999'999'936.0;
  const int n = 2000;
  EventLog log = ValuedLog(std::vector<double>(n, v), true);
  Pipeline p = RunAll(log, Ladder());
  ASSERT_TRUE(p.indicators.ok()) << p.indicators.status();
  ASSERT_TRUE(p.table.ok()) << p.table.status();
  const Int128 each = static_cast<Int128>(8'999'999'999'999'360'000LL);
  const Int128 sum = each * n;
  EXPECT_TRUE(sum / 10'000 == static_cast<Int128>(1'799'999'999'999'872'000LL));
  EXPECT_EQ(Cell(*p.table, "r", "all", "won_dollars"), 1'799'999'999'999'872'000.0);
  EXPECT_EQ(Cell(*p.table, "r", "all", "won"), n);
  ASSERT_TRUE(p.leaks.ok()) << p.leaks.status();
  EXPECT_TRUE(p.leaks->value_fixed(0, Cohort::kCurrent) == sum);
}

// Values whose x 10,000 product is not a double (magnitude above 2^53 / 10^4, about
// $9e11): the fixed point is the double product rounded, within half its spacing
// (512 at 9e18, i.e. $0.0512) of the exact value x 10,000. The double
// 899,999,999,999,999.9 is exactly 899,999,999,999,999.875, x 10^4 =
// 8,999,999,999,999,998,750; the double product is 8,999,999,999,999,998,976.
TEST(Dollars, AboveTwoToThe53OverScaleTheProductIsRounded) {
  const double v = 899'999'999'999'999.9;
  EventLog log = ValuedLog({v}, false);
  Pipeline p = RunAll(log, Ladder());
  ASSERT_TRUE(p.leaks.ok()) << p.leaks.status();
  const Int128 got = p.leaks->value_fixed(0, Cohort::kCurrent);
  const Int128 exact = static_cast<Int128>(8'999'999'999'999'998'750LL);
  const Int128 diff = got > exact ? got - exact : exact - got;
  EXPECT_TRUE(diff <= 512) << static_cast<int64_t>(diff);
}

TEST(Dollars, AtTheLimitIsAnErrorNamingTheDeal) {
  for (const double bad : {9e14, -9e14, 1e300}) {
    // An open deal with the value: indicators, funnel (open dollars) and leaks refuse it.
    std::vector<Ev> rows = {{"ok", kT0, "created", "r", 1.0}, {"big", kT0, "created", "r", bad}};
    std::vector<std::string> deals, actions, reps;
    std::vector<int64_t> deal, time, action, rep;
    std::vector<double> amount;
    for (const Ev& e : rows) {
      deal.push_back(test_logs::CodeOf(deals, e.deal));
      time.push_back(e.time);
      action.push_back(test_logs::CodeOf(actions, e.action));
      rep.push_back(test_logs::CodeOf(reps, e.rep));
      amount.push_back(e.amount);
    }
    EventColumns in;
    in.deal = IdColumn::Coded(deal, deals);
    in.time = time;
    in.action = IdColumn::Coded(action, actions);
    in.rep = IdColumn::Coded(rep, reps);
    in.amount = amount;
    IngestOptions o;
    o.allow_negative_amount = true;
    auto out = Ingest(in, TestVocabulary(), o);
    ASSERT_TRUE(out.ok()) << out.status();
    Pipeline p = RunAll(out->log, Ladder());
    for (const absl::Status& s : {p.indicators.status(), p.funnel.status(), p.leaks.status()}) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad << ": " << s;
      EXPECT_NE(s.message().find("deal 'big'"), std::string_view::npos) << s;
      EXPECT_NE(s.message().find("9e14"), std::string_view::npos) << s;
    }
  }
}

// ---------------------------------------------------------------- many reps, many actions

// 100,000 reps, one deal each (created, call, and every third deal signed): 100,000
// units everywhere, no unit lost or merged.
TEST(Scale, HundredThousandReps) {
  constexpr int kReps = 100'000;
  std::vector<std::string> deals, reps, actions = {"created", "call", "sign"};
  std::vector<int64_t> deal, time, action, rep;
  for (int i = 0; i < kReps; ++i) {
    deals.push_back("d" + std::to_string(i));
    reps.push_back("rep" + std::to_string(i));
    const int events = i % 3 == 0 ? 3 : 2;
    for (int a = 0; a < events; ++a) {
      deal.push_back(i);
      time.push_back(kT0 + a * kDay);
      action.push_back(a);
      rep.push_back(i);
    }
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  auto out = Ingest(in, TestVocabulary());
  ASSERT_TRUE(out.ok()) << out.status();
  // (No table: 100,000 units x 68 indicators x 2 periods is 13.6 million rows.)
  Pipeline p = RunAll(out->log, Ladder(), Calendar(Grain::kYear), 2, false);
  ASSERT_TRUE(p.indicators.ok()) << p.indicators.status();
  EXPECT_EQ(p.indicators->unit_names().size(), static_cast<size_t>(kReps));
  ASSERT_TRUE(p.funnel.ok());
  EXPECT_EQ(p.funnel->num_units(), kReps);
  ASSERT_TRUE(p.leaks.ok());
  EXPECT_EQ(p.leaks->num_units(), kReps);
  // Won: deals 0, 3, 6, ... = ceil(100000 / 3) = 33,334; open in Lead: 66,666.
  ASSERT_TRUE(p.chain.ok());
  EXPECT_EQ(p.chain->open_deals[0], 66'666);
  int64_t won = 0;
  for (int32_t u = 0; u < p.leaks->num_units(); ++u) won += p.leaks->won(u, Cohort::kCurrent);
  EXPECT_EQ(won, 33'334);
  auto back = LeakCounts::Deserialize(p.leaks->Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == *p.leaks);
}

// A vocabulary of 10,000 actions (5,000 buyer, 5,000 seller), every one used: action
// i occurs (i % 7) + 1 times, in deal "d<i % 50>".
TEST(Scale, TenThousandActions) {
  constexpr int kActions = 10'000;
  Vocabulary vocab = TestVocabulary();
  std::vector<std::string> actions = {"created"};
  for (int i = 0; i < kActions; ++i) {
    actions.push_back("act" + std::to_string(i));
    ASSERT_TRUE(vocab.Add(actions.back(), i % 2 == 0 ? Actor::kBuyer : Actor::kSeller).ok());
  }
  std::vector<std::string> deals = {}, reps = {"r"};
  std::vector<int64_t> deal, time, action, rep;
  for (int d = 0; d < 50; ++d) {
    deals.push_back("d" + std::to_string(d));
    deal.push_back(d);
    time.push_back(kT0);
    action.push_back(0);
    rep.push_back(0);
  }
  int64_t total = 50;
  for (int i = 0; i < kActions; ++i) {
    for (int k = 0; k <= i % 7; ++k) {
      deal.push_back(i % 50);
      time.push_back(kT0 + 1 + k);
      action.push_back(i + 1);
      rep.push_back(0);
      ++total;
    }
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  auto out = Ingest(in, vocab);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->log.size(), total);
  EXPECT_EQ(out->log.actions().size(), kActions + 1);
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  Pipeline p = RunAll(out->log, m, Calendar(Grain::kYear));
  ASSERT_TRUE(p.indicators.ok()) << p.indicators.status();
  ASSERT_TRUE(p.table.ok()) << p.table.status();
  for (const int i : {0, 1, 6, 7, 4999, 9998, 9999}) {
    EXPECT_EQ(Cell(*p.table, "r", "all", "occurrences:act" + std::to_string(i)), i % 7 + 1) << i;
    EXPECT_EQ(Cell(*p.table, "r", "all", "deals:act" + std::to_string(i)), 1) << i;
  }
  // Buyer actions: even i; sum over even i < 10000 of (i % 7 + 1).
  int64_t buyer = 0, seller = 0;
  for (int i = 0; i < kActions; ++i) (i % 2 == 0 ? buyer : seller) += i % 7 + 1;
  EXPECT_EQ(Cell(*p.table, "r", "all", "buyer_actions"), static_cast<double>(buyer));
  EXPECT_EQ(Cell(*p.table, "r", "all", "seller_activities"), static_cast<double>(seller));
  auto back = Indicators::Deserialize(p.indicators->Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == *p.indicators);
}

// ---------------------------------------------------------------- counts past 2^31

// Hostile counts in a checksummed state (as a buggy or malicious writer could frame
// them) must not drive an allocation: a count of 2^32 - 1 units or 2^40 cells is
// refused as DataLoss before any vector is sized, in each kind of state.
TEST(CountGuards, HugeCountsInStatesAreRefusedWithoutAllocating) {
  // Funnel: u32 num_stages, num_open; names; str unit kind; u32 num_units = 2^32-1.
  {
    StateWriter w;
    w.U32(3);
    w.U32(1);
    for (auto s : {"Lead", "Won", "Lost"}) w.String(s);
    w.String("rep");
    w.U32(0xffffffffu);
    auto r = FunnelCounts::Deserialize(WrapState(std::string("SPFUN\0\0\1", 8), FunnelCounts::kFormatVersion, w.bytes()));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  // Leaks: stage names, cohorts, unit kind, num_units = 2^32-1.
  {
    StateWriter w;
    w.U32(3);
    w.U32(1);
    for (auto s : {"Lead", "Won", "Lost"}) w.String(s);
    for (int i = 0; i < 3; ++i) w.I64(kI64Min);
    w.String("rep");
    w.U32(0xffffffffu);
    auto r = LeakCounts::Deserialize(WrapState(std::string("SPLEAK\0\1", 8), LeakCounts::kFormatVersion, w.bytes()));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  // The reader's own guard: a u64 count of 2^40 items of 8 bytes in 16 bytes left.
  {
    StateWriter w;
    w.U64(uint64_t{1} << 40);
    w.U64(0);
    w.U64(0);
    StateReader r(w.bytes());
    uint64_t n = 0;
    absl::Status s = r.Count64(n, 8, "cells");
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("cells says 1099511627776 entries"), std::string_view::npos) << s;
  }
}

// Row positions, row counts and per-deal event offsets are int64 from the input loop
// to the report and the log (a narrowing here would wrap past 2^31 rows silently).
// Compile-time: the build breaks if any of them becomes narrower.
static_assert(std::is_same_v<decltype(RejectedRow::row), int64_t>);
static_assert(std::is_same_v<decltype(RejectedRow::duplicate_of), int64_t>);
static_assert(std::is_same_v<decltype(IngestReport::rows_in), int64_t>);
static_assert(std::is_same_v<decltype(IngestReport::rows_accepted), int64_t>);
static_assert(std::is_same_v<decltype(std::declval<const EventLog&>().row())::element_type, const int64_t>);
static_assert(std::is_same_v<decltype(std::declval<const EventLog&>().deal_offsets())::element_type, const int64_t>);

}  // namespace
}  // namespace salesperf
