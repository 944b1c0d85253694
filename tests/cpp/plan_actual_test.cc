// Tests for the plan against actual and the key accounts of salesperf/targets.h: a
// hand-built log whose every figure is derived by hand below (each metric, a period in
// progress, a finished one, one not started, the shape from two history periods and
// its straight-line fallback); the key accounts at the period's boundaries; a slow
// reference written from the header's definitions (std::map per deal) on random logs;
// and the errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/stage_model.h"
#include "salesperf/targets.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::AddRandomDeals;
using test_logs::BuildLog;
using test_logs::BuildLogWith;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::LogColumns;
using test_logs::MustRep;
using test_logs::RandomEntryActions;
using test_logs::Rng;
using test_logs::RunModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t At(int64_t days) { return kT0 + days * kDay; }

// Two open stages: Lead (entered by a reply), Proposal (by a proposal request).
StageModel HandModel() {
  StageModel m;
  m.AddStage("Lead").Any({"reply"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

// as_of = day 170. The first event is day -100.
//   history (organisation) wins:
//   H1 bob reply -100, sign -80 ($1,000)                 Lead D = 20
//   H2 ann reply -95, proposal -90, sign -20 ($3,000)    Lead D = 75, Proposal D = 70
//   H3 bob reply 0, proposal 5, sign 10 ($2,000)         Lead D = 10, Proposal D = 5
//   H4 ann reply 20, proposal 30, sign 75 (no value)     Lead D = 55, Proposal D = 45
//   H5 bob reply 40, decline 50                          lost at Lead
//   H6 bob reply 70, sign 95 ($500)                      Lead D = 25 (skipped Proposal)
//   L2 bob reply 30, proposal 35, decline 45             lost at Proposal
//   period [100, 200) wins:
//   A0 ann reply 80, sign 100 ($1,500)                   Lead D = 20 (a win AT the start)
//   A1 ann reply 90, proposal 100, sign 110 ($4,000)     Lead D = 20, Proposal D = 10
//   A2 ann reply 95, sign 120 (no value)                 Lead D = 25
//   A3 bob reply 100, sign 105 ($700)                    Lead D = 5
//   open at as_of:
//   O1 ann reply 165 ($1,000)                            Lead, waited a = 5
//   O2 ann reply 100, proposal 162 ($2,000)              Proposal, waited a = 8
//   O3 ann reply 10 ($5,000)                             Lead, waited a = 160
//   BO bob reply 128 ($300)                              Lead
std::vector<Ev> HandRows() {
  return {
      {"H1", At(-100), "reply", "bob"}, {"H1", At(-80), "sign", "bob", 1000},
      {"H2", At(-95), "reply", "ann"},  {"H2", At(-90), "proposal", "ann"}, {"H2", At(-20), "sign", "ann", 3000},
      {"H3", At(0), "reply", "bob"},    {"H3", At(5), "proposal", "bob"},   {"H3", At(10), "sign", "bob", 2000},
      {"H4", At(20), "reply", "ann"},   {"H4", At(30), "proposal", "ann"},  {"H4", At(75), "sign", "ann"},
      {"H5", At(40), "reply", "bob"},   {"H5", At(50), "decline", "bob"},
      {"H6", At(70), "reply", "bob"},   {"H6", At(95), "sign", "bob", 500},
      {"L2", At(30), "reply", "bob"},   {"L2", At(35), "proposal", "bob"},  {"L2", At(45), "decline", "bob"},
      {"A0", At(80), "reply", "ann"},   {"A0", At(100), "sign", "ann", 1500},
      {"A1", At(90), "reply", "ann"},   {"A1", At(100), "proposal", "ann"}, {"A1", At(110), "sign", "ann", 4000},
      {"A2", At(95), "reply", "ann"},   {"A2", At(120), "sign", "ann"},
      {"A3", At(100), "reply", "bob"},  {"A3", At(105), "sign", "bob", 700},
      {"O1", At(165), "reply", "ann", 1000},
      {"O2", At(100), "reply", "ann"},  {"O2", At(162), "proposal", "ann", 2000},
      {"O3", At(10), "reply", "ann", 5000},
      {"BO", At(128), "reply", "bob", 300},
  };
}

struct Hand {
  EventLog log;
  Timelines tl;
  Units units;
};

Hand MakeHand() {
  Hand h;
  h.log = BuildLog(HandRows());
  RunOptions run;
  run.as_of = At(170);
  h.tl = RunModel(HandModel(), h.log, run);
  h.units = MustRep(h.log);
  return h;
}

Objective Obj(std::string unit, PlanMetric m, int64_t from_day, int64_t to_day, double target,
              double margin_rate = kNaN) {
  Objective o;
  o.unit = std::move(unit);
  o.metric = m;
  o.period_start = At(from_day);
  o.period_end = At(to_day);
  o.target = target;
  o.margin_rate = margin_rate;
  return o;
}

PlanActual MustPlan(const Hand& h, const std::vector<Objective>& objs, PlanActualOptions o = {}) {
  auto p = PlanVsActual(h.log, h.tl, h.units, objs, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : PlanActual();
}

// Trials (leaks.h, one cohort, every unit). Lead: every deal reached it; advanced =
// the 9 wins + L2 + O2 (reached Proposal) = 11; lost there: H5; O1, O3, BO pending:
// x0 = 11, n0 = 12. Proposal: reached by the 9 wins (H6, A0, A2, A3, H1 skip it and
// count as passing through), L2 and O2; advanced 9, lost L2, O2 pending: x1 = 9, n1 = 10.
// p_win_1 = 0.9; p_win_0 = 11/12 × 0.9 = 0.825.
constexpr double kPWin0 = 0.825, kPWin1 = 0.9;
// Waits D (days) of the organisation's wins: Lead 5,10,20,20,20,25,25,55,75;
// Proposal 5,10,45,70.

TEST(PlanVsActualTest, HandLogInProgressEveryMetric) {
  const Hand h = MakeHand();
  ASSERT_EQ(h.units.names.size(), 2u);
  const std::vector<Objective> objs = {Obj("ann", PlanMetric::kBookings, 100, 200, 20'000),
                                       Obj("ann", PlanMetric::kMargin, 100, 200, 2'000, 0.4),
                                       Obj("ann", PlanMetric::kWins, 100, 200, 10)};
  const PlanActual p = MustPlan(h, objs);
  EXPECT_EQ(p.as_of, At(170));
  ASSERT_EQ(p.stage_win_probability.size(), 2u);
  EXPECT_NEAR(p.stage_win_probability[0], kPWin0, 1e-12);
  EXPECT_NEAR(p.stage_win_probability[1], kPWin1, 1e-12);
  const PlanActualRows& r = p.rows;
  ASSERT_EQ(r.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(p.unit_names[static_cast<size_t>(r.unit[i])], "ann");

  // actual: ann's wins in [100, 200) by as_of 170: A0 (day 100, at the start: counted,
  // $1,500), A1 ($4,000), A2 (no value: 0, unvalued). 3 wins, $5,500.
  // elapsed = (170 - 100) / 100 = 0.7.
  // shape: L = 100 days; period 1 = [0, 100), period 2 = [-100, 0) (starts at the
  // first event, kept); period 3 would start at -200, before it. Offsets / L:
  //   H1 0.2 ($1,000), H2 0.8 ($3,000), H3 0.1 ($2,000), H4 0.75 ($0), H6 0.95 ($500).
  //   bookings: (1000 + 2000) / (1000 + 3000 + 2000 + 0 + 500) = 3000 / 6500 = 6/13;
  //   margin: the same (the rate cancels); wins: (H1, H3) 2 of 5 = 0.4.
  // The pipeline (R = 200 - 170 = 30 days):
  //   O1 Lead, a = 5: D > 5: 8; 5 < D <= 35: 10,20,20,20,25,25 = 6 → p_time 0.75,
  //      q = 0.825 × 0.75 = 0.61875;
  //   O2 Proposal, a = 8: D > 8: 10,45,70 = 3; 8 < D <= 38: 10 → 1/3, q = 0.9 / 3 = 0.3;
  //   O3 Lead, a = 160: no win waited longer → p_time 0, q = 0.
  const double q1 = 0.61875, q2 = 0.3;
  const double var_b = 1000.0 * 1000 * q1 * (1 - q1) + 2000.0 * 2000 * q2 * (1 - q2);  // 1,075,898.4375

  // bookings, target 20,000.
  EXPECT_DOUBLE_EQ(r.target[0], 20'000);
  EXPECT_DOUBLE_EQ(r.actual[0], 5'500);
  EXPECT_DOUBLE_EQ(r.attainment[0], 0.275);
  EXPECT_DOUBLE_EQ(r.elapsed[0], 0.7);
  EXPECT_NEAR(r.shape[0], 6.0 / 13.0, 1e-15);
  EXPECT_NEAR(r.expected_to_date[0], 20'000 * 6.0 / 13.0, 1e-9);
  EXPECT_NEAR(r.pacing[0], 5'500 * 13.0 / 120'000.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.pipeline_value[0], 8'000);  // 1,000 + 2,000 + 5,000
  EXPECT_NEAR(r.weighted_pipeline[0], 1000 * q1 + 2000 * q2, 1e-9);  // 1,218.75
  EXPECT_NEAR(r.forecast[0], 6'718.75, 1e-9);
  EXPECT_NEAR(r.forecast_sd[0], std::sqrt(var_b), 1e-9);
  EXPECT_NEAR(r.forecast_sd[0], std::sqrt(1'075'898.4375), 1e-9);
  EXPECT_NEAR(r.coverage[0], 8'000.0 / 14'500.0, 1e-15);
  EXPECT_NEAR(r.gap[0], 13'281.25, 1e-9);
  EXPECT_EQ(r.won_deals[0], 3);
  EXPECT_EQ(r.unvalued_wins[0], 1);
  EXPECT_EQ(r.open_deals[0], 3);

  // margin at 40%, target 2,000: actual 5,500 × 0.4 = 2,200 (met).
  EXPECT_NEAR(r.actual[1], 2'200, 1e-9);
  EXPECT_NEAR(r.attainment[1], 1.1, 1e-12);
  EXPECT_NEAR(r.shape[1], 6.0 / 13.0, 1e-15);
  EXPECT_NEAR(r.expected_to_date[1], 2'000 * 6.0 / 13.0, 1e-9);
  EXPECT_NEAR(r.pacing[1], 2'200 * 13.0 / 12'000.0, 1e-12);
  EXPECT_NEAR(r.pipeline_value[1], 3'200, 1e-9);  // 8,000 × 0.4 (in margin dollars)
  EXPECT_NEAR(r.weighted_pipeline[1], 487.5, 1e-9);  // 1,218.75 × 0.4
  EXPECT_NEAR(r.forecast[1], 2'687.5, 1e-9);
  EXPECT_NEAR(r.forecast_sd[1], 0.4 * std::sqrt(var_b), 1e-9);
  EXPECT_TRUE(std::isnan(r.coverage[1]));  // the target is met
  EXPECT_NEAR(r.gap[1], -687.5, 1e-9);
  EXPECT_EQ(r.won_deals[1], 3);
  EXPECT_EQ(r.unvalued_wins[1], 1);

  // wins, target 10: actual 3; shape 0.4, expected 4, pacing 0.75; pipeline 3 deals;
  // weighted 0.61875 + 0.3 + 0 = 0.91875.
  EXPECT_DOUBLE_EQ(r.actual[2], 3);
  EXPECT_DOUBLE_EQ(r.attainment[2], 0.3);
  EXPECT_NEAR(r.shape[2], 0.4, 1e-15);
  EXPECT_NEAR(r.expected_to_date[2], 4, 1e-12);
  EXPECT_NEAR(r.pacing[2], 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(r.pipeline_value[2], 3);
  EXPECT_NEAR(r.weighted_pipeline[2], 0.91875, 1e-12);
  EXPECT_NEAR(r.forecast[2], 3.91875, 1e-12);
  EXPECT_NEAR(r.forecast_sd[2], std::sqrt(q1 * (1 - q1) + q2 * (1 - q2)), 1e-12);
  EXPECT_NEAR(r.coverage[2], 3.0 / 7.0, 1e-15);
  EXPECT_NEAR(r.gap[2], 6.08125, 1e-12);
}

TEST(PlanVsActualTest, HandLogFinishedNotStartedAndStraightLine) {
  const Hand h = MakeHand();
  const std::vector<Objective> objs = {
      Obj("ann", PlanMetric::kBookings, 0, 100, 5'000),     // finished at as_of
      Obj("ann", PlanMetric::kBookings, 200, 300, 10'000),  // not started
      Obj("ann", PlanMetric::kBookings, -50, 250, 9'000),   // no whole period after the first event
      Obj("bob", PlanMetric::kWins, 100, 200, 4),
      Obj("bob", PlanMetric::kWins, 100, 200, 1),  // met exactly
  };
  const PlanActual p = MustPlan(h, objs);
  const PlanActualRows& r = p.rows;
  ASSERT_EQ(r.size(), 5u);

  // Finished [0, 100): ann's wins there: H4 (no value) → actual 0, 1 win, 1 unvalued.
  // elapsed 1 → shape 1, expected 5,000, pacing 0. R = 0 (the period is over): every
  // p_time is 0, the forecast is the actual: gap 5,000, sd 0; coverage 8,000 / 5,000.
  EXPECT_DOUBLE_EQ(r.actual[0], 0);
  EXPECT_EQ(r.won_deals[0], 1);
  EXPECT_EQ(r.unvalued_wins[0], 1);
  EXPECT_DOUBLE_EQ(r.elapsed[0], 1);
  EXPECT_DOUBLE_EQ(r.shape[0], 1);
  EXPECT_DOUBLE_EQ(r.expected_to_date[0], 5'000);
  EXPECT_DOUBLE_EQ(r.pacing[0], 0);
  EXPECT_DOUBLE_EQ(r.pipeline_value[0], 8'000);
  EXPECT_DOUBLE_EQ(r.weighted_pipeline[0], 0);
  EXPECT_DOUBLE_EQ(r.forecast[0], 0);
  EXPECT_DOUBLE_EQ(r.forecast_sd[0], 0);
  EXPECT_DOUBLE_EQ(r.coverage[0], 1.6);
  EXPECT_DOUBLE_EQ(r.gap[0], 5'000);

  // Not started [200, 300): actual 0, elapsed 0; shape 0 (history periods [100, 200),
  // [0, 100), [-100, 0) hold wins, none at offset < 0); expected 0 → pacing NaN.
  // R = 300 - 200 = 100 days: O1 (a = 5): 5 < D <= 105 all 8 → 1, q = 0.825;
  // O2 (a = 8): 8 < D <= 108: 3 of 3 → 1, q = 0.9; O3: 0.
  // weighted = 825 + 1,800 = 2,625; gap 7,375; coverage 8,000 / 10,000;
  // sd = sqrt(1000² 0.825 0.175 + 2000² 0.9 0.1) = sqrt(144,375 + 360,000).
  EXPECT_DOUBLE_EQ(r.actual[1], 0);
  EXPECT_EQ(r.won_deals[1], 0);
  EXPECT_DOUBLE_EQ(r.elapsed[1], 0);
  EXPECT_DOUBLE_EQ(r.shape[1], 0);
  EXPECT_DOUBLE_EQ(r.expected_to_date[1], 0);
  EXPECT_TRUE(std::isnan(r.pacing[1]));
  EXPECT_NEAR(r.weighted_pipeline[1], 2'625, 1e-9);
  EXPECT_NEAR(r.forecast[1], 2'625, 1e-9);
  EXPECT_NEAR(r.gap[1], 7'375, 1e-9);
  EXPECT_NEAR(r.coverage[1], 0.8, 1e-15);
  EXPECT_NEAR(r.forecast_sd[1], std::sqrt(144'375.0 + 360'000.0), 1e-9);

  // [-50, 250), L = 300 days: period 1 would start at -350, before the first event
  // (-100): no history, the straight line: shape = elapsed = 220 / 300.
  EXPECT_NEAR(r.elapsed[2], 220.0 / 300.0, 1e-15);
  EXPECT_NEAR(r.shape[2], 220.0 / 300.0, 1e-15);
  // actual: ann's wins in [-50, 250) by 170: H2 3,000, H4 0, A0 1,500, A1 4,000, A2 0.
  EXPECT_DOUBLE_EQ(r.actual[2], 8'500);
  EXPECT_EQ(r.won_deals[2], 5);
  EXPECT_EQ(r.unvalued_wins[2], 2);

  // bob, wins in [100, 200): A3 → 1; his one open deal BO (Lead, a = 42 days): D > 42:
  // 55, 75; 42 < D <= 72: 55 → 1/2; q = 0.825 / 2 = 0.4125.
  EXPECT_DOUBLE_EQ(r.actual[3], 1);
  EXPECT_EQ(r.open_deals[3], 1);
  EXPECT_DOUBLE_EQ(r.pipeline_value[3], 1);
  EXPECT_NEAR(r.weighted_pipeline[3], 0.4125, 1e-12);
  EXPECT_NEAR(r.forecast_sd[3], std::sqrt(0.4125 * 0.5875), 1e-12);
  EXPECT_NEAR(r.coverage[3], 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(r.gap[3], 4 - 1 - 0.4125, 1e-12);
  // Target 1, actual 1: met exactly → coverage NaN; gap 1 - 1.4125.
  EXPECT_DOUBLE_EQ(r.attainment[4], 1);
  EXPECT_TRUE(std::isnan(r.coverage[4]));
  EXPECT_NEAR(r.gap[4], -0.4125, 1e-12);

  // shape_periods = 0: the straight line for the period in progress (elapsed 0.7);
  // shape_periods = 1: only [0, 100): bookings H3 0.1 ($2,000) early; H4 0.75 ($0) and
  // H6 0.95 ($500) late: 2,000 / 2,500 = 0.8.
  PlanActualOptions none;
  none.shape_periods = 0;
  const std::vector<Objective> in_progress = {Obj("ann", PlanMetric::kBookings, 100, 200, 20'000)};
  EXPECT_DOUBLE_EQ(MustPlan(h, in_progress, none).rows.shape[0], 0.7);
  PlanActualOptions one;
  one.shape_periods = 1;
  EXPECT_NEAR(MustPlan(h, in_progress, one).rows.shape[0], 0.8, 1e-15);
  EXPECT_TRUE(MustPlan(h, {}).rows.size() == 0);
}

TEST(PlanVsActualTest, Errors) {
  const Hand h = MakeHand();
  auto expect_error = [&](const Objective& bad, const std::string& field) {
    const std::vector<Objective> objs = {Obj("ann", PlanMetric::kWins, 100, 200, 1), bad};
    auto p = PlanVsActual(h.log, h.tl, h.units, objs);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
    const std::string msg(p.status().message());
    EXPECT_NE(msg.find("objective 1 (unit '" + bad.unit + "')"), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
  };
  expect_error(Obj("zed", PlanMetric::kWins, 100, 200, 1), "unit");
  Objective o = Obj("ann", PlanMetric::kWins, 100, 200, 1);
  o.period_start = kNullInstant;
  expect_error(o, "period_start");
  o = Obj("ann", PlanMetric::kWins, 100, 200, 1);
  o.period_end = kNullInstant;
  expect_error(o, "period_end");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 100, 1), "period_end");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 50, 1), "period_end");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 200, 0), "target");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 200, -5), "target");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 200, kNaN), "target");
  expect_error(Obj("ann", PlanMetric::kWins, 100, 200, std::numeric_limits<double>::infinity()), "target");
  expect_error(Obj("ann", PlanMetric::kMargin, 100, 200, 1), "margin_rate");  // missing
  expect_error(Obj("ann", PlanMetric::kMargin, 100, 200, 1, -0.1), "margin_rate");
  expect_error(Obj("ann", PlanMetric::kMargin, 100, 200, 1, 1.5), "margin_rate");
  o = Obj("ann", PlanMetric::kWins, 100, 200, 1);
  o.metric = static_cast<PlanMetric>(7);
  expect_error(o, "metric");
  // margin rates 0 and 1 are fine; a margin rate on another metric is ignored.
  EXPECT_TRUE(PlanVsActual(h.log, h.tl, h.units,
                           std::vector<Objective>{Obj("ann", PlanMetric::kMargin, 100, 200, 1, 0),
                                                  Obj("ann", PlanMetric::kMargin, 100, 200, 1, 1),
                                                  Obj("ann", PlanMetric::kWins, 100, 200, 1, 7)})
                  .ok());

  PlanActualOptions bad;
  bad.shape_periods = -1;
  auto p = PlanVsActual(h.log, h.tl, h.units, std::vector<Objective>{}, bad);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(p.status().message()).find("shape_periods"), std::string::npos);

  // Timelines or units of another log.
  Units wrong = h.units;
  wrong.of_deal.pop_back();
  p = PlanVsActual(h.log, h.tl, wrong, std::vector<Objective>{});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  wrong = h.units;
  wrong.of_deal[0] = 99;
  p = PlanVsActual(h.log, h.tl, wrong, std::vector<Objective>{});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  Timelines tl = h.tl;
  tl.outcome.pop_back();
  p = PlanVsActual(h.log, tl, h.units, std::vector<Objective>{});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---- Key accounts -----------------------------------------------------------------

// The period is [10, 20).
//   K1 acme   created 5 (ann), call 10 (ann, at `from`: counted), reply 12, sign 15 ($100)
//   K2 acme   created 20 (null account; bob), call 20 (bob, at `to`: not counted) — the
//             account is its first non-null one, acme
//   K3 beta   reply 3, sign 8 ($50) — won before `from`: maintenance; call 19 (bob)
//   K4 gamma  created 10 (opened at `from`), email 25 (ann, after the period)
//   K5 gamma  reply 20 (at `to`: not engaged)
struct KeyHand {
  EventLog log;
  Timelines tl;
};
KeyHand MakeKeyHand() {
  const std::vector<Ev> rows = {
      {"K1", At(5), "created", "ann"}, {"K1", At(10), "call", "ann"}, {"K1", At(12), "reply", "ann"},
      {"K1", At(15), "sign", "ann", 100},
      {"K2", At(20), "created", "bob"}, {"K2", At(20), "call", "bob"},
      {"K3", At(3), "reply", "bob"},   {"K3", At(8), "sign", "bob", 50}, {"K3", At(19), "call", "bob"},
      {"K4", At(10), "created", "ann"}, {"K4", At(25), "email", "ann"},
      {"K5", At(20), "reply", "cy"},
  };
  LogColumns cols;
  cols.account = {"acme", "acme", "", "acme", "", "acme", "beta", "beta", "beta", "gamma", "gamma", "gamma"};
  KeyHand k;
  k.log = BuildLogWith(rows, cols);
  k.tl = RunModel(HandModel(), k.log);
  return k;
}

TEST(KeyAccountProgressTest, HandBoundaries) {
  const KeyHand k = MakeKeyHand();
  const std::vector<KeyAccount> plan = {{"ann", "acme"},  {"bob", "acme"}, {"bob", "beta"},
                                        {"ann", "gamma"}, {"ann", "nowhere"}, {"zed", "acme"}};
  auto got = KeyAccountProgress(k.log, k.tl, plan, At(10), At(20));
  ASSERT_TRUE(got.ok()) << got.status();
  const KeyAccountRows& r = *got;
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r.known, (std::vector<uint8_t>{1, 1, 1, 1, 0, 1}));
  // ann called K1 at 10 (= from); bob's call on K2 is at 20 (= to); bob called K3 at 19;
  // ann's email on K4 is at 25; zed is no rep of the log.
  EXPECT_EQ(r.touched, (std::vector<uint8_t>{1, 0, 1, 0, 0, 0}));
  // acme: K1's reply at 12; beta: K3's reply at 3 (before); gamma: K5's reply at 20 (= to).
  EXPECT_EQ(r.engaged, (std::vector<uint8_t>{1, 1, 0, 0, 0, 1}));
  // acme: K1 first at 5, K2 first at 20: none; gamma: K4 at 10 (= from).
  EXPECT_EQ(r.opened, (std::vector<int64_t>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(r.won, (std::vector<int64_t>{1, 1, 0, 0, 0, 1}));
  EXPECT_EQ(r.won_value, (std::vector<double>{100, 100, 0, 0, 0, 100}));
  EXPECT_EQ(r.kind, (std::vector<std::string>{"new business", "new business", "maintenance", "new business",
                                              "new business", "new business"}));

  // Open from: every kind is "new business"; beta's win at 8 now counts; K2's call at
  // 20 counts with `to` open.
  got = KeyAccountProgress(k.log, k.tl, plan);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kind, std::vector<std::string>(6, "new business"));
  EXPECT_EQ(got->won, (std::vector<int64_t>{1, 1, 1, 0, 0, 1}));
  EXPECT_EQ(got->won_value[2], 50);
  EXPECT_EQ(got->touched, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(got->opened, (std::vector<int64_t>{2, 2, 1, 2, 0, 2}));
  // [20, open): K2's call and creation at 20 count, K5's reply (its first event) at 20 too.
  got = KeyAccountProgress(k.log, k.tl, plan, At(20), kNullInstant);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->touched, (std::vector<uint8_t>{0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(got->engaged, (std::vector<uint8_t>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(got->opened, (std::vector<int64_t>{1, 1, 0, 1, 0, 1}));
  EXPECT_EQ(got->kind, (std::vector<std::string>{"maintenance", "maintenance", "maintenance", "new business",
                                                 "new business", "maintenance"}));
}

TEST(KeyAccountProgressTest, Errors) {
  const KeyHand k = MakeKeyHand();
  const std::vector<KeyAccount> plan = {{"ann", "acme"}};
  auto got = KeyAccountProgress(k.log, k.tl, plan, At(10), At(10));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  got = KeyAccountProgress(k.log, k.tl, plan, At(11), At(10));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  const Hand h = MakeHand();  // no account column
  got = KeyAccountProgress(h.log, h.tl, plan);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(got.status().message()).find("account"), std::string::npos);
  LogColumns cols;
  cols.rep = false;
  cols.account = {"a", "b"};
  const EventLog no_rep = BuildLogWith({{"X", At(0), "reply"}, {"Y", At(1), "reply"}}, cols);
  got = KeyAccountProgress(no_rep, RunModel(HandModel(), no_rep), plan);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(got.status().message()).find("rep"), std::string::npos);
  got = KeyAccountProgress(k.log, h.tl, plan);  // timelines of another log
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---- The slow reference ------------------------------------------------------------

struct RefDeal {
  std::string unit;
  int outcome = 0;
  int64_t outcome_time = kNullInstant;
  double value = kNaN;
  int32_t current = -1;
  std::map<int32_t, int64_t> entered;  // open stage -> first entry
};

struct RefRow {
  double actual = 0, elapsed = 0, shape = 0, pipeline = 0, weighted = 0, var = 0;
  int64_t won = 0, unvalued = 0, open = 0;
};

std::map<std::string, RefDeal> RefDeals(const EventLog& log, const Timelines& tl, const Units& units) {
  std::map<std::string, RefDeal> out;
  const int32_t S = tl.num_stages();
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    RefDeal& r = out[log.deals().Label(d)];
    r.unit = units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])];
    r.outcome = tl.outcome[static_cast<size_t>(d)];
    r.outcome_time = tl.outcome_time[static_cast<size_t>(d)];
    r.value = tl.value[static_cast<size_t>(d)];
    r.current = tl.current_stage[static_cast<size_t>(d)];
    for (int32_t k = 0; k < tl.num_open; ++k) {
      const int64_t t = tl.first_entered[static_cast<size_t>(d * S + k)];
      if (t != kNullInstant) r.entered[k] = t;
    }
  }
  return out;
}

// p_win per open stage, from the fates of leaks.h written out per deal.
std::vector<double> RefPWin(const std::map<std::string, RefDeal>& deals, int32_t O) {
  std::map<int32_t, int64_t> x, n;
  for (const auto& [name, d] : deals) {
    if (d.entered.empty()) continue;
    const int32_t entry = d.entered.begin()->first;
    const int32_t furthest = d.outcome == static_cast<int>(Outcome::kWon) ? O : d.entered.rbegin()->first;
    for (int32_t k = entry; k <= std::min(furthest, O - 1); ++k) {
      if (furthest > k) {
        ++x[k];
        ++n[k];
      } else if (d.outcome == static_cast<int>(Outcome::kLost) || d.outcome == static_cast<int>(Outcome::kStalled)) {
        ++n[k];
      }
    }
  }
  std::vector<double> p(static_cast<size_t>(O));
  for (int32_t k = 0; k < O; ++k) {
    double w = 1;
    for (int32_t j = k; j < O; ++j) w *= n[j] > 0 ? static_cast<double>(x[j]) / static_cast<double>(n[j]) : kNaN;
    p[static_cast<size_t>(k)] = w;
  }
  return p;
}

double RefMetric(const Objective& o, double value) {
  if (o.metric == PlanMetric::kWins) return 1;
  const double v = std::isnan(value) ? 0 : value;
  return o.metric == PlanMetric::kMargin ? v * o.margin_rate : v;
}

RefRow RefObjective(const std::map<std::string, RefDeal>& deals, const std::vector<double>& p_win, int64_t as_of,
                    int64_t first_event, const Objective& o, int32_t shape_periods) {
  RefRow r;
  const int64_t L = o.period_end - o.period_start;
  for (const auto& [name, d] : deals) {
    if (d.unit != o.unit || d.outcome != static_cast<int>(Outcome::kWon)) continue;
    if (d.outcome_time >= o.period_start && d.outcome_time < o.period_end && d.outcome_time <= as_of) {
      r.actual += RefMetric(o, d.value);
      ++r.won;
      if (std::isnan(d.value)) ++r.unvalued;
    }
  }
  r.elapsed = std::min(1.0, std::max(0.0, static_cast<double>(as_of - o.period_start) / static_cast<double>(L)));
  if (r.elapsed == 1) {
    r.shape = 1;
  } else {
    double early = 0, all = 0;
    for (int32_t i = 1; i <= shape_periods; ++i) {
      const int64_t start = o.period_start - i * L;
      if (start < first_event) break;
      for (const auto& [name, d] : deals) {
        if (d.outcome != static_cast<int>(Outcome::kWon)) continue;
        if (d.outcome_time < start || d.outcome_time >= start + L) continue;
        const double m = RefMetric(o, d.value);
        all += m;
        if (static_cast<double>(d.outcome_time - start) / static_cast<double>(L) < r.elapsed) early += m;
      }
    }
    r.shape = all != 0 ? early / all : r.elapsed;
  }
  const int64_t R = as_of >= o.period_end ? 0 : o.period_end - std::max(as_of, o.period_start);
  for (const auto& [name, d] : deals) {
    if (d.unit != o.unit || d.outcome != static_cast<int>(Outcome::kOpen) || d.current < 0) continue;
    const int64_t a = as_of - d.entered.at(d.current);
    int64_t longer = 0, lands = 0;
    for (const auto& [n2, w] : deals) {
      if (w.outcome != static_cast<int>(Outcome::kWon) || !w.entered.count(d.current)) continue;
      const int64_t D = w.outcome_time - w.entered.at(d.current);
      if (D > a) ++longer;
      if (D > a && D <= a + R) ++lands;
    }
    const double p_time = longer == 0 ? 0.0 : static_cast<double>(lands) / static_cast<double>(longer);
    const double q = p_win[static_cast<size_t>(d.current)] * p_time;
    const double c = RefMetric(o, d.value);
    ++r.open;
    r.pipeline += c;
    r.weighted += c * q;
    r.var += c * c * q * (1 - q);
  }
  return r;
}

void ExpectNear(double got, double want, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " got " << got;
    return;
  }
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << what;
}

TEST(PlanVsActualTest, MatchesSlowReferenceOnRandomLogs) {
  int checked = 0, with_open = 0, nan_pwin = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Rng rng(seed * 7919);
    std::vector<Ev> rows;
    const std::vector<std::string> actions = {"created", "reply", "need", "budget", "proposal", "sign",
                                              "decline", "meet", "call", "email", "proposal", "sign"};
    const std::vector<std::string> reps = {"ana", "bo", "cy", ""};
    const int64_t last = AddRandomDeals(rng, actions, reps, 30, 10, rows);
    StageModel model;
    const int64_t open_stages = 1 + rng.Below(3);
    for (int64_t k = 0; k < open_stages; ++k) {
      Stage& st = model.AddStage("S" + std::to_string(k));
      st.Any(RandomEntryActions(rng, {"created", "reply", "need", "budget", "proposal", "meet"}));
      if (rng.Percent(30)) st.StallAfter((1 + rng.Below(20)) * kDay);
      if (rng.Percent(25)) st.Optional();
    }
    model.Won().Any({"sign"});
    model.Lost().Any({"decline"});
    if (rng.Percent(50)) model.SetOrdering(Ordering::kSkip);
    if (rng.Percent(40)) model.SetReopen(Reopen::kAllow);
    const EventLog log = BuildLog(rows);
    RunOptions run;
    run.as_of = rng.Percent(30) ? kT0 + rng.Below(70) * kDay : last + rng.Below(20) * kDay;
    const Timelines tl = RunModel(model, log, run);
    const Units units = MustRep(log);
    std::vector<Objective> objs;
    for (const std::string& u : units.names) {
      for (int i = 0; i < 3; ++i) {
        Objective o;
        o.unit = u;
        o.metric = static_cast<PlanMetric>(rng.Below(3));
        o.period_start = kT0 + (rng.Below(120) - 10) * kDay + rng.Below(24) * 3'600'000'000'000LL;
        o.period_end = o.period_start + (1 + rng.Below(40)) * kDay;
        o.target = 1 + static_cast<double>(rng.Below(200'000));
        if (o.metric == PlanMetric::kMargin) o.margin_rate = static_cast<double>(rng.Below(101)) / 100.0;
        objs.push_back(o);
      }
    }
    PlanActualOptions opt;
    opt.shape_periods = static_cast<int32_t>(rng.Below(10));
    auto got = PlanVsActual(log, tl, units, objs, opt);
    ASSERT_TRUE(got.ok()) << got.status();

    const auto deals = RefDeals(log, tl, units);
    const std::vector<double> p_win = RefPWin(deals, tl.num_open);
    ASSERT_EQ(got->stage_win_probability.size(), p_win.size());
    for (size_t k = 0; k < p_win.size(); ++k) {
      ExpectNear(got->stage_win_probability[k], p_win[k], "p_win");
      nan_pwin += std::isnan(p_win[k]);
    }
    int64_t first_event = std::numeric_limits<int64_t>::max();
    for (const Ev& e : rows) first_event = std::min(first_event, e.time);
    const PlanActualRows& r = got->rows;
    ASSERT_EQ(r.size(), objs.size());
    for (size_t i = 0; i < objs.size(); ++i) {
      const Objective& o = objs[i];
      const RefRow w = RefObjective(deals, p_win, tl.as_of, first_event, o, opt.shape_periods);
      const std::string what = "seed " + std::to_string(seed) + " objective " + std::to_string(i);
      EXPECT_EQ(units.names[static_cast<size_t>(r.unit[i])], o.unit) << what;
      EXPECT_EQ(r.target[i], o.target) << what;
      ExpectNear(r.actual[i], w.actual, what + " actual");
      ExpectNear(r.attainment[i], w.actual / o.target, what + " attainment");
      ExpectNear(r.elapsed[i], w.elapsed, what + " elapsed");
      ExpectNear(r.shape[i], w.shape, what + " shape");
      const double expected = o.target * w.shape;
      ExpectNear(r.expected_to_date[i], expected, what + " expected");
      ExpectNear(r.pacing[i], expected == 0 ? kNaN : w.actual / expected, what + " pacing");
      ExpectNear(r.pipeline_value[i], w.pipeline, what + " pipeline");
      ExpectNear(r.weighted_pipeline[i], w.weighted, what + " weighted");
      ExpectNear(r.forecast[i], w.actual + w.weighted, what + " forecast");
      ExpectNear(r.forecast_sd[i], std::sqrt(w.var), what + " sd");
      ExpectNear(r.coverage[i], w.actual >= o.target ? kNaN : w.pipeline / (o.target - w.actual), what + " coverage");
      ExpectNear(r.gap[i], o.target - w.actual - w.weighted, what + " gap");
      EXPECT_EQ(r.won_deals[i], w.won) << what;
      EXPECT_EQ(r.unvalued_wins[i], w.unvalued) << what;
      EXPECT_EQ(r.open_deals[i], w.open) << what;
      ++checked;
      with_open += w.open > 0 && w.weighted > 0;
    }
  }
  EXPECT_GT(checked, 300);
  EXPECT_GT(with_open, 20);  // the random cases do exercise the pipeline
  EXPECT_GT(nan_pwin, 0);    // and stages without trials
}

TEST(KeyAccountProgressTest, MatchesSlowReferenceOnRandomLogs) {
  int checked = 0, touched = 0, maint = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Rng rng(seed * 104729);
    std::vector<Ev> rows;
    const std::vector<std::string> actions = {"created", "reply", "proposal", "sign", "decline", "call", "email"};
    const std::vector<std::string> reps = {"ana", "bo", "cy", ""};
    AddRandomDeals(rng, actions, reps, 20, 8, rows);
    const std::vector<std::string> accounts = {"", "", "a1", "a2", "a3", "a4"};
    LogColumns cols;
    for (size_t i = 0; i < rows.size(); ++i) cols.account.push_back(rng.Pick(accounts));
    const EventLog log = BuildLogWith(rows, cols);
    const Timelines tl = RunModel(HandModel(), log);
    const int64_t from = rng.Percent(20) ? kNullInstant : kT0 + rng.Below(60) * kDay;
    int64_t to = rng.Percent(20) ? kNullInstant : kT0 + rng.Below(80) * kDay;
    if (from != kNullInstant && to != kNullInstant && to <= from) to = from + (1 + rng.Below(20)) * kDay;
    std::vector<KeyAccount> plan;
    for (const std::string rep : {"ana", "bo", "cy", "zed"}) {
      for (const std::string acc : {"a1", "a2", "a3", "a4", "a9"}) plan.push_back({rep, acc});
    }
    auto got = KeyAccountProgress(log, tl, plan, from, to);
    ASSERT_TRUE(got.ok()) << got.status();

    // The reference: each deal's account from its rows in time order (BuildLogWith
    // keeps the deal's rows in order; ties keep input order), then every pair by a loop.
    auto in = [&](int64_t t) {
      return t != kNullInstant && (from == kNullInstant || t >= from) && (to == kNullInstant || t < to);
    };
    std::map<std::string, std::vector<const Ev*>> by_deal;
    std::map<std::string, std::string> acc_of;
    std::map<const Ev*, std::string> row_acc;
    for (size_t i = 0; i < rows.size(); ++i) {
      by_deal[rows[i].deal].push_back(&rows[i]);
      row_acc[&rows[i]] = cols.account[i];
    }
    for (auto& [deal, evs] : by_deal) {
      std::stable_sort(evs.begin(), evs.end(), [](const Ev* a, const Ev* b) { return a->time < b->time; });
      for (const Ev* e : evs) {
        if (!row_acc[e].empty()) {
          acc_of[deal] = row_acc[e];
          break;
        }
      }
    }
    const auto tl_deals = RefDeals(log, tl, MustRep(log));
    std::set<std::string> known(accounts.begin(), accounts.end());
    known.clear();
    for (const auto& a : cols.account) {
      if (!a.empty()) known.insert(a);
    }
    for (size_t i = 0; i < plan.size(); ++i) {
      const KeyAccount& ka = plan[i];
      bool t = false, e = false, maintenance = false;
      int64_t opened = 0, won = 0;
      double value = 0;
      for (const auto& [deal, evs] : by_deal) {
        if (!acc_of.count(deal) || acc_of[deal] != ka.account) continue;
        if (in(evs.front()->time)) ++opened;
        for (const Ev* ev : evs) {
          if (!in(ev->time)) continue;
          const bool seller = ev->action == "call" || ev->action == "email";
          const bool buyer = ev->action == "reply" || ev->action == "proposal" || ev->action == "sign" ||
                             ev->action == "decline";
          if (seller && ev->rep == ka.rep) t = true;
          if (buyer) e = true;
        }
        const RefDeal& d = tl_deals.at(deal);
        if (d.outcome == static_cast<int>(Outcome::kWon)) {
          if (in(d.outcome_time)) {
            ++won;
            value += std::isnan(d.value) ? 0 : d.value;
          }
          if (from != kNullInstant && d.outcome_time < from) maintenance = true;
        }
      }
      const std::string what = "seed " + std::to_string(seed) + " " + ka.rep + "/" + ka.account;
      EXPECT_EQ(got->known[i], known.count(ka.account) ? 1 : 0) << what;
      EXPECT_EQ(got->touched[i], t ? 1 : 0) << what;
      EXPECT_EQ(got->engaged[i], e ? 1 : 0) << what;
      EXPECT_EQ(got->opened[i], opened) << what;
      EXPECT_EQ(got->won[i], won) << what;
      EXPECT_NEAR(got->won_value[i], value, 1e-6) << what;
      EXPECT_EQ(got->kind[i], maintenance ? "maintenance" : "new business") << what;
      ++checked;
      touched += t;
      maint += maintenance;
    }
  }
  EXPECT_GE(checked, 1200);
  EXPECT_GT(touched, 50);
  EXPECT_GT(maint, 20);
}

}  // namespace
}  // namespace salesperf
