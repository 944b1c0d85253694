// Tests of the synthetic company: options, determinism, shape of the log, and that
// every planted truth is visible in the data by a plain count written here (not by
// the library's metrics, which are later tested against these truths).
#include "salesperf/synth.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "salesperf/event_log.h"

namespace salesperf {
namespace {

using C = SyntheticCompany;
constexpr int64_t kDay = 86'400LL * 1'000'000'000LL;

int64_t A(SynthAction a) { return static_cast<int64_t>(a); }

SyntheticCompany Make(int64_t events, uint64_t seed = 7, int threads = 0) {
  SynthOptions o;
  o.events = events;
  o.seed = seed;
  o.threads = threads;
  absl::StatusOr<SyntheticCompany> c = GenerateCompany(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

bool SameData(const SyntheticCompany& a, const SyntheticCompany& b) {
  if (a.size() != b.size() || a.num_deals() != b.num_deals()) return false;
  for (int c = 0; c < C::kNumIdColumns; ++c) {
    const SynthIdColumn& x = a.id_columns()[c];
    const SynthIdColumn& y = b.id_columns()[c];
    if (x.name != y.name || x.codes != y.codes || x.labels != y.labels) return false;
  }
  auto eq = [](auto s, auto t) { return std::equal(s.begin(), s.end(), t.begin(), t.end()); };
  return eq(a.time(), b.time()) && eq(a.amount(), b.amount()) &&
         eq(a.deal_outcome(), b.deal_outcome()) && a.reps().skill == b.reps().skill &&
         a.reps().leak_stage == b.reps().leak_stage;
}

// Spearman rank correlation.
double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<int> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int i, int j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (size_t k = 0; k < idx.size(); ++k) r[idx[k]] = static_cast<double>(k);
    return r;
  };
  std::vector<double> a = ranks(x), b = ranks(y);
  const double n = static_cast<double>(x.size());
  double d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (a[i] - b[i]) * (a[i] - b[i]);
  return 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
}

double OddsRatio(double yes_with, double n_with, double yes_without, double n_without) {
  const double p1 = yes_with / n_with, p0 = yes_without / n_without;
  return (p1 / (1 - p1)) / (p0 / (1 - p0));
}

// ---- Options.

TEST(SynthOptionsTest, BadOptionsAreInvalidArgumentNamingTheOption) {
  struct Case {
    std::string option;
    SynthOptions o;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, auto change) {
    SynthOptions o;
    change(o);
    cases.push_back({std::move(name), o});
  };
  add("events", [](SynthOptions& o) { o.events = 0; });
  add("events", [](SynthOptions& o) { o.events = 2'000'000'000; });
  add("reps", [](SynthOptions& o) { o.reps = 0; });
  add("teams", [](SynthOptions& o) { o.teams = 0; });
  add("teams", [](SynthOptions& o) { o.teams = o.reps + 1; });
  add("territories", [](SynthOptions& o) { o.territories = 0; });
  add("territories", [](SynthOptions& o) { o.territories = o.reps + 1; });
  add("days", [](SynthOptions& o) { o.days = 0; });
  add("start_time", [](SynthOptions& o) { o.start_time = -1; });
  add("start_time", [](SynthOptions& o) { o.start_time = 7258118400LL * 1'000'000'000LL; });
  add("threads", [](SynthOptions& o) { o.threads = -1; });
  for (const Case& c : cases) {
    absl::StatusOr<SyntheticCompany> r = GenerateCompany(c.o);
    ASSERT_FALSE(r.ok()) << c.option;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(r.status().message()).find(c.option), std::string::npos)
        << r.status();
  }
}

TEST(SynthOptionsTest, SmallestCompanies) {
  SynthOptions o;
  o.events = 1;
  o.reps = 1;
  o.teams = 1;
  o.territories = 1;
  o.days = 1;
  absl::StatusOr<SyntheticCompany> c = GenerateCompany(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GE(c->size(), 1);
  EXPECT_EQ(c->num_deals(), 1);
  EXPECT_EQ(c->reps().size(), 1);
  EXPECT_GE(c->reps().leak_stage[0], 1);  // the one rep carries the leak
}

// ---- Determinism.

TEST(SynthTest, SameSeedSameData) {
  SyntheticCompany a = Make(50'000, 11);
  SyntheticCompany b = Make(50'000, 11);
  EXPECT_TRUE(SameData(a, b));
}

TEST(SynthTest, DifferentSeedDifferentData) {
  SyntheticCompany a = Make(50'000, 11);
  SyntheticCompany b = Make(50'000, 12);
  EXPECT_FALSE(SameData(a, b));
  EXPECT_NE(a.reps().skill, b.reps().skill);
}

TEST(SynthTest, BitIdenticalForAnyThreadCount) {
  // Several chunks of deals, so that threads really split the work.
  SyntheticCompany one = Make(300'000, 3, 1);
  SyntheticCompany two = Make(300'000, 3, 2);
  SyntheticCompany five = Make(300'000, 3, 5);
  EXPECT_GT(one.num_deals(), 3 * 4096);
  EXPECT_TRUE(SameData(one, two));
  EXPECT_TRUE(SameData(one, five));
}

TEST(SynthTest, ColumnsSurviveAMove) {
  SyntheticCompany a = Make(5'000);
  EventColumns before = a.columns();
  std::vector<int64_t> deal(before.deal.values.begin(), before.deal.values.end());
  SyntheticCompany b = std::move(a);
  EventColumns after = b.columns();
  EXPECT_EQ(before.deal.values.data(), after.deal.values.data());
  EXPECT_EQ(before.deal.labels.data(), after.deal.labels.data());
  EXPECT_TRUE(std::equal(deal.begin(), deal.end(), after.deal.values.begin()));
}

// ---- Size and shape.

TEST(SynthTest, EventCountMeetsTheTarget) {
  for (int64_t n : {1LL, 1'000LL, 20'000LL, 250'000LL}) {
    SyntheticCompany c = Make(n);
    ASSERT_GE(c.size(), n);
    // Without its last deal the log would fall short: at most one deal too many.
    const Column<int64_t>& deal = c.id_column(C::kDeal).codes;
    const int64_t last = deal.back();
    const int64_t last_deal_events = std::count(deal.begin(), deal.end(), last);
    EXPECT_LT(c.size() - last_deal_events, n);
    EXPECT_LE(static_cast<double>(c.size()), static_cast<double>(n) * 1.02 + 200) << n;
  }
}

class SynthDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* seed = std::getenv("SYNTH_TEST_SEED");  // to probe other seeds by hand
    company_ = new SyntheticCompany(Make(1'000'000, seed ? std::strtoull(seed, nullptr, 10) : 7));
  }
  static void TearDownTestSuite() {
    delete company_;
    company_ = nullptr;
  }
  static const SyntheticCompany& company() { return *company_; }

  // Per deal: [first, last) event positions.
  static std::vector<std::pair<int64_t, int64_t>> Deals() {
    const Column<int64_t>& deal = company().id_column(C::kDeal).codes;
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t i = 0, n = static_cast<int64_t>(deal.size()); i < n;) {
      int64_t j = i;
      while (j < n && deal[j] == deal[i]) ++j;
      out.emplace_back(i, j);
      i = j;
    }
    return out;
  }

  static SyntheticCompany* company_;
};
SyntheticCompany* SynthDataTest::company_ = nullptr;

TEST_F(SynthDataTest, SortedByDealThenStrictlyByTime) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& deal = c.id_column(C::kDeal).codes;
  auto time = c.time();
  EXPECT_EQ(deal.front(), 0);
  EXPECT_EQ(deal.back(), c.num_deals() - 1);
  for (size_t i = 1; i < deal.size(); ++i) {
    ASSERT_TRUE(deal[i] == deal[i - 1] || deal[i] == deal[i - 1] + 1) << i;
    if (deal[i] == deal[i - 1]) {
      ASSERT_LT(time[i - 1], time[i]) << i;
    }
  }
  EXPECT_GE(*std::min_element(time.begin(), time.end()), c.options().start_time);
  EXPECT_LT(*std::max_element(time.begin(), time.end()), c.period_end());
}

TEST_F(SynthDataTest, EveryActionIsInTheVocabularyWithItsActor) {
  const SyntheticCompany& c = company();
  const SynthIdColumn& action = c.id_column(C::kAction);
  const SynthIdColumn& contact = c.id_column(C::kContact);
  const SynthIdColumn& role = c.id_column(C::kContactRole);
  std::array<int64_t, kSynthActions> count{};
  for (size_t i = 0; i < action.codes.size(); ++i) {
    const int64_t a = action.codes[i];
    ASSERT_GE(a, 0);
    ASSERT_LT(a, static_cast<int64_t>(action.labels.size()));
    ++count[a];
    std::optional<Actor> actor = c.vocabulary().Resolve(action.labels[a]);
    ASSERT_TRUE(actor.has_value()) << action.labels[a];
    // The system acts with no contact; buyers and sellers with one (and its role).
    EXPECT_EQ(*actor == Actor::kSystem, contact.codes[i] < 0) << i;
    EXPECT_EQ(contact.codes[i] < 0, role.codes[i] < 0) << i;
    ASSERT_LT(contact.codes[i], static_cast<int64_t>(contact.labels.size()));
  }
  for (int a = 0; a < kSynthActions; ++a) EXPECT_GT(count[a], 0) << kSynthActionNames[a];
  EXPECT_EQ(c.vocabulary().Resolve("opportunity_created"), Actor::kSystem);
  EXPECT_EQ(c.vocabulary().Resolve("meeting"), Actor::kSeller);
  EXPECT_EQ(c.vocabulary().Resolve("sign"), Actor::kBuyer);
}

TEST_F(SynthDataTest, EveryRowCarriesTheDealsAttributes) {
  const SyntheticCompany& c = company();
  for (const auto& [first, last] : Deals()) {
    EXPECT_EQ(c.id_column(C::kAction).codes[first], A(SynthAction::kOpportunityCreated));
    for (int64_t i = first + 1; i < last; ++i) {
      ASSERT_EQ(c.amount()[i], c.amount()[first]);
      for (int col : {C::kRep, C::kAccount, C::kSegment, C::kTerritory, C::kProduct,
                      C::kLeadSource, C::kTeam}) {
        ASSERT_EQ(c.id_columns()[col].codes[i], c.id_columns()[col].codes[first]) << col;
      }
    }
    ASSERT_GT(c.amount()[first], 0);
    const int64_t rep = c.id_column(C::kRep).codes[first];
    EXPECT_EQ(c.id_column(C::kTeam).codes[first], c.reps().team[rep]);
    EXPECT_EQ(c.id_column(C::kTerritory).codes[first], c.reps().territory[rep]);
  }
}

TEST_F(SynthDataTest, BuyerActionsClimbTheLadderInOrder) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  double won = 0, lost = 0;
  for (const auto& [first, last] : Deals()) {
    int stage = 0;
    bool closed = false;
    for (int64_t i = first + 1; i < last; ++i) {
      const int64_t a = action[i];
      if (a < A(SynthAction::kReply)) continue;  // seller
      ASSERT_FALSE(closed);
      if (a == A(SynthAction::kDecline)) {
        closed = true;
        ++lost;
      } else {
        ASSERT_EQ(a, A(kSynthStageAction[stage + 1]));
        ++stage;
        if (stage == 6) {
          closed = true;
          ++won;
        }
      }
    }
    if (closed) {
      ASSERT_GE(action[last - 1], A(SynthAction::kSign));
    }
    const auto outcome = static_cast<SynthOutcome>(c.deal_outcome()[c.id_column(C::kDeal).codes[first]]);
    if (stage == 6) {
      EXPECT_EQ(outcome, SynthOutcome::kWon);
    }
  }
  const double deals = static_cast<double>(c.num_deals());
  EXPECT_GT(won / deals, 0.04);
  EXPECT_LT(won / deals, 0.20);
  EXPECT_GT(lost / deals, 0.10);
}

TEST_F(SynthDataTest, IngestAcceptsEveryRow) {
  const SyntheticCompany& c = company();
  absl::StatusOr<Ingested> in = Ingest(c.columns(), c.vocabulary());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->report.rows_in, c.size());
  EXPECT_EQ(in->report.rows_accepted, c.size()) << in->report.Summary();
  EXPECT_EQ(in->report.rows_rejected, 0);
  EXPECT_TRUE(in->report.input_was_sorted);
  EXPECT_EQ(in->report.deals, c.num_deals());
}

TEST_F(SynthDataTest, SomeDealsAreStillOpenAtTheEnd) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  int64_t open = 0, open_truth = 0;
  for (const auto& [first, last] : Deals()) {
    const bool closed = action[last - 1] == A(SynthAction::kSign) ||
                        action[last - 1] == A(SynthAction::kDecline);
    open += !closed && c.time()[last - 1] > c.period_end() - 14 * kDay;
  }
  for (uint8_t o : c.deal_outcome()) open_truth += o == static_cast<uint8_t>(SynthOutcome::kOpen);
  EXPECT_GT(open, c.num_deals() / 100);
  EXPECT_GT(open_truth, c.num_deals() / 100);
}

// ---- Planted truths, seen by plain counting.

// Per deal: the highest stage entered (0 = Lead .. 6 = Won), and when each was entered.
struct DealPath {
  int64_t first, last;
  int64_t rep;
  int stage = 0;
  std::array<int64_t, 7> entered{};  // event position; -1 = never
};

std::vector<DealPath> Paths(const SyntheticCompany& c,
                            const std::vector<std::pair<int64_t, int64_t>>& deals) {
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  std::vector<DealPath> out;
  for (const auto& [first, last] : deals) {
    DealPath p{first, last, c.id_column(C::kRep).codes[first]};
    p.entered.fill(-1);
    p.entered[0] = first;
    for (int64_t i = first; i < last; ++i) {
      for (int s = 1; s <= 6; ++s) {
        if (action[i] == A(kSynthStageAction[s])) {
          p.entered[s] = i;
          p.stage = s;
        }
      }
    }
    out.push_back(p);
  }
  return out;
}

TEST_F(SynthDataTest, LeakyRepsConvertLessAtTheirLeakingStage) {
  const SyntheticCompany& c = company();
  const RepTruth& reps = c.reps();
  std::vector<DealPath> paths = Paths(c, Deals());
  // reached[r][s]: deals of rep r that entered s.
  std::vector<std::array<double, 7>> reached(reps.size());
  for (const DealPath& p : paths) {
    for (int s = 0; s <= p.stage; ++s) reached[p.rep][s] += 1;
  }
  int leaky = 0;
  for (int32_t r = 0; r < reps.size(); ++r) {
    const int s = reps.leak_stage[r];
    if (s < 0) continue;
    ++leaky;
    auto conv = [&](int32_t who, int stage) {
      return reached[who][stage + 1] / reached[who][stage];
    };
    // The rep against its peers at the leaking stage, relative to the same comparison
    // at the other stages (which removes the rep's skill).
    double peers_here = 0, n_here = 0;
    double ratio_other = 0, n_other = 0;
    for (int32_t q = 0; q < reps.size(); ++q) {
      if (q == r || reps.leak_stage[q] >= 0) continue;
      peers_here += conv(q, s);
      n_here += 1;
    }
    for (int t = 0; t < kSynthTransitions; ++t) {
      if (t == s) continue;
      double peers = 0, n = 0;
      for (int32_t q = 0; q < reps.size(); ++q) {
        if (q == r || reps.leak_stage[q] >= 0) continue;
        peers += conv(q, t);
        n += 1;
      }
      ratio_other += conv(r, t) / (peers / n);
      n_other += 1;
    }
    const double here = conv(r, s) / (peers_here / n_here);
    const double other = ratio_other / n_other;
    EXPECT_LT(here / other, 0.8) << "rep " << r << " stage " << s << " factor "
                                 << reps.leak_factor[r];
  }
  EXPECT_EQ(leaky, 4);  // round(24 / 6)
}

TEST_F(SynthDataTest, RepsWithMoreWillLogMoreActivitiesPerDealWeek) {
  const SyntheticCompany& c = company();
  const RepTruth& reps = c.reps();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  std::vector<double> activities(reps.size()), weeks(reps.size());
  for (const auto& [first, last] : Deals()) {
    const int64_t rep = c.id_column(C::kRep).codes[first];
    for (int64_t i = first; i < last; ++i) {
      activities[rep] += action[i] >= A(SynthAction::kCall) && action[i] <= A(SynthAction::kSendProposal);
    }
    weeks[rep] += static_cast<double>(c.time()[last - 1] - c.time()[first]) / (7.0 * kDay);
  }
  std::vector<double> rate(reps.size());
  for (int32_t r = 0; r < reps.size(); ++r) rate[r] = activities[r] / weeks[r];
  EXPECT_GT(Spearman(rate, reps.will), 0.9);
}

TEST_F(SynthDataTest, RepsWithMoreSkillGetFurther) {
  const SyntheticCompany& c = company();
  const RepTruth& reps = c.reps();
  std::vector<double> stages(reps.size()), deals(reps.size());
  for (const DealPath& p : Paths(c, Deals())) {
    stages[p.rep] += p.stage;
    deals[p.rep] += 1;
  }
  for (int32_t r = 0; r < reps.size(); ++r) stages[r] /= deals[r];
  EXPECT_GT(Spearman(stages, reps.skill), 0.6);
}

TEST_F(SynthDataTest, DecisionMakerMeetingBeforeProposalRaisesCommit) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  const Column<int64_t>& role = c.id_column(C::kContactRole).codes;
  double with = 0, with_yes = 0, without = 0, without_yes = 0;
  std::vector<double> dm_deals(c.reps().size()), rep_deals(c.reps().size());
  for (const DealPath& p : Paths(c, Deals())) {
    const int proposal = static_cast<int>(SynthStage::kProposal);
    if (p.stage < proposal) continue;
    bool met = false;
    for (int64_t i = p.first; i < p.entered[proposal]; ++i) {
      met |= action[i] == A(SynthAction::kMeeting) &&
             role[i] == static_cast<int64_t>(SynthRole::kDecisionMaker);
    }
    const bool commit = p.stage > proposal;
    (met ? with : without) += 1;
    (met ? with_yes : without_yes) += commit;
    dm_deals[p.rep] += met;
    rep_deals[p.rep] += 1;
  }
  EXPECT_GT(OddsRatio(with_yes, with, without_yes, without), 1.4);
  // Reps who practise it do it more often.
  const BehaviourTruth& b = c.behaviours()[0];
  EXPECT_EQ(b.name, "dm_meeting_before_proposal");
  double yes = 0, ny = 0, no = 0, nn = 0;
  for (int32_t r = 0; r < c.reps().size(); ++r) {
    (b.practised[r] ? yes : no) += dm_deals[r];
    (b.practised[r] ? ny : nn) += rep_deals[r];
  }
  EXPECT_GT(yes / ny, 1.3 * (no / nn));
}

TEST_F(SynthDataTest, FollowUpWithin24HoursRaisesTheNextBuyerAction) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  double with = 0, with_yes = 0, without = 0, without_yes = 0;
  for (const DealPath& p : Paths(c, Deals())) {
    for (int s = 1; s <= 5 && s <= p.stage; ++s) {
      const int64_t at = p.entered[s];
      // Leave out buyer actions whose next step could not be seen before the end.
      if (c.time()[at] > c.period_end() - 120 * kDay) continue;
      bool followed = false;
      for (int64_t i = at + 1; i < p.last && c.time()[i] - c.time()[at] < kDay; ++i) {
        followed |= action[i] >= A(SynthAction::kCall) && action[i] <= A(SynthAction::kSendProposal);
      }
      const bool next = p.stage > s;
      (followed ? with : without) += 1;
      (followed ? with_yes : without_yes) += next;
    }
  }
  EXPECT_GT(OddsRatio(with_yes, with, without_yes, without), 1.3);
}

TEST_F(SynthDataTest, MultithreadingRaisesBudgetToProposal) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  const Column<int64_t>& contact = c.id_column(C::kContact).codes;
  const Column<int64_t>& segment = c.id_column(C::kSegment).codes;
  double with = 0, with_yes = 0, without = 0, without_yes = 0;
  for (const DealPath& p : Paths(c, Deals())) {
    const int budget = static_cast<int>(SynthStage::kBudget);
    if (p.stage < budget || c.time()[p.entered[budget]] > c.period_end() - 120 * kDay) continue;
    std::vector<int64_t> touched;
    for (int64_t i = p.first; i < p.entered[budget]; ++i) {
      if (action[i] >= A(SynthAction::kCall) && action[i] <= A(SynthAction::kSendProposal)) {
        touched.push_back(contact[i]);
      }
    }
    std::sort(touched.begin(), touched.end());
    const int64_t distinct = std::unique(touched.begin(), touched.end()) - touched.begin();
    const int64_t centre = std::array<int64_t, 3>{2, 4, 6}[segment[p.first]];
    const bool multi = distinct >= std::min<int64_t>(3, centre);
    (multi ? with : without) += 1;
    (multi ? with_yes : without_yes) += p.stage > budget;
  }
  EXPECT_GT(OddsRatio(with_yes, with, without_yes, without), 1.25);
}

TEST_F(SynthDataTest, SeasonalityNearQuarterEnds) {
  const SyntheticCompany& c = company();
  const Column<int64_t>& action = c.id_column(C::kAction).codes;
  // (month of quarter 0..2, day of month) of an instant, from its civil date.
  auto civil = [](int64_t t) {
    const int64_t z = t / kDay + 719468;  // H. Hinnant's days -> civil date
    const int64_t era = z / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return std::pair<int64_t, int64_t>((m - 1) % 3, doy - (153 * mp + 2) / 5 + 1);
  };
  std::array<double, 3> created{}, signed_{};
  double signs = 0, signs_last_week = 0;
  for (size_t i = 0; i < action.size(); ++i) {
    const auto [month, day] = civil(c.time()[i]);
    if (action[i] == A(SynthAction::kOpportunityCreated)) created[month] += 1;
    if (action[i] == A(SynthAction::kSign)) {
      signed_[month] += 1;
      signs += 1;
      signs_last_week += month == 2 && day >= 24;
    }
  }
  // More deals are created in a quarter's last month ...
  EXPECT_GT(created[2], 1.4 * created[0]);
  EXPECT_GT(created[2], 1.4 * created[1]);
  // ... and closed in it, most of all in its last week (~8% of the days).
  EXPECT_GT(signed_[2], 1.2 * signed_[0]);
  EXPECT_GT(signed_[2], 1.2 * signed_[1]);
  EXPECT_GT(signs_last_week / signs, 0.2);
}

TEST_F(SynthDataTest, DealSizesSpreadBySegment) {
  const SyntheticCompany& c = company();
  std::array<std::vector<double>, 3> amounts;
  for (const auto& [first, last] : Deals()) {
    amounts[c.id_column(C::kSegment).codes[first]].push_back(c.amount()[first]);
  }
  std::array<double, 3> median{};
  for (int s = 0; s < 3; ++s) {
    ASSERT_FALSE(amounts[s].empty());
    std::nth_element(amounts[s].begin(), amounts[s].begin() + amounts[s].size() / 2, amounts[s].end());
    median[s] = amounts[s][amounts[s].size() / 2];
  }
  EXPECT_LT(median[0] * 3, median[1]);
  EXPECT_LT(median[1] * 3, median[2]);
}

}  // namespace
}  // namespace salesperf
