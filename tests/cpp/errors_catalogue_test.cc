// The C++-only kinds of docs/errors.md: bad input that the Python package cannot
// produce (it builds these structures itself), so the catalogue's Python test cannot
// trigger them. Each case below carries its catalogue id, absl code and documented
// message verbatim (tests/python/test_errors_catalogue.py checks that these three
// match the catalogue, and that every C++-only catalogue id has a case here); this
// test checks that the library returns exactly that.
#include <cstdint>
#include <functional>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "salesperf/event_log.h"
#include "salesperf/practices.h"
#include "salesperf/vocabulary.h"

namespace salesperf {
namespace {

// The documented message as a pattern anchored at the start: "<name>" (lower-case
// letters, '_' and ' ' between angle brackets) matches any non-empty text, everything
// else itself; the real message may go on after it. (Matched by hand: GCC 12 warns
// about std::regex under -O2 with the sanitizers, and warnings are errors.)
std::vector<std::string> Literals(std::string_view documented) {
  std::vector<std::string> out(1);
  for (size_t k = 0; k < documented.size();) {
    if (documented[k] == '<') {
      size_t e = k + 1;
      while (e < documented.size() && (std::islower(static_cast<unsigned char>(documented[e])) ||
                                       documented[e] == '_' || documented[e] == ' ')) {
        ++e;
      }
      if (e < documented.size() && e > k + 1 && documented[e] == '>') {
        out.emplace_back();  // a placeholder ends one literal and starts the next
        k = e + 1;
        continue;
      }
    }
    out.back() += documented[k++];
  }
  return out;
}

// Whether message[at..] matches literals[i..], each literal after the first preceded by
// a placeholder of at least one character.
bool MatchFrom(std::string_view message, size_t at, const std::vector<std::string>& literals, size_t i) {
  if (i == literals.size()) return true;
  const std::string& lit = literals[i];
  if (i == 0) return message.substr(0, lit.size()) == lit && MatchFrom(message, lit.size(), literals, 1);
  for (size_t start = at + 1; start + lit.size() <= message.size(); ++start) {
    if (message.compare(start, lit.size(), lit) == 0 && MatchFrom(message, start + lit.size(), literals, i + 1)) {
      return true;
    }
  }
  return false;
}

bool MatchesDocumented(std::string_view message, std::string_view documented) {
  return MatchFrom(message, 0, Literals(documented), 0);
}

TEST(MessageRegexTest, PlaceholdersMatchTextLiteralsMatchThemselves) {
  EXPECT_TRUE(MatchesDocumented("column 'rep': has 3 rows, but 'time' has 4", "column '<column>': has <n> rows"));
  EXPECT_TRUE(MatchesDocumented("a (b) [c] 1.5", "a (b) [c] <x>"));
  EXPECT_FALSE(MatchesDocumented("a (b) [c]", "a (b) [c] <x>"));      // a placeholder needs text
  EXPECT_FALSE(MatchesDocumented("column 'rep': has", "column 'deal': <x>"));
  EXPECT_FALSE(MatchesDocumented("x column 'rep': y", "column '<c>': <x>"));  // anchored at the start
  EXPECT_FALSE(MatchesDocumented("ab", "a.b"));                       // '.' is literal
  EXPECT_TRUE(MatchesDocumented("row 1 b 2 b done", "row <r> b <s> done"));  // backtracks
  EXPECT_TRUE(MatchesDocumented("a <> b <X> c", "a <> b <X> <y>"));   // not placeholders: literal
  EXPECT_FALSE(MatchesDocumented("a b", "a <> b"));
}

// ---- the cases ---------------------------------------------------------------

Vocabulary Vocab() {
  Vocabulary v;
  EXPECT_TRUE(v.Add("reply", Actor::kBuyer).ok());
  return v;
}

// Three good rows over two integer deals; each case breaks one thing.
struct Rows {
  std::vector<int64_t> deal = {1, 1, 2};
  std::vector<int64_t> time = {100, 200, 300};
  std::vector<int64_t> action = {0, 0, 0};
  std::vector<std::string> action_labels = {"reply"};
  EventColumns Columns() const {
    EventColumns c;
    c.deal = IdColumn::Integers(deal);
    c.time = time;
    c.action = IdColumn::Coded(action, action_labels);
    return c;
  }
};

absl::Status IngestStatus(const EventColumns& c) { return Ingest(c, Vocab()).status(); }

struct Kind {
  const char* id;
  absl::StatusCode code;
  const char* message;  // as documented in docs/errors.md
  std::function<absl::Status()> run;
};

const std::vector<Kind>& Kinds() {
  static const auto* kinds = new std::vector<Kind>{
      Kind{"E95", absl::StatusCode::kInvalidArgument, R"(column '<column>': has <n> rows, but 'time' has <n>)",
           [] {
             // A rep column of 2 rows beside 3 times: 2 != 3.
             Rows r;
             const std::vector<int64_t> rep = {7, 8};
             EventColumns c = r.Columns();
             c.rep = IdColumn::Integers(rep);
             absl::Status s = IngestStatus(c);
             EXPECT_EQ(s.message(), "column 'rep': has 2 rows, but 'time' has 3");
             return s;
           }},
      Kind{"E96", absl::StatusCode::kInvalidArgument, R"(column '<column>': has labels but is not marked as coded)",
           [] {
             Rows r;
             const std::vector<int64_t> codes = {0, 0, 1};
             const std::vector<std::string> labels = {"a", "b"};
             EventColumns c = r.Columns();
             c.account = IdColumn{codes, {}, labels, false};
             absl::Status s = IngestStatus(c);
             EXPECT_EQ(s.message(), "column 'account': has labels but is not marked as coded");
             return s;
           }},
      Kind{"E97", absl::StatusCode::kInvalidArgument, R"(column 'time': flags have <n> rows, not <n>)",
           [] {
             Rows r;
             const std::vector<uint8_t> flags = {0, 0, 0, 0};  // 4 flags for 3 times
             EventColumns c = r.Columns();
             c.time_flags = flags;
             absl::Status s = IngestStatus(c);
             EXPECT_EQ(s.message(), "column 'time': flags have 4 rows, not 3");
             return s;
           }},
      Kind{"E98", absl::StatusCode::kInvalidArgument,
           R"(answers row <row>, column '<column>': the columns differ in length)",
           [] {
             absl::StatusOr<Instrument> in = DefaultInstrument();
             EXPECT_TRUE(in.ok());
             Answers a;
             a.respondent = {"m1", "r1"};
             a.role = {"manager"};  // one role for two respondents
             a.statement = {"cr1", "cr1"};
             a.value = {5, 2};
             absl::Status s = ScoreAnswers(*in, a).status();
             // The first row the short column lacks is row 1 (it has rows 0 .. 0).
             EXPECT_EQ(s.GetPayload("salesperf.row").value_or(absl::Cord("none")), absl::Cord("1"));
             EXPECT_EQ(s.GetPayload("salesperf.column").value_or(absl::Cord("none")), absl::Cord("role"));
             return s;
           }},
      Kind{"E99", absl::StatusCode::kInvalidArgument, R"(instrument: scale min (<min>) must be below max (<max>))",
           [] {
             absl::StatusOr<Instrument> in = DefaultInstrument();
             EXPECT_TRUE(in.ok());
             Instrument bad = *in;
             bad.scale_min = 5;
             bad.scale_max = 5;  // an empty scale: every answer would be 0/0 points
             Answers a;
             a.respondent = {"m1"};
             a.role = {"manager"};
             a.statement = {"cr1"};
             a.value = {5};
             absl::Status s = ScoreAnswers(bad, a).status();
             EXPECT_EQ(s.message(), "instrument: scale min (5) must be below max (5)");
             return s;
           }},
  };
  return *kinds;
}

class CatalogueTest : public ::testing::TestWithParam<size_t> {};

TEST_P(CatalogueTest, ReturnsTheDocumentedCodeAndMessage) {
  const Kind& kind = Kinds()[GetParam()];
  SCOPED_TRACE(kind.id);
  const absl::Status s = kind.run();
  EXPECT_EQ(s.code(), kind.code) << s;
  EXPECT_TRUE(MatchesDocumented(std::string(s.message()), kind.message))
      << "message '" << s.message() << "' does not match the documented '" << kind.message << "'";
}

INSTANTIATE_TEST_SUITE_P(Kinds, CatalogueTest, ::testing::Range<size_t>(0, 5),
                         [](const ::testing::TestParamInfo<size_t>& param) {
                           return std::string(Kinds()[param.param].id);
                         });

TEST(CatalogueTest, EveryKindIsInstantiated) { EXPECT_EQ(Kinds().size(), 5u); }

// The same bad inputs with their fault repaired are accepted: the cases above fail
// for the reason documented, not for another.
TEST(CatalogueTest, RepairedInputsAreAccepted) {
  Rows r;
  const std::vector<int64_t> rep = {7, 8, 9};
  const std::vector<uint8_t> flags = {0, 0, 0};
  EventColumns c = r.Columns();
  c.rep = IdColumn::Integers(rep);
  c.time_flags = flags;
  absl::StatusOr<Ingested> out = Ingest(c, Vocab());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->report.rows_in, 3);
  EXPECT_EQ(out->report.rows_accepted, 3);

  absl::StatusOr<Instrument> in = DefaultInstrument();
  ASSERT_TRUE(in.ok());
  Answers a;
  a.respondent = {"m1", "r1"};
  a.role = {"manager", "rep"};
  a.statement = {"cr1", "cr1"};
  a.value = {5, 2};
  EXPECT_TRUE(ScoreAnswers(*in, a).ok());
}

}  // namespace
}  // namespace salesperf
