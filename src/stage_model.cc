// The StageModel's builder, its validation, its durations and its file forms (JSON
// and TOML). Compile and the StageMachine live in compile.cc.
//
// Both file forms are read through one path (document_tree.h): TOML is parsed by
// toml++ and converted to the same JSON tree nlohmann produces, so the key checks and
// error messages are the same for both. Writing is hand-rolled for both forms,
// because neither library's printer gives the layout we want people to read and edit
// (one rule per line, TOML rules as inline tables rather than [[stages.rules]]
// sections).
#include "salesperf/stage_model.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl_compat.h"
#include "document_tree.h"

namespace salesperf {

using internal::CheckKeys;
using internal::Err;
using internal::Index;
using internal::Json;
using internal::Key;
using internal::Sv;
using internal::WrongType;

// ---- Durations --------------------------------------------------------------------

namespace {

struct DurationUnit {
  std::string_view name;
  uint64_t nanos;
};

// Largest first: ParseDuration requires this order in the text, FormatDuration emits it.
constexpr DurationUnit kUnits[] = {
    {"w", 7ull * 86'400 * 1'000'000'000}, {"d", 86'400ull * 1'000'000'000},
    {"h", 3'600ull * 1'000'000'000},      {"m", 60ull * 1'000'000'000},
    {"s", 1'000'000'000},                 {"ms", 1'000'000},
    {"us", 1'000},                        {"ns", 1},
};
constexpr size_t kNumUnits = sizeof(kUnits) / sizeof(kUnits[0]);

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

}  // namespace

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid duration '", Sv(text), "': ", Sv(why)));
  };
  if (text.empty()) return error("it is empty");
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  if (i == text.size()) return error("expected a number after '-'");
  // The magnitude is accumulated unsigned so that INT64_MIN ("-15250w...") parses.
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t total = 0;
  size_t previous_unit = kNumUnits;  // index into kUnits of the unit before; none yet
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      return error(absl::StrCat("expected a number at '", Sv(text.substr(i)), "'"));
    }
    uint64_t count = 0;
    const size_t number_start = i;
    while (i < text.size() && IsDigit(text[i])) {
      const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
      if (count > (limit - digit) / 10) return error("it is out of range");
      count = count * 10 + digit;
      ++i;
    }
    const size_t unit_start = i;
    while (i < text.size() && IsLower(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return error(absl::StrCat("missing unit after ",
                                Sv(text.substr(number_start, unit_start - number_start)),
                                " (use w, d, h, m, s, ms, us or ns)"));
    }
    size_t u = 0;
    while (u < kNumUnits && kUnits[u].name != unit) ++u;
    if (u == kNumUnits) {
      return error(
          absl::StrCat("unknown unit '", Sv(unit), "' (use w, d, h, m, s, ms, us or ns)"));
    }
    if (previous_unit != kNumUnits && u <= previous_unit) {
      return error("units must go from largest to smallest, each at most once");
    }
    previous_unit = u;
    if (count > (limit - total) / kUnits[u].nanos) return error("it is out of range");
    total += count * kUnits[u].nanos;
  }
  if (negative) return static_cast<int64_t>(0 - total);  // wraps to INT64_MIN when 2^63
  return static_cast<int64_t>(total);
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  uint64_t rest = static_cast<uint64_t>(ns);
  if (ns < 0) {
    out = "-";
    rest = 0 - rest;  // |INT64_MIN| fits in uint64_t
  }
  // Weeks only when the whole value is weeks: "2w" reads well, "4w2d" for 30 days
  // does not, and "30d" is what people write.
  size_t first = 1;
  if (rest % kUnits[0].nanos == 0) first = 0;
  for (size_t u = first; u < kNumUnits && rest > 0; ++u) {
    const uint64_t count = rest / kUnits[u].nanos;
    if (count == 0) continue;
    absl::StrAppend(&out, count, Sv(kUnits[u].name));
    rest -= count * kUnits[u].nanos;
  }
  return out;
}

std::string_view RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kAny: return "any";
    case RuleKind::kAll: return "all";
    case RuleKind::kSequence: return "sequence";
    case RuleKind::kCount: return "count";
    case RuleKind::kDistinctContacts: return "distinct_contacts";
  }
  return "unknown";
}

// ---- Builder ----------------------------------------------------------------------

Stage& Stage::Any(std::vector<std::string> actions) {
  StageRule rule;
  rule.kind = RuleKind::kAny;
  rule.filters.push_back(std::move(actions));
  rules.push_back(std::move(rule));
  return *this;
}

Stage& Stage::All(std::vector<std::vector<std::string>> steps, std::optional<int64_t> within) {
  StageRule rule;
  rule.kind = RuleKind::kAll;
  rule.filters = std::move(steps);
  rule.within = within;
  rules.push_back(std::move(rule));
  return *this;
}

Stage& Stage::Sequence(std::vector<std::vector<std::string>> steps,
                       std::optional<int64_t> within) {
  StageRule rule;
  rule.kind = RuleKind::kSequence;
  rule.filters = std::move(steps);
  rule.within = within;
  rules.push_back(std::move(rule));
  return *this;
}

Stage& Stage::Count(std::vector<std::string> actions, int32_t k, std::optional<int64_t> within) {
  StageRule rule;
  rule.kind = RuleKind::kCount;
  rule.filters.push_back(std::move(actions));
  rule.min = k;
  rule.within = within;
  rules.push_back(std::move(rule));
  return *this;
}

Stage& Stage::DistinctContacts(std::vector<std::string> actions, int32_t k,
                               std::optional<int64_t> within) {
  StageRule rule;
  rule.kind = RuleKind::kDistinctContacts;
  rule.filters.push_back(std::move(actions));
  rule.min = k;
  rule.within = within;
  rules.push_back(std::move(rule));
  return *this;
}

// Roles and Amount qualify the rule added last. With no rule yet there is nothing to
// qualify; they do nothing rather than invent a rule (a stage with no rule is then
// reported by Compile, which is where a builder mistake like this surfaces).
Stage& Stage::Roles(std::vector<std::string> role_names) {
  if (!rules.empty()) rules.back().roles = std::move(role_names);
  return *this;
}

Stage& Stage::Amount(std::optional<double> min, std::optional<double> max) {
  if (!rules.empty()) {
    rules.back().min_amount = min;
    rules.back().max_amount = max;
  }
  return *this;
}

Stage& Stage::Optional(bool is_optional) {
  optional = is_optional;
  return *this;
}

Stage& Stage::Window(int64_t w) {
  window = w;
  return *this;
}

Stage& Stage::StallAfter(int64_t limit) {
  stall = StallLimit{limit, std::nullopt};
  return *this;
}

Stage& Stage::StallAtPercentile(double p) {
  stall = StallLimit{std::nullopt, p};
  return *this;
}

Stage& StageModel::AddStage(std::string name) {
  Stage stage;
  stage.name = std::move(name);
  stages_.push_back(std::move(stage));
  return stages_.back();
}

StageModel& StageModel::Regress(StageRule rule, std::string to) {
  regress_.push_back(RegressRule{std::move(rule), std::move(to)});
  return *this;
}

StageModel& StageModel::Exclude(std::vector<std::string> actions) {
  for (std::string& a : actions) exclude_.push_back(std::move(a));
  return *this;
}

// ---- Validate ---------------------------------------------------------------------

namespace {

std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "?";
  return std::string(buf, end);
}

// "stage 'Qualified'", or "stage 3" (1-based) when the name is empty.
std::string StageLabel(const Stage& stage, size_t index) {
  if (stage.name.empty()) return absl::StrCat("stage ", index + 1);
  return absl::StrCat("stage '", stage.name, "'");
}

// `where` is e.g. "stage 'Qualified', rule 1 (all)"; rules are numbered from 1.
absl::Status ValidateRule(const StageRule& rule, const std::string& where) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", Sv(why)));
  };
  const bool one_filter = rule.kind == RuleKind::kAny || rule.kind == RuleKind::kCount ||
                          rule.kind == RuleKind::kDistinctContacts;
  if (rule.filters.empty()) return error("it has no actions");
  if (one_filter && rule.filters.size() != 1) {
    return error(absl::StrCat("it takes exactly one list of actions, not ",
                              rule.filters.size()));
  }
  for (size_t f = 0; f < rule.filters.size(); ++f) {
    const std::string which = one_filter ? "the action list" : absl::StrCat("step ", f + 1);
    if (rule.filters[f].empty()) return error(absl::StrCat(which, " is empty"));
    for (const std::string& action : rule.filters[f]) {
      if (action.empty()) return error(absl::StrCat(which, " has an empty action name"));
    }
  }
  if (rule.min < 1) return error(absl::StrCat("min must be at least 1, not ", rule.min));
  if (rule.min != 1 && (rule.kind == RuleKind::kAny || rule.kind == RuleKind::kAll ||
                        rule.kind == RuleKind::kSequence)) {
    return error("min applies only to count and distinct_contacts");
  }
  if (rule.within.has_value() && *rule.within <= 0) {
    return error(absl::StrCat("within must be positive, not ", FormatDuration(*rule.within)));
  }
  for (const std::string& role : rule.roles) {
    if (role.empty()) return error("a role name is empty");
  }
  if (rule.min_amount.has_value() && std::isnan(*rule.min_amount)) {
    return error("min_amount is not a number");
  }
  if (rule.max_amount.has_value() && std::isnan(*rule.max_amount)) {
    return error("max_amount is not a number");
  }
  if (rule.min_amount.has_value() && rule.max_amount.has_value() &&
      *rule.min_amount > *rule.max_amount) {
    return error(absl::StrCat("min_amount ", FormatNumber(*rule.min_amount),
                              " is above max_amount ", FormatNumber(*rule.max_amount)));
  }
  return absl::OkStatus();
}

absl::Status ValidateRules(const std::vector<StageRule>& rules, const std::string& label) {
  for (size_t r = 0; r < rules.size(); ++r) {
    absl::Status s = ValidateRule(
        rules[r],
        absl::StrCat(label, ", rule ", r + 1, " (", Sv(RuleKindName(rules[r].kind)), ")"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Won and Lost are reached by their rules alone; the file form has no place for the
// rest of a Stage, so a builder setting it would be silently dropped on a round trip.
absl::Status ValidateTerminal(const Stage& stage, std::string_view expected_name) {
  if (stage.name != expected_name) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(expected_name), ": the terminal stage was renamed to '", stage.name, "'"));
  }
  if (stage.optional || stage.window.has_value() || stage.stall.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(expected_name), ": a terminal stage takes only rules (no optional, window or stall)"));
  }
  return ValidateRules(stage.rules, std::string(expected_name));
}

}  // namespace

absl::Status StageModel::Validate() const {
  if (stages_.empty()) return absl::InvalidArgumentError("the model has no open stage");
  absl::flat_hash_map<std::string, size_t> seen;  // name -> index
  for (size_t i = 0; i < stages_.size(); ++i) {
    const Stage& stage = stages_[i];
    const std::string label = StageLabel(stage, i);
    auto error = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": ", Sv(why)));
    };
    if (stage.name.empty()) return error("the name is empty");
    if (stage.name == "Won" || stage.name == "Lost") {
      return error("the name is reserved for the terminal stage");
    }
    auto [it, inserted] = seen.try_emplace(stage.name, i);
    if (!inserted) {
      return error(absl::StrCat("the name is used by stages ", it->second + 1, " and ", i + 1));
    }
    if (absl::Status s = ValidateRules(stage.rules, label); !s.ok()) return s;
    if (stage.window.has_value() && *stage.window <= 0) {
      return error(absl::StrCat("window must be positive, not ", FormatDuration(*stage.window)));
    }
    if (stage.stall.has_value()) {
      const StallLimit& stall = *stage.stall;
      if (stall.fixed.has_value() == stall.percentile.has_value()) {
        return error("stall needs exactly one of a fixed limit and a percentile");
      }
      if (stall.fixed.has_value() && *stall.fixed <= 0) {
        return error(absl::StrCat("stall must be positive, not ", FormatDuration(*stall.fixed)));
      }
      // Written so that NaN fails too.
      if (stall.percentile.has_value() && !(*stall.percentile > 0 && *stall.percentile <= 100)) {
        return error(absl::StrCat("stall percentile must be in (0, 100], not ",
                                  FormatNumber(*stall.percentile)));
      }
    }
  }
  if (absl::Status s = ValidateTerminal(won_, "Won"); !s.ok()) return s;
  if (absl::Status s = ValidateTerminal(lost_, "Lost"); !s.ok()) return s;
  for (size_t r = 0; r < regress_.size(); ++r) {
    const std::string label = absl::StrCat(
        "regress rule ", r + 1, " (", Sv(RuleKindName(regress_[r].rule.kind)), ")");
    if (absl::Status s = ValidateRule(regress_[r].rule, label); !s.ok()) return s;
    if (!seen.contains(regress_[r].to)) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": target '", regress_[r].to, "' is not an open stage"));
    }
  }
  for (const std::string& action : exclude_) {
    if (action.empty()) return absl::InvalidArgumentError("exclude: an action name is empty");
  }
  if (close_stalled_after_.has_value() && *close_stalled_after_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "close_stalled_after must not be negative, not ", FormatDuration(*close_stalled_after_)));
  }
  return absl::OkStatus();
}

// ---- Writing ----------------------------------------------------------------------

namespace {

std::string_view OrderingName(Ordering o) { return o == Ordering::kSkip ? "skip" : "strict"; }
std::string_view RegressionName(Regression r) {
  switch (r) {
    case Regression::kLatch: return "latch";
    case Regression::kFollow: return "follow";
    case Regression::kRecord: return "record";
  }
  return "latch";
}
std::string_view ReopenName(Reopen r) { return r == Reopen::kAllow ? "allow" : "never"; }

bool OneFilterKind(RuleKind kind) {
  return kind == RuleKind::kAny || kind == RuleKind::kCount ||
         kind == RuleKind::kDistinctContacts;
}

// Whole numbers are written without ".0" (people write "min_amount": 1000); they read
// back as the same double, since every integer below 2^53 is exact.
Json NumberToTree(double v) {
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < kExact) {
    return static_cast<int64_t>(v);
  }
  return v;
}

// The tree both writers print. Defaults are left out, except "version".
Json RuleToTree(const StageRule& rule, const std::string* to) {
  Json j = Json::object();
  const std::string kind(RuleKindName(rule.kind));
  // A one-filter kind is written as a flat list; if a (invalid) model has some other
  // number of filters the list of lists keeps what it has.
  if (OneFilterKind(rule.kind) && rule.filters.size() == 1) {
    j[kind] = rule.filters[0];
  } else {
    j[kind] = rule.filters;
  }
  if (rule.min != 1) j["min"] = rule.min;
  if (rule.within.has_value()) j["within"] = FormatDuration(*rule.within);
  if (!rule.roles.empty()) j["roles"] = rule.roles;
  if (rule.min_amount.has_value()) j["min_amount"] = NumberToTree(*rule.min_amount);
  if (rule.max_amount.has_value()) j["max_amount"] = NumberToTree(*rule.max_amount);
  if (to != nullptr) j["to"] = *to;
  return j;
}

Json RulesToTree(const std::vector<StageRule>& rules) {
  Json j = Json::array();
  for (const StageRule& rule : rules) j.push_back(RuleToTree(rule, nullptr));
  return j;
}

Json StallToTree(const StallLimit& stall) {
  if (stall.fixed.has_value() && !stall.percentile.has_value()) {
    return FormatDuration(*stall.fixed);
  }
  // The object form; "fixed" is there so that an invalid limit with both (or neither)
  // still round-trips and is reported by Validate rather than lost.
  Json j = Json::object();
  if (stall.fixed.has_value()) j["fixed"] = FormatDuration(*stall.fixed);
  if (stall.percentile.has_value()) j["percentile"] = NumberToTree(*stall.percentile);
  return j;
}

Json StageToTree(const Stage& stage) {
  Json j = Json::object();
  j["name"] = stage.name;
  j["rules"] = RulesToTree(stage.rules);
  if (stage.window.has_value()) j["window"] = FormatDuration(*stage.window);
  if (stage.stall.has_value()) j["stall"] = StallToTree(*stage.stall);
  if (stage.optional) j["optional"] = true;
  return j;
}

// Top-level scalars and lists first, then "stages" last: the TOML writer relies on it.
Json ModelToTree(const StageModel& m) {
  Json j = Json::object();
  j["version"] = StageModel::kFormatVersion;
  if (m.ordering() != Ordering::kStrict) j["ordering"] = OrderingName(m.ordering());
  if (m.regression() != Regression::kLatch) j["regression"] = RegressionName(m.regression());
  if (m.reopen() != Reopen::kNever) j["reopen"] = ReopenName(m.reopen());
  if (m.close_stalled_after().has_value()) {
    j["close_stalled_after"] = FormatDuration(*m.close_stalled_after());
  }
  if (!m.exclude().empty()) j["exclude"] = m.exclude();
  if (!m.won().rules.empty()) j["won"] = RulesToTree(m.won().rules);
  if (!m.lost().rules.empty()) j["lost"] = RulesToTree(m.lost().rules);
  if (!m.regress().empty()) {
    Json regress = Json::array();
    for (const RegressRule& r : m.regress()) regress.push_back(RuleToTree(r.rule, &r.to));
    j["regress"] = std::move(regress);
  }
  Json stages = Json::array();
  for (const Stage& stage : m.stages()) stages.push_back(StageToTree(stage));
  j["stages"] = std::move(stages);
  return j;
}

// ---- JSON text

std::string JsonScalar(const Json& j) {
  // `replace` rather than throwing on invalid UTF-8 in a name: writing never fails.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// One line, with a space after ':' and ',' (nlohmann's compact form has none).
void JsonOneLine(const Json& j, std::string* out) {
  if (j.is_object()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out->append(", ");
      first = false;
      absl::StrAppend(out, JsonScalar(Json(key)), ": ");
      JsonOneLine(value, out);
    }
    out->push_back('}');
  } else if (j.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out->append(", ");
      JsonOneLine(j[i], out);
    }
    out->push_back(']');
  } else {
    out->append(JsonScalar(j));
  }
}

// Containers that fit on a line stay on one line (a rule, a short stage); others
// open up with one member per line.
constexpr size_t kLineWidth = 96;

void JsonPretty(const Json& j, size_t indent, bool force_open, std::string* out) {
  std::string line;
  JsonOneLine(j, &line);
  const bool container = (j.is_object() || j.is_array()) && !j.empty();
  if (!container || (!force_open && indent + line.size() <= kLineWidth)) {
    out->append(line);
    return;
  }
  const std::string pad(indent + 2, ' ');
  if (j.is_object()) {
    out->append("{\n");
    size_t i = 0;
    for (const auto& [key, value] : j.items()) {
      absl::StrAppend(out, pad, JsonScalar(Json(key)), ": ");
      JsonPretty(value, indent + 2, false, out);
      out->append(++i < j.size() ? ",\n" : "\n");
    }
    absl::StrAppend(out, std::string(indent, ' '), "}");
  } else {
    out->append("[\n");
    for (size_t i = 0; i < j.size(); ++i) {
      out->append(pad);
      JsonPretty(j[i], indent + 2, false, out);
      out->append(i + 1 < j.size() ? ",\n" : "\n");
    }
    absl::StrAppend(out, std::string(indent, ' '), "]");
  }
}

// ---- TOML text

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string TomlFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = FormatNumber(v);
  // Without '.' or an exponent TOML reads an integer, which may not even fit in int64.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Inline form of a tree value (inline tables are single-line in TOML 1.0).
void TomlInline(const Json& j, std::string* out) {
  if (j.is_object()) {
    if (j.empty()) {
      out->append("{}");
      return;
    }
    out->append("{ ");
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      if (!first) out->append(", ");
      first = false;
      absl::StrAppend(out, key, " = ");  // our keys are all bare-key safe
      TomlInline(value, out);
    }
    out->append(" }");
  } else if (j.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out->append(", ");
      TomlInline(j[i], out);
    }
    out->push_back(']');
  } else if (j.is_string()) {
    out->append(TomlString(j.get_ref<const std::string&>()));
  } else if (j.is_boolean()) {
    out->append(j.get<bool>() ? "true" : "false");
  } else if (j.is_number_float()) {
    out->append(TomlFloat(j.get<double>()));
  } else {
    out->append(j.dump());  // integers
  }
}

// `key = value`; a list of tables (rules) gets one table per line when long.
void TomlKeyValue(const std::string& key, const Json& value, std::string* out) {
  std::string line = absl::StrCat(key, " = ");
  TomlInline(value, &line);
  if (value.is_array() && value.size() > 1 && line.size() > kLineWidth) {
    absl::StrAppend(out, key, " = [\n");
    for (const Json& element : value) {
      out->append("  ");
      TomlInline(element, out);
      out->append(",\n");
    }
    out->append("]\n");
    return;
  }
  absl::StrAppend(out, line, "\n");
}

}  // namespace

std::string StageModel::ToJson() const {
  std::string out;
  JsonPretty(ModelToTree(*this), 0, true, &out);
  out.push_back('\n');
  return out;
}

std::string StageModel::ToToml() const {
  const Json tree = ModelToTree(*this);
  std::string out;
  for (const auto& [key, value] : tree.items()) {
    // TOML cannot write an empty array of tables as [[stages]]; an empty inline array
    // keeps "stages" present so that the file reads back the same.
    if (key == "stages" && !value.empty()) continue;
    TomlKeyValue(key, value, &out);
  }
  for (const Json& stage : tree["stages"]) {
    out.append("\n[[stages]]\n");
    for (const auto& [key, value] : stage.items()) TomlKeyValue(key, value, &out);
  }
  return out;
}

// ---- Reading ----------------------------------------------------------------------

namespace {

absl::StatusOr<std::string> ReadString(const Json& j, const std::string& path) {
  if (!j.is_string()) return WrongType(path, "a string", j);
  return j.get<std::string>();
}

absl::StatusOr<std::vector<std::string>> ReadStringList(const Json& j, const std::string& path) {
  if (!j.is_array()) return WrongType(path, "a list of strings", j);
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    absl::StatusOr<std::string> s = ReadString(j[i], Index(path, i));
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

absl::StatusOr<int64_t> ReadDuration(const Json& j, const std::string& path) {
  if (!j.is_string()) return WrongType(path, "a duration string such as \"30d\"", j);
  absl::StatusOr<int64_t> d = ParseDuration(j.get_ref<const std::string&>());
  if (!d.ok()) return Err(path, std::string(d.status().message()));
  return d;
}

absl::StatusOr<double> ReadNumber(const Json& j, const std::string& path) {
  if (!j.is_number()) return WrongType(path, "a number", j);
  return j.get<double>();
}

absl::StatusOr<int64_t> ReadInteger(const Json& j, const std::string& path) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Err(path, "the integer is out of range");
    }
    return static_cast<int64_t>(u);
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  return WrongType(path, "an integer", j);
}

constexpr std::string_view kKindKeys[] = {"any", "all", "sequence", "count",
                                          "distinct_contacts"};

absl::StatusOr<RuleKind> KindOf(std::string_view key) {
  if (key == "any") return RuleKind::kAny;
  if (key == "all") return RuleKind::kAll;
  if (key == "sequence") return RuleKind::kSequence;
  if (key == "count") return RuleKind::kCount;
  if (key == "distinct_contacts") return RuleKind::kDistinctContacts;
  return absl::InvalidArgumentError("not a rule kind");
}

// A rule object; `to` is non-null for regress rules, which carry their target.
absl::StatusOr<StageRule> ReadRule(const Json& j, const std::string& path, std::string* to) {
  if (!j.is_object()) return WrongType(path, "a rule object", j);
  absl::Status keys =
      to != nullptr
          ? CheckKeys(j, path, {"any", "all", "sequence", "count", "distinct_contacts", "within",
                                "min", "roles", "min_amount", "max_amount", "to"})
          : CheckKeys(j, path, {"any", "all", "sequence", "count", "distinct_contacts", "within",
                                "min", "roles", "min_amount", "max_amount"});
  if (!keys.ok()) return keys;
  std::vector<std::string> kinds;
  for (const auto& [key, value] : j.items()) {
    for (std::string_view k : kKindKeys) {
      if (k == key) kinds.push_back(key);
    }
  }
  if (kinds.empty()) {
    return Err(path, "a rule needs one of any, all, sequence, count or distinct_contacts");
  }
  if (kinds.size() > 1) {
    return Err(path, absl::StrCat("a rule has exactly one of any, all, sequence, count or "
                                  "distinct_contacts (found '",
                                  kinds[0], "' and '", kinds[1], "')"));
  }
  StageRule rule;
  rule.kind = *KindOf(kinds[0]);
  const std::string kind_path = Key(path, kinds[0]);
  const Json& filters = j.at(kinds[0]);
  if (OneFilterKind(rule.kind)) {
    absl::StatusOr<std::vector<std::string>> actions = ReadStringList(filters, kind_path);
    if (!actions.ok()) return actions.status();
    rule.filters.push_back(*std::move(actions));
  } else {
    if (!filters.is_array()) return WrongType(kind_path, "a list of action lists", filters);
    for (size_t i = 0; i < filters.size(); ++i) {
      absl::StatusOr<std::vector<std::string>> actions =
          ReadStringList(filters[i], Index(kind_path, i));
      if (!actions.ok()) return actions.status();
      rule.filters.push_back(*std::move(actions));
    }
  }
  if (j.contains("within")) {
    absl::StatusOr<int64_t> w = ReadDuration(j.at("within"), Key(path, "within"));
    if (!w.ok()) return w.status();
    rule.within = *w;
  }
  if (j.contains("min")) {
    const std::string min_path = Key(path, "min");
    absl::StatusOr<int64_t> k = ReadInteger(j.at("min"), min_path);
    if (!k.ok()) return k.status();
    if (*k < std::numeric_limits<int32_t>::min() || *k > std::numeric_limits<int32_t>::max()) {
      return Err(min_path, "the integer is out of range");
    }
    rule.min = static_cast<int32_t>(*k);
  }
  if (j.contains("roles")) {
    absl::StatusOr<std::vector<std::string>> roles =
        ReadStringList(j.at("roles"), Key(path, "roles"));
    if (!roles.ok()) return roles.status();
    rule.roles = *std::move(roles);
  }
  if (j.contains("min_amount")) {
    absl::StatusOr<double> v = ReadNumber(j.at("min_amount"), Key(path, "min_amount"));
    if (!v.ok()) return v.status();
    rule.min_amount = *v;
  }
  if (j.contains("max_amount")) {
    absl::StatusOr<double> v = ReadNumber(j.at("max_amount"), Key(path, "max_amount"));
    if (!v.ok()) return v.status();
    rule.max_amount = *v;
  }
  if (to != nullptr) {
    if (!j.contains("to")) return Err(path, "missing key 'to' (the stage to move back to)");
    absl::StatusOr<std::string> target = ReadString(j.at("to"), Key(path, "to"));
    if (!target.ok()) return target.status();
    *to = *std::move(target);
  }
  return rule;
}

absl::StatusOr<std::vector<StageRule>> ReadRules(const Json& j, const std::string& path) {
  if (!j.is_array()) return WrongType(path, "a list of rules", j);
  std::vector<StageRule> rules;
  for (size_t i = 0; i < j.size(); ++i) {
    absl::StatusOr<StageRule> rule = ReadRule(j[i], Index(path, i), nullptr);
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return rules;
}

absl::StatusOr<StallLimit> ReadStall(const Json& j, const std::string& path) {
  StallLimit stall;
  if (j.is_string()) {
    absl::StatusOr<int64_t> d = ReadDuration(j, path);
    if (!d.ok()) return d.status();
    stall.fixed = *d;
    return stall;
  }
  if (!j.is_object()) {
    return WrongType(path, "a duration string or {\"percentile\": p}", j);
  }
  if (absl::Status s = CheckKeys(j, path, {"percentile", "fixed"}); !s.ok()) return s;
  if (j.contains("fixed")) {
    absl::StatusOr<int64_t> d = ReadDuration(j.at("fixed"), Key(path, "fixed"));
    if (!d.ok()) return d.status();
    stall.fixed = *d;
  }
  if (j.contains("percentile")) {
    absl::StatusOr<double> p = ReadNumber(j.at("percentile"), Key(path, "percentile"));
    if (!p.ok()) return p.status();
    stall.percentile = *p;
  }
  return stall;
}

absl::StatusOr<Stage> ReadStage(const Json& j, const std::string& index_path) {
  if (!j.is_object()) return WrongType(index_path, "a stage object", j);
  if (!j.contains("name")) return Err(index_path, "missing key 'name'");
  Stage stage;
  absl::StatusOr<std::string> name = ReadString(j.at("name"), Key(index_path, "name"));
  if (!name.ok()) return name.status();
  stage.name = *std::move(name);
  // From here on errors say which stage by name too: "stages[2] ('Qualified').window".
  const std::string path = absl::StrCat(index_path, " ('", stage.name, "')");
  if (absl::Status s = CheckKeys(j, path, {"name", "rules", "window", "stall", "optional"});
      !s.ok()) {
    return s;
  }
  if (j.contains("rules")) {
    absl::StatusOr<std::vector<StageRule>> rules = ReadRules(j.at("rules"), Key(path, "rules"));
    if (!rules.ok()) return rules.status();
    stage.rules = *std::move(rules);
  }
  if (j.contains("window")) {
    absl::StatusOr<int64_t> w = ReadDuration(j.at("window"), Key(path, "window"));
    if (!w.ok()) return w.status();
    stage.window = *w;
  }
  if (j.contains("stall")) {
    absl::StatusOr<StallLimit> stall = ReadStall(j.at("stall"), Key(path, "stall"));
    if (!stall.ok()) return stall.status();
    stage.stall = *stall;
  }
  if (j.contains("optional")) {
    const Json& o = j.at("optional");
    if (!o.is_boolean()) return WrongType(Key(path, "optional"), "true or false", o);
    stage.optional = o.get<bool>();
  }
  return stage;
}

template <typename E>
absl::StatusOr<E> ReadEnum(const Json& j, const std::string& path,
                           std::initializer_list<std::pair<std::string_view, E>> values) {
  absl::StatusOr<std::string> s = ReadString(j, path);
  if (!s.ok()) return s.status();
  std::vector<std::string> names;
  for (const auto& [name, value] : values) {
    if (name == *s) return value;
    names.emplace_back(name);
  }
  return Err(path, absl::StrCat("unknown value '", *s, "' (expected ",
                                absl::StrJoin(names, " or "), ")"));
}

absl::StatusOr<StageModel> ReadModel(const Json& doc) {
  if (!doc.is_object()) return WrongType("", "the model to be an object", doc);
  // The version first: a newer file's unknown keys are better explained by it.
  if (!doc.contains("version")) {
    return Err("", absl::StrCat("missing key 'version' (this library reads version ",
                                StageModel::kFormatVersion, ")"));
  }
  const Json& version = doc.at("version");
  if (!version.is_number_integer()) return WrongType("version", "an integer", version);
  if (version != StageModel::kFormatVersion) {
    return Err("", absl::StrCat("version ", version.dump(),
                                " is not supported (this library reads version ",
                                StageModel::kFormatVersion, ")"));
  }
  if (absl::Status s = CheckKeys(doc, "",
                                 {"version", "ordering", "regression", "reopen",
                                  "close_stalled_after", "exclude", "stages", "won", "lost",
                                  "regress"});
      !s.ok()) {
    return s;
  }
  StageModel model;
  if (doc.contains("ordering")) {
    absl::StatusOr<Ordering> o = ReadEnum<Ordering>(
        doc.at("ordering"), "ordering", {{"strict", Ordering::kStrict}, {"skip", Ordering::kSkip}});
    if (!o.ok()) return o.status();
    model.SetOrdering(*o);
  }
  if (doc.contains("regression")) {
    absl::StatusOr<Regression> r = ReadEnum<Regression>(
        doc.at("regression"), "regression",
        {{"latch", Regression::kLatch}, {"follow", Regression::kFollow},
         {"record", Regression::kRecord}});
    if (!r.ok()) return r.status();
    model.SetRegression(*r);
  }
  if (doc.contains("reopen")) {
    absl::StatusOr<Reopen> r = ReadEnum<Reopen>(
        doc.at("reopen"), "reopen", {{"never", Reopen::kNever}, {"allow", Reopen::kAllow}});
    if (!r.ok()) return r.status();
    model.SetReopen(*r);
  }
  if (doc.contains("close_stalled_after")) {
    absl::StatusOr<int64_t> h = ReadDuration(doc.at("close_stalled_after"), "close_stalled_after");
    if (!h.ok()) return h.status();
    model.CloseStalledAfter(*h);
  }
  if (doc.contains("exclude")) {
    absl::StatusOr<std::vector<std::string>> ex = ReadStringList(doc.at("exclude"), "exclude");
    if (!ex.ok()) return ex.status();
    model.Exclude(*std::move(ex));
  }
  if (!doc.contains("stages")) return Err("", "missing key 'stages'");
  const Json& stages = doc.at("stages");
  if (!stages.is_array()) return WrongType("stages", "a list of stages", stages);
  for (size_t i = 0; i < stages.size(); ++i) {
    absl::StatusOr<Stage> stage = ReadStage(stages[i], Index("stages", i));
    if (!stage.ok()) return stage.status();
    model.AddStage("") = *std::move(stage);
  }
  if (doc.contains("won")) {
    absl::StatusOr<std::vector<StageRule>> rules = ReadRules(doc.at("won"), "won");
    if (!rules.ok()) return rules.status();
    model.Won().rules = *std::move(rules);
  }
  if (doc.contains("lost")) {
    absl::StatusOr<std::vector<StageRule>> rules = ReadRules(doc.at("lost"), "lost");
    if (!rules.ok()) return rules.status();
    model.Lost().rules = *std::move(rules);
  }
  if (doc.contains("regress")) {
    const Json& regress = doc.at("regress");
    if (!regress.is_array()) return WrongType("regress", "a list of rules", regress);
    for (size_t i = 0; i < regress.size(); ++i) {
      std::string to;
      absl::StatusOr<StageRule> rule = ReadRule(regress[i], Index("regress", i), &to);
      if (!rule.ok()) return rule.status();
      model.Regress(*std::move(rule), std::move(to));
    }
  }
  return model;
}

}  // namespace

absl::StatusOr<StageModel> StageModel::FromJson(std::string_view text) {
  return internal::ReadTree(internal::ParseJsonTree(text), "model", ReadModel);
}

absl::StatusOr<StageModel> StageModel::FromToml(std::string_view text) {
  return internal::ReadTree(internal::ParseTomlTree(text, "model"), "model", ReadModel);
}

}  // namespace salesperf
