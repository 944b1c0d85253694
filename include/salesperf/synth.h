// salesperf/synth.h — a deterministic synthetic B2B sales organisation and its event
// log, with the truths planted in it, for tests, benchmarks and demos.
//
//   salesperf::SynthOptions options;
//   options.events = 1'000'000;  // about; the log ends at the first deal reaching it
//   absl::StatusOr<salesperf::SyntheticCompany> company = salesperf::GenerateCompany(options);
//   absl::StatusOr<salesperf::Ingested> in =
//       salesperf::Ingest(company->columns(), company->vocabulary());
//   company->reps().leak_stage[5];   // e.g. 2: rep 5 leaks Qualified -> Budget
//   company->behaviours()[0].effect;  // 1.8: DM meeting before Proposal, odds x1.8
//
// The same options give bit-identical output on every machine and for every thread
// count: each deal draws from its own random stream, seeded from (seed, deal index),
// with this file's own generator and distributions (never std:: distributions,
// whose output differs between standard libraries).
//
// ===================================================================================
// THE GENERATIVE MODEL (this is the specification; tests and metrics rely on it)
// ===================================================================================
// Time. The period is [start_time, start_time + days), UTC nanoseconds. Events at or
// after the end are not emitted (right censoring): deals still running at the end
// simply stop, so the log ends with open deals. Times are cut to whole milliseconds;
// within a deal they strictly increase (a tie, which is rare, is moved on by 1 ns).
//
// Size. A pilot of the first 4,096 deals under the same options measures the mean
// events per deal; that plans D deals (3% spare), simulated in chunks of 4,096, with
// more rounds if short. The log is the shortest prefix of deals 0, 1, ... whose
// events reach `events`, so it overshoots by less than one deal.
//
// Organisation (drawn from `seed` and, for the accounts, D, before any deal):
//   rep r = 0..reps-1, label "rep-01"...; team (manager) = r * teams / reps, label
//   "team-1"...; territory = r % territories, label "territory-1"....
//   skill_r = clamp(exp(0.35 Z), 0.5, 2.0): an odds multiplier on EVERY stage
//     progression of the rep's deals (Z standard normal).
//   will_r = clamp(2 exp(0.4 Z), 0.6, 6.0): the rep's seller activities per week on
//     each open deal (a Poisson process).
//   leaks: max(1, round(reps / 6)) distinct reps, chosen at random, each leak one
//     transition s -> s+1 with s uniform in {Engaged .. Commit}: the probability of
//     that progression is multiplied by leak_factor, drawn from {0.4, 0.5, 0.6}.
//   behaviour propensities, per rep and behaviour (below): a rep practises a behaviour
//     with probability 0.35, then propensity ~ U(0.7, 0.9), else ~ U(0.05, 0.25); with
//     two or more reps at least one rep practises each behaviour and one does not.
//   accounts: about one per 3 deals, ceil(D / (3 territories)) per territory, D the
//     deal count planned from a fixed pilot of the same options; account a is in territory
//     a % territories; segment SMB / Mid-Market / Enterprise with probability
//     .55 / .30 / .15. Buying centre (contacts, in this order, label "A0000001-dm" ...):
//       SMB        decision_maker, champion
//       Mid-Market decision_maker, champion, influencer, user
//       Enterprise decision_maker, champion, influencer, influencer, user, user
//
// Deal d (its own stream):
//   rep uniform; account uniform among the rep's territory's accounts; segment is the
//   account's; product Core / Analytics / Platform / Services (.40 .25 .20 .15);
//   lead_source inbound / outbound / partner / event (.35 .35 .15 .15).
//   amount = round10(median_segment * product_factor * exp(0.7 Z)), medians SMB 8,000,
//     Mid-Market 40,000, Enterprise 200,000; product factors 1, 0.6, 2, 0.4. Every event
//     of the deal carries it.
//   creation day: weight 1, x0.15 on Saturday/Sunday, x1.5 in a quarter's last month,
//     x1.4 more in its last 14 days (calendar quarters, UTC); time of day uniform in
//     07:00-19:00. Event `opportunity_created` (system, no contact): stage Lead.
//
// Stages, entered by these buyer actions only (each at most once, in order):
//   Lead(opportunity_created) -> Engaged(reply) -> Qualified(state_need)
//   -> Budget(share_budget) -> Proposal(request_proposal) -> Commit(verbal_commit)
//   -> Won(sign); Lost via decline. A buyer who goes dark just stops acting.
// On entering stage s in {Lead .. Commit} at time t, the deal's exit from s is drawn:
//   odds = base_odds[s] * skill_r * lead_source_factor (s = Lead only: inbound 1.5,
//          outbound 0.7, partner 1.2, event 1.0) * each behaviour effect that applies
//   p_progress = odds / (1 + odds) * leak_factor_r (when r leaks at s, else 1)
//   base conversion p[s] = odds/(1+odds) = kSynthBaseConversion: .70 .65 .65 .70 .55 .85
//   else decline with probability 0.4, else go dark (kSynthDeclineShare).
// Progress or decline happens at t + 1 day + LogNormal(median m[s] * speed_segment,
//   sigma 0.6), m = 3, 7, 10, 10, 14, 21 days, speed SMB 0.6, MM 1, Enterprise 1.7
//   (so nothing happens within 24 h of a buyer action but seller follow-ups).
//   In Proposal, the first seller activity is `send_proposal`, and the buyer's next
//   action comes at least 1 day + Exp(2 days) after it.
//   Quarter-end close: if the natural `sign` time falls after the end of the current
//   quarter and that end is within 45 days of the verbal_commit, with probability 0.7
//   the sign moves into the quarter's last 3 days (if that is still > 1 day after it).
// Going dark: the seller keeps trying for Exp(mean 21 days), then stops.
// Seller activities in stage s: a Poisson process of rate will_r per week from t, plus,
//   when s >= Engaged, a deliberate follow-up at t + U(1 h, 20 h) with probability
//   follow_up propensity. Type: call .40, email .45, meeting .15 (dark: call / email
//   .5 / .5). Contact: for a meeting before Proposal, the decision maker with
//   probability dm_meeting propensity; otherwise an untouched contact with probability
//   multithreading propensity; otherwise the champion (the DM in a 1-contact centre).
// Buyer actions' contacts: reply, request_proposal: champion; state_need: champion or
//   user; share_budget: decision maker or influencer; verbal_commit, sign: decision
//   maker; decline: decision maker or champion.
//
// Planted behaviours (odds multipliers, defined on what the log shows, so that a metric
// can recover them by counting):
//   0 dm_meeting_before_proposal  x1.8 on Proposal -> Commit when a `meeting` event whose
//       contact_role is decision_maker precedes the deal's request_proposal.
//   1 follow_up_24h               x1.5 on s -> s+1 (s = Engaged .. Commit) when a seller
//       activity falls within 24 h after the buyer action that entered s (either the
//       deliberate follow-up or, by chance, the first Poisson activity).
//   2 multithreading              x1.5 on Budget -> Proposal when seller activities
//       before share_budget touched at least min(3, buying-centre size) distinct
//       contacts (sizes: SMB 2, Mid-Market 4, Enterprise 6).
// Will has no direct effect on conversion; it raises the chance of an accidental
// 24 h follow-up, which then counts as the behaviour.
// ===================================================================================
#ifndef SALESPERF_SYNTH_H_
#define SALESPERF_SYNTH_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "salesperf/column.h"
#include "salesperf/event_log.h"
#include "salesperf/vocabulary.h"

namespace salesperf {

// 2024-01-01T00:00:00Z in nanoseconds.
inline constexpr int64_t kSynthDefaultStart = 1704067200LL * 1'000'000'000LL;

struct SynthOptions {
  uint64_t seed = 7;
  int64_t events = 100'000;   // target, 1 .. 1e9; the result has at most one deal more
                              // (memory: about 110 bytes per event)
  int32_t reps = 24;          // 1 .. 100,000
  int32_t teams = 4;          // 1 .. reps
  int32_t territories = 4;    // 1 .. reps
  int64_t start_time = kSynthDefaultStart;  // UTC ns, >= 0
  int32_t days = 730;         // 1 .. 36,500; the period must end before 2200
  int threads = 0;            // 0 = every core; the output does not depend on it
};

// Stages of the buyer-defined ladder.
enum class SynthStage : uint8_t {
  kLead = 0, kEngaged, kQualified, kBudget, kProposal, kCommit, kWon, kLost
};
inline constexpr int kSynthTransitions = 6;  // s -> s+1 for s = Lead .. Commit
inline constexpr std::array<std::string_view, 8> kSynthStageNames = {
    "Lead", "Engaged", "Qualified", "Budget", "Proposal", "Commit", "Won", "Lost"};

// Action codes of the log (the action column's codes, in vocabulary order).
enum class SynthAction : uint8_t {
  kOpportunityCreated = 0,  // system
  kCall, kEmail, kMeeting, kSendProposal,  // seller
  kReply, kStateNeed, kShareBudget, kRequestProposal, kVerbalCommit, kSign, kDecline,  // buyer
};
inline constexpr int kSynthActions = 12;
inline constexpr std::array<std::string_view, kSynthActions> kSynthActionNames = {
    "opportunity_created", "call", "email", "meeting", "send_proposal", "reply",
    "state_need", "share_budget", "request_proposal", "verbal_commit", "sign", "decline"};
// The action that enters stage s (Lead .. Won).
inline constexpr std::array<SynthAction, 7> kSynthStageAction = {
    SynthAction::kOpportunityCreated, SynthAction::kReply, SynthAction::kStateNeed,
    SynthAction::kShareBudget, SynthAction::kRequestProposal, SynthAction::kVerbalCommit,
    SynthAction::kSign};

// contact_role codes.
enum class SynthRole : uint8_t { kDecisionMaker = 0, kChampion, kInfluencer, kUser };
inline constexpr std::array<std::string_view, 4> kSynthRoleNames = {
    "decision_maker", "champion", "influencer", "user"};

// Model constants (see the header comment).
inline constexpr std::array<double, kSynthTransitions> kSynthBaseConversion = {
    0.70, 0.65, 0.65, 0.70, 0.55, 0.85};
inline constexpr double kSynthDeclineShare = 0.4;

enum class SynthBehaviour : uint8_t { kDmMeetingBeforeProposal = 0, kFollowUp24h, kMultithreading };
inline constexpr int kSynthBehaviours = 3;

// How a deal ended in the simulation (its truth, whatever the log shows).
enum class SynthOutcome : uint8_t {
  kWon = 0,
  kLost = 1,  // declined before the period end
  kDark = 2,  // the buyer went silent before the end (seller attempts may run past it)
  kOpen = 3,  // still undecided at the period end (right-censored)
};

// The planted per-rep truths, one entry per rep (index = rep code).
struct RepTruth {
  std::vector<std::string> rep;     // labels, as in the rep column
  std::vector<int32_t> team;        // code into the team dimension's labels
  std::vector<int32_t> territory;   // code into the territory dimension's labels
  std::vector<double> skill;        // odds multiplier on every stage progression
  std::vector<double> will;         // seller activities per week per open deal
  std::vector<int32_t> leak_stage;  // SynthStage s whose exit s -> s+1 leaks; -1: none
  std::vector<double> leak_factor;  // multiplier on that progression probability; 1: none
  int32_t size() const { return static_cast<int32_t>(rep.size()); }
};

// A planted seller behaviour that raises buyer response (a positive-deviant practice).
struct BehaviourTruth {
  std::string name;                // "dm_meeting_before_proposal", ...
  std::string description;         // how to see it in the log, and its effect
  int32_t transition = -1;         // SynthStage s whose exit it affects; -1: several
  double effect = 1.0;             // odds multiplier on that progression
  std::vector<double> propensity;  // per rep: how often the rep does it (see header)
  std::vector<uint8_t> practised;  // per rep: propensity >= 0.5
};

// One identifier column of the generated log: codes into labels, -1 = null.
struct SynthIdColumn {
  std::string name;
  Column<int64_t> codes;
  std::vector<std::string> labels;
};

// The generated company: its event log as owned columns, sorted by (deal, time) with
// strictly increasing times within a deal, and the truths. Move-only (the columns can
// be large); columns() views stay valid across moves of the object.
class SyntheticCompany {
 public:
  SyntheticCompany(SyntheticCompany&&) = default;
  SyntheticCompany& operator=(SyntheticCompany&&) = default;
  SyntheticCompany(const SyntheticCompany&) = delete;
  SyntheticCompany& operator=(const SyntheticCompany&) = delete;

  int64_t size() const { return static_cast<int64_t>(time_.size()); }
  int64_t num_deals() const { return static_cast<int64_t>(deal_outcome_.size()); }

  // A view for salesperf::Ingest (with vocabulary()); every row is valid.
  EventColumns columns() const;
  const Vocabulary& vocabulary() const { return vocabulary_; }

  // Id columns in this order: deal, action, rep, account, contact, contact_role, then
  // the dimensions segment, territory, product, lead_source, team.
  enum Column : int {
    kDeal = 0, kAction, kRep, kAccount, kContact, kContactRole,
    kSegment, kTerritory, kProduct, kLeadSource, kTeam, kNumIdColumns
  };
  static constexpr int kFirstDimension = kSegment;
  const std::vector<SynthIdColumn>& id_columns() const { return id_columns_; }
  const SynthIdColumn& id_column(Column c) const { return id_columns_[c]; }
  std::span<const int64_t> time() const { return time_; }    // UTC ns
  std::span<const double> amount() const { return amount_; }  // the deal's value

  const RepTruth& reps() const { return reps_; }
  const std::vector<BehaviourTruth>& behaviours() const { return behaviours_; }
  // Per deal (index = deal code): its SynthOutcome as a byte.
  std::span<const uint8_t> deal_outcome() const { return deal_outcome_; }
  const SynthOptions& options() const { return options_; }
  int64_t period_end() const;  // start_time + days (exclusive)

 private:
  friend class SynthGenerator;
  SyntheticCompany() = default;

  SynthOptions options_;
  std::vector<SynthIdColumn> id_columns_;
  salesperf::Column<int64_t> time_;
  salesperf::Column<double> amount_;
  Vocabulary vocabulary_;
  RepTruth reps_;
  std::vector<BehaviourTruth> behaviours_;
  std::vector<uint8_t> deal_outcome_;
};

// Generates the company. InvalidArgument, naming the option, when an option is out of
// its range (events < 1, reps < 1, teams or territories outside 1..reps, days < 1, ...).
absl::StatusOr<SyntheticCompany> GenerateCompany(const SynthOptions& options);

}  // namespace salesperf

#endif  // SALESPERF_SYNTH_H_
