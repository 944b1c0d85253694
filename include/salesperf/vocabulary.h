// salesperf/vocabulary.h — which actions exist, and who performs each one.
//
// Every event's action has an actor: the buyer (progress is defined by these),
// the seller (effort), or the system (the CRM, a back office, an automated rule).
// The vocabulary is explicit. An action is known when
//   1. it is listed by name (exact, case-sensitive match), or else
//   2. it starts with a prefix listed in a prefix rule; the longest matching
//      prefix wins (so "O_SENT_BACK" can be buyer while "O_" is system).
// Anything else is unknown: ingestion rejects such rows with the reason
// kUnknownAction and reports each unknown action name; nothing is guessed.
//
//   salesperf::Vocabulary v;
//   v.Add("reply", salesperf::Actor::kBuyer);
//   v.AddPrefix("W_", salesperf::Actor::kSeller);
//   v.Resolve("W_call");  // Actor::kSeller, via the prefix rule
#ifndef SALESPERF_VOCABULARY_H_
#define SALESPERF_VOCABULARY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesperf {

enum class Actor : uint8_t { kBuyer = 0, kSeller = 1, kSystem = 2 };
inline constexpr int kNumActors = 3;

// "buyer", "seller", "system".
std::string_view ActorName(Actor actor);
// Parses "buyer" / "seller" / "system" (case-insensitive).
absl::StatusOr<Actor> ParseActor(std::string_view name);

class Vocabulary {
 public:
  struct PrefixRule {
    std::string prefix;
    Actor actor;
    friend bool operator==(const PrefixRule&, const PrefixRule&) = default;
  };

  // Lists `action` with its actor. Listing the same name twice with different
  // actors is an InvalidArgument error naming the action; an empty name too.
  absl::Status Add(std::string_view action, Actor actor);
  // Adds a prefix rule. An empty prefix, or one listed twice with different
  // actors, is an InvalidArgument error.
  absl::Status AddPrefix(std::string_view prefix, Actor actor);

  // The actor of `action` by the rules above, or nullopt when unknown.
  std::optional<Actor> Resolve(std::string_view action) const;
  // True when `action` is listed by name (not only matched by a prefix).
  bool IsListed(std::string_view action) const;

  const std::vector<std::pair<std::string, Actor>>& actions() const { return actions_; }
  const std::vector<PrefixRule>& prefixes() const { return prefixes_; }
  bool empty() const { return actions_.empty() && prefixes_.empty(); }

  friend bool operator==(const Vocabulary& a, const Vocabulary& b) {
    return a.actions_ == b.actions_ && a.prefixes_ == b.prefixes_;
  }

 private:
  std::vector<std::pair<std::string, Actor>> actions_;  // in the order listed
  absl::flat_hash_map<std::string, Actor> exact_;
  std::vector<PrefixRule> prefixes_;
};

}  // namespace salesperf

#endif  // SALESPERF_VOCABULARY_H_
