// FindDealWarnings: per open or stalled deal, the warning signs a manager acts on.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "salesperf/indicators.h"
#include "salesperf/stats.h"

namespace salesperf {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNanosPerDay = 86'400e9;

bool IsSet(int64_t t) { return t != kNullInstant; }

// b - a, 0 when negative, saturated at INT64_MAX.
int64_t Span(int64_t a, int64_t b) {
  const Int128 d = static_cast<Int128>(b) - static_cast<Int128>(a);
  if (d < 0) return 0;
  if (d > static_cast<Int128>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(d);
}

absl::Status CheckFits(const EventLog& log, const Timelines& t) {
  const auto deals = static_cast<size_t>(log.num_deals());
  const auto stages = static_cast<size_t>(t.num_stages());
  if (t.num_open < 0 || t.num_stages() != t.num_open + 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "timelines have ", t.num_stages(), " stages for ", t.num_open, " open stages"));
  }
  if (t.current_stage.size() != deals || t.outcome.size() != deals ||
      t.outcome_time.size() != deals || t.quiet_since.size() != deals ||
      t.first_entered.size() != deals * stages || t.last_left.size() != deals * stages) {
    return absl::FailedPreconditionError(absl::StrCat(
        "timelines do not fit the log: ", t.outcome.size(), " deals for the log's ", deals));
  }
  if (t.stall_limit.size() != static_cast<size_t>(t.num_open)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "timelines have ", t.stall_limit.size(), " stall limits for ", t.num_open, " open stages"));
  }
  for (size_t d = 0; d < deals; ++d) {
    if (t.current_stage[d] < -1 || t.current_stage[d] >= t.num_open) {
      return absl::FailedPreconditionError(
          absl::StrCat("deal ", d, " has current stage ", t.current_stage[d]));
    }
  }
  return absl::OkStatus();
}

// The Kaplan–Meier `q` quantile of the time in each open stage over every deal, in
// nanoseconds (nullopt: not reached). A visit as in indicators.h (and as the
// accumulator's time-in-stage histograms count it): from fe[k] to the first later
// first entry of a higher stage (Won and Lost included), observed; else, when the
// deal was excluded from k, censored at the exclusion; else to last_left[k] when it is
// >= fe[k], observed; else censored at the exclusion (excluded deals) or at as_of.
absl::StatusOr<std::vector<std::optional<int64_t>>> StagePercentiles(const Timelines& t,
                                                                     double q) {
  const auto stages = static_cast<size_t>(t.num_stages());
  const auto num_open = static_cast<size_t>(t.num_open);
  // The stage each deal was excluded from (-2: not excluded), from its transitions.
  std::vector<int32_t> excluded_from(t.outcome.size(), -2);
  for (size_t i = 0; i < t.transitions.size(); ++i) {
    const int32_t d = t.transitions.deal[i];
    if (static_cast<TransitionKind>(t.transitions.kind[i]) == TransitionKind::kExcluded && d >= 0 &&
        static_cast<size_t>(d) < excluded_from.size()) {
      excluded_from[static_cast<size_t>(d)] = t.transitions.from[i];
    }
  }
  std::vector<std::vector<int64_t>> durations(num_open);
  std::vector<std::vector<uint8_t>> observed(num_open);
  for (size_t d = 0; d < t.outcome.size(); ++d) {
    const int64_t* fe = &t.first_entered[d * stages];
    const int64_t* left = &t.last_left[d * stages];
    const bool excluded = static_cast<Outcome>(t.outcome[d]) == Outcome::kExcluded;
    const int64_t censor_at = excluded && IsSet(t.outcome_time[d]) ? t.outcome_time[d] : t.as_of;
    for (size_t k = 0; k < num_open; ++k) {
      if (!IsSet(fe[k])) continue;
      int64_t exit = kNullInstant;
      for (size_t s = k + 1; s < stages; ++s) {
        if (IsSet(fe[s]) && fe[s] >= fe[k] && (!IsSet(exit) || fe[s] < exit)) exit = fe[s];
      }
      bool seen = true;
      int64_t duration = 0;
      if (IsSet(exit)) {
        duration = Span(fe[k], exit);
      } else if (excluded && excluded_from[d] == static_cast<int32_t>(k)) {
        duration = Span(fe[k], censor_at);
        seen = false;
      } else if (IsSet(left[k]) && left[k] >= fe[k]) {
        duration = Span(fe[k], left[k]);
      } else {
        duration = Span(fe[k], censor_at);
        seen = false;
      }
      durations[k].push_back(duration);
      observed[k].push_back(seen ? 1 : 0);
    }
  }
  std::vector<std::optional<int64_t>> out(num_open);
  for (size_t k = 0; k < num_open; ++k) {
    absl::StatusOr<SurvivalCurve> km = KaplanMeier(durations[k], observed[k]);
    if (!km.ok()) return km.status();
    absl::StatusOr<std::optional<int64_t>> quantile = km->Quantile(q);
    if (!quantile.ok()) return quantile.status();
    out[k] = *quantile;
  }
  return out;
}

}  // namespace

absl::StatusOr<DealWarnings> FindDealWarnings(const EventLog& log, const Timelines& timelines,
                                              const WarningOptions& options) {
  if (!(options.dark_percentile > 0.0 && options.dark_percentile <= 100.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dark_percentile must be in (0, 100], got ", options.dark_percentile));
  }
  if (auto s = CheckFits(log, timelines); !s.ok()) return s;
  absl::StatusOr<std::vector<std::optional<int64_t>>> normal =
      StagePercentiles(timelines, options.dark_percentile / 100.0);
  if (!normal.ok()) return normal.status();

  const std::span<const int32_t> contacts = log.contact();
  const std::span<const int32_t> roles = log.contact_role();
  const bool has_contacts = !contacts.empty();
  const bool has_roles = !roles.empty();
  // Which role codes are decision makers, by label.
  std::vector<uint8_t> decision_maker(static_cast<size_t>(log.contact_roles().size()), 0);
  for (int32_t r = 0; r < log.contact_roles().size(); ++r) {
    const std::string label = log.contact_roles().Label(r);
    decision_maker[static_cast<size_t>(r)] =
        std::find(options.decision_maker_roles.begin(), options.decision_maker_roles.end(),
                  label) != options.decision_maker_roles.end();
  }

  DealWarnings out;
  const std::span<const int64_t> offsets = log.deal_offsets();
  const std::span<const int32_t> actions = log.action();
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    const auto di = static_cast<size_t>(d);
    const auto outcome = static_cast<Outcome>(timelines.outcome[di]);
    const int32_t stage = timelines.current_stage[di];
    if ((outcome != Outcome::kOpen && outcome != Outcome::kStalled) || stage < 0) continue;
    int8_t single = -1, no_dm = -1;
    if (has_contacts || has_roles) {
      int32_t first_contact = kNullCode;
      bool several = false, dm = false;
      for (int64_t e = offsets[di]; e < offsets[di + 1]; ++e) {
        const auto ei = static_cast<size_t>(e);
        if (log.actor(actions[ei]) != Actor::kBuyer) continue;
        if (has_contacts && contacts[ei] != kNullCode) {
          if (first_contact == kNullCode) {
            first_contact = contacts[ei];
          } else if (contacts[ei] != first_contact) {
            several = true;
          }
        }
        if (has_roles && roles[ei] != kNullCode && decision_maker[static_cast<size_t>(roles[ei])]) {
          dm = true;
        }
      }
      if (has_contacts) single = several ? 0 : 1;
      if (has_roles) no_dm = dm ? 0 : 1;
    }
    const int64_t quiet_since = timelines.quiet_since[di];
    const std::optional<int64_t>& limit = (*normal)[static_cast<size_t>(stage)];
    const int64_t quiet = IsSet(quiet_since) ? Span(quiet_since, timelines.as_of) : 0;
    const double quiet_days = IsSet(quiet_since) ? static_cast<double>(quiet) / kNanosPerDay : kNaN;
    out.deal.push_back(d);
    out.stage.push_back(stage);
    out.stalled.push_back(outcome == Outcome::kStalled ? 1 : 0);
    out.dark.push_back(IsSet(quiet_since) && limit.has_value() && quiet > *limit ? 1 : 0);
    out.single_threaded.push_back(single);
    out.no_decision_maker.push_back(no_dm);
    out.quiet_days.push_back(quiet_days);
    out.normal_days.push_back(limit.has_value() ? static_cast<double>(*limit) / kNanosPerDay : kNaN);
  }
  return out;
}

}  // namespace salesperf
