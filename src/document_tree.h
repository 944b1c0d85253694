// Internal: the document-reading layer shared by the stage model (stage_model.cc) and
// the practice instrument (practices.cc). Both file forms are read through one path:
// JSON is parsed by nlohmann, TOML by toml++ and converted to the same JSON tree, so
// the key checks and error messages are the same for both.
#ifndef SALESPERF_SRC_DOCUMENT_TREE_H_
#define SALESPERF_SRC_DOCUMENT_TREE_H_

#include <cstddef>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"

namespace salesperf::internal {

// Key order is kept, so that CheckKeys reports the first unknown key in document order.
using Json = nlohmann::ordered_json;

// InvalidArgument "<path>: <why>", or just "<why>" at the top (empty path).
absl::Status Err(const std::string& path, std::string_view why);

// The path of `key` under `path` ("a.b"), and of element `i` of `path` ("a[2]").
std::string Key(const std::string& path, std::string_view key);
std::string Index(const std::string& path, size_t i);

// How `j`'s type reads in a message: "an integer", "a list", ...; an object reads as
// `object` ("an object" for the stage model, "a table" for the TOML-first instrument).
std::string TypeName(const Json& j, std::string_view object = "an object");

// "<path>: expected <expected>, got <TypeName(j, object)>".
absl::Status WrongType(const std::string& path, std::string_view expected, const Json& j,
                       std::string_view object = "an object");

// The first key of `obj` not in `allowed`, in document order (JSON) or key order (TOML).
absl::Status CheckKeys(const Json& obj, const std::string& path,
                       std::initializer_list<std::string_view> allowed);

// Parses JSON text. Syntax errors read "JSON: line L, column C: ..."; a key repeated
// in one object (which nlohmann would keep the last of silently) is an error too.
absl::StatusOr<Json> ParseJsonTree(std::string_view text);

// Parses TOML text and converts it to the tree ParseJsonTree gives. Syntax errors read
// "TOML: line L, column C: ..."; a date or time is an error with its path and line. An
// exception in the conversion (a bug) becomes InternalError "reading the <what>: ...".
absl::StatusOr<Json> ParseTomlTree(std::string_view text, std::string_view what);

// `read(*tree)` if `tree` parsed, else its error. `read` returns an absl::StatusOr; an
// exception escaping it (a bug in the reader) becomes InternalError
// "reading the <what>: ..." rather than leaving the library.
template <typename Read>
auto ReadTree(const absl::StatusOr<Json>& tree, std::string_view what, Read&& read)
    -> std::invoke_result_t<Read&, const Json&> {
  if (!tree.ok()) return tree.status();
  try {
    return read(*tree);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading the ", Sv(what), ": ", e.what()));
  }
}

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_DOCUMENT_TREE_H_
