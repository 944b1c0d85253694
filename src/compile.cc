// Compile: a StageModel resolved against one EventLog into lookup tables.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl_compat.h"
#include "salesperf/stage_model.h"

namespace salesperf {
namespace {

using internal::Sv;

constexpr uint8_t kGroupStage = 0, kGroupWon = 1, kGroupLost = 2, kGroupRegress = 3;

// "stage 'Qualified', rule 2 (all)": where a rule sits, for error messages (1-based).
// "regress rule 1 (any)" for regress rules, as StageModel::Validate writes them.
std::string Where(std::string_view owner, size_t index, RuleKind kind) {
  const std::string_view sep = owner == "regress" ? " " : ", ";
  return absl::StrCat(Sv(owner), Sv(sep), "rule ", index + 1, " (", Sv(RuleKindName(kind)), ")");
}

absl::Status RuleError(const std::string& where, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", Sv(what)));
}

class Compiler {
 public:
  Compiler(const StageModel& model, const EventLog& log) : model_(model), log_(log) {
    for (int32_t a = 0; a < log.actions().size(); ++a) {
      code_of_[log.actions().strings()[static_cast<size_t>(a)]] = a;
    }
  }

  absl::StatusOr<StageMachine> Run() {
    if (auto s = model_.Validate(); !s.ok()) return s;
    StageMachine& m = machine_;
    const auto& stages = model_.stages();
    m.num_open = static_cast<int32_t>(stages.size());
    for (const Stage& st : stages) {
      m.stage_names.push_back(st.name);
      m.optional.push_back(st.optional ? 1 : 0);
      m.window.push_back(st.window.value_or(std::numeric_limits<int64_t>::max()));
      m.stall.push_back(st.stall.value_or(StallLimit{}));
    }
    m.stage_names.push_back("Won");
    m.stage_names.push_back("Lost");
    m.ordering = model_.ordering();
    m.regression = model_.regression();
    m.reopen = model_.reopen();
    m.close_stalled_after = model_.close_stalled_after().value_or(-1);

    for (size_t s = 0; s < stages.size(); ++s) {
      const std::string owner = absl::StrCat("stage '", stages[s].name, "'");
      if (stages[s].rules.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(owner, " has no rule: it can never be entered"));
      }
      for (size_t r = 0; r < stages[s].rules.size(); ++r) {
        if (auto st = Add(stages[s].rules[r], Where(owner, r, stages[s].rules[r].kind),
                          static_cast<int32_t>(s), kGroupStage);
            !st.ok()) {
          return st;
        }
      }
    }
    for (size_t r = 0; r < model_.won().rules.size(); ++r) {
      const StageRule& rule = model_.won().rules[r];
      if (auto st = Add(rule, Where("Won", r, rule.kind), m.num_open, kGroupWon); !st.ok()) return st;
    }
    for (size_t r = 0; r < model_.lost().rules.size(); ++r) {
      const StageRule& rule = model_.lost().rules[r];
      if (auto st = Add(rule, Where("Lost", r, rule.kind), m.num_open + 1, kGroupLost); !st.ok()) {
        return st;
      }
    }
    for (size_t r = 0; r < model_.regress().size(); ++r) {
      const RegressRule& rr = model_.regress()[r];
      const std::string where = Where("regress", r, rr.rule.kind);
      if (model_.regression() == Regression::kLatch) {
        return RuleError(where, "regress rules can never move a deal under regression 'latch' "
                                "(use 'follow' or 'record')");
      }
      auto target = std::find(m.stage_names.begin(), m.stage_names.begin() + m.num_open, rr.to);
      if (target == m.stage_names.begin() + m.num_open) {
        return RuleError(where, absl::StrCat("moves back to '", rr.to, "', which is not an open stage"));
      }
      if (auto st = Add(rr.rule, where, static_cast<int32_t>(target - m.stage_names.begin()),
                        kGroupRegress);
          !st.ok()) {
        return st;
      }
    }
    // Terminal rules that share an action would both claim the same event.
    absl::flat_hash_set<std::string> won_actions;
    for (const StageRule& rule : model_.won().rules) {
      for (const auto& f : rule.filters) won_actions.insert(f.begin(), f.end());
    }
    for (const StageRule& rule : model_.lost().rules) {
      for (const auto& f : rule.filters) {
        for (const std::string& a : f) {
          if (won_actions.contains(a)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "Won and Lost rules both use action '", a, "': one event cannot both win and lose"));
          }
        }
      }
    }
    m.excluded_action.assign(static_cast<size_t>(log_.actions().size()), 0);
    for (const std::string& a : model_.exclude()) {
      if (!log_.vocabulary().Resolve(a)) {
        return absl::InvalidArgumentError(
            absl::StrCat("exclusion action '", a, "' is not in the vocabulary"));
      }
      referenced_.insert(a);
      if (auto it = code_of_.find(a); it != code_of_.end()) {
        m.excluded_action[static_cast<size_t>(it->second)] = 1;
      }
    }
    BuildIndex();
    for (int32_t a = 0; a < log_.actions().size(); ++a) {
      const std::string& name = log_.actions().strings()[static_cast<size_t>(a)];
      if (log_.actor(a) == Actor::kBuyer && !referenced_.contains(name)) {
        m.unused_buyer_actions.push_back(name);
      }
    }
    return std::move(machine_);
  }

 private:
  absl::Status Add(const StageRule& rule, const std::string& where, int32_t target, uint8_t group) {
    CompiledRule c;
    c.kind = rule.kind;
    c.within = rule.within.value_or(std::numeric_limits<int64_t>::max());
    c.min = rule.min;
    c.target = target;
    c.min_amount = rule.min_amount.value_or(-std::numeric_limits<double>::infinity());
    c.max_amount = rule.max_amount.value_or(std::numeric_limits<double>::infinity());
    c.has_amount_condition = rule.min_amount.has_value() || rule.max_amount.has_value();
    c.has_role_condition = !rule.roles.empty();
    if (c.has_amount_condition && log_.amount().empty()) {
      return RuleError(where, "has an amount condition, but the log has no amount column");
    }
    if (rule.kind == RuleKind::kDistinctContacts && log_.contact().empty()) {
      return RuleError(where, "counts distinct contacts, but the log has no contact column");
    }
    if (!rule.roles.empty()) {
      if (log_.contact_role().empty()) {
        return RuleError(where, "has a role condition, but the log has no contact_role column");
      }
      c.role_ok.assign(static_cast<size_t>(log_.contact_roles().size()), 0);
      for (const std::string& role : rule.roles) {
        if (auto code = log_.contact_roles().Find(role)) c.role_ok[static_cast<size_t>(*code)] = 1;
      }
    }
    for (const auto& filter : rule.filters) {
      CompiledFilter f;
      for (const std::string& name : filter) {
        const std::optional<Actor> actor = log_.vocabulary().Resolve(name);
        if (!actor) return RuleError(where, absl::StrCat("action '", name, "' is not in the vocabulary"));
        if (*actor == Actor::kSeller) {
          return RuleError(where, absl::StrCat("action '", name,
                                               "' is a seller action: seller activity is effort, "
                                               "not progress, and never advances a stage"));
        }
        referenced_.insert(name);
        if (auto it = code_of_.find(name); it != code_of_.end()) f.actions.push_back(it->second);
      }
      std::sort(f.actions.begin(), f.actions.end());
      f.actions.erase(std::unique(f.actions.begin(), f.actions.end()), f.actions.end());
      c.filters.push_back(std::move(f));
    }
    machine_.rules.push_back(std::move(c));
    machine_.rule_group.push_back(group);
    return absl::OkStatus();
  }

  void BuildIndex() {
    const size_t num_actions = static_cast<size_t>(log_.actions().size());
    std::vector<std::vector<int32_t>> by_action(num_actions);
    for (size_t r = 0; r < machine_.rules.size(); ++r) {
      for (const CompiledFilter& f : machine_.rules[r].filters) {
        for (int32_t a : f.actions) {
          auto& list = by_action[static_cast<size_t>(a)];
          if (list.empty() || list.back() != static_cast<int32_t>(r)) list.push_back(static_cast<int32_t>(r));
        }
      }
    }
    machine_.rule_offsets.assign(num_actions + 1, 0);
    for (size_t a = 0; a < num_actions; ++a) {
      machine_.rule_offsets[a + 1] = machine_.rule_offsets[a] + static_cast<int32_t>(by_action[a].size());
      machine_.rule_index.insert(machine_.rule_index.end(), by_action[a].begin(), by_action[a].end());
    }
  }

  const StageModel& model_;
  const EventLog& log_;
  StageMachine machine_;
  absl::flat_hash_map<std::string, int32_t> code_of_;
  absl::flat_hash_set<std::string> referenced_;
};

}  // namespace

absl::StatusOr<StageMachine> Compile(const StageModel& model, const EventLog& log) {
  return Compiler(model, log).Run();
}

}  // namespace salesperf
