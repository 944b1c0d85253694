#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/event_log.h"

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kDay = 86'400LL * 1'000'000'000LL;
constexpr int64_t kJan2026 = 20454LL * kDay;  // 2026-01-01T00:00:00Z

Vocabulary SalesVocabulary() {
  Vocabulary v;
  EXPECT_TRUE(v.Add("reply", Actor::kBuyer).ok());
  EXPECT_TRUE(v.Add("call", Actor::kSeller).ok());
  EXPECT_TRUE(v.AddPrefix("crm_", Actor::kSystem).ok());
  return v;
}

// A hand-sized case whose answer is derived by hand in the comments.
TEST(Ingest, SortsByDealThenTimeAndKeepsRows) {
  std::vector<int64_t> deal = {7, 9, 7, 9};
  std::vector<int64_t> time = {kJan2026 + 30, kJan2026 + 5, kJan2026 + 10, kJan2026 + 5};
  std::vector<std::string> labels = {"call", "reply", "crm_stage"};
  std::vector<int64_t> action = {0, 1, 1, 2};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  auto out = Ingest(in, SalesVocabulary());
  ASSERT_TRUE(out.ok()) << out.status();
  const EventLog& log = out->log;
  // Deal 7 first (it appears first): rows 2 (t+10) then 0 (t+30); deal 9: rows 1, 3 (tie keeps order).
  EXPECT_EQ(std::vector<int64_t>(log.row().begin(), log.row().end()),
            (std::vector<int64_t>{2, 0, 1, 3}));
  EXPECT_EQ(std::vector<int32_t>(log.deal().begin(), log.deal().end()),
            (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(log.deals().ints(), (std::vector<int64_t>{7, 9}));
  EXPECT_EQ(std::vector<int64_t>(log.deal_offsets().begin(), log.deal_offsets().end()),
            (std::vector<int64_t>{0, 2, 4}));
  // Actions are numbered by first appearance among accepted rows: call, reply, crm_stage.
  EXPECT_EQ(log.actions().strings(), (std::vector<std::string>{"call", "reply", "crm_stage"}));
  EXPECT_EQ(log.actor(0), Actor::kSeller);
  EXPECT_EQ(log.actor(2), Actor::kSystem);
  EXPECT_FALSE(out->report.input_was_sorted);
  EXPECT_EQ(out->report.prefix_matched_actions, (std::vector<std::string>{"crm_stage"}));
  EXPECT_EQ(out->report.rows_in, 4);
  EXPECT_EQ(out->report.rows_accepted, 4);
  EXPECT_TRUE(log.rep().empty());
}

TEST(Ingest, EveryReasonIsCountedAndNamed) {
  const int64_t t = kJan2026;
  //            row: 0      1     2       3      4          5      6      7     8     9     10
  std::vector<int64_t> deal = {1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<uint8_t> deal_valid = {1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<int64_t> time = {t, t, kNullInstant, t, -5, t, t, t, t, t, t};
  std::vector<uint8_t> flags = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  std::vector<std::string> labels = {"reply", "bogus"};
  std::vector<int64_t> action = {0, 0, 0, 0, 0, -1, 1, 0, 0, 0, 0};
  std::vector<double> amount = {5, 5, 5, 5, 5, 5, 5, kNaN, -1, INFINITY, 5};
  EventColumns in;
  in.deal = IdColumn::Integers(deal, deal_valid);
  in.time = time;
  in.time_flags = flags;
  in.action = IdColumn::Coded(action, labels);
  in.amount = amount;
  auto out = Ingest(in, SalesVocabulary());
  ASSERT_TRUE(out.ok()) << out.status();
  const IngestReport& r = out->report;
  EXPECT_EQ(r.rows_in, 11);
  EXPECT_EQ(r.rows_accepted, 1);  // row 0; row 10 duplicates it
  EXPECT_EQ(r.rows_rejected, 10);
  EXPECT_EQ(r.rejected_for(RejectReason::kNullDeal), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kNullTime), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kUnparseableTime), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kTimeOutOfRange), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kNullAction), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kUnknownAction), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kNanAmount), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kNegativeAmount), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kInfiniteAmount), 1);
  EXPECT_EQ(r.rejected_for(RejectReason::kDuplicateEvent), 1);
  ASSERT_EQ(r.rejected.size(), 10u);
  for (size_t k = 0; k < r.rejected.size(); ++k) EXPECT_EQ(r.rejected[k].row, int64_t(k) + 1);
  EXPECT_EQ(r.rejected.back().duplicate_of, 0);
  ASSERT_EQ(r.unknown_actions.size(), 1u);
  EXPECT_EQ(r.unknown_actions[0], (std::pair<std::string, int64_t>{"bogus", 1}));
  EXPECT_NE(r.Summary().find("unknown action 'bogus': 1 rows"), std::string::npos);
  EXPECT_NE(r.Summary().find("11 rows in = 1 accepted + 10 rejected"), std::string::npos);
}

TEST(Ingest, NanAmountCanMeanMissingAndNegativeCanBeAllowed) {
  std::vector<int64_t> deal = {1, 1, 1};
  std::vector<int64_t> time = {kJan2026, kJan2026 + 1, kJan2026 + 2};
  std::vector<std::string> labels = {"reply"};
  std::vector<int64_t> action = {0, 0, 0};
  std::vector<double> amount = {kNaN, -3, 9};
  std::vector<uint8_t> amount_valid = {1, 1, 0};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  in.amount = amount;
  in.amount_valid = amount_valid;
  IngestOptions options;
  options.nan_amount = NanAmount::kNull;
  options.allow_negative_amount = true;
  auto out = Ingest(in, SalesVocabulary(), options);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->log.size(), 3);
  EXPECT_TRUE(std::isnan(out->log.amount()[0]));
  EXPECT_EQ(out->log.amount()[1], -3);
  EXPECT_TRUE(std::isnan(out->log.amount()[2]));  // masked out: missing, not 9
}

// A fuzz finding: EventLog's == compared amounts with ==, so a log with a missing (NaN)
// amount was not equal to itself or to the same input ingested again.
TEST(Ingest, LogsWithTheSameMissingAmountsAreEqual) {
  std::vector<int64_t> deal = {1, 1, 2};
  std::vector<int64_t> time = {kJan2026, kJan2026 + 1, kJan2026 + 2};
  std::vector<std::string> labels = {"reply"};
  std::vector<int64_t> action = {0, 0, 0};
  auto ingest = [&](std::vector<double> amount) {
    EventColumns in;
    in.deal = IdColumn::Integers(deal);
    in.time = time;
    in.action = IdColumn::Coded(action, labels);
    in.amount = amount;
    IngestOptions options;
    options.nan_amount = NanAmount::kNull;
    auto out = Ingest(in, SalesVocabulary(), options);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? out->log : EventLog();
  };
  const EventLog a = ingest({kNaN, 4, kNaN});
  const EventLog copy = a;
  EXPECT_TRUE(a == copy);
  EXPECT_TRUE(a == ingest({kNaN, 4, kNaN}));
  EXPECT_FALSE(a == ingest({kNaN, 5, kNaN}));  // an amount differs
  EXPECT_FALSE(a == ingest({0, 4, kNaN}));     // missing is not 0
  EXPECT_FALSE(a == ingest({kNaN, 4, 0}));
  // Other columns still count: another action code order is another log.
  labels = {"reply", "call"};
  action = {0, 1, 0};
  EXPECT_FALSE(a == ingest({kNaN, 4, kNaN}));
}

TEST(Ingest, StrictNamesRowColumnAndReason) {
  std::vector<int64_t> deal = {1, 1, 1};
  std::vector<int64_t> time = {kJan2026, kJan2026, kJan2026 + 1};
  std::vector<std::string> labels = {"reply", "wave"};
  std::vector<int64_t> action = {0, 0, 1};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  IngestOptions strict;
  strict.strict = true;
  auto out = Ingest(in, SalesVocabulary(), strict);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "row 2, column 'action': unknown_action ('wave' is not in the vocabulary)");
  EXPECT_EQ(std::string(*out.status().GetPayload("salesperf.row")), "2");
  EXPECT_EQ(std::string(*out.status().GetPayload("salesperf.column")), "action");
  // The same input without the bad row: the duplicate is the first problem.
  std::vector<int64_t> action2 = {0, 0, 0};
  in.action = IdColumn::Coded(action2, labels);
  out = Ingest(in, SalesVocabulary(), strict);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "row 1, column '*': duplicate_event (same as row 0)");
}

TEST(Ingest, ShapeErrorsNameTheColumn) {
  std::vector<int64_t> deal = {1, 2};
  std::vector<int64_t> time = {kJan2026};
  std::vector<std::string> labels = {"reply"};
  std::vector<int64_t> action = {0};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, labels);
  auto out = Ingest(in, SalesVocabulary());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "column 'deal': has 2 rows, but 'time' has 1");

  in.deal = IdColumn::Integers(std::span<const int64_t>(deal).first(1));
  std::vector<int64_t> bad_code = {3};
  in.action = IdColumn::Coded(bad_code, labels);
  out = Ingest(in, SalesVocabulary());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "column 'action': row 0: code 3 is beyond its 1 labels");

  in.action = IdColumn::Coded(action, labels);
  out = Ingest(in, Vocabulary());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("vocabulary is empty"), std::string::npos);

  in.action = IdColumn{};
  out = Ingest(in, SalesVocabulary());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "column 'action': is required but was not given");
}

TEST(Ingest, EmptyInputIsAnEmptyLog) {
  EventColumns in;
  std::vector<std::string> labels;
  in.deal = IdColumn::Integers({});
  in.action = IdColumn::Coded({}, labels);
  auto out = Ingest(in, SalesVocabulary());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->log.size(), 0);
  EXPECT_EQ(out->log.num_deals(), 0);
  EXPECT_EQ(out->log.deal_offsets().size(), 1u);
}

// ---- Random inputs against a slow, obviously correct reference ----

struct Input {
  std::vector<int64_t> deal;
  std::vector<uint8_t> deal_valid;
  std::vector<int64_t> time;
  std::vector<int64_t> action;
  std::vector<std::string> action_labels = {"reply", "call", "crm_x", "nope"};
  std::vector<int64_t> rep;
  std::vector<std::string> rep_labels = {"ana", "bo", "cy"};
  std::vector<double> amount;
  std::vector<int64_t> segment;
  std::vector<std::string> segment_labels = {"smb", "ent"};

  EventColumns View() const {
    EventColumns in;
    in.deal = IdColumn::Integers(deal, deal_valid);
    in.time = time;
    in.action = IdColumn::Coded(action, action_labels);
    in.rep = IdColumn::Coded(rep, rep_labels);
    in.amount = amount;
    in.dimensions.emplace_back("segment", IdColumn::Coded(segment, segment_labels));
    return in;
  }
};

Input RandomInput(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint32_t>(k)); };
  Input in;
  for (int i = 0; i < n; ++i) {
    if (i > 0 && pick(6) == 0) {  // an exact copy of an earlier row
      const size_t j = static_cast<size_t>(pick(i));
      in.deal.push_back(in.deal[j]);
      in.deal_valid.push_back(in.deal_valid[j]);
      in.time.push_back(in.time[j]);
      in.action.push_back(in.action[j]);
      in.rep.push_back(in.rep[j]);
      in.amount.push_back(in.amount[j]);
      in.segment.push_back(in.segment[j]);
      continue;
    }
    in.deal.push_back(n > 1000 ? pick(n / 10) : pick(8) * 1000 - 3000);
    in.deal_valid.push_back(pick(30) != 0);
    const int tk = pick(40);
    in.time.push_back(tk == 0 ? kNullInstant : tk == 1 ? -kDay : kJan2026 + pick(5) * kDay);
    in.action.push_back(pick(25) == 0 ? -1 : pick(4));
    in.rep.push_back(pick(4) - 1);  // -1 = null rep (allowed)
    const int ak = pick(30);
    in.amount.push_back(ak == 0 ? kNaN : ak == 1 ? -2.0 : ak == 2 ? INFINITY : 100.0 * pick(3));
    in.segment.push_back(pick(2));
  }
  return in;
}

struct RefEvent {
  int64_t deal_value;
  int64_t time;
  std::string action;
  std::string rep;  // "" = null
  double amount;
  std::string segment;
  int64_t row;
};

struct Reference {
  std::vector<RefEvent> events;
  std::vector<RejectedRow> rejected;
};

Reference ReferenceIngest(const Input& in) {
  Reference ref;
  const Vocabulary vocab = SalesVocabulary();
  std::vector<RefEvent> accepted;
  for (size_t i = 0; i < in.time.size(); ++i) {
    const int64_t row = static_cast<int64_t>(i);
    auto reject = [&](RejectReason r) { ref.rejected.push_back({row, r, -1}); };
    if (!in.deal_valid[i]) { reject(RejectReason::kNullDeal); continue; }
    if (in.time[i] == kNullInstant) { reject(RejectReason::kNullTime); continue; }
    if (in.time[i] < 0) { reject(RejectReason::kTimeOutOfRange); continue; }
    if (in.action[i] < 0) { reject(RejectReason::kNullAction); continue; }
    const std::string& name = in.action_labels[static_cast<size_t>(in.action[i])];
    if (!vocab.Resolve(name)) { reject(RejectReason::kUnknownAction); continue; }
    const double a = in.amount[i];
    if (std::isnan(a)) { reject(RejectReason::kNanAmount); continue; }
    if (std::isinf(a)) { reject(RejectReason::kInfiniteAmount); continue; }
    if (a < 0) { reject(RejectReason::kNegativeAmount); continue; }
    accepted.push_back(RefEvent{in.deal[i], in.time[i], name,
                                in.rep[i] < 0 ? "" : in.rep_labels[static_cast<size_t>(in.rep[i])], a,
                                in.segment_labels[static_cast<size_t>(in.segment[i])], row});
  }
  // Deals in order of first appearance among accepted rows; stable by time within.
  std::map<int64_t, size_t> first;
  for (const RefEvent& e : accepted) first.try_emplace(e.deal_value, first.size());
  std::stable_sort(accepted.begin(), accepted.end(), [&](const RefEvent& x, const RefEvent& y) {
    return std::pair(first[x.deal_value], x.time) < std::pair(first[y.deal_value], y.time);
  });
  std::map<std::tuple<int64_t, int64_t, std::string, std::string, double, std::string>, int64_t> kept;
  for (const RefEvent& e : accepted) {
    auto key = std::tuple(e.deal_value, e.time, e.action, e.rep, e.amount, e.segment);
    auto [it, inserted] = kept.try_emplace(key, e.row);
    if (inserted) {
      ref.events.push_back(e);
    } else {
      ref.rejected.push_back({e.row, RejectReason::kDuplicateEvent, it->second});
    }
  }
  std::sort(ref.rejected.begin(), ref.rejected.end(),
            [](const RejectedRow& x, const RejectedRow& y) { return x.row < y.row; });
  return ref;
}

void ExpectMatchesReference(const Input& in, int n, int threads) {
  IngestOptions options;
  options.threads = threads;
  auto out = Ingest(in.View(), SalesVocabulary(), options);
  ASSERT_TRUE(out.ok()) << out.status();
  Reference ref = ReferenceIngest(in);
  const EventLog& log = out->log;
  const IngestReport& report = out->report;
  EXPECT_EQ(report.rows_in, n);
  EXPECT_EQ(report.rows_accepted + report.rows_rejected, report.rows_in);
  EXPECT_EQ(report.rejected, ref.rejected);
  ASSERT_EQ(log.size(), static_cast<int64_t>(ref.events.size()));
  const DimensionColumn& segment = log.dimensions().at(0);
  for (size_t k = 0; k < ref.events.size(); ++k) {
    const RefEvent& e = ref.events[k];
    SCOPED_TRACE(k);
    EXPECT_EQ(log.deals().ints()[static_cast<size_t>(log.deal()[k])], e.deal_value);
    EXPECT_EQ(log.time()[k], e.time);
    EXPECT_EQ(log.actions().Label(log.action()[k]), e.action);
    EXPECT_EQ(log.reps().Label(log.rep()[k]), e.rep);
    EXPECT_EQ(log.amount()[k], e.amount);
    EXPECT_EQ(segment.dictionary.Label(segment.codes[k]), e.segment);
    EXPECT_EQ(log.row()[k], e.row);
  }
  // Offsets delimit each deal's events.
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    for (int64_t k = log.deal_offsets()[d]; k < log.deal_offsets()[d + 1]; ++k) {
      ASSERT_EQ(log.deal()[static_cast<size_t>(k)], d);
    }
  }
}

class IngestMatchesReference : public ::testing::TestWithParam<uint32_t> {};

TEST_P(IngestMatchesReference, RandomInput) {
  const int n = 1 + static_cast<int>(GetParam() % 7) * 60;
  ExpectMatchesReference(RandomInput(GetParam(), n), n, 1);
}

INSTANTIATE_TEST_SUITE_P(Seeds, IngestMatchesReference, ::testing::Range(1u, 201u));

// Integer deal ids are encoded through a table when the valid ids of the encoded rows
// span fewer than rows + 1024 values, and through a hash map otherwise; both give the
// reference's result (deals by first appearance), next to the ends of int64 (where
// max - min overflows a signed subtraction), and with null ids.
TEST(Ingest, DenseAndSparseIntegerIdsBothMatchTheReference) {
  const int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    int64_t base;
    uint64_t span;  // ids drawn from [base, base + span)
  };
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    const int n = 200 + static_cast<int>(seed) * 7;
    const Input in = RandomInput(seed, n);
    const uint64_t m = static_cast<uint64_t>(n);
    // Dense: {0, 8}, {-5, m / 2}, the two ends of int64. Hashed: {1e6, 4m} and wider.
    for (const Case c : {Case{0, 8}, Case{-5, m / 2}, Case{1'000'000, 4 * m + 1024}, Case{kMin, 64},
                         Case{kMax - 63, 64}, Case{kMin, ~uint64_t{0}}, Case{kMin / 2, uint64_t{1} << 63}}) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << " base " << c.base << " span " << c.span);
      std::mt19937_64 rng(seed * 977 + c.span);
      std::map<int64_t, int64_t> remap;  // same original id -> same new id (duplicates stay duplicates)
      Input shifted = in;
      for (int64_t& d : shifted.deal) {
        auto [it, inserted] = remap.try_emplace(d, 0);
        if (inserted) it->second = static_cast<int64_t>(static_cast<uint64_t>(c.base) + (c.span == ~uint64_t{0} ? rng() : rng() % c.span));
        d = it->second;
      }
      if (c.span >= 2) {  // make both ends of the range appear, so the span is exactly as drawn
        shifted.deal[0] = c.base;
        shifted.deal_valid[0] = 1;
        shifted.deal[1] = static_cast<int64_t>(static_cast<uint64_t>(c.base) + (c.span == ~uint64_t{0} ? c.span : c.span - 1));
        shifted.deal_valid[1] = 1;
      }
      ExpectMatchesReference(shifted, n, 1);
      ExpectMatchesReference(shifted, n, 3);
    }
  }
}

// Large enough that ingestion splits the work over threads (chunks of rows, one
// column per task, the sort by blocks of deals).
TEST(Ingest, ThreadsGiveTheReferenceResultAndTheSameBits) {
  const int n = 300'000;
  Input in = RandomInput(77, n);
  ExpectMatchesReference(in, n, 3);
  IngestOptions one, many;
  one.threads = 1;
  many.threads = 4;
  auto a = Ingest(in.View(), SalesVocabulary(), one);
  auto b = Ingest(in.View(), SalesVocabulary(), many);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->log == b->log);
  EXPECT_TRUE(a->report == b->report);
  EXPECT_GT(a->report.rejected_for(RejectReason::kDuplicateEvent), 0);
  EXPECT_FALSE(a->report.input_was_sorted);
}

TEST(Ingest, StrictReportsTheFirstBadRowWhateverTheThreads) {
  const int n = 300'000;
  Input in = RandomInput(5, n);
  IngestOptions strict;
  strict.strict = true;
  strict.threads = 1;
  auto a = Ingest(in.View(), SalesVocabulary(), strict);
  strict.threads = 4;
  auto b = Ingest(in.View(), SalesVocabulary(), strict);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status(), b.status());
  // Duplicates are looked for only once every row passes the row checks.
  int64_t first_bad = -1;
  for (const RejectedRow& r : ReferenceIngest(in).rejected) {
    if (r.reason != RejectReason::kDuplicateEvent) {
      first_bad = r.row;
      break;
    }
  }
  EXPECT_EQ(std::string(*a.status().GetPayload("salesperf.row")), std::to_string(first_bad));
}

TEST(Ingest, LongRunOfSimultaneousEventsFindsDuplicates) {
  // 100 events of one deal at one instant: 50 distinct, each twice (past the
  // pairwise threshold, so the sorting path is exercised).
  std::vector<int64_t> deal(100, 1), time(100, kJan2026), action(100, 0), rep(100);
  for (int i = 0; i < 100; ++i) rep[static_cast<size_t>(i)] = i % 50;
  std::vector<std::string> actions = {"reply"};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Integers(rep);
  auto out = Ingest(in, SalesVocabulary());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->log.size(), 50);
  EXPECT_EQ(out->report.rejected_for(RejectReason::kDuplicateEvent), 50);
  for (const RejectedRow& r : out->report.rejected) EXPECT_EQ(r.duplicate_of, r.row - 50);
  for (int k = 0; k < 50; ++k) EXPECT_EQ(out->log.row()[static_cast<size_t>(k)], k);
}

TEST(Ingest, IntegerActionsMatchTheirDecimalText) {
  Vocabulary v;
  ASSERT_TRUE(v.Add("10", Actor::kBuyer).ok());
  std::vector<int64_t> deal = {1, 1}, time = {kJan2026, kJan2026 + 1}, action = {10, 11};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Integers(action);
  auto out = Ingest(in, v);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->log.size(), 1);
  EXPECT_EQ(out->report.unknown_actions[0].first, "11");
}

}  // namespace
}  // namespace salesperf

// Codes are int32, so a column holds at most INT32_MAX distinct ids; past that, ingest
// is ResourceExhausted naming the column and the first row without a code. Tested with
// the limit lowered to 3 (internal::SetMaxIdCodesForTesting), for each way a column is
// encoded: integer ids in a narrow range (table), spread out (hash), and coded labels.
namespace salesperf {
namespace {
TEST(IngestLimits, MoreDistinctIdsThanCodesIsAnErrorNamingColumnAndRow) {
  struct Restore {
    size_t old = internal::SetMaxIdCodesForTesting(3);
    ~Restore() { internal::SetMaxIdCodesForTesting(old); }
  } restore;
  const std::vector<int64_t> time = {10, 20, 30, 40, 50, 60};
  const std::vector<int64_t> action = {0, 0, 0, 0, 0, 0};
  const std::vector<std::string> actions = {"reply"};
  Vocabulary vocab;
  ASSERT_TRUE(vocab.Add("reply", Actor::kBuyer).ok());
  for (const std::vector<int64_t>& deals : {std::vector<int64_t>{1, 2, 1, 3, 2, 4},
                                            std::vector<int64_t>{1, 2'000'000'000'000, 1, 3, 2'000'000'000'000, 4}}) {
    EventColumns in;
    in.deal = IdColumn::Integers(deals);
    in.time = time;
    in.action = IdColumn::Coded(action, actions);
    for (int threads : {1, 2}) {
      IngestOptions o;
      o.threads = threads;
      auto out = Ingest(in, vocab, o);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
      EXPECT_EQ(out.status().message(),
                "column 'deal': more than 3 distinct ids (row 5 brings one more); codes are 32-bit");
    }
  }
  // Coded labels: the rep column, 4 labels used.
  const std::vector<int64_t> rep = {0, 1, 2, 0, 3, 1};
  const std::vector<std::string> reps = {"ana", "bo", "cy", "di"};
  const std::vector<int64_t> deal = {7, 7, 7, 7, 7, 7};
  EventColumns in;
  in.deal = IdColumn::Integers(deal);
  in.time = time;
  in.action = IdColumn::Coded(action, actions);
  in.rep = IdColumn::Coded(rep, reps);
  auto out = Ingest(in, vocab);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out.status().message(), "column 'rep': more than 3 distinct ids (row 4 brings one more); codes are 32-bit");
  // Exactly at the limit: fine.
  const std::vector<int64_t> three = {0, 1, 2, 0, 2, 1};
  in.rep = IdColumn::Coded(three, reps);
  auto base = Ingest(in, vocab);
  ASSERT_TRUE(base.ok()) << base.status();
  // Appending a batch whose reps bring the union past the limit.
  const std::vector<int64_t> batch_rep = {3, 3, 3, 3, 3, 3};  // "di", a fourth rep
  const std::vector<int64_t> batch_deal = {8, 8, 8, 8, 8, 8};
  in.deal = IdColumn::Integers(batch_deal);
  in.rep = IdColumn::Coded(batch_rep, reps);
  auto batch = Ingest(in, vocab);
  ASSERT_TRUE(batch.ok()) << batch.status();
  auto appended = AppendEvents(base->log, batch->log);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(appended.status().message(),
            "column 'rep': the base log and the batch hold more than 3 distinct ids; codes are 32-bit");
  // Reps already in the base: fine.
  in.rep = IdColumn::Coded(three, reps);
  auto same = Ingest(in, vocab);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(AppendEvents(base->log, same->log).ok());
}
}  // namespace
}  // namespace salesperf
