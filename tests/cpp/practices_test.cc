// The nine-practice assessment: the bundled instrument (parsed, checked, and equal to
// the file in the source tree), every error of ParseInstrument, the JSON form against
// the TOML form, ScoreAnswers on a small set scored by hand in the comments (managers,
// reps and another role; reversed statements; don't-knows; respondents answering only
// some statements so that the equal-weight rule matters), every answer error naming
// its row, and AssessPractices on a hand-built LeakAssessment with every attributed
// dollar worked out by hand.
#include "salesperf/practices.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTol = 1e-9;

bool Contains(const absl::Status& s, std::string_view needle) {
  return std::string(s.message()).find(needle) != std::string::npos;
}

#define EXPECT_ERROR(expr, want_code, needle)                                             \
  do {                                                                                    \
    const absl::Status status_ = (expr).status();                                         \
    EXPECT_EQ(status_.code(), want_code) << status_;                                      \
    EXPECT_TRUE(Contains(status_, needle)) << "message: " << status_.message()            \
                                           << "\nexpected to contain: " << (needle);      \
  } while (false)

// ---- A small instrument, as TOML and as JSON ---------------------------------------

struct StatementSpec {
  std::string id, practice;
  bool reverse;
};

// Three statements for customer retention (the third reversed), two for qualifying,
// one reversed for downtime, one for each other practice.
std::vector<StatementSpec> SmallStatements() {
  return {{"a1", "customer_retention", false},
          {"a2", "customer_retention", false},
          {"a3", "customer_retention", true},
          {"q1", "qualifying_account_criteria", false},
          {"q2", "qualifying_account_criteria", false},
          {"ad1", "account_development", false},
          {"ss1", "sales_support", false},
          {"d1", "downtime", true},
          {"s1", "sales_metrics", false},
          {"am1", "advanced_sales_metrics", false},
          {"np1", "non_productive_sales_reps", false},
          {"pm1", "pipeline_management_and_forecasting", false}};
}

std::string PracticeToml(std::string_view id) {
  std::string out = "[[practice]]\n";
  out += "id = \"" + std::string(id) + "\"\n";
  out += "name = \"Name of " + std::string(id) + "\"\n";
  out += "summary = \"Good " + std::string(id) + "\"\n";
  out += "source = \"Source of " + std::string(id) + "\"\n\n";
  return out;
}

std::string StatementToml(const StatementSpec& s) {
  std::string out = "[[statement]]\n";
  out += "id = \"" + s.id + "\"\n";
  out += "practice = \"" + s.practice + "\"\n";
  out += "text = \"Text of " + s.id + "\"\n";
  if (s.reverse) out += "reverse = true\n";
  out += "best_practice = \"Do " + s.id + "\"\n\n";
  return out;
}

std::string SmallToml(std::string_view header = "name = \"Small\"\nversion = \"0.1\"\nscale = [1, 5]\n\n",
                      const std::vector<std::string>& practice_ids = {kPracticeIds.begin(), kPracticeIds.end()},
                      const std::vector<StatementSpec>& statements = SmallStatements()) {
  std::string out(header);
  for (const std::string& id : practice_ids) out += PracticeToml(id);
  for (const StatementSpec& s : statements) out += StatementToml(s);
  return out;
}

// A JSON string literal (the texts here are plain ASCII).
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// The JSON form of an instrument, written independently of the library, with the
// practices in reverse order (the order in the file must not matter).
std::string ToJson(const Instrument& in) {
  std::string out = "{\n  \"name\": " + JsonString(in.name) + ",\n  \"version\": " + JsonString(in.version) +
                    ",\n  \"scale\": [" + std::to_string(in.scale_min) + ", " + std::to_string(in.scale_max) +
                    "],\n  \"practice\": [\n";
  for (size_t i = in.practices.size(); i-- > 0;) {
    const PracticeInfo& p = in.practices[i];
    out += "    {\"id\": " + JsonString(p.id) + ", \"name\": " + JsonString(p.name) +
           ", \"summary\": " + JsonString(p.summary) + ", \"source\": " + JsonString(p.source) + "}";
    out += i > 0 ? ",\n" : "\n";
  }
  out += "  ],\n  \"statement\": [\n";
  for (size_t i = 0; i < in.statements.size(); ++i) {
    const Statement& s = in.statements[i];
    out += "    {\"id\": " + JsonString(s.id) + ", \"practice\": " + JsonString(s.practice) +
           ", \"text\": " + JsonString(s.text) + ", \"reverse\": " + (s.reverse ? "true" : "false") +
           ", \"best_practice\": " + JsonString(s.best_practice) + "}";
    out += i + 1 < in.statements.size() ? ",\n" : "\n";
  }
  return out + "  ]\n}\n";
}

Instrument Small() {
  absl::StatusOr<Instrument> in = ParseInstrument(SmallToml());
  EXPECT_TRUE(in.ok()) << in.status();
  return *in;
}

// ---- The bundled instrument -------------------------------------------------------

TEST(Instrument, BundledParsesWithNinePracticesAndUniqueStatements) {
  absl::StatusOr<Instrument> in = DefaultInstrument();
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->name, "Leaky Bucket assessment");
  EXPECT_EQ(in->version, "1.0");
  EXPECT_EQ(in->scale_min, 1);
  EXPECT_EQ(in->scale_max, 5);
  ASSERT_EQ(in->practices.size(), 9u);
  for (size_t p = 0; p < 9; ++p) {
    EXPECT_EQ(in->practices[p].id, kPracticeIds[p]);
    EXPECT_FALSE(in->practices[p].name.empty());
    EXPECT_FALSE(in->practices[p].summary.empty()) << in->practices[p].id;
    EXPECT_NE(in->practices[p].source.find("Jordan & Vazzana"), std::string::npos) << in->practices[p].id;
  }
  // The ninth says where it comes from.
  EXPECT_NE(in->practices[8].source.find("not publicly documented"), std::string::npos);
  std::set<std::string> ids;
  int reversed = 0;
  for (const Statement& s : in->statements) {
    EXPECT_TRUE(ids.insert(s.id).second) << s.id;
    EXPECT_FALSE(s.text.empty()) << s.id;
    EXPECT_FALSE(s.best_practice.empty()) << s.id;
    reversed += s.reverse;
  }
  EXPECT_GE(reversed, 1);
  for (std::string_view id : kPracticeIds) {
    const auto n = std::count_if(in->statements.begin(), in->statements.end(),
                                 [&](const Statement& s) { return s.practice == id; });
    EXPECT_GE(n, 3) << id;
    EXPECT_LE(n, 5) << id;
  }
  // The statements the brief asked for are there.
  auto has = [&](std::string_view text) {
    return std::any_of(in->statements.begin(), in->statements.end(),
                       [&](const Statement& s) { return s.text.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("Reps have documented targets for retaining current customers"));
  EXPECT_TRUE(has("The account is qualified before the opportunity"));
  EXPECT_TRUE(has("Stages are defined by buyer behaviour"));
  EXPECT_TRUE(has("Our top reps regularly work weekends to make the number"));
}

TEST(Instrument, BundledTextIsTheSourceFile) {
  std::ifstream file(std::string(SALESPERF_SOURCE_DIR) + "/src/instruments/leaky_bucket.toml",
                     std::ios::binary);
  ASSERT_TRUE(file.good());
  std::stringstream buffer;
  buffer << file.rdbuf();
  EXPECT_EQ(DefaultInstrumentText(), buffer.str());
  absl::StatusOr<Instrument> a = ParseInstrument(DefaultInstrumentText());
  absl::StatusOr<Instrument> b = DefaultInstrument();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(Instrument, PracticesAreStoredInCanonicalOrderStatementsInFileOrder) {
  std::vector<std::string> reversed(kPracticeIds.rbegin(), kPracticeIds.rend());
  absl::StatusOr<Instrument> in =
      ParseInstrument(SmallToml("name = \"Small\"\nversion = \"0.1\"\n\n", reversed));
  ASSERT_TRUE(in.ok()) << in.status();
  for (size_t p = 0; p < 9; ++p) EXPECT_EQ(in->practices[p].id, kPracticeIds[p]);
  EXPECT_EQ(in->practices[0].name, "Name of customer_retention");
  EXPECT_EQ(in->practices[0].summary, "Good customer_retention");
  EXPECT_EQ(in->practices[0].source, "Source of customer_retention");
  ASSERT_EQ(in->statements.size(), SmallStatements().size());
  for (size_t i = 0; i < in->statements.size(); ++i) {
    EXPECT_EQ(in->statements[i].id, SmallStatements()[i].id);
    EXPECT_EQ(in->statements[i].reverse, SmallStatements()[i].reverse);
    EXPECT_EQ(in->statements[i].text, "Text of " + SmallStatements()[i].id);
    EXPECT_EQ(in->statements[i].best_practice, "Do " + SmallStatements()[i].id);
  }
  // No scale: the default 1..5.
  EXPECT_EQ(in->scale_min, 1);
  EXPECT_EQ(in->scale_max, 5);
  absl::StatusOr<Instrument> seven =
      ParseInstrument(SmallToml("name = \"S\"\nversion = \"1\"\nscale = [0, 6]\n\n"));
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ(seven->scale_min, 0);
  EXPECT_EQ(seven->scale_max, 6);
}

TEST(Instrument, JsonFormEqualsTomlForm) {
  absl::StatusOr<Instrument> bundled = DefaultInstrument();
  ASSERT_TRUE(bundled.ok());
  absl::StatusOr<Instrument> from_json = ParseInstrument(ToJson(*bundled), "json");
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(*from_json, *bundled);

  // A hand-written JSON document against its TOML twin (reverse left out = false).
  const std::string toml = SmallToml();
  std::string json = "{\"name\": \"Small\", \"version\": \"0.1\", \"scale\": [1, 5], \"practice\": [";
  for (size_t p = 0; p < 9; ++p) {
    const std::string id(kPracticeIds[p]);
    json += (p ? ", " : "") + std::string("{\"id\": \"") + id + "\", \"name\": \"Name of " + id +
            "\", \"summary\": \"Good " + id + "\", \"source\": \"Source of " + id + "\"}";
  }
  json += "], \"statement\": [";
  bool first = true;
  for (const StatementSpec& s : SmallStatements()) {
    json += (first ? "" : ", ") + std::string("{\"id\": \"") + s.id + "\", \"practice\": \"" + s.practice +
            "\", \"text\": \"Text of " + s.id + "\", " + (s.reverse ? "\"reverse\": true, " : "") +
            "\"best_practice\": \"Do " + s.id + "\"}";
    first = false;
  }
  json += "]}";
  absl::StatusOr<Instrument> a = ParseInstrument(toml, "toml");
  absl::StatusOr<Instrument> b = ParseInstrument(json, "JSON");  // the format is case-insensitive
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
}

// ---- ParseInstrument's errors ------------------------------------------------------

std::vector<std::string> AllIds() { return {kPracticeIds.begin(), kPracticeIds.end()}; }
constexpr std::string_view kHeader = "name = \"Small\"\nversion = \"0.1\"\n\n";

TEST(InstrumentErrors, MissingPractice) {
  std::vector<std::string> ids = AllIds();
  ids.erase(ids.begin() + 4);  // downtime
  std::vector<StatementSpec> st = SmallStatements();
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, ids, st)), absl::StatusCode::kInvalidArgument,
               "practice 'downtime' is missing");
  EXPECT_ERROR(ParseInstrument(std::string(kHeader) + StatementToml(st[0])), absl::StatusCode::kInvalidArgument,
               "practice: missing");
}

TEST(InstrumentErrors, DuplicatePractice) {
  std::vector<std::string> ids = AllIds();
  ids.push_back("sales_support");
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, ids)), absl::StatusCode::kInvalidArgument,
               "practice[9].id: practice 'sales_support' appears twice (practice[3] and practice[9])");
}

TEST(InstrumentErrors, UnknownPracticeInPracticeList) {
  std::vector<std::string> ids = AllIds();
  ids.push_back("cold_calling");
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, ids)), absl::StatusCode::kInvalidArgument,
               "practice[9].id: unknown practice 'cold_calling'");
}

TEST(InstrumentErrors, DuplicateStatementId) {
  std::vector<StatementSpec> st = SmallStatements();
  st.push_back({"a2", "downtime", false});
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, AllIds(), st)), absl::StatusCode::kInvalidArgument,
               "statement 'a2' appears twice (statement[1] and statement[12])");
}

TEST(InstrumentErrors, StatementOfUnknownPractice) {
  std::vector<StatementSpec> st = SmallStatements();
  st.push_back({"zz", "golf", false});
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, AllIds(), st)), absl::StatusCode::kInvalidArgument,
               "statement[12] (statement 'zz').practice: unknown practice 'golf'");
}

TEST(InstrumentErrors, PracticeWithoutStatement) {
  std::vector<StatementSpec> st = SmallStatements();
  st.erase(st.begin() + 7);  // d1, downtime's only statement
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, AllIds(), st)), absl::StatusCode::kInvalidArgument,
               "practice 'downtime' has no statement");
  EXPECT_ERROR(ParseInstrument(SmallToml(kHeader, AllIds(), {})), absl::StatusCode::kInvalidArgument,
               "statement: missing");
}

TEST(InstrumentErrors, BadScale) {
  auto with_scale = [](std::string_view scale) {
    return SmallToml("name = \"S\"\nversion = \"1\"\nscale = " + std::string(scale) + "\n\n");
  };
  EXPECT_ERROR(ParseInstrument(with_scale("[5, 1]")), absl::StatusCode::kInvalidArgument,
               "scale: min (5) must be below max (1)");
  EXPECT_ERROR(ParseInstrument(with_scale("[3, 3]")), absl::StatusCode::kInvalidArgument,
               "scale: min (3) must be below max (3)");
  EXPECT_ERROR(ParseInstrument(with_scale("[1]")), absl::StatusCode::kInvalidArgument, "scale: expected [min, max]");
  EXPECT_ERROR(ParseInstrument(with_scale("[1, 5, 7]")), absl::StatusCode::kInvalidArgument, "scale: expected");
  EXPECT_ERROR(ParseInstrument(with_scale("[1.0, 5.0]")), absl::StatusCode::kInvalidArgument,
               "scale: expected [min, max], two integers");
  EXPECT_ERROR(ParseInstrument(with_scale("\"1-5\"")), absl::StatusCode::kInvalidArgument, "scale: expected");
}

TEST(InstrumentErrors, SyntaxErrorsGiveLineAndColumn) {
  // Line 2 has an unterminated string.
  absl::StatusOr<Instrument> t = ParseInstrument("name = \"Small\"\nversion = \"0.1\n");
  EXPECT_ERROR(t, absl::StatusCode::kInvalidArgument, "TOML: line 2, column ");
  // JSON: the stray comma on line 3.
  absl::StatusOr<Instrument> j = ParseInstrument("{\n  \"name\": \"x\",\n  ,\n}", "json");
  EXPECT_ERROR(j, absl::StatusCode::kInvalidArgument, "JSON: line 3, column 3");
  EXPECT_ERROR(ParseInstrument("{\"name\": \"x\", \"name\": \"y\"}", "json"), absl::StatusCode::kInvalidArgument,
               "key 'name' appears twice");
  EXPECT_ERROR(ParseInstrument("[1, 2]", "json"), absl::StatusCode::kInvalidArgument, "instrument: expected a table");
  EXPECT_ERROR(ParseInstrument("", "yaml"), absl::StatusCode::kInvalidArgument, "format must be 'toml' or 'json'");
}

TEST(InstrumentErrors, KeysAndTypes) {
  const std::vector<std::string> ids = AllIds();
  const std::string body = SmallToml("", ids);
  EXPECT_ERROR(ParseInstrument("version = \"1\"\n" + body), absl::StatusCode::kInvalidArgument, "name: missing");
  EXPECT_ERROR(ParseInstrument("name = \"x\"\nversion = \"\"\n" + body), absl::StatusCode::kInvalidArgument,
               "version: must not be empty");
  EXPECT_ERROR(ParseInstrument("name = 3\nversion = \"1\"\n" + body), absl::StatusCode::kInvalidArgument,
               "name: expected a string, got an integer");
  EXPECT_ERROR(ParseInstrument("name = \"x\"\nversion = \"1\"\ncolour = \"red\"\n" + body),
               absl::StatusCode::kInvalidArgument, "unknown key 'colour'");
  EXPECT_ERROR(ParseInstrument("name = \"x\"\nversion = 1979-05-27\n" + body), absl::StatusCode::kInvalidArgument,
               "version: a TOML date or time is not valid here (line 2)");

  // Inside a statement: the message names the statement.
  std::string bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("reverse = true"), 14, "reverse = \"yes\"");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument,
               "statement[2] (statement 'a3').reverse: expected true or false, got a string");
  bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("text = \"Text of q1\"\n"), 19, "");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument,
               "statement[3] (statement 'q1').text: missing");
  bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("best_practice = \"Do ss1\""), 24, "best_practice = \"\"");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument,
               "statement[6] (statement 'ss1').best_practice: must not be empty");
  bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("id = \"pm1\""), 10, "id = \"pm1\"\nweight = 2");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument,
               "statement[11] (statement 'pm1'): unknown key 'weight'");
  bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("id = \"a1\""), 9, "id = \"\"");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument, "statement[0].id: must not be empty");
  // Inside a practice: the message names the practice.
  bad = SmallToml(kHeader, ids);
  bad.replace(bad.find("name = \"Name of downtime\""), 25, "");
  EXPECT_ERROR(ParseInstrument(bad), absl::StatusCode::kInvalidArgument,
               "practice[4] (practice 'downtime').name: missing");
  EXPECT_ERROR(ParseInstrument(std::string(kHeader) + "practice = 3\n"), absl::StatusCode::kInvalidArgument,
               "practice: expected a list of tables");
}

// ---- Scoring answers ---------------------------------------------------------------

// Points on 1..5: 1 -> 0, 2 -> 25, 3 -> 50, 3.5 -> 62.5, 4 -> 75, 5 -> 100; a reversed
// statement gives 100 minus that.
//   respondent  role        a1     a2     a3(rev)   q2    ad1   ss1    d1(rev)  s1
//   M1          "Manager"   5:100  4:75   2:75      .     .     4:75   1:100    .
//   M2          "manager"   4:75   dk     .         .     4:75  .      .        .
//   R1          "rep"       2:25   3:50   4:25      .     .     3.5:62.5 .      4:75
//   R2          "REP"       3.5:62.5 .    5:0       .     3:50  .      dk       4:75
//   O1          "director"  .      1:0    .         2:25  .     .      .        .
Answers ScoringAnswers() {
  Answers a;
  auto add = [&](std::string who, std::string role, std::string statement, double v) {
    a.respondent.push_back(std::move(who));
    a.role.push_back(std::move(role));
    a.statement.push_back(std::move(statement));
    a.value.push_back(v);
  };
  add("M1", "Manager", "a1", 5);
  add("M1", "Manager", "a2", 4);
  add("M1", "MANAGER", "a3", 2);  // the same role, another case
  add("M1", "Manager", "ss1", 4);
  add("M1", "Manager", "d1", 1);
  add("M2", "manager", "a1", 4);
  add("M2", "manager", "a2", kNaN);
  add("M2", "manager", "ad1", 4);
  add("R1", "rep", "a1", 2);
  add("R1", "rep", "a2", 3);
  add("R1", "rep", "a3", 4);
  add("R1", "rep", "ss1", 3.5);
  add("R1", "rep", "s1", 4);
  add("R2", "REP", "a1", 3.5);
  add("R2", "REP", "a3", 5);
  add("R2", "REP", "ad1", 3);
  add("R2", "REP", "d1", kNaN);
  add("R2", "REP", "s1", 4);
  add("O1", "director", "a2", 1);
  add("O1", "director", "q2", 2);
  return a;
}

const QuestionnaireScores::PracticeRow& Row(const QuestionnaireScores& q, std::string_view practice) {
  for (const auto& r : q.practices) {
    if (r.practice == practice) return r;
  }
  ADD_FAILURE() << "no row for " << practice;
  return q.practices.front();
}

void ExpectNear(double actual, double expected, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << " = " << actual << ", expected NaN";
  } else {
    EXPECT_NEAR(actual, expected, kTol) << what;
  }
}

TEST(ScoreAnswers, HandDerivedPracticeScores) {
  absl::StatusOr<QuestionnaireScores> q = ScoreAnswers(Small(), ScoringAnswers());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->respondents, 5);
  ASSERT_EQ(q->practices.size(), 9u);
  for (size_t p = 0; p < 9; ++p) EXPECT_EQ(q->practices[p].practice, kPracticeIds[p]);

  // Customer retention. Each respondent's mean over the statements they answered:
  //   M1 (100 + 75 + 75) / 3 = 250/3; M2 75 (a2 don't know); R1 (25 + 50 + 25) / 3 =
  //   100/3; R2 (62.5 + 0) / 2 = 31.25; O1 0.
  // score = (250/3 + 75 + 100/3 + 31.25 + 0) / 5 = (2675/12) / 5 = 535/12 = 44.58333...
  // (the mean of all ten answers would be 487.5 / 10 = 48.75: every respondent
  // weighs the same, not every answer).
  // manager = (250/3 + 75) / 2 = 475/6; rep = (100/3 + 31.25) / 2 = 775/24;
  // disagreement = 475/6 - 775/24 = 1125/24 = 46.875 >= 25: disagree.
  const auto& cr = Row(*q, "customer_retention");
  EXPECT_NEAR(cr.score, 535.0 / 12, kTol);
  EXPECT_NEAR(cr.manager_score, 475.0 / 6, kTol);
  EXPECT_NEAR(cr.rep_score, 775.0 / 24, kTol);
  EXPECT_NEAR(cr.disagreement, 46.875, kTol);
  EXPECT_TRUE(cr.disagree);
  EXPECT_EQ(cr.respondents, 5);
  EXPECT_EQ(cr.managers, 2);
  EXPECT_EQ(cr.reps, 2);
  EXPECT_EQ(cr.answers, 10);  // M1 3, M2 1, R1 3, R2 2, O1 1
  EXPECT_EQ(cr.dont_know, 1);

  // Qualifying: only O1 (another role), q2 = 2 -> 25. No manager or rep.
  const auto& qa = Row(*q, "qualifying_account_criteria");
  EXPECT_NEAR(qa.score, 25, kTol);
  ExpectNear(qa.manager_score, kNaN, "qa manager");
  ExpectNear(qa.rep_score, kNaN, "qa rep");
  ExpectNear(qa.disagreement, kNaN, "qa disagreement");
  EXPECT_FALSE(qa.disagree);
  EXPECT_EQ(qa.respondents, 1);
  EXPECT_EQ(qa.managers, 0);
  EXPECT_EQ(qa.reps, 0);

  // Account development: M2 75, R2 50: disagreement exactly 25, one step: disagree.
  const auto& ad = Row(*q, "account_development");
  EXPECT_NEAR(ad.score, 62.5, kTol);
  EXPECT_NEAR(ad.disagreement, 25, kTol);
  EXPECT_TRUE(ad.disagree);

  // Sales support: M1 75, R1 62.5: disagreement 12.5, below one step.
  const auto& ss = Row(*q, "sales_support");
  EXPECT_NEAR(ss.score, 68.75, kTol);
  EXPECT_NEAR(ss.disagreement, 12.5, kTol);
  EXPECT_FALSE(ss.disagree);

  // Downtime: M1 answered 1 to a reversed statement -> 100; R2 did not know.
  const auto& dt = Row(*q, "downtime");
  EXPECT_NEAR(dt.score, 100, kTol);
  EXPECT_NEAR(dt.manager_score, 100, kTol);
  ExpectNear(dt.rep_score, kNaN, "downtime rep");
  ExpectNear(dt.disagreement, kNaN, "downtime disagreement");
  EXPECT_FALSE(dt.disagree);
  EXPECT_EQ(dt.respondents, 1);
  EXPECT_EQ(dt.answers, 1);
  EXPECT_EQ(dt.dont_know, 1);

  // Sales metrics: reps only, 75 and 75.
  const auto& sm = Row(*q, "sales_metrics");
  EXPECT_NEAR(sm.score, 75, kTol);
  EXPECT_NEAR(sm.rep_score, 75, kTol);
  ExpectNear(sm.manager_score, kNaN, "sm manager");
  EXPECT_EQ(sm.reps, 2);

  // Nobody answered: NaN and zero counts.
  for (std::string_view id : {"advanced_sales_metrics", "non_productive_sales_reps",
                              "pipeline_management_and_forecasting"}) {
    const auto& r = Row(*q, id);
    ExpectNear(r.score, kNaN, std::string(id));
    ExpectNear(r.manager_score, kNaN, std::string(id));
    ExpectNear(r.rep_score, kNaN, std::string(id));
    EXPECT_FALSE(r.disagree);
    EXPECT_EQ(r.respondents, 0);
    EXPECT_EQ(r.answers, 0);
    EXPECT_EQ(r.dont_know, 0);
  }
}

TEST(ScoreAnswers, HandDerivedStatementRows) {
  absl::StatusOr<QuestionnaireScores> q = ScoreAnswers(Small(), ScoringAnswers());
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->statements.size(), SmallStatements().size());
  for (size_t i = 0; i < q->statements.size(); ++i) {
    EXPECT_EQ(q->statements[i].statement, SmallStatements()[i].id);
    EXPECT_EQ(q->statements[i].practice, SmallStatements()[i].practice);
  }
  // a1: 100, 75, 25, 62.5. mean 262.5 / 4 = 65.625; deviations 34.375, 9.375, -40.625,
  // -3.125, squares sum 2929.6875, / 3 = 976.5625, sd 31.25. Managers (100 + 75) / 2 =
  // 87.5, reps (25 + 62.5) / 2 = 43.75.
  const auto& a1 = q->statements[0];
  EXPECT_EQ(a1.n, 4);
  EXPECT_NEAR(a1.mean, 65.625, kTol);
  EXPECT_NEAR(a1.sd, 31.25, kTol);
  EXPECT_NEAR(a1.manager_mean, 87.5, kTol);
  EXPECT_NEAR(a1.rep_mean, 43.75, kTol);
  EXPECT_EQ(a1.dont_know, 0);
  // a2: 75 (M1), 50 (R1), 0 (O1); M2 don't know. mean 125/3; sum of squares about it
  // 5625 + 2500 - 3 (125/3)^2 = 8750/3, / 2 -> variance 4375/3.
  const auto& a2 = q->statements[1];
  EXPECT_EQ(a2.n, 3);
  EXPECT_NEAR(a2.mean, 125.0 / 3, kTol);
  EXPECT_NEAR(a2.sd, std::sqrt(4375.0 / 3), kTol);
  EXPECT_NEAR(a2.manager_mean, 75, kTol);
  EXPECT_NEAR(a2.rep_mean, 50, kTol);
  EXPECT_EQ(a2.dont_know, 1);
  // a3 (reversed): 75 (M1), 25 (R1), 0 (R2). mean 100/3; 5625 + 625 - 3 (100/3)^2 =
  // 8750/3, the same variance 4375/3. Reps (25 + 0) / 2 = 12.5.
  const auto& a3 = q->statements[2];
  EXPECT_EQ(a3.n, 3);
  EXPECT_NEAR(a3.mean, 100.0 / 3, kTol);
  EXPECT_NEAR(a3.sd, std::sqrt(4375.0 / 3), kTol);
  EXPECT_NEAR(a3.manager_mean, 75, kTol);
  EXPECT_NEAR(a3.rep_mean, 12.5, kTol);
  // q1 nobody; q2 one answer (sd NaN for n < 2), by another role.
  const auto& q1 = q->statements[3];
  EXPECT_EQ(q1.n, 0);
  ExpectNear(q1.mean, kNaN, "q1 mean");
  ExpectNear(q1.sd, kNaN, "q1 sd");
  const auto& q2 = q->statements[4];
  EXPECT_EQ(q2.n, 1);
  EXPECT_NEAR(q2.mean, 25, kTol);
  ExpectNear(q2.sd, kNaN, "q2 sd");
  ExpectNear(q2.manager_mean, kNaN, "q2 manager");
  ExpectNear(q2.rep_mean, kNaN, "q2 rep");
  // d1 (reversed): M1 100, R2 don't know.
  const auto& d1 = q->statements[7];
  EXPECT_EQ(d1.n, 1);
  EXPECT_NEAR(d1.mean, 100, kTol);
  EXPECT_EQ(d1.dont_know, 1);
  // s1: 75 and 75, sd 0.
  const auto& s1 = q->statements[8];
  EXPECT_EQ(s1.n, 2);
  EXPECT_NEAR(s1.sd, 0, kTol);
}

TEST(ScoreAnswers, OtherScalesAndEmptyAnswers) {
  // Scale 0..6 with a reversed statement: 3 -> 50, reversed 50; 6 -> 100, reversed 0.
  absl::StatusOr<Instrument> in = ParseInstrument(SmallToml("name = \"S\"\nversion = \"1\"\nscale = [0, 6]\n"));
  ASSERT_TRUE(in.ok());
  Answers a{{"x", "x", "x"}, {"rep", "rep", "rep"}, {"a1", "a3", "d1"}, {3, 6, 1.5}};
  absl::StatusOr<QuestionnaireScores> q = ScoreAnswers(*in, a);
  ASSERT_TRUE(q.ok()) << q.status();
  // customer_retention: (50 + 0) / 2 = 25; downtime: d1 reversed, 1.5 -> 25 -> 75.
  EXPECT_NEAR(Row(*q, "customer_retention").score, 25, kTol);
  EXPECT_NEAR(Row(*q, "downtime").score, 75, kTol);
  // No answers at all: every score NaN, one row per practice and statement.
  absl::StatusOr<QuestionnaireScores> none = ScoreAnswers(*in, Answers{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->respondents, 0);
  EXPECT_EQ(none->practices.size(), 9u);
  EXPECT_EQ(none->statements.size(), SmallStatements().size());
  for (const auto& r : none->practices) ExpectNear(r.score, kNaN, r.practice);
  // A respondent with only don't-knows counts in `respondents` but in no practice.
  absl::StatusOr<QuestionnaireScores> dk = ScoreAnswers(*in, Answers{{"y"}, {"rep"}, {"a1"}, {kNaN}});
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(dk->respondents, 1);
  EXPECT_EQ(Row(*dk, "customer_retention").respondents, 0);
  EXPECT_EQ(Row(*dk, "customer_retention").dont_know, 1);
}

void ExpectRowError(const absl::StatusOr<QuestionnaireScores>& q, int64_t row, std::string_view column,
                    std::string_view needle) {
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string expected_prefix = "answers row " + std::to_string(row) + ", column '" + std::string(column) + "'";
  EXPECT_TRUE(Contains(q.status(), expected_prefix)) << q.status();
  EXPECT_TRUE(Contains(q.status(), needle)) << q.status();
  auto r = q.status().GetPayload(std::string(kRowPayload));
  auto c = q.status().GetPayload(std::string(kColumnPayload));
  ASSERT_TRUE(r.has_value() && c.has_value());
  EXPECT_EQ(std::string(*r), std::to_string(row));
  EXPECT_EQ(std::string(*c), column);
}

TEST(ScoreAnswers, ErrorsNameTheRowAndColumn) {
  const Instrument in = Small();
  Answers base = ScoringAnswers();
  {
    Answers a = base;
    a.role.pop_back();  // 19 roles for 20 rows
    ExpectRowError(ScoreAnswers(in, a), 19, "role", "'role' has 19 rows, 'respondent' has 20");
  }
  {
    Answers a = base;
    a.value.push_back(3);
    ExpectRowError(ScoreAnswers(in, a), 20, "value", "'value' has 21 rows");
  }
  {
    Answers a = base;
    a.respondent[3] = "";
    ExpectRowError(ScoreAnswers(in, a), 3, "respondent", "empty");
  }
  {
    Answers a = base;
    a.statement[6] = "zz9";
    ExpectRowError(ScoreAnswers(in, a), 6, "statement", "statement 'zz9' is not in the instrument");
  }
  for (double bad : {0.0, 5.5, std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    Answers a = base;
    a.value[9] = bad;
    ExpectRowError(ScoreAnswers(in, a), 9, "value", "off the scale [1, 5]");
  }
  {
    Answers a = base;
    a.statement[10] = "a1";  // R1 already answered a1 in row 8
    ExpectRowError(ScoreAnswers(in, a), 10, "statement", "respondent 'R1' answers statement 'a1' twice (rows 8 and 10)");
  }
  {
    Answers a = base;
    a.value[6] = 3;  // M2's a2 no longer a don't-know ...
    a.statement[7] = "a2";  // ... and answered again as a don't-know: still twice
    a.value[7] = kNaN;
    ExpectRowError(ScoreAnswers(in, a), 7, "statement", "twice (rows 6 and 7)");
  }
  {
    Answers a = base;
    a.role[11] = "manager";  // R1 was a rep in row 8
    ExpectRowError(ScoreAnswers(in, a), 11, "role", "respondent 'R1' has role 'manager' here but 'rep' in row 8");
  }
}

TEST(ScoreAnswers, RejectsAnInvalidHandBuiltInstrument) {
  Instrument in = Small();
  in.scale_max = 1;
  EXPECT_ERROR(ScoreAnswers(in, Answers{}), absl::StatusCode::kInvalidArgument, "scale");
  in = Small();
  in.statements[0].practice = "nope";
  EXPECT_ERROR(ScoreAnswers(in, Answers{}), absl::StatusCode::kInvalidArgument, "statement 'a1'");
}

// ---- Attribution and the assessment ------------------------------------------------

// Stages Lead(0), Qualified(1), Proposal(2), Negotiation(3), then Won, Lost; units ann,
// bob, cy. Options: qualification stage default (the second open stage, Qualified),
// support stage Proposal, cy non-productive.
//   row unit stage       adv lost disq stall shrunk$  rule -> practice
//   0   ann Lead          .   .    .    .    1000     3: stage below Qualified -> qualifying 1000
//   1   ann Qualified     .   4    2    1    1400     4: lost 4 of which 1 "(stalled)":
//                                                       pipeline 1 + 1 = 2, qualifying 2,
//                                                       advanced metrics 3; of 7:
//                                                       pipeline 400, qualifying 400, adv 600
//   2   ann Proposal      .   .    .    .     500     2: support -> sales_support 500
//   3   ann Negotiation   .   .    .    .    -200     surplus: nothing
//   4   bob Lead          .   .    .    .     NaN     nothing
//   5   bob Qualified     5   0    0    0     300     4: no failed trial -> adv 300
//   6   bob Proposal      .   .    .    .       0     nothing
//   7   bob Negotiation   .   1    1    0     800     4: the disqualified one is "(stalled)"
//                                                       (listed as a disqualification):
//                                                       pipeline 1, adv 1 of 2: 400, 400
//   8   cy  Lead          .   .    .    .     700     1: non-productive (before rule 3) -> np 700
//   9   cy  Qualified     .   .    .    .       0     nothing
//   10  cy  Proposal      .   .    .    .     250     1: before rule 2 -> np 250
//   11  cy  Negotiation   .   3    .    .      50     1: -> np 50
// Totals: qualifying 1000 + 400 = 1400 (2 rows); advanced metrics 600 + 300 + 400 =
// 1300 (3); non-productive 700 + 250 + 50 = 1000 (3); pipeline 400 + 400 = 800 (2);
// support 500 (1). Sum 5000 = 1000 + 1400 + 500 + 300 + 800 + 700 + 250 + 50.
// Ranks: qualifying 1, advanced 2, non-productive 3, pipeline 4, support 5, then the
// zeros in kPracticeIds order: customer_retention 6, account_development 7, downtime 8,
// sales_metrics 9.
LeakAssessment HandLeaks() {
  LeakAssessment a;
  a.stage_names = {"Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"};
  a.num_open = 4;
  a.unit_names = {"ann", "bob", "cy"};
  struct R {
    int32_t unit, stage;
    int64_t advanced, lost, disqualified, stalled;
    double shrunk;
  };
  const R rows[] = {{0, 0, 3, 2, 0, 0, 1000}, {0, 1, 0, 4, 2, 1, 1400}, {0, 2, 1, 1, 0, 0, 500},
                    {0, 3, 9, 0, 0, 0, -200}, {1, 0, 1, 1, 1, 1, kNaN},  {1, 1, 5, 0, 0, 0, 300},
                    {1, 2, 2, 0, 0, 0, 0},    {1, 3, 0, 1, 1, 0, 800},   {2, 0, 0, 2, 2, 2, 700},
                    {2, 1, 0, 0, 0, 0, 0},    {2, 2, 0, 1, 0, 0, 250},   {2, 3, 0, 3, 0, 0, 50}};
  for (const R& r : rows) {
    a.rows.unit.push_back(r.unit);
    a.rows.stage.push_back(r.stage);
    a.rows.advanced.push_back(r.advanced);
    a.rows.lost.push_back(r.lost);
    a.rows.disqualified.push_back(r.disqualified);
    a.rows.stalled.push_back(r.stalled);
    a.rows.shrunk_dollars.push_back(r.shrunk);
  }
  // Reasons (long form): ann/Qualified lost 3 "Price" + 1 "(stalled)", disqualified 2
  // "No budget"; bob/Negotiation lost 1 "Price", disqualified 1 "(stalled)".
  a.reasons = {{0, 0, "Price", false, 2},      {0, 1, "Price", false, 3}, {0, 1, "(stalled)", false, 1},
               {0, 1, "No budget", true, 2},   {1, 3, "Price", false, 1}, {1, 3, "(stalled)", true, 1},
               {2, 3, "Price", false, 3}};
  return a;
}

AttributionOptions HandOptions() {
  AttributionOptions o;
  o.support_stages = {"Proposal"};
  o.non_productive_units = {"cy", "dora"};  // dora has no leak row: nothing to move
  return o;
}

std::vector<PracticeSignal> HandSignals() {
  auto speak = [](std::string practice, std::string signal, double score) {
    PracticeSignal s;
    s.practice = std::move(practice);
    s.signal = std::move(signal);
    s.speaks = true;
    s.value = score / 100;
    s.score = score;
    s.cases = 20;
    return s;
  };
  auto mute = [](std::string practice, std::string signal) {
    PracticeSignal s;
    s.practice = std::move(practice);
    s.signal = std::move(signal);
    s.speaks = false;
    s.value = kNaN;
    s.score = kNaN;
    s.reason = "too few cases";
    return s;
  };
  return {speak("customer_retention", "retained_customers", 60),
          speak("qualifying_account_criteria", "qualification_consistency", 80),
          speak("qualifying_account_criteria", "late_losses", 40),
          mute("downtime", "no_day_off_stretches"),
          mute("downtime", "no_vacation"),
          speak("pipeline_management_and_forecasting", "stalled_share", 90)};
}

const PracticeAssessment::PracticeRow& ARow(const PracticeAssessment& a, std::string_view practice) {
  for (const auto& r : a.practices) {
    if (r.practice == practice) return r;
  }
  ADD_FAILURE() << "no row for " << practice;
  return a.practices.front();
}

TEST(AssessPractices, AttributionRulesDollarsAndRanks) {
  const Instrument in = Small();
  const std::vector<PracticeSignal> signals = HandSignals();
  absl::StatusOr<PracticeAssessment> a = AssessPractices(in, nullptr, signals, HandLeaks(), HandOptions());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->practices.size(), 9u);
  struct Expect {
    std::string_view practice;
    double dollars;
    int64_t rows;
    int32_t rank;
  };
  const Expect expected[] = {{"customer_retention", 0, 0, 6},
                             {"qualifying_account_criteria", 1400, 2, 1},
                             {"account_development", 0, 0, 7},
                             {"sales_support", 500, 1, 5},
                             {"downtime", 0, 0, 8},
                             {"sales_metrics", 0, 0, 9},
                             {"advanced_sales_metrics", 1300, 3, 2},
                             {"non_productive_sales_reps", 1000, 3, 3},
                             {"pipeline_management_and_forecasting", 800, 2, 4}};
  double sum = 0;
  for (size_t p = 0; p < 9; ++p) {
    const auto& r = a->practices[p];
    EXPECT_EQ(r.practice, expected[p].practice);
    EXPECT_EQ(r.name, "Name of " + std::string(expected[p].practice));
    EXPECT_NEAR(r.leak_dollars, expected[p].dollars, kTol) << r.practice;
    EXPECT_EQ(r.leak_rows, expected[p].rows) << r.practice;
    EXPECT_EQ(r.rank, expected[p].rank) << r.practice;
    sum += r.leak_dollars;
  }
  EXPECT_NEAR(a->attributed_dollars, 5000, kTol);
  EXPECT_NEAR(sum, a->attributed_dollars, kTol);

  // The attributed leaks, by leak row, then practice in kPracticeIds order.
  struct L {
    int32_t unit, stage;
    std::string_view practice;
    double dollars;
  };
  const L leaks[] = {{0, 0, "qualifying_account_criteria", 1000},
                     {0, 1, "qualifying_account_criteria", 400},
                     {0, 1, "advanced_sales_metrics", 600},
                     {0, 1, "pipeline_management_and_forecasting", 400},
                     {0, 2, "sales_support", 500},
                     {1, 1, "advanced_sales_metrics", 300},
                     {1, 3, "advanced_sales_metrics", 400},
                     {1, 3, "pipeline_management_and_forecasting", 400},
                     {2, 0, "non_productive_sales_reps", 700},
                     {2, 2, "non_productive_sales_reps", 250},
                     {2, 3, "non_productive_sales_reps", 50}};
  ASSERT_EQ(a->leaks.size(), std::size(leaks));
  for (size_t i = 0; i < std::size(leaks); ++i) {
    EXPECT_EQ(a->leaks[i].unit, leaks[i].unit) << i;
    EXPECT_EQ(a->leaks[i].stage, leaks[i].stage) << i;
    EXPECT_EQ(a->leaks[i].practice, leaks[i].practice) << i;
    EXPECT_NEAR(a->leaks[i].dollars, leaks[i].dollars, kTol) << i;
  }
}

TEST(AssessPractices, ScoresWithoutQuestionnaire) {
  absl::StatusOr<PracticeAssessment> a =
      AssessPractices(Small(), nullptr, HandSignals(), HandLeaks(), HandOptions());
  ASSERT_TRUE(a.ok()) << a.status();
  // Data scores: retention 60; qualifying (80 + 40) / 2 = 60; downtime's signals do not
  // speak: NaN; pipeline 90. With no questionnaire the score is the data score.
  ExpectNear(ARow(*a, "customer_retention").questionnaire_score, kNaN, "cr q");
  EXPECT_NEAR(ARow(*a, "customer_retention").data_score, 60, kTol);
  EXPECT_NEAR(ARow(*a, "customer_retention").score, 60, kTol);
  EXPECT_NEAR(ARow(*a, "qualifying_account_criteria").data_score, 60, kTol);
  ExpectNear(ARow(*a, "downtime").data_score, kNaN, "downtime data");
  ExpectNear(ARow(*a, "downtime").score, kNaN, "downtime score");
  EXPECT_NEAR(ARow(*a, "pipeline_management_and_forecasting").score, 90, kTol);
  // Best practices: unanswered everywhere, so by rank, then instrument order.
  std::vector<std::string> order;
  for (const auto& b : a->best_practices) {
    order.push_back(b.statement);
    ExpectNear(b.statement_points, kNaN, b.statement);
  }
  const std::vector<std::string> expected = {"q1", "q2", "am1", "np1", "pm1", "ss1",
                                             "a1", "a2", "a3", "ad1", "d1", "s1"};
  EXPECT_EQ(order, expected);
}

TEST(AssessPractices, QuestionnaireCombinedScoresAndBestPracticeOrder) {
  const Instrument in = Small();
  absl::StatusOr<QuestionnaireScores> q = ScoreAnswers(in, ScoringAnswers());
  ASSERT_TRUE(q.ok());
  absl::StatusOr<PracticeAssessment> a = AssessPractices(in, &*q, HandSignals(), HandLeaks(), HandOptions());
  ASSERT_TRUE(a.ok()) << a.status();
  // Retention: questionnaire 535/12, data 60: score (535/12 + 720/12) / 2 = 1255/24.
  const auto& cr = ARow(*a, "customer_retention");
  EXPECT_NEAR(cr.questionnaire_score, 535.0 / 12, kTol);
  EXPECT_NEAR(cr.score, 1255.0 / 24, kTol);
  // Qualifying: questionnaire 25 (O1), data 60: 42.5.
  EXPECT_NEAR(ARow(*a, "qualifying_account_criteria").score, 42.5, kTol);
  // Downtime: questionnaire 100, no data: 100. Account development: 62.5, no data.
  EXPECT_NEAR(ARow(*a, "downtime").score, 100, kTol);
  EXPECT_NEAR(ARow(*a, "account_development").score, 62.5, kTol);
  // Advanced metrics: neither: NaN.
  ExpectNear(ARow(*a, "advanced_sales_metrics").score, kNaN, "asm");

  // Best practices by the practice's dollars at stake (rank), then the statement's
  // mean points, lowest first, unanswered last:
  //   qualifying (1400): q2 25, q1 unanswered; advanced (1300): am1; non-productive
  //   (1000): np1; pipeline (800): pm1; support (500): ss1 68.75; then the zero-dollar
  //   practices in kPracticeIds order: retention a3 33.33 < a2 41.67 < a1 65.625;
  //   account development ad1 62.5; downtime d1 100; sales metrics s1 75.
  struct B {
    std::string_view statement, practice;
    double points, dollars;
  };
  const B expected[] = {{"q2", "qualifying_account_criteria", 25, 1400},
                        {"q1", "qualifying_account_criteria", kNaN, 1400},
                        {"am1", "advanced_sales_metrics", kNaN, 1300},
                        {"np1", "non_productive_sales_reps", kNaN, 1000},
                        {"pm1", "pipeline_management_and_forecasting", kNaN, 800},
                        {"ss1", "sales_support", 68.75, 500},
                        {"a3", "customer_retention", 100.0 / 3, 0},
                        {"a2", "customer_retention", 125.0 / 3, 0},
                        {"a1", "customer_retention", 65.625, 0},
                        {"ad1", "account_development", 62.5, 0},
                        {"d1", "downtime", 100, 0},
                        {"s1", "sales_metrics", 75, 0}};
  ASSERT_EQ(a->best_practices.size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    const auto& b = a->best_practices[i];
    EXPECT_EQ(b.statement, expected[i].statement) << i;
    EXPECT_EQ(b.practice, expected[i].practice) << i;
    EXPECT_EQ(b.text, "Do " + std::string(expected[i].statement)) << i;
    ExpectNear(b.statement_points, expected[i].points, b.statement);
    EXPECT_NEAR(b.dollars_at_stake, expected[i].dollars, kTol) << i;
  }
}

TEST(AssessPractices, QualificationStageOption) {
  // Qualification at Proposal: ann/Qualified (row 1) is now below it -> qualifying
  // 1400 whole; bob/Qualified (row 5) too -> qualifying 300. Proposal is still support
  // (rule 2 before rule 3 does not matter here: Proposal is not below itself).
  // Qualifying: 1000 + 1400 + 300 = 2700 (3 rows); advanced: 400 (row 7); pipeline 400.
  AttributionOptions o = HandOptions();
  o.qualification_stage = "Proposal";
  absl::StatusOr<PracticeAssessment> a = AssessPractices(Small(), nullptr, {}, HandLeaks(), o);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_NEAR(ARow(*a, "qualifying_account_criteria").leak_dollars, 2700, kTol);
  EXPECT_EQ(ARow(*a, "qualifying_account_criteria").leak_rows, 3);
  EXPECT_NEAR(ARow(*a, "advanced_sales_metrics").leak_dollars, 400, kTol);
  EXPECT_NEAR(ARow(*a, "pipeline_management_and_forecasting").leak_dollars, 400, kTol);
  EXPECT_NEAR(ARow(*a, "sales_support").leak_dollars, 500, kTol);
  EXPECT_NEAR(a->attributed_dollars, 5000, kTol);
  // No data at all: every data score NaN.
  for (const auto& r : a->practices) ExpectNear(r.data_score, kNaN, r.practice);

  // Qualification at Lead, no support stage, nobody non-productive: rule 4 for all.
  //   row 0 ann/Lead lost 2 "Price": adv 1000; row 1 as before: 400 / 400 / 600;
  //   row 2 ann/Proposal lost 1: adv 500; row 5: adv 300; row 7: 400 / 400;
  //   row 8 cy/Lead lost 2 (reasons list none for it: all "other"), disq 2, stalled 2:
  //   of 6: pipeline 2/6, qualifying 2/6, adv 2/6 of 700; row 10 cy/Proposal lost 1:
  //   adv 250; row 11 cy/Negotiation lost 3: adv 50.
  //   qualifying = 400 + 700/3; pipeline = 400 + 400 + 700/3; adv = 1000 + 600 + 500 +
  //   300 + 400 + 700/3 + 250 + 50 = 3100 + 700/3.
  AttributionOptions plain;
  plain.qualification_stage = "Lead";
  a = AssessPractices(Small(), nullptr, {}, HandLeaks(), plain);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_NEAR(ARow(*a, "qualifying_account_criteria").leak_dollars, 400 + 700.0 / 3, kTol);
  EXPECT_NEAR(ARow(*a, "pipeline_management_and_forecasting").leak_dollars, 800 + 700.0 / 3, kTol);
  EXPECT_NEAR(ARow(*a, "advanced_sales_metrics").leak_dollars, 3100 + 700.0 / 3, kTol);
  EXPECT_EQ(ARow(*a, "advanced_sales_metrics").rank, 1);
  EXPECT_EQ(ARow(*a, "pipeline_management_and_forecasting").rank, 2);
  EXPECT_EQ(ARow(*a, "qualifying_account_criteria").rank, 3);
  EXPECT_EQ(ARow(*a, "sales_support").leak_rows, 0);
  double sum = 0;
  for (const auto& r : a->practices) sum += r.leak_dollars;
  EXPECT_NEAR(sum, 5000, 1e-6);
  EXPECT_NEAR(a->attributed_dollars, 5000, kTol);
}

TEST(AssessPractices, Errors) {
  const Instrument in = Small();
  AttributionOptions o = HandOptions();
  o.qualification_stage = "Closing";
  EXPECT_ERROR(AssessPractices(in, nullptr, {}, HandLeaks(), o), absl::StatusCode::kInvalidArgument,
               "qualification_stage: 'Closing' is not an open stage");
  o = HandOptions();
  o.support_stages = {"Proposal", "Won"};  // Won is a stage, but not an open one
  EXPECT_ERROR(AssessPractices(in, nullptr, {}, HandLeaks(), o), absl::StatusCode::kInvalidArgument,
               "support_stages: 'Won' is not an open stage");
  std::vector<PracticeSignal> signals = HandSignals();
  signals[2].practice = "golf";
  EXPECT_ERROR(AssessPractices(in, nullptr, signals, HandLeaks(), HandOptions()),
               absl::StatusCode::kInvalidArgument, "signals[2] ('late_losses'): unknown practice 'golf'");
  LeakAssessment bad = HandLeaks();
  bad.rows.stalled.pop_back();
  EXPECT_ERROR(AssessPractices(in, nullptr, {}, bad, HandOptions()), absl::StatusCode::kInvalidArgument,
               "rows.stalled has 11 entries");
  bad = HandLeaks();
  bad.rows.stage[4] = 4;  // Won: not an open stage
  EXPECT_ERROR(AssessPractices(in, nullptr, {}, bad, HandOptions()), absl::StatusCode::kInvalidArgument,
               "leaks: row 4");
}

}  // namespace
}  // namespace salesperf
