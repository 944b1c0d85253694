// salesperf/dictionary.h — dense integer ids and the original values behind them.
//
// Every identifier in an EventLog (deal, rep, account, contact, role, action and
// each extra dimension) is stored as a dense int32 code 0..n-1, with -1 for "absent".
// A Dictionary maps a code back to the value the caller gave: a string, or an
// int64 when the input ids were integers.
//
//   salesperf::Dictionary reps = salesperf::Dictionary::Strings({"ana", "bo"});
//   reps.Label(1);        // "bo"
//   reps.Find("ana");     // 0
#ifndef SALESPERF_DICTIONARY_H_
#define SALESPERF_DICTIONARY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace salesperf {

// The code used for a missing (null) identifier in every id column.
inline constexpr int32_t kNullCode = -1;

class Dictionary {
 public:
  enum class Kind : uint8_t { kString, kInt64 };

  Dictionary() = default;  // an empty string dictionary
  static Dictionary Strings(std::vector<std::string> values);
  static Dictionary Ints(std::vector<int64_t> values);

  Kind kind() const { return kind_; }
  bool is_integer() const { return kind_ == Kind::kInt64; }
  int32_t size() const {
    return static_cast<int32_t>(kind_ == Kind::kInt64 ? ints_.size() : strings_.size());
  }
  bool empty() const { return size() == 0; }

  // The stored values; only the one matching kind() is non-empty.
  const std::vector<std::string>& strings() const { return strings_; }
  const std::vector<int64_t>& ints() const { return ints_; }

  // The value of `code` as text ("" for kNullCode or a code out of range).
  std::string Label(int32_t code) const;

  // The code of a value, matching text against integer dictionaries too.
  // Linear in size(): meant for look-ups by people, not for hot loops.
  std::optional<int32_t> Find(std::string_view value) const;
  std::optional<int32_t> Find(int64_t value) const;

  friend bool operator==(const Dictionary&, const Dictionary&) = default;

 private:
  Kind kind_ = Kind::kString;
  std::vector<std::string> strings_;
  std::vector<int64_t> ints_;
};

// Dictionary-encodes strings in order of first appearance, for C++ callers whose
// ids are text.  codes[i] indexes labels.
struct EncodedStrings {
  std::vector<int64_t> codes;
  std::vector<std::string> labels;
};
EncodedStrings EncodeStrings(std::span<const std::string> values);
EncodedStrings EncodeStrings(std::span<const std::string_view> values);

}  // namespace salesperf

#endif  // SALESPERF_DICTIONARY_H_
