// salesperf/stage_model.h — sales stages defined by buyer behaviour: the declarative
// StageModel, its file forms (JSON and TOML), and its compilation against an event log.
//
//   salesperf::StageModel model;
//   model.AddStage("Lead").Any({"opportunity_created"});
//   model.AddStage("Engaged").DistinctContacts({"reply"}, 2, Days(14));
//   model.AddStage("Qualified").All({{"state_need"}, {"share_budget"}}, Days(30));
//   model.AddStage("Proposal").Any({"request_proposal"});
//   model.Won().Any({"sign"});
//   model.Lost().Any({"decline"});
//   absl::StatusOr<salesperf::StageMachine> machine = salesperf::Compile(model, log);
//
// A stage is a fact about the buyer: rules may name buyer and system actions (a CRM
// or a back office deciding), never seller actions — seller activity is effort, not
// progress, and Compile rejects it.
//
// ===================================================================================
// SEMANTICS (docs/semantics.md has worked examples; tests hold both to this text)
// ===================================================================================
// A deal's events are read in log order (time, then input order). For each event e:
//
// Filters and rules. A filter matches e when e's action is one of its actions, and,
// if the rule lists roles, e's contact role is one of them, and, if the rule has
// min_amount / max_amount, e's amount is a number within them (inclusive). A rule
// FIRES AT e when e matches one of its filters and (t = time, "x <= e" = x is e or an
// earlier event of the deal, W = the rule's `within`, infinite when absent):
//   any(F)                 true.
//   all(F1..Fm, W)         for every j there is x <= e matching Fj with t(e)-t(x) <= W.
//   sequence(F1..Fm, W)    e matches Fm, and there are events x1 < x2 < ... < x(m-1) < e
//                          with xi matching Fi and t(e) - t(x1) <= W.
//   count(F, k, W)         at least k events x <= e match F with t(e) - t(x) <= W.
//   distinct_contacts(F, k, W)  e has a contact, and the events x <= e matching F with
//                          t(e) - t(x) <= W come from at least k distinct contacts.
// A stage is entered at e when one of its rules fires at e (subject to the policies);
// Won and Lost likewise with their own rules.
//
// Order of evaluation at each event e of a deal:
//   1. An excluded deal ignores everything. If e's action is an exclusion action, the
//      deal is excluded at t(e) (transition kind kExcluded) and reads no further.
//   2. A closed (won or lost) deal ignores e, unless reopen = kAllow and an open
//      stage's rule fires at e: then it is reopened into the highest such stage
//      (kind kReopened) and is open again.
//   3. If a Lost rule fires, the deal is lost at t(e), its reason e's action (kLost);
//      else if a Won rule fires, it is won (kWon). Terminal rules apply from any open
//      stage, and from no stage at all, whatever the ordering policy.
//   4. If regress rules fire whose target stage is below the current stage, the lowest
//      such target counts: under
//      kLatch nothing happens; under kFollow the current stage becomes the target
//      (no transition row); under kRecord likewise, with a kRegressed transition.
//   5. Of the open stages above the current one whose rules fire at e, the deal enters
//      the highest one it may: under kSkip any; under kStrict only the next stage, or
//      one further up when every stage in between is optional. The transition is
//      kProgressed to the next stage, kSkipped when stages were passed over. A rule of
//      a stage at or below the current one never moves the deal (use regress rules).
//   Only one of 2-5 changes the deal per event, in that order of precedence.
// A deal with no stage yet has current stage -1 ("none").
//
// Bookkeeping. Each change is a transition (from, to, time, kind, the event's
// action), except kFollow moves. first_entered[s] is the first time the deal entered
// s (open stages, Won, Lost); last_left[s] the last time it left s by any change,
// kFollow moves included (a reopen leaves Won or Lost). A deal's current stage is the
// open stage it is in, or, once closed, the open stage it closed from (-1 if none);
// a reopened deal's visit to its new stage starts at the reopening.
//
// Conversion windows. A stage s with window W converts a visit entered at time a when
// the deal leaves it upwards (to a higher stage, or Won) at a time <= a + W; the
// transition out carries in_window = false otherwise (every other transition: true). Moves are never undone by a
// window: the buyer did act. (ClickHouse's windowFunnel stops at the window instead;
// see docs/semantics.md.)
//
// Stalls, judged at `as_of` (RunOptions; default: the log's last event time). An open
// deal in stage s is stalled when as_of - quiet_since > limit(s), where quiet_since is
// the later of its entry into s and its last buyer action. limit(s) is fixed, or the
// p-th percentile (linear interpolation, as numpy's default, rounded down to whole
// nanoseconds) of the durations of completed visits to s across all deals in the run
// (a visit is completed when the deal leaves s by any change but an exclusion);
// no completed visit means no limit. A deal with no stage never stalls. With
// close_stalled_after H, a deal with as_of >= quiet_since + limit(s) + H is lost at
// that time with reason "stalled" (a kLost transition with no action).
//
// The deal's value is the last non-missing amount among all its events. An exclusion
// is a transition from the current stage (Won or Lost for a closed deal) to -1.
#ifndef SALESPERF_STAGE_MODEL_H_
#define SALESPERF_STAGE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/event_log.h"

namespace salesperf {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t Seconds(int64_t s) { return s * kNanosPerSecond; }
constexpr int64_t Hours(int64_t h) { return h * 3600 * kNanosPerSecond; }
constexpr int64_t Days(int64_t d) { return d * 86'400 * kNanosPerSecond; }
// "30d", "12h", "90m", "45s", "2w" (also combined, "1d12h") to nanoseconds.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);
// The shortest text ParseDuration reads back to `ns` (e.g. "30d", "1d12h", "0s").
std::string FormatDuration(int64_t ns);

enum class RuleKind : uint8_t { kAny, kAll, kSequence, kCount, kDistinctContacts };
std::string_view RuleKindName(RuleKind kind);  // "any", "all", ...

struct StageRule {
  RuleKind kind = RuleKind::kAny;
  // kAny, kCount, kDistinctContacts: one filter; kAll, kSequence: one per step.
  std::vector<std::vector<std::string>> filters;
  std::optional<int64_t> within;     // W, nanoseconds
  int32_t min = 1;                   // k, for kCount and kDistinctContacts
  std::vector<std::string> roles;    // empty: any role (or none)
  std::optional<double> min_amount;
  std::optional<double> max_amount;
  friend bool operator==(const StageRule&, const StageRule&) = default;
};

// A stall limit: fixed, or a percentile of the normal time in the stage.
struct StallLimit {
  std::optional<int64_t> fixed;        // nanoseconds
  std::optional<double> percentile;    // in (0, 100]
  friend bool operator==(const StallLimit&, const StallLimit&) = default;
};

struct Stage {
  std::string name;
  std::vector<StageRule> rules;  // entered when any fires
  bool optional = false;         // may be passed over under kStrict
  std::optional<int64_t> window;  // conversion window, nanoseconds
  std::optional<StallLimit> stall;

  // Builder helpers: each appends a rule and returns *this.
  Stage& Any(std::vector<std::string> actions);
  Stage& All(std::vector<std::vector<std::string>> steps, std::optional<int64_t> within = {});
  Stage& Sequence(std::vector<std::vector<std::string>> steps, std::optional<int64_t> within = {});
  Stage& Count(std::vector<std::string> actions, int32_t k, std::optional<int64_t> within = {});
  Stage& DistinctContacts(std::vector<std::string> actions, int32_t k,
                          std::optional<int64_t> within = {});
  // Conditions on the rule added last.
  Stage& Roles(std::vector<std::string> roles);
  Stage& Amount(std::optional<double> min, std::optional<double> max);
  Stage& Optional(bool optional = true);
  Stage& Window(int64_t window);
  Stage& StallAfter(int64_t limit);
  Stage& StallAtPercentile(double p);

  friend bool operator==(const Stage&, const Stage&) = default;
};

struct RegressRule {
  StageRule rule;
  std::string to;  // the stage the deal moves back to
  friend bool operator==(const RegressRule&, const RegressRule&) = default;
};

enum class Ordering : uint8_t { kStrict, kSkip };
enum class Regression : uint8_t { kLatch, kFollow, kRecord };
enum class Reopen : uint8_t { kNever, kAllow };

class StageModel {
 public:
  static constexpr int kFormatVersion = 1;

  Stage& AddStage(std::string name);
  Stage& Won() { return won_; }
  Stage& Lost() { return lost_; }
  StageModel& Regress(StageRule rule, std::string to);
  StageModel& Exclude(std::vector<std::string> actions);
  StageModel& SetOrdering(Ordering o) { ordering_ = o; return *this; }
  StageModel& SetRegression(Regression r) { regression_ = r; return *this; }
  StageModel& SetReopen(Reopen r) { reopen_ = r; return *this; }
  StageModel& CloseStalledAfter(std::optional<int64_t> horizon) { close_stalled_after_ = horizon; return *this; }

  const std::vector<Stage>& stages() const { return stages_; }
  std::vector<Stage>& mutable_stages() { return stages_; }
  const Stage& won() const { return won_; }
  const Stage& lost() const { return lost_; }
  const std::vector<RegressRule>& regress() const { return regress_; }
  const std::vector<std::string>& exclude() const { return exclude_; }
  Ordering ordering() const { return ordering_; }
  Regression regression() const { return regression_; }
  Reopen reopen() const { return reopen_; }
  std::optional<int64_t> close_stalled_after() const { return close_stalled_after_; }

  // Checks what can be checked without a log: names, rule shapes, windows, policies.
  // Errors name the stage and the rule ("stage 'Qualified', rule 2 (all): ...").
  absl::Status Validate() const;

  // File forms. Both carry "version"; reading an unknown version is an error. A
  // model round-trips: FromJson(ToJson(m)) == m, and likewise for TOML.
  std::string ToJson() const;
  std::string ToToml() const;
  static absl::StatusOr<StageModel> FromJson(std::string_view text);
  static absl::StatusOr<StageModel> FromToml(std::string_view text);

  friend bool operator==(const StageModel&, const StageModel&) = default;

 private:
  std::vector<Stage> stages_;
  Stage won_{"Won", {}, false, {}, {}};
  Stage lost_{"Lost", {}, false, {}, {}};
  std::vector<RegressRule> regress_;
  std::vector<std::string> exclude_;
  Ordering ordering_ = Ordering::kStrict;
  Regression regression_ = Regression::kLatch;
  Reopen reopen_ = Reopen::kNever;
  std::optional<int64_t> close_stalled_after_;
};

// ---- Compilation ---------------------------------------------------------------

// A filter with action names resolved to the log's action codes.
struct CompiledFilter {
  std::vector<int32_t> actions;  // sorted
  friend bool operator==(const CompiledFilter&, const CompiledFilter&) = default;
};

struct CompiledRule {
  RuleKind kind;
  std::vector<CompiledFilter> filters;
  int64_t within;                  // INT64_MAX when absent
  int32_t min;
  bool has_role_condition;
  std::vector<uint8_t> role_ok;    // per contact-role code: 1 if allowed
  double min_amount, max_amount;   // -inf / +inf when absent
  bool has_amount_condition;
  int32_t target;                  // the stage it enters (or moves back to)
  friend bool operator==(const CompiledRule&, const CompiledRule&) = default;
};

// The model as tables over one log's action codes: which rules each action can fire.
struct StageMachine {
  std::vector<std::string> stage_names;  // open stages, then "Won", "Lost"
  int32_t num_open = 0;                  // Won = num_open, Lost = num_open + 1
  std::vector<uint8_t> optional;
  std::vector<int64_t> window;           // per open stage; INT64_MAX = none
  std::vector<StallLimit> stall;         // per open stage (both empty = none)
  std::vector<CompiledRule> rules;       // stage, won, lost and regress rules
  std::vector<uint8_t> rule_group;       // 0 stage entry, 1 won, 2 lost, 3 regress
  // CSR by action code: rules that action a can take part in are
  // rule_index[rule_offsets[a] .. rule_offsets[a + 1]).
  std::vector<int32_t> rule_offsets;
  std::vector<int32_t> rule_index;
  std::vector<uint8_t> excluded_action;  // per action code
  Ordering ordering = Ordering::kStrict;
  Regression regression = Regression::kLatch;
  Reopen reopen = Reopen::kNever;
  int64_t close_stalled_after = -1;      // -1 = never close
  // Buyer actions present in the log that no rule, regress rule or exclusion names.
  std::vector<std::string> unused_buyer_actions;
};

// Resolves `model` against `log`'s actions and columns. Errors (InvalidArgument,
// naming the stage and the rule): an action no vocabulary knows; a seller action in a
// rule; a stage that has no rule (it can never be entered); a rule that can never
// fire (k < 1, an empty filter, a role condition on a log without contact roles, an
// amount condition on a log without amounts, distinct contacts on a log without
// contacts, min_amount > max_amount, a window <= 0); a regress rule under kLatch or
// to an unknown stage (a cycle where none is allowed); Won and Lost rules that share
// an action (conflicting terminal rules). Actions of the model absent from this log
// are fine: they simply never occur.
absl::StatusOr<StageMachine> Compile(const StageModel& model, const EventLog& log);

}  // namespace salesperf

#endif  // SALESPERF_STAGE_MODEL_H_
