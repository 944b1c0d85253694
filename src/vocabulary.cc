#include "salesperf/vocabulary.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"

namespace salesperf {

using internal::Sv;

std::string_view ActorName(Actor actor) {
  switch (actor) {
    case Actor::kBuyer: return "buyer";
    case Actor::kSeller: return "seller";
    case Actor::kSystem: return "system";
  }
  return "unknown";
}

absl::StatusOr<Actor> ParseActor(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(Sv(name)));
  if (lower == "buyer") return Actor::kBuyer;
  if (lower == "seller") return Actor::kSeller;
  if (lower == "system") return Actor::kSystem;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown actor '", Sv(name), "': expected buyer, seller or system"));
}

absl::Status Vocabulary::Add(std::string_view action, Actor actor) {
  if (action.empty()) return absl::InvalidArgumentError("vocabulary: an action name is empty");
  auto [it, inserted] = exact_.try_emplace(std::string(action), actor);
  if (!inserted) {
    if (it->second == actor) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "vocabulary: action '", Sv(action), "' is listed as both ", Sv(ActorName(it->second)),
        " and ", Sv(ActorName(actor))));
  }
  actions_.emplace_back(std::string(action), actor);
  return absl::OkStatus();
}

absl::Status Vocabulary::AddPrefix(std::string_view prefix, Actor actor) {
  if (prefix.empty()) return absl::InvalidArgumentError("vocabulary: a prefix rule is empty");
  for (const PrefixRule& rule : prefixes_) {
    if (rule.prefix != prefix) continue;
    if (rule.actor == actor) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("vocabulary: prefix '", Sv(prefix), "' is given as both ",
                                                   Sv(ActorName(rule.actor)), " and ", Sv(ActorName(actor))));
  }
  prefixes_.push_back(PrefixRule{std::string(prefix), actor});
  return absl::OkStatus();
}

bool Vocabulary::IsListed(std::string_view action) const {
  return exact_.contains(Sv(action));
}

std::optional<Actor> Vocabulary::Resolve(std::string_view action) const {
  if (auto it = exact_.find(Sv(action)); it != exact_.end()) return it->second;
  const PrefixRule* best = nullptr;
  for (const PrefixRule& rule : prefixes_) {
    if (absl::StartsWith(Sv(action), rule.prefix) &&
        (best == nullptr || rule.prefix.size() > best->prefix.size())) {
      best = &rule;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->actor;
}

}  // namespace salesperf
