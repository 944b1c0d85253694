// MakeTable, MakeTrends and FindDealWarnings on hand-sized logs and tables whose answers
// are derived by hand in the comments (Wilson bounds, Kaplan–Meier medians, p values
// from their formulas), plus an independent count of open deals from the timelines.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/calendar.h"
#include "salesperf/indicators.h"
#include "salesperf/stage_model.h"
#include "salesperf/state.h"
#include "salesperf/synth.h"
#include "salesperf/timelines.h"
#include "raw_indicators.h"
#include "test_logs.h"

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kDay = Days(1);
constexpr int64_t kT0 = 20454LL * kDay;  // 2026-01-01T00:00:00Z
constexpr double kZ95 = 1.959963984540054;  // Φ⁻¹(0.975)

struct Row {
  std::string deal;
  int64_t day;  // days after kT0
  std::string action;
  std::string contact = "";
  std::string role = "";
  double amount = 100;  // NaN: no amount
};

// Builds an EventLog from rows (as timelines_test.cc does); buyer actions unless
// listed as seller. Without `contacts`, the log has no contact or role column.
class TinyLog {
 public:
  explicit TinyLog(std::vector<Row> rows, bool contacts = true) : rows_(std::move(rows)) {
    for (auto a : {"reply", "state_need", "sign", "decline", "spam"}) (void)vocab_.Add(a, Actor::kBuyer);
    for (auto a : {"call", "email"}) (void)vocab_.Add(a, Actor::kSeller);
    for (const Row& r : rows_) {
      deal_.push_back(Code(deals_, r.deal));
      time_.push_back(kT0 + r.day * kDay);
      action_.push_back(Code(actions_, r.action));
      contact_.push_back(r.contact.empty() ? -1 : Code(contacts_, r.contact));
      role_.push_back(r.role.empty() ? -1 : Code(roles_, r.role));
      amount_.push_back(r.amount);
    }
    EventColumns in;
    in.deal = IdColumn::Coded(deal_, deals_);
    in.time = time_;
    in.action = IdColumn::Coded(action_, actions_);
    if (contacts) {
      in.contact = IdColumn::Coded(contact_, contacts_);
      in.contact_role = IdColumn::Coded(role_, roles_);
    }
    in.amount = amount_;
    IngestOptions options;
    options.nan_amount = NanAmount::kNull;
    options.strict = true;
    auto out = Ingest(in, vocab_, options);
    EXPECT_TRUE(out.ok()) << out.status();
    if (out.ok()) log_ = std::move(out->log);
  }
  const EventLog& log() const { return log_; }
  int32_t deal(const std::string& name) const { return *log_.deals().Find(name); }

 private:
  static int64_t Code(std::vector<std::string>& labels, const std::string& v) {
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == v) return static_cast<int64_t>(i);
    }
    labels.push_back(v);
    return static_cast<int64_t>(labels.size() - 1);
  }
  std::vector<Row> rows_;
  Vocabulary vocab_;
  std::vector<std::string> deals_, actions_, contacts_, roles_;
  std::vector<int64_t> deal_, time_, action_, contact_, role_;
  std::vector<double> amount_;
  EventLog log_;
};

// Engaged (reply), Qualified (state_need), Won (sign), Lost (decline).
StageModel TwoStages() {
  StageModel m;
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Qualified").Any({"state_need"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

// Wilson bounds straight from the formula:
// (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
std::pair<double, double> WilsonByHand(double x, double n) {
  const double p = x / n;
  const double z = kZ95;
  const double centre = p + z * z / (2 * n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  const double denom = 1 + z * z / n;
  return {(centre - half) / denom, (centre + half) / denom};
}

// ---------------------------------------------------------------------------------
// MakeTable on a hand-built log.
//
// Month periods; as_of = day 80 (2026-03-22). Deal values: a 1000, b 500, c 2000,
// d 300, e none, f 100. Units: east = {a, b, c}, west = {d, e}, north = {f}.
//   a: call d1, reply d2 (answers the call a day later), state_need d10, sign d40.
//   b: call d3, call d20 (never answered within 7 days: next reply d35), reply d35,
//      decline d45.
//   c: reply d62, call d63 (answered by state_need d70: exactly 7 days, within),
//      state_need d70; open at as_of.
//   d: reply d5, sign d12.                     e: reply d62, decline d75 (no value).
//   f: reply d40; open at as_of.
// Jan = days 0..30, Feb = 31..58, Mar = 59..89.
// ---------------------------------------------------------------------------------
class TableTest : public ::testing::Test {
 protected:
  TableTest()
      : log_({{"a", 1, "call", "", "", 1000},      {"a", 2, "reply", "", "", 1000},
              {"a", 10, "state_need", "", "", 1000}, {"a", 40, "sign", "", "", 1000},
              {"b", 3, "call", "", "", 500},       {"b", 20, "call", "", "", 500},
              {"b", 35, "reply", "", "", 500},     {"b", 45, "decline", "", "", 500},
              {"c", 62, "reply", "", "", 2000},    {"c", 63, "call", "", "", 2000},
              {"c", 70, "state_need", "", "", 2000}, {"d", 5, "reply", "", "", 300},
              {"d", 12, "sign", "", "", 300},      {"e", 62, "reply", "", "", kNaN},
              {"e", 75, "decline", "", "", kNaN},  {"f", 40, "reply"}}) {}

  void SetUp() override {
    auto machine = Compile(TwoStages(), log_.log());
    ASSERT_TRUE(machine.ok()) << machine.status();
    machine_ = *std::move(machine);
    RunOptions run;
    run.as_of = kT0 + 80 * kDay;
    auto timelines = RunStages(machine_, log_.log(), run);
    ASSERT_TRUE(timelines.ok()) << timelines.status();
    timelines_ = *std::move(timelines);
    std::vector<int32_t> unit_of_deal(static_cast<size_t>(log_.log().num_deals()));
    const std::map<std::string, int32_t> unit = {{"a", 1}, {"b", 1}, {"c", 1},
                                                 {"d", 0}, {"e", 0}, {"f", 2}};
    for (const auto& [deal, u] : unit) unit_of_deal[static_cast<size_t>(log_.deal(deal))] = u;
    auto units = UnitsFromCodes(log_.log(), unit_of_deal, {"west", "east", "north"});
    ASSERT_TRUE(units.ok()) << units.status();
    units_ = *std::move(units);
    IndicatorOptions options;
    options.calendar = Calendar(Grain::kMonth);
    options.threads = 1;
    // Whole days, all under 128: every duration is its own exact bucket.
    options.duration_resolution = Days(1);
    auto ind = ComputeIndicators(machine_, log_.log(), timelines_, units_, options);
    ASSERT_TRUE(ind.ok()) << ind.status();
    ind_ = *std::move(ind);
    auto table = MakeTable(ind_);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  // The row of (unit, period label, indicator); fails the test when absent.
  size_t RowOf(const std::string& unit, const std::string& period, const std::string& indicator) const {
    for (size_t i = 0; i < table_.size(); ++i) {
      if (table_.unit_names[static_cast<size_t>(table_.unit[i])] == unit &&
          table_.period_labels[static_cast<size_t>(table_.period[i])] == period &&
          table_.indicator_names[static_cast<size_t>(table_.indicator[i])] == indicator) {
        return i;
      }
    }
    ADD_FAILURE() << "no row " << unit << " " << period << " " << indicator;
    return 0;
  }
  double Value(const std::string& u, const std::string& p, const std::string& i) const {
    return table_.value[RowOf(u, p, i)];
  }
  int64_t N(const std::string& u, const std::string& p, const std::string& i) const {
    return table_.n[RowOf(u, p, i)];
  }

  TinyLog log_;
  StageMachine machine_;
  Timelines timelines_;
  Units units_;
  Indicators ind_;
  IndicatorTable table_;
};

TEST_F(TableTest, ShapeOrderAndLabels) {
  // Actions present (sorted): call, decline, reply, sign, state_need; call is the only
  // seller action, so the only one with answered.
  const std::vector<std::string> expected = {
      "occurrences:call", "deals:call", "answered:call", "occurrences:decline", "deals:decline",
      "occurrences:reply", "deals:reply", "occurrences:sign", "deals:sign",
      "occurrences:state_need", "deals:state_need", "buyer_actions", "seller_activities",
      "buyer_response_ratio", "entries:Engaged", "deals_entered:Engaged",
      "dollars_entered:Engaged", "entries:Qualified", "deals_entered:Qualified",
      "dollars_entered:Qualified", "entries:Won", "deals_entered:Won", "dollars_entered:Won",
      "entries:Lost", "deals_entered:Lost", "dollars_entered:Lost", "conversion:Engaged",
      "win_from:Engaged", "pending:Engaged", "time_in_stage_median:Engaged",
      "time_in_stage_p90:Engaged", "conversion:Qualified", "win_from:Qualified",
      "pending:Qualified", "time_in_stage_median:Qualified", "time_in_stage_p90:Qualified",
      "created", "created_dollars", "progressed", "regressed", "reopened", "won", "won_dollars",
      "lost", "lost_dollars", "excluded", "stalled", "stalled_dollars", "open_start", "open_end",
      "avg_won_size", "win_rate", "win_rate_value", "cycle_time_median", "cycle_time_p90",
      "velocity"};
  EXPECT_EQ(table_.indicator_names, expected);
  EXPECT_EQ(table_.unit_names, (std::vector<std::string>{"east", "north", "west"}));
  EXPECT_EQ(table_.period_labels, (std::vector<std::string>{"2026-01", "2026-02", "2026-03", "all"}));
  const int64_t jan = (2026 - 1970) * 12;
  EXPECT_EQ(table_.period_index,
            (std::vector<int64_t>{jan, jan + 1, jan + 2, std::numeric_limits<int64_t>::max()}));
  // east and west: Jan..Mar + all; north (first cell in Feb): Feb, Mar + all.
  const size_t k = expected.size();
  ASSERT_EQ(table_.size(), (4 + 3 + 4) * k);
  for (const auto* column : {&table_.lower, &table_.upper, &table_.previous, &table_.p_change}) {
    EXPECT_EQ(column->size(), table_.size());
  }
  EXPECT_EQ(table_.n.size(), table_.size());
  EXPECT_EQ(table_.immature.size(), table_.size());
  // Ordered by unit, then period, then indicator.
  for (size_t i = 0; i < table_.size(); ++i) {
    EXPECT_EQ(table_.indicator[i], static_cast<int32_t>(i % k)) << i;
    if (i == 0) continue;
    const auto before = std::make_pair(table_.unit[i - 1], table_.period[i - 1]);
    const auto now = std::make_pair(table_.unit[i], table_.period[i]);
    if (i % k == 0) {
      EXPECT_LT(before, now) << i;
    } else {
      EXPECT_EQ(before, now) << i;
    }
  }
  EXPECT_EQ(table_.period[RowOf("north", "2026-02", "created")], 1);

  TableOptions no_all;
  no_all.include_all_periods = false;
  auto without = MakeTable(ind_, no_all);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->period_labels, (std::vector<std::string>{"2026-01", "2026-02", "2026-03"}));
  EXPECT_EQ(without->size(), (3 + 2 + 3) * k);
  TableOptions bad;
  bad.confidence = 1.0;
  EXPECT_EQ(MakeTable(ind_, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TableTest, EventCountsAndAnswered) {
  // east Jan: calls a d1, b d3, b d20 (2 deals); only a's was answered (reply d2).
  EXPECT_EQ(Value("east", "2026-01", "occurrences:call"), 3);
  EXPECT_EQ(Value("east", "2026-01", "deals:call"), 2);
  const size_t jan = RowOf("east", "2026-01", "answered:call");
  EXPECT_NEAR(table_.value[jan], 1.0 / 3, 1e-15);
  EXPECT_EQ(table_.n[jan], 3);
  auto [lo, hi] = WilsonByHand(1, 3);
  EXPECT_NEAR(table_.lower[jan], lo, 1e-12);
  EXPECT_NEAR(table_.upper[jan], hi, 1e-12);
  EXPECT_TRUE(std::isnan(table_.previous[jan]));  // east's first period
  EXPECT_TRUE(std::isnan(table_.p_change[jan]));
  // Feb: no call: 0/0 has no value, no interval, no test.
  const size_t feb = RowOf("east", "2026-02", "answered:call");
  EXPECT_EQ(table_.n[feb], 0);
  EXPECT_TRUE(std::isnan(table_.value[feb]));
  EXPECT_TRUE(std::isnan(table_.lower[feb]));
  EXPECT_TRUE(std::isnan(table_.upper[feb]));
  EXPECT_NEAR(table_.previous[feb], 1.0 / 3, 1e-15);
  EXPECT_TRUE(std::isnan(table_.p_change[feb]));
  // Mar: c's call d63 answered by the state_need on d70, exactly the 7-day window.
  EXPECT_EQ(Value("east", "2026-03", "answered:call"), 1.0);
  EXPECT_EQ(table_.upper[RowOf("east", "2026-03", "answered:call")], 1.0);
  // all: 2 of 4.
  const size_t all = RowOf("east", "all", "answered:call");
  EXPECT_EQ(table_.value[all], 0.5);
  EXPECT_EQ(table_.n[all], 4);
  std::tie(lo, hi) = WilsonByHand(2, 4);
  EXPECT_NEAR(table_.lower[all], lo, 1e-12);
  EXPECT_NEAR(table_.upper[all], hi, 1e-12);
  EXPECT_TRUE(std::isnan(table_.previous[all]));
  // Buyer response: Jan 2 buyer actions (reply, state_need) per 3 calls; Feb no seller
  // activity (NaN); Mar 2 per 1.
  EXPECT_EQ(Value("east", "2026-01", "buyer_actions"), 2);
  EXPECT_EQ(Value("east", "2026-01", "seller_activities"), 3);
  EXPECT_NEAR(Value("east", "2026-01", "buyer_response_ratio"), 2.0 / 3, 1e-15);
  EXPECT_EQ(N("east", "2026-01", "buyer_response_ratio"), 3);
  EXPECT_TRUE(std::isnan(Value("east", "2026-02", "buyer_response_ratio")));
  EXPECT_EQ(Value("east", "2026-03", "buyer_response_ratio"), 2.0);
  EXPECT_TRUE(std::isnan(table_.lower[RowOf("east", "2026-03", "buyer_response_ratio")]));
  EXPECT_EQ(Value("east", "all", "occurrences:reply"), 3);
  // west has no seller action at all: answered is 0/0 everywhere.
  EXPECT_TRUE(std::isnan(Value("west", "all", "answered:call")));
}

TEST_F(TableTest, FlowDollarsAndOpenDeals) {
  // east: created a (Jan), b (Feb), c (Mar); won a (Feb, 1000); lost b (Feb, 500).
  EXPECT_EQ(Value("east", "2026-01", "created"), 1);
  EXPECT_EQ(Value("east", "2026-01", "created_dollars"), 1000);
  // progressed counts kinds kProgressed and kSkipped, and a deal's first move into a
  // stage (-1 -> Engaged, d2) is of kind kProgressed: a's two moves in Jan.
  EXPECT_EQ(Value("east", "2026-01", "progressed"), 2);
  EXPECT_EQ(Value("east", "2026-02", "progressed"), 1);  // b's -> Engaged (d35)
  EXPECT_EQ(Value("east", "2026-02", "won"), 1);
  EXPECT_EQ(Value("east", "2026-02", "won_dollars"), 1000);
  EXPECT_EQ(Value("east", "2026-02", "lost_dollars"), 500);
  EXPECT_EQ(Value("east", "all", "created_dollars"), 3500);
  EXPECT_EQ(N("east", "all", "created_dollars"), 3);  // three valued deals
  EXPECT_EQ(Value("east", "all", "dollars_entered:Engaged"), 3500);
  EXPECT_EQ(Value("east", "all", "dollars_entered:Qualified"), 3000);  // a and c
  EXPECT_EQ(Value("east", "2026-02", "deals_entered:Lost"), 1);
  EXPECT_EQ(Value("east", "2026-02", "entries:Won"), 1);
  // e has no value: created and lost, but no dollars and no valued deal.
  EXPECT_EQ(Value("west", "2026-03", "created"), 1);
  EXPECT_EQ(Value("west", "2026-03", "created_dollars"), 0);
  EXPECT_EQ(N("west", "2026-03", "created_dollars"), 0);
  EXPECT_EQ(Value("west", "2026-03", "lost"), 1);
  // A period with no cell (west, Feb): zero counts, NaN ratios.
  EXPECT_EQ(Value("west", "2026-02", "created"), 0);
  EXPECT_EQ(Value("west", "2026-02", "occurrences:reply"), 0);
  EXPECT_TRUE(std::isnan(Value("west", "2026-02", "win_rate")));
  EXPECT_TRUE(std::isnan(Value("west", "2026-02", "cycle_time_median")));
  EXPECT_EQ(N("west", "2026-02", "cycle_time_median"), 0);
  EXPECT_EQ(Value("west", "2026-02", "dollars_entered:Engaged"), 0);

  // Dollars agree with the accumulator's own reading of the cell.
  for (int64_t c = 0; c < ind_.num_cells(); ++c) {
    const std::string unit = ind_.unit_names()[static_cast<size_t>(ind_.cell_unit(c))];
    const std::string period = ind_.calendar().Label(ind_.cell_period(c));
    EXPECT_EQ(Value(unit, period, "won_dollars"), ind_.dollars(c, kWonDollars));
    EXPECT_EQ(Value(unit, period, "dollars_entered:Engaged"), ind_.dollars_entered(c, 0));
  }

  // Open deals at each period's end, counted directly from the transitions (a deal is
  // open when its last transition before the period's end went to an open stage),
  // against open_start / open_end.
  const int32_t num_open = timelines_.num_open;
  for (const std::string& unit : table_.unit_names) {
    int64_t previous_end = 0;
    bool first = true;
    for (size_t p = 0; p + 1 < table_.period_labels.size(); ++p) {
      const int64_t end = ind_.calendar().PeriodEnd(table_.period_index[p]);
      int64_t open = 0;
      for (int32_t d = 0; d < log_.log().num_deals(); ++d) {
        if (units_.names[static_cast<size_t>(units_.of_deal[static_cast<size_t>(d)])] != unit) continue;
        int32_t to = -1;
        for (size_t i = 0; i < timelines_.transitions.size(); ++i) {
          if (timelines_.transitions.deal[i] == d && timelines_.transitions.time[i] < end) {
            to = timelines_.transitions.to[i];
          }
        }
        open += (to >= 0 && to < num_open) ? 1 : 0;
      }
      if (unit == "north" && p == 0) {
        EXPECT_EQ(open, 0);  // north has no January row
        continue;
      }
      const std::string& label = table_.period_labels[p];
      EXPECT_EQ(Value(unit, label, "open_end"), static_cast<double>(open)) << unit << " " << label;
      EXPECT_EQ(Value(unit, label, "open_start"), first ? 0.0 : static_cast<double>(previous_end))
          << unit << " " << label;
      previous_end = open;
      first = false;
    }
    EXPECT_EQ(Value(unit, "all", "open_start"), 0);
    EXPECT_EQ(Value(unit, "all", "open_end"), static_cast<double>(previous_end)) << unit;
  }
  // By hand: east open at the end of Jan (a), none at Feb's end, c at Mar's end.
  EXPECT_EQ(Value("east", "2026-01", "open_end"), 1);
  EXPECT_EQ(Value("east", "2026-02", "open_end"), 0);
  EXPECT_EQ(Value("east", "2026-03", "open_end"), 1);
  EXPECT_EQ(Value("north", "2026-03", "open_start"), 1);
}

TEST_F(TableTest, ConversionCohortsAndPChange) {
  // Engaged cohorts: Jan a (advanced, won), Feb b (failed: lost, never won), Mar c
  // (advanced; not won yet: pending for win_from).
  const size_t jan = RowOf("east", "2026-01", "conversion:Engaged");
  const size_t feb = RowOf("east", "2026-02", "conversion:Engaged");
  const size_t mar = RowOf("east", "2026-03", "conversion:Engaged");
  EXPECT_EQ(table_.value[jan], 1.0);
  EXPECT_EQ(table_.value[feb], 0.0);
  EXPECT_EQ(table_.value[mar], 1.0);
  EXPECT_EQ(table_.immature[mar], 0);
  EXPECT_EQ(table_.previous[feb], 1.0);
  EXPECT_EQ(table_.previous[mar], 0.0);
  // 1/1 then 0/1: pooled p = 1/2, se = sqrt(1/4 · 2), z = -1/se = -√2; p = erfc(1).
  EXPECT_NEAR(table_.p_change[feb], std::erfc(1.0), 1e-12);
  EXPECT_NEAR(table_.p_change[mar], std::erfc(1.0), 1e-12);
  EXPECT_TRUE(std::isnan(table_.p_change[jan]));
  auto [lo, hi] = WilsonByHand(0, 1);
  EXPECT_EQ(table_.lower[feb], 0.0);
  EXPECT_NEAR(table_.upper[feb], hi, 1e-12);
  (void)lo;

  const size_t win_mar = RowOf("east", "2026-03", "win_from:Engaged");
  EXPECT_TRUE(std::isnan(table_.value[win_mar]));  // 0 decided of c's cohort
  EXPECT_EQ(table_.n[win_mar], 0);
  EXPECT_EQ(table_.immature[win_mar], 1);
  const size_t win_all = RowOf("east", "all", "win_from:Engaged");
  EXPECT_EQ(table_.value[win_all], 0.5);  // a won, b not; c pending
  EXPECT_EQ(table_.immature[win_all], 1);
  const size_t conv_all = RowOf("east", "all", "conversion:Engaged");
  EXPECT_NEAR(table_.value[conv_all], 2.0 / 3, 1e-15);
  EXPECT_EQ(table_.n[conv_all], 3);
  EXPECT_EQ(table_.immature[conv_all], 0);
  // c in Qualified since d70, open, no window: pending.
  EXPECT_EQ(Value("east", "2026-03", "pending:Qualified"), 1);
  EXPECT_EQ(table_.immature[RowOf("east", "2026-03", "conversion:Qualified")], 1);
  EXPECT_TRUE(std::isnan(Value("east", "2026-03", "conversion:Qualified")));
  // Only conversion and win_from can be immature.
  EXPECT_EQ(table_.immature[RowOf("east", "2026-03", "pending:Qualified")], 0);
  EXPECT_EQ(table_.immature[RowOf("north", "2026-02", "conversion:Engaged")], 1);
  EXPECT_EQ(Value("north", "2026-02", "pending:Engaged"), 1);
  EXPECT_EQ(N("north", "2026-02", "pending:Engaged"), 1);
}

TEST_F(TableTest, WinRateMediansAndVelocity) {
  // east Feb: 1 won of 2 decided.
  const size_t feb = RowOf("east", "2026-02", "win_rate");
  EXPECT_EQ(table_.value[feb], 0.5);
  EXPECT_EQ(table_.n[feb], 2);
  auto [lo, hi] = WilsonByHand(1, 2);
  EXPECT_NEAR(table_.lower[feb], lo, 1e-12);
  EXPECT_NEAR(table_.upper[feb], hi, 1e-12);
  EXPECT_TRUE(std::isnan(table_.previous[feb]));  // Jan: nothing decided
  EXPECT_TRUE(std::isnan(table_.p_change[feb]));  // Jan's n is 0
  EXPECT_NEAR(Value("east", "2026-02", "win_rate_value"), 1000.0 / 1500, 1e-15);
  EXPECT_EQ(Value("east", "2026-02", "avg_won_size"), 1000);
  EXPECT_EQ(N("east", "2026-02", "avg_won_size"), 1);
  // Cycle time in Feb: b created d35, lost d45 (10 days). Velocity = 1 created x 0.5 x
  // 1000 / 10 days = 50 dollars a day.
  EXPECT_EQ(Value("east", "2026-02", "cycle_time_median"), 10);
  EXPECT_EQ(Value("east", "2026-02", "velocity"), 50);
  EXPECT_TRUE(std::isnan(Value("east", "2026-01", "velocity")));  // no decided deal in Jan

  // Time in Engaged: a 8 days (Jan), b 10 (Feb, to Lost), c 8 (Mar): KM over all,
  // S(8) = 1/3 (2 of 3 leave), S(10) = 0: median 8, p90 10.
  EXPECT_EQ(Value("east", "2026-01", "time_in_stage_median:Engaged"), 8);
  EXPECT_EQ(Value("east", "2026-02", "time_in_stage_median:Engaged"), 10);
  EXPECT_EQ(Value("east", "all", "time_in_stage_median:Engaged"), 8);
  EXPECT_EQ(Value("east", "all", "time_in_stage_p90:Engaged"), 10);
  EXPECT_EQ(N("east", "all", "time_in_stage_median:Engaged"), 3);
  // Qualified: a 30 days (d10 to Won d40); c censored at as_of - d70 = 10 days. Mar
  // alone has only the censored visit: not reached. All: the censored 10 leaves the
  // risk set before 30, where the last deal at risk leaves: S(30) = 0.
  EXPECT_EQ(Value("east", "2026-01", "time_in_stage_median:Qualified"), 30);
  EXPECT_TRUE(std::isnan(Value("east", "2026-03", "time_in_stage_median:Qualified")));
  EXPECT_EQ(N("east", "2026-03", "time_in_stage_median:Qualified"), 1);
  EXPECT_EQ(Value("east", "all", "time_in_stage_median:Qualified"), 30);
  EXPECT_EQ(N("east", "all", "time_in_stage_p90:Qualified"), 2);
  // Cycle times: a 38 days (Jan), b 10 (Feb), c censored at 18 (Mar). KM over all:
  // S(10) = 2/3, c leaves at 18, S(38) = 0: median 38, p90 38.
  EXPECT_EQ(Value("east", "all", "cycle_time_median"), 38);
  EXPECT_EQ(Value("east", "all", "cycle_time_p90"), 38);
  EXPECT_EQ(N("east", "all", "cycle_time_median"), 3);
  // All: created 3, win rate 1/2, avg won 1000, median 38 days.
  const size_t all = RowOf("east", "all", "win_rate");
  EXPECT_EQ(table_.value[all], 0.5);
  EXPECT_NEAR(table_.lower[all], lo, 1e-12);
  EXPECT_NEAR(Value("east", "all", "velocity"), 3 * 0.5 * 1000 / 38.0, 1e-12);

  // west: d won in Jan after 7 days (300); e lost in Mar after 13 days, no value.
  EXPECT_EQ(Value("west", "2026-01", "win_rate"), 1.0);
  EXPECT_NEAR(Value("west", "2026-01", "velocity"), 1 * 1.0 * 300 / 7.0, 1e-12);
  const size_t west_feb = RowOf("west", "2026-02", "win_rate");
  EXPECT_EQ(table_.previous[west_feb], 1.0);
  EXPECT_TRUE(std::isnan(table_.p_change[west_feb]));
  const size_t west_mar = RowOf("west", "2026-03", "win_rate");
  EXPECT_EQ(table_.value[west_mar], 0.0);
  EXPECT_TRUE(std::isnan(table_.previous[west_mar]));  // Feb had no decided deal
  EXPECT_TRUE(std::isnan(Value("west", "2026-03", "win_rate_value")));  // 0 / 0 dollars
  EXPECT_TRUE(std::isnan(Value("west", "2026-03", "avg_won_size")));
  EXPECT_EQ(Value("west", "all", "win_rate_value"), 1.0);  // 300 / (300 + 0)
  EXPECT_EQ(N("west", "all", "win_rate_value"), 1);
  // Cycle 7 and 13 days: S(7) = 1/2: median 7, p90 13.
  EXPECT_EQ(Value("west", "all", "cycle_time_median"), 7);
  EXPECT_EQ(Value("west", "all", "cycle_time_p90"), 13);
  EXPECT_NEAR(Value("west", "all", "velocity"), 2 * 0.5 * 300 / 7.0, 1e-12);
  // north: f open in Engaged since d40, censored at 40 days: nothing reached.
  EXPECT_TRUE(std::isnan(Value("north", "all", "time_in_stage_median:Engaged")));
  EXPECT_TRUE(std::isnan(Value("north", "all", "cycle_time_median")));
  EXPECT_EQ(N("north", "all", "cycle_time_median"), 1);
}

TEST_F(TableTest, TrendsOverTheTable) {
  auto trends = MakeTrends(table_, 6);
  ASSERT_TRUE(trends.ok()) << trends.status();
  const size_t k = table_.indicator_names.size();
  ASSERT_EQ(trends->size(), 3 * k);
  auto at = [&](const std::string& unit, const std::string& indicator) {
    for (size_t i = 0; i < trends->size(); ++i) {
      if (trends->unit_names[static_cast<size_t>(trends->unit[i])] == unit &&
          trends->indicator_names[static_cast<size_t>(trends->indicator[i])] == indicator) {
        return i;
      }
    }
    ADD_FAILURE() << unit << " " << indicator;
    return size_t{0};
  };
  // east created 1, 1, 1: slope 0 over 3 periods ("all" left out); last 1.
  size_t i = at("east", "created");
  EXPECT_EQ(trends->slope[i], 0.0);
  EXPECT_EQ(trends->n[i], 3);
  EXPECT_EQ(trends->last[i], 1.0);
  // east conversion:Engaged 1, 0, 1: slope 0; residuals 1/3, -2/3, 1/3.
  i = at("east", "conversion:Engaged");
  EXPECT_NEAR(trends->slope[i], 0.0, 1e-15);
  // north open_end 1, 1 (two periods): exact slope 0, no interval.
  i = at("north", "open_end");
  EXPECT_EQ(trends->n[i], 2);
  EXPECT_TRUE(std::isnan(trends->lower[i]));
  // west win_rate 1, NaN, 0: slope -1/2 through the two known periods.
  i = at("west", "win_rate");
  EXPECT_EQ(trends->n[i], 2);
  EXPECT_EQ(trends->slope[i], -0.5);
  EXPECT_EQ(trends->last[i], 0.0);
}

TEST(TableEmpty, AnEmptyAccumulatorHasNoRows) {
  const Indicators empty;
  auto table = MakeTable(empty);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 0u);
  EXPECT_TRUE(table->unit_names.empty());
  EXPECT_EQ(table->period_labels, (std::vector<std::string>{"all"}));
  // No action and no stage: only the per-cell indicators.
  EXPECT_EQ(table->indicator_names.front(), "buyer_actions");
  EXPECT_EQ(table->indicator_names.back(), "velocity");
  EXPECT_EQ(table->indicator_names.size(), 3u + 20u);
  auto trends = MakeTrends(*table);
  ASSERT_TRUE(trends.ok()) << trends.status();
  EXPECT_EQ(trends->size(), 0u);
}

// Reopens, exclusions, stall closes and stalls in the open-deal recurrence.
// Engaged stalls after 10 quiet days, stalled deals close 15 days later; as_of d90.
//   r: reply d0, decline d10 (lost), reply d40 (reopened), state_need d45: open.
//   s: reply d5, spam d20: excluded from Engaged (an open stage).
//   u: reply d3, sign d8 (won), spam d50: excluded from Won (not an open stage).
//   v: reply d2: stalled d12, closed as lost d27.
//   w: spam d1 only: excluded with no stage; never created.
//   y: reply d70: quiet 20 days > 10: stalled since d80, closes d95 > as_of: stalled.
// Jan: created r s u v (4), won u, lost r v, excluded s: open_end 4 - 1 - 2 - 1 = 0.
// Feb: reopened r: 1. Mar: created y: 2; stalled 1 (onset d80), 100 dollars.
TEST(TableOpenDeals, ReopensExclusionsAndStalls) {
  TinyLog log({{"r", 0, "reply"}, {"r", 10, "decline"}, {"r", 40, "reply"}, {"r", 45, "state_need"},
               {"s", 5, "reply"}, {"s", 20, "spam"}, {"u", 3, "reply"}, {"u", 8, "sign"},
               {"u", 50, "spam"}, {"v", 2, "reply"}, {"w", 1, "spam"}, {"y", 70, "reply"}});
  StageModel m = TwoStages();
  m.Exclude({"spam"});
  m.SetReopen(Reopen::kAllow);
  m.mutable_stages()[0].StallAfter(Days(10));
  m.CloseStalledAfter(Days(15));
  auto machine = Compile(m, log.log());
  ASSERT_TRUE(machine.ok()) << machine.status();
  RunOptions run;
  run.as_of = kT0 + 90 * kDay;
  auto t = RunStages(*machine, log.log(), run);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->outcome[static_cast<size_t>(log.deal("y"))], static_cast<uint8_t>(Outcome::kStalled));
  IndicatorOptions options;
  options.calendar = Calendar(Grain::kMonth);
  auto ind = ComputeIndicators(*machine, log.log(), *t, SingleUnit(log.log()), options);
  ASSERT_TRUE(ind.ok()) << ind.status();
  auto table = MakeTable(*ind);
  ASSERT_TRUE(table.ok()) << table.status();
  auto value = [&](const std::string& period, const std::string& indicator) {
    for (size_t i = 0; i < table->size(); ++i) {
      if (table->period_labels[static_cast<size_t>(table->period[i])] == period &&
          table->indicator_names[static_cast<size_t>(table->indicator[i])] == indicator) {
        return table->value[i];
      }
    }
    ADD_FAILURE() << period << " " << indicator;
    return kNaN;
  };
  EXPECT_EQ(value("2026-01", "created"), 4);
  EXPECT_EQ(value("2026-01", "won"), 1);
  EXPECT_EQ(value("2026-01", "lost"), 2);
  EXPECT_EQ(value("2026-01", "excluded"), 1);
  EXPECT_EQ(value("2026-02", "excluded"), 0);  // u left Won, not an open stage
  EXPECT_EQ(value("2026-02", "reopened"), 1);
  EXPECT_EQ(value("2026-03", "stalled"), 1);
  EXPECT_EQ(value("2026-03", "stalled_dollars"), 100);
  const std::vector<double> start = {0, 0, 1}, end = {0, 1, 2};
  const std::vector<std::string> months = {"2026-01", "2026-02", "2026-03"};
  for (size_t p = 0; p < 3; ++p) {
    EXPECT_EQ(value(months[p], "open_start"), start[p]) << months[p];
    EXPECT_EQ(value(months[p], "open_end"), end[p]) << months[p];
  }
  EXPECT_EQ(value("all", "open_start"), 0);
  EXPECT_EQ(value("all", "open_end"), 2);
  EXPECT_EQ(value("all", "reopened"), 1);
}

// ---------------------------------------------------------------------------------
// MakeTrends on constructed tables.
// ---------------------------------------------------------------------------------

// A table of units x indicators x periods (period indices 100 + p) plus "all".
IndicatorTable Constructed(const std::vector<std::string>& units,
                           const std::vector<std::string>& indicators,
                           const std::vector<std::tuple<int32_t, int32_t, int32_t, double>>& rows) {
  IndicatorTable t;
  t.unit_names = units;
  t.indicator_names = indicators;
  for (int p = 0; p < 10; ++p) {
    t.period_labels.push_back("p" + std::to_string(p));
    t.period_index.push_back(100 + p);
  }
  t.period_labels.push_back("all");
  t.period_index.push_back(std::numeric_limits<int64_t>::max());
  for (const auto& [u, p, i, v] : rows) {
    t.unit.push_back(u);
    t.period.push_back(p);
    t.indicator.push_back(i);
    t.value.push_back(v);
    t.lower.push_back(kNaN);
    t.upper.push_back(kNaN);
    t.n.push_back(0);
    t.previous.push_back(kNaN);
    t.p_change.push_back(kNaN);
    t.immature.push_back(0);
  }
  return t;
}

TEST(Trends, ExactLineNaNsGapsAndShortSeries) {
  std::vector<std::tuple<int32_t, int32_t, int32_t, double>> rows;
  // unit 0, "line": y = 7 + 2p over p = 0..9; the last 6 periods are 4..9: slope 2,
  // exactly, with a zero-width interval. "all" (period 10) holds a wild value to ignore.
  for (int32_t p = 0; p < 10; ++p) rows.emplace_back(0, p, 0, 7 + 2 * p);
  rows.emplace_back(0, 10, 0, 1e9);
  // unit 0, "holes": periods 6..9 are 5, NaN, NaN, 11 with periods = 6 (window 4..9,
  // rows from 6): two known points 3 periods apart: slope 2, no interval; periods 0..3
  // hold 1000 and periods 4, 5 have no row (so the last 6 rows would reach the 1000s).
  for (int32_t p = 0; p < 4; ++p) rows.emplace_back(0, p, 1, 1000);
  rows.emplace_back(0, 6, 1, 5);
  rows.emplace_back(0, 7, 1, kNaN);
  rows.emplace_back(0, 8, 1, kNaN);
  rows.emplace_back(0, 9, 1, 11);
  // unit 1, "line": rows only at periods 2, 3, 5 (period 4 missing from the table):
  // 0, 1, 3 keeps positions x = 0, 1, 3: slope exactly 1 (1.5 if the gap were closed).
  rows.emplace_back(1, 2, 0, 0);
  rows.emplace_back(1, 3, 0, 1);
  rows.emplace_back(1, 5, 0, 3);
  // unit 1, "holes": a single period: no slope.
  rows.emplace_back(1, 9, 1, 4);
  // unit 2 has no rows at all.
  const IndicatorTable table = Constructed({"u0", "u1", "u2"}, {"line", "holes"}, rows);

  auto r = MakeTrends(table, 6);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 6u);  // every (unit, indicator), ordered by unit then indicator
  EXPECT_EQ(r->unit, (Column<int32_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(r->indicator, (Column<int32_t>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(r->slope[0], 2.0);
  EXPECT_EQ(r->lower[0], 2.0);
  EXPECT_EQ(r->upper[0], 2.0);
  EXPECT_EQ(r->n[0], 6);
  EXPECT_EQ(r->last[0], 25.0);  // 7 + 2 x 9

  EXPECT_EQ(r->slope[1], 2.0);  // (11 - 5) / 3
  EXPECT_EQ(r->n[1], 2);
  EXPECT_TRUE(std::isnan(r->lower[1]));
  EXPECT_EQ(r->last[1], 11.0);

  EXPECT_EQ(r->slope[2], 1.0);
  EXPECT_EQ(r->n[2], 3);
  EXPECT_EQ(r->lower[2], 1.0);  // the three points are on a line

  EXPECT_TRUE(std::isnan(r->slope[3]));
  EXPECT_EQ(r->n[3], 1);
  EXPECT_EQ(r->last[3], 4.0);

  for (size_t i : {4u, 5u}) {
    EXPECT_TRUE(std::isnan(r->slope[i]));
    EXPECT_TRUE(std::isnan(r->last[i]));
    EXPECT_EQ(r->n[i], 0);
  }

  // A longer window takes the whole line: y = 7 + 2p over 10 periods.
  auto all = MakeTrends(table, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->slope[0], 2.0);
  EXPECT_EQ(all->n[0], 10);
  // Window 2 on "holes": periods 8, 9 = NaN, 11: one point.
  auto two = MakeTrends(table, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->n[1], 1);
  EXPECT_TRUE(std::isnan(two->slope[1]));

  EXPECT_EQ(MakeTrends(table, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeTrends(table, 6, 0.0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Trends, ByHandNoisySeriesAndBadTables) {
  // x = 0..4, y = {1, 3, 2, 5, 4} (stats_test's hand case): slope 0.8, SSR 3.6,
  // se = sqrt(3.6 / 3 / 10), t(0.975, 3) = 3.18244630528371.
  std::vector<std::tuple<int32_t, int32_t, int32_t, double>> rows;
  const double y[] = {1, 3, 2, 5, 4};
  for (int32_t p = 0; p < 5; ++p) rows.emplace_back(0, p + 3, 0, y[p]);
  IndicatorTable table = Constructed({"u"}, {"x"}, rows);
  auto r = MakeTrends(table, 5);
  ASSERT_TRUE(r.ok());
  const double se = std::sqrt(3.6 / 3 / 10);
  EXPECT_NEAR(r->slope[0], 0.8, 1e-15);
  EXPECT_NEAR(r->lower[0], 0.8 - 3.18244630528371 * se, 1e-13);
  EXPECT_NEAR(r->upper[0], 0.8 + 3.18244630528371 * se, 1e-13);

  IndicatorTable duplicate = table;
  duplicate.unit.push_back(0);
  duplicate.period.push_back(3);
  duplicate.indicator.push_back(0);
  duplicate.value.push_back(1);
  EXPECT_EQ(MakeTrends(duplicate, 5).status().code(), absl::StatusCode::kInvalidArgument);
  IndicatorTable out_of_range = table;
  out_of_range.indicator[0] = 3;
  EXPECT_EQ(MakeTrends(out_of_range, 5).status().code(), absl::StatusCode::kInvalidArgument);
  IndicatorTable infinite = table;
  infinite.value[2] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(MakeTrends(infinite, 5).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------
// FindDealWarnings.
//
// as_of = day 40; Engaged stalls after 15 quiet days. Completed Engaged visits:
//   a 2 days (d0 -> Qualified d2, then won d3), b 4 (d0 -> d4, lost d5),
//   c 6 (d0 -> d6, won d7), d 8 (d0 -> d8, won d9), h 2 (d10 -> Qualified d12);
// censored: g 2 (entered d38), e 10 (d30), x 10 (excluded d11 after entering d1: an
// exclusion is not an exit), f 20 (d20).
// Kaplan–Meier of Engaged (9 visits): t=2: 9 at risk, 2 leave: S = 7/9 (g's censored
// 2 still at risk); t=4: 6 at risk: S = 7/9 · 5/6 = 35/54; t=6: 5 at risk: S = 28/54
// = 0.5185; t=8: 4 at risk: S = 28/54 · 3/4 = 0.3889 <= 0.5: the median is 8 days.
// No later event, so S never reaches 0.3: the 70th percentile is not reached. (Were
// x's exclusion an exit, S(10) = 0.3889 · 2/3 = 0.259 would reach it.)
// Qualified: a, b, c, d leave after 1 day (to Won/Lost), h censored at 28: S(1) = 1/5:
// the median and the 70th percentile are 1 day.
// Open or stalled deals at as_of, with their quiet time:
//   e Engaged, quiet since d33 (7 days): buyer contacts x, x (the seller call from z,
//     a decision maker, does not count): single-threaded, no decision maker.
//   f Engaged, quiet since d21 (19 days > 15: stalled); contacts x (user), y
//     (decision_maker): multi-threaded, decision maker reached.
//   g Engaged, quiet since d38 (2 days), no contact: single-threaded, no DM.
//   h Qualified, quiet since d12 (28 days); contacts p (decision_maker), q (user).
// z (only a seller call: no stage) and the closed or excluded deals have no row.
// ---------------------------------------------------------------------------------
std::vector<Row> WarningRows() {
  return {{"a", 0, "reply"},      {"a", 2, "state_need"}, {"a", 3, "sign"},
          {"b", 0, "reply"},      {"b", 4, "state_need"}, {"b", 5, "decline"},
          {"c", 0, "reply"},      {"c", 6, "state_need"}, {"c", 7, "sign"},
          {"d", 0, "reply"},      {"d", 8, "state_need"}, {"d", 9, "sign"},
          {"x", 1, "reply"},      {"x", 11, "spam"},
          {"e", 30, "reply", "x", "user"}, {"e", 33, "reply", "x", "user"},
          {"e", 34, "call", "z", "decision_maker"},
          {"f", 20, "reply", "x", "user"}, {"f", 21, "reply", "y", "decision_maker"},
          {"f", 35, "call"},
          {"g", 38, "reply"},
          {"h", 10, "reply", "p", "decision_maker"}, {"h", 12, "state_need", "q", "user"},
          {"z", 5, "call"}};
}

Timelines WarningTimelines(const EventLog& log) {
  StageModel m = TwoStages();
  m.Exclude({"spam"});
  m.mutable_stages()[0].StallAfter(Days(15));
  auto machine = Compile(m, log);
  EXPECT_TRUE(machine.ok()) << machine.status();
  RunOptions run;
  run.as_of = kT0 + 40 * kDay;
  auto t = RunStages(*machine, log, run);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

TEST(DealWarnings, StalledDarkThreadsAndDecisionMakers) {
  TinyLog log(WarningRows());
  const Timelines t = WarningTimelines(log.log());
  ASSERT_EQ(t.outcome[static_cast<size_t>(log.deal("x"))], static_cast<uint8_t>(Outcome::kExcluded));
  WarningOptions options;
  options.dark_percentile = 50;
  auto w = FindDealWarnings(log.log(), t, options);
  ASSERT_TRUE(w.ok()) << w.status();
  std::vector<std::string> names;
  for (int32_t d : w->deal) names.push_back(log.log().deals().Label(d));
  // Ordered by deal code; codes follow first appearance here (a, b, c, d, x, e, ...).
  EXPECT_EQ(names, (std::vector<std::string>{"e", "f", "g", "h"}));
  ASSERT_EQ(w->size(), 4u);
  for (size_t i = 1; i < w->size(); ++i) EXPECT_LT(w->deal[i - 1], w->deal[i]);
  EXPECT_EQ(w->stage, (Column<int32_t>{0, 0, 0, 1}));
  EXPECT_EQ(w->stalled, (Column<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(w->quiet_days, (Column<double>{7, 19, 2, 28}));
  EXPECT_EQ(w->normal_days, (Column<double>{8, 8, 8, 1}));
  EXPECT_EQ(w->dark, (Column<uint8_t>{0, 1, 0, 1}));  // 7 and 2 are not beyond 8 days
  EXPECT_EQ(w->single_threaded, (Column<int8_t>{1, 0, 1, 0}));
  EXPECT_EQ(w->no_decision_maker, (Column<int8_t>{1, 0, 1, 0}));

  // The 70th percentile of Engaged is not reached: nothing there can be judged dark.
  options.dark_percentile = 70;
  w = FindDealWarnings(log.log(), t, options);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(std::isnan(w->normal_days[0]));
  EXPECT_EQ(w->normal_days[3], 1.0);
  EXPECT_EQ(w->dark, (Column<uint8_t>{0, 0, 0, 1}));

  // Roles are compared as labels: with "user" as the decision maker, e and f reached
  // one (h too, through q), g did not.
  options.decision_maker_roles = {"user"};
  w = FindDealWarnings(log.log(), t, options);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->no_decision_maker, (Column<int8_t>{0, 0, 1, 0}));

  options.dark_percentile = 0;
  EXPECT_EQ(FindDealWarnings(log.log(), t, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.dark_percentile = 101;
  EXPECT_EQ(FindDealWarnings(log.log(), t, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DealWarnings, NoContactColumnsAndMismatchedTimelines) {
  TinyLog log(WarningRows(), /*contacts=*/false);
  ASSERT_TRUE(log.log().contact().empty());
  const Timelines t = WarningTimelines(log.log());
  auto w = FindDealWarnings(log.log(), t);  // default: 90th percentile
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->size(), 4u);
  EXPECT_EQ(w->single_threaded, (Column<int8_t>{-1, -1, -1, -1}));
  EXPECT_EQ(w->no_decision_maker, (Column<int8_t>{-1, -1, -1, -1}));
  // Neither stage's curve gets to 0.1 (Engaged stays at 0.3889, Qualified at 0.2).
  for (size_t i = 0; i < w->size(); ++i) {
    EXPECT_TRUE(std::isnan(w->normal_days[i]));
    EXPECT_EQ(w->dark[i], 0);
  }

  TinyLog other({{"a", 0, "reply"}});
  EXPECT_EQ(FindDealWarnings(other.log(), t).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------
// The synthetic company: invariants that hold whatever the figures are.
// ---------------------------------------------------------------------------------
class SyntheticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SynthOptions o;
    o.events = 60'000;
    o.seed = 11;
    o.days = 400;
    log_ = test_logs::SynthLog(o);
    StageModel m;
    m.AddStage("Lead").Any({"opportunity_created"});
    m.AddStage("Engaged").Any({"reply"});
    m.AddStage("Qualified").Any({"state_need"});
    m.AddStage("Budget").Any({"share_budget"});
    m.AddStage("Proposal").Any({"request_proposal"});
    m.AddStage("Commit").Any({"verbal_commit"});
    m.Won().Any({"sign"});
    m.Lost().Any({"decline"});
    m.mutable_stages()[1].StallAfter(Days(20));
    m.mutable_stages()[2].StallAfter(Days(30));
    m.CloseStalledAfter(Days(60));
    auto machine = Compile(m, log_);
    ASSERT_TRUE(machine.ok()) << machine.status();
    machine_ = *std::move(machine);
    auto t = RunStages(machine_, log_);
    ASSERT_TRUE(t.ok()) << t.status();
    timelines_ = *std::move(t);
  }
  absl::StatusOr<Indicators> Compute(const Units& units, int64_t resolution) const {
    IndicatorOptions options;
    options.calendar = Calendar(Grain::kMonth);
    options.duration_resolution = resolution;
    options.conversion_window = Days(45);
    return ComputeIndicators(machine_, log_, timelines_, units, options);
  }
  EventLog log_;
  StageMachine machine_;
  Timelines timelines_;
};

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST_F(SyntheticTest, AllRowsSumThePeriodsAndOpenDealsMatchACount) {
  auto units = UnitsByRep(log_);
  ASSERT_TRUE(units.ok()) << units.status();
  auto ind = Compute(*units, Hours(1));
  ASSERT_TRUE(ind.ok()) << ind.status();
  auto table = MakeTable(*ind);
  ASSERT_TRUE(table.ok()) << table.status();
  const IndicatorTable& t = *table;
  ASSERT_GT(t.unit_names.size(), 10u);
  ASSERT_GT(t.period_labels.size(), 12u);
  const auto all = static_cast<int32_t>(t.period_labels.size() - 1);
  ASSERT_EQ(t.period_labels.back(), "all");

  // Counts and Wilson denominators of "all" are the sums over the unit's periods;
  // dollar sums agree up to rounding.
  const size_t k = t.indicator_names.size();
  std::vector<double> sum(t.unit_names.size() * k, 0.0);
  std::vector<int64_t> n_sum(t.unit_names.size() * k, 0);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.period[i] == all) continue;
    const size_t key = static_cast<size_t>(t.unit[i]) * k + static_cast<size_t>(t.indicator[i]);
    sum[key] += t.value[i];
    n_sum[key] += t.n[i];
  }
  const std::vector<std::string> counts = {"occurrences:", "deals:", "entries:", "deals_entered:",
                                           "pending:"};
  const std::vector<std::string> totals = {"created", "progressed", "regressed", "reopened", "won",
                                           "lost", "excluded", "stalled", "buyer_actions",
                                           "seller_activities"};
  int checked = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.period[i] != all) continue;
    const std::string& name = t.indicator_names[static_cast<size_t>(t.indicator[i])];
    const size_t key = static_cast<size_t>(t.unit[i]) * k + static_cast<size_t>(t.indicator[i]);
    bool is_count = std::find(totals.begin(), totals.end(), name) != totals.end();
    for (const auto& c : counts) is_count = is_count || StartsWith(name, c);
    if (is_count) {
      EXPECT_EQ(t.value[i], sum[key]) << name;
      ++checked;
    } else if (StartsWith(name, "dollars_entered:") || name == "created_dollars" ||
               name == "won_dollars" || name == "lost_dollars" || name == "stalled_dollars") {
      EXPECT_NEAR(t.value[i], sum[key], 1e-9 * std::max(1.0, std::abs(sum[key]))) << name;
      EXPECT_EQ(t.n[i], n_sum[key]) << name;
    } else if (StartsWith(name, "answered:") || StartsWith(name, "conversion:") ||
               StartsWith(name, "win_from:") || name == "win_rate") {
      EXPECT_EQ(t.n[i], n_sum[key]) << name;
      if (t.n[i] > 0) {
        EXPECT_LE(t.lower[i], t.value[i]) << name;
        EXPECT_GE(t.upper[i], t.value[i]) << name;
      }
    }
  }
  EXPECT_GT(checked, 100);

  // open_end against a direct count: per deal, the stage of its last transition before
  // each period's end.
  const Calendar& cal = ind->calendar();
  const size_t P = t.period_labels.size() - 1;
  std::vector<int64_t> open(t.unit_names.size() * P, 0);
  std::vector<int32_t> unit_of(static_cast<size_t>(log_.num_deals()));
  for (int32_t d = 0; d < log_.num_deals(); ++d) {
    const std::string& name = units->names[static_cast<size_t>(units->of_deal[static_cast<size_t>(d)])];
    unit_of[static_cast<size_t>(d)] = static_cast<int32_t>(
        std::find(t.unit_names.begin(), t.unit_names.end(), name) - t.unit_names.begin());
  }
  const auto& tr = timelines_.transitions;
  for (size_t i = 0; i < tr.size();) {
    const int32_t d = tr.deal[i];
    size_t j = i;
    int32_t stage = -1;
    for (size_t p = 0; p < P; ++p) {
      const int64_t end = cal.PeriodEnd(t.period_index[p]);
      for (; j < tr.size() && tr.deal[j] == d && tr.time[j] < end; ++j) stage = tr.to[j];
      if (stage >= 0 && stage < timelines_.num_open) {
        ++open[static_cast<size_t>(unit_of[static_cast<size_t>(d)]) * P + p];
      }
    }
    while (i < tr.size() && tr.deal[i] == d) ++i;
  }
  int compared = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.period[i] == all || t.indicator_names[static_cast<size_t>(t.indicator[i])] != "open_end") continue;
    EXPECT_EQ(t.value[i], static_cast<double>(open[static_cast<size_t>(t.unit[i]) * P +
                                                   static_cast<size_t>(t.period[i])]))
        << t.unit_names[static_cast<size_t>(t.unit[i])] << " "
        << t.period_labels[static_cast<size_t>(t.period[i])];
    ++compared;
  }
  EXPECT_GT(compared, 200);

  // Trends: one row per (unit, indicator).
  auto trends = MakeTrends(t, 6);
  ASSERT_TRUE(trends.ok()) << trends.status();
  EXPECT_EQ(trends->size(), t.unit_names.size() * k);
}

// FindDealWarnings' stage percentiles and the table's Kaplan–Meier over the
// accumulator's histograms (resolution 1 ns, so no bucketing) are two implementations
// of the same visit definition: they must give the same times.
TEST_F(SyntheticTest, DarkPercentilesEqualTheTablesTimeInStage) {
  auto ind = Compute(SingleUnit(log_), 1);
  ASSERT_TRUE(ind.ok()) << ind.status();
  auto table = MakeTable(*ind);
  ASSERT_TRUE(table.ok()) << table.status();
  auto value = [&](const std::string& indicator) {
    for (size_t i = 0; i < table->size(); ++i) {
      if (table->period_labels[static_cast<size_t>(table->period[i])] == "all" &&
          table->indicator_names[static_cast<size_t>(table->indicator[i])] == indicator) {
        return table->value[i];
      }
    }
    ADD_FAILURE() << indicator;
    return kNaN;
  };
  for (const auto& [percentile, name] :
       {std::pair<double, std::string>{50, "time_in_stage_median:"}, {90, "time_in_stage_p90:"}}) {
    WarningOptions options;
    options.dark_percentile = percentile;
    auto w = FindDealWarnings(log_, timelines_, options);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_GT(w->size(), 50u);
    std::vector<int> seen(static_cast<size_t>(timelines_.num_open), 0);
    int stalled = 0, dark = 0, judged = 0;
    for (size_t i = 0; i < w->size(); ++i) {
      const int32_t s = w->stage[i];
      const double expected = value(name + timelines_.stage_names[static_cast<size_t>(s)]);
      if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(w->normal_days[i])) << name << s;
      } else {
        // The table reports the lower edge of the bucket holding the exact quantile, so
        // it is at most 1/64 below it (log-linear buckets at 1 ns).
        EXPECT_LE(expected, w->normal_days[i] + 1e-12) << name << s;
        EXPECT_LE(w->normal_days[i] - expected, w->normal_days[i] / 64) << name << s;
      }
      ++seen[static_cast<size_t>(s)];
      stalled += w->stalled[i];
      dark += w->dark[i];
      judged += std::isnan(w->normal_days[i]) ? 0 : 1;
    }
    int stages_seen = 0;
    for (int v : seen) stages_seen += v > 0 ? 1 : 0;
    EXPECT_GE(stages_seen, 3) << name;
    EXPECT_GT(stalled, 0) << name;
    EXPECT_GT(dark, 0) << name;
    EXPECT_GT(judged, 0) << name;  // p90s are often not reached with many deals open
    for (size_t i = 0; i < w->size(); ++i) {
      const auto d = static_cast<size_t>(w->deal[i]);
      EXPECT_EQ(w->stalled[i], timelines_.outcome[d] == static_cast<uint8_t>(Outcome::kStalled));
      EXPECT_EQ(w->quiet_days[i],
                static_cast<double>(timelines_.as_of - timelines_.quiet_since[d]) / 86'400e9);
      EXPECT_EQ(w->dark[i], !std::isnan(w->normal_days[i]) && w->quiet_days[i] > w->normal_days[i]);
    }
  }
}


// ---- Sums that overflow (fuzz finding: issue 9) -----------------------------------
// MakeTable adds up a unit's cells into "all" and fields into ratios' denominators: on
// deserialized states whose counts come near INT64_MAX (or dollar sums near the Int128
// range) those sums are checked, and OutOfRange names the unit and the field.

using raw_indicators::kJanuary;
using raw_indicators::kMax128;
using raw_indicators::kMax64;
using raw_indicators::MustParseInd;
using raw_indicators::OffDollar;
using raw_indicators::RawCell;

// States with no actions (stages Open, Won, Lost), resolution one day.
int OffStage(int32_t s, StageField f) { return raw_indicators::OffStage(0, s, f); }
int OffCohort(CohortField f) { return raw_indicators::OffCohort(0, f); }
int OffCell(CellField f) { return raw_indicators::OffCell(0, f); }
std::string RawIndicators(const std::vector<std::string>& units, const std::vector<RawCell>& cells,
                          const std::vector<DurationBin>& bins = {}) {
  return raw_indicators::RawIndicators(units, cells, bins, {"rep", {}, Days(1)});
}

void ExpectTableOverflow(const Indicators& x, const std::vector<std::string>& words) {
  auto t = MakeTable(x);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  for (const std::string& w : words) {
    EXPECT_NE(std::string(t.status().message()).find(w), std::string::npos)
        << "'" << w << "' not in: " << t.status().message();
  }
}

TEST(IndicatorTableOverflow, AllPeriodSumsAreOutOfRangeNamingUnitAndField) {
  // bo: progressed 2^62 in January and in February (2^63 together); ana is harmless.
  constexpr int64_t kHalf = int64_t{1} << 62;
  const Indicators c = MustParseInd(RawIndicators(
      {"ana", "bo"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {}},
                      {1, kJanuary, {{OffCell(kProgressed), kHalf}}, {}},
                      {1, kJanuary + 1, {{OffCell(kProgressed), kHalf}}, {}}}));
  ExpectTableOverflow(c, {"unit 'bo', period all: summing the periods would overflow the count of progressed"});
  // Without the "all" period, every row fits.
  TableOptions no_all;
  no_all.include_all_periods = false;
  EXPECT_TRUE(MakeTable(c, no_all).ok());
  // Stage and cohort counts, and dollar sums.
  const Indicators s = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffStage(1, kEntries), kMax64}}, {}}, {0, kJanuary + 2, {{OffStage(1, kEntries), 1}}, {}}}));
  ExpectTableOverflow(s, {"unit 'ana', period all", "count of entries:Won"});
  const Indicators k = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCohort(kPending), kMax64}}, {}}, {0, kJanuary + 1, {{OffCohort(kPending), 1}}, {}}}));
  ExpectTableOverflow(k, {"unit 'ana', period all", "count of pending:Open"});
  const Indicators d = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {{OffDollar(kWonDollars), kMax128}}},
                {0, kJanuary + 1, {{OffCell(kWon), 1}}, {{OffDollar(kWonDollars), 1}}}}));
  ExpectTableOverflow(d, {"unit 'ana', period all", "dollar sum of won_dollars"});
  const Indicators e = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {{0, kMax128}}},  // dollars_entered:Open
                {0, kJanuary + 1, {{OffCell(kWon), 1}}, {{0, Int128{1}}}}}));
  ExpectTableOverflow(e, {"unit 'ana', period all", "dollar sum of dollars_entered:Open"});
  // Histogram bins of one (stage, bucket) over the periods.
  const Indicators b = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {}}, {0, kJanuary + 1, {{OffCell(kWon), 1}}, {}}},
      {{0, 0, 4, kHalf, 0}, {1, 0, 4, kHalf, 0}}));
  ExpectTableOverflow(b, {"unit 'ana', period all", "observed durations", "bucket 4"});
}

TEST(IndicatorTableOverflow, SumsWithinOneCellAreChecked) {
  // won + lost (win_rate's n): one cell, no "all" needed.
  TableOptions no_all;
  no_all.include_all_periods = false;
  const Indicators w = MustParseInd(
      RawIndicators({"ana"}, {{0, kJanuary, {{OffCell(kWon), kMax64}, {OffCell(kLost), 1}}, {}}}));
  auto t = MakeTable(w, no_all);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("unit 'ana', period 2026-01"), std::string::npos) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("won + lost"), std::string::npos) << t.status();
  // won_dollars + lost_dollars (win_rate_value) in Int128.
  const Indicators v = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {{OffDollar(kWonDollars), kMax128}, {OffDollar(kLostDollars), 1}}}}));
  t = MakeTable(v, no_all);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("won_dollars + lost_dollars"), std::string::npos) << t.status();
  // advanced + failed (conversion's n).
  const Indicators c = MustParseInd(
      RawIndicators({"ana"}, {{0, kJanuary, {{OffCohort(kAdvanced), kMax64}, {OffCohort(kFailed), kMax64}}, {}}}));
  t = MakeTable(c, no_all);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("conversion:Open"), std::string::npos) << t.status();
  // The open deals: created INT64_MAX in January, 1 more in February.
  const Indicators o = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kCreated), kMax64}}, {}}, {0, kJanuary + 1, {{OffCell(kCreated), 1}}, {}}}));
  t = MakeTable(o, no_all);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("unit 'ana', period 2026-02"), std::string::npos) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("open_end"), std::string::npos) << t.status();
  // A bin's observed + censored (the visits behind a median).
  const Indicators h = MustParseInd(
      RawIndicators({"ana"}, {{0, kJanuary, {{OffCell(kWon), 1}}, {}}}, {{0, -1, 2, kMax64, 1}}));
  t = MakeTable(h, no_all);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kOutOfRange) << t.status();
  EXPECT_NE(std::string(t.status().message()).find("visits"), std::string::npos) << t.status();
}

TEST(IndicatorTableOverflow, SumsUpToTheLimitAreExact) {
  // progressed: INT64_MAX - 1 in January, 1 in February: "all" holds INT64_MAX exactly.
  // created INT64_MAX - 1 then 1, won 1 in March: open_end INT64_MAX - 1, INT64_MAX, then
  // INT64_MAX - 1.
  const Indicators x = MustParseInd(RawIndicators(
      {"ana"}, {{0, kJanuary, {{OffCell(kProgressed), kMax64 - 1}, {OffCell(kCreated), kMax64 - 1}}, {}},
                {0, kJanuary + 1, {{OffCell(kProgressed), 1}, {OffCell(kCreated), 1}}, {}},
                {0, kJanuary + 2, {{OffCell(kWon), 1}}, {}}}));
  auto t = MakeTable(x);
  ASSERT_TRUE(t.ok()) << t.status();
  auto row = [&](const std::string& period, const std::string& indicator) {
    for (size_t i = 0; i < t->size(); ++i) {
      if (t->period_labels[static_cast<size_t>(t->period[i])] == period &&
          t->indicator_names[static_cast<size_t>(t->indicator[i])] == indicator) {
        return i;
      }
    }
    ADD_FAILURE() << period << " " << indicator;
    return size_t{0};
  };
  EXPECT_EQ(t->n[row("all", "progressed")], kMax64);
  EXPECT_EQ(t->n[row("all", "created")], kMax64);
  EXPECT_EQ(t->n[row("2026-01", "open_end")], kMax64 - 1);
  EXPECT_EQ(t->n[row("2026-02", "open_end")], kMax64);
  EXPECT_EQ(t->n[row("2026-03", "open_end")], kMax64 - 1);
  EXPECT_EQ(t->n[row("all", "open_end")], kMax64 - 1);
}

}  // namespace
}  // namespace salesperf
