// The stage engine on hand-sized logs whose answers are derived by hand (comments),
// and on the synthetic company against an independent count.
#include "salesperf/timelines.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/synth.h"

namespace salesperf {
namespace {

constexpr int64_t kDay = Days(1);
constexpr int64_t kT0 = 20454LL * kDay;  // 2026-01-01T00:00:00Z

struct Row {
  std::string deal;
  int64_t day;  // days after kT0 (fractions via hours below)
  std::string action;
  std::string contact = "";
  std::string role = "";
  double amount = 100;
  int64_t hours = 0;
};

// Builds an EventLog from rows; buyer actions unless listed as seller/system.
class TinyLog {
 public:
  explicit TinyLog(std::vector<Row> rows) : rows_(std::move(rows)) {
    for (auto a : {"reply", "state_need", "share_budget", "request_proposal", "sign", "decline",
                   "rescope", "meeting", "spam", "cancel"}) {
      (void)vocab_.Add(a, Actor::kBuyer);
    }
    for (auto a : {"call", "email"}) (void)vocab_.Add(a, Actor::kSeller);
    (void)vocab_.Add("created", Actor::kSystem);
    for (const Row& r : rows_) {
      deal_.push_back(Code(deals_, r.deal));
      time_.push_back(kT0 + r.day * kDay + r.hours * Hours(1));
      action_.push_back(Code(actions_, r.action));
      contact_.push_back(r.contact.empty() ? -1 : Code(contacts_, r.contact));
      role_.push_back(r.role.empty() ? -1 : Code(roles_, r.role));
      amount_.push_back(r.amount);
    }
    EventColumns in;
    in.deal = IdColumn::Coded(deal_, deals_);
    in.time = time_;
    in.action = IdColumn::Coded(action_, actions_);
    in.contact = IdColumn::Coded(contact_, contacts_);
    in.contact_role = IdColumn::Coded(role_, roles_);
    in.amount = amount_;
    auto out = Ingest(in, vocab_);
    EXPECT_TRUE(out.ok()) << out.status();
    log_ = std::move(out->log);
  }
  const EventLog& log() const { return log_; }

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

Timelines RunModel(const StageModel& model, const EventLog& log, RunOptions options = {}) {
  auto machine = Compile(model, log);
  EXPECT_TRUE(machine.ok()) << machine.status();
  auto t = RunStages(*machine, log, options);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

// (from, to, kind) of deal d's transitions, stage names; "-" for none.
std::vector<std::string> Moves(const Timelines& t, int32_t d) {
  std::vector<std::string> out;
  for (size_t i = 0; i < t.transitions.size(); ++i) {
    if (t.transitions.deal[i] != d) continue;
    auto name = [&](int32_t s) { return s < 0 ? std::string("-") : t.stage_names[static_cast<size_t>(s)]; };
    out.push_back(name(t.transitions.from[i]) + ">" + name(t.transitions.to[i]) + ":" +
                  std::string(TransitionKindName(static_cast<TransitionKind>(t.transitions.kind[i]))) +
                  (t.transitions.in_window[i] ? "" : "(late)"));
  }
  return out;
}

using Strings = std::vector<std::string>;

StageModel Ladder() {
  StageModel m;
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Qualified").Any({"state_need"});
  m.AddStage("Proposal").Any({"request_proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  return m;
}

TEST(Stages, ProgressWinAndLoseWithReason) {
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "call"}, {"a", 2, "state_need"}, {"a", 3, "request_proposal"},
             {"a", 5, "sign"}, {"b", 0, "reply"}, {"b", 4, "decline"}});
  Timelines r = RunModel(Ladder(), t.log());
  EXPECT_EQ(Moves(r, 0), (Strings{"->Engaged:progressed", "Engaged>Qualified:progressed",
                                  "Qualified>Proposal:progressed", "Proposal>Won:won"}));
  EXPECT_EQ(r.outcome[0], static_cast<uint8_t>(Outcome::kWon));
  EXPECT_EQ(r.outcome_time[0], kT0 + 5 * kDay);
  EXPECT_EQ(r.current_stage[0], 2);  // closed from Proposal
  EXPECT_EQ(r.outcome[1], static_cast<uint8_t>(Outcome::kLost));
  EXPECT_EQ(t.log().actions().Label(r.lost_reason[1]), "decline");
  // first_entered / last_left: deal a entered Qualified on day 2 and left it on day 3.
  EXPECT_EQ(r.first_entered[0 * 5 + 1], kT0 + 2 * kDay);
  EXPECT_EQ(r.last_left[0 * 5 + 1], kT0 + 3 * kDay);
  EXPECT_EQ(r.first_entered[0 * 5 + 3], kT0 + 5 * kDay);  // Won
  EXPECT_EQ(r.first_entered[1 * 5 + 2], kNullInstant);    // b never reached Proposal
  EXPECT_EQ(r.value[0], 100);
}

TEST(Stages, StrictOrderingBlocksASkipThatSkipPolicyRecords) {
  // A proposal request before any need: strict ignores it; the later need progresses.
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "request_proposal"}, {"a", 2, "state_need"}});
  EXPECT_EQ(Moves(RunModel(Ladder(), t.log()), 0),
            (Strings{"->Engaged:progressed", "Engaged>Qualified:progressed"}));
  StageModel skip = Ladder();
  skip.SetOrdering(Ordering::kSkip);
  EXPECT_EQ(Moves(RunModel(skip, t.log()), 0),
            (Strings{"->Engaged:progressed", "Engaged>Proposal:skipped"}));
  // An optional Qualified may be passed over under strict ordering.
  StageModel optional = Ladder();
  optional.mutable_stages()[1].Optional();
  EXPECT_EQ(Moves(RunModel(optional, t.log()), 0),
            (Strings{"->Engaged:progressed", "Engaged>Proposal:skipped"}));
}

TEST(Stages, AllWithinAWindow) {
  StageModel m;
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Qualified").All({{"state_need"}, {"share_budget"}}, Days(30));
  // Need on day 1, budget on day 40: 39 days apart, no. Need again on day 45: the
  // budget (day 40) is 5 days before it, so Qualified is entered on day 45.
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "state_need"}, {"a", 40, "share_budget"},
             {"a", 45, "state_need"}});
  Timelines r = RunModel(m, t.log());
  EXPECT_EQ(r.first_entered[1], kT0 + 45 * kDay);
}

TEST(Stages, SequenceNeedsTheOrder) {
  StageModel m;
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Proposal").Sequence({{"state_need"}, {"request_proposal"}}, Days(10));
  // Request (day 1) before need (day 2): no. Request on day 20: 18 days after the
  // need, outside 10 days: no. Need day 25, request day 30: yes.
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "request_proposal"}, {"a", 2, "state_need"},
             {"a", 20, "request_proposal"}, {"a", 25, "state_need"}, {"a", 30, "request_proposal"}});
  EXPECT_EQ(RunModel(m, t.log()).first_entered[1], kT0 + 30 * kDay);
}

TEST(Stages, CountAndDistinctContacts) {
  StageModel m;
  m.AddStage("Engaged").DistinctContacts({"reply"}, 2, Days(14));
  m.AddStage("Deep").Count({"meeting"}, 2, Days(7));
  // Same contact twice (days 0, 1): one contact. Second contact on day 20: the first
  // contact's last reply (day 1) is 19 days old: still one. Day 22, contact x again:
  // x (22) and y (20) within 14 days: Engaged on day 22.
  // Meetings on days 23 and 31 (8 days apart): no; day 33: 31 and 33 within 7: yes.
  TinyLog t({{"a", 0, "reply", "x"}, {"a", 1, "reply", "x"}, {"a", 20, "reply", "y"},
             {"a", 22, "reply", "x"}, {"a", 23, "meeting"}, {"a", 31, "meeting"}, {"a", 33, "meeting"}});
  Timelines r = RunModel(m, t.log());
  EXPECT_EQ(r.first_entered[0], kT0 + 22 * kDay);
  EXPECT_EQ(r.first_entered[1], kT0 + 33 * kDay);
}

TEST(Stages, RoleAndAmountConditions) {
  StageModel m;
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Champion").Any({"meeting"}).Roles({"decision_maker"}).Amount(1000, std::nullopt);
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "meeting", "u", "user", 5000},
             {"a", 2, "meeting", "d", "decision_maker", 500},
             {"a", 3, "meeting", "d", "decision_maker", 5000}});
  EXPECT_EQ(RunModel(m, t.log()).first_entered[1], kT0 + 3 * kDay);
}

TEST(Stages, RegressionPolicies) {
  TinyLog t({{"a", 0, "reply"}, {"a", 1, "state_need"}, {"a", 2, "request_proposal"},
             {"a", 3, "rescope"}, {"a", 4, "request_proposal"}});
  StageModel record = Ladder();
  record.SetRegression(Regression::kRecord);
  StageRule rescope;
  rescope.filters = {{"rescope"}};
  record.Regress(rescope, "Qualified");
  Timelines r = RunModel(record, t.log());
  EXPECT_EQ(Moves(r, 0), (Strings{"->Engaged:progressed", "Engaged>Qualified:progressed",
                                  "Qualified>Proposal:progressed", "Proposal>Qualified:regressed",
                                  "Qualified>Proposal:progressed"}));
  EXPECT_EQ(r.first_entered[2], kT0 + 2 * kDay);  // first entry kept
  EXPECT_EQ(r.last_left[2], kT0 + 3 * kDay);

  StageModel follow = record;
  follow.SetRegression(Regression::kFollow);
  EXPECT_EQ(Moves(RunModel(follow, t.log()), 0).size(), 4u);  // the move back is silent

  StageModel latch = record;
  latch.SetRegression(Regression::kLatch);
  auto machine = Compile(latch, t.log());
  ASSERT_FALSE(machine.ok());
  EXPECT_NE(machine.status().message().find("latch"), std::string::npos);
}

TEST(Stages, ExclusionReopenAndWindows) {
  StageModel m = Ladder();
  m.Exclude({"spam"});
  m.SetReopen(Reopen::kAllow);
  m.mutable_stages()[0].Window(Days(5));
  // a: engaged day 0, need on day 9 (window 5d: late), lost day 10, replies day 12:
  // reopened into Engaged. b: excluded on day 1; its later events are ignored.
  TinyLog t({{"a", 0, "reply"}, {"a", 9, "state_need"}, {"a", 10, "decline"}, {"a", 12, "reply"},
             {"b", 0, "reply"}, {"b", 1, "spam"}, {"b", 2, "state_need"}});
  Timelines r = RunModel(m, t.log());
  EXPECT_EQ(Moves(r, 0), (Strings{"->Engaged:progressed", "Engaged>Qualified:progressed(late)",
                                  "Qualified>Lost:lost", "Lost>Engaged:reopened"}));
  EXPECT_EQ(r.outcome[0], static_cast<uint8_t>(Outcome::kOpen));
  EXPECT_EQ(r.current_stage[0], 0);
  EXPECT_EQ(Moves(r, 1), (Strings{"->Engaged:progressed", "Engaged>-:excluded"}));
  EXPECT_EQ(r.outcome[1], static_cast<uint8_t>(Outcome::kExcluded));
  EXPECT_EQ(r.current_stage[1], 0);
}

TEST(Stages, StallsFixedPercentileAndClosing) {
  StageModel m = Ladder();
  m.mutable_stages()[0].StallAfter(Days(10));
  m.CloseStalledAfter(Days(5));
  // as_of = day 30. a: engaged day 0, a seller call on day 25 does not count:
  // quiet since day 0, stalled since day 10, closed as lost on day 15.
  // b: engaged day 0, replies again day 18: quiet since 18, stalled since 28 (open
  // deal, not yet closed: 28 + 5 > 30). c: engaged day 25: not stalled.
  TinyLog t({{"a", 0, "reply"}, {"a", 25, "call"}, {"b", 0, "reply"}, {"b", 18, "reply"},
             {"c", 25, "reply"}, {"c", 30, "call"}});
  Timelines r = RunModel(m, t.log());
  EXPECT_EQ(r.as_of, kT0 + 30 * kDay);
  EXPECT_EQ(r.outcome[0], static_cast<uint8_t>(Outcome::kLost));
  EXPECT_EQ(r.lost_reason[0], kReasonStalled);
  EXPECT_EQ(r.outcome_time[0], kT0 + 15 * kDay);
  EXPECT_EQ(Moves(r, 0).back(), "Engaged>Lost:lost");
  EXPECT_EQ(r.outcome[1], static_cast<uint8_t>(Outcome::kStalled));
  EXPECT_EQ(r.outcome_time[1], kT0 + 28 * kDay);
  EXPECT_EQ(r.outcome[2], static_cast<uint8_t>(Outcome::kOpen));

  // Percentile: completed Engaged visits last 1, 2, 3 and 10 days; the 50th
  // percentile (numpy linear) is 2.5 days. d has been quiet 3 days: stalled.
  StageModel p = Ladder();
  p.mutable_stages()[0].StallAtPercentile(50);
  TinyLog u({{"a", 0, "reply"}, {"a", 1, "state_need"}, {"b", 0, "reply"}, {"b", 2, "state_need"},
             {"c", 0, "reply"}, {"c", 3, "state_need"}, {"e", 0, "reply"}, {"e", 10, "state_need"},
             {"d", 7, "reply"}, {"d", 10, "call"}});
  Timelines q = RunModel(p, u.log());
  EXPECT_EQ(q.stall_limit[0], Days(2) + Hours(12));
  EXPECT_EQ(q.outcome[4], static_cast<uint8_t>(Outcome::kStalled));  // deal d
}

TEST(Stages, CompileErrorsNameTheStageAndRule) {
  TinyLog t({{"a", 0, "reply"}});
  auto error = [&](const StageModel& m) {
    auto c = Compile(m, t.log());
    EXPECT_FALSE(c.ok());
    return std::string(c.status().message());
  };
  StageModel seller;
  seller.AddStage("Engaged").Any({"reply"});
  seller.AddStage("Worked").Any({"call"});
  EXPECT_EQ(error(seller),
            "stage 'Worked', rule 1 (any): action 'call' is a seller action: seller activity is "
            "effort, not progress, and never advances a stage");
  StageModel unknown;
  unknown.AddStage("Engaged").Any({"wave"});
  EXPECT_EQ(error(unknown), "stage 'Engaged', rule 1 (any): action 'wave' is not in the vocabulary");
  StageModel conflict = Ladder();
  conflict.Lost().Any({"sign"});
  EXPECT_EQ(error(conflict),
            "Won and Lost rules both use action 'sign': one event cannot both win and lose");
  StageModel empty = Ladder();
  empty.AddStage("Signed");
  EXPECT_EQ(error(empty), "stage 'Signed' has no rule: it can never be entered");
}

TEST(Stages, SyntheticCompanyStageCountsMatchAnIndependentCount) {
  SynthOptions o;
  o.events = 200'000;
  o.seed = 3;
  auto company = GenerateCompany(o);
  ASSERT_TRUE(company.ok());
  auto ingested = Ingest(company->columns(), company->vocabulary());
  ASSERT_TRUE(ingested.ok());
  const EventLog& log = ingested->log;
  StageModel m;
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged").Any({"reply"});
  m.AddStage("Qualified").Any({"state_need"});
  m.AddStage("Budget").Any({"share_budget"});
  m.AddStage("Proposal").Any({"request_proposal"});
  m.AddStage("Commit").Any({"verbal_commit"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  RunOptions one, two;
  one.threads = 1;
  two.threads = 2;
  Timelines r = RunModel(m, log, one);
  EXPECT_TRUE(r == RunModel(m, log, two));
  // The generator climbs the ladder one stage at a time, so a deal enters a stage iff
  // it has that stage's action: count deals per action directly.
  std::map<std::string, std::vector<uint8_t>> has;
  for (int64_t k = 0; k < log.size(); ++k) {
    auto& v = has[log.actions().Label(log.action()[static_cast<size_t>(k)])];
    v.resize(static_cast<size_t>(log.num_deals()));
    v[static_cast<size_t>(log.deal()[static_cast<size_t>(k)])] = 1;
  }
  const Strings stage_actions = {"opportunity_created", "reply", "state_need", "share_budget",
                                 "request_proposal", "verbal_commit", "sign", "decline"};
  for (size_t s = 0; s < stage_actions.size(); ++s) {
    int64_t expected = 0, got = 0;
    for (int32_t d = 0; d < log.num_deals(); ++d) {
      expected += has[stage_actions[s]].empty() ? 0 : has[stage_actions[s]][static_cast<size_t>(d)];
      got += r.first_entered[static_cast<size_t>(d) * 8 + s] != kNullInstant;
    }
    EXPECT_EQ(got, expected) << stage_actions[s];
    EXPECT_GT(got, 0) << stage_actions[s];
  }
}

}  // namespace
}  // namespace salesperf

namespace salesperf {
namespace {

TEST(Stages, UpdateAfterAppendEqualsAFullRun) {
  // Base: days 0-9; batch: days 8-40 (days 8-9 repeat base rows), with a new deal c.
  std::vector<Row> base_rows = {{"a", 0, "reply"}, {"a", 3, "state_need"}, {"b", 1, "reply"},
                                {"b", 8, "state_need"}, {"a", 9, "call"}};
  std::vector<Row> batch_rows = {{"b", 8, "state_need"}, {"a", 9, "call"}, {"a", 12, "decline"},
                                 {"a", 14, "reply"}, {"c", 20, "reply"}, {"b", 40, "call"}};
  std::vector<Row> all_rows = base_rows;
  all_rows.insert(all_rows.end(), batch_rows.begin() + 2, batch_rows.end());
  TinyLog base(base_rows), batch(batch_rows), all(all_rows);
  StageModel m = Ladder();
  m.SetReopen(Reopen::kAllow);
  m.mutable_stages()[1].StallAfter(Days(10));
  m.CloseStalledAfter(Days(5));

  auto grown = AppendEvents(base.log(), batch.log());
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(grown->duplicate_rows, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(grown->touched_deals, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(grown->log.size(), all.log().size());
  EXPECT_EQ(grown->log.deals().strings(), all.log().deals().strings());

  Timelines previous = RunModel(m, base.log());
  auto machine = Compile(m, grown->log);
  ASSERT_TRUE(machine.ok());
  // b stalled in Qualified at day 18 and was closed on day 23 by the full run; in the
  // base it was only 1 day quiet. a was lost, then reopened.
  auto updated = UpdateStages(*machine, grown->log, previous, grown->touched_deals);
  ASSERT_TRUE(updated.ok()) << updated.status();
  Timelines full = RunModel(m, grown->log);
  EXPECT_TRUE(*updated == full);
  EXPECT_EQ(full.lost_reason[1], kReasonStalled);
  // Only deal c touched: a and b come from `previous`, their stalls judged anew.
  std::vector<int32_t> only_c = {2};
  auto partial = UpdateStages(*machine, grown->log, RunModel(m, grown->log), only_c);
  ASSERT_TRUE(partial.ok());
  EXPECT_TRUE(*partial == full);
}

TEST(Stages, AppendRejectsLogsThatDoNotFit) {
  TinyLog base({{"a", 0, "reply"}});
  EventColumns in;
  std::vector<int64_t> deal = {1}, time = {kT0}, action = {0};
  std::vector<std::string> labels = {"reply"};
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  Vocabulary seller;
  ASSERT_TRUE(seller.Add("reply", Actor::kSeller).ok());
  auto batch = Ingest(in, seller);
  ASSERT_TRUE(batch.ok());
  auto grown = AppendEvents(base.log(), batch->log);
  ASSERT_FALSE(grown.ok());
  EXPECT_EQ(grown.status().message(), "column 'contact' is in one log but not the other");
  Vocabulary buyer;
  ASSERT_TRUE(buyer.Add("reply", Actor::kBuyer).ok());
  auto same_shape = Ingest(in, buyer);
  ASSERT_TRUE(same_shape.ok());
  grown = AppendEvents(same_shape->log, batch->log);
  ASSERT_FALSE(grown.ok());
  EXPECT_EQ(grown.status().message(),
            "column 'action': 'reply' is a seller action in the batch but a buyer action in the "
            "base log");
}

}  // namespace
}  // namespace salesperf
