// PracticeSignals: what the event log says about each of the nine practices. See the
// DATA SIGNALS section of salesperf/practices.h, which this file implements.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"
#include "salesperf/calendar.h"
#include "salesperf/funnel.h"
#include "salesperf/indicators.h"
#include "salesperf/leaks.h"
#include "salesperf/practices.h"
#include "status_macros.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kNsPerDay = calendar_internal::kNanosPerDay;
constexpr int64_t kYearNs = 365 * kNsPerDay;
constexpr int64_t kYearDays = 365;
constexpr int64_t kNsPerMinute = 60'000'000'000LL;

// a - b, saturated to the int64 range (kNullInstant excluded).
int64_t SubSat(int64_t a, int64_t b) {
  const Int128 d = static_cast<Int128>(a) - static_cast<Int128>(b);
  if (d < static_cast<Int128>(kNullInstant) + 1) return kNullInstant + 1;
  if (d > static_cast<Int128>(std::numeric_limits<int64_t>::max())) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(d);
}

// The day (days since 1970-01-01 at the offset) holding instant t, without overflow.
int64_t DayAt(int64_t t, int64_t offset_ns) {
  using calendar_internal::FloorDiv;
  using calendar_internal::FloorMod;
  return FloorDiv(t, kNsPerDay) + FloorDiv(FloorMod(t, kNsPerDay) + offset_ns, kNsPerDay);
}

std::string DayLabel(int64_t day) {
  const calendar_internal::CivilDate c = calendar_internal::CivilFromDays(day);
  return absl::StrFormat("%04d-%02d-%02d", c.year, c.month, c.day);
}

std::string Percent(double share) { return absl::StrFormat("%.0f%%", 100.0 * share); }
std::string Dollars(double v) { return absl::StrFormat("$%.0f", v); }

// The median with linear interpolation (numpy's default); `v` is reordered.
double Median(std::vector<double>& v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

bool IsMove(int32_t from, int32_t num_open, TransitionKind kind) {
  return from >= 0 && from < num_open && kind != TransitionKind::kExcluded && kind != TransitionKind::kReopened;
}

PracticeSignal Row(std::string_view practice, std::string_view signal) {
  PracticeSignal s;
  s.practice = std::string(practice);
  s.signal = std::string(signal);
  s.value = kNaN;
  s.score = kNaN;
  return s;
}

PracticeSignal Silent(std::string_view practice, std::string_view signal, int64_t cases, std::string reason) {
  PracticeSignal s = Row(practice, signal);
  s.cases = cases;
  s.reason = std::move(reason);
  return s;
}

PracticeSignal Speaks(std::string_view practice, std::string_view signal, double value, double score,
                      int64_t cases, std::string evidence) {
  PracticeSignal s = Row(practice, signal);
  s.speaks = true;
  s.value = value;
  s.score = std::clamp(score, 0.0, 100.0);
  s.cases = cases;
  s.evidence = std::move(evidence);
  return s;
}

constexpr std::string_view kNoRep = "the log has no rep column";
constexpr std::string_view kNoAccount = "the log has no account column";

absl::Status CheckOptions(const SignalOptions& o) {
  if (!(std::isfinite(o.support_target_days) && o.support_target_days > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("support_target_days must be a positive number of days, not ", o.support_target_days));
  }
  if (o.utc_offset_minutes < -1440 || o.utc_offset_minutes > 1440) {
    return absl::InvalidArgumentError(
        absl::StrCat("utc_offset_minutes must be within -1440..1440, not ", o.utc_offset_minutes));
  }
  if (o.max_days_without_break < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_days_without_break must be at least 1, not ", o.max_days_without_break));
  }
  if (o.vacation_days < 1 || o.vacation_days > kYearDays) {
    return absl::InvalidArgumentError(absl::StrCat("vacation_days must be within 1..365, not ", o.vacation_days));
  }
  if (o.forecast_horizon <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("forecast_horizon must be a positive duration (ns), not ", o.forecast_horizon));
  }
  if (!(std::isfinite(o.non_productive_fraction) && o.non_productive_fraction > 0 &&
        o.non_productive_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("non_productive_fraction must be within (0, 1], not ", o.non_productive_fraction));
  }
  if (o.min_cases < 1) {
    return absl::InvalidArgumentError(absl::StrCat("min_cases must be at least 1, not ", o.min_cases));
  }
  return absl::OkStatus();
}

absl::Status CheckFits(const EventLog& log, const Timelines& t) {
  const auto nd = static_cast<size_t>(log.num_deals());
  if (t.num_open < 0 || t.stage_names.size() != static_cast<size_t>(t.num_open) + 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("the timelines have ", t.stage_names.size(), " stages for ", t.num_open, " open stages"));
  }
  const auto S = t.stage_names.size();
  if (t.current_stage.size() != nd || t.outcome.size() != nd || t.outcome_time.size() != nd ||
      t.lost_reason.size() != nd || t.value.size() != nd || t.first_entered.size() != nd * S) {
    return absl::FailedPreconditionError(absl::StrCat("the timelines do not fit the log: ", t.outcome.size(),
                                                      " deals for the log's ", nd));
  }
  for (size_t d = 0; d < nd; ++d) {
    if (t.current_stage[d] < -1 || t.current_stage[d] >= t.num_open ||
        t.outcome[d] > static_cast<uint8_t>(Outcome::kExcluded)) {
      return absl::FailedPreconditionError(absl::StrCat("the timelines do not fit the log: deal ", d,
                                                        " has stage ", t.current_stage[d], " and outcome ",
                                                        static_cast<int>(t.outcome[d])));
    }
  }
  const Timelines::Transitions& tr = t.transitions;
  const size_t n = tr.size();
  if (tr.deal.size() != n || tr.from.size() != n || tr.to.size() != n || tr.kind.size() != n ||
      tr.action.size() != n) {
    return absl::FailedPreconditionError("the transition table's columns differ in length");
  }
  const int32_t O = t.num_open;
  const int32_t D = log.num_deals();
  const int32_t A = log.actions().size();
  for (size_t k = 0; k < n; ++k) {
    if (tr.deal[k] < 0 || tr.deal[k] >= D || tr.from[k] < -1 || tr.from[k] >= O + 2 || tr.to[k] < -1 ||
        tr.to[k] >= O + 2 || tr.kind[k] > static_cast<uint8_t>(TransitionKind::kExcluded) || tr.action[k] < -1 ||
        tr.action[k] >= A || (k > 0 && tr.deal[k] < tr.deal[k - 1])) {
      return absl::FailedPreconditionError(absl::StrCat("transition ", k, " does not fit the log and stages"));
    }
  }
  if (!log.rep().empty() && log.rep().size() != static_cast<size_t>(log.size())) {
    return absl::FailedPreconditionError("the log's rep column differs in length from its events");
  }
  return absl::OkStatus();
}

// An open stage by name: InvalidArgument naming the option and the stage otherwise.
absl::StatusOr<int32_t> OpenStage(const Timelines& t, const std::string& name, std::string_view option) {
  for (int32_t s = 0; s < t.num_stages(); ++s) {
    if (t.stage_names[static_cast<size_t>(s)] != name) continue;
    if (s >= t.num_open) {
      return absl::InvalidArgumentError(
          absl::StrCat(Sv(option), ": '", Sv(name), "' is not an open stage (Won and Lost are outcomes)"));
    }
    return s;
  }
  std::string known;
  for (int32_t s = 0; s < t.num_open; ++s) {
    absl::StrAppend(&known, s > 0 ? ", " : "", Sv(t.stage_names[static_cast<size_t>(s)]));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(option), ": unknown stage '", Sv(name), "' (the open stages are ", Sv(known), ")"));
}

// Everything the signals share, computed once.
struct Context {
  const EventLog& log;
  const Timelines& tl;
  const SignalOptions& opt;
  int32_t O = 0;
  size_t S = 0;
  int64_t as_of = 0;
  int64_t offset_ns = 0;
  bool has_rep = false;
  bool has_account = false;
  int32_t qualification = -1;  // -1: none (reason in qualification_reason)
  std::string qualification_reason;
  std::vector<int32_t> support;  // open stages, ascending, distinct
  std::vector<int32_t> owner;    // per deal: the most active rep's code, -1 for none
  // Per rep code: the distinct days (at the offset) with seller activity at or before
  // as_of, ascending.
  std::vector<std::vector<int64_t>> rep_days;

  Context(const EventLog& l, const Timelines& t, const SignalOptions& o) : log(l), tl(t), opt(o) {}

  int64_t Day(int64_t t) const { return DayAt(t, offset_ns); }
  Outcome OutcomeOf(size_t d) const { return static_cast<Outcome>(tl.outcome[d]); }
  const std::string& StageName(int32_t s) const { return tl.stage_names[static_cast<size_t>(s)]; }
};

absl::Status Prepare(Context& c) {
  const EventLog& log = c.log;
  c.O = c.tl.num_open;
  c.S = static_cast<size_t>(c.O) + 2;
  c.as_of = c.tl.as_of;
  c.offset_ns = static_cast<int64_t>(c.opt.utc_offset_minutes) * kNsPerMinute;
  c.has_rep = !log.rep().empty();
  c.has_account = !log.account().empty() && log.account().size() == static_cast<size_t>(log.size());

  if (c.opt.qualification_stage.empty()) {
    if (c.O >= 2) {
      c.qualification = 1;
    } else {
      c.qualification_reason = absl::StrCat("the stage model has ", c.O,
                                            " open stage(s): no second open stage to take as the qualification "
                                            "stage (set qualification_stage)");
    }
  } else {
    absl::StatusOr<int32_t> q = OpenStage(c.tl, c.opt.qualification_stage, "qualification_stage");
    if (!q.ok()) return q.status();
    c.qualification = *q;
  }
  for (const std::string& name : c.opt.support_stages) {
    absl::StatusOr<int32_t> s = OpenStage(c.tl, name, "support_stages");
    if (!s.ok()) return s.status();
    c.support.push_back(*s);
  }
  std::sort(c.support.begin(), c.support.end());
  c.support.erase(std::unique(c.support.begin(), c.support.end()), c.support.end());

  const auto nd = static_cast<size_t>(log.num_deals());
  c.owner.assign(nd, -1);
  if (!c.has_rep) return absl::OkStatus();

  absl::StatusOr<Units> units = UnitsByRep(log, OwnerRule::kMostActive);
  if (!units.ok()) return units.status();
  std::unordered_map<std::string, int32_t> code_of;
  for (int32_t r = 0; r < log.reps().size(); ++r) code_of.emplace(log.reps().Label(r), r);
  std::vector<int32_t> rep_of_unit(units->names.size(), -1);
  for (size_t u = 0; u < units->names.size(); ++u) {
    auto it = code_of.find(units->names[u]);
    if (it != code_of.end()) rep_of_unit[u] = it->second;
  }
  for (size_t d = 0; d < nd; ++d) c.owner[d] = rep_of_unit[static_cast<size_t>(units->of_deal[d])];

  c.rep_days.assign(static_cast<size_t>(log.reps().size()), {});
  const auto rep = log.rep();
  const auto time = log.time();
  const auto action = log.action();
  const auto actors = log.action_actors();
  for (size_t k = 0; k < static_cast<size_t>(log.size()); ++k) {
    if (rep[k] < 0 || time[k] > c.as_of) continue;
    if (static_cast<Actor>(actors[static_cast<size_t>(action[k])]) != Actor::kSeller) continue;
    c.rep_days[static_cast<size_t>(rep[k])].push_back(c.Day(time[k]));
  }
  for (auto& days : c.rep_days) {
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
  }
  return absl::OkStatus();
}

// Per deal: the first non-null account of its events, -1 for none.
std::vector<int32_t> DealAccounts(const EventLog& log) {
  const auto offsets = log.deal_offsets();
  const auto account = log.account();
  std::vector<int32_t> out(static_cast<size_t>(log.num_deals()), -1);
  for (size_t d = 0; d < out.size(); ++d) {
    for (auto k = static_cast<size_t>(offsets[d]); k < static_cast<size_t>(offsets[d + 1]); ++k) {
      if (account[k] >= 0) {
        out[d] = account[k];
        break;
      }
    }
  }
  return out;
}

// ---- The signals ---------------------------------------------------------------------

constexpr std::string_view kRetention = "customer_retention";
constexpr std::string_view kQualifying = "qualifying_account_criteria";
constexpr std::string_view kDevelopment = "account_development";
constexpr std::string_view kSupport = "sales_support";
constexpr std::string_view kDowntime = "downtime";
constexpr std::string_view kMetrics = "sales_metrics";
constexpr std::string_view kAdvanced = "advanced_sales_metrics";
constexpr std::string_view kNonProductive = "non_productive_sales_reps";
constexpr std::string_view kPipeline = "pipeline_management_and_forecasting";

PracticeSignal RetainedCustomers(const Context& c, const std::vector<int32_t>& account_of) {
  constexpr std::string_view kName = "retained_customers";
  if (!c.has_account) return Silent(kRetention, kName, 0, std::string(kNoAccount));
  const int64_t cutoff = SubSat(c.as_of, kYearNs);
  const auto na = static_cast<size_t>(c.log.accounts().size());
  std::vector<uint8_t> before(na, 0), recent(na, 0);
  for (size_t d = 0; d < account_of.size(); ++d) {
    if (account_of[d] < 0 || c.OutcomeOf(d) != Outcome::kWon) continue;
    const int64_t t = c.tl.outcome_time[d];
    if (t == kNullInstant || t > c.as_of) continue;
    (t <= cutoff ? before : recent)[static_cast<size_t>(account_of[d])] = 1;
  }
  int64_t customers = 0, retained = 0;
  for (size_t a = 0; a < na; ++a) {
    customers += before[a];
    retained += before[a] & recent[a];
  }
  if (customers < c.opt.min_cases) {
    return Silent(kRetention, kName, customers,
                  absl::StrCat("only ", customers, " customers (accounts with a deal won at least 365 days before ",
                               DayLabel(c.Day(c.as_of)), "); ", c.opt.min_cases, " needed"));
  }
  const double value = static_cast<double>(retained) / static_cast<double>(customers);
  return Speaks(kRetention, kName, value, 100.0 * value, customers,
                absl::StrCat(retained, " of ", customers, " customers won by ", DayLabel(c.Day(cutoff)),
                             " won again in the 365 days to ", DayLabel(c.Day(c.as_of))));
}

// The deal's lowest open stage entered (-1: none) and its furthest (O when won).
std::pair<int32_t, int32_t> EntryAndFurthest(const Context& c, size_t d) {
  int32_t entry = -1, furthest = -1;
  for (int32_t s = 0; s < c.O; ++s) {
    if (c.tl.first_entered[d * c.S + static_cast<size_t>(s)] == kNullInstant) continue;
    if (entry < 0) entry = s;
    furthest = s;
  }
  if (entry >= 0 && c.OutcomeOf(d) == Outcome::kWon) furthest = c.O;
  return {entry, furthest};
}

absl::StatusOr<PracticeSignal> QualificationConsistency(const Context& c) {
  constexpr std::string_view kName = "qualification_consistency";
  if (!c.has_rep) return Silent(kQualifying, kName, 0, std::string(kNoRep));
  if (c.qualification < 0) return Silent(kQualifying, kName, 0, c.qualification_reason);
  const int32_t q = c.qualification;
  const auto nr = static_cast<size_t>(c.log.reps().size());
  std::vector<int64_t> x(nr, 0), n(nr, 0);
  for (size_t d = 0; d < c.owner.size(); ++d) {
    const int32_t r = c.owner[d];
    if (r < 0) continue;
    const auto [entry, furthest] = EntryAndFurthest(c, d);
    if (entry < 0 || entry >= q) continue;
    const Outcome o = c.OutcomeOf(d);
    if (furthest >= q) {
      ++x[static_cast<size_t>(r)];
      ++n[static_cast<size_t>(r)];
    } else if (o == Outcome::kLost || o == Outcome::kStalled) {
      ++n[static_cast<size_t>(r)];
    }
  }
  int64_t sx = 0, sn = 0;
  for (size_t r = 0; r < nr; ++r) {
    sx += x[r];
    sn += n[r];
  }
  const std::string& qname = c.StageName(q);
  if (sn == 0) {
    return Silent(kQualifying, kName, 0,
                  absl::StrCat("no deal that entered below ", Sv(qname), " has reached it or failed below it"));
  }
  absl::StatusOr<double> kappa = BetaBinomialConcentration(x, n);
  if (!kappa.ok()) return kappa.status();
  const double m = static_cast<double>(sx) / static_cast<double>(sn);
  std::vector<double> rates;
  for (size_t r = 0; r < nr; ++r) {
    if (n[r] < c.opt.min_cases) continue;
    rates.push_back((static_cast<double>(x[r]) + *kappa * m) / (static_cast<double>(n[r]) + *kappa));
  }
  const auto k = static_cast<int64_t>(rates.size());
  if (k < 2) {
    return Silent(kQualifying, kName, k,
                  absl::StrCat("only ", k, " reps with ", c.opt.min_cases, " or more qualification trials (deals "
                               "entered below ", Sv(qname), " and decided); 2 needed"));
  }
  double mean = 0;
  for (const double v : rates) mean += v;
  mean /= static_cast<double>(k);
  if (!(mean > 0)) {
    return Silent(kQualifying, kName, k,
                  absl::StrCat("no trial of the ", k, " reps reached ", Sv(qname), ": the variation is undefined"));
  }
  double ss = 0;
  for (const double v : rates) ss += (v - mean) * (v - mean);
  const double cv = std::sqrt(ss / static_cast<double>(k)) / mean;
  return Speaks(kQualifying, kName, cv, 100.0 * std::max(0.0, 1.0 - cv / 0.5), k,
                absl::StrCat("the rate of reaching ", Sv(qname), " varies by ", Percent(cv),
                             " (coefficient of variation, shrunk rates) across ", k, " reps with ", c.opt.min_cases,
                             " or more trials; pooled rate ", Percent(m)));
}

PracticeSignal LateLosses(const Context& c) {
  constexpr std::string_view kName = "late_losses";
  if (c.qualification < 0) return Silent(kQualifying, kName, 0, c.qualification_reason);
  int64_t lost = 0, late = 0;
  for (size_t d = 0; d < c.owner.size(); ++d) {
    if (c.OutcomeOf(d) != Outcome::kLost || c.tl.lost_reason[d] == kReasonStalled) continue;
    ++lost;
    if (c.tl.current_stage[d] >= c.qualification) ++late;
  }
  const std::string& qname = c.StageName(c.qualification);
  if (lost < c.opt.min_cases) {
    return Silent(kQualifying, kName, lost,
                  absl::StrCat("only ", lost, " deals lost (stall closes aside); ", c.opt.min_cases, " needed"));
  }
  const double value = static_cast<double>(late) / static_cast<double>(lost);
  return Speaks(kQualifying, kName, value, 100.0 * (1.0 - value), lost,
                absl::StrCat(late, " of ", lost, " lost deals were lost at or after ", Sv(qname)));
}

PracticeSignal ExpansionRate(const Context& c, const std::vector<int32_t>& account_of) {
  constexpr std::string_view kName = "expansion_rate";
  if (!c.has_account) return Silent(kDevelopment, kName, 0, std::string(kNoAccount));
  const int64_t cutoff = SubSat(c.as_of, kYearNs);
  const auto na = static_cast<size_t>(c.log.accounts().size());
  std::vector<int64_t> first_win(na, kNullInstant);
  std::vector<int32_t> first_deal(na, -1);
  for (size_t d = 0; d < account_of.size(); ++d) {
    if (account_of[d] < 0 || c.OutcomeOf(d) != Outcome::kWon) continue;
    const int64_t t = c.tl.outcome_time[d];
    if (t == kNullInstant || t > c.as_of) continue;
    const auto a = static_cast<size_t>(account_of[d]);
    if (first_deal[a] < 0 || t < first_win[a]) {
      first_win[a] = t;
      first_deal[a] = static_cast<int32_t>(d);
    }
  }
  std::vector<uint8_t> expanded(na, 0);
  const auto offsets = c.log.deal_offsets();
  const auto time = c.log.time();
  for (size_t d = 0; d < account_of.size(); ++d) {
    if (account_of[d] < 0) continue;
    const auto a = static_cast<size_t>(account_of[d]);
    if (first_deal[a] < 0 || first_deal[a] == static_cast<int32_t>(d) || first_win[a] > cutoff) continue;
    const int64_t created = time[static_cast<size_t>(offsets[d])];
    if (created > first_win[a] && created - first_win[a] <= kYearNs) expanded[a] = 1;
  }
  int64_t customers = 0, grew = 0;
  for (size_t a = 0; a < na; ++a) {
    if (first_deal[a] < 0 || first_win[a] > cutoff) continue;
    ++customers;
    grew += expanded[a];
  }
  if (customers < c.opt.min_cases) {
    return Silent(kDevelopment, kName, customers,
                  absl::StrCat("only ", customers, " customers whose first win is at least 365 days before ",
                               DayLabel(c.Day(c.as_of)), "; ", c.opt.min_cases, " needed"));
  }
  const double value = static_cast<double>(grew) / static_cast<double>(customers);
  return Speaks(kDevelopment, kName, value, 100.0 * value, customers,
                absl::StrCat(grew, " of ", customers, " customers had another deal created within 365 days of "
                             "their first win"));
}

PracticeSignal SupportWait(const Context& c) {
  constexpr std::string_view kName = "support_wait";
  if (c.support.empty()) return Silent(kSupport, kName, 0, "no support stage named (support_stages)");
  std::vector<uint8_t> is_support(static_cast<size_t>(c.O), 0);
  for (const int32_t s : c.support) is_support[static_cast<size_t>(s)] = 1;
  const Timelines::Transitions& tr = c.tl.transitions;
  std::vector<double> days;
  for (size_t t = 1; t < tr.size(); ++t) {
    const int32_t from = tr.from[t];
    if (!IsMove(from, c.O, static_cast<TransitionKind>(tr.kind[t])) || !is_support[static_cast<size_t>(from)]) {
      continue;
    }
    if (tr.deal[t - 1] != tr.deal[t] || tr.to[t - 1] != from) continue;
    days.push_back(static_cast<double>(tr.time[t] - tr.time[t - 1]) / static_cast<double>(kNsPerDay));
  }
  std::string names;
  for (const int32_t s : c.support) absl::StrAppend(&names, names.empty() ? "" : ", ", Sv(c.StageName(s)));
  const auto visits = static_cast<int64_t>(days.size());
  if (visits < c.opt.min_cases) {
    return Silent(kSupport, kName, visits,
                  absl::StrCat("only ", visits, " completed visits to ", Sv(names), "; ", c.opt.min_cases,
                               " needed"));
  }
  const double median = Median(days);
  const double score = median <= 0 ? 100.0 : 100.0 * std::min(1.0, c.opt.support_target_days / median);
  return Speaks(kSupport, kName, median, score, visits,
                absl::StrFormat("the median of %d completed visits to %s took %.1f days (target %.1f)", visits,
                                names, median, c.opt.support_target_days));
}

PracticeSignal NoDayOffStretches(const Context& c) {
  constexpr std::string_view kName = "no_day_off_stretches";
  if (!c.has_rep) return Silent(kDowntime, kName, 0, std::string(kNoRep));
  int64_t reps = 0, over = 0;
  for (const std::vector<int64_t>& days : c.rep_days) {
    if (static_cast<int64_t>(days.size()) < c.opt.min_cases) continue;
    ++reps;
    int64_t longest = 0, run = 0;
    for (size_t i = 0; i < days.size(); ++i) {
      run = (i > 0 && days[i] == days[i - 1] + 1) ? run + 1 : 1;
      longest = std::max(longest, run);
    }
    if (longest > c.opt.max_days_without_break) ++over;
  }
  if (reps == 0) {
    return Silent(kDowntime, kName, 0,
                  absl::StrCat("no rep has seller activity on ", c.opt.min_cases, " or more distinct days"));
  }
  const double value = static_cast<double>(over) / static_cast<double>(reps);
  return Speaks(kDowntime, kName, value, 100.0 * (1.0 - value), reps,
                absl::StrCat(over, " of ", reps, " reps worked ", c.opt.max_days_without_break + 1,
                             " or more days in a row"));
}

PracticeSignal NoVacation(const Context& c) {
  constexpr std::string_view kName = "no_vacation";
  if (!c.has_rep) return Silent(kDowntime, kName, 0, std::string(kNoRep));
  const int64_t last = c.Day(c.as_of);
  const int64_t before = last - kYearDays;  // the day before the 365-day window
  int64_t reps = 0, never = 0;
  for (const std::vector<int64_t>& days : c.rep_days) {
    if (days.empty() || days.front() > before) continue;
    ++reps;
    bool rested = false;
    int64_t prev = before;  // active before the window: a gap at its start is a real gap
    for (const int64_t day : days) {
      if (day <= before) continue;
      if (day - prev - 1 >= c.opt.vacation_days) rested = true;
      prev = day;
    }
    if (last - prev >= c.opt.vacation_days) rested = true;
    if (!rested) ++never;
  }
  if (reps == 0) {
    return Silent(kDowntime, kName, 0,
                  absl::StrCat("no rep has seller activity 365 days or more before ", DayLabel(last)));
  }
  const double value = static_cast<double>(never) / static_cast<double>(reps);
  return Speaks(kDowntime, kName, value, 100.0 * (1.0 - value), reps,
                absl::StrCat(never, " of ", reps, " reps took no break of ", c.opt.vacation_days,
                             " or more days in the 365 days to ", DayLabel(last)));
}

// Per rep: the distinct months (at the offset) with seller activity, ascending.
std::vector<std::vector<int64_t>> RepMonths(const Context& c) {
  std::vector<std::vector<int64_t>> out(c.rep_days.size());
  for (size_t r = 0; r < c.rep_days.size(); ++r) {
    for (const int64_t day : c.rep_days[r]) {
      const int64_t m = calendar_internal::MonthsFromDays(day);
      if (out[r].empty() || out[r].back() != m) out[r].push_back(m);
    }
  }
  return out;
}

PracticeSignal LeadingIndicatorCoverage(const Context& c, const std::vector<std::vector<int64_t>>& months) {
  constexpr std::string_view kName = "leading_indicator_coverage";
  if (!c.has_rep) return Silent(kMetrics, kName, 0, std::string(kNoRep));
  // Per owner rep: the months with a buyer action on one of its deals.
  std::vector<std::vector<int64_t>> buyer(c.rep_days.size());
  const auto offsets = c.log.deal_offsets();
  const auto time = c.log.time();
  const auto action = c.log.action();
  const auto actors = c.log.action_actors();
  for (size_t d = 0; d < c.owner.size(); ++d) {
    if (c.owner[d] < 0) continue;
    auto& b = buyer[static_cast<size_t>(c.owner[d])];
    for (auto k = static_cast<size_t>(offsets[d]); k < static_cast<size_t>(offsets[d + 1]); ++k) {
      if (time[k] > c.as_of || static_cast<Actor>(actors[static_cast<size_t>(action[k])]) != Actor::kBuyer) {
        continue;
      }
      b.push_back(calendar_internal::MonthsFromDays(c.Day(time[k])));
    }
  }
  int64_t rep_months = 0, covered = 0;
  for (size_t r = 0; r < months.size(); ++r) {
    auto& b = buyer[r];
    std::sort(b.begin(), b.end());
    rep_months += static_cast<int64_t>(months[r].size());
    for (const int64_t m : months[r]) covered += std::binary_search(b.begin(), b.end(), m) ? 1 : 0;
  }
  if (rep_months == 0) return Silent(kMetrics, kName, 0, "no rep-month with seller activity");
  const double value = static_cast<double>(covered) / static_cast<double>(rep_months);
  return Speaks(kMetrics, kName, value, 100.0 * value, rep_months,
                absl::StrCat(covered, " of ", rep_months, " rep-months with seller activity saw a buyer action on "
                             "one of the rep's deals"));
}

PracticeSignal BuyerDefinedStages(const Context& c) {
  constexpr std::string_view kName = "buyer_defined_stages";
  const Timelines::Transitions& tr = c.tl.transitions;
  int64_t entries = 0, buyer = 0;
  for (size_t t = 0; t < tr.size(); ++t) {
    if (tr.to[t] < 0 || tr.to[t] >= c.O || tr.action[t] < 0) continue;
    ++entries;
    if (c.log.actor(tr.action[t]) == Actor::kBuyer) ++buyer;
  }
  if (entries == 0) return Silent(kAdvanced, kName, 0, "no transition into an open stage has an action");
  const double value = static_cast<double>(buyer) / static_cast<double>(entries);
  return Speaks(kAdvanced, kName, value, 100.0 * value, entries,
                absl::StrCat(buyer, " of ", entries, " entries into open stages were made by a buyer action"));
}

PracticeSignal NonProductiveShare(const Context& c, const std::vector<std::vector<int64_t>>& months) {
  constexpr std::string_view kName = "non_productive_share";
  if (!c.has_rep) return Silent(kNonProductive, kName, 0, std::string(kNoRep));
  std::vector<double> won(c.rep_days.size(), 0.0);
  int64_t valued_wins = 0;
  for (size_t d = 0; d < c.owner.size(); ++d) {
    if (c.owner[d] < 0 || c.OutcomeOf(d) != Outcome::kWon) continue;
    if (c.tl.outcome_time[d] > c.as_of || std::isnan(c.tl.value[d])) continue;
    won[static_cast<size_t>(c.owner[d])] += c.tl.value[d];
    ++valued_wins;
  }
  std::vector<double> figure;
  for (size_t r = 0; r < months.size(); ++r) {
    if (months[r].empty()) continue;
    figure.push_back(won[r] / static_cast<double>(months[r].size()));
  }
  const auto reps = static_cast<int64_t>(figure.size());
  if (reps < 3) {
    return Silent(kNonProductive, kName, reps,
                  absl::StrCat("only ", reps, " reps with an active month; 3 needed"));
  }
  if (valued_wins == 0) return Silent(kNonProductive, kName, reps, "no won deal of a rep has a value");
  std::vector<double> sorted = figure;
  const double median = Median(sorted);
  const double bar = c.opt.non_productive_fraction * median;
  int64_t below = 0;
  for (const double f : figure) below += f < bar ? 1 : 0;
  const double value = static_cast<double>(below) / static_cast<double>(reps);
  return Speaks(kNonProductive, kName, value, 100.0 * (1.0 - value), reps,
                absl::StrCat(below, " of ", reps, " reps won less than ", Percent(c.opt.non_productive_fraction),
                             " of the median rep's ", Dollars(median), " per active month"));
}

PracticeSignal StalledShare(const Context& c) {
  constexpr std::string_view kName = "stalled_share";
  int64_t open = 0, stalled = 0;
  for (size_t d = 0; d < c.owner.size(); ++d) {
    const Outcome o = c.OutcomeOf(d);
    if (o != Outcome::kOpen && o != Outcome::kStalled) continue;
    ++open;
    if (o == Outcome::kStalled) ++stalled;
  }
  if (open == 0) return Silent(kPipeline, kName, 0, "no deal is open at as_of");
  const double value = static_cast<double>(stalled) / static_cast<double>(open);
  return Speaks(kPipeline, kName, value, 100.0 * (1.0 - value), open,
                absl::StrCat(stalled, " of ", open, " open deals are stalled"));
}

absl::StatusOr<PracticeSignal> ForecastAccuracy(const Context& c) {
  constexpr std::string_view kName = "forecast_accuracy";
  const int64_t T = SubSat(c.as_of, c.opt.forecast_horizon);
  const Timelines::Transitions& tr = c.tl.transitions;
  const size_t S = c.S;
  std::vector<int64_t> moves(static_cast<size_t>(c.O) * S, 0);
  // Per deal: the stage its last transition before T went to (-1: none or no stage).
  std::vector<int32_t> stage_at_t(c.owner.size(), -1);
  for (size_t t = 0; t < tr.size(); ++t) {
    if (tr.time[t] >= T) continue;
    stage_at_t[static_cast<size_t>(tr.deal[t])] = tr.to[t];
    if (IsMove(tr.from[t], c.O, static_cast<TransitionKind>(tr.kind[t]))) {
      ++moves[static_cast<size_t>(tr.from[t]) * S + static_cast<size_t>(tr.to[t])];
    }
  }
  absl::StatusOr<FunnelChain> chain = SolveMoves(c.tl.stage_names, c.O, moves);
  if (!chain.ok()) return chain.status();
  const std::vector<double>& win = chain->win_probability;
  int64_t open_at_t = 0, unpriced = 0, cases = 0;
  double forecast = 0, actual = 0;
  for (size_t d = 0; d < stage_at_t.size(); ++d) {
    const int32_t s = stage_at_t[d];
    const double v = c.tl.value[d];
    if (s < 0 || s >= c.O || std::isnan(v)) continue;
    ++open_at_t;
    const double p = win[static_cast<size_t>(s)];
    const Outcome o = c.OutcomeOf(d);
    double later = 0;
    if (o == Outcome::kWon) {
      if (c.tl.outcome_time[d] <= c.as_of) later = v;
    } else if (o == Outcome::kOpen || o == Outcome::kStalled) {
      const int32_t now = c.tl.current_stage[d];
      const double q = now >= 0 ? win[static_cast<size_t>(now)] : kNaN;
      later = v * q;
    }
    if (std::isnan(p) || std::isnan(later)) {
      ++unpriced;
      continue;
    }
    ++cases;
    forecast += v * p;
    actual += later;
  }
  const std::string date = DayLabel(c.Day(T));
  if (open_at_t > 0 && cases == 0) {
    return Silent(kPipeline, kName, 0,
                  absl::StrCat("none of the ", open_at_t, " valued deals open at ", date,
                               " has a win probability (the chain before it has no data for their stages)"));
  }
  if (cases < c.opt.min_cases) {
    return Silent(kPipeline, kName, cases,
                  absl::StrCat("only ", cases, " valued deals with a win probability open at ", date, "; ",
                               c.opt.min_cases, " needed"));
  }
  if (!(actual > 0)) {
    return Silent(kPipeline, kName, cases,
                  absl::StrCat("the ", cases, " deals open at ", date, " have an actual value of ", Dollars(actual),
                               ": accuracy is undefined"));
  }
  const double value = std::max(0.0, 1.0 - std::fabs(forecast - actual) / actual);
  std::string evidence = absl::StrCat("the chain at ", date, " forecast ", Dollars(forecast), " from ", cases,
                                      " open deals; they gave ", Dollars(actual),
                                      " (won, plus the same chain's expectation for those still open)");
  if (unpriced > 0) absl::StrAppend(&evidence, "; ", unpriced, " deals in stages without a win probability left out");
  return Speaks(kPipeline, kName, value, 100.0 * value, cases, std::move(evidence));
}

}  // namespace

absl::StatusOr<std::vector<PracticeSignal>> PracticeSignals(const EventLog& log, const Timelines& timelines,
                                                            const SignalOptions& options) {
  SALESPERF_RETURN_IF_ERROR(CheckOptions(options));
  SALESPERF_RETURN_IF_ERROR(CheckFits(log, timelines));
  Context c(log, timelines, options);
  SALESPERF_RETURN_IF_ERROR(Prepare(c));

  const std::vector<int32_t> account_of = c.has_account ? DealAccounts(log) : std::vector<int32_t>();
  const std::vector<std::vector<int64_t>> months = RepMonths(c);
  std::vector<PracticeSignal> out;
  out.reserve(12);
  out.push_back(RetainedCustomers(c, account_of));
  absl::StatusOr<PracticeSignal> consistency = QualificationConsistency(c);
  if (!consistency.ok()) return consistency.status();
  out.push_back(*std::move(consistency));
  out.push_back(LateLosses(c));
  out.push_back(ExpansionRate(c, account_of));
  out.push_back(SupportWait(c));
  out.push_back(NoDayOffStretches(c));
  out.push_back(NoVacation(c));
  out.push_back(LeadingIndicatorCoverage(c, months));
  out.push_back(BuyerDefinedStages(c));
  out.push_back(NonProductiveShare(c, months));
  out.push_back(StalledShare(c));
  absl::StatusOr<PracticeSignal> forecast = ForecastAccuracy(c);
  if (!forecast.ok()) return forecast.status();
  out.push_back(*std::move(forecast));
  return out;
}

}  // namespace salesperf
