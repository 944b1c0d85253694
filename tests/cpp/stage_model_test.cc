#include "salesperf/stage_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"

namespace salesperf {
namespace {

// ---- The example of the file-form documentation, built three ways ------------------

StageModel ExampleByBuilder() {
  StageModel m;
  m.CloseStalledAfter(Days(30)).Exclude({"spam"});
  m.AddStage("Lead").Any({"opportunity_created"});
  m.AddStage("Engaged")
      .DistinctContacts({"reply"}, 2, Days(14))
      .Window(Days(30))
      .StallAfter(Days(21))
      .Optional(false);
  m.AddStage("Qualified").All({{"state_need"}, {"share_budget"}}, Days(30)).StallAtPercentile(90);
  m.AddStage("Proposal")
      .Sequence({{"state_need"}, {"request_proposal"}}, Days(60))
      .Any({"request_proposal"})
      .Roles({"decision_maker"})
      .Amount(1000, 5000);
  m.AddStage("Deep").Count({"meeting_attended"}, 3);
  m.Won().Any({"sign"});
  m.Lost().Any({"decline", "cancel"});
  StageRule rescope;
  rescope.filters = {{"rescope"}};
  m.Regress(rescope, "Qualified");
  return m;
}

constexpr std::string_view kExampleJson = R"({
  "version": 1,
  "ordering": "strict",
  "regression": "latch",
  "reopen": "never",
  "close_stalled_after": "30d",
  "exclude": ["spam"],
  "stages": [
    {"name": "Lead", "rules": [{"any": ["opportunity_created"]}]},
    {"name": "Engaged", "rules": [{"distinct_contacts": ["reply"], "min": 2, "within": "14d"}],
     "window": "30d", "stall": "21d", "optional": false},
    {"name": "Qualified", "rules": [{"all": [["state_need"], ["share_budget"]], "within": "30d"}],
     "stall": {"percentile": 90}},
    {"name": "Proposal", "rules": [{"sequence": [["state_need"], ["request_proposal"]], "within": "60d"},
                                   {"any": ["request_proposal"], "roles": ["decision_maker"], "min_amount": 1000, "max_amount": 5000}]},
    {"name": "Deep", "rules": [{"count": ["meeting_attended"], "min": 3}]}
  ],
  "won": [{"any": ["sign"]}],
  "lost": [{"any": ["decline", "cancel"]}],
  "regress": [{"any": ["rescope"], "to": "Qualified"}]
})";

constexpr std::string_view kExampleToml = R"(# The same model, as people would write it by hand.
version = 1
ordering = "strict"
regression = "latch"
reopen = "never"
close_stalled_after = "30d"
exclude = ["spam"]
won = [{ any = ["sign"] }]
lost = [{ any = ["decline", "cancel"] }]
regress = [{ any = ["rescope"], to = "Qualified" }]

[[stages]]
name = "Lead"
rules = [{ any = ["opportunity_created"] }]

[[stages]]
name = "Engaged"
rules = [{ distinct_contacts = ["reply"], min = 2, within = "14d" }]
window = "30d"
stall = "21d"
optional = false

[[stages]]
name = "Qualified"
rules = [{ all = [["state_need"], ["share_budget"]], within = "30d" }]
stall = { percentile = 90 }

[[stages]]
name = "Proposal"
rules = [
  { sequence = [["state_need"], ["request_proposal"]], within = "60d" },
  { any = ["request_proposal"], roles = ["decision_maker"], min_amount = 1000, max_amount = 5000.0 },
]

[[stages]]
name = "Deep"
rules = [{ count = ["meeting_attended"], min = 3 }]
)";

TEST(StageModelFile, BuilderJsonAndTomlAgree) {
  const StageModel built = ExampleByBuilder();
  ASSERT_TRUE(built.Validate().ok()) << built.Validate();
  absl::StatusOr<StageModel> from_json = StageModel::FromJson(kExampleJson);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  absl::StatusOr<StageModel> from_toml = StageModel::FromToml(kExampleToml);
  ASSERT_TRUE(from_toml.ok()) << from_toml.status();
  EXPECT_EQ(*from_json, built);
  EXPECT_EQ(*from_toml, built);
}

TEST(StageModelFile, ExampleRoundTrips) {
  const StageModel m = ExampleByBuilder();
  absl::StatusOr<StageModel> json = StageModel::FromJson(m.ToJson());
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << m.ToJson();
  EXPECT_EQ(*json, m);
  absl::StatusOr<StageModel> toml = StageModel::FromToml(m.ToToml());
  ASSERT_TRUE(toml.ok()) << toml.status() << "\n" << m.ToToml();
  EXPECT_EQ(*toml, m);
}

// The written forms are for people: pin their layout (defaults omitted, one rule per
// line, TOML top-level keys before the [[stages]] tables).
TEST(StageModelFile, WrittenLayout) {
  StageModel m;
  m.SetOrdering(Ordering::kSkip).CloseStalledAfter(Hours(36));
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Qualified")
      .All({{"state_need"}, {"share_budget", "ask_price"}}, Days(30))
      .Count({"meeting_attended"}, 3, Days(14))
      .Roles({"decision_maker"})
      .Amount(1000.5, std::nullopt)
      .StallAtPercentile(90)
      .Optional();
  m.Won().Any({"sign"});
  EXPECT_EQ(m.ToJson(), R"({
  "version": 1,
  "ordering": "skip",
  "close_stalled_after": "1d12h",
  "won": [{"any": ["sign"]}],
  "stages": [
    {"name": "Lead", "rules": [{"any": ["created"]}]},
    {
      "name": "Qualified",
      "rules": [
        {"all": [["state_need"], ["share_budget", "ask_price"]], "within": "30d"},
        {
          "count": ["meeting_attended"],
          "min": 3,
          "within": "2w",
          "roles": ["decision_maker"],
          "min_amount": 1000.5
        }
      ],
      "stall": {"percentile": 90},
      "optional": true
    }
  ]
}
)");
  EXPECT_EQ(m.ToToml(), R"(version = 1
ordering = "skip"
close_stalled_after = "1d12h"
won = [{ any = ["sign"] }]

[[stages]]
name = "Lead"
rules = [{ any = ["created"] }]

[[stages]]
name = "Qualified"
rules = [
  { all = [["state_need"], ["share_budget", "ask_price"]], within = "30d" },
  { count = ["meeting_attended"], min = 3, within = "2w", roles = ["decision_maker"], min_amount = 1000.5 },
]
stall = { percentile = 90 }
optional = true
)");
}

TEST(StageModelFile, EmptyStagesListRoundTripsInToml) {
  StageModel m;  // invalid (no stage), but the file form still keeps it
  absl::StatusOr<StageModel> toml = StageModel::FromToml(m.ToToml());
  ASSERT_TRUE(toml.ok()) << toml.status() << "\n" << m.ToToml();
  EXPECT_EQ(*toml, m);
  absl::StatusOr<StageModel> json = StageModel::FromJson(m.ToJson());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, m);
}

// ---- Random models ----------------------------------------------------------------

class ModelGenerator {
 public:
  explicit ModelGenerator(uint32_t seed) : rng_(seed) {}

  StageModel Model() {
    StageModel m;
    m.SetOrdering(Pick(2) ? Ordering::kSkip : Ordering::kStrict);
    m.SetRegression(static_cast<Regression>(Pick(3)));
    m.SetReopen(Pick(2) ? Reopen::kAllow : Reopen::kNever);
    if (Pick(2)) m.CloseStalledAfter(Pick(5) == 0 ? int64_t{0} : Duration());
    if (Pick(3) == 0) m.Exclude(Actions());
    const int num_stages = 1 + Pick(6);
    std::vector<std::string> names;
    for (int s = 0; s < num_stages; ++s) {
      std::string name = Name() + "#" + std::to_string(s);  // unique
      names.push_back(name);
      Stage& stage = m.AddStage(name);
      const int num_rules = Pick(4);  // 0 is fine for Validate; Compile rejects it
      for (int r = 0; r < num_rules; ++r) stage.rules.push_back(Rule());
      if (Pick(3) == 0) stage.Optional();
      if (Pick(3) == 0) stage.Window(Duration());
      switch (Pick(3)) {
        case 0: break;
        case 1: stage.StallAfter(Duration()); break;
        default: stage.StallAtPercentile(Percentile()); break;
      }
    }
    for (int r = Pick(3); r > 0; --r) m.Won().rules.push_back(Rule());
    for (int r = Pick(3); r > 0; --r) m.Lost().rules.push_back(Rule());
    for (int r = Pick(3); r > 0; --r) {
      m.Regress(Rule(), names[static_cast<size_t>(Pick(static_cast<int>(names.size())))]);
    }
    return m;
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // Names exercise escaping in both forms: quotes, backslashes, control characters,
  // non-ASCII UTF-8, TOML-looking text.
  std::string Name() {
    static const char* const kPieces[] = {"a",  "Stage", " ", "\"", "\\", "\t", "\n",
                                          "é",  "日本", "=", "[", "]", "#",  "{x}", "'",
                                          "\x01", "\x7f", "x.y", "1d"};
    std::string out;
    for (int n = 1 + Pick(4); n > 0; --n) out += kPieces[Pick(sizeof(kPieces) / sizeof(kPieces[0]))];
    return out;
  }

  std::vector<std::string> Actions() {
    std::vector<std::string> out;
    for (int n = 1 + Pick(3); n > 0; --n) out.push_back(Name());
    return out;
  }

  int64_t Duration() {
    switch (Pick(4)) {
      case 0: return Days(1 + Pick(90));
      case 1: return Hours(1 + Pick(1000));
      case 2: return Seconds(1 + Pick(100000)) + Pick(1000) * 1'000'000;
      default:
        return std::uniform_int_distribution<int64_t>(1, std::numeric_limits<int64_t>::max())(rng_);
    }
  }

  double Amount() {
    switch (Pick(3)) {
      case 0: return static_cast<double>(Pick(100000));
      case 1: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      default: return std::ldexp(std::uniform_real_distribution<double>(0.5, 1)(rng_), Pick(200) - 100);
    }
  }

  double Percentile() {
    if (Pick(3) == 0) return 100;
    return std::uniform_real_distribution<double>(0.001, 100)(rng_);
  }

  StageRule Rule() {
    StageRule rule;
    rule.kind = static_cast<RuleKind>(Pick(5));
    if (rule.kind == RuleKind::kAll || rule.kind == RuleKind::kSequence) {
      for (int n = 1 + Pick(3); n > 0; --n) rule.filters.push_back(Actions());
    } else {
      rule.filters.push_back(Actions());
    }
    if (rule.kind == RuleKind::kCount || rule.kind == RuleKind::kDistinctContacts) {
      rule.min = 1 + Pick(5);
    }
    if (Pick(2)) rule.within = Duration();
    if (Pick(3) == 0) rule.roles = Actions();
    double lo = Amount(), hi = Amount();
    if (lo > hi) std::swap(lo, hi);
    if (Pick(3) == 0) rule.min_amount = lo;
    if (Pick(3) == 0) rule.max_amount = hi;
    return rule;
  }

  std::mt19937 rng_;
};

TEST(StageModelFile, RandomModelsRoundTrip) {
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE(seed);
    const StageModel m = ModelGenerator(seed).Model();
    ASSERT_TRUE(m.Validate().ok()) << m.Validate();
    const std::string json_text = m.ToJson();
    absl::StatusOr<StageModel> json = StageModel::FromJson(json_text);
    ASSERT_TRUE(json.ok()) << json.status() << "\n" << json_text;
    EXPECT_EQ(*json, m) << json_text;
    const std::string toml_text = m.ToToml();
    absl::StatusOr<StageModel> toml = StageModel::FromToml(toml_text);
    ASSERT_TRUE(toml.ok()) << toml.status() << "\n" << toml_text;
    EXPECT_EQ(*toml, m) << toml_text;
  }
}

// ---- Durations --------------------------------------------------------------------

TEST(Duration, ParsesHandComputedValues) {
  EXPECT_EQ(*ParseDuration("1d12h"), 129600 * kNanosPerSecond);
  EXPECT_EQ(*ParseDuration("30d"), Days(30));
  EXPECT_EQ(*ParseDuration("12h"), Hours(12));
  EXPECT_EQ(*ParseDuration("90m"), Seconds(5400));
  EXPECT_EQ(*ParseDuration("45s"), Seconds(45));
  EXPECT_EQ(*ParseDuration("2w"), Days(14));
  EXPECT_EQ(*ParseDuration("1w2d3h4m5s6ms7us8ns"),
            Days(9) + Hours(3) + Seconds(245) + 6'007'008);
  EXPECT_EQ(*ParseDuration("0s"), 0);
  EXPECT_EQ(*ParseDuration("-1h"), -Hours(1));
  EXPECT_EQ(*ParseDuration("9223372036854775807ns"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseDuration("-9223372036854775808ns"), std::numeric_limits<int64_t>::min());
}

TEST(Duration, FormatsLargestUnitsFirst) {
  EXPECT_EQ(FormatDuration(Hours(36)), "1d12h");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(Days(30)), "30d");   // not "4w2d"
  EXPECT_EQ(FormatDuration(Days(14)), "2w");    // weeks only when exact
  EXPECT_EQ(FormatDuration(Seconds(5400)), "1h30m");
  EXPECT_EQ(FormatDuration(1'500'000), "1ms500us");
  EXPECT_EQ(FormatDuration(-Hours(36)), "-1d12h");
  EXPECT_EQ(FormatDuration(Seconds(1) + 1), "1s1ns");
}

TEST(Duration, RoundTrips) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> values = {0, 1, -1, std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min(), Days(7), Days(30)};
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<int64_t>(rng()));
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<int64_t>(rng() % 100) * Hours(1));
  for (int64_t v : values) {
    absl::StatusOr<int64_t> back = ParseDuration(FormatDuration(v));
    ASSERT_TRUE(back.ok()) << v << " " << FormatDuration(v) << " " << back.status();
    EXPECT_EQ(*back, v) << FormatDuration(v);
  }
}

void ExpectDurationError(std::string_view text, std::string_view message) {
  absl::StatusOr<int64_t> d = ParseDuration(text);
  ASSERT_FALSE(d.ok()) << text;
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(d.status().message()), message);
}

TEST(Duration, Errors) {
  ExpectDurationError("", "invalid duration '': it is empty");
  ExpectDurationError("-", "invalid duration '-': expected a number after '-'");
  ExpectDurationError("30", "invalid duration '30': missing unit after 30 (use w, d, h, m, s, ms, us or ns)");
  ExpectDurationError("3x", "invalid duration '3x': unknown unit 'x' (use w, d, h, m, s, ms, us or ns)");
  ExpectDurationError("d", "invalid duration 'd': expected a number at 'd'");
  ExpectDurationError("1.5d", "invalid duration '1.5d': missing unit after 1 (use w, d, h, m, s, ms, us or ns)");
  ExpectDurationError("1d 2h", "invalid duration '1d 2h': expected a number at ' 2h'");
  ExpectDurationError("12h1d", "invalid duration '12h1d': units must go from largest to smallest, each at most once");
  ExpectDurationError("1h1h", "invalid duration '1h1h': units must go from largest to smallest, each at most once");
  ExpectDurationError("9223372036854775808ns", "invalid duration '9223372036854775808ns': it is out of range");
  ExpectDurationError("20000w", "invalid duration '20000w': it is out of range");
  EXPECT_TRUE(ParseDuration("15250w1d").ok());  // just below 2^63 ns
  ExpectDurationError("15250w2d", "invalid duration '15250w2d': it is out of range");
}

// ---- Builder ----------------------------------------------------------------------

TEST(StageBuilder, ConditionsApplyToTheLastRuleAndAreNoOpsWithoutOne) {
  Stage stage;
  stage.Roles({"cfo"}).Amount(1, 2);  // no rule yet: nothing to qualify
  EXPECT_TRUE(stage.rules.empty());
  stage.Any({"a"}).Count({"b"}, 2).Roles({"cfo"}).Amount(std::nullopt, 10);
  ASSERT_EQ(stage.rules.size(), 2u);
  EXPECT_TRUE(stage.rules[0].roles.empty());
  EXPECT_EQ(stage.rules[1].roles, std::vector<std::string>{"cfo"});
  EXPECT_EQ(stage.rules[1].min, 2);
  EXPECT_EQ(stage.rules[1].min_amount, std::nullopt);
  EXPECT_EQ(stage.rules[1].max_amount, 10.0);
  stage.StallAfter(Days(3)).StallAtPercentile(50);  // the last limit wins
  EXPECT_EQ(stage.stall, (StallLimit{std::nullopt, 50.0}));
}

TEST(StageBuilder, RuleKindNames) {
  EXPECT_EQ(RuleKindName(RuleKind::kAny), "any");
  EXPECT_EQ(RuleKindName(RuleKind::kAll), "all");
  EXPECT_EQ(RuleKindName(RuleKind::kSequence), "sequence");
  EXPECT_EQ(RuleKindName(RuleKind::kCount), "count");
  EXPECT_EQ(RuleKindName(RuleKind::kDistinctContacts), "distinct_contacts");
}

// ---- Validate ---------------------------------------------------------------------

// A valid two-stage model that each case below breaks in one way.
StageModel Base() {
  StageModel m;
  m.AddStage("A").Any({"a"});
  m.AddStage("B").Any({"b"});
  m.Won().Any({"sign"});
  return m;
}

void ExpectInvalid(const StageModel& m, std::string_view message) {
  absl::Status s = m.Validate();
  ASSERT_FALSE(s.ok()) << message;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), message);
}

TEST(Validate, BaseIsValid) { EXPECT_TRUE(Base().Validate().ok()); }

TEST(Validate, NoOpenStage) {
  StageModel m;
  m.Won().Any({"sign"});
  ExpectInvalid(m, "the model has no open stage");
}

TEST(Validate, EmptyName) {
  StageModel m = Base();
  m.AddStage("").Any({"x"});
  ExpectInvalid(m, "stage 3: the name is empty");
}

TEST(Validate, ReservedNames) {
  StageModel m = Base();
  m.AddStage("Won").Any({"x"});
  ExpectInvalid(m, "stage 'Won': the name is reserved for the terminal stage");
  StageModel l = Base();
  l.AddStage("Lost").Any({"x"});
  ExpectInvalid(l, "stage 'Lost': the name is reserved for the terminal stage");
}

TEST(Validate, DuplicateName) {
  StageModel m = Base();
  m.AddStage("A").Any({"x"});
  ExpectInvalid(m, "stage 'A': the name is used by stages 1 and 3");
}

TEST(Validate, RuleWithNoFilters) {
  StageModel m = Base();
  m.mutable_stages()[1].All({}, Days(1));
  ExpectInvalid(m, "stage 'B', rule 2 (all): it has no actions");
}

TEST(Validate, OneFilterKindWithTwo) {
  StageModel m = Base();
  m.mutable_stages()[0].rules[0].filters.push_back({"c"});
  ExpectInvalid(m, "stage 'A', rule 1 (any): it takes exactly one list of actions, not 2");
}

TEST(Validate, EmptyActionList) {
  StageModel m = Base();
  m.mutable_stages()[0].Count({}, 2);
  ExpectInvalid(m, "stage 'A', rule 2 (count): the action list is empty");
}

TEST(Validate, EmptyStep) {
  StageModel m = Base();
  m.mutable_stages()[1].Sequence({{"x"}, {}});
  ExpectInvalid(m, "stage 'B', rule 2 (sequence): step 2 is empty");
}

TEST(Validate, EmptyActionName) {
  StageModel m = Base();
  m.mutable_stages()[1].DistinctContacts({"reply", ""}, 2);
  ExpectInvalid(m, "stage 'B', rule 2 (distinct_contacts): the action list has an empty action name");
}

TEST(Validate, MinBelowOne) {
  StageModel m = Base();
  m.mutable_stages()[0].Count({"x"}, 0);
  ExpectInvalid(m, "stage 'A', rule 2 (count): min must be at least 1, not 0");
}

TEST(Validate, MinOnAnyRule) {
  StageModel m = Base();
  m.mutable_stages()[0].rules[0].min = 2;
  ExpectInvalid(m, "stage 'A', rule 1 (any): min applies only to count and distinct_contacts");
}

TEST(Validate, WithinNotPositive) {
  StageModel m = Base();
  m.mutable_stages()[0].All({{"x"}, {"y"}}, 0);
  ExpectInvalid(m, "stage 'A', rule 2 (all): within must be positive, not 0s");
  StageModel n = Base();
  n.mutable_stages()[0].Sequence({{"x"}, {"y"}}, -Hours(1));
  ExpectInvalid(n, "stage 'A', rule 2 (sequence): within must be positive, not -1h");
}

TEST(Validate, AmountRange) {
  StageModel m = Base();
  m.mutable_stages()[1].Any({"x"}).Amount(5000, 1000);
  ExpectInvalid(m, "stage 'B', rule 2 (any): min_amount 5000 is above max_amount 1000");
  StageModel n = Base();
  n.mutable_stages()[1].Any({"x"}).Amount(std::nan(""), std::nullopt);
  ExpectInvalid(n, "stage 'B', rule 2 (any): min_amount is not a number");
  StageModel equal = Base();
  equal.mutable_stages()[1].Any({"x"}).Amount(1000, 1000);
  EXPECT_TRUE(equal.Validate().ok());
}

TEST(Validate, EmptyRole) {
  StageModel m = Base();
  m.mutable_stages()[1].Any({"x"}).Roles({"cfo", ""});
  ExpectInvalid(m, "stage 'B', rule 2 (any): a role name is empty");
}

TEST(Validate, WindowNotPositive) {
  StageModel m = Base();
  m.mutable_stages()[0].Window(0);
  ExpectInvalid(m, "stage 'A': window must be positive, not 0s");
}

TEST(Validate, StallNeedsExactlyOneLimit) {
  StageModel m = Base();
  m.mutable_stages()[0].stall = StallLimit{Days(1), 50.0};
  ExpectInvalid(m, "stage 'A': stall needs exactly one of a fixed limit and a percentile");
  StageModel n = Base();
  n.mutable_stages()[0].stall = StallLimit{};
  ExpectInvalid(n, "stage 'A': stall needs exactly one of a fixed limit and a percentile");
}

TEST(Validate, StallFixedNotPositive) {
  StageModel m = Base();
  m.mutable_stages()[1].StallAfter(-Days(2));
  ExpectInvalid(m, "stage 'B': stall must be positive, not -2d");
}

TEST(Validate, StallPercentileOutOfRange) {
  for (double p : {0.0, -5.0, 100.5}) {
    StageModel m = Base();
    m.mutable_stages()[1].StallAtPercentile(p);
    absl::Status s = m.Validate();
    EXPECT_TRUE(absl::StartsWith(std::string(s.message()), "stage 'B': stall percentile must be in (0, 100], not"))
        << s;
  }
  StageModel m = Base();
  m.mutable_stages()[1].StallAtPercentile(100.5);
  ExpectInvalid(m, "stage 'B': stall percentile must be in (0, 100], not 100.5");
  StageModel n = Base();
  n.mutable_stages()[1].StallAtPercentile(std::nan(""));
  EXPECT_FALSE(n.Validate().ok());
  StageModel ok = Base();
  ok.mutable_stages()[1].StallAtPercentile(100);
  EXPECT_TRUE(ok.Validate().ok());
}

TEST(Validate, RegressTarget) {
  StageModel m = Base();
  StageRule rule;
  rule.filters = {{"rescope"}};
  m.Regress(rule, "A").Regress(rule, "Nope");
  ExpectInvalid(m, "regress rule 2 (any): target 'Nope' is not an open stage");
  StageModel w = Base();
  w.Regress(rule, "Won");
  ExpectInvalid(w, "regress rule 1 (any): target 'Won' is not an open stage");
}

TEST(Validate, RegressRuleShape) {
  StageModel m = Base();
  StageRule rule;
  rule.kind = RuleKind::kCount;
  rule.filters = {{"rescope"}};
  rule.min = -1;
  m.Regress(rule, "A");
  ExpectInvalid(m, "regress rule 1 (count): min must be at least 1, not -1");
}

TEST(Validate, TerminalRules) {
  StageModel m = Base();
  m.Lost().Any({"decline"}).Any({});
  ExpectInvalid(m, "Lost, rule 2 (any): the action list is empty");
  StageModel w = Base();
  w.Won().Window(Days(1));
  ExpectInvalid(w, "Won: a terminal stage takes only rules (no optional, window or stall)");
  StageModel r = Base();
  r.Won().name = "Closed";
  ExpectInvalid(r, "Won: the terminal stage was renamed to 'Closed'");
}

TEST(Validate, ExcludeNames) {
  StageModel m = Base();
  m.Exclude({"spam", ""});
  ExpectInvalid(m, "exclude: an action name is empty");
}

TEST(Validate, CloseStalledAfter) {
  StageModel m = Base();
  m.CloseStalledAfter(-Seconds(1));
  ExpectInvalid(m, "close_stalled_after must not be negative, not -1s");
  m.CloseStalledAfter(0);
  EXPECT_TRUE(m.Validate().ok());
}

// ---- Parse errors -----------------------------------------------------------------

void ExpectJsonError(std::string_view text, std::string_view message) {
  absl::StatusOr<StageModel> m = StageModel::FromJson(text);
  ASSERT_FALSE(m.ok()) << text;
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(m.status().message()), message) << text;
}

void ExpectTomlError(std::string_view text, std::string_view message) {
  absl::StatusOr<StageModel> m = StageModel::FromToml(text);
  ASSERT_FALSE(m.ok()) << text;
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(m.status().message()), message) << text;
}

// A valid document with `stage` as its only stage.
std::string WithStage(std::string_view stage) {
  return "{\"version\": 1, \"stages\": [" + std::string(stage) + "]}";
}

TEST(ParseErrors, UnknownRuleKeyNamesStageAndRule) {
  ExpectJsonError(
      R"({"version": 1, "stages": [{"name": "Lead", "rules": [{"any": ["a"]}]},
          {"name": "Engaged", "rules": [{"any": ["b"]}]},
          {"name": "Qualified", "rules": [{"all": [["x"], ["y"]], "withn": "30d"}]}]})",
      "stages[2] ('Qualified').rules[0]: unknown key 'withn'");
}

TEST(ParseErrors, Version) {
  ExpectJsonError(R"({"version": 2, "stages": []})",
                  "version 2 is not supported (this library reads version 1)");
  ExpectJsonError(R"({"stages": []})", "missing key 'version' (this library reads version 1)");
  ExpectJsonError(R"({"version": "1", "stages": []})", "version: expected an integer, got a string");
  // The version is judged before keys a newer format might have added.
  ExpectJsonError(R"({"version": 3, "funnels": []})",
                  "version 3 is not supported (this library reads version 1)");
}

TEST(ParseErrors, TopLevel) {
  ExpectJsonError(R"([1, 2])", "expected the model to be an object, got a list");
  ExpectJsonError(R"({"version": 1, "stage": []})", "unknown key 'stage'");
  ExpectJsonError(R"({"version": 1})", "missing key 'stages'");
  ExpectJsonError(R"({"version": 1, "stages": {}})", "stages: expected a list of stages, got an object");
  ExpectJsonError(R"({"version": 1, "stages": [], "ordering": "loose"})",
                  "ordering: unknown value 'loose' (expected strict or skip)");
  ExpectJsonError(R"({"version": 1, "stages": [], "regression": "undo"})",
                  "regression: unknown value 'undo' (expected latch or follow or record)");
  ExpectJsonError(R"({"version": 1, "stages": [], "reopen": true})",
                  "reopen: expected a string, got a boolean");
  ExpectJsonError(R"({"version": 1, "stages": [], "close_stalled_after": "soon"})",
                  "close_stalled_after: invalid duration 'soon': expected a number at 'soon'");
  ExpectJsonError(R"({"version": 1, "stages": [], "exclude": ["spam", 3]})",
                  "exclude[1]: expected a string, got an integer");
}

TEST(ParseErrors, StageShape) {
  ExpectJsonError(WithStage(R"({"rules": []})"), "stages[0]: missing key 'name'");
  ExpectJsonError(WithStage(R"({"name": 7})"), "stages[0].name: expected a string, got an integer");
  ExpectJsonError(WithStage(R"("Lead")"), "stages[0]: expected a stage object, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "rule": []})"), "stages[0] ('A'): unknown key 'rule'");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": {"any": ["a"]}})"),
                  "stages[0] ('A').rules: expected a list of rules, got an object");
  ExpectJsonError(WithStage(R"({"name": "A", "window": "3x"})"),
                  "stages[0] ('A').window: invalid duration '3x': unknown unit 'x' (use w, d, h, m, s, ms, us or ns)");
  ExpectJsonError(WithStage(R"({"name": "A", "optional": "yes"})"),
                  "stages[0] ('A').optional: expected true or false, got a string");
}

TEST(ParseErrors, Stall) {
  ExpectJsonError(WithStage(R"({"name": "A", "stall": 21})"),
                  "stages[0] ('A').stall: expected a duration string or {\"percentile\": p}, got an integer");
  ExpectJsonError(WithStage(R"({"name": "A", "stall": {"pct": 90}})"),
                  "stages[0] ('A').stall: unknown key 'pct'");
  ExpectJsonError(WithStage(R"({"name": "A", "stall": {"percentile": "90"}})"),
                  "stages[0] ('A').stall.percentile: expected a number, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "stall": "21"})"),
                  "stages[0] ('A').stall: invalid duration '21': missing unit after 21 (use w, d, h, m, s, ms, us or ns)");
}

TEST(ParseErrors, RuleKinds) {
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"within": "1d"}]})"),
                  "stages[0] ('A').rules[0]: a rule needs one of any, all, sequence, count or distinct_contacts");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "count": ["b"]}]})"),
                  "stages[0] ('A').rules[0]: a rule has exactly one of any, all, sequence, count or "
                  "distinct_contacts (found 'any' and 'count')");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": ["any"]})"),
                  "stages[0] ('A').rules[0]: expected a rule object, got a string");
}

TEST(ParseErrors, RuleValues) {
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": "a"}]})"),
                  "stages[0] ('A').rules[0].any: expected a list of strings, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a", 2]}]})"),
                  "stages[0] ('A').rules[0].any[1]: expected a string, got an integer");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"all": ["a", "b"]}]})"),
                  "stages[0] ('A').rules[0].all[0]: expected a list of strings, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"sequence": {"a": 1}}]})"),
                  "stages[0] ('A').rules[0].sequence: expected a list of action lists, got an object");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"count": ["a"], "min": 2.5}]})"),
                  "stages[0] ('A').rules[0].min: expected an integer, got a number");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"count": ["a"], "min": 3000000000}]})"),
                  "stages[0] ('A').rules[0].min: the integer is out of range");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "within": 86400}]})"),
                  "stages[0] ('A').rules[0].within: expected a duration string such as \"30d\", got an integer");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "within": "1d1d"}]})"),
                  "stages[0] ('A').rules[0].within: invalid duration '1d1d': units must go from largest to "
                  "smallest, each at most once");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "roles": "cfo"}]})"),
                  "stages[0] ('A').rules[0].roles: expected a list of strings, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "min_amount": "1k"}]})"),
                  "stages[0] ('A').rules[0].min_amount: expected a number, got a string");
  ExpectJsonError(WithStage(R"({"name": "A", "rules": [{"any": ["a"], "to": "B"}]})"),
                  "stages[0] ('A').rules[0]: unknown key 'to'");
}

TEST(ParseErrors, TerminalAndRegressRules) {
  ExpectJsonError(R"({"version": 1, "stages": [], "won": [{"anyy": ["sign"]}]})",
                  "won[0]: unknown key 'anyy'");
  ExpectJsonError(R"({"version": 1, "stages": [], "lost": {"any": ["x"]}})",
                  "lost: expected a list of rules, got an object");
  ExpectJsonError(R"({"version": 1, "stages": [], "regress": [{"any": ["rescope"]}]})",
                  "regress[0]: missing key 'to' (the stage to move back to)");
  ExpectJsonError(R"({"version": 1, "stages": [], "regress": [{"any": ["rescope"], "to": 1}]})",
                  "regress[0].to: expected a string, got an integer");
}

TEST(ParseErrors, JsonSyntaxGivesLineAndColumn) {
  ExpectJsonError("{\n  \"version\": 1,\n  \"stages\": [x]\n}",
                  "JSON: line 3, column 14: syntax error while parsing value - invalid literal; "
                  "last read: '\"stages\": [x'");
  ExpectJsonError("{\n  \"version\": 1,\n", 
                  "JSON: line 3, column 1: syntax error while parsing object key - unexpected end of "
                  "input; expected string literal");
  ExpectJsonError("", "JSON: line 1, column 1: syntax error while parsing value - unexpected end of "
                      "input; expected '[', '{', or a literal");
  ExpectJsonError(R"({"version": 1, "stages": [], "version": 1})",
                  "JSON: key 'version' appears twice in one object");
  ExpectJsonError(R"({"version": 1, "stages": [{"name": "A", "window": 1e400}]})",
                  "JSON: number overflow parsing '1e400'");
}

TEST(ParseErrors, TomlSameTreeSameMessages) {
  ExpectTomlError("version = 1\n[[stages]]\nname = \"Qualified\"\nrules = [{ all = [[\"x\"]], withn = \"30d\" }]\n",
                  "stages[0] ('Qualified').rules[0]: unknown key 'withn'");
  ExpectTomlError("version = 2\nstages = []\n",
                  "version 2 is not supported (this library reads version 1)");
  ExpectTomlError("version = 1\n[[stages]]\nrules = []\n", "stages[0]: missing key 'name'");
  ExpectTomlError("version = 1\n[[stages]]\nname = \"A\"\nstall = { percentile = 90, fixed = \"2x\" }\n",
                  "stages[0] ('A').stall.fixed: invalid duration '2x': unknown unit 'x' (use w, d, h, m, s, "
                  "ms, us or ns)");
}

TEST(ParseErrors, TomlSpecific) {
  ExpectTomlError("version = 1\n[[stages]]\nname = 1979-05-27\n",
                  "stages[0].name: a TOML date or time is not valid here (line 3)");
  absl::StatusOr<StageModel> m = StageModel::FromToml("version = 1\nstages = [\n");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(absl::StartsWith(std::string(m.status().message()), "TOML: line 2, column "))
      << m.status();
  ExpectTomlError("version = 1\nversion = 1\n",
                  "TOML: line 2, column 11: Error while parsing key-value pair: cannot redefine "
                  "existing integer 'version'");
}

// ---- Truncated and garbled documents ---------------------------------------------

TEST(ParseRobustness, EveryPrefixReturnsAStatus) {
  const StageModel m = ExampleByBuilder();
  for (const std::string& text : {m.ToJson(), std::string(kExampleJson)}) {
    for (size_t n = 0; n <= text.size(); ++n) {
      absl::StatusOr<StageModel> r = StageModel::FromJson(std::string_view(text).substr(0, n));
      EXPECT_EQ(r.ok(), n > text.rfind('}')) << n;  // only the whole document parses
    }
  }
  for (const std::string& text : {m.ToToml(), std::string(kExampleToml)}) {
    for (size_t n = 0; n <= text.size(); ++n) {
      absl::StatusOr<StageModel> r = StageModel::FromToml(std::string_view(text).substr(0, n));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << n;
      }
    }
  }
}

TEST(ParseRobustness, GarbledDocumentsReturnAStatus) {
  const StageModel m = ExampleByBuilder();
  const std::string json = m.ToJson(), toml = m.ToToml();
  std::mt19937 rng(11);
  const std::string alphabet = "{}[]\",:=\n \\x0123456789.-eE#'tfn\x01\xff\xc3";
  for (int i = 0; i < 3000; ++i) {
    std::string j = json, t = toml;
    for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0; --edits) {
      j[rng() % j.size()] = alphabet[rng() % alphabet.size()];
      t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
    }
    absl::StatusOr<StageModel> a = StageModel::FromJson(j);
    absl::StatusOr<StageModel> b = StageModel::FromToml(t);
    if (!a.ok()) {
        EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << j;
      }
    if (!b.ok()) {
        EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << t;
      }
  }
}

}  // namespace
}  // namespace salesperf
