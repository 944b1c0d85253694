// salesperf/deviance.h — positive deviance: the reps who beat the odds given their
// deal mix, the seller behaviours that get buyers to move, and, for the reps who fall
// short, whether it is a question of skill (know how), will (want to) or of the metrics
// (doing what the numbers reward).
//
//   absl::StatusOr<salesperf::DeviantAssessment> dev =
//       salesperf::AssessDeviants(log, timelines, units, {.covariates = {"segment", "lead_source"}});
//   dev->ratio_shrunk[u];   // wins of unit u against those expected from its deal mix
//   absl::StatusOr<salesperf::BehaviourAssessment> beh =
//       salesperf::AssessBehaviours(log, timelines, units);
//   beh->rows.sentence[i];  // "At Proposal, deals with a meeting with the decision_maker
//                           //  before it advanced 71% against 54% without ..."
//   absl::StatusOr<salesperf::RepDiagnosis> diag =
//       salesperf::DiagnoseReps(log, timelines, units, *dev, &*beh);
//
// Source in practice: "the activities that can reverse flat sales performance can be
// found with the best salespeople". Ask what works against all odds, not what is
// wrong; break the deviants' practices into steps others can copy; and, for a
// non-productive rep, ask in order: does the rep know how to do the job, want to, and
// understand the metrics that define it (docs/deviance.md).
//
// ===================================================================================
// DEFINITIONS
// ===================================================================================
// Deals and units. Units map every deal to a unit (salesperf/indicators.h). A deal is
// DECIDED when it entered an open stage and its outcome at timelines.as_of is Won, Lost
// or Stalled (a stall counts as a failure, as in salesperf/leaks.h); Open and Excluded
// deals are not decided and take no part in parts 1 and 2's outcomes.
//
// ---- 1. Positive deviants (AssessDeviants) ----------------------------------------
// Covariates: the named dimension columns of the log; a deal's level is the first
// non-null value among its events, "(none)" when all are null. Each covariate is coded
// as indicator columns for all its levels present among the decided deals except the
// reference level (the most frequent; ties: the first by name, "(none)" after every
// named level), after an intercept; the other levels' columns in that order.
// The expectation model, fitted over ALL decided deals (no unit term):
//   P(won | x) = expit(x'β), β maximising  Σ_d [y_d x_d'β - ln(1 + exp(x_d'β))]
//                                          - (ridge / 2) Σ_{j>=1} β_j²
// (the intercept is not penalised), by Newton's method (Eigen LDLT on the penalised
// Hessian), from β = 0 with the intercept at logit(mean y), to a step whose largest
// |Δβ_j| < 1e-10, at most 100 iterations; not converging is Internal. With no
// covariate the model is the intercept alone: p = the pooled win rate.
// Per unit u, over its decided deals:
//   decided_u, won_u (O), expected_u (E) = Σ p̂_d;
//   ratio = O / E (NaN when E = 0);
//   won_value = Σ value over won deals; expected_value = Σ p̂_d × value_d, where a
//   deal without a value counts at the mean value of the decided deals that have one
//   (in both sums); excess_value = won_value - expected_value. Values are summed
//   exactly in fixed point (kDollarScale, salesperf/indicators.h; a value of magnitude
//   9e14 or more is an InvalidArgument naming the deal), and every sum over deals runs
//   per (unit, covariate pattern) cell in the canonical order of DeviantCounts below,
//   so merged counts give the same bits.
// Shrinkage (empirical Bayes, gamma-Poisson): O_u ~ Poisson(θ_u E_u), θ_u ~ Gamma(α, α)
// (mean 1: performing as the deal mix predicts). α maximises the negative-binomial
// marginal likelihood Σ_u [lnΓ(α + O_u) - lnΓ(α) + α ln(α / (α + E_u)) + O_u ln(E_u /
// (α + E_u))] over units with E_u > 0, for α in [kMinConcentration, kMaxConcentration]
// (salesperf/leaks.h), by golden-section search on ln α to 1e-9 relative. With fewer
// than two such units, α = 0 and the posterior is Gamma(O + 1/2, E) (Jeffreys).
// Posterior θ_u | O_u ~ Gamma(α + O_u, rate α + E_u):
//   ratio_shrunk = (α + O) / (α + E); ratio_lower, ratio_upper = its (1-interval)/2 and
//   (1+interval)/2 quantiles; probability_above = P(θ > 1); probability_below = P(θ < 1).
//   (E = 0: every figure NaN.)
//   deviant = +1 (a positive deviant: beats the odds) when probability_above >=
//   flag_probability and ratio_shrunk >= 1 + min_effect; -1 when probability_below >=
//   flag_probability and ratio_shrunk <= 1 - min_effect; else 0.
//   rank: 1 = highest ratio_shrunk (NaN last; ties by unit name).
//
// ---- 2. Behaviours that distinguish (AssessBehaviours) -----------------------------
// The unit of analysis is a deal at an open stage k that it ENTERED (first_entered
// not null; stages it skipped are not studied), with its entry time e_k and the buyer
// action that entered it. The deal ADVANCED from k when it later entered a higher open
// stage or is Won (leaks.h's furthest > k); it FAILED at k when its furthest stage is k
// and its outcome is Lost or Stalled; otherwise (open or excluded at k) it is not a
// trial. Trials are the deals that advanced or failed.
// Features look only at what happened BEFORE the deal entered k, plus the first
// follow_up_window after e_k (events with time <= e_k + follow_up_window, and before the
// deal's next stage transition) — never at how long the deal then sat at k, so a long
// stall with many seller attempts cannot leak the outcome into a feature. "Seller
// activity" is an event whose action's actor is the seller. Binary features, per deal
// and stage, in this order and with these names:
//   follow_up           a seller activity in (e_k, e_k + follow_up_window]: "a seller
//                       follow-up within 24 h of the buyer's <entry action>" (the actions
//                       that first entered the stage, most frequent first, ties by name,
//                       joined by "or");
//   <action>@<role>     for each seller action a and contact role r of the log (actions,
//                       then roles, each sorted by name, so that logs split by deal and
//                       merged agree on the order): an event
//                       of action a with contact_role r strictly before e_k (only when
//                       the log has a contact_role column): "a <a> with the <r> before
//                       <stage>";
//   contacts>=m         m = 2, 3, 4: seller activities strictly before e_k touched at
//                       least m distinct contacts (contact column needed): "seller
//                       activities reached at least m contacts before <stage>";
//   roles>=m            m = 2, 3: at least m distinct contact roles among them: "seller
//                       activities reached at least m contact roles before <stage>";
//   buyer_contacts>=2   buyer actions strictly before e_k came from at least 2 distinct
//                       contacts: "at least two buyer contacts had acted before <stage>";
//   cadence<=7d         the deal had a seller activity strictly before e_k, and no gap
//                       longer than 7 days between consecutive seller activities in
//                       [first event, e_k), nor from the last of them to e_k: "seller
//                       touches no more than 7 days apart before <stage>".
// Events at the same instant: an activity at the time of the deal's next transition is
// not before it; one exactly at e_k is neither before k nor a follow-up. Every open
// stage has a row per feature (stage 0's only possible support is follow_up).
// For each (stage k, feature f): trials split into present / absent, and by stratum —
// the deal's unit (so the comparison is within the same rep: a skilled rep who also
// happens to do f cannot make f look effective) — 2×2 tables (a present & advanced,
// b present & failed, c absent & advanced, d absent & failed, n = a + b + c + d):
//   present, absent, advanced_present, advanced_absent (totals over strata);
//   rate_present, rate_absent = advanced / trials in each group, with Wilson intervals
//               at `interval` (rate and bounds NaN when the group is empty);
//   lift        rate_present / rate_absent (plain division: inf when rate_absent is 0);
//   odds_ratio  the Mantel–Haenszel estimate Σ a d / n ÷ Σ b c / n over strata with
//               n >= 2; its interval exp(ln OR ∓ z se) with the Robins–Breslow–
//               Greenland variance; NaN when either sum is 0;
//   p_value     the Cochran–Mantel–Haenszel test without continuity correction:
//               (Σ a - Σ E[a])² / Σ Var(a), E[a] = (a+b)(a+c)/n, Var(a) =
//               (a+b)(c+d)(a+c)(b+d) / (n²(n-1)), chi-square with 1 df; NaN when Σ Var = 0.
//   tested      present >= min_support and absent >= min_support and p_value not NaN.
//   q_value     Benjamini–Hochberg over all tested rows (step-up, monotone, capped at
//               1); NaN for untested rows.
//   replicate   tested, q_value <= fdr and odds_ratio > 1: a practice to replicate;
//   avoid       tested, q_value <= fdr and odds_ratio < 1.
// Over and above (proxies). One behaviour shows through many features — meeting the
// decision maker before Proposal also means two contacts and two roles were reached —
// so the discoveries of a stage are screened in turn. Let t* be the Benjamini–Hochberg
// cut-off: the largest p_value among the rows with q_value <= fdr (none: no screen).
// Per stage, the discoveries (replicate or avoid rows) are taken by p_value ascending
// (ties: feature order); accepted starts empty. Each is tested again stratified by
// unit × the pattern of the accepted features on the deal (present/absent of each;
// at most kMaxAdjustFor accepted features are used, the first accepted), giving
// adjusted_odds_ratio (+ lower/upper) and adjusted_p_value as above. It is
// INDEPENDENT, and joins accepted, when adjusted_p_value <= t* and the adjusted odds
// ratio is on the same side of 1 as the odds_ratio (the first of a stage is always
// adjusted for nothing, so it is independent); otherwise explained_by names the
// accepted features it was adjusted for (", "-joined feature names), the one that
// explains it best first: the largest CMH p-value of the row when stratified by unit ×
// that one feature alone (a NaN p-value — no contrast left — counts as largest), ties
// in acceptance order; so a proxy is named under the behaviour it copies. Rows that are not
// discoveries have the adjusted figures NaN, independent 0 and explained_by "".
// When deviant units are given (AssessBehaviours' `deviants`: per unit, 1 for a
// positive deviant), each row also has deviant_share and peer_share: the share of trials
// with the feature among deviant units' deals and among the other units' deals (NaN when
// empty), and the deviant_lift = deviant_share / peer_share. Deals of one rep are not
// independent, so the deviants are also compared with their peers rep by rep: over the
// units with at least one trial at the row's stage, each unit's share of its trials
// with the feature; deviant_units and peer_units count them, deviant_unit_share and
// peer_unit_share are their means, share_difference = deviant_unit_share -
// peer_unit_share with the Welch interval at `interval` (Student t with the
// Welch–Satterthwaite degrees of freedom) and the two-sided Welch p-value
// share_p_value; interval and p-value NaN when either group has fewer than two units
// or both sample variances are 0.
// Rows are ordered by stage, then feature order above; the sentence states the row
// in words ("within the same <units' kind>", "unit" for a custom kind, no clause for
// "all"; rows without trials or without contrast get a short sentence saying so), e.g. "At Proposal, deals with a meeting with the decision_maker before
// Proposal advanced 71% of the time against 54% without (odds x1.9, 95% CI 1.6-2.3,
// within the same rep; 812 of 1,990 deals)."
//
// ---- 3. Skill, will and the metrics (DiagnoseReps) ---------------------------------
// Per unit u, for its deals:
//   active weeks  Σ over its deals of (end - first event time) / 7 days, with end the
//                 outcome_time when the deal is Won, Lost, Stalled or Excluded (when it
//                 closed, stalled or left) and timelines.as_of when Open (never less
//                 than the first event time);
//   activities    seller activities at or before each deal's end;
//   volume        activities / active weeks (NaN when 0 weeks); the peer volume is the
//                 median (linear interpolation) of the volumes of units with at least
//                 min_weeks active weeks; volume_ratio = volume / peer volume, with
//                 the exact (Garwood, chi-square) Poisson interval of the count at
//                 `interval`, divided by weeks and by the peer volume;
//   conversion    the unit's ratio_shrunk, ratio_lower, ratio_upper and
//                 probability_below from the DeviantAssessment;
//   adoption      when behaviours are given: over the rows that are `replicate`, the
//                 unit's trials at that stage having the feature (P_u) against the
//                 trials it would have at the pooled rate (Σ_rows n_u,row × present /
//                 (present + absent)) = X_u; adoption_ratio = P_u / X_u, with the
//                 Garwood interval of P_u divided by X_u; NaN without replicate rows.
// Answers (each "no", "yes" or "unclear", with an evidence sentence):
//   know_how     "no" when conversion probability_below >= flag_probability and
//                ratio_shrunk <= 1 - min_gap (converts at least min_gap fewer than its
//                deal mix predicts); "yes" when ratio_upper >= 1 (not credibly short);
//                else "unclear" (also when the unit has no decided deal);
//   want_to      "no" when volume_ratio upper bound < 1 - min_gap (at least min_gap fewer
//                activities per active deal-week than the median peer, beyond chance);
//                "yes" when the upper bound >= 1; else "unclear" (NaN volume: unclear);
//   understands  "no" when adoption_ratio upper bound < 1 - min_gap (does the practices
//   _metrics     that the data shows move buyers less than its peers); "yes" when the
//                upper bound >= 1; "unclear" otherwise or without adoption.
//   non_productive  know_how is "no", or want_to is "no" and ratio_shrunk is not >= 1 (a rep
//                who does little but converts as its deal mix predicts or better is a will
//                question, "efficient, low activity", not a non-productive rep).
//   quadrant     from volume_ratio (v) and ratio_shrunk (c): "productive" (v >= 1,
//                c >= 1), "efficient, low activity" (v < 1, c >= 1), "busy, low
//                conversion" (v >= 1, c < 1), "low activity, low conversion"; "unknown"
//                when either is NaN.
// methods_question: true when at least a third of the units with a diagnosis are
// non_productive — the organisation's methods, tools and reports deserve a look before
// the reps do (the fourth question).
#ifndef SALESPERF_DEVIANCE_H_
#define SALESPERF_DEVIANCE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/indicators.h"
#include "salesperf/state.h"
#include "salesperf/timelines.h"

namespace salesperf {

// ---- 1. Positive deviants --------------------------------------------------------

struct DeviantOptions {
  std::vector<std::string> covariates;  // dimension names; NotFound names a missing one
  double ridge = 1.0;                   // >= 0, finite
  double interval = 0.95;               // in (0, 1)
  double flag_probability = 0.95;       // in (0.5, 1)
  double min_effect = 0.10;             // >= 0
};

struct DeviantAssessment {
  std::vector<std::string> unit_names;   // the Units' names; every array is per unit
  std::vector<std::string> coefficient_names;  // "(intercept)", "segment=Enterprise", ...
  std::vector<double> coefficients;            // β, same order
  std::vector<std::string> reference_levels;   // per covariate: the reference level
  double concentration = 0;                    // α (0: none fitted)
  int64_t decided_deals = 0;                   // over all units
  std::vector<int64_t> decided, won;
  std::vector<double> expected, ratio;
  std::vector<double> won_value, expected_value, excess_value;
  std::vector<double> ratio_shrunk, ratio_lower, ratio_upper;
  std::vector<double> probability_above, probability_below;
  std::vector<int8_t> deviant;   // +1, 0, -1
  std::vector<int32_t> rank;     // 1 = highest ratio_shrunk
  // Per deal of the log: p̂ (NaN for deals not decided).
  std::vector<double> deal_probability;
};

// InvalidArgument naming the option; NotFound naming a covariate the log lacks;
// FailedPrecondition when timelines or units do not fit the log (sizes), or when no
// deal is decided.
absl::StatusOr<DeviantAssessment> AssessDeviants(const EventLog& log, const Timelines& timelines,
                                                 const Units& units, const DeviantOptions& options = {});

// The counts AssessDeviants fits on, as a mergeable accumulator: per (unit, covariate
// pattern) of the decided deals, the deals, wins, deals with a value, won deals with a
// value, and the exact fixed-point sums (kDollarScale, salesperf/indicators.h) of the
// values of those deals and of the won ones. Keys are names: units sorted by name (every
// name of the counted Units, with or without a decided deal), per covariate the levels
// present among the decided deals sorted by name with "(none)" (no value on any event)
// last, cells sorted by (unit, levels). So counting any split of a log's deals and
// merging the parts in any order or tree gives an object equal (operator==, and byte
// for byte in Serialize) to Count over the whole log, and Finalize then gives the same
// DeviantAssessment bit for bit, because every sum in it runs in this canonical order.
// AssessDeviants is Finalize(Count(whole log)) with its per-unit arrays put back in the
// Units' order (deal_probability filled); Finalize leaves deal_probability empty (the
// per-deal figures cannot come from merged counts) and its units are sorted by name
// (ties of rank go to the name that sorts first, in both paths).
class DeviantCounts {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  DeviantCounts() = default;
  // NotFound naming a covariate the log lacks; InvalidArgument for a covariate named
  // twice or a deal's value too large for the fixed-point sums (naming the deal);
  // FailedPrecondition when timelines or units do not fit the log or unit names repeat.
  static absl::StatusOr<DeviantCounts> Count(const EventLog& log, const Timelines& timelines, const Units& units,
                                             std::span<const std::string> covariates);
  // FailedPrecondition naming what differs (the covariates, the unit kind). Merging
  // into a default-constructed accumulator copies `other`.
  absl::Status Merge(const DeviantCounts& other);
  // Byte format: WrapState with magic "SPDEVC\0\0" (8 bytes), payload: u32 C; str covariates...;
  //   str unit kind; u32 U; str unit names...; per covariate: u8 has "(none)", u32 L;
  //   str levels...; u64 cells; per cell: u32 unit, u32 level per covariate (L: "(none)"),
  //   i64 deals, won, valued, won_valued, i128 value, won_value.
  // Deserialize: DataLoss for truncated or corrupt bytes and contents no Count or Merge
  // could produce (unsorted names, unused levels, bad counts); FailedPrecondition for
  // another version.
  std::string Serialize() const;
  static absl::StatusOr<DeviantCounts> Deserialize(std::string_view bytes);
  // The assessment (part 1) from the counts. options.covariates must be empty or equal
  // covariates() (FailedPrecondition); InvalidArgument naming a bad option;
  // FailedPrecondition when no deal is decided.
  absl::StatusOr<DeviantAssessment> Finalize(const DeviantOptions& options = {}) const;
  friend bool operator==(const DeviantCounts&, const DeviantCounts&) = default;

  const std::vector<std::string>& covariates() const { return covariates_; }
  const std::string& unit_kind() const { return unit_kind_; }
  const std::vector<std::string>& unit_names() const { return unit_names_; }
  const std::vector<std::vector<std::string>>& levels() const { return levels_; }  // without "(none)"
  size_t num_cells() const { return cell_unit_.size(); }
  int64_t decided_deals() const;

 private:
  friend class DeviantCountsBuilder;
  std::vector<std::string> covariates_;
  std::string unit_kind_;
  std::vector<std::string> unit_names_;
  std::vector<std::vector<std::string>> levels_;  // per covariate, sorted
  std::vector<uint8_t> has_none_;                 // per covariate: "(none)" is level levels_[c].size()
  std::vector<int32_t> cell_unit_;                // per cell
  std::vector<int32_t> cell_level_;               // cells x covariates
  std::vector<int64_t> deals_, won_, valued_, won_valued_;  // per cell
  std::vector<Int128> value_, won_value_;                   // per cell
};

// ---- 2. Behaviours that distinguish -----------------------------------------------

inline constexpr int kMaxAdjustFor = 8;

// The default follow-up window of the behaviours: 24 hours, in nanoseconds.
inline constexpr int64_t kDefaultFollowUpWindow = 24LL * 3600 * 1000000000;

struct BehaviourOptions {
  int64_t follow_up_window = kDefaultFollowUpWindow;  // ns, > 0 (24 h)
  int64_t min_support = 30;                          // >= 1
  double fdr = 0.10;                                 // in (0, 1)
  double interval = 0.95;                            // in (0, 1)
  // Per unit (size = units' count) 1 for a positive deviant; empty: no deviant columns.
  std::vector<uint8_t> deviants;
};

struct BehaviourRows {
  std::vector<int32_t> stage;
  std::vector<std::string> feature;       // "follow_up", "meeting@decision_maker", ...
  std::vector<std::string> description;   // the feature in words (see above)
  std::vector<int64_t> present, absent, advanced_present, advanced_absent;
  std::vector<double> rate_present, rate_present_lower, rate_present_upper;
  std::vector<double> rate_absent, rate_absent_lower, rate_absent_upper;
  std::vector<double> lift, odds_ratio, odds_ratio_lower, odds_ratio_upper;
  std::vector<double> p_value, q_value;
  std::vector<uint8_t> tested, replicate, avoid;
  std::vector<double> deviant_share, peer_share, deviant_lift;  // NaN without deviants
  std::vector<int64_t> deviant_units, peer_units;               // 0 without deviants
  std::vector<double> deviant_unit_share, peer_unit_share, share_difference, share_difference_lower,
      share_difference_upper, share_p_value;                    // NaN without deviants
  std::vector<std::string> sentence;
  std::vector<double> adjusted_odds_ratio, adjusted_lower, adjusted_upper, adjusted_p_value;
  std::vector<uint8_t> independent;
  std::vector<std::string> explained_by;
  size_t size() const { return stage.size(); }
};

struct BehaviourAssessment {
  std::vector<std::string> stage_names;  // open stages, then "Won", "Lost"
  int32_t num_open = 0;
  std::vector<std::string> unit_names;
  std::vector<int64_t> trials;           // per open stage: deals that advanced or failed
  BehaviourRows rows;
  // Per row and unit, row-major (row * units + unit): the unit's trials at the row's
  // stage, and those with the feature. Used by DiagnoseReps' adoption.
  std::vector<int64_t> unit_trials, unit_present;
};

// InvalidArgument naming the option; FailedPrecondition when timelines or units do not
// fit the log, or `deviants` has the wrong size.
absl::StatusOr<BehaviourAssessment> AssessBehaviours(const EventLog& log, const Timelines& timelines,
                                                     const Units& units, const BehaviourOptions& options = {});

// The counts AssessBehaviours works from, as a mergeable accumulator: per (open stage,
// unit, the set of features present, advanced or failed) the number of trials, and per
// (open stage, action) the deals whose entry into the stage that action made. Keys are
// names: the stages, units sorted by name (every name of the counted Units), the seller
// actions and contact roles of the features sorted by name, the entry actions sorted by
// name; cells sorted by (stage, unit, feature bits, failed). Any split of a log's deals
// counted and merged in any order or tree equals Count over the whole log (operator==,
// byte for byte), and Finalize gives the same BehaviourAssessment bit for bit: every
// sum over units (the Mantel–Haenszel strata, the rep-by-rep Welch comparison) runs in
// unit-name order in both paths.
// AssessBehaviours is Finalize(Count(whole log)) with the per-unit arrays and
// `deviants` in the Units' order. Finalize's units are sorted by name: its options'
// `deviants` follow unit_names().
class BehaviourCounts {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  BehaviourCounts() = default;
  // follow_up_window (> 0, InvalidArgument) is the only option that matters at count
  // time. FailedPrecondition when timelines or units do not fit the log or unit names
  // repeat.
  static absl::StatusOr<BehaviourCounts> Count(const EventLog& log, const Timelines& timelines, const Units& units,
                                               int64_t follow_up_window = kDefaultFollowUpWindow);
  // FailedPrecondition naming what differs: the stages, the follow-up window, the unit
  // kind, or the feature definitions (one log has a contact or contact_role column and
  // the other not). Seller actions, roles and units are united. Merging into a
  // default-constructed accumulator copies `other`.
  absl::Status Merge(const BehaviourCounts& other);
  // Byte format: WrapState with magic "SPBEHC\0\0" (8 bytes), payload: u32 S; str stage
  //   names...; i32 num_open; i64 follow_up_window; str unit kind; u8 has_contact,
  //   has_role; u32 U; str units...; u32 A; str seller actions...; u32 R; str roles...;
  //   u32 E; str entry actions...; i64 entry counts (num_open x E); u64 cells; per cell:
  //   i32 stage, u32 unit, u8 failed, i64 trials, u64 words of feature bits (words =
  //   ceil(features / 64), at least 1).
  std::string Serialize() const;
  static absl::StatusOr<BehaviourCounts> Deserialize(std::string_view bytes);
  // The assessment (part 2). options.follow_up_window must equal the counted one
  // (FailedPrecondition); options.deviants is per unit of unit_names() (or empty).
  absl::StatusOr<BehaviourAssessment> Finalize(const BehaviourOptions& options = {}) const;
  friend bool operator==(const BehaviourCounts&, const BehaviourCounts&) = default;

  const std::vector<std::string>& stage_names() const { return stage_names_; }
  int32_t num_open() const { return num_open_; }
  int64_t follow_up_window() const { return window_; }
  const std::string& unit_kind() const { return unit_kind_; }
  const std::vector<std::string>& unit_names() const { return unit_names_; }
  std::vector<std::string> feature_names() const;
  size_t num_cells() const { return cell_stage_.size(); }

 private:
  friend class BehaviourCountsBuilder;
  std::vector<std::string> stage_names_;
  int32_t num_open_ = 0;
  int64_t window_ = 0;
  std::string unit_kind_;
  uint8_t has_contact_ = 0, has_role_ = 0;
  std::vector<std::string> unit_names_, seller_actions_, roles_, entry_actions_;
  std::vector<int64_t> entry_count_;  // num_open x entry actions
  std::vector<int32_t> cell_stage_, cell_unit_;
  std::vector<uint8_t> cell_failed_;
  std::vector<int64_t> cell_trials_;
  std::vector<uint64_t> cell_mask_;  // cells x words
};

// ---- 3. Skill, will and the metrics ------------------------------------------------

struct DiagnosisOptions {
  double min_weeks = 4;          // >= 0: active weeks for a unit to set the peer volume
  double min_gap = 0.2;          // in [0, 1)
  double interval = 0.95;        // in (0, 1)
  double flag_probability = 0.95;  // in (0.5, 1)
};

struct RepDiagnosis {
  std::vector<std::string> unit_names;  // every array is per unit
  std::vector<double> active_weeks;
  std::vector<int64_t> activities;
  std::vector<double> volume, volume_ratio, volume_lower, volume_upper;
  double peer_volume = 0;
  std::vector<double> conversion, conversion_lower, conversion_upper;  // ratio_shrunk ...
  std::vector<double> adoption_present, adoption_expected;
  std::vector<double> adoption_ratio, adoption_lower, adoption_upper;
  std::vector<std::string> know_how, want_to, understands_metrics;  // "no" / "yes" / "unclear"
  std::vector<std::string> know_how_evidence, want_to_evidence, understands_metrics_evidence;
  std::vector<uint8_t> non_productive;
  std::vector<std::string> quadrant;
  bool methods_question = false;
};

// `deviants` must come from the same log, timelines and units; `behaviours` may be null
// (no adoption). FailedPrecondition when they do not fit; InvalidArgument naming the
// option.
absl::StatusOr<RepDiagnosis> DiagnoseReps(const EventLog& log, const Timelines& timelines, const Units& units,
                                          const DeviantAssessment& deviants,
                                          const BehaviourAssessment* behaviours = nullptr,
                                          const DiagnosisOptions& options = {});

}  // namespace salesperf

#endif  // SALESPERF_DEVIANCE_H_
