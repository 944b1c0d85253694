// Tests for salesperf/deviance.h part 2 (AssessBehaviours): hand-built logs where each
// feature sits on its boundary (one deal per rep, so the per-unit counts read off each
// deal's features), trials and non-trials, a two-stratum Mantel–Haenszel / RBG / CMH
// case derived by hand, Benjamini–Hochberg by hand with a tie, min_support and fdr
// boundaries, replicate / avoid, deviant shares, sentences verbatim, every bad option;
// and a slow reference (std::map and std::set per deal and stage, written apart from
// the library) of every count and statistic on 120 random logs and on the synthetic
// company.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "salesperf/deviance.h"
#include "salesperf/state.h"
#include "salesperf/stage_model.h"
#include "salesperf/synth.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::kDay;
using test_logs::kT0;
using test_logs::MustRep;
using test_logs::Rng;
using test_logs::RunModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kHour = Hours(1);
constexpr double kZ95 = 1.959963984540054;  // Φ⁻¹(0.975)

// ---- Logs with contacts and roles ------------------------------------------------------

struct Row {
  std::string deal;
  int64_t time;
  std::string action;
  std::string rep;
  std::string contact = "";  // "" = null
  std::string role = "";     // "" = null
};

// test_logs' vocabulary plus a seller "meeting".
Vocabulary Vocab() {
  Vocabulary v = test_logs::TestVocabulary();
  (void)v.Add("meeting", Actor::kSeller);
  return v;
}

struct Cols {
  bool contact = true;
  bool role = true;
};

EventLog Build(const std::vector<Row>& rows, Cols cols = {}) {
  std::vector<std::string> deals, actions, reps, contacts, roles;
  std::vector<int64_t> deal, time, action, rep, contact, role;
  for (const Row& r : rows) {
    deal.push_back(test_logs::CodeOf(deals, r.deal));
    time.push_back(r.time);
    action.push_back(test_logs::CodeOf(actions, r.action));
    rep.push_back(r.rep.empty() ? -1 : test_logs::CodeOf(reps, r.rep));
    contact.push_back(r.contact.empty() ? -1 : test_logs::CodeOf(contacts, r.contact));
    role.push_back(r.role.empty() ? -1 : test_logs::CodeOf(roles, r.role));
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, deals);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  if (cols.contact) in.contact = IdColumn::Coded(contact, contacts);
  if (cols.role) in.contact_role = IdColumn::Coded(role, roles);
  auto out = Ingest(in, Vocab());
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? std::move(out->log) : EventLog();
}

// Lead (reply), Qualified (need), Proposal (proposal); Won on sign, Lost on decline,
// spam excludes. Proposal may stall after 30 days; `skip` lets deals skip stages.
StageModel Model(bool skip = false) {
  StageModel m;
  m.AddStage("Lead").Any({"reply"});
  m.AddStage("Qualified").Any({"need"});
  m.AddStage("Proposal").Any({"proposal"}).StallAfter(Days(30));
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.Exclude({"spam"});
  if (skip) m.SetOrdering(Ordering::kSkip);
  return m;
}

RunOptions AsOf100() {
  RunOptions r;
  r.as_of = kT0 + Days(100);
  return r;
}

struct Fixture {
  EventLog log;
  Timelines tl;
  Units units;
};

Fixture MakeRun(const std::vector<Row>& rows, Cols cols = {}, bool skip = false) {
  Fixture r;
  r.log = Build(rows, cols);
  r.tl = RunModel(Model(skip), r.log, AsOf100());
  r.units = MustRep(r.log);
  return r;
}

BehaviourAssessment Assess(const Fixture& r, const BehaviourOptions& op = {}) {
  auto b = AssessBehaviours(r.log, r.tl, r.units, op);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *std::move(b) : BehaviourAssessment();
}

// The row of (stage, feature); -1 when there is none.
int64_t RowOf(const BehaviourAssessment& b, std::string_view stage, std::string_view feature) {
  for (size_t i = 0; i < b.rows.size(); ++i) {
    if (b.stage_names[static_cast<size_t>(b.rows.stage[i])] == stage && b.rows.feature[i] == feature) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

// Whether the deal of rep `unit` (one deal per rep) had `feature` at `stage`: -1 when
// that deal is not a trial there.
int Has(const BehaviourAssessment& b, std::string_view stage, std::string_view feature, std::string_view unit) {
  const int64_t row = RowOf(b, stage, feature);
  EXPECT_GE(row, 0) << stage << " " << feature;
  if (row < 0) return -9;
  const auto it = std::find(b.unit_names.begin(), b.unit_names.end(), unit);
  EXPECT_NE(it, b.unit_names.end()) << unit;
  if (it == b.unit_names.end()) return -9;
  const size_t i = static_cast<size_t>(row) * b.unit_names.size() + static_cast<size_t>(it - b.unit_names.begin());
  if (b.unit_trials[i] == 0) return -1;
  EXPECT_EQ(b.unit_trials[i], 1);
  return static_cast<int>(b.unit_present[i]);
}

// ---- 1. Features at their boundaries ---------------------------------------------------

TEST(Features, FollowUpWindowAndNextTransition) {
  const int64_t t = kT0;
  std::vector<Row> rows = {
      // A: a call exactly 24 h after the reply: a follow-up at Lead.
      {"A", t, "reply", "A"}, {"A", t + Hours(24), "call", "A"}, {"A", t + Days(5), "decline", "A"},
      // B: 1 ns later: not.
      {"B", t, "reply", "B"}, {"B", t + Hours(24) + 1, "call", "B"}, {"B", t + Days(5), "decline", "B"},
      // C: need at 10 h moves it on, so the call at 12 h is not Lead's follow-up (after the
      // next transition) but is Qualified's (2 h after need).
      {"C", t, "reply", "C"}, {"C", t + Hours(10), "need", "C"}, {"C", t + Hours(12), "call", "C"},
      {"C", t + Days(5), "decline", "C"},
      // E: a call at the very time of the reply is not after it.
      {"E", t, "reply", "E"}, {"E", t, "call", "E"}, {"E", t + Days(5), "decline", "E"},
      // F: a call at the same instant as the next transition (logged just before it) is
      // not before that transition; nor after Qualified's entry.
      {"F", t, "reply", "F"}, {"F", t + Hours(10), "call", "F"}, {"F", t + Hours(10), "need", "F"},
      {"F", t + Days(5), "decline", "F"},
      // G: an email an hour after the reply, then won.
      {"G", t, "reply", "G"}, {"G", t + Hours(1), "email", "G"}, {"G", t + Days(3), "sign", "G"},
  };
  const Fixture r = MakeRun(rows);
  const BehaviourAssessment b = Assess(r);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "A"), 1);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "B"), 0);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "C"), 0);
  EXPECT_EQ(Has(b, "Qualified", "follow_up", "C"), 1);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "E"), 0);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "F"), 0);
  EXPECT_EQ(Has(b, "Qualified", "follow_up", "F"), 0);
  EXPECT_EQ(Has(b, "Lead", "follow_up", "G"), 1);
  EXPECT_EQ(Has(b, "Qualified", "follow_up", "G"), -1);  // never entered
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Lead", "follow_up"))],
            "a seller follow-up within 24 h of the buyer's reply");
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Qualified", "follow_up"))],
            "a seller follow-up within 24 h of the buyer's need");

  // A 12-hour window: A's call at 24 h no longer counts; G's at 1 h and C's at +2 h do.
  BehaviourOptions op;
  op.follow_up_window = Hours(12);
  const BehaviourAssessment h = Assess(r, op);
  EXPECT_EQ(Has(h, "Lead", "follow_up", "A"), 0);
  EXPECT_EQ(Has(h, "Lead", "follow_up", "G"), 1);
  EXPECT_EQ(Has(h, "Qualified", "follow_up", "C"), 1);
  EXPECT_EQ(h.rows.description[static_cast<size_t>(RowOf(h, "Lead", "follow_up"))],
            "a seller follow-up within 12 h of the buyer's reply");
  // follow_up counts at Lead: A and G present (both: A failed, G advanced).
  const auto row = static_cast<size_t>(RowOf(b, "Lead", "follow_up"));
  EXPECT_EQ(b.rows.present[row], 2);
  EXPECT_EQ(b.rows.advanced_present[row], 1);
  EXPECT_EQ(b.rows.absent[row], 4);
  EXPECT_EQ(b.rows.advanced_absent[row], 2);  // C and F advanced to Qualified
}

TEST(Features, MeetingWithTheDecisionMakerStrictlyBeforeEntry) {
  const int64_t t = kT0;
  std::vector<Row> rows = {
      // M1: the meeting 1 ns before need.
      {"M1", t, "reply", "M1"}, {"M1", t + Days(2) - 1, "meeting", "M1", "p1", "decision_maker"},
      {"M1", t + Days(2), "need", "M1"}, {"M1", t + Days(5), "decline", "M1"},
      // M2: at the very time of need (logged first): not strictly before.
      {"M2", t, "reply", "M2"}, {"M2", t + Days(2), "meeting", "M2", "p1", "decision_maker"},
      {"M2", t + Days(2), "need", "M2"}, {"M2", t + Days(5), "decline", "M2"},
      // M3: a meeting with the champion.
      {"M3", t, "reply", "M3"}, {"M3", t + Days(1), "meeting", "M3", "p2", "champion"},
      {"M3", t + Days(2), "need", "M3"}, {"M3", t + Days(5), "decline", "M3"},
      // M4: a call, not a meeting, with the decision maker.
      {"M4", t, "reply", "M4"}, {"M4", t + Days(1), "call", "M4", "p1", "decision_maker"},
      {"M4", t + Days(2), "need", "M4"}, {"M4", t + Days(5), "decline", "M4"},
      // M5: the meeting after need.
      {"M5", t, "reply", "M5"}, {"M5", t + Days(1), "need", "M5"},
      {"M5", t + Days(2), "meeting", "M5", "p1", "decision_maker"}, {"M5", t + Days(5), "decline", "M5"},
      // M6: a meeting before the deal entered Lead; won from Lead.
      {"M6", t - Days(1), "meeting", "M6", "p1", "decision_maker"}, {"M6", t, "reply", "M6"},
      {"M6", t + Days(1), "sign", "M6"},
  };
  const Fixture r = MakeRun(rows);
  const BehaviourAssessment b = Assess(r);
  EXPECT_EQ(Has(b, "Qualified", "meeting@decision_maker", "M1"), 1);
  EXPECT_EQ(Has(b, "Qualified", "meeting@decision_maker", "M2"), 0);
  EXPECT_EQ(Has(b, "Qualified", "meeting@decision_maker", "M3"), 0);
  EXPECT_EQ(Has(b, "Qualified", "meeting@champion", "M3"), 1);
  EXPECT_EQ(Has(b, "Qualified", "meeting@decision_maker", "M4"), 0);
  EXPECT_EQ(Has(b, "Qualified", "call@decision_maker", "M4"), 1);
  EXPECT_EQ(Has(b, "Qualified", "meeting@decision_maker", "M5"), 0);
  EXPECT_EQ(Has(b, "Lead", "meeting@decision_maker", "M1"), 0);  // after Lead's entry
  EXPECT_EQ(Has(b, "Lead", "meeting@decision_maker", "M6"), 1);
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Qualified", "meeting@decision_maker"))],
            "a meeting with the decision_maker before Qualified");
  // The feature list: follow_up, each seller action x each role (both sorted by name, so
  // that logs split by deal and merged agree: call before meeting, champion before
  // decision_maker), contacts, roles, buyer contacts, cadence.
  std::vector<std::string> want = {"follow_up", "call@champion", "call@decision_maker", "meeting@champion",
                                   "meeting@decision_maker"};
  for (auto f : {"contacts>=2", "contacts>=3", "contacts>=4", "roles>=2", "roles>=3", "buyer_contacts>=2",
                 "cadence<=7d"}) {
    want.push_back(f);
  }
  EXPECT_EQ(want.size(), 1u + 2u * 2u + 7u);  // meeting and call, decision_maker and champion
  ASSERT_EQ(b.rows.size(), 3 * want.size());
  for (size_t k = 0; k < 3; ++k) {
    for (size_t f = 0; f < want.size(); ++f) {
      EXPECT_EQ(b.rows.stage[k * want.size() + f], static_cast<int32_t>(k));
      EXPECT_EQ(b.rows.feature[k * want.size() + f], want[f]);
    }
  }
}

TEST(Features, DistinctContactsRolesAndBuyerContacts) {
  const int64_t t = kT0;
  std::vector<Row> rows;
  // Seller calls to the listed contacts (with roles) on days 1, 2, ...; need on day 5,
  // decline on day 8 (a failed trial at Qualified).
  auto deal = [&](const std::string& d, std::vector<std::pair<std::string, std::string>> touches) {
    rows.push_back({d, t, "reply", d, "b1", "champion"});
    int64_t day = 1;
    for (const auto& [c, role] : touches) rows.push_back({d, t + Days(day++) - Hours(1), "call", d, c, role});
    rows.push_back({d, t + Days(5), "need", d, "b1", "champion"});
    rows.push_back({d, t + Days(8), "decline", d, "b1", "champion"});
  };
  deal("K1", {{"c1", "champion"}, {"c1", "champion"}});
  deal("K2", {{"c1", "champion"}, {"c2", "champion"}, {"c1", "champion"}});
  deal("K3", {{"c1", "decision_maker"}, {"c2", "champion"}, {"c3", "champion"}});
  deal("K4", {{"c1", "decision_maker"}, {"c2", "champion"}, {"c3", "influencer"}, {"c4", "user"}});
  deal("K6", {{"", ""}, {"c1", ""}, {"", "user"}});  // null contacts and roles do not count
  // K5: a second contact only after need.
  rows.push_back({"K5", t, "reply", "K5", "b1"});
  rows.push_back({"K5", t + Days(1), "call", "K5", "c1", "champion"});
  rows.push_back({"K5", t + Days(5), "need", "K5", "b1"});
  rows.push_back({"K5", t + Days(6), "call", "K5", "c2", "user"});
  rows.push_back({"K5", t + Days(8), "decline", "K5", "b1"});
  // Buyer contacts: B1 two buyers before need; B2 the second buyer is need itself; B3 one
  // buyer twice; B4 the second person is a seller's contact.
  rows.push_back({"B1", t, "reply", "B1", "b1"});
  rows.push_back({"B1", t + Days(1), "meet", "B1", "b2"});
  rows.push_back({"B1", t + Days(5), "need", "B1", "b1"});
  rows.push_back({"B1", t + Days(8), "decline", "B1", "b1"});
  rows.push_back({"B2", t, "reply", "B2", "b1"});
  rows.push_back({"B2", t + Days(5), "need", "B2", "b2"});
  rows.push_back({"B2", t + Days(8), "decline", "B2", "b1"});
  rows.push_back({"B3", t, "reply", "B3", "b1"});
  rows.push_back({"B3", t + Days(1), "meet", "B3", "b1"});
  rows.push_back({"B3", t + Days(5), "need", "B3", "b1"});
  rows.push_back({"B3", t + Days(8), "decline", "B3", "b1"});
  rows.push_back({"B4", t, "reply", "B4", "b1"});
  rows.push_back({"B4", t + Days(1), "call", "B4", "b2"});
  rows.push_back({"B4", t + Days(5), "need", "B4", "b1"});
  rows.push_back({"B4", t + Days(8), "decline", "B4", "b1"});
  const Fixture r = MakeRun(rows);
  const BehaviourAssessment b = Assess(r);
  const std::map<std::string, std::vector<int>> contacts = {
      {"K1", {0, 0, 0}}, {"K2", {1, 0, 0}}, {"K3", {1, 1, 0}}, {"K4", {1, 1, 1}}, {"K5", {0, 0, 0}}, {"K6", {0, 0, 0}}};
  for (const auto& [d, want] : contacts) {
    EXPECT_EQ(Has(b, "Qualified", "contacts>=2", d), want[0]) << d;
    EXPECT_EQ(Has(b, "Qualified", "contacts>=3", d), want[1]) << d;
    EXPECT_EQ(Has(b, "Qualified", "contacts>=4", d), want[2]) << d;
  }
  const std::map<std::string, std::vector<int>> roles = {
      {"K1", {0, 0}}, {"K2", {0, 0}}, {"K3", {1, 0}}, {"K4", {1, 1}}, {"K5", {0, 0}}, {"K6", {0, 0}}};
  for (const auto& [d, want] : roles) {
    EXPECT_EQ(Has(b, "Qualified", "roles>=2", d), want[0]) << d;
    EXPECT_EQ(Has(b, "Qualified", "roles>=3", d), want[1]) << d;
  }
  EXPECT_EQ(Has(b, "Qualified", "buyer_contacts>=2", "B1"), 1);
  EXPECT_EQ(Has(b, "Qualified", "buyer_contacts>=2", "B2"), 0);
  EXPECT_EQ(Has(b, "Qualified", "buyer_contacts>=2", "B3"), 0);
  EXPECT_EQ(Has(b, "Qualified", "buyer_contacts>=2", "B4"), 0);
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Qualified", "contacts>=3"))],
            "seller activities reached at least 3 contacts before Qualified");
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Qualified", "roles>=2"))],
            "seller activities reached at least 2 contact roles before Qualified");
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Qualified", "buyer_contacts>=2"))],
            "at least two buyer contacts had acted before Qualified");

  // Without a contact_role column: no action@role nor roles features; without a contact
  // column: no contacts nor buyer_contacts features.
  const BehaviourAssessment no_role = Assess(MakeRun(rows, Cols{true, false}));
  const BehaviourAssessment no_contact = Assess(MakeRun(rows, Cols{false, true}));
  const BehaviourAssessment neither = Assess(MakeRun(rows, Cols{false, false}));
  auto features = [](const BehaviourAssessment& x) {
    std::vector<std::string> f;
    for (size_t i = 0; i < x.rows.size(); ++i) {
      if (x.rows.stage[i] == 0) f.push_back(x.rows.feature[i]);
    }
    return f;
  };
  EXPECT_EQ(features(no_role), (std::vector<std::string>{"follow_up", "contacts>=2", "contacts>=3", "contacts>=4",
                                                         "buyer_contacts>=2", "cadence<=7d"}));
  const std::vector<std::string> nc = features(no_contact);
  ASSERT_EQ(nc.size(), 8u);  // the log's seller actions are call only: 4 call@ features
  EXPECT_EQ(nc[0], "follow_up");
  EXPECT_EQ(std::vector<std::string>(nc.end() - 3, nc.end()),
            (std::vector<std::string>{"roles>=2", "roles>=3", "cadence<=7d"}));
  EXPECT_EQ(std::count_if(nc.begin(), nc.end(),
                          [](const std::string& f) { return f.find('@') != std::string::npos; }),
            4);  // call x 4 roles (meeting does not occur in this log)
  EXPECT_EQ(features(neither), (std::vector<std::string>{"follow_up", "cadence<=7d"}));
  EXPECT_EQ(Has(no_role, "Qualified", "contacts>=4", "K4"), 1);
  EXPECT_EQ(Has(no_contact, "Qualified", "roles>=3", "K4"), 1);
}

TEST(Features, CadenceSevenDays) {
  const int64_t t = kT0;
  std::vector<Row> rows;
  auto deal = [&](const std::string& d, std::vector<int64_t> calls, int64_t need) {
    rows.push_back({d, t, "reply", d});
    for (int64_t c : calls) rows.push_back({d, t + c, "call", d});
    rows.push_back({d, t + need, "need", d});
    rows.push_back({d, t + need + Days(5), "decline", d});
  };
  deal("Q1", {Days(1), Days(8)}, Days(15));          // gaps exactly 7 days: present
  deal("Q2", {Days(1), Days(8) + 1}, Days(15));      // a gap of 7 days + 1 ns: absent
  deal("Q3", {Days(1), Days(8)}, Days(15) + 1);      // last touch 7 days + 1 ns before: absent
  deal("Q4", {}, Days(15));                          // no seller activity: absent
  deal("Q5", {Days(15)}, Days(15));                  // only a touch at the entry time: absent
  deal("Q6", {Days(20)}, Days(21));                  // the wait from the first event is not a gap
  const Fixture r = MakeRun(rows);
  const BehaviourAssessment b = Assess(r);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q1"), 1);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q2"), 0);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q3"), 0);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q4"), 0);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q5"), 0);
  EXPECT_EQ(Has(b, "Qualified", "cadence<=7d", "Q6"), 1);
  EXPECT_EQ(Has(b, "Lead", "cadence<=7d", "Q1"), 0);  // nothing before the reply
  EXPECT_EQ(b.rows.description[static_cast<size_t>(RowOf(b, "Proposal", "cadence<=7d"))],
            "seller touches no more than 7 days apart before Proposal");
}

TEST(Trials, OpenExcludedAndSkippedStagesAreNotTrials) {
  const int64_t t = kT0;
  std::vector<Row> rows = {
      // O1: open at Qualified (no stall limit): Lead advanced, Qualified no trial.
      {"O1", t, "reply", "O1"}, {"O1", t + Days(1), "need", "O1"},
      // S1: stalled at Proposal (quiet 98 days > 30): failed there; advanced before.
      {"S1", t, "reply", "S1"}, {"S1", t + Days(1), "need", "S1"}, {"S1", t + Days(2), "proposal", "S1"},
      // X1: excluded at Lead: no trial. X2: excluded at Qualified: Lead advanced.
      {"X1", t, "reply", "X1"}, {"X1", t + Days(1), "spam", "X1"},
      {"X2", t, "reply", "X2"}, {"X2", t + Days(1), "need", "X2"}, {"X2", t + Days(2), "spam", "X2"},
      // K1: skips Qualified: not studied there; lost at Proposal.
      {"K1", t, "reply", "K1"}, {"K1", t + Days(2), "proposal", "K1"}, {"K1", t + Days(4), "decline", "K1"},
      // W1: won from Lead. L1: lost at Lead.
      {"W1", t, "reply", "W1"}, {"W1", t + Days(1), "sign", "W1"},
      {"L1", t, "reply", "L1"}, {"L1", t + Days(1), "decline", "L1"},
  };
  const Fixture r = MakeRun(rows, {}, /*skip=*/true);
  const BehaviourAssessment b = Assess(r);
  EXPECT_EQ(b.trials, (std::vector<int64_t>{6, 1, 2}));
  const std::map<std::string, std::vector<int>> want = {
      {"O1", {0, -1, -1}}, {"S1", {0, 0, 0}}, {"X1", {-1, -1, -1}}, {"X2", {0, -1, -1}},
      {"K1", {0, -1, 0}},  {"W1", {0, -1, -1}}, {"L1", {0, -1, -1}}};
  const char* stages[] = {"Lead", "Qualified", "Proposal"};
  for (const auto& [d, w] : want) {
    for (size_t k = 0; k < 3; ++k) EXPECT_EQ(Has(b, stages[k], "follow_up", d), w[k]) << d << " " << stages[k];
  }
  // advanced / failed: Lead 5 / 1 (L1), Qualified 1 / 0, Proposal 0 / 2 (S1 stalled, K1 lost).
  const int64_t adv[] = {5, 1, 0};
  for (size_t k = 0; k < 3; ++k) {
    const auto row = static_cast<size_t>(RowOf(b, stages[k], "cadence<=7d"));
    EXPECT_EQ(b.rows.advanced_present[row] + b.rows.advanced_absent[row], adv[k]) << stages[k];
    EXPECT_EQ(b.rows.present[row] + b.rows.absent[row], b.trials[k]) << stages[k];
  }
}

// ---- 2. The statistics by hand ---------------------------------------------------------

// Deals of one rep: reply at t, a call an hour later when `present`, then need (advanced:
// the deal then waits, open, at Qualified) or decline (failed) two days later.
void AddDeals(std::vector<Row>& rows, const std::string& rep, int present_adv, int present_fail, int absent_adv,
              int absent_fail) {
  int i = 0;
  auto one = [&](bool present, bool advanced) {
    const std::string d = rep + "-" + std::to_string(i++);
    const int64_t t = kT0 + Hours(i);
    rows.push_back({d, t, "reply", rep});
    if (present) rows.push_back({d, t + kHour, "call", rep});
    rows.push_back({d, t + Days(2), advanced ? "need" : "decline", rep});
  };
  for (int j = 0; j < present_adv; ++j) one(true, true);
  for (int j = 0; j < present_fail; ++j) one(true, false);
  for (int j = 0; j < absent_adv; ++j) one(false, true);
  for (int j = 0; j < absent_fail; ++j) one(false, false);
}

// Two strata: r1 (a, b, c, d) = (3, 1, 2, 4), r2 = (5, 2, 1, 2), and r3 with one deal
// (present, advanced): n = 1, so it adds to the totals but not to the MH sums.
std::vector<Row> TwoStrata(bool inverted = false) {
  std::vector<Row> rows;
  if (!inverted) {
    AddDeals(rows, "r1", 3, 1, 2, 4);
    AddDeals(rows, "r2", 5, 2, 1, 2);
    AddDeals(rows, "r3", 1, 0, 0, 0);
  } else {  // present and absent swapped: the odds ratio inverts, the test is the same
    AddDeals(rows, "r1", 2, 4, 3, 1);
    AddDeals(rows, "r2", 1, 2, 5, 2);
    AddDeals(rows, "r3", 0, 0, 1, 0);
  }
  return rows;
}

TEST(Statistics, MantelHaenszelRobinsBreslowGreenlandAndCmhByHand) {
  const Fixture r = MakeRun(TwoStrata());
  BehaviourOptions op;
  op.min_support = 9;
  op.deviants = {1, 0, 0};  // r1 (units are sorted by name: r1, r2, r3)
  ASSERT_EQ(r.units.names, (std::vector<std::string>{"r1", "r2", "r3"}));
  const BehaviourAssessment b = Assess(r, op);
  const auto i = static_cast<size_t>(RowOf(b, "Lead", "follow_up"));
  const BehaviourRows& w = b.rows;
  // Totals: present 4 + 7 + 1 = 12, 3 + 5 + 1 = 9 advanced; absent 6 + 3 = 9, 2 + 1 = 3 advanced.
  EXPECT_EQ(w.present[i], 12);
  EXPECT_EQ(w.advanced_present[i], 9);
  EXPECT_EQ(w.absent[i], 9);
  EXPECT_EQ(w.advanced_absent[i], 3);
  EXPECT_EQ(b.trials, (std::vector<int64_t>{21, 0, 0}));
  // Rates 9/12 = 0.75 and 3/9; Wilson: centre (p + z²/2n)/(1 + z²/n), half
  // z/(1 + z²/n) sqrt(p(1-p)/n + z²/4n²): [0.4677, 0.9111] and [0.1206, 0.6458].
  auto wilson = [](double x, double n) {
    const double p = x / n, z2 = kZ95 * kZ95, den = 1 + z2 / n;
    const double c = (p + z2 / (2 * n)) / den, h = kZ95 / den * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    return std::pair<double, double>{c - h, c + h};
  };
  EXPECT_DOUBLE_EQ(w.rate_present[i], 0.75);
  EXPECT_NEAR(w.rate_present_lower[i], wilson(9, 12).first, 1e-12);
  EXPECT_NEAR(w.rate_present_upper[i], wilson(9, 12).second, 1e-12);
  EXPECT_NEAR(w.rate_present_lower[i], 0.467694665066434, 1e-9);
  EXPECT_DOUBLE_EQ(w.rate_absent[i], 3.0 / 9.0);
  EXPECT_NEAR(w.rate_absent_lower[i], 0.120583818386911, 1e-9);
  EXPECT_NEAR(w.rate_absent_upper[i], 0.645797864419604, 1e-9);
  EXPECT_DOUBLE_EQ(w.lift[i], 0.75 / (3.0 / 9.0));
  // MH: R = Σ ad/n = 3·4/10 + 5·2/10 = 1.2 + 1.0 = 2.2; S = Σ bc/n = 1·2/10 + 2·1/10 = 0.4;
  // OR = 2.2 / 0.4 = 5.5.
  EXPECT_NEAR(w.odds_ratio[i], 5.5, 1e-12);
  // RBG with P = (a+d)/n = 0.7, 0.7 and Q = (b+c)/n = 0.3, 0.3:
  //   Σ P R = 0.7·1.2 + 0.7·1.0 = 1.54; Σ (P S + Q R) = (0.14 + 0.36) + (0.14 + 0.30) = 0.94;
  //   Σ Q S = 0.3·0.2 + 0.3·0.2 = 0.12;
  //   var = 1.54/(2·2.2²) + 0.94/(2·2.2·0.4) + 0.12/(2·0.4²) = 0.159091 + 0.534091 + 0.375
  //       = 1.068182; se = 1.033529; CI = exp(ln 5.5 ∓ 1.959964 se) = [0.72547, 41.6969].
  const double var = 1.54 / (2 * 2.2 * 2.2) + 0.94 / (2 * 2.2 * 0.4) + 0.12 / (2 * 0.4 * 0.4);
  EXPECT_NEAR(var, 1.068181818181818, 1e-12);
  EXPECT_NEAR(w.odds_ratio_lower[i], std::exp(std::log(5.5) - kZ95 * std::sqrt(var)), 1e-10);
  EXPECT_NEAR(w.odds_ratio_upper[i], std::exp(std::log(5.5) + kZ95 * std::sqrt(var)), 1e-8);
  EXPECT_NEAR(w.odds_ratio_lower[i], 0.725473184648, 1e-9);
  EXPECT_NEAR(w.odds_ratio_upper[i], 41.6969236632, 1e-7);
  // CMH: Σ a = 8; E[a] = 4·5/10 + 7·6/10 = 2 + 4.2 = 6.2; Var(a) = 4·6·5·5/(10²·9) +
  // 7·3·6·4/(10²·9) = 600/900 + 504/900 = 1104/900; X² = 1.8² / (1104/900) = 2916/1104
  // = 2.641304; p = P(χ²₁ > X²) = erfc(sqrt(X²/2)) = 0.104118.
  EXPECT_NEAR(w.p_value[i], std::erfc(std::sqrt(2916.0 / 1104.0 / 2.0)), 1e-14);
  EXPECT_NEAR(w.p_value[i], 0.1041180298478, 1e-12);
  // One tested row (every other Lead row has no present trial; no trial past Lead): q = p.
  EXPECT_EQ(w.tested[i], 1);
  int tested = 0;
  for (size_t j = 0; j < w.size(); ++j) {
    tested += w.tested[j];
    if (w.tested[j] == 0) {
      EXPECT_TRUE(std::isnan(w.q_value[j]));
      EXPECT_EQ(w.replicate[j] + w.avoid[j], 0);
    }
  }
  EXPECT_EQ(tested, 1);
  EXPECT_DOUBLE_EQ(w.q_value[i], w.p_value[i]);
  EXPECT_EQ(w.replicate[i], 0);  // q 0.104 > fdr 0.10
  EXPECT_EQ(w.avoid[i], 0);
  // Deviant shares: r1 4 of 10 trials with the feature; peers (r2, r3) 8 of 11.
  EXPECT_DOUBLE_EQ(w.deviant_share[i], 0.4);
  EXPECT_DOUBLE_EQ(w.peer_share[i], 8.0 / 11.0);
  EXPECT_DOUBLE_EQ(w.deviant_lift[i], 0.4 / (8.0 / 11.0));
  // Rep by rep: r1's share 4/10; peers r2 7/10 and r3 1/1, mean 0.85; difference -0.45.
  // One deviant unit: no Welch interval or p-value.
  EXPECT_EQ(w.deviant_units[i], 1);
  EXPECT_EQ(w.peer_units[i], 2);
  EXPECT_DOUBLE_EQ(w.deviant_unit_share[i], 0.4);
  EXPECT_DOUBLE_EQ(w.peer_unit_share[i], 0.85);
  EXPECT_NEAR(w.share_difference[i], -0.45, 1e-15);
  EXPECT_TRUE(std::isnan(w.share_difference_lower[i]));
  EXPECT_TRUE(std::isnan(w.share_p_value[i]));
  // Per unit: trials 10, 10, 1; with the feature 4, 7, 1.
  EXPECT_EQ(std::vector<int64_t>(b.unit_trials.begin() + static_cast<int64_t>(i * 3),
                                 b.unit_trials.begin() + static_cast<int64_t>(i * 3 + 3)),
            (std::vector<int64_t>{10, 10, 1}));
  EXPECT_EQ(std::vector<int64_t>(b.unit_present.begin() + static_cast<int64_t>(i * 3),
                                 b.unit_present.begin() + static_cast<int64_t>(i * 3 + 3)),
            (std::vector<int64_t>{4, 7, 1}));
  // The sentence.
  EXPECT_EQ(w.sentence[i],
            "At Lead, deals with a seller follow-up within 24 h of the buyer's reply advanced 75% of the time "
            "against 33% without (odds x5.5, 95% CI 0.73-42, within the same rep; 12 of 21 deals).");
  // A row with no present trial, and a stage with no trial at all.
  EXPECT_EQ(w.sentence[static_cast<size_t>(RowOf(b, "Lead", "cadence<=7d"))],
            "At Lead, no deal with seller touches no more than 7 days apart before Lead has advanced or failed "
            "yet (0 of 21 deals).");
  EXPECT_EQ(w.sentence[static_cast<size_t>(RowOf(b, "Qualified", "follow_up"))],
            "At Qualified, no deal has advanced or failed yet.");
  EXPECT_TRUE(std::isnan(w.rate_present[static_cast<size_t>(RowOf(b, "Lead", "cadence<=7d"))]));
  EXPECT_TRUE(std::isnan(w.odds_ratio[static_cast<size_t>(RowOf(b, "Lead", "cadence<=7d"))]));
  EXPECT_TRUE(std::isnan(w.p_value[static_cast<size_t>(RowOf(b, "Lead", "cadence<=7d"))]));
  // Without deviants: NaN shares.
  const BehaviourAssessment plain = Assess(r);
  EXPECT_TRUE(std::isnan(plain.rows.deviant_share[i]));
  EXPECT_TRUE(std::isnan(plain.rows.peer_share[i]));
  EXPECT_TRUE(std::isnan(plain.rows.deviant_lift[i]));
  // Deviants r1, r2 (shares 0.4, 0.7), peer r3 (1.0): still one unit on one side.
  op.deviants = {1, 1, 0};
  const BehaviourAssessment two = Assess(r, op);
  EXPECT_DOUBLE_EQ(two.rows.deviant_unit_share[i], 0.55);
  EXPECT_DOUBLE_EQ(two.rows.share_difference[i], 0.55 - 1.0);
  EXPECT_TRUE(std::isnan(two.rows.share_difference_upper[i]));
  // Every deal in a deviant unit: peer share NaN.
  op.deviants = {1, 1, 1};
  const BehaviourAssessment all = Assess(r, op);
  EXPECT_DOUBLE_EQ(all.rows.deviant_share[i], 12.0 / 21.0);
  EXPECT_TRUE(std::isnan(all.rows.peer_share[i]));
  EXPECT_TRUE(std::isnan(all.rows.deviant_lift[i]));
}

TEST(Statistics, MinSupportFdrReplicateAndAvoid) {
  const Fixture r = MakeRun(TwoStrata());
  const Fixture inv = MakeRun(TwoStrata(/*inverted=*/true));
  BehaviourOptions op;
  // present 12, absent 9: min_support 9 tests the row, 10 does not.
  op.min_support = 9;
  op.fdr = 0.11;  // q = p = 0.10412 <= 0.11
  const BehaviourAssessment yes = Assess(r, op);
  const auto i = static_cast<size_t>(RowOf(yes, "Lead", "follow_up"));
  EXPECT_EQ(yes.rows.tested[i], 1);
  EXPECT_EQ(yes.rows.replicate[i], 1);
  EXPECT_EQ(yes.rows.avoid[i], 0);
  op.fdr = 0.1041;  // just below q
  EXPECT_EQ(Assess(r, op).rows.replicate[i], 0);
  op.fdr = 0.11;
  op.min_support = 10;
  const BehaviourAssessment no = Assess(r, op);
  EXPECT_EQ(no.rows.tested[i], 0);
  EXPECT_TRUE(std::isnan(no.rows.q_value[i]));
  EXPECT_EQ(no.rows.replicate[i], 0);
  EXPECT_FALSE(std::isnan(no.rows.p_value[i]));  // computed all the same
  // Inverted: present 9 (3 advanced), absent 12: OR = 1/5.5, same p: avoid.
  op.min_support = 9;
  const BehaviourAssessment a = Assess(inv, op);
  EXPECT_EQ(a.rows.present[i], 9);
  EXPECT_EQ(a.rows.absent[i], 12);
  EXPECT_NEAR(a.rows.odds_ratio[i], 1.0 / 5.5, 1e-12);
  EXPECT_NEAR(a.rows.odds_ratio_lower[i], 1.0 / 41.6969236632, 1e-9);
  EXPECT_NEAR(a.rows.odds_ratio_upper[i], 1.0 / 0.725473184648, 1e-9);
  EXPECT_NEAR(a.rows.p_value[i], yes.rows.p_value[i], 1e-14);
  EXPECT_EQ(a.rows.tested[i], 1);
  EXPECT_EQ(a.rows.avoid[i], 1);
  EXPECT_EQ(a.rows.replicate[i], 0);
  EXPECT_EQ(a.rows.sentence[i],
            "At Lead, deals with a seller follow-up within 24 h of the buyer's reply advanced 33% of the time "
            "against 75% without (odds x0.18, 95% CI 0.02-1.4, within the same rep; 9 of 21 deals).");
  // min_support 1 with every trial present: absent 0 < 1, not tested.
  std::vector<Row> all_present;
  AddDeals(all_present, "r1", 3, 2, 0, 0);
  BehaviourOptions one;
  one.min_support = 1;
  const BehaviourAssessment ap = Assess(MakeRun(all_present), one);
  EXPECT_EQ(ap.rows.tested[i], 0);
  EXPECT_EQ(ap.rows.sentence[i],
            "At Lead, every deal that advanced or failed was one with a seller follow-up within 24 h of the buyer's "
            "reply (5 of 5 deals).");
}

// Five tested rows, two of them tied: follow_up, contacts>=2 and contacts>=3 (equal:
// no deal has exactly two contacts), buyer_contacts>=2 and cadence<=7d at Lead.
TEST(Statistics, BenjaminiHochbergByHandWithATie) {
  std::vector<Row> rows;
  Rng rng(2024);
  for (int rep = 0; rep < 2; ++rep) {
    for (int i = 0; i < 120; ++i) {
      const std::string r = "r" + std::to_string(rep), d = r + "-" + std::to_string(i);
      const int64_t t = kT0 + Days(30) + Hours(i);
      const bool fu = rng.Percent(50), multi = rng.Percent(40), buyers = rng.Percent(50), cad = rng.Percent(50);
      // Before the reply: calls to one or three contacts, close together (cadence) or
      // long before; buyer actions ("meet") from one or two contacts.
      const std::vector<int64_t> at = cad ? std::vector<int64_t>{Days(10), Days(5), Days(3)}
                                          : std::vector<int64_t>{Days(20), Days(19), Days(18)};
      for (int j = 0; j < 3; ++j) {
        rows.push_back({d, t - at[static_cast<size_t>(j)], "call", r, multi ? "c" + std::to_string(j) : "c0"});
      }
      rows.push_back({d, t - Days(2), "meet", r, "b1"});
      if (buyers) rows.push_back({d, t - Days(1), "meet", r, "b2"});
      rows.push_back({d, t, "reply", r, "b1"});
      if (fu) rows.push_back({d, t + Hours(2), "email", r, "c0"});
      // Advance with odds rising with the features (different strengths).
      const int score = (fu ? 30 : 0) + (multi ? 15 : 0) + (buyers ? 5 : 0) + (cad ? 22 : 0);
      rows.push_back({d, t + Days(3), rng.Below(100) < 20 + score ? "need" : "decline", r, "b1"});
    }
  }
  const Fixture r = MakeRun(rows, Cols{true, false});
  BehaviourOptions op;
  op.min_support = 20;
  const BehaviourAssessment b = Assess(r, op);
  std::vector<size_t> tested;
  for (size_t i = 0; i < b.rows.size(); ++i) {
    if (b.rows.tested[i] != 0) tested.push_back(i);
  }
  ASSERT_EQ(tested.size(), 5u);
  const size_t c2 = static_cast<size_t>(RowOf(b, "Lead", "contacts>=2"));
  const size_t c3 = static_cast<size_t>(RowOf(b, "Lead", "contacts>=3"));
  EXPECT_EQ(b.rows.present[c2], b.rows.present[c3]);
  EXPECT_EQ(b.rows.p_value[c2], b.rows.p_value[c3]);  // the tie
  // By hand: sorted p(1) <= ... <= p(5), m = 5, q(5) = min(1, p(5)), q(i) = min(q(i+1),
  // 5 p(i) / i). With the tie at ranks j, j+1: q(j) = min(q(j+1), 5 p / j) = q(j+1) since
  // 5 p / (j+1) < 5 p / j: tied p-values get the same q.
  std::vector<double> p;
  for (size_t i : tested) p.push_back(b.rows.p_value[i]);
  std::sort(p.begin(), p.end());
  std::vector<double> q(5);
  q[4] = std::min(1.0, p[4] * 5 / 5);
  q[3] = std::min(q[4], p[3] * 5 / 4);
  q[2] = std::min(q[3], p[2] * 5 / 3);
  q[1] = std::min(q[2], p[1] * 5 / 2);
  q[0] = std::min(q[1], p[0] * 5 / 1);
  for (size_t i : tested) {
    const size_t rank = static_cast<size_t>(std::find(p.begin(), p.end(), b.rows.p_value[i]) - p.begin());
    EXPECT_DOUBLE_EQ(b.rows.q_value[i], q[rank]) << b.rows.feature[i];
  }
  EXPECT_EQ(b.rows.q_value[c2], b.rows.q_value[c3]);
  // The rows tested are those named above (Lead), with a spread of p-values.
  for (const char* f : {"follow_up", "contacts>=2", "contacts>=3", "buyer_contacts>=2", "cadence<=7d"}) {
    EXPECT_EQ(b.rows.tested[static_cast<size_t>(RowOf(b, "Lead", f))], 1) << f;
  }
  EXPECT_LT(p[0], 1e-6);   // follow_up, the strongest
  EXPECT_GT(p[4], 0.01);   // buyer_contacts, the weakest
}

// ---- 2b. Over and above (proxies) by hand -------------------------------------------
//
// Deals at Lead with two features: A = follow_up (a call an hour after the reply) and
// B = email@dm (an email with the dm 8 days before the reply: not within 7 days, so
// cadence<=7d stays absent; no contact, one role, so no other feature is present).
// Only the rows of A and B can be tested; with both discoveries and m = 2 tested rows,
// q = p for the larger p, and t* = the larger p.

// `adv` advanced and `fail` failed deals of `rep` with A present or not and B present or not.
void AddAB(std::vector<Row>& rows, const std::string& rep, bool a, bool b, int adv, int fail) {
  for (int j = 0; j < adv + fail; ++j) {
    const std::string d = absl::StrCat(rep, "-", a, b, "-", j, j < adv ? "a" : "f");
    const int64_t t = kT0 + Days(20) + Hours(static_cast<int64_t>(rows.size() % 400));
    if (b) rows.push_back({d, t - Days(8), "email", rep, "", "dm"});
    rows.push_back({d, t, "reply", rep});
    if (a) rows.push_back({d, t + kHour, "call", rep});
    rows.push_back({d, t + Days(2), j < adv ? "need" : "decline", rep});
  }
}

struct AB {
  size_t a, b;
};

AB RowsAB(const BehaviourAssessment& b) {
  const int64_t a = RowOf(b, "Lead", "follow_up"), e = RowOf(b, "Lead", "email@dm");
  EXPECT_GE(a, 0);
  EXPECT_GE(e, 0);
  // Only A and B are tested.
  for (size_t i = 0; i < b.rows.size(); ++i) {
    if (i != static_cast<size_t>(a) && i != static_cast<size_t>(e)) {
      EXPECT_EQ(b.rows.tested[i], 0) << b.rows.feature[i];
      EXPECT_TRUE(std::isnan(b.rows.adjusted_p_value[i])) << b.rows.feature[i];
      EXPECT_EQ(b.rows.independent[i], 0) << b.rows.feature[i];
      EXPECT_EQ(b.rows.explained_by[i], "") << b.rows.feature[i];
    }
  }
  return {static_cast<size_t>(std::max<int64_t>(a, 0)), static_cast<size_t>(std::max<int64_t>(e, 0))};
}

void ExpectUnadjusted(const BehaviourRows& w, size_t i) {
  EXPECT_EQ(w.independent[i], 1);
  EXPECT_EQ(w.explained_by[i], "");
  EXPECT_EQ(w.adjusted_odds_ratio[i], w.odds_ratio[i]);
  EXPECT_EQ(w.adjusted_lower[i], w.odds_ratio_lower[i]);
  EXPECT_EQ(w.adjusted_upper[i], w.odds_ratio_upper[i]);
  EXPECT_EQ(w.adjusted_p_value[i], w.p_value[i]);
}

// B present exactly when A is, in the two strata of TwoStrata (r1 (3, 1, 2, 4), r2 (5, 2,
// 1, 2), r3 one present deal). Both rows have the same tables: OR 5.5, p 0.10412 (see
// MantelHaenszelRobinsBreslowGreenlandAndCmhByHand); the tie goes to feature order, A
// first: adjusted for nothing, it keeps its figures and is independent. B within unit x
// A: every stratum has B constant (present in the A strata, absent in the others), so
// Σ ad/n = Σ bc/n = 0 and Σ Var(a) = 0: adjusted OR and p NaN, not independent,
// explained by follow_up. Inverted (present and absent swapped: OR 1/5.5), both rows
// are `avoid`, and the screen treats them the same.
TEST(Screen, PureProxyInTwoStrataAndAvoidRows) {
  for (const bool inverted : {false, true}) {
    SCOPED_TRACE(inverted ? "avoid" : "replicate");
    std::vector<Row> rows;
    const int cells[3][4] = {{3, 1, 2, 4}, {5, 2, 1, 2}, {1, 0, 0, 0}};
    for (int r = 0; r < 3; ++r) {
      const std::string rep = "r" + std::to_string(r + 1);
      const auto* c = cells[r];
      AddAB(rows, rep, !inverted, !inverted, c[0], c[1]);
      AddAB(rows, rep, inverted, inverted, c[2], c[3]);
    }
    const Fixture f = MakeRun(rows);
    BehaviourOptions op;
    op.min_support = 9;
    op.fdr = 0.11;
    const BehaviourAssessment b = Assess(f, op);
    const AB ab = RowsAB(b);
    const BehaviourRows& w = b.rows;
    EXPECT_NEAR(w.odds_ratio[ab.a], inverted ? 1 / 5.5 : 5.5, 1e-12);
    EXPECT_EQ(w.p_value[ab.a], w.p_value[ab.b]);
    EXPECT_NEAR(w.p_value[ab.a], 0.1041180298478, 1e-12);
    EXPECT_EQ(w.q_value[ab.b], w.p_value[ab.b]);
    EXPECT_EQ(w.replicate[ab.a] + w.replicate[ab.b], inverted ? 0 : 2);
    EXPECT_EQ(w.avoid[ab.a] + w.avoid[ab.b], inverted ? 2 : 0);
    ExpectUnadjusted(w, ab.a);
    EXPECT_EQ(w.independent[ab.b], 0);
    EXPECT_EQ(w.explained_by[ab.b], "follow_up");
    EXPECT_TRUE(std::isnan(w.adjusted_odds_ratio[ab.b]));
    EXPECT_TRUE(std::isnan(w.adjusted_lower[ab.b]));
    EXPECT_TRUE(std::isnan(w.adjusted_upper[ab.b]));
    EXPECT_TRUE(std::isnan(w.adjusted_p_value[ab.b]));
    // The C++ sentence is unchanged by the screen.
    EXPECT_EQ(w.sentence[ab.b].find("over and above"), std::string::npos);
  }
}

// A and B crossed within one rep, both with an effect:
//              A=1: B present 9 adv 1 fail, B absent 5 adv 5 fail
//              A=0: B present 5 adv 5 fail, B absent 1 adv 9 fail
// A's table (unit only): a = 9+5 = 14, b = 1+5 = 6, c = 5+1 = 6, d = 5+9 = 14, n = 40;
// B's table is the same. OR = 14·14 / (6·6) = 5.444; Σa = 14, E = 20·20/40 = 10,
// Var = 20⁴ / (40²·39) = 2.564103, X² = 16 / 2.564103 = 6.24, p = 0.012486 for both:
// the tie goes to A (adjusted for nothing). B within A: strata (A=0) (5, 5, 1, 9) and
// (A=1) (9, 1, 5, 5), n = 20 each: R = 45/20 = 2.25 and 2.25, S = 5/20 = 0.25 and 0.25,
// OR = 4.5 / 0.5 = 9; P = 0.7, Q = 0.3 in both: Σ PR = 3.15, Σ (PS + QR) = 0.35 + 1.35 =
// 1.7, Σ QS = 0.15, var = 3.15/(2·4.5²) + 1.7/(2·4.5·0.5) + 0.15/(2·0.5²) = 0.077778 +
// 0.377778 + 0.3 = 0.755556; CMH Σa = 14, E = 10·6/20 + 10·14/20 = 3 + 7 = 10, Var =
// 2 · 10·10·6·14/(20²·19) = 16800/7600 = 2.210526, X² = 16 / 2.210526 = 7.238095,
// p = 0.007137 <= t* = 0.012486 and OR 9 > 1: independent too.
TEST(Screen, IndependentFeaturesBothStay) {
  std::vector<Row> rows;
  AddAB(rows, "r1", true, true, 9, 1);
  AddAB(rows, "r1", true, false, 5, 5);
  AddAB(rows, "r1", false, true, 5, 5);
  AddAB(rows, "r1", false, false, 1, 9);
  BehaviourOptions op;
  op.min_support = 10;
  const BehaviourAssessment b = Assess(MakeRun(rows), op);
  const AB ab = RowsAB(b);
  const BehaviourRows& w = b.rows;
  EXPECT_NEAR(w.odds_ratio[ab.a], 196.0 / 36.0, 1e-12);
  EXPECT_NEAR(w.p_value[ab.a], std::erfc(std::sqrt(6.24 / 2)), 1e-12);
  EXPECT_EQ(w.p_value[ab.b], w.p_value[ab.a]);
  ExpectUnadjusted(w, ab.a);
  EXPECT_EQ(w.independent[ab.b], 1);
  EXPECT_EQ(w.explained_by[ab.b], "");
  EXPECT_NEAR(w.adjusted_odds_ratio[ab.b], 9.0, 1e-12);
  const double var = 3.15 / (2 * 4.5 * 4.5) + 1.7 / (2 * 4.5 * 0.5) + 0.15 / (2 * 0.5 * 0.5);
  EXPECT_NEAR(var, 0.755555555555556, 1e-12);
  EXPECT_NEAR(w.adjusted_lower[ab.b], 9.0 * std::exp(-kZ95 * std::sqrt(var)), 1e-10);
  EXPECT_NEAR(w.adjusted_upper[ab.b], 9.0 * std::exp(kZ95 * std::sqrt(var)), 1e-9);
  EXPECT_NEAR(w.adjusted_p_value[ab.b], std::erfc(std::sqrt(16.0 / (16800.0 / 7600.0) / 2)), 1e-13);
  EXPECT_NEAR(w.adjusted_p_value[ab.b], 0.0071369, 1e-6);
}

// t* is inclusive. Rep r1: A=1 B absent 9 adv 1 fail, A=0 B absent 1 adv 9 fail; rep r2
// (A absent throughout): B present 8 adv 2 fail, B absent 2 adv 8 fail.
// A: r1 (9, 1, 1, 9): Σa = 9, E = 5, Var = 10⁴/(20²·19) = 1.315789, X² = 16/1.315789 =
// 12.16, p = 0.000488; r2 has no A (a = b = 0: adds exactly 0 to every sum).
// B: r1 has no B (adds 0); r2 (8, 2, 2, 8): X² = 9/1.315789 = 6.84, p = 0.008914 = t*
// (the larger p; q_B = p_B, q_A = min(p_B, 2 p_A)). B within unit x A: strata (r1, A=0),
// (r1, A=1) without B add exactly 0, (r2, A=0) is r2's table: the very same sums, so the
// adjusted p is t* itself, bit for bit: independent (<=).
// Then one more r1 deal with A and B, advanced: B's r1 table (1, 0, 10, 10), n = 21:
// E = 1·11/21 = 0.5238, Var = 1·20·11·10/(21²·20) = 0.249433; with r2: Σa = 9, ΣE =
// 5.5238, ΣVar = 1.565222, X² = 3.47619²/1.565222 = 7.7203, p = 0.005461 = t* (A's p
// is smaller: r1 (10, 1, 1, 9)). Within A: (r1, A=1) (1, 0, 9, 1), n = 11: E = 10/11,
// Var = 1·10·10·1/(11²·10) = 0.082645; Σa = 9, ΣE = 5.909091, ΣVar = 1.398434,
// X² = 3.090909²/1.398434 = 6.8318, p = 0.008955 > t*, odds still above 1 (16.45):
// not independent, explained by follow_up.
TEST(Screen, ThresholdIsInclusive) {
  std::vector<Row> rows;
  AddAB(rows, "r1", true, false, 9, 1);
  AddAB(rows, "r1", false, false, 1, 9);
  AddAB(rows, "r2", false, true, 8, 2);
  AddAB(rows, "r2", false, false, 2, 8);
  BehaviourOptions op;
  op.min_support = 10;
  const BehaviourAssessment b = Assess(MakeRun(rows), op);
  AB ab = RowsAB(b);
  const BehaviourRows& w = b.rows;
  EXPECT_NEAR(w.p_value[ab.a], std::erfc(std::sqrt(16.0 / (10000.0 / 7600.0) / 2)), 1e-14);
  EXPECT_NEAR(w.p_value[ab.b], std::erfc(std::sqrt(9.0 / (10000.0 / 7600.0) / 2)), 1e-14);
  EXPECT_EQ(w.q_value[ab.b], w.p_value[ab.b]);
  EXPECT_EQ(w.replicate[ab.a] + w.replicate[ab.b], 2);
  ExpectUnadjusted(w, ab.a);
  // Exactly at t*: independent.
  EXPECT_EQ(w.adjusted_p_value[ab.b], w.p_value[ab.b]);
  EXPECT_EQ(w.independent[ab.b], 1);
  EXPECT_EQ(w.explained_by[ab.b], "");

  AddAB(rows, "r1", true, true, 1, 0);
  const BehaviourAssessment c = Assess(MakeRun(rows), op);
  ab = RowsAB(c);
  const BehaviourRows& v = c.rows;
  EXPECT_NEAR(v.p_value[ab.b], 0.005461, 1e-6);
  EXPECT_NEAR(v.p_value[ab.b], std::erfc(std::sqrt((9 - 5 - 11.0 / 21) * (9 - 5 - 11.0 / 21) /
                                                   (2200.0 / 8820.0 + 10000.0 / 7600.0) / 2)),
              1e-13);
  EXPECT_LT(v.p_value[ab.a], v.p_value[ab.b]);
  EXPECT_EQ(v.replicate[ab.a] + v.replicate[ab.b], 2);
  ExpectUnadjusted(v, ab.a);
  EXPECT_NEAR(v.adjusted_p_value[ab.b],
              std::erfc(std::sqrt((9 - 5 - 10.0 / 11) * (9 - 5 - 10.0 / 11) / (100.0 / 1210.0 + 10000.0 / 7600.0) / 2)),
              1e-13);
  EXPECT_NEAR(v.adjusted_p_value[ab.b], 0.008955, 1e-6);
  EXPECT_GT(v.adjusted_odds_ratio[ab.b], 1.0);
  EXPECT_EQ(v.independent[ab.b], 0);
  EXPECT_EQ(v.explained_by[ab.b], "follow_up");
}

// Same side of 1 (Simpson): one rep,
//              A=1: B present 40 adv 5 fail, B absent 5 adv 1 fail
//              A=0: B present 0 adv 40 fail, B absent 10 adv 40 fail
// A (45, 6, 10, 80): OR = 45·80/(6·10) = 60, p ~ 2e-19. B (40, 45, 15, 41), n = 141:
// OR = 40·41/(45·15) = 2.4296 > 1; Σa = 40, E = 85·55/141 = 33.156, Var = 85·56·55·86/
// (141²·140) = 8.0891, X² = 5.7906, p = 0.016113 = t*. B within A: (A=0) (0, 40, 10, 40),
// n = 90: R = 0, S = 400/90; (A=1) (40, 5, 5, 1), n = 51: R = 40/51, S = 25/51;
// OR = (40/51) / (400/90 + 25/51) = 0.15894 < 1; CMH: E = 40·10/90 + 45·45/51 = 44.1503,
// Var = 40·50·10·80/(90²·89) + 45·6·45·6/(51²·50) = 2.21945 + 0.560554 = 2.78001,
// X² = 4.1503²/2.78001 = 6.1960, p = 0.012803 <= t*, but on the other side of 1:
// not independent, explained by follow_up.
TEST(Screen, SameSideOfOne) {
  std::vector<Row> rows;
  AddAB(rows, "r1", true, true, 40, 5);
  AddAB(rows, "r1", true, false, 5, 1);
  AddAB(rows, "r1", false, true, 0, 40);
  AddAB(rows, "r1", false, false, 10, 40);
  BehaviourOptions op;
  op.min_support = 20;
  const BehaviourAssessment b = Assess(MakeRun(rows), op);
  const AB ab = RowsAB(b);
  const BehaviourRows& w = b.rows;
  EXPECT_NEAR(w.odds_ratio[ab.a], 60.0, 1e-9);
  EXPECT_NEAR(w.odds_ratio[ab.b], 1640.0 / 675.0, 1e-12);
  EXPECT_NEAR(w.p_value[ab.b], 0.016113188659895562, 1e-12);
  EXPECT_EQ(w.replicate[ab.b], 1);
  ExpectUnadjusted(w, ab.a);
  EXPECT_NEAR(w.adjusted_odds_ratio[ab.b], (40.0 / 51) / (400.0 / 90 + 25.0 / 51), 1e-12);
  const double e = 400.0 / 90 + 2025.0 / 51, var = 1600000.0 / 720900 + 72900.0 / 130050;
  EXPECT_NEAR(w.adjusted_p_value[ab.b], std::erfc(std::sqrt((40 - e) * (40 - e) / var / 2)), 1e-13);
  EXPECT_NEAR(w.adjusted_p_value[ab.b], 0.012803095407533233, 1e-12);
  EXPECT_LE(w.adjusted_p_value[ab.b], w.p_value[ab.b]);
  EXPECT_EQ(w.independent[ab.b], 0);
  EXPECT_EQ(w.explained_by[ab.b], "follow_up");
}

// ---- 3. Errors -------------------------------------------------------------------------

TEST(Errors, BadOptionsAndMismatchedInputs) {
  const Fixture r = MakeRun(TwoStrata());
  auto check = [&](auto set, absl::StatusCode code, std::string_view word) {
    BehaviourOptions op;
    set(op);
    auto b = AssessBehaviours(r.log, r.tl, r.units, op);
    ASSERT_FALSE(b.ok()) << word;
    EXPECT_EQ(b.status().code(), code) << b.status();
    EXPECT_NE(std::string(b.status().message()).find(word), std::string::npos) << b.status();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kPrecondition = absl::StatusCode::kFailedPrecondition;
  check([](BehaviourOptions& o) { o.follow_up_window = 0; }, kInvalid, "follow_up_window");
  check([](BehaviourOptions& o) { o.follow_up_window = -Hours(1); }, kInvalid, "follow_up_window");
  check([](BehaviourOptions& o) { o.min_support = 0; }, kInvalid, "min_support");
  check([](BehaviourOptions& o) { o.min_support = -3; }, kInvalid, "min_support");
  check([](BehaviourOptions& o) { o.fdr = 0.0; }, kInvalid, "fdr");
  check([](BehaviourOptions& o) { o.fdr = 1.0; }, kInvalid, "fdr");
  check([](BehaviourOptions& o) { o.fdr = kNaN; }, kInvalid, "fdr");
  check([](BehaviourOptions& o) { o.interval = 0.0; }, kInvalid, "interval");
  check([](BehaviourOptions& o) { o.interval = 1.0; }, kInvalid, "interval");
  check([](BehaviourOptions& o) { o.interval = kNaN; }, kInvalid, "interval");
  check([](BehaviourOptions& o) { o.deviants = {1, 0}; }, kPrecondition, "deviants");
  check([](BehaviourOptions& o) { o.deviants = {1, 0, 0, 0}; }, kPrecondition, "deviants");
  check([](BehaviourOptions& o) { o.deviants = {1, 2, 0}; }, kInvalid, "deviants[1]");
  // Timelines or units of another log.
  std::vector<Row> more = TwoStrata();
  more.push_back({"extra", kT0, "reply", "r1"});
  const Fixture other = MakeRun(more);
  auto b = AssessBehaviours(r.log, other.tl, r.units);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), kPrecondition);
  EXPECT_NE(std::string(b.status().message()).find("timelines"), std::string::npos) << b.status();
  b = AssessBehaviours(r.log, r.tl, other.units);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), kPrecondition);
  EXPECT_NE(std::string(b.status().message()).find("units"), std::string::npos) << b.status();
  Units bad = r.units;
  bad.of_deal[0] = 7;
  b = AssessBehaviours(r.log, r.tl, bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), kPrecondition);
  EXPECT_NE(std::string(b.status().message()).find("unit of deal 0"), std::string::npos) << b.status();
  // An empty log: no deal, every row empty.
  const Fixture empty = MakeRun({});
  auto e = AssessBehaviours(empty.log, empty.tl, empty.units);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->trials, (std::vector<int64_t>{0, 0, 0}));
}

// ---- 4. A slow reference on random logs --------------------------------------------------

struct RefRow {
  int64_t a = 0, b = 0, c = 0, d = 0;
};

// One trial of the reference: its stage, unit, outcome and the features it had.
struct RefTrial {
  int32_t stage = 0, unit = 0;
  bool advanced = false;
  std::set<std::string> has;
};

// Everything the reference computes, keyed by (stage, feature, unit).
struct Reference {
  std::vector<std::string> features;
  std::map<std::tuple<int32_t, std::string, int32_t>, RefRow> cells;
  std::vector<int64_t> trials;
  std::vector<RefTrial> trial_list;
};

Reference SlowReference(const EventLog& log, const Timelines& tl, const Units& units, int64_t window) {
  Reference ref;
  const bool has_contact = !log.contact().empty(), has_role = !log.contact_role().empty();
  ref.features.push_back("follow_up");
  if (has_role) {  // seller actions x roles, each sorted by name
    std::set<std::string> actions, roles;
    for (int32_t a = 0; a < log.actions().size(); ++a) {
      if (log.actor(a) == Actor::kSeller) actions.insert(log.actions().Label(a));
    }
    for (int32_t k = 0; k < log.contact_roles().size(); ++k) roles.insert(log.contact_roles().Label(k));
    for (const std::string& a : actions) {
      for (const std::string& k : roles) ref.features.push_back(a + "@" + k);
    }
  }
  if (has_contact) {
    for (auto f : {"contacts>=2", "contacts>=3", "contacts>=4"}) ref.features.push_back(f);
  }
  if (has_role) {
    for (auto f : {"roles>=2", "roles>=3"}) ref.features.push_back(f);
  }
  if (has_contact) ref.features.push_back("buyer_contacts>=2");
  ref.features.push_back("cadence<=7d");
  const int32_t O = tl.num_open;
  ref.trials.assign(static_cast<size_t>(O), 0);
  std::multimap<int32_t, size_t> transitions_of;
  for (size_t i = 0; i < tl.transitions.size(); ++i) transitions_of.emplace(tl.transitions.deal[i], i);
  const auto S = static_cast<size_t>(tl.num_stages());
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    const auto ds = static_cast<size_t>(d);
    const auto outcome = static_cast<Outcome>(tl.outcome[ds]);
    int32_t furthest = -1;
    for (int32_t k = 0; k < O; ++k) {
      if (tl.first_entered[ds * S + static_cast<size_t>(k)] != kNullInstant) furthest = k;
    }
    if (outcome == Outcome::kWon) furthest = O;
    std::vector<size_t> mine;
    auto range = transitions_of.equal_range(d);
    for (auto it = range.first; it != range.second; ++it) mine.push_back(it->second);
    std::sort(mine.begin(), mine.end());
    for (int32_t k = 0; k < O; ++k) {
      const int64_t e = tl.first_entered[ds * S + static_cast<size_t>(k)];
      if (e == kNullInstant) continue;
      bool advanced = false;
      if (furthest > k) {
        advanced = true;
      } else if (!(furthest == k && (outcome == Outcome::kLost || outcome == Outcome::kStalled))) {
        continue;
      }
      ++ref.trials[static_cast<size_t>(k)];
      int64_t next = std::numeric_limits<int64_t>::max();
      for (size_t j = 0; j < mine.size(); ++j) {
        if (tl.transitions.to[mine[j]] == k) {
          if (j + 1 < mine.size()) next = tl.transitions.time[mine[j + 1]];
          break;
        }
      }
      std::map<std::string, bool> has;
      for (const std::string& f : ref.features) has[f] = false;
      std::set<int32_t> contacts, roles, buyers;
      std::vector<int64_t> seller_times;
      for (int64_t i = log.deal_offsets()[ds]; i < log.deal_offsets()[ds + 1]; ++i) {
        const auto is = static_cast<size_t>(i);
        const int64_t t = log.time()[is];
        const Actor who = log.actor(log.action()[is]);
        if (who == Actor::kSeller && t > e && t <= e + window && t < next) has["follow_up"] = true;
        if (t >= e) continue;
        if (who == Actor::kSeller) {
          seller_times.push_back(t);
          if (has_role && log.contact_role()[is] >= 0) {
            has[log.actions().Label(log.action()[is]) + "@" + log.contact_roles().Label(log.contact_role()[is])] = true;
            roles.insert(log.contact_role()[is]);
          }
          if (has_contact && log.contact()[is] >= 0) contacts.insert(log.contact()[is]);
        } else if (who == Actor::kBuyer && has_contact && log.contact()[is] >= 0) {
          buyers.insert(log.contact()[is]);
        }
      }
      if (has_contact) {
        has["contacts>=2"] = contacts.size() >= 2;
        has["contacts>=3"] = contacts.size() >= 3;
        has["contacts>=4"] = contacts.size() >= 4;
        has["buyer_contacts>=2"] = buyers.size() >= 2;
      }
      if (has_role) {
        has["roles>=2"] = roles.size() >= 2;
        has["roles>=3"] = roles.size() >= 3;
      }
      bool cadence = !seller_times.empty() && e - seller_times.back() <= Days(7);
      for (size_t j = 1; j < seller_times.size(); ++j) {
        if (seller_times[j] - seller_times[j - 1] > Days(7)) cadence = false;
      }
      has["cadence<=7d"] = cadence;
      const int32_t u = units.of_deal[ds];
      RefTrial trial{k, u, advanced, {}};
      for (const auto& [f, present] : has) {
        RefRow& c = ref.cells[{k, f, u}];
        (present ? (advanced ? c.a : c.b) : (advanced ? c.c : c.d)) += 1;
        if (present) trial.has.insert(f);
      }
      ref.trial_list.push_back(std::move(trial));
    }
  }
  return ref;
}

// The reference's statistics for one row, from its per-unit tables.
struct RefStats {
  int64_t present = 0, absent = 0, adv_present = 0, adv_absent = 0;
  double odds = kNaN, lower = kNaN, upper = kNaN, p = kNaN;
};

RefStats Stats(const std::vector<RefRow>& strata) {
  RefStats s;
  double num = 0, den = 0, v1 = 0, v2 = 0, v3 = 0, obs = 0, expct = 0, var = 0;
  for (const RefRow& t : strata) {
    s.present += t.a + t.b;
    s.absent += t.c + t.d;
    s.adv_present += t.a;
    s.adv_absent += t.c;
    const double n = static_cast<double>(t.a + t.b + t.c + t.d);
    if (n < 2) continue;
    const double a = static_cast<double>(t.a), b = static_cast<double>(t.b), c = static_cast<double>(t.c),
                 d = static_cast<double>(t.d);
    num += a * d / n;
    den += b * c / n;
    v1 += (a + d) / n * (a * d / n);
    v2 += (a + d) / n * (b * c / n) + (b + c) / n * (a * d / n);
    v3 += (b + c) / n * (b * c / n);
    obs += a;
    expct += (a + b) * (a + c) / n;
    var += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1));
  }
  if (num > 0 && den > 0) {
    s.odds = num / den;
    const double se = std::sqrt(v1 / (2 * num * num) + v2 / (2 * num * den) + v3 / (2 * den * den));
    s.lower = s.odds * std::exp(-kZ95 * se);
    s.upper = s.odds * std::exp(kZ95 * se);
  }
  if (var > 0) s.p = std::erfc(std::sqrt((obs - expct) * (obs - expct) / var / 2));
  return s;
}

void ExpectClose(double got, double want, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": " << got;
  } else {
    EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << what;
  }
}

// The "over and above" screen, computed apart from the library: for a stage's
// discoveries (given by feature name with their p-value and odds ratio), in p-value
// order (ties: the order given), each re-tested with strata keyed by (unit, a string of
// '0'/'1' for the first `cap` accepted features) in a std::map.
struct RefScreenRow {
  double odds = kNaN, lower = kNaN, upper = kNaN, p = kNaN;
  bool independent = false;
  std::string explained_by;
};

struct RefDiscovery {
  std::string feature;
  double p, odds;
};

std::map<std::string, RefScreenRow> RefScreen(const std::vector<RefTrial>& trials, int32_t stage,
                                              std::vector<RefDiscovery> discoveries, double t_star, size_t cap) {
  std::stable_sort(discoveries.begin(), discoveries.end(),
                   [](const RefDiscovery& x, const RefDiscovery& y) { return x.p < y.p; });
  std::vector<std::string> accepted;
  std::map<std::string, RefScreenRow> out;
  for (const RefDiscovery& disc : discoveries) {
    const std::vector<std::string> used(accepted.begin(),
                                        accepted.begin() + static_cast<int64_t>(std::min(cap, accepted.size())));
    std::map<std::pair<int32_t, std::string>, RefRow> strata;
    for (const RefTrial& t : trials) {
      if (t.stage != stage) continue;
      std::string pattern;
      for (const std::string& f : used) pattern += t.has.count(f) ? '1' : '0';
      RefRow& c = strata[{t.unit, pattern}];
      const bool present = t.has.count(disc.feature) > 0;
      (present ? (t.advanced ? c.a : c.b) : (t.advanced ? c.c : c.d)) += 1;
    }
    std::vector<RefRow> tables;
    for (const auto& [key, table] : strata) tables.push_back(table);
    const RefStats s = Stats(tables);
    RefScreenRow& row = out[disc.feature];
    row.odds = s.odds;
    row.lower = s.lower;
    row.upper = s.upper;
    row.p = s.p;
    const bool same_side = (disc.odds > 1 && s.odds > 1) || (disc.odds < 1 && s.odds < 1);
    // (A relative 1e-12 allowance: the reference's erfc and the library's chi-square can
    // differ in the last bit when the adjusted p is t* itself; the exact boundary is
    // checked by hand in Screen.ThresholdIsInclusive.)
    row.independent = s.p <= t_star * (1 + 1e-12) && same_side;
    if (row.independent) {
      accepted.push_back(disc.feature);
    } else {
      // The best explanation first: the largest p-value when stratified by unit and
      // that one accepted feature alone (NaN counts as largest), ties in acceptance order.
      std::vector<std::pair<double, size_t>> sim;
      for (size_t i = 0; i < used.size(); ++i) {
        std::map<std::pair<int32_t, bool>, RefRow> one;
        for (const RefTrial& t : trials) {
          if (t.stage != stage) continue;
          RefRow& c = one[{t.unit, t.has.count(used[i]) > 0}];
          const bool present = t.has.count(disc.feature) > 0;
          (present ? (t.advanced ? c.a : c.b) : (t.advanced ? c.c : c.d)) += 1;
        }
        std::vector<RefRow> alone;
        for (const auto& [key, table] : one) alone.push_back(table);
        const double p = Stats(alone).p;
        sim.emplace_back(std::isnan(p) ? -2.0 : -p, i);
      }
      std::sort(sim.begin(), sim.end());
      for (size_t i = 0; i < sim.size(); ++i) row.explained_by += (i > 0 ? ", " : "") + used[sim[i].second];
    }
  }
  return out;
}

// Counts of the screen over the comparisons (to check the tests exercise it).
struct ScreenStats {
  int discoveries = 0, dependent = 0, adjusted = 0;
};

// Compares every count and statistic of `b` with the slow reference; returns the
// number of rows with a present trial.
int CompareWithReference(const EventLog& log, const Timelines& tl, const Units& units, const BehaviourOptions& op,
                         const BehaviourAssessment& b, ScreenStats& stats) {
  const Reference ref = SlowReference(log, tl, units, op.follow_up_window);
  const auto O = static_cast<size_t>(tl.num_open);
  const size_t nf = ref.features.size(), nu = units.names.size();
  EXPECT_EQ(b.trials, ref.trials);
  EXPECT_EQ(b.rows.size(), O * nf);
  if (b.rows.size() != O * nf) return 0;
  std::vector<size_t> tested;
  std::vector<double> ref_q(b.rows.size(), kNaN);
  int with_present = 0;
  for (size_t k = 0; k < O; ++k) {
    for (size_t f = 0; f < nf; ++f) {
      const size_t i = k * nf + f;
      const std::string what = absl::StrCat(tl.stage_names[k], " ", ref.features[f]);
      EXPECT_EQ(b.rows.stage[i], static_cast<int32_t>(k));
      EXPECT_EQ(b.rows.feature[i], ref.features[f]) << what;
      std::vector<RefRow> strata(nu);
      int64_t dev_n = 0, dev_p = 0, peer_n = 0, peer_p = 0;
      for (size_t u = 0; u < nu; ++u) {
        auto it = ref.cells.find({static_cast<int32_t>(k), ref.features[f], static_cast<int32_t>(u)});
        if (it != ref.cells.end()) strata[u] = it->second;
        const RefRow& t = strata[u];
        EXPECT_EQ(b.unit_trials[i * nu + u], t.a + t.b + t.c + t.d) << what << " unit " << u;
        EXPECT_EQ(b.unit_present[i * nu + u], t.a + t.b) << what << " unit " << u;
        if (!op.deviants.empty()) {
          (op.deviants[u] ? dev_n : peer_n) += t.a + t.b + t.c + t.d;
          (op.deviants[u] ? dev_p : peer_p) += t.a + t.b;
        }
      }
      const RefStats s = Stats(strata);
      EXPECT_EQ(b.rows.present[i], s.present) << what;
      EXPECT_EQ(b.rows.absent[i], s.absent) << what;
      EXPECT_EQ(b.rows.advanced_present[i], s.adv_present) << what;
      EXPECT_EQ(b.rows.advanced_absent[i], s.adv_absent) << what;
      with_present += s.present > 0 ? 1 : 0;
      ExpectClose(b.rows.rate_present[i],
                  s.present > 0 ? static_cast<double>(s.adv_present) / static_cast<double>(s.present) : kNaN,
                  what + " rate_present");
      ExpectClose(b.rows.rate_absent[i],
                  s.absent > 0 ? static_cast<double>(s.adv_absent) / static_cast<double>(s.absent) : kNaN,
                  what + " rate_absent");
      ExpectClose(b.rows.odds_ratio[i], s.odds, what + " odds_ratio");
      ExpectClose(b.rows.odds_ratio_lower[i], s.lower, what + " lower");
      ExpectClose(b.rows.odds_ratio_upper[i], s.upper, what + " upper");
      ExpectClose(b.rows.p_value[i], s.p, what + " p_value");
      const bool t = s.present >= op.min_support && s.absent >= op.min_support && !std::isnan(s.p);
      EXPECT_EQ(b.rows.tested[i], t ? 1 : 0) << what;
      if (t) tested.push_back(i);
      if (op.deviants.empty()) {
        EXPECT_TRUE(std::isnan(b.rows.deviant_share[i])) << what;
      } else {
        ExpectClose(b.rows.deviant_share[i],
                    dev_n > 0 ? static_cast<double>(dev_p) / static_cast<double>(dev_n) : kNaN, what + " deviant");
        ExpectClose(b.rows.peer_share[i],
                    peer_n > 0 ? static_cast<double>(peer_p) / static_cast<double>(peer_n) : kNaN, what + " peer");
      }
    }
  }
  // BH by ranks: q_i = min over p_j >= p_i of m p_j / #{l : p_l <= p_j}, capped at 1.
  const auto m = static_cast<double>(tested.size());
  for (size_t i = 0; i < b.rows.size(); ++i) {
    if (std::find(tested.begin(), tested.end(), i) == tested.end()) {
      EXPECT_TRUE(std::isnan(b.rows.q_value[i]));
      EXPECT_EQ(b.rows.replicate[i] + b.rows.avoid[i], 0);
      continue;
    }
    double q = 1.0;
    for (size_t j : tested) {
      if (b.rows.p_value[j] < b.rows.p_value[i]) continue;
      double rank = 0;
      for (size_t l : tested) rank += b.rows.p_value[l] <= b.rows.p_value[j] ? 1 : 0;
      q = std::min(q, m * b.rows.p_value[j] / rank);
    }
    EXPECT_NEAR(b.rows.q_value[i], q, 1e-12 * std::max(1.0, q));
    EXPECT_EQ(b.rows.replicate[i], q <= op.fdr && b.rows.odds_ratio[i] > 1 ? 1 : 0);
    EXPECT_EQ(b.rows.avoid[i], q <= op.fdr && b.rows.odds_ratio[i] < 1 ? 1 : 0);
    ref_q[i] = q;
  }
  // The screen: t* from the reference q-values, discoveries from the reference's rule.
  double t_star = -1;
  for (size_t i : tested) {
    if (ref_q[i] <= op.fdr) t_star = std::max(t_star, b.rows.p_value[i]);
  }
  for (size_t k = 0; k < O; ++k) {
    std::vector<RefDiscovery> disc;
    for (size_t f = 0; f < nf; ++f) {
      const size_t i = k * nf + f;
      if (!std::isnan(ref_q[i]) && ref_q[i] <= op.fdr && (b.rows.odds_ratio[i] > 1 || b.rows.odds_ratio[i] < 1)) {
        disc.push_back({ref.features[f], b.rows.p_value[i], b.rows.odds_ratio[i]});
      }
    }
    const auto screen = RefScreen(ref.trial_list, static_cast<int32_t>(k), disc, t_star, kMaxAdjustFor);
    // The first discovery of the stage (smallest p, ties: feature order) is adjusted for
    // nothing: the same strata, so the very same figures, and it is independent.
    if (!disc.empty()) {
      size_t first = 0;
      for (size_t j = 1; j < disc.size(); ++j) {
        if (disc[j].p < disc[first].p) first = j;
      }
      const auto f = static_cast<size_t>(
          std::find(ref.features.begin(), ref.features.end(), disc[first].feature) - ref.features.begin());
      const size_t i = k * nf + f;
      EXPECT_EQ(b.rows.independent[i], 1) << disc[first].feature;
      EXPECT_EQ(b.rows.adjusted_odds_ratio[i], b.rows.odds_ratio[i]) << disc[first].feature;
      EXPECT_EQ(b.rows.adjusted_lower[i], b.rows.odds_ratio_lower[i]) << disc[first].feature;
      EXPECT_EQ(b.rows.adjusted_upper[i], b.rows.odds_ratio_upper[i]) << disc[first].feature;
      EXPECT_EQ(b.rows.adjusted_p_value[i], b.rows.p_value[i]) << disc[first].feature;
    }
    for (size_t f = 0; f < nf; ++f) {
      const size_t i = k * nf + f;
      const std::string what = absl::StrCat(tl.stage_names[k], " ", ref.features[f], " (screen)");
      const auto it = screen.find(ref.features[f]);
      if (it == screen.end()) {
        EXPECT_TRUE(std::isnan(b.rows.adjusted_odds_ratio[i])) << what;
        EXPECT_TRUE(std::isnan(b.rows.adjusted_lower[i])) << what;
        EXPECT_TRUE(std::isnan(b.rows.adjusted_upper[i])) << what;
        EXPECT_TRUE(std::isnan(b.rows.adjusted_p_value[i])) << what;
        EXPECT_EQ(b.rows.independent[i], 0) << what;
        EXPECT_EQ(b.rows.explained_by[i], "") << what;
        continue;
      }
      ++stats.discoveries;
      const RefScreenRow& s = it->second;
      ExpectClose(b.rows.adjusted_odds_ratio[i], s.odds, what + " odds");
      ExpectClose(b.rows.adjusted_lower[i], s.lower, what + " lower");
      ExpectClose(b.rows.adjusted_upper[i], s.upper, what + " upper");
      ExpectClose(b.rows.adjusted_p_value[i], s.p, what + " p");
      EXPECT_EQ(b.rows.independent[i], s.independent ? 1 : 0)
          << what << " adjusted p " << b.rows.adjusted_p_value[i] << " (reference " << s.p << ") t* " << t_star
          << " odds " << b.rows.odds_ratio[i] << " adjusted " << s.odds;
      EXPECT_EQ(b.rows.explained_by[i], s.explained_by) << what;
      stats.dependent += s.independent ? 0 : 1;
      stats.adjusted += s.p != b.rows.p_value[i] ? 1 : 0;
      EXPECT_LE(std::count(s.explained_by.begin(), s.explained_by.end(), ','), kMaxAdjustFor - 1) << what;
    }
  }
  return with_present;
}

TEST(Reference, RandomLogs) {
  Rng rng(77);
  const std::vector<std::string> actions = {"reply", "need",  "budget", "proposal", "sign",    "decline",
                                            "spam",  "meet",  "rescope", "call",    "email",   "meeting",
                                            "call",  "email", "call",   "meeting"};
  const std::vector<std::string> reps = {"ann", "bo", "cy"};
  const std::vector<std::string> contacts = {"c0", "c1", "c2", "c3", "c4"};
  const std::vector<std::string> roles = {"dm", "champion", "user"};
  int with_present = 0, tested = 0;
  ScreenStats screen;
  for (int round = 0; round < 120; ++round) {
    std::vector<test_logs::Ev> ev;
    const int64_t last = test_logs::AddRandomDeals(rng, actions, reps, 30, 14, ev);
    std::vector<Row> rows;
    for (const auto& e : ev) {
      rows.push_back({e.deal, e.time, e.action, e.rep, rng.Percent(25) ? "" : rng.Pick(contacts),
                      rng.Percent(25) ? "" : rng.Pick(roles)});
    }
    const Cols cols{rng.Percent(80), rng.Percent(80)};
    StageModel m;
    m.AddStage("S0").Any(rng.Percent(50) ? std::vector<std::string>{"created"}
                                         : test_logs::RandomEntryActions(rng, {"reply", "meet"}));
    m.AddStage("S1").Any(test_logs::RandomEntryActions(rng, {"reply", "need"}));
    m.AddStage("S2").Any(test_logs::RandomEntryActions(rng, {"need", "budget"}));
    m.AddStage("S3").Any(test_logs::RandomEntryActions(rng, {"budget", "proposal"}));
    m.Won().Any({"sign"});
    m.Lost().Any({"decline"});
    if (rng.Percent(30)) m.Exclude({"spam"});
    if (rng.Percent(50)) m.SetOrdering(Ordering::kSkip);
    if (rng.Percent(40)) m.mutable_stages()[1].StallAfter(Days(1 + rng.Below(10)));
    if (rng.Percent(40)) m.mutable_stages()[2].StallAfter(Days(1 + rng.Below(10)));
    if (rng.Percent(30)) m.CloseStalledAfter(Days(rng.Below(10)));
    if (rng.Percent(30)) {
      StageRule rescope;
      rescope.filters = {{"rescope"}};
      m.Regress(rescope, "S1");
      m.SetRegression(Regression::kRecord);
    }
    if (rng.Percent(30)) m.SetReopen(Reopen::kAllow);
    RunOptions run;
    run.as_of = last + rng.Below(20) * kDay;
    const EventLog log = Build(rows, cols);
    const Timelines tl = RunModel(m, log, run);
    const Units units = MustRep(log);
    BehaviourOptions op;
    const int64_t windows[] = {Hours(1), Hours(24), Days(3), Hours(24) + 1, Days(7)};
    op.follow_up_window = windows[rng.Below(5)];
    op.min_support = 1 + rng.Below(3);
    op.fdr = rng.Percent(50) ? 0.1 : 0.5;
    if (rng.Percent(50)) {
      for (size_t u = 0; u < units.names.size(); ++u) op.deviants.push_back(rng.Percent(40) ? 1 : 0);
    }
    auto b = AssessBehaviours(log, tl, units, op);
    ASSERT_TRUE(b.ok()) << b.status();
    SCOPED_TRACE(absl::StrCat("round ", round));
    with_present += CompareWithReference(log, tl, units, op, *b, screen);
    for (uint8_t t : b->rows.tested) tested += t;
    if (HasFailure()) break;
  }
  // The random logs exercise the features: many rows have support, many are tested.
  EXPECT_GT(with_present, 500);
  EXPECT_GT(tested, 80);
  // (These noise logs have few discoveries; RandomScreen below plants proxies.)
}

// Random logs with planted proxies: a latent "good deal" x drives an email with the
// dm before the reply (email@dm), a meeting with the dm that mostly goes with it
// (meeting@dm, a proxy), emails to several contacts and roles (contacts>=m, roles>=m,
// proxies again), and a follow-up; the deal advances (need, then proposal) with odds
// rising with x, the follow-up and a rep effect. Two stages (Lead, Qualified), 2-5 reps.
std::vector<Row> ScreenLog(Rng& rng, int deals, int reps) {
  std::vector<Row> rows;
  for (int i = 0; i < deals; ++i) {
    const std::string rep = "r" + std::to_string(rng.Below(static_cast<int64_t>(reps)));
    const std::string d = "d" + std::to_string(i);
    const int64_t t = kT0 + Days(20) + Hours(i % 500);
    const bool x = rng.Percent(50);
    const bool dm = rng.Percent(x ? 75 : 20);
    const bool meet = dm ? rng.Percent(85) : rng.Percent(5);
    const bool champion = rng.Percent(x ? 60 : 40);
    const bool fu = rng.Percent(50);
    if (dm) rows.push_back({d, t - Days(9), "email", rep, "c1", "dm"});
    if (meet) rows.push_back({d, t - Days(9) + Hours(1), "meeting", rep, "c1", "dm"});
    if (champion) rows.push_back({d, t - Days(10), "email", rep, "c2", "champion"});
    if (rng.Percent(40)) rows.push_back({d, t - Days(11), "call", rep, "c3", "user"});
    rows.push_back({d, t, "reply", rep, "b1"});
    if (fu) rows.push_back({d, t + Hours(2), "call", rep, "c1", rng.Percent(50) ? "dm" : ""});
    const int score = (x ? 35 : 0) + (fu ? 20 : 0) + (rep == "r0" ? 10 : 0);
    if (rng.Below(100) >= static_cast<int64_t>(15 + score)) {
      rows.push_back({d, t + Days(2), "decline", rep});
      continue;
    }
    rows.push_back({d, t + Days(2), "need", rep, "b1"});
    // At Qualified: a follow-up and a meeting with the champion matter.
    const bool fu2 = rng.Percent(50), meet2 = rng.Percent(x ? 60 : 30);
    if (meet2) rows.push_back({d, t + Days(2) - Hours(3), "meeting", rep, "c2", "champion"});
    if (fu2) rows.push_back({d, t + Days(2) + Hours(1), "email", rep, "c2", "champion"});
    const int score2 = (x ? 25 : 0) + (fu2 ? 25 : 0);
    rows.push_back({d, t + Days(5), rng.Below(100) < static_cast<int64_t>(20 + score2) ? "proposal" : "decline", rep});
  }
  return rows;
}

TEST(Reference, RandomScreen) {
  Rng rng(4242);
  ScreenStats screen;
  int with_present = 0;
  for (int round = 0; round < 30; ++round) {
    const Fixture r = MakeRun(ScreenLog(rng, 200 + static_cast<int>(rng.Below(400)), 2 + static_cast<int>(rng.Below(4))));
    BehaviourOptions op;
    op.min_support = 1 + static_cast<int64_t>(rng.Below(20));
    op.fdr = rng.Percent(50) ? 0.05 : 0.2;
    auto b = AssessBehaviours(r.log, r.tl, r.units, op);
    ASSERT_TRUE(b.ok()) << b.status();
    SCOPED_TRACE(absl::StrCat("round ", round));
    with_present += CompareWithReference(r.log, r.tl, r.units, op, *b, screen);
    if (HasFailure()) break;
  }
  std::printf("screen logs: %d discoveries, %d adjusted, %d not independent\n", screen.discoveries, screen.adjusted,
              screen.dependent);
  EXPECT_GT(with_present, 300);
  EXPECT_GT(screen.discoveries, 100);
  EXPECT_GT(screen.adjusted, 50);
  EXPECT_GT(screen.dependent, 20);
}

// kMaxAdjustFor: eleven independent coin-flip features (email@q0 ... email@q10, an email
// with a contact of role q<j> 8 days before the reply), each raising the odds of
// advancing, plus meeting@q0, a noisy copy of email@q0. All are discoveries at Lead; the
// later ones are adjusted for the first kMaxAdjustFor accepted only. Checked against the
// reference screen with the cap, and the reference without the cap differs (the cap
// matters here).
TEST(Screen, AdjustsForAtMostKMaxAdjustFor) {
  Rng rng(99);
  std::vector<Row> rows;
  for (int i = 0; i < 4000; ++i) {
    const std::string d = "d" + std::to_string(i), rep = i % 2 == 0 ? "r1" : "r2";
    const int64_t t = kT0 + Days(20) + Hours(i % 400);
    int score = 0;
    bool q0 = false;
    for (int j = 0; j <= 10; ++j) {
      if (!rng.Percent(50)) continue;
      rows.push_back({d, t - Days(8) - Hours(j), "email", rep, "", "q" + std::to_string(j)});
      score += j == 0 ? 3 : 1;
      q0 = q0 || j == 0;
    }
    if (q0 ? rng.Percent(80) : rng.Percent(20)) rows.push_back({d, t - Days(9), "meeting", rep, "", "q0"});
    rows.push_back({d, t, "reply", rep});
    // P(advance) = expit(0.7 score - 4.5), score 0 to 13.
    const double p = 1.0 / (1.0 + std::exp(4.5 - 0.7 * score));
    rows.push_back({d, t + Days(2), static_cast<double>(rng.Below(1'000'000)) < 1e6 * p ? "need" : "decline", rep});
  }
  const Fixture f = MakeRun(rows);
  BehaviourOptions op;
  op.min_support = 30;
  const BehaviourAssessment b = Assess(f, op);
  ScreenStats stats;
  CompareWithReference(f.log, f.tl, f.units, op, b, stats);
  int accepted = 0;
  std::vector<RefDiscovery> disc;
  double t_star = -1;
  for (size_t i = 0; i < b.rows.size(); ++i) {
    if (b.rows.q_value[i] <= op.fdr) t_star = std::max(t_star, b.rows.p_value[i]);
    if (b.rows.replicate[i] + b.rows.avoid[i] == 0) continue;
    EXPECT_EQ(b.rows.stage[i], 0);
    disc.push_back({b.rows.feature[i], b.rows.p_value[i], b.rows.odds_ratio[i]});
    accepted += b.rows.independent[i];
    EXPECT_LE(std::count(b.rows.explained_by[i].begin(), b.rows.explained_by[i].end(), ','), kMaxAdjustFor - 1);
  }
  EXPECT_GE(accepted, kMaxAdjustFor + 2);
  // Without the cap the reference gives other figures to the rows taken after the
  // kMaxAdjustFor-th accepted feature.
  const Reference ref = SlowReference(f.log, f.tl, f.units, op.follow_up_window);
  const auto capped = RefScreen(ref.trial_list, 0, disc, t_star, kMaxAdjustFor);
  const auto uncapped = RefScreen(ref.trial_list, 0, disc, t_star, 1000);
  int differ = 0;
  for (const auto& [feature, row] : capped) {
    const auto it = uncapped.find(feature);
    if (it != uncapped.end() && std::fabs(it->second.p - row.p) > 1e-9 * row.p) ++differ;
    const auto i = static_cast<size_t>(RowOf(b, "Lead", feature));
    EXPECT_NEAR(b.rows.adjusted_p_value[i], row.p, 1e-9 * row.p) << feature;
  }
  EXPECT_GE(differ, 2);
}

// ---- 5. The synthetic company --------------------------------------------------------------

// Every stage stalls after 45 quiet days and closes 30 days later (buyers who go dark
// never decline in this company: without stalls they would stay open, not trials).
Timelines SynthTimelines(const EventLog& log) {
  StageModel model = test_logs::SynthModel();
  for (auto& stage : model.mutable_stages()) stage.StallAfter(Days(45));
  model.CloseStalledAfter(Days(30));
  return RunModel(model, log);
}

TEST(Reference, SyntheticCompany) {
  // 140k events: two deal ranges (threads on two cores) summed; the reference is one pass.
  const EventLog log = test_logs::SynthLog(140'000, 9);
  const Timelines tl = SynthTimelines(log);
  const Units units = MustRep(log);
  BehaviourOptions op;
  op.deviants.assign(units.names.size(), 0);
  for (size_t u = 0; u < units.names.size(); u += 3) op.deviants[u] = 1;
  auto b = AssessBehaviours(log, tl, units, op);
  ASSERT_TRUE(b.ok()) << b.status();
  ScreenStats screen;
  EXPECT_GT(CompareWithReference(log, tl, units, op, *b, screen), 50);
  EXPECT_GT(screen.dependent, 0);
}

TEST(Synthetic, PlantedBehavioursAreFound) {
  const EventLog log = test_logs::SynthLog(300'000, 5);
  const Timelines tl = SynthTimelines(log);
  const Units units = MustRep(log);
  auto b = AssessBehaviours(log, tl, units);
  ASSERT_TRUE(b.ok()) << b.status();
  // The planted behaviours come out as practices to replicate.
  auto replicate = [&](std::string_view stage, std::string_view feature) {
    const int64_t i = RowOf(*b, stage, feature);
    return i >= 0 && b->rows.replicate[static_cast<size_t>(i)] == 1;
  };
  EXPECT_TRUE(replicate("Proposal", "meeting@decision_maker"));
  for (const char* stage : {"Engaged", "Qualified", "Budget", "Proposal", "Commit"}) {
    EXPECT_TRUE(replicate(stage, "follow_up")) << stage;
  }
  // Multithreading (at least min(3, buying centre) contacts before share_budget) matches
  // neither contacts>=2 nor contacts>=3 exactly; on this seed it is not significant after
  // BH (q 0.22), but its odds ratio is above 1 beyond its interval.
  const auto budget = static_cast<size_t>(RowOf(*b, "Budget", "contacts>=2"));
  EXPECT_GT(b->rows.odds_ratio_lower[budget], 1.0);
  // The sentence of the DM meeting row states its numbers.
  const auto i = static_cast<size_t>(RowOf(*b, "Proposal", "meeting@decision_maker"));
  EXPECT_EQ(b->rows.sentence[i].rfind("At Proposal, deals with a meeting with the decision_maker before Proposal "
                                      "advanced ",
                                      0),
            0u)
      << b->rows.sentence[i];
  EXPECT_NE(b->rows.sentence[i].find("within the same rep; "), std::string::npos);
  // Over and above: the DM meeting is the first discovery at Proposal; reaching two
  // contacts or two roles (which a DM meeting implies) is explained by it.
  EXPECT_EQ(b->rows.independent[i], 1);
  for (const char* proxy : {"contacts>=2", "roles>=2"}) {
    const auto j = static_cast<size_t>(RowOf(*b, "Proposal", proxy));
    EXPECT_EQ(b->rows.replicate[j], 1) << proxy;
    EXPECT_EQ(b->rows.independent[j], 0) << proxy;
    EXPECT_EQ(b->rows.explained_by[j].rfind("meeting@decision_maker", 0), 0u) << b->rows.explained_by[j];
    EXPECT_GT(b->rows.adjusted_p_value[j], 0.05) << proxy;
  }
}

// ---- Mergeable counts (BehaviourCounts) ----------------------------------------------

bool Identical(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Every row figure equal bit for bit (NaN = NaN), and the per-unit arrays per unit name.
void ExpectSameBehaviours(const BehaviourAssessment& a, const BehaviourAssessment& b, const std::string& what) {
  EXPECT_EQ(a.stage_names, b.stage_names) << what;
  EXPECT_EQ(a.trials, b.trials) << what;
  const BehaviourRows &x = a.rows, &y = b.rows;
  ASSERT_EQ(x.size(), y.size()) << what;
  EXPECT_EQ(x.stage, y.stage) << what;
  EXPECT_EQ(x.feature, y.feature) << what;
  EXPECT_EQ(x.description, y.description) << what;
  EXPECT_EQ(x.sentence, y.sentence) << what;
  EXPECT_EQ(x.explained_by, y.explained_by) << what;
  for (const auto f : {&BehaviourRows::present, &BehaviourRows::absent, &BehaviourRows::advanced_present,
                       &BehaviourRows::advanced_absent, &BehaviourRows::deviant_units, &BehaviourRows::peer_units}) {
    EXPECT_EQ(x.*f, y.*f) << what;
  }
  for (const auto f : {&BehaviourRows::tested, &BehaviourRows::replicate, &BehaviourRows::avoid,
                       &BehaviourRows::independent}) {
    EXPECT_EQ(x.*f, y.*f) << what;
  }
  for (const auto f :
       {&BehaviourRows::rate_present, &BehaviourRows::rate_present_lower, &BehaviourRows::rate_present_upper,
        &BehaviourRows::rate_absent, &BehaviourRows::rate_absent_lower, &BehaviourRows::rate_absent_upper,
        &BehaviourRows::lift, &BehaviourRows::odds_ratio, &BehaviourRows::odds_ratio_lower,
        &BehaviourRows::odds_ratio_upper, &BehaviourRows::p_value, &BehaviourRows::q_value,
        &BehaviourRows::deviant_share, &BehaviourRows::peer_share, &BehaviourRows::deviant_lift,
        &BehaviourRows::deviant_unit_share, &BehaviourRows::peer_unit_share, &BehaviourRows::share_difference,
        &BehaviourRows::share_difference_lower, &BehaviourRows::share_difference_upper, &BehaviourRows::share_p_value,
        &BehaviourRows::adjusted_odds_ratio, &BehaviourRows::adjusted_lower, &BehaviourRows::adjusted_upper,
        &BehaviourRows::adjusted_p_value}) {
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(Identical((x.*f)[i], (y.*f)[i])) << what << " row " << i << ": " << (x.*f)[i] << " vs " << (y.*f)[i];
    }
  }
  ASSERT_EQ(a.unit_names.size(), b.unit_names.size()) << what;
  const size_t nu = a.unit_names.size();
  for (size_t u = 0; u < nu; ++u) {
    const auto v = static_cast<size_t>(std::find(b.unit_names.begin(), b.unit_names.end(), a.unit_names[u]) -
                                       b.unit_names.begin());
    ASSERT_LT(v, nu) << what;
    for (size_t r = 0; r < x.size(); ++r) {
      EXPECT_EQ(a.unit_trials[r * nu + u], b.unit_trials[r * nu + v]) << what;
      EXPECT_EQ(a.unit_present[r * nu + u], b.unit_present[r * nu + v]) << what;
    }
  }
}

BehaviourCounts MergeRandomTree(std::vector<BehaviourCounts> parts, Rng& rng) {
  while (parts.size() > 1) {
    const auto i = static_cast<size_t>(rng.Below(static_cast<int64_t>(parts.size())));
    BehaviourCounts a = std::move(parts[i]);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(i));
    const auto j = static_cast<size_t>(rng.Below(static_cast<int64_t>(parts.size())));
    BehaviourCounts b = std::move(parts[j]);
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(j));
    if (rng.Percent(50)) {  // through the bytes, as between processes
      auto back = BehaviourCounts::Deserialize(b.Serialize());
      EXPECT_TRUE(back.ok()) << back.status();
      if (back.ok()) b = *std::move(back);
    }
    if (rng.Percent(50)) {
      EXPECT_TRUE(a.Merge(b).ok());
      parts.push_back(std::move(a));
    } else {
      EXPECT_TRUE(b.Merge(a).ok());
      parts.push_back(std::move(b));
    }
  }
  return parts.empty() ? BehaviourCounts() : std::move(parts[0]);
}

std::vector<std::vector<Row>> SplitByDeal(const std::vector<Row>& rows, int n, Rng& rng) {
  std::map<std::string, int> part_of;
  std::vector<std::vector<Row>> parts(static_cast<size_t>(n));
  for (const Row& e : rows) {
    auto [it, added] = part_of.try_emplace(e.deal, 0);
    if (added) it->second = static_cast<int>(rng.Below(n));
    parts[static_cast<size_t>(it->second)].push_back(e);
  }
  std::erase_if(parts, [](const std::vector<Row>& p) { return p.empty(); });
  return parts;
}

// Counts the parts of `rows` split by deal, merges them in a random tree and checks the
// result against the whole log: equal counts and bytes, and Finalize equal to
// AssessBehaviours bit for bit (deviants given by unit name to both). Returns the
// number of discoveries compared.
int CheckSplit(const std::vector<Row>& rows, Cols cols, const StageModel& model, const RunOptions& run,
               const BehaviourOptions& op, const std::set<std::string>& deviant_names, Rng& rng,
               const std::string& what) {
  const EventLog log = Build(rows, cols);
  const Timelines tl = RunModel(model, log, run);
  const Units units = MustRep(log);
  auto whole = BehaviourCounts::Count(log, tl, units, op.follow_up_window);
  EXPECT_TRUE(whole.ok()) << whole.status();
  if (!whole.ok()) return 0;
  const std::string bytes = whole->Serialize();
  auto back = BehaviourCounts::Deserialize(bytes);
  EXPECT_TRUE(back.ok() && *back == *whole) << what;
  std::vector<BehaviourCounts> counts;
  const auto parts = SplitByDeal(rows, 2 + static_cast<int>(rng.Below(4)), rng);
  for (const auto& p : parts) {
    const EventLog pl = Build(p, cols);
    auto pc = BehaviourCounts::Count(pl, RunModel(model, pl, run), MustRep(pl), op.follow_up_window);
    EXPECT_TRUE(pc.ok()) << pc.status();
    if (!pc.ok()) return 0;
    counts.push_back(*std::move(pc));
  }
  const BehaviourCounts merged = MergeRandomTree(std::move(counts), rng);
  EXPECT_TRUE(merged == *whole) << what << " (" << parts.size() << " parts)";
  EXPECT_EQ(merged.Serialize(), bytes) << what;
  BehaviourOptions single_op = op, merged_op = op;
  if (!deviant_names.empty()) {
    single_op.deviants.clear();
    merged_op.deviants.clear();
    for (const auto& n : units.names) single_op.deviants.push_back(deviant_names.count(n) ? 1 : 0);
    for (const auto& n : merged.unit_names()) merged_op.deviants.push_back(deviant_names.count(n) ? 1 : 0);
  }
  auto single = AssessBehaviours(log, tl, units, single_op);
  auto fin = merged.Finalize(merged_op);
  EXPECT_TRUE(single.ok() && fin.ok()) << single.status() << " / " << fin.status();
  if (!single.ok() || !fin.ok()) return 0;
  EXPECT_EQ(fin->unit_names, merged.unit_names());
  ExpectSameBehaviours(*fin, *single, what);
  int discoveries = 0;
  for (size_t i = 0; i < single->rows.size(); ++i) discoveries += single->rows.replicate[i] + single->rows.avoid[i];
  return discoveries;
}

TEST(BehaviourCounts, RandomSplitsMergeToTheWholeLogBitForBit) {
  Rng rng(4242);
  const std::vector<std::string> actions = {"reply", "need", "budget", "proposal", "sign", "decline", "spam",
                                            "meet", "rescope", "call", "email", "meeting", "call", "email"};
  const std::vector<std::string> reps = {"ann", "bo", "cy", "di"};
  const std::vector<std::string> contacts = {"c0", "c1", "c2", "c3", "c4"};
  const std::vector<std::string> roles = {"dm", "champion", "user"};
  for (int round = 0; round < 40; ++round) {
    std::vector<test_logs::Ev> ev;
    const int64_t last = test_logs::AddRandomDeals(rng, actions, reps, 60, 14, ev);
    std::vector<Row> rows;
    for (const auto& e : ev) {
      // A rare role that sorts first ("analyst") and a rare seller action ("meeting"):
      // many parts lack them, so merging must renumber the action@role features.
      const std::string role = rng.Percent(3) ? "analyst" : rng.Percent(25) ? "" : rng.Pick(roles);
      const std::string action = e.action == "meeting" && !rng.Percent(10) ? "email" : e.action;
      rows.push_back({e.deal, e.time, action, e.rep, rng.Percent(25) ? "" : rng.Pick(contacts), role});
    }
    const Cols cols{rng.Percent(80), rng.Percent(80)};
    StageModel m;
    m.AddStage("S0").Any({"created"});
    m.AddStage("S1").Any(test_logs::RandomEntryActions(rng, {"reply", "need"}));
    m.AddStage("S2").Any(test_logs::RandomEntryActions(rng, {"need", "budget"}));
    m.AddStage("S3").Any(test_logs::RandomEntryActions(rng, {"budget", "proposal"}));
    m.Won().Any({"sign"});
    m.Lost().Any({"decline"});
    if (rng.Percent(30)) m.Exclude({"spam"});
    if (rng.Percent(50)) m.SetOrdering(Ordering::kSkip);
    if (rng.Percent(40)) m.mutable_stages()[1].StallAfter(Days(1 + rng.Below(10)));
    RunOptions run;
    run.as_of = last + rng.Below(20) * kDay;
    BehaviourOptions op;
    const int64_t windows[] = {Hours(1), Hours(24), Days(3)};
    op.follow_up_window = windows[rng.Below(3)];
    op.min_support = 1 + rng.Below(3);
    op.fdr = rng.Percent(50) ? 0.1 : 0.5;
    std::set<std::string> dev;
    if (rng.Percent(50)) {
      for (const auto& r : reps) {
        if (rng.Percent(40)) dev.insert(r);
      }
    }
    CheckSplit(rows, cols, m, run, op, dev, rng, absl::StrCat("round ", round));
    if (HasFailure()) break;
  }
}

TEST(BehaviourCounts, SplitWithManyDiscoveriesAndTheScreen) {
  // AdjustsForAtMostKMaxAdjustFor's log: eleven email@q<j> features, many discoveries,
  // more than kMaxAdjustFor accepted; split into parts and merged.
  Rng rng(99);
  std::vector<Row> rows;
  for (int i = 0; i < 4000; ++i) {
    const std::string d = "d" + std::to_string(i), rep = i % 3 == 0 ? "r1" : i % 3 == 1 ? "r2" : "r0";
    const int64_t t = kT0 + Days(20) + Hours(i % 400);
    int score = 0;
    bool q0 = false;
    for (int j = 0; j <= 10; ++j) {
      if (!rng.Percent(50)) continue;
      rows.push_back({d, t - Days(8) - Hours(j), "email", rep, "", "q" + std::to_string(j)});
      score += j == 0 ? 3 : 1;
      q0 = q0 || j == 0;
    }
    if (q0 ? rng.Percent(80) : rng.Percent(20)) rows.push_back({d, t - Days(9), "meeting", rep, "", "q0"});
    rows.push_back({d, t, "reply", rep});
    const double p = 1.0 / (1.0 + std::exp(4.5 - 0.7 * score));
    rows.push_back({d, t + Days(2), static_cast<double>(rng.Below(1'000'000)) < 1e6 * p ? "need" : "decline", rep});
  }
  BehaviourOptions op;
  const int discoveries = CheckSplit(rows, Cols{}, Model(), AsOf100(), op, {"r1"}, rng, "planted");
  EXPECT_GT(discoveries, kMaxAdjustFor + 2);
  Rng rng2(7);
  CheckSplit(rows, Cols{}, Model(), AsOf100(), op, {}, rng2, "planted, other split");
}

TEST(BehaviourCounts, HostileBytesAndMismatchedMerges) {
  const int64_t t = kT0;
  const std::vector<Row> rows = {
      {"a", t, "reply", "ann", "c1", "dm"},        {"a", t + Hours(2), "email", "ann", "c1", "dm"},
      {"a", t + Days(2), "need", "ann"},           {"a", t + Days(4), "sign", "ann"},
      {"b", t, "reply", "bo", "c2", "user"},       {"b", t + Days(1), "meeting", "bo", "c2", "user"},
      {"b", t + Days(2), "need", "bo"},            {"b", t + Days(3), "decline", "bo"},
  };
  const Fixture f = MakeRun(rows);
  auto c = BehaviourCounts::Count(f.log, f.tl, f.units);
  ASSERT_TRUE(c.ok()) << c.status();
  // Hand check of the cells: deal a is a trial at Lead and Qualified (won), b at Lead
  // (advanced) and Qualified (failed): four trials, each its own (stage, unit, features,
  // outcome) cell. Features: follow_up, email@dm, email@user, meeting@dm, meeting@user,
  // contacts>=2..4, roles>=2..3, buyer_contacts>=2, cadence<=7d: 12.
  EXPECT_EQ(c->num_cells(), 4u);
  EXPECT_EQ(c->feature_names().size(), 12u);
  EXPECT_EQ(c->feature_names()[1], "email@dm");
  EXPECT_EQ(c->feature_names()[4], "meeting@user");
  EXPECT_EQ(c->unit_names(), (std::vector<std::string>{"ann", "bo"}));
  // Deal a alone knows email and dm, deal b alone meeting and user: merged, the
  // features are renumbered (b's meeting@user goes from 1 to 4) and equal the whole.
  {
    const Fixture fa = MakeRun({rows.begin(), rows.begin() + 4}), fb = MakeRun({rows.begin() + 4, rows.end()});
    auto ca = BehaviourCounts::Count(fa.log, fa.tl, fa.units), cb = BehaviourCounts::Count(fb.log, fb.tl, fb.units);
    ASSERT_TRUE(ca.ok() && cb.ok());
    EXPECT_EQ(cb->feature_names()[1], "meeting@user");
    ASSERT_TRUE(cb->Merge(*ca).ok());
    EXPECT_TRUE(*cb == *c);
    auto fin = cb->Finalize();
    ASSERT_TRUE(fin.ok());
    // Deal b had meeting@user before Qualified (entered at day 2; the meeting at day 1).
    const auto row = static_cast<size_t>(RowOf(*fin, "Qualified", "meeting@user"));
    EXPECT_EQ(fin->rows.present[row], 1);
    EXPECT_EQ(fin->rows.advanced_present[row], 0);
  }
  const std::string bytes = c->Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(BehaviourCounts::Deserialize(bytes.substr(0, n)).status().code(), absl::StatusCode::kDataLoss) << n;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    EXPECT_FALSE(BehaviourCounts::Deserialize(b).ok()) << i;
  }
  std::string v2 = bytes;
  v2[8] = 2;
  EXPECT_EQ(BehaviourCounts::Deserialize(v2).status().code(), absl::StatusCode::kFailedPrecondition);
  {  // well framed, but a cell count far beyond the bytes
    StateWriter w;
    w.U32(2);
    w.String("S");
    w.String("Won");
    EXPECT_EQ(BehaviourCounts::Deserialize(WrapState(std::string_view("SPBEHC\0\0\1", 8), 1, w.bytes())).status().code(),
              absl::StatusCode::kDataLoss);
    StateWriter v;
    v.U32(3);
    for (auto s : {"S", "Won", "Lost"}) v.String(s);
    v.I32(1);
    v.I64(Hours(24));
    v.String("rep");
    v.U8(0);
    v.U8(0);
    for (int k = 0; k < 4; ++k) v.U32(0);
    v.U64(uint64_t{1} << 62);
    EXPECT_EQ(BehaviourCounts::Deserialize(WrapState(std::string_view("SPBEHC\0\0\1", 8), 1, v.bytes())).status().code(),
              absl::StatusCode::kDataLoss);
  }
  // Mismatches.
  auto other_window = BehaviourCounts::Count(f.log, f.tl, f.units, Hours(2));
  ASSERT_TRUE(other_window.ok());
  BehaviourCounts x = *c;
  absl::Status st = x.Merge(*other_window);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("follow_up_window"), std::string::npos) << st;
  EXPECT_TRUE(x == *c);
  const Fixture no_role = MakeRun(rows, Cols{true, false});
  auto nr = BehaviourCounts::Count(no_role.log, no_role.tl, no_role.units);
  ASSERT_TRUE(nr.ok());
  st = x.Merge(*nr);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("feature definitions"), std::string::npos) << st;
  const Fixture skip = MakeRun(rows, Cols{}, true);
  StageModel two;
  two.AddStage("Lead").Any({"reply"});
  two.Won().Any({"sign"});
  two.Lost().Any({"decline"});
  const Timelines tl2 = RunModel(two, f.log, AsOf100());
  auto st2 = BehaviourCounts::Count(f.log, tl2, f.units);
  ASSERT_TRUE(st2.ok());
  st = x.Merge(*st2);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("stages"), std::string::npos) << st;
  const Units all = SingleUnit(f.log);
  auto one = BehaviourCounts::Count(f.log, f.tl, all);
  ASSERT_TRUE(one.ok());
  st = x.Merge(*one);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("unit kind"), std::string::npos) << st;
  (void)skip;
  // Finalize refuses another window and deviants of the wrong size.
  BehaviourOptions op;
  op.follow_up_window = Hours(3);
  EXPECT_EQ(c->Finalize(op).status().code(), absl::StatusCode::kFailedPrecondition);
  op = {};
  op.deviants = {1};
  EXPECT_EQ(c->Finalize(op).status().code(), absl::StatusCode::kFailedPrecondition);
  op.deviants = {1, 0};
  EXPECT_TRUE(c->Finalize(op).ok());
  EXPECT_EQ(BehaviourCounts::Count(f.log, f.tl, f.units, 0).status().code(), absl::StatusCode::kInvalidArgument);
  // Empty accumulators.
  BehaviourCounts empty;
  ASSERT_TRUE(empty.Merge(*c).ok());
  EXPECT_TRUE(empty == *c);
}

}  // namespace
}  // namespace salesperf
