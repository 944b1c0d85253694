// The nine-practice (Leaky Bucket) assessment: the instrument (TOML or JSON, read
// through the JSON tree of document_tree.h), the scoring of answers, and the
// attribution of leak dollars to practices. PracticeSignals lives in
// practice_signals.cc.
#include "salesperf/practices.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl_compat.h"
#include "document_tree.h"
#include "status_macros.h"

namespace salesperf {

namespace internal {
// Generated at configure time from src/instruments/leaky_bucket.toml (CMakeLists.txt).
std::string_view LeakyBucketInstrumentText();
}  // namespace internal

using internal::CheckKeys;
using internal::Err;
using internal::Index;
using internal::Json;
using internal::Key;
using internal::Sv;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The index of a practice id in kPracticeIds, or -1.
int PracticeIndex(std::string_view id) {
  for (int p = 0; p < kNumPractices; ++p) {
    if (kPracticeIds[static_cast<size_t>(p)] == id) return p;
  }
  return -1;
}

std::string PracticeList() {
  std::string out;
  for (std::string_view id : kPracticeIds) {
    if (!out.empty()) out.append(", ");
    out.append(id);
  }
  return out;
}

// ===================================================================================
// Reading the instrument
// ===================================================================================

// The instrument is TOML first: an object reads as "a table" in its messages.
absl::Status WrongType(const std::string& path, std::string_view expected, const Json& j) {
  return internal::WrongType(path, expected, j, "a table");
}

// A required string key of `obj`; non-empty unless allow_empty.
absl::StatusOr<std::string> ReadString(const Json& obj, const std::string& path, std::string_view key,
                                       bool allow_empty = false) {
  const std::string k(key);
  if (!obj.contains(k)) return Err(Key(path, key), "missing");
  const Json& j = obj.at(k);
  if (!j.is_string()) return WrongType(Key(path, key), "a string", j);
  std::string s = j.get<std::string>();
  if (s.empty() && !allow_empty) return Err(Key(path, key), "must not be empty");
  return s;
}

absl::StatusOr<Instrument> ReadInstrument(const Json& doc) {
  if (!doc.is_object()) return WrongType("instrument", "a table", doc);
  SALESPERF_RETURN_IF_ERROR(CheckKeys(doc, "", {"name", "version", "scale", "practice", "statement"}));
  Instrument in;
  {
    absl::StatusOr<std::string> s = ReadString(doc, "", "name");
    if (!s.ok()) return s.status();
    in.name = *std::move(s);
    s = ReadString(doc, "", "version");
    if (!s.ok()) return s.status();
    in.version = *std::move(s);
  }
  if (doc.contains("scale")) {
    const Json& scale = doc.at("scale");
    if (!scale.is_array() || scale.size() != 2 || !scale[0].is_number_integer() ||
        !scale[1].is_number_integer()) {
      return Err("scale", "expected [min, max], two integers");
    }
    const int64_t lo = scale[0].get<int64_t>(), hi = scale[1].get<int64_t>();
    constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
    if (lo < -kLimit || hi > kLimit) return Err("scale", "out of the 32-bit range");
    if (lo >= hi) return Err("scale", absl::StrCat("min (", lo, ") must be below max (", hi, ")"));
    in.scale_min = static_cast<int32_t>(lo);
    in.scale_max = static_cast<int32_t>(hi);
  }

  // Practices: the nine ids, each once, stored in kPracticeIds order.
  if (!doc.contains("practice")) return Err("practice", "missing (the nine practices, each a [[practice]])");
  const Json& practices = doc.at("practice");
  if (!practices.is_array()) return WrongType("practice", "a list of tables ([[practice]])", practices);
  std::array<std::optional<PracticeInfo>, kNumPractices> by_index;
  std::array<size_t, kNumPractices> seen_at{};
  for (size_t i = 0; i < practices.size(); ++i) {
    const Json& p = practices[i];
    const std::string path = Index("practice", i);
    if (!p.is_object()) return WrongType(path, "a table", p);
    absl::StatusOr<std::string> id = ReadString(p, path, "id");
    if (!id.ok()) return id.status();
    const std::string label = absl::StrCat(path, " (practice '", *id, "')");
    SALESPERF_RETURN_IF_ERROR(CheckKeys(p, label, {"id", "name", "summary", "source"}));
    const int index = PracticeIndex(*id);
    if (index < 0) {
      return Err(Key(path, "id"), absl::StrCat("unknown practice '", *id, "' (use one of ", PracticeList(), ")"));
    }
    const auto u = static_cast<size_t>(index);
    if (by_index[u].has_value()) {
      return Err(Key(path, "id"), absl::StrCat("practice '", *id, "' appears twice (practice[", seen_at[u],
                                                "] and practice[", i, "])"));
    }
    PracticeInfo info;
    info.id = *std::move(id);
    absl::StatusOr<std::string> s = ReadString(p, label, "name");
    if (!s.ok()) return s.status();
    info.name = *std::move(s);
    s = ReadString(p, label, "summary", /*allow_empty=*/true);
    if (!s.ok()) return s.status();
    info.summary = *std::move(s);
    s = ReadString(p, label, "source", /*allow_empty=*/true);
    if (!s.ok()) return s.status();
    info.source = *std::move(s);
    by_index[u] = std::move(info);
    seen_at[u] = i;
  }
  for (int p = 0; p < kNumPractices; ++p) {
    if (!by_index[static_cast<size_t>(p)].has_value()) {
      return Err("practice", absl::StrCat("practice '", Sv(kPracticeIds[static_cast<size_t>(p)]),
                                          "' is missing (every one of the nine is required)"));
    }
    in.practices.push_back(*std::move(by_index[static_cast<size_t>(p)]));
  }

  // Statements, in file order.
  if (!doc.contains("statement")) return Err("statement", "missing (at least one [[statement]] per practice)");
  const Json& statements = doc.at("statement");
  if (!statements.is_array()) return WrongType("statement", "a list of tables ([[statement]])", statements);
  absl::flat_hash_map<std::string, size_t> statement_at;
  std::array<int64_t, kNumPractices> per_practice{};
  for (size_t i = 0; i < statements.size(); ++i) {
    const Json& st = statements[i];
    const std::string path = Index("statement", i);
    if (!st.is_object()) return WrongType(path, "a table", st);
    absl::StatusOr<std::string> id = ReadString(st, path, "id");
    if (!id.ok()) return id.status();
    const std::string label = absl::StrCat(path, " (statement '", *id, "')");
    SALESPERF_RETURN_IF_ERROR(CheckKeys(st, label, {"id", "practice", "text", "reverse", "best_practice"}));
    if (auto [it, inserted] = statement_at.emplace(*id, i); !inserted) {
      return Err(Key(path, "id"), absl::StrCat("statement '", *id, "' appears twice (statement[", it->second,
                                                "] and statement[", i, "])"));
    }
    Statement s;
    s.id = *std::move(id);
    absl::StatusOr<std::string> v = ReadString(st, label, "practice");
    if (!v.ok()) return v.status();
    const int index = PracticeIndex(*v);
    if (index < 0) {
      return Err(Key(label, "practice"),
                 absl::StrCat("unknown practice '", *v, "' (use one of ", PracticeList(), ")"));
    }
    ++per_practice[static_cast<size_t>(index)];
    s.practice = *std::move(v);
    v = ReadString(st, label, "text");
    if (!v.ok()) return v.status();
    s.text = *std::move(v);
    v = ReadString(st, label, "best_practice");
    if (!v.ok()) return v.status();
    s.best_practice = *std::move(v);
    if (st.contains("reverse")) {
      const Json& r = st.at("reverse");
      if (!r.is_boolean()) return WrongType(Key(label, "reverse"), "true or false", r);
      s.reverse = r.get<bool>();
    }
    in.statements.push_back(std::move(s));
  }
  for (int p = 0; p < kNumPractices; ++p) {
    if (per_practice[static_cast<size_t>(p)] == 0) {
      return Err("statement", absl::StrCat("practice '", Sv(kPracticeIds[static_cast<size_t>(p)]),
                                           "' has no statement"));
    }
  }
  return in;
}

absl::StatusOr<Instrument> FromJson(std::string_view text) {
  return internal::ReadTree(internal::ParseJsonTree(text), "instrument", ReadInstrument);
}

absl::StatusOr<Instrument> FromToml(std::string_view text) {
  return internal::ReadTree(internal::ParseTomlTree(text, "instrument"), "instrument", ReadInstrument);
}

// An Instrument built in code rather than parsed: the same rules ParseInstrument
// enforces, so that scoring and attribution can rely on them.
absl::Status ValidateInstrument(const Instrument& in) {
  if (in.scale_min >= in.scale_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("instrument: scale min (", in.scale_min, ") must be below max (", in.scale_max, ")"));
  }
  if (in.practices.size() != static_cast<size_t>(kNumPractices)) {
    return absl::InvalidArgumentError(
        absl::StrCat("instrument: ", in.practices.size(), " practices, not ", kNumPractices));
  }
  for (int p = 0; p < kNumPractices; ++p) {
    if (in.practices[static_cast<size_t>(p)].id != kPracticeIds[static_cast<size_t>(p)]) {
      return absl::InvalidArgumentError(absl::StrCat("instrument: practice ", p, " is '",
                                                     in.practices[static_cast<size_t>(p)].id, "', not '",
                                                     Sv(kPracticeIds[static_cast<size_t>(p)]), "'"));
    }
  }
  absl::flat_hash_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < in.statements.size(); ++i) {
    const Statement& s = in.statements[i];
    if (s.id.empty()) return absl::InvalidArgumentError(absl::StrCat("instrument: statement ", i, " has no id"));
    if (!seen.emplace(s.id, i).second) {
      return absl::InvalidArgumentError(absl::StrCat("instrument: statement '", s.id, "' appears twice"));
    }
    if (PracticeIndex(s.practice) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("instrument: statement '", s.id, "': unknown practice '", s.practice, "'"));
    }
  }
  return absl::OkStatus();
}

// ===================================================================================
// Scoring answers
// ===================================================================================

absl::Status RowError(int64_t row, std::string_view column, std::string_view why) {
  absl::Status s =
      absl::InvalidArgumentError(absl::StrCat("answers row ", row, ", column '", Sv(column), "': ", Sv(why)));
  s.SetPayload(Sv(kRowPayload), absl::Cord(absl::StrCat(row)));
  s.SetPayload(Sv(kColumnPayload), absl::Cord(Sv(column)));
  return s;
}

enum class RoleKind : uint8_t { kOther = 0, kManager = 1, kRep = 2 };

RoleKind KindOf(const std::string& lower_role) {
  if (lower_role == "manager") return RoleKind::kManager;
  if (lower_role == "rep") return RoleKind::kRep;
  return RoleKind::kOther;
}

struct MeanAcc {
  double sum = 0;
  int64_t n = 0;
  void Add(double v) {
    sum += v;
    ++n;
  }
  double Mean() const { return n == 0 ? kNaN : sum / static_cast<double>(n); }
};

}  // namespace

// ===================================================================================
// Public: the instrument
// ===================================================================================

absl::StatusOr<Instrument> ParseInstrument(std::string_view text, std::string_view format) {
  const std::string f = absl::AsciiStrToLower(Sv(format));
  if (f == "toml") return FromToml(text);
  if (f == "json") return FromJson(text);
  return absl::InvalidArgumentError(absl::StrCat("format must be 'toml' or 'json', not '", Sv(format), "'"));
}

std::string_view DefaultInstrumentText() { return internal::LeakyBucketInstrumentText(); }

absl::StatusOr<Instrument> DefaultInstrument() {
  // Parsed once; a failure here is a bug in the bundled file, and the tests parse it.
  static const absl::StatusOr<Instrument>* const kParsed =
      new absl::StatusOr<Instrument>(ParseInstrument(DefaultInstrumentText(), "toml"));
  return *kParsed;
}

// ===================================================================================
// Public: scoring
// ===================================================================================

absl::StatusOr<QuestionnaireScores> ScoreAnswers(const Instrument& instrument, const Answers& answers) {
  SALESPERF_RETURN_IF_ERROR(ValidateInstrument(instrument));
  const size_t rows = answers.respondent.size();
  {
    const std::pair<std::string_view, size_t> sizes[] = {
        {"role", answers.role.size()}, {"statement", answers.statement.size()}, {"value", answers.value.size()}};
    for (const auto& [name, size] : sizes) {
      if (size != rows) {
        return RowError(static_cast<int64_t>(std::min(size, rows)), name,
                        absl::StrCat("the columns differ in length: '", Sv(name), "' has ", size,
                                     " rows, 'respondent' has ", rows));
      }
    }
  }
  const size_t num_statements = instrument.statements.size();
  absl::flat_hash_map<std::string_view, int32_t> statement_index;
  std::vector<int32_t> statement_practice(num_statements);
  for (size_t s = 0; s < num_statements; ++s) {
    statement_index.emplace(instrument.statements[s].id, static_cast<int32_t>(s));
    statement_practice[s] = PracticeIndex(instrument.statements[s].practice);
  }
  const double lo = instrument.scale_min, hi = instrument.scale_max;

  // Respondents in order of first appearance, with their role (lower case) and kind.
  absl::flat_hash_map<std::string_view, int32_t> respondent_index;
  std::vector<std::string> respondent_role;  // lower case
  std::vector<size_t> respondent_first_row;
  std::vector<RoleKind> respondent_kind;
  // Per answered (respondent, statement): the first row, to report repeats.
  absl::flat_hash_map<std::pair<int32_t, int32_t>, size_t> answered;
  struct Point {
    int32_t respondent, statement;
    double points;  // NaN: don't know
  };
  std::vector<Point> points;
  points.reserve(rows);
  for (size_t r = 0; r < rows; ++r) {
    const auto row = static_cast<int64_t>(r);
    const std::string& who = answers.respondent[r];
    if (who.empty()) return RowError(row, "respondent", "the respondent is empty");
    auto st = statement_index.find(answers.statement[r]);
    if (st == statement_index.end()) {
      return RowError(row, "statement",
                      absl::StrCat("statement '", answers.statement[r], "' is not in the instrument"));
    }
    const double v = answers.value[r];
    if (std::isinf(v) || (!std::isnan(v) && (v < lo || v > hi))) {
      return RowError(row, "value",
                      absl::StrCat("value ", v, " is off the scale [", instrument.scale_min, ", ",
                                   instrument.scale_max, "] (NaN means don't know)"));
    }
    std::string role = absl::AsciiStrToLower(answers.role[r]);
    auto [it, inserted] = respondent_index.emplace(who, static_cast<int32_t>(respondent_role.size()));
    if (inserted) {
      respondent_kind.push_back(KindOf(role));
      respondent_role.push_back(std::move(role));
      respondent_first_row.push_back(r);
    } else if (respondent_role[static_cast<size_t>(it->second)] != role) {
      const auto i = static_cast<size_t>(it->second);
      return RowError(row, "role",
                      absl::StrCat("respondent '", who, "' has role '", answers.role[r], "' here but '",
                                   answers.role[respondent_first_row[i]], "' in row ", respondent_first_row[i]));
    }
    const int32_t who_index = it->second;
    if (auto [a, fresh] = answered.emplace(std::make_pair(who_index, st->second), r); !fresh) {
      return RowError(row, "statement",
                      absl::StrCat("respondent '", who, "' answers statement '", answers.statement[r],
                                   "' twice (rows ", a->second, " and ", r, ")"));
    }
    double p = kNaN;
    if (!std::isnan(v)) {
      p = 100.0 * (v - lo) / (hi - lo);
      if (instrument.statements[static_cast<size_t>(st->second)].reverse) p = 100.0 - p;
    }
    points.push_back({who_index, st->second, p});
  }

  const size_t num_respondents = respondent_role.size();
  QuestionnaireScores out;
  out.respondents = static_cast<int64_t>(num_respondents);

  // Per statement: the points by role; per (respondent, practice): their mean.
  std::vector<std::vector<double>> statement_points(num_statements);
  std::vector<MeanAcc> statement_manager(num_statements), statement_rep(num_statements);
  std::vector<int64_t> statement_dont_know(num_statements, 0);
  std::vector<MeanAcc> respondent_practice(num_respondents * kNumPractices);
  std::array<int64_t, kNumPractices> practice_dont_know{};
  for (const Point& pt : points) {
    const auto s = static_cast<size_t>(pt.statement);
    const auto p = static_cast<size_t>(statement_practice[s]);
    if (std::isnan(pt.points)) {
      ++statement_dont_know[s];
      ++practice_dont_know[p];
      continue;
    }
    statement_points[s].push_back(pt.points);
    const RoleKind kind = respondent_kind[static_cast<size_t>(pt.respondent)];
    if (kind == RoleKind::kManager) statement_manager[s].Add(pt.points);
    if (kind == RoleKind::kRep) statement_rep[s].Add(pt.points);
    respondent_practice[static_cast<size_t>(pt.respondent) * kNumPractices + p].Add(pt.points);
  }

  out.practices.reserve(kNumPractices);
  for (int pi = 0; pi < kNumPractices; ++pi) {
    const auto p = static_cast<size_t>(pi);
    MeanAcc all, managers, reps;
    int64_t answered_count = 0;
    for (size_t r = 0; r < num_respondents; ++r) {
      const MeanAcc& acc = respondent_practice[r * kNumPractices + p];
      if (acc.n == 0) continue;
      answered_count += acc.n;
      const double m = acc.Mean();  // every respondent weighs the same
      all.Add(m);
      if (respondent_kind[r] == RoleKind::kManager) managers.Add(m);
      if (respondent_kind[r] == RoleKind::kRep) reps.Add(m);
    }
    QuestionnaireScores::PracticeRow row;
    row.practice = std::string(kPracticeIds[p]);
    row.score = all.Mean();
    row.manager_score = managers.Mean();
    row.rep_score = reps.Mean();
    row.disagreement = (managers.n > 0 && reps.n > 0) ? row.manager_score - row.rep_score : kNaN;
    // One step on a 1-5 scale; the tolerance keeps a difference of exactly one step
    // (computed through divisions) from falling just short.
    row.disagree = !std::isnan(row.disagreement) && std::fabs(row.disagreement) >= 25.0 - 1e-9;
    row.respondents = all.n;
    row.managers = managers.n;
    row.reps = reps.n;
    row.answers = answered_count;
    row.dont_know = practice_dont_know[p];
    out.practices.push_back(std::move(row));
  }

  out.statements.reserve(num_statements);
  for (size_t s = 0; s < num_statements; ++s) {
    const std::vector<double>& v = statement_points[s];
    QuestionnaireScores::StatementRow row;
    row.statement = instrument.statements[s].id;
    row.practice = instrument.statements[s].practice;
    row.n = static_cast<int64_t>(v.size());
    row.mean = v.empty() ? kNaN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    if (v.size() < 2) {
      row.sd = kNaN;
    } else {
      double ss = 0;
      for (double x : v) ss += (x - row.mean) * (x - row.mean);
      row.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
    }
    row.manager_mean = statement_manager[s].Mean();
    row.rep_mean = statement_rep[s].Mean();
    row.dont_know = statement_dont_know[s];
    out.statements.push_back(std::move(row));
  }
  return out;
}

// ===================================================================================
// Public: attribution and the assessment
// ===================================================================================

absl::StatusOr<PracticeAssessment> AssessPractices(const Instrument& instrument,
                                                   const QuestionnaireScores* questionnaire,
                                                   std::span<const PracticeSignal> signals,
                                                   const LeakAssessment& leaks,
                                                   const AttributionOptions& options) {
  SALESPERF_RETURN_IF_ERROR(ValidateInstrument(instrument));
  const LeakRows& rows = leaks.rows;
  const size_t n = rows.size();
  const int32_t num_open = leaks.num_open;
  if (num_open < 0 || static_cast<size_t>(num_open) > leaks.stage_names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("leaks: num_open ", num_open, " does not fit the ",
                                                   leaks.stage_names.size(), " stage names"));
  }
  {
    const std::pair<std::string_view, size_t> sizes[] = {
        {"stage", rows.stage.size()},       {"advanced", rows.advanced.size()},
        {"lost", rows.lost.size()},         {"disqualified", rows.disqualified.size()},
        {"stalled", rows.stalled.size()},   {"shrunk_dollars", rows.shrunk_dollars.size()}};
    for (const auto& [name, size] : sizes) {
      if (size != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("leaks: rows.", Sv(name), " has ", size, " entries, rows.unit has ", n));
      }
    }
  }
  const auto num_units = static_cast<int32_t>(leaks.unit_names.size());
  for (size_t i = 0; i < n; ++i) {
    if (rows.unit[i] < 0 || rows.unit[i] >= num_units || rows.stage[i] < 0 || rows.stage[i] >= num_open) {
      return absl::InvalidArgumentError(absl::StrCat("leaks: row ", i, " has unit ", rows.unit[i], " and stage ",
                                                     rows.stage[i], ", outside the assessment's ", num_units,
                                                     " units and ", num_open, " open stages"));
    }
  }

  // Stage names: open stages only (leaks are per open stage).
  auto open_stage = [&](const std::string& name, std::string_view option) -> absl::StatusOr<int32_t> {
    for (int32_t k = 0; k < num_open; ++k) {
      if (leaks.stage_names[static_cast<size_t>(k)] == name) return k;
    }
    std::vector<std::string_view> open(leaks.stage_names.begin(), leaks.stage_names.begin() + num_open);
    return absl::InvalidArgumentError(absl::StrCat(Sv(option), ": '", name,
                                                   "' is not an open stage of the assessment (",
                                                   absl::StrJoin(open, ", ", [](std::string* out, std::string_view s) {
                                                     out->append(s);
                                                   }),
                                                   ")"));
  };
  int32_t qualification = std::min<int32_t>(1, std::max<int32_t>(0, num_open - 1));
  if (!options.qualification_stage.empty()) {
    absl::StatusOr<int32_t> k = open_stage(options.qualification_stage, "qualification_stage");
    if (!k.ok()) return k.status();
    qualification = *k;
  }
  std::vector<uint8_t> support(static_cast<size_t>(num_open), 0);
  for (const std::string& name : options.support_stages) {
    absl::StatusOr<int32_t> k = open_stage(name, "support_stages");
    if (!k.ok()) return k.status();
    support[static_cast<size_t>(*k)] = 1;
  }
  // Units judged non-productive; a name the assessment lacks has no leak to move.
  std::vector<uint8_t> non_productive(static_cast<size_t>(num_units), 0);
  for (const std::string& name : options.non_productive_units) {
    for (int32_t u = 0; u < num_units; ++u) {
      if (leaks.unit_names[static_cast<size_t>(u)] == name) non_productive[static_cast<size_t>(u)] = 1;
    }
  }

  // Data scores: the mean score of each practice's speaking signals.
  std::array<MeanAcc, kNumPractices> data;
  for (size_t i = 0; i < signals.size(); ++i) {
    const int p = PracticeIndex(signals[i].practice);
    if (p < 0) {
      return absl::InvalidArgumentError(absl::StrCat("signals[", i, "] ('", signals[i].signal,
                                                     "'): unknown practice '", signals[i].practice, "'"));
    }
    if (signals[i].speaks && !std::isnan(signals[i].score)) data[static_cast<size_t>(p)].Add(signals[i].score);
  }

  // The "(stalled)" lost deals of each (unit, stage), from the reasons' long form.
  struct StalledLost {
    int64_t lost = 0, disqualified = 0;
  };
  absl::flat_hash_map<std::pair<int32_t, int32_t>, StalledLost> stalled_lost;
  for (const LeakAssessment::ReasonRow& r : leaks.reasons) {
    if (r.reason != kStalledReason) continue;
    StalledLost& s = stalled_lost[std::make_pair(r.unit, r.stage)];
    (r.disqualified ? s.disqualified : s.lost) += r.deals;
  }

  const int kNp = PracticeIndex("non_productive_sales_reps");
  const int kSupport = PracticeIndex("sales_support");
  const int kQualifying = PracticeIndex("qualifying_account_criteria");
  const int kPipeline = PracticeIndex("pipeline_management_and_forecasting");
  const int kAdvanced = PracticeIndex("advanced_sales_metrics");

  PracticeAssessment out;
  std::array<double, kNumPractices> dollars{};
  std::array<int64_t, kNumPractices> leak_rows{};
  for (size_t i = 0; i < n; ++i) {
    const double d = rows.shrunk_dollars[i];
    if (!(d > 0)) continue;  // a surplus, nothing, or NaN
    out.attributed_dollars += d;
    const int32_t u = rows.unit[i], k = rows.stage[i];
    std::array<double, kNumPractices> share{};
    if (non_productive[static_cast<size_t>(u)]) {
      share[kNp] = 1;
    } else if (support[static_cast<size_t>(k)]) {
      share[kSupport] = 1;
    } else if (k < qualification) {
      share[kQualifying] = 1;
    } else {
      // How the row's non-advanced trials ended. A "(stalled)" close goes to the
      // pipeline whichever count holds it (lost, or disqualified when listed so).
      StalledLost s;
      if (auto it = stalled_lost.find(std::make_pair(u, k)); it != stalled_lost.end()) s = it->second;
      const int64_t pipeline = std::max<int64_t>(0, rows.stalled[i]) +
                               std::min(s.lost, std::max<int64_t>(0, rows.lost[i])) +
                               std::min(s.disqualified, std::max<int64_t>(0, rows.disqualified[i]));
      const int64_t disqualified =
          std::max<int64_t>(0, rows.disqualified[i] - std::min(s.disqualified, rows.disqualified[i]));
      const int64_t lost = std::max<int64_t>(0, rows.lost[i] - std::min(s.lost, rows.lost[i]));
      const int64_t failed = pipeline + disqualified + lost;
      if (failed == 0) {
        share[kAdvanced] = 1;
      } else {
        const auto f = static_cast<double>(failed);
        share[kPipeline] = static_cast<double>(pipeline) / f;
        share[kQualifying] = static_cast<double>(disqualified) / f;
        share[kAdvanced] = static_cast<double>(lost) / f;
      }
    }
    for (int p = 0; p < kNumPractices; ++p) {
      const auto pu = static_cast<size_t>(p);
      if (share[pu] <= 0) continue;
      const double part = share[pu] == 1 ? d : d * share[pu];
      dollars[pu] += part;
      ++leak_rows[pu];
      out.leaks.push_back({u, k, std::string(kPracticeIds[pu]), part});
    }
  }

  // Ranks: by dollars at stake, largest first; ties in kPracticeIds order.
  std::array<int, kNumPractices> order;
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return dollars[static_cast<size_t>(a)] > dollars[static_cast<size_t>(b)];
  });
  std::array<int32_t, kNumPractices> rank{};
  for (int i = 0; i < kNumPractices; ++i) rank[static_cast<size_t>(order[static_cast<size_t>(i)])] = i + 1;

  // The questionnaire's rows, by practice and statement id.
  std::array<double, kNumPractices> questionnaire_score;
  questionnaire_score.fill(kNaN);
  absl::flat_hash_map<std::string_view, double> statement_mean;
  if (questionnaire != nullptr) {
    for (const QuestionnaireScores::PracticeRow& r : questionnaire->practices) {
      const int p = PracticeIndex(r.practice);
      if (p >= 0) questionnaire_score[static_cast<size_t>(p)] = r.score;
    }
    for (const QuestionnaireScores::StatementRow& r : questionnaire->statements) {
      statement_mean.emplace(r.statement, r.mean);
    }
  }

  out.practices.reserve(kNumPractices);
  for (int pi = 0; pi < kNumPractices; ++pi) {
    const auto p = static_cast<size_t>(pi);
    PracticeAssessment::PracticeRow row;
    row.practice = std::string(kPracticeIds[p]);
    row.name = instrument.practices[p].name;
    row.questionnaire_score = questionnaire_score[p];
    row.data_score = data[p].Mean();
    MeanAcc both;
    if (!std::isnan(row.questionnaire_score)) both.Add(row.questionnaire_score);
    if (!std::isnan(row.data_score)) both.Add(row.data_score);
    row.score = both.Mean();
    row.leak_dollars = dollars[p];
    row.leak_rows = leak_rows[p];
    row.rank = rank[p];
    out.practices.push_back(std::move(row));
  }

  // Best practices: by the practice's rank, then the statement's mean points (lowest
  // first, unanswered last), then instrument order.
  struct Item {
    int32_t rank;
    double points;
    size_t statement;
  };
  std::vector<Item> items;
  items.reserve(instrument.statements.size());
  for (size_t s = 0; s < instrument.statements.size(); ++s) {
    const auto p = static_cast<size_t>(PracticeIndex(instrument.statements[s].practice));
    auto it = statement_mean.find(instrument.statements[s].id);
    items.push_back({rank[p], it == statement_mean.end() ? kNaN : it->second, s});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    const bool an = std::isnan(a.points), bn = std::isnan(b.points);
    if (an != bn) return bn;  // answered first
    if (!an && a.points != b.points) return a.points < b.points;
    return false;
  });
  out.best_practices.reserve(items.size());
  for (const Item& item : items) {
    const Statement& s = instrument.statements[item.statement];
    const auto p = static_cast<size_t>(PracticeIndex(s.practice));
    out.best_practices.push_back({s.practice, s.id, s.best_practice, item.points, dollars[p]});
  }
  return out;
}

}  // namespace salesperf
