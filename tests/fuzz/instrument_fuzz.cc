// Fuzz target: the survey instrument reader (ParseInstrument, TOML and JSON, and a
// format name it does not know) and the scoring of answers against an instrument.
//
// Input: one mode byte (bits 0-1: format "toml", "json", "yaml" (an error), or a format
// name drawn from the tail; bit 2: score answers drawn from the tail), a 2-byte
// little-endian length L, L bytes of text (fewer when the input ends first), the tail.
// A parsed instrument must hold the nine practices in kPracticeIds order, a scale with
// min < max, at least one statement per practice with a known practice id and unique
// ids. Scores must be NaN or within [0, 100], and counts add up.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "salesperf/practices.h"

namespace salesperf::fuzz {
namespace instrument_fuzz {

inline void CheckInstrument(const Instrument& in) {
  SP_FUZZ_CHECK(!in.name.empty() && !in.version.empty(), "instrument name or version empty");
  SP_FUZZ_CHECK(in.scale_min < in.scale_max, "scale");
  SP_FUZZ_CHECK(in.practices.size() == kNumPractices, "practice count");
  for (int i = 0; i < kNumPractices; ++i) SP_FUZZ_CHECK(in.practices[i].id == kPracticeIds[i], "practice order");
  std::set<std::string> ids;
  std::set<std::string> practices_with_statement;
  for (const Statement& s : in.statements) {
    SP_FUZZ_CHECK(!s.id.empty() && !s.text.empty() && !s.best_practice.empty(), "empty statement field");
    SP_FUZZ_CHECK(ids.insert(s.id).second, "statement id repeated: " + s.id);
    bool known = false;
    for (std::string_view id : kPracticeIds) known = known || id == s.practice;
    SP_FUZZ_CHECK(known, "statement of an unknown practice: " + s.practice);
    practices_with_statement.insert(s.practice);
  }
  SP_FUZZ_CHECK(practices_with_statement.size() == kNumPractices, "a practice without a statement");
}

inline bool PointsOk(double v) { return std::isnan(v) || (v >= -1e-9 && v <= 100 + 1e-9); }

inline void Score(FuzzedDataProvider& p, const Instrument& in) {
  static const std::vector<std::string> kPeople = {"ana", "bo", "cy", "", "ANA"};
  static const std::vector<std::string> kRoles = {"manager", "rep", "Manager", "REP", "other", ""};
  Answers a;
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 40);
  for (size_t i = 0; i < n; ++i) {
    a.respondent.push_back(kPeople[p.ConsumeIntegralInRange<size_t>(0, kPeople.size() - 1)]);
    a.role.push_back(kRoles[p.ConsumeIntegralInRange<size_t>(0, kRoles.size() - 1)]);
    if (!in.statements.empty() && p.ConsumeIntegralInRange<int>(0, 15) != 0) {
      a.statement.push_back(in.statements[p.ConsumeIntegralInRange<size_t>(0, in.statements.size() - 1)].id);
    } else {
      a.statement.push_back(p.ConsumeRandomLengthString(6));
    }
    a.value.push_back(p.ConsumeBool() ? static_cast<double>(p.ConsumeIntegralInRange<int>(in.scale_min, in.scale_max))
                                      : InterestingDouble(p));
  }
  // Columns of different lengths, now and then.
  if (p.ConsumeIntegralInRange<int>(0, 31) == 0 && n > 0) a.value.pop_back();
  absl::StatusOr<QuestionnaireScores> q = ScoreAnswers(in, a);
  if (!q.ok()) {
    CheckCleanError(q.status(), "ScoreAnswers");
    return;
  }
  SP_FUZZ_CHECK(q->practices.size() == kNumPractices, "practice rows");
  SP_FUZZ_CHECK(q->statements.size() == in.statements.size(), "statement rows");
  SP_FUZZ_CHECK(q->respondents >= 0 && q->respondents <= static_cast<int64_t>(n), "respondents");
  int64_t answered = 0;
  for (const auto& r : q->practices) {
    SP_FUZZ_CHECK(PointsOk(r.score) && PointsOk(r.manager_score) && PointsOk(r.rep_score), "practice score range");
    SP_FUZZ_CHECK(std::isnan(r.disagreement) || std::fabs(r.disagreement) <= 100 + 1e-9, "disagreement range");
    SP_FUZZ_CHECK(r.managers + r.reps <= r.respondents && r.respondents <= q->respondents, "respondent counts");
    SP_FUZZ_CHECK(r.answers >= 0 && r.dont_know >= 0, "answer counts");
    answered += r.answers + r.dont_know;
  }
  SP_FUZZ_CHECK(answered == static_cast<int64_t>(n), "every answer is counted once (answers + don't know)");
  for (const auto& s : q->statements) {
    SP_FUZZ_CHECK(PointsOk(s.mean) && PointsOk(s.manager_mean) && PointsOk(s.rep_mean), "statement mean range");
    SP_FUZZ_CHECK(std::isnan(s.sd) || s.sd >= 0, "sd");
  }
}

inline int Run(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const size_t len = std::min<size_t>(size - 3, static_cast<size_t>(data[1]) | static_cast<size_t>(data[2]) << 8);
  const std::string text(reinterpret_cast<const char*>(data + 3), len);
  FuzzedDataProvider p(data + 3 + len, size - 3 - len);
  std::string format;
  switch (mode & 3) {
    case 0: format = "toml"; break;
    case 1: format = "json"; break;
    case 2: format = "yaml"; break;
    default: format = p.ConsumeRandomLengthString(6); break;
  }
  absl::StatusOr<Instrument> in = ParseInstrument(text, format);
  if (in.ok()) {
    std::string lower = format;
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    SP_FUZZ_CHECK(lower == "toml" || lower == "json", "an instrument parsed in format '" + format + "'");
    CheckInstrument(*in);
  } else {
    CheckCleanError(in.status(), "ParseInstrument");
  }
  if ((mode & 4) != 0) {
    if (in.ok()) {
      Score(p, *in);
    } else {
      static const Instrument kDefault = *DefaultInstrument();
      Score(p, kDefault);
    }
  }
  return 0;
}

}  // namespace instrument_fuzz

inline int FuzzInstrument(const uint8_t* data, size_t size) { return instrument_fuzz::Run(data, size); }

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzInstrument)
