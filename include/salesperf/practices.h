// salesperf/practices.h — the nine-practice (Leaky Bucket) assessment of sales-force
// management: a versioned questionnaire instrument, the scoring of answers from
// several respondents (with manager / rep disagreement), the signals the event log can
// give for each practice (and an explicit "cannot say" where it cannot), and the
// attribution of funnel leaks (salesperf/leaks.h) to the practices that let them.
//
//   absl::StatusOr<salesperf::Instrument> in = salesperf::DefaultInstrument();
//   absl::StatusOr<salesperf::QuestionnaireScores> q = salesperf::ScoreAnswers(*in, answers);
//   absl::StatusOr<std::vector<salesperf::PracticeSignal>> s =
//       salesperf::PracticeSignals(log, timelines, signal_options);
//   absl::StatusOr<salesperf::PracticeAssessment> a =
//       salesperf::AssessPractices(*in, &*q, *s, leak_assessment, attribution_options);
//
// The practices (ids in the instrument and everywhere else):
//   customer_retention, qualifying_account_criteria, account_development,
//   sales_support, downtime, sales_metrics, advanced_sales_metrics,
//   non_productive_sales_reps, pipeline_management_and_forecasting.
// The original assessment's ninth area is not documented publicly; the ninth here is
// the practice its authors taught next (pipeline management and forecasting).
#ifndef SALESPERF_PRACTICES_H_
#define SALESPERF_PRACTICES_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/leaks.h"
#include "salesperf/timelines.h"

namespace salesperf {

inline constexpr int kNumPractices = 9;
inline constexpr std::array<std::string_view, kNumPractices> kPracticeIds = {
    "customer_retention",        "qualifying_account_criteria", "account_development",
    "sales_support",             "downtime",                    "sales_metrics",
    "advanced_sales_metrics",    "non_productive_sales_reps",   "pipeline_management_and_forecasting"};

// ===================================================================================
// THE INSTRUMENT
// ===================================================================================
// A TOML (or JSON, same tree) document:
//   name = "Leaky Bucket assessment"      # required, non-empty
//   version = "1.0"                       # required, non-empty
//   scale = [1, 5]                        # optional; integers, min < max (default 1..5)
//   [[practice]]                          # exactly the nine ids above, each once, in any order
//   id = "customer_retention"
//   name = "Customer retention"
//   summary = "..."                       # what good looks like
//   source = "..."                        # its source in sales practice
//   [[statement]]                         # at least one per practice
//   id = "cr1"                            # unique, non-empty
//   practice = "customer_retention"       # one of the practice ids
//   text = "Reps have documented targets for retaining current customers."
//   reverse = false                       # optional: agreement is the bad answer
//   best_practice = "Set documented retention targets per rep, with incentives."
// Every key shown is required except scale and reverse; id, name, practice, text and
// best_practice must not be empty (summary and source may); other keys are errors.
// Errors are InvalidArgument naming the key, the practice or the statement id (and
// the TOML parser's line and column for a syntax error). The bundled instrument,
// src/instruments/leaky_bucket.toml in the source tree, is compiled into the library.
struct PracticeInfo {
  std::string id, name, summary, source;
  friend bool operator==(const PracticeInfo&, const PracticeInfo&) = default;
};
struct Statement {
  std::string id, practice, text, best_practice;
  bool reverse = false;
  friend bool operator==(const Statement&, const Statement&) = default;
};
struct Instrument {
  std::string name, version;
  int32_t scale_min = 1, scale_max = 5;
  std::vector<PracticeInfo> practices;  // in kPracticeIds order (whatever the file's order)
  std::vector<Statement> statements;    // in file order
  friend bool operator==(const Instrument&, const Instrument&) = default;
};

// format: "toml" or "json".
absl::StatusOr<Instrument> ParseInstrument(std::string_view text, std::string_view format = "toml");
// The bundled instrument's text, and the instrument parsed from it.
std::string_view DefaultInstrumentText();
absl::StatusOr<Instrument> DefaultInstrument();

// ===================================================================================
// SCORING ANSWERS
// ===================================================================================
// Answers come long: one row per (respondent, statement). role is "manager" or "rep"
// (case-insensitive; other roles count in the overall score only). value is on the
// instrument's scale, whole or not; NaN means "don't know" and is skipped (counted).
// Errors, InvalidArgument naming the row (0-based) and column: sizes differ; an empty
// respondent; a statement id the instrument lacks; a value off the scale or infinite;
// the same (respondent, statement) twice; a respondent given two roles (compared
// case-insensitively). A hand-built Instrument breaking ParseInstrument's rules is
// InvalidArgument too (here and in AssessPractices).
struct Answers {
  std::vector<std::string> respondent, role, statement;
  std::vector<double> value;
};
// Scoring rules. An answer a becomes 100 (a - min) / (max - min) points, or
// 100 - that when the statement is reversed. A respondent's practice score is the mean
// of their points over the practice's statements they answered; the practice score is
// the mean over respondents who answered any (every respondent weighs the same,
// however many statements they answered); manager_score and rep_score are the same
// over managers and reps only; disagreement = manager_score - rep_score (positive:
// managers see it rosier), NaN unless both answered; disagree = |disagreement| >= 25
// (one step on a 1-5 scale). Statement rows give the mean points, their standard
// deviation (n - 1; NaN for n < 2), n, and the manager and rep means. A practice or
// statement nobody answered has NaN scores and n = 0. `respondents` counts every
// distinct respondent, including one who answered only "don't know".
struct QuestionnaireScores {
  struct PracticeRow {
    std::string practice;
    double score, manager_score, rep_score, disagreement;
    bool disagree;
    int64_t respondents, managers, reps, answers, dont_know;
  };
  struct StatementRow {
    std::string statement, practice;
    double mean, sd, manager_mean, rep_mean;
    int64_t n, dont_know;
  };
  std::vector<PracticeRow> practices;    // kPracticeIds order
  std::vector<StatementRow> statements;  // instrument order
  int64_t respondents = 0;
};
absl::StatusOr<QuestionnaireScores> ScoreAnswers(const Instrument& instrument, const Answers& answers);

// ===================================================================================
// DATA SIGNALS
// ===================================================================================
// What the event log says about each practice. Every signal has a value, a 0-100
// score, the count it rests on, and a sentence of evidence; or, when the data cannot
// speak (a column is missing, too few cases, an option not given), speaks = false, NaN
// value and score, and `reason` says why. No score is invented.
// "Day" below is a calendar day at utc_offset_minutes; a rep's seller activity is an
// event whose action's actor is the seller and whose rep column names the rep.
// as_of is Timelines::as_of; 365 d is 365 x 86,400 s. Activity (seller or buyer
// events) and wins after as_of are ignored (RunStages reads every event, so this
// matters only for timelines run with an earlier as_of). A "won deal" is one whose
// outcome at as_of is Won, at its outcome_time. A deal's account is the first non-null
// account among its events. "The deal's most active rep" is UnitsByRep's kMostActive
// owner; a deal with no rep belongs to no rep and counts in no per-rep figure. cases
// is what the value is a share, median or spread of (customers, reps, deals, visits,
// rep-months, transitions). A signal with nothing to count (0 cases) cannot speak.
//   customer_retention / retained_customers   (needs the account column)
//     customers: accounts with a won deal at or before as_of - 365 d; value: the share
//     of them with a won deal in (as_of - 365 d, as_of]; score 100 x value;
//     cannot speak with fewer than min_cases customers.
//   qualifying_account_criteria / qualification_consistency   (needs the rep column)
//     per rep (the deal's most active rep): trials = deals that entered the funnel
//     below the qualification stage and either reached it or were lost/stalled below
//     it; converted = those that reached it; the reps' rates shrunk as in leaks.h
//     (BetaBinomialConcentration, toward the pooled rate); value: their coefficient of
//     variation (population sd / mean) over reps with >= min_cases trials; score
//     100 x max(0, 1 - value / 0.5). Cannot speak with fewer than 2 such reps.
//     Entry and "reached" as in leaks.h (entry = the lowest open stage entered; a deal
//     won, or that entered a stage >= the qualification stage, reached it); open and
//     excluded deals that did not reach it are pending, no trial. The pooled rate m
//     and κ are over every rep with a trial, so a rep's shrunk rate is
//     (x + κm) / (n + κ). cases = the reps with >= min_cases trials. Also cannot speak
//     when their mean rate is 0.
//   The qualification stage: qualification_stage, which must name an open stage
//     (InvalidArgument otherwise, Won and Lost included); when it is "" and the model
//     has fewer than 2 open stages, both qualifying signals cannot speak.
//   qualifying_account_criteria / late_losses
//     value: of deals lost (any reason but the stall close), the share lost at or after
//     the qualification stage (current stage >= it; a deal lost from no stage is
//     below it); score 100 x (1 - value); cannot speak with fewer than min_cases lost
//     deals.
//   account_development / expansion_rate   (needs the account column)
//     customers: accounts whose first win is at or before as_of - 365 d; value: the
//     share that had another deal created (first event) within 365 d after that first
//     win; score 100 x value; cannot speak with fewer than min_cases customers.
//     "Within 365 d after" is (first win, first win + 365 d]; the other deal is any
//     deal of the account but the one first won, whatever its outcome.
//   sales_support / support_wait
//     the median, over completed visits to the support stages (support_stages), of the
//     days between entering and leaving the stage (consecutive transitions, as in
//     funnel.h dwell); value in days; score 100 x min(1, support_target_days / value).
//     Cannot speak when no support stage is named or fewer than min_cases visits;
//     InvalidArgument for an unknown stage name (or Won / Lost). A visit counts when
//     the transition leaving the stage is a move of funnel.h (not an exclusion). The
//     median interpolates (numpy's default); a median of 0 days scores 100.
//   downtime / no_day_off_stretches   (needs the rep column)
//     per rep active on >= min_cases distinct days, the longest run of consecutive days
//     with seller activity; value: the share of those reps whose longest run exceeds
//     max_days_without_break; score 100 x (1 - value). cases: those reps.
//   downtime / no_vacation   (needs the rep column)
//     reps whose seller activity spans at least 365 d before as_of; value: the share
//     with no gap of >= vacation_days consecutive days without seller activity in the
//     last 365 d; score 100 x (1 - value). Cannot speak with no such rep.
//     In days at the offset, with A = as_of's day: the last 365 d are days
//     A - 364 .. A, and a rep's activity spans them when its first active day is
//     <= A - 365. Days of the window before the rep's first activity in it, and after
//     its last, are part of gaps.
//   sales_metrics / leading_indicator_coverage   (needs the rep column)
//     rep-months (calendar months at the offset) with seller activity by the rep;
//     value: the share of them in which some deal of the rep (most active rep) has a
//     buyer action (in that month at the offset); score 100 x value.
//   advanced_sales_metrics / buyer_defined_stages
//     transitions into an open stage that have an action (not stall closes); value:
//     the share whose action's actor is the buyer; score 100 x value.
//   non_productive_sales_reps / non_productive_share   (needs the rep column)
//     per rep (most active rep of a deal): won dollars over the rep's active months;
//     value: the share of reps (>= 1 active month) below non_productive_fraction x the
//     median rep's figure; score 100 x (1 - value); cannot speak with fewer than 3 reps.
//     Won dollars: the values of the rep's won deals (those without a value add 0);
//     an active month: a month (at the offset) with seller activity by the rep; the
//     median interpolates. Also cannot speak when no won deal of a rep has a value.
//   pipeline_management_and_forecasting / stalled_share
//     value: of deals open at as_of (outcome open or stalled), the share stalled; score
//     100 x (1 - value).
//   pipeline_management_and_forecasting / forecast_accuracy
//     T = as_of - forecast_horizon. The chain of funnel.h fitted on the moves (as
//     funnel.h defines them) with time < T; the deals open at T (their stage at T from
//     their last transition before T; valued ones only). forecast = Σ value x
//     P(win | stage at T); actual = Σ value of those won by as_of + Σ value x P(win |
//     their stage at as_of) (same chain) for those still open. value: 1 - |forecast -
//     actual| / actual, floored at 0; score 100 x value. Cannot speak with fewer than
//     min_cases deals open at T, actual = 0, or a NaN win probability for all of them.
//     A deal whose stage at T, or whose current stage when still open at as_of, has a
//     NaN win probability is left out of both sums; cases counts the deals kept, and
//     min_cases applies to them. Lost and excluded deals add 0 to actual; actual < 0
//     (negative values) cannot speak either. A transition at exactly T is not before
//     T.
// Options: support_target_days > 0; utc_offset_minutes in -1440..1440;
// max_days_without_break >= 1; vacation_days in 1..365; forecast_horizon > 0;
// non_productive_fraction in (0, 1]; min_cases >= 1 (else InvalidArgument naming it).
struct SignalOptions {
  std::string qualification_stage;          // default "": the second open stage
  std::vector<std::string> support_stages;  // stages that wait on sales support
  double support_target_days = 5.0;
  int32_t utc_offset_minutes = 0;
  int32_t max_days_without_break = 12;
  int32_t vacation_days = 7;
  int64_t forecast_horizon = 90LL * 86'400'000'000'000LL;  // ns
  double non_productive_fraction = 0.5;
  int64_t min_cases = 10;
};
struct PracticeSignal {
  std::string practice, signal;
  bool speaks = false;
  double value, score;
  int64_t cases = 0;
  std::string evidence;  // e.g. "18 of 24 reps worked 13 or more days in a row"
  std::string reason;    // why it cannot speak; empty when it speaks
};
// Every signal above, in that order, one row each. InvalidArgument for bad options
// (naming the option) and unknown stage names; FailedPrecondition when the timelines
// do not fit the log.
absl::StatusOr<std::vector<PracticeSignal>> PracticeSignals(const EventLog& log, const Timelines& timelines,
                                                            const SignalOptions& options = {});

// ===================================================================================
// ATTRIBUTION AND THE ASSESSMENT
// ===================================================================================
// Each leak row of a LeakAssessment with shrunk_dollars > 0 is attributed, in dollars
// (its shrunk_dollars), by these rules, in order:
//   1. units named in non_productive_units (reps judged non-productive): the whole
//      leak to non_productive_sales_reps;
//   2. a support stage: to sales_support;
//   3. a stage below the qualification stage: to qualifying_account_criteria;
//   4. otherwise split in proportion to how the row's non-advanced trials ended:
//      stalled and lost "(stalled)" to pipeline_management_and_forecasting,
//      disqualified to qualifying_account_criteria, the other lost to
//      advanced_sales_metrics (coach the buyer behaviour that stage needs); a row with
//      no failed trial goes to advanced_sales_metrics. The "(stalled)" count comes
//      from LeakAssessment::reasons, and goes to the pipeline even when "(stalled)" is
//      listed as a disqualification.
// qualification_stage and support_stages must name open stages of the assessment; an
// empty qualification_stage is the second open stage (the first when there is only
// one). A non_productive_units name the assessment lacks has no leak and is ignored.
// Per practice: the questionnaire score, the data score (the mean score of its
// signals that speak; NaN when none does), the combined score (the mean of the two
// that exist; NaN when neither), the leak dollars attributed (and the count of rows),
// and the rank by dollars (1 = most at stake; ties in kPracticeIds order).
// best_practices lists every statement's best_practice text, each with its practice's
// dollars at stake, ordered by that practice's rank, then by the statement's mean
// points (lowest first; unanswered last), then instrument order.
struct AttributionOptions {
  std::string qualification_stage;          // as SignalOptions
  std::vector<std::string> support_stages;
  std::vector<std::string> non_productive_units;
};
struct PracticeAssessment {
  struct PracticeRow {
    std::string practice, name;
    double questionnaire_score, data_score, score;
    double leak_dollars;
    int64_t leak_rows;
    int32_t rank;
  };
  struct BestPractice {
    std::string practice, statement, text;
    double statement_points, dollars_at_stake;
  };
  struct AttributedLeak {  // one per (leak row, practice) with dollars > 0
    int32_t unit, stage;
    std::string practice;
    double dollars;
  };
  std::vector<PracticeRow> practices;  // kPracticeIds order
  std::vector<BestPractice> best_practices;  // by the practice's rank, then points
  std::vector<AttributedLeak> leaks;         // leak row order, then kPracticeIds order
  double attributed_dollars = 0;  // Σ leak dollars = Σ of the rows' positive shrunk_dollars
};
// questionnaire may be null (no answers). InvalidArgument for stage names the
// assessment lacks, a signal naming an unknown practice, and leak rows whose columns
// differ in length or whose unit or stage is out of range.
absl::StatusOr<PracticeAssessment> AssessPractices(const Instrument& instrument,
                                                   const QuestionnaireScores* questionnaire,
                                                   std::span<const PracticeSignal> signals,
                                                   const LeakAssessment& leaks,
                                                   const AttributionOptions& options = {});

}  // namespace salesperf

#endif  // SALESPERF_PRACTICES_H_
