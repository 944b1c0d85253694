#include "salesperf/dictionary.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"

namespace salesperf {

Dictionary Dictionary::Strings(std::vector<std::string> values) {
  Dictionary d;
  d.kind_ = Kind::kString;
  d.strings_ = std::move(values);
  return d;
}

Dictionary Dictionary::Ints(std::vector<int64_t> values) {
  Dictionary d;
  d.kind_ = Kind::kInt64;
  d.ints_ = std::move(values);
  return d;
}

std::string Dictionary::Label(int32_t code) const {
  if (code < 0 || code >= size()) return "";
  if (kind_ == Kind::kInt64) return absl::StrCat(ints_[static_cast<size_t>(code)]);
  return strings_[static_cast<size_t>(code)];
}

std::optional<int32_t> Dictionary::Find(std::string_view value) const {
  if (kind_ == Kind::kInt64) {
    int64_t v;
    if (!absl::SimpleAtoi(internal::Sv(value), &v)) return std::nullopt;
    return Find(v);
  }
  for (size_t i = 0; i < strings_.size(); ++i) {
    if (strings_[i] == value) return static_cast<int32_t>(i);
  }
  return std::nullopt;
}

std::optional<int32_t> Dictionary::Find(int64_t value) const {
  if (kind_ == Kind::kString) {
    const std::string text = absl::StrCat(value);
    return Find(std::string_view(text));
  }
  for (size_t i = 0; i < ints_.size(); ++i) {
    if (ints_[i] == value) return static_cast<int32_t>(i);
  }
  return std::nullopt;
}

namespace {
template <typename S>
EncodedStrings Encode(std::span<const S> values) {
  EncodedStrings out;
  out.codes.reserve(values.size());
  absl::flat_hash_map<absl::string_view, int64_t> index;
  for (const S& v : values) {
    auto [it, inserted] = index.try_emplace(absl::string_view(v.data(), v.size()), static_cast<int64_t>(index.size()));
    if (inserted) out.labels.emplace_back(v);
    out.codes.push_back(it->second);
  }
  return out;
}
}  // namespace

EncodedStrings EncodeStrings(std::span<const std::string> values) { return Encode(values); }
EncodedStrings EncodeStrings(std::span<const std::string_view> values) { return Encode(values); }

}  // namespace salesperf
