// The document-reading layer shared by stage_model.cc and practices.cc: see
// document_tree.h.
#include "document_tree.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace salesperf::internal {

absl::Status Err(const std::string& path, std::string_view why) {
  if (path.empty()) return absl::InvalidArgumentError(Sv(why));
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", Sv(why)));
}

std::string Key(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", Sv(key));
}

std::string Index(const std::string& path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

std::string TypeName(const Json& j, std::string_view object) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number_float()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "a list";
  if (j.is_object()) return std::string(object);
  return "null";
}

absl::Status WrongType(const std::string& path, std::string_view expected, const Json& j,
                       std::string_view object) {
  return Err(path, absl::StrCat("expected ", Sv(expected), ", got ", TypeName(j, object)));
}

absl::Status CheckKeys(const Json& obj, const std::string& path,
                       std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return Err(path, absl::StrCat("unknown key '", key, "'"));
  }
  return absl::OkStatus();
}

namespace {

// toml++'s tree to the JSON tree the readers read. Dates and times have no meaning in
// either document, so they stop here with their place in the file.
absl::StatusOr<Json> TomlToTree(const toml::node& node, const std::string& path) {
  if (const toml::table* t = node.as_table()) {
    Json j = Json::object();
    for (const auto& [key, value] : *t) {
      absl::StatusOr<Json> v = TomlToTree(value, Key(path, key.str()));
      if (!v.ok()) return v.status();
      j[std::string(key.str())] = *std::move(v);
    }
    return j;
  }
  if (const toml::array* a = node.as_array()) {
    Json j = Json::array();
    for (size_t i = 0; i < a->size(); ++i) {
      absl::StatusOr<Json> v = TomlToTree((*a)[i], Index(path, i));
      if (!v.ok()) return v.status();
      j.push_back(*std::move(v));
    }
    return j;
  }
  if (const auto* s = node.as_string()) return Json(s->get());
  if (const auto* i = node.as_integer()) return Json(i->get());
  if (const auto* f = node.as_floating_point()) return Json(f->get());
  if (const auto* b = node.as_boolean()) return Json(b->get());
  return Err(path, absl::StrCat("a TOML date or time is not valid here (line ",
                                node.source().begin.line, ")"));
}

// 1-based line and column of the byte at `offset` (0-based) in `text`.
std::pair<size_t, size_t> LineColumn(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

// nlohmann's messages read "[json.exception.parse_error.101] parse error at line 1,
// column 2: syntax error while ..."; keep what follows the position.
std::string JsonErrorDetail(std::string_view what) {
  size_t at = what.find("parse error");
  if (at != std::string_view::npos) at = what.find(": ", at);
  if (at == std::string_view::npos) {
    const size_t bracket = what.find("] ");
    return std::string(bracket == std::string_view::npos ? what : what.substr(bracket + 2));
  }
  return std::string(what.substr(at + 2));
}

}  // namespace

absl::StatusOr<Json> ParseJsonTree(std::string_view text) {
  Json doc;
  // nlohmann keeps the last of two equal keys without a word; a document with a
  // repeated key is a mistake worth reporting. A stack of the keys seen per object.
  std::vector<std::set<std::string>> keys_seen;
  std::string duplicate;
  try {
    doc = Json::parse(
        text.begin(), text.end(),
        [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
          switch (event) {
            case Json::parse_event_t::object_start: keys_seen.emplace_back(); break;
            case Json::parse_event_t::object_end:
              if (!keys_seen.empty()) keys_seen.pop_back();
              break;
            case Json::parse_event_t::key:
              if (!keys_seen.empty() && duplicate.empty() &&
                  !keys_seen.back().insert(parsed.get<std::string>()).second) {
                duplicate = parsed.get<std::string>();
              }
              break;
            default: break;
          }
          return true;
        });
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based position of the byte where parsing stopped.
    const auto [line, column] = LineColumn(text, e.byte == 0 ? 0 : e.byte - 1);
    return absl::InvalidArgumentError(
        absl::StrCat("JSON: line ", line, ", column ", column, ": ", JsonErrorDetail(e.what())));
  } catch (const std::exception& e) {  // e.g. out_of_range for 1e400
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", JsonErrorDetail(e.what())));
  }
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON: key '", duplicate, "' appears twice in one object"));
  }
  return doc;
}

absl::StatusOr<Json> ParseTomlTree(std::string_view text, std::string_view what) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("TOML: line ", e.source().begin.line,
                                                   ", column ", e.source().begin.column, ": ",
                                                   Sv(e.description())));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("TOML: ", e.what()));
  }
  try {
    return TomlToTree(table, "");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading the ", Sv(what), ": ", e.what()));
  }
}

}  // namespace salesperf::internal
