// Behaviours that distinguish: per open stage and seller behaviour, whether the deals
// that had the behaviour before (or right after) entering the stage advanced more often
// than those that did not, compared within each unit (Mantel–Haenszel odds ratio with
// the Robins–Breslow–Greenland interval, Cochran–Mantel–Haenszel test), with
// Benjamini–Hochberg q-values and a sentence per row. See salesperf/deviance.h, part 2.
//
// One pass per deal over its events: the deal's entered stages are sorted by entry
// time, and as the pass reaches each entry time the features "strictly before" it are
// read off small per-deal state (seen action@role pairs, up to 4 distinct contacts,
// ...), which is reused across deals, so nothing is allocated per event. Counts go to
// flat arrays [stage][feature][unit][2] (present and advanced / present and failed)
// and [stage][unit][2] (all trials); the absent cells are the differences. Deals are
// split into contiguous ranges, one accumulator per range, summed in range order:
// integer sums, so the result does not depend on the thread count.
//
// The same pass keeps a compact record per trial (unit, stage, advanced or failed, and a
// bitmask of the features present: one 64-bit word per 64 features), appended in deal
// order and concatenated in range order, so the "over and above" screen re-stratifies
// a stage's trials by unit x the pattern of the accepted features without a second pass
// over the events.
#include <algorithm>
#include <array>
#include <bit>
#include <tuple>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl_compat.h"
#include "concentration.h"
#include "parallel.h"
#include "salesperf/deviance.h"
#include "salesperf/stats.h"
#include "sorted_names.h"
#include "status_macros.h"

namespace salesperf {

namespace {

using internal::Sv;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kCadenceGap = 7LL * 86'400'000'000'000LL;  // 7 days
constexpr int32_t kMaxContacts = 4;                          // contacts>=2..4
constexpr int32_t kMaxRoles = 3;                             // roles>=2..3
constexpr int32_t kMaxBuyerContacts = 2;                     // buyer_contacts>=2

using internal::NoThrow;

enum class Kind : uint8_t { kFollowUp, kActionRole, kContacts, kRoles, kBuyerContacts, kCadence };

// The features of one log, in the header's order.
struct Features {
  bool has_contact = false, has_role = false;
  int32_t num_roles = 0;                    // R (0 without a contact_role column)
  std::vector<int32_t> seller_index;        // per action code: index among seller actions, -1
  std::vector<int32_t> seller_actions;      // seller action codes, ascending
  int32_t first_action_role = 1;            // feature of (seller action 0, role 0)
  int32_t first_contacts = -1;              // contacts>=2 (then >=3, >=4); -1: none
  int32_t first_roles = -1;                 // roles>=2 (then >=3); -1: none
  int32_t buyer_contacts = -1;              // buyer_contacts>=2; -1: none
  int32_t cadence = -1;
  std::vector<Kind> kind;
  std::vector<int32_t> param;               // action-role: the pair index; contacts/roles: m
  std::vector<std::string> name;
  int32_t size() const { return static_cast<int32_t>(kind.size()); }
};

Features MakeFeatures(const EventLog& log) {
  Features f;
  f.has_contact = !log.contact().empty();
  f.has_role = !log.contact_role().empty();
  f.num_roles = f.has_role ? log.contact_roles().size() : 0;
  const int32_t A = log.actions().size();
  f.seller_index.assign(static_cast<size_t>(A), -1);
  for (int32_t a = 0; a < A; ++a) {
    if (log.actor(a) == Actor::kSeller) {
      f.seller_index[static_cast<size_t>(a)] = static_cast<int32_t>(f.seller_actions.size());
      f.seller_actions.push_back(a);
    }
  }
  auto add = [&](Kind k, int32_t p, std::string n) {
    f.kind.push_back(k);
    f.param.push_back(p);
    f.name.push_back(std::move(n));
  };
  add(Kind::kFollowUp, 0, "follow_up");
  f.first_action_role = f.size();
  if (f.has_role) {
    const auto sa = static_cast<int32_t>(f.seller_actions.size());
    for (int32_t i = 0; i < sa; ++i) {
      for (int32_t r = 0; r < f.num_roles; ++r) {
        add(Kind::kActionRole, i * f.num_roles + r,
            absl::StrCat(log.actions().Label(f.seller_actions[static_cast<size_t>(i)]), "@",
                         log.contact_roles().Label(r)));
      }
    }
  }
  if (f.has_contact) {
    f.first_contacts = f.size();
    for (int32_t m = 2; m <= kMaxContacts; ++m) add(Kind::kContacts, m, absl::StrCat("contacts>=", m));
  }
  if (f.has_role) {
    f.first_roles = f.size();
    for (int32_t m = 2; m <= kMaxRoles; ++m) add(Kind::kRoles, m, absl::StrCat("roles>=", m));
  }
  if (f.has_contact) {
    f.buyer_contacts = f.size();
    add(Kind::kBuyerContacts, 2, "buyer_contacts>=2");
  }
  f.cadence = f.size();
  add(Kind::kCadence, 7, "cadence<=7d");
  return f;
}

// Counts of one range of deals.
struct Accumulator {
  // Per trial, in deal order: the unit, the stage, 0 advanced / 1 failed, and `words`
  // 64-bit words of the features present (bit f % 64 of word f / 64).
  size_t words = 1;
  std::vector<int32_t> rec_unit, rec_stage;
  std::vector<uint8_t> rec_failed;
  std::vector<uint64_t> rec_mask;
  // [stage][action]: the action that first entered the stage, over deals that entered it.
  std::vector<int64_t> entry_action;

  void Size(size_t o, size_t nf, size_t na) {
    words = std::max<size_t>(1, (nf + 63) / 64);
    entry_action.assign(o * na, 0);
  }
  void Add(const Accumulator& other) {
    for (size_t i = 0; i < entry_action.size(); ++i) entry_action[i] += other.entry_action[i];
    rec_unit.insert(rec_unit.end(), other.rec_unit.begin(), other.rec_unit.end());
    rec_stage.insert(rec_stage.end(), other.rec_stage.begin(), other.rec_stage.end());
    rec_failed.insert(rec_failed.end(), other.rec_failed.begin(), other.rec_failed.end());
    rec_mask.insert(rec_mask.end(), other.rec_mask.begin(), other.rec_mask.end());
  }
};

// Everything the per-deal pass reads, validated by the caller.
struct Inputs {
  const EventLog* log;
  const Timelines* tl;
  const Units* units;
  const Features* features;
  std::span<const int64_t> tr_offsets;  // the deal's transitions: [tr_offsets[d], tr_offsets[d + 1])
  int64_t window;
};

// Small per-deal state, reused across the deals of one range: no allocation per deal
// or per event once sized.
class DealPass {
 public:
  DealPass(const Inputs& in, Accumulator& acc) : in_(in), acc_(acc) {
    const auto o = static_cast<size_t>(in.tl->num_open);
    entry_.resize(o);
    next_.resize(o);
    cell_.resize(o);
    rec_.resize(o);
    follow_.resize(o);
    found_.resize(o);
    order_.reserve(o);
    const Features& f = *in.features;
    pairs_ = f.has_role ? f.seller_actions.size() * static_cast<size_t>(f.num_roles) : 0;
    seen_.assign(pairs_, 0);
    touched_.reserve(pairs_);
    nf_ = static_cast<size_t>(f.size());
    nu_ = in.units->names.size();
    na_ = static_cast<size_t>(in.log->actions().size());
  }

  void Run(int32_t d_begin, int32_t d_end) {
    for (int32_t d = d_begin; d < d_end; ++d) Deal(static_cast<size_t>(d));
  }

 private:
  void Deal(size_t d) {
    const Timelines& tl = *in_.tl;
    const int32_t O = tl.num_open;
    const auto S = static_cast<size_t>(tl.num_stages());
    const int64_t* fe = tl.first_entered.data() + d * S;
    const auto outcome = static_cast<Outcome>(tl.outcome[d]);
    int32_t highest = -1;
    for (int32_t k = 0; k < O; ++k) {
      if (fe[k] != kNullInstant) highest = k;
    }
    if (highest < 0) return;  // never in the funnel
    const int32_t furthest = outcome == Outcome::kWon ? O : highest;
    const bool failed = outcome == Outcome::kLost || outcome == Outcome::kStalled;
    u_ = static_cast<size_t>(in_.units->of_deal[d]);

    // Entry time, the action that first entered each stage and the time of the deal's
    // next transition after it (kNever: none).
    const auto& tr = tl.transitions;
    const auto t0 = static_cast<size_t>(in_.tr_offsets[d]), t1 = static_cast<size_t>(in_.tr_offsets[d + 1]);
    for (int32_t k = 0; k < O; ++k) next_[static_cast<size_t>(k)] = kNever;
    std::fill(follow_.begin(), follow_.end(), uint8_t{0});
    std::fill(found_.begin(), found_.end(), uint8_t{0});
    for (size_t i = t0; i < t1; ++i) {
      const int32_t to = tr.to[i];
      if (to < 0 || to >= O || fe[to] == kNullInstant || found_[static_cast<size_t>(to)] != 0) continue;
      found_[static_cast<size_t>(to)] = 1;
      next_[static_cast<size_t>(to)] = i + 1 < t1 ? tr.time[i + 1] : kNever;
      const int32_t a = tr.action[i];
      if (a >= 0 && static_cast<size_t>(a) < na_) {
        ++acc_.entry_action[static_cast<size_t>(to) * na_ + static_cast<size_t>(a)];
      }
    }

    // The trials: entered stages the deal advanced from or failed at.
    order_.clear();
    for (int32_t k = 0; k < O; ++k) {
      const auto ks = static_cast<size_t>(k);
      cell_[ks] = -1;
      if (fe[k] == kNullInstant) continue;
      if (furthest > k) {
        cell_[ks] = 0;
      } else if (furthest == k && failed) {
        cell_[ks] = 1;
      } else {
        continue;
      }
      entry_[ks] = fe[k];
      order_.push_back(k);
      rec_[ks] = acc_.rec_unit.size();
      acc_.rec_unit.push_back(static_cast<int32_t>(u_));
      acc_.rec_stage.push_back(k);
      acc_.rec_failed.push_back(static_cast<uint8_t>(cell_[ks]));
      acc_.rec_mask.resize(acc_.rec_mask.size() + acc_.words, 0);
    }
    if (order_.empty()) return;
    // By entry time, then stage (insertion sort: a handful of stages).
    for (size_t i = 1; i < order_.size(); ++i) {
      const int32_t k = order_[i];
      size_t j = i;
      while (j > 0 && entry_[static_cast<size_t>(order_[j - 1])] > entry_[static_cast<size_t>(k)]) {
        order_[j] = order_[j - 1];
        --j;
      }
      order_[j] = k;
    }
    int64_t last_window = std::numeric_limits<int64_t>::min();
    for (const int32_t k : order_) {
      const int64_t e = entry_[static_cast<size_t>(k)];
      const int64_t w = e > kNever - in_.window ? kNever : e + in_.window;
      last_window = std::max(last_window, std::min(w, next_[static_cast<size_t>(k)]));
    }

    // The pass over the deal's events.
    const EventLog& log = *in_.log;
    const Features& f = *in_.features;
    const auto off = log.deal_offsets();
    const auto e0 = static_cast<size_t>(off[d]), e1 = static_cast<size_t>(off[d + 1]);
    const int64_t* time = log.time().data();
    const int32_t* action = log.action().data();
    const int32_t* contact = f.has_contact ? log.contact().data() : nullptr;
    const int32_t* role = f.has_role ? log.contact_role().data() : nullptr;
    const uint8_t* actor = log.action_actors().data();
    const size_t nt = order_.size();
    size_t pos = 0;
    ResetState();
    for (size_t i = e0; i < e1; ++i) {
      const int64_t t = time[i];
      while (pos < nt && entry_[static_cast<size_t>(order_[pos])] <= t) Snapshot(order_[pos++]);
      if (pos == nt && t > last_window) break;  // nothing left to learn from this deal
      const auto who = static_cast<Actor>(actor[action[i]]);
      if (who == Actor::kSeller) {
        // Follow-ups: in (e_k, e_k + window] and before the next transition.
        for (size_t j = 0; j < pos; ++j) {
          const auto k = static_cast<size_t>(order_[j]);
          const int64_t e = entry_[k];
          if (t > e && t - e <= in_.window && t < next_[k]) follow_[k] = 1;
        }
        if (pos == nt) continue;  // the state before entry is no longer needed
        if (role != nullptr && role[i] >= 0) {
          const size_t p = static_cast<size_t>(f.seller_index[static_cast<size_t>(action[i])]) *
                               static_cast<size_t>(f.num_roles) +
                           static_cast<size_t>(role[i]);
          if (seen_[p] == 0) {
            seen_[p] = 1;
            touched_.push_back(p);
          }
          AddDistinct(roles_, num_roles_, kMaxRoles, role[i]);
        }
        if (contact != nullptr && contact[i] >= 0) AddDistinct(contacts_, num_contacts_, kMaxContacts, contact[i]);
        if (last_seller_ != kNullInstant && t - last_seller_ > kCadenceGap) gap_broken_ = true;
        last_seller_ = t;
      } else if (who == Actor::kBuyer && pos < nt) {
        if (contact != nullptr && contact[i] >= 0) {
          AddDistinct(buyers_, num_buyers_, kMaxBuyerContacts, contact[i]);
        }
      }
    }
    while (pos < nt) Snapshot(order_[pos++]);
    for (const int32_t k : order_) {
      const auto ks = static_cast<size_t>(k);
      if (follow_[ks] != 0) Count(ks, 0);
    }
  }

  static void AddDistinct(int32_t* list, int32_t& n, int32_t cap, int32_t v) {
    if (n >= cap) return;
    for (int32_t i = 0; i < n; ++i) {
      if (list[i] == v) return;
    }
    list[n++] = v;
  }

  void ResetState() {
    for (const size_t p : touched_) seen_[p] = 0;
    touched_.clear();
    num_contacts_ = num_roles_ = num_buyers_ = 0;
    last_seller_ = kNullInstant;
    gap_broken_ = false;
  }

  void Count(size_t k, size_t feature) {
    acc_.rec_mask[rec_[k] * acc_.words + feature / 64] |= uint64_t{1} << (feature % 64);
  }

  // The features "strictly before e_k" of stage k from the state so far.
  void Snapshot(int32_t stage) {
    const auto k = static_cast<size_t>(stage);
    const Features& f = *in_.features;
    for (const size_t p : touched_) Count(k, static_cast<size_t>(f.first_action_role) + p);
    if (f.first_contacts >= 0) {
      for (int32_t m = 2; m <= std::min(num_contacts_, kMaxContacts); ++m) {
        Count(k, static_cast<size_t>(f.first_contacts + m - 2));
      }
    }
    if (f.first_roles >= 0) {
      for (int32_t m = 2; m <= std::min(num_roles_, kMaxRoles); ++m) {
        Count(k, static_cast<size_t>(f.first_roles + m - 2));
      }
    }
    if (f.buyer_contacts >= 0 && num_buyers_ >= 2) Count(k, static_cast<size_t>(f.buyer_contacts));
    if (last_seller_ != kNullInstant && !gap_broken_ && entry_[k] - last_seller_ <= kCadenceGap) {
      Count(k, static_cast<size_t>(f.cadence));
    }
  }

  const Inputs& in_;
  Accumulator& acc_;
  size_t pairs_ = 0, nf_ = 0, nu_ = 0, na_ = 0, u_ = 0;
  std::vector<int64_t> entry_, next_;
  std::vector<int8_t> cell_;      // per open stage: 0 advanced, 1 failed, -1 not a trial
  std::vector<size_t> rec_;       // per trial stage: its record in acc_
  std::vector<uint8_t> follow_, found_;
  std::vector<int32_t> order_;    // trial stages by entry time
  std::vector<uint8_t> seen_;     // per (seller action, role)
  std::vector<size_t> touched_;   // the pairs set in seen_
  int32_t contacts_[kMaxContacts] = {}, roles_[kMaxRoles] = {}, buyers_[kMaxBuyerContacts] = {};
  int32_t num_contacts_ = 0, num_roles_ = 0, num_buyers_ = 0;
  int64_t last_seller_ = kNullInstant;
  bool gap_broken_ = false;
};

// Mantel–Haenszel odds ratio (Robins–Breslow–Greenland interval) and the
// Cochran–Mantel–Haenszel test, summed stratum by stratum; strata with n < 2 are ignored.
struct MantelHaenszel {
  double sr = 0, ss = 0, spr = 0, sps_qr = 0, sqs = 0, sa = 0, sea = 0, sva = 0;

  void Add(int64_t a, int64_t b, int64_t c, int64_t d) {
    const int64_t n = a + b + c + d;
    if (n < 2) return;
    const double A = static_cast<double>(a), B = static_cast<double>(b), C = static_cast<double>(c),
                 Dd = static_cast<double>(d), N = static_cast<double>(n);
    const double R = A * Dd / N, Sx = B * C / N, P = (A + Dd) / N, Q = (B + C) / N;
    sr += R;
    ss += Sx;
    spr += P * R;
    sps_qr += P * Sx + Q * R;
    sqs += Q * Sx;
    sa += A;
    sea += (A + B) * (A + C) / N;
    sva += (A + B) * (C + Dd) * (A + C) * (B + Dd) / (N * N * (N - 1.0));
  }

  // Leaves the outputs untouched (NaN) when not estimable.
  template <typename Chi2>
  void Finish(double z, const Chi2& chi2, double& odds_ratio, double& lower, double& upper, double& p_value) const {
    if (sr > 0 && ss > 0) {
      const double lor = std::log(sr / ss);
      const double var = spr / (2.0 * sr * sr) + sps_qr / (2.0 * sr * ss) + sqs / (2.0 * ss * ss);
      const double se = std::sqrt(var);
      odds_ratio = sr / ss;
      lower = std::exp(lor - z * se);
      upper = std::exp(lor + z * se);
    }
    if (sva > 0) {
      const double x = (sa - sea) * (sa - sea) / sva;
      p_value = boost::math::cdf(boost::math::complement(chi2, x));
    }
  }
};

// The deviants against their peers rep by rep (deviance.h): Welch's comparison of the
// mean per-unit share of trials with the feature, over units with a trial.
void UnitShareContrast(const int64_t* trials, const int64_t* present, const std::vector<uint8_t>& deviants,
                       double interval, BehaviourRows& w, size_t row) {
  double n[2] = {0, 0}, mean[2] = {0, 0}, m2[2] = {0, 0};  // [0] deviants, [1] peers; Welford
  for (size_t u = 0; u < deviants.size(); ++u) {
    if (trials[u] == 0) continue;
    const int g = deviants[u] != 0 ? 0 : 1;
    const double x = static_cast<double>(present[u]) / static_cast<double>(trials[u]);
    n[g] += 1;
    const double delta = x - mean[g];
    mean[g] += delta / n[g];
    m2[g] += delta * (x - mean[g]);
  }
  w.deviant_units[row] = static_cast<int64_t>(n[0]);
  w.peer_units[row] = static_cast<int64_t>(n[1]);
  if (n[0] > 0) w.deviant_unit_share[row] = mean[0];
  if (n[1] > 0) w.peer_unit_share[row] = mean[1];
  if (n[0] > 0 && n[1] > 0) w.share_difference[row] = mean[0] - mean[1];
  if (n[0] < 2 || n[1] < 2) return;
  const double v0 = m2[0] / (n[0] - 1) / n[0], v1 = m2[1] / (n[1] - 1) / n[1];  // squared standard errors
  const double se2 = v0 + v1;
  if (!(se2 > 0)) return;
  const double df = se2 * se2 / (v0 * v0 / (n[0] - 1) + v1 * v1 / (n[1] - 1));
  const boost::math::students_t_distribution<double, NoThrow> t(df);
  const double se = std::sqrt(se2);
  const double q = boost::math::quantile(t, 1.0 - (1.0 - interval) / 2.0);
  w.share_difference_lower[row] = w.share_difference[row] - q * se;
  w.share_difference_upper[row] = w.share_difference[row] + q * se;
  w.share_p_value[row] = 2.0 * boost::math::cdf(boost::math::complement(t, std::fabs(w.share_difference[row]) / se));
}

absl::Status CheckOptions(const BehaviourOptions& op, const Units& units) {
  if (op.follow_up_window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("follow_up_window must be positive, got ", op.follow_up_window, " ns"));
  }
  if (op.min_support < 1) {
    return absl::InvalidArgumentError(absl::StrCat("min_support must be at least 1, got ", op.min_support));
  }
  if (!(op.fdr > 0.0 && op.fdr < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("fdr must be in (0, 1), got ", op.fdr));
  }
  if (!(op.interval > 0.0 && op.interval < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("interval must be in (0, 1), got ", op.interval));
  }
  if (!op.deviants.empty() && op.deviants.size() != units.names.size()) {
    return absl::FailedPreconditionError(absl::StrCat("deviants has ", op.deviants.size(),
                                                      " entries; the units have ", units.names.size()));
  }
  for (size_t u = 0; u < op.deviants.size(); ++u) {
    if (op.deviants[u] > 1) {
      return absl::InvalidArgumentError(absl::StrCat("deviants[", u, "] (unit '", Sv(units.names[u]), "') is ",
                                                     static_cast<int>(op.deviants[u]), "; it must be 0 or 1"));
    }
  }
  return absl::OkStatus();
}

// Checks that the timelines and units fit the log, and gives each deal's transitions.
absl::StatusOr<std::vector<int64_t>> CheckInputs(const EventLog& log, const Timelines& tl, const Units& units) {
  const auto nd = static_cast<size_t>(log.num_deals());
  if (tl.num_open < 0 || tl.stage_names.size() != static_cast<size_t>(tl.num_open) + 2) {
    return absl::FailedPreconditionError(absl::StrCat("the timelines have ", tl.stage_names.size(),
                                                      " stage names for ", tl.num_open, " open stages"));
  }
  const auto S = static_cast<size_t>(tl.num_stages());
  if (tl.outcome.size() != nd || tl.first_entered.size() != nd * S) {
    return absl::FailedPreconditionError(absl::StrCat("the timelines do not fit the log: ", tl.outcome.size(),
                                                      " deals against the log's ", nd));
  }
  if (units.of_deal.size() != nd) {
    return absl::FailedPreconditionError(absl::StrCat("the units do not fit the log: ", units.of_deal.size(),
                                                      " deals against the log's ", nd));
  }
  const auto U = static_cast<int32_t>(units.names.size());
  for (size_t d = 0; d < nd; ++d) {
    if (units.of_deal[d] < 0 || units.of_deal[d] >= U) {
      return absl::FailedPreconditionError(absl::StrCat("the unit of deal ", d, " is out of range"));
    }
    if (tl.outcome[d] > static_cast<uint8_t>(Outcome::kExcluded)) {
      return absl::FailedPreconditionError(absl::StrCat("the outcome of deal ", d, " is not an Outcome"));
    }
  }
  const auto& tr = tl.transitions;
  const size_t nt = tr.deal.size();
  if (tr.to.size() != nt || tr.time.size() != nt || tr.action.size() != nt) {
    return absl::FailedPreconditionError("the timelines' transition columns differ in size");
  }
  std::vector<int64_t> offsets(nd + 1, 0);
  int32_t prev = 0;
  for (size_t i = 0; i < nt; ++i) {
    const int32_t d = tr.deal[i];
    if (d < 0 || static_cast<size_t>(d) >= nd || d < prev) {
      return absl::FailedPreconditionError(
          absl::StrCat("transition ", i, " (deal ", d, ") does not fit the log or is out of deal order"));
    }
    prev = d;
    ++offsets[static_cast<size_t>(d) + 1];
  }
  for (size_t d = 0; d < nd; ++d) offsets[d + 1] += offsets[d];
  return offsets;
}

// ---- Words ----------------------------------------------------------------------

std::string Thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

std::string Percent(double r) { return absl::StrCat(std::llround(100.0 * r), "%"); }

// An odds ratio in two significant figures or so: 12, 1.9, 0.63.
std::string Ratio(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return "inf";
  char buf[32];
  const char* fmt = v >= 9.95 ? "%.0f" : v >= 0.995 ? "%.1f" : "%.2f";
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string Duration(int64_t ns) {
  constexpr int64_t kS = 1'000'000'000LL, kMin = 60 * kS, kHour = 60 * kMin;
  if (ns % kHour == 0) return absl::StrCat(ns / kHour, " h");
  if (ns % kMin == 0) return absl::StrCat(ns / kMin, " min");
  if (ns % kS == 0) return absl::StrCat(ns / kS, " s");
  return absl::StrCat(ns, " ns");
}

// The features of counts, by names, in the canonical order: follow_up; then per seller
// action and contact role (each sorted by name) action@role; contacts>=2..4 (with a
// contact column); roles>=2..3 (with a role column); buyer_contacts>=2 (contact);
// cadence<=7d. The layout is MakeFeatures' with the action-role block sorted.
struct Canon {
  std::vector<Kind> kind;
  std::vector<int32_t> param;
  std::vector<std::string> name;
  size_t roles = 0;
  size_t size() const { return kind.size(); }
};

Canon MakeCanon(const std::vector<std::string>& actions, const std::vector<std::string>& roles, bool has_contact,
                bool has_role) {
  Canon f;
  f.roles = roles.size();
  auto add = [&](Kind k, int32_t p, std::string n) {
    f.kind.push_back(k);
    f.param.push_back(p);
    f.name.push_back(std::move(n));
  };
  add(Kind::kFollowUp, 0, "follow_up");
  if (has_role) {
    for (size_t i = 0; i < actions.size(); ++i) {
      for (size_t r = 0; r < roles.size(); ++r) {
        add(Kind::kActionRole, static_cast<int32_t>(i * roles.size() + r), absl::StrCat(Sv(actions[i]), "@", Sv(roles[r])));
      }
    }
  }
  if (has_contact) {
    for (int32_t m = 2; m <= kMaxContacts; ++m) add(Kind::kContacts, m, absl::StrCat("contacts>=", m));
  }
  if (has_role) {
    for (int32_t m = 2; m <= kMaxRoles; ++m) add(Kind::kRoles, m, absl::StrCat("roles>=", m));
  }
  if (has_contact) add(Kind::kBuyerContacts, 2, "buyer_contacts>=2");
  add(Kind::kCadence, 7, "cadence<=7d");
  return f;
}

std::string Description(const Canon& f, size_t i, const std::vector<std::string>& actions,
                        const std::vector<std::string>& roles, const std::string& stage, const std::string& entry,
                        int64_t window) {
  switch (f.kind[i]) {
    case Kind::kFollowUp:
      return absl::StrCat("a seller follow-up within ", Duration(window), " of the buyer's ", Sv(entry));
    case Kind::kActionRole: {
      const auto p = static_cast<size_t>(f.param[i]);
      return absl::StrCat("a ", Sv(actions[p / f.roles]), " with the ", Sv(roles[p % f.roles]), " before ", Sv(stage));
    }
    case Kind::kContacts:
      return absl::StrCat("seller activities reached at least ", f.param[i], " contacts before ", Sv(stage));
    case Kind::kRoles:
      return absl::StrCat("seller activities reached at least ", f.param[i], " contact roles before ", Sv(stage));
    case Kind::kBuyerContacts:
      return absl::StrCat("at least two buyer contacts had acted before ", Sv(stage));
    case Kind::kCadence:
      return absl::StrCat("seller touches no more than 7 days apart before ", Sv(stage));
  }
  return "";
}

// "deals with a meeting ..." for a noun phrase, "deals where seller activities ..." for a clause.
std::string_view Connector(Kind k) {
  return k == Kind::kContacts || k == Kind::kRoles || k == Kind::kBuyerContacts ? "where" : "with";
}

}  // namespace

namespace {

constexpr std::string_view kBehMagic("SPBEHC\0\0", 8);


using internal::UnionNames;

// Indices 0..n-1 sorted by their labels.
template <typename Label>
std::vector<int32_t> ByName(size_t n, Label label) {
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return label(a) < label(b); });
  return order;
}

// Trials of one (stage, unit, feature set, outcome), before they are folded into cells.
struct TrialKey {
  int32_t stage, unit;
  uint8_t failed;
  const uint64_t* mask;
  int64_t count;
};

}  // namespace

class BehaviourCountsBuilder {
 public:
  static size_t Words(size_t nf) { return std::max<size_t>(1, (nf + 63) / 64); }

  // Sorts the trials by (stage, unit, mask, failed) and folds equal keys into x's cells.
  static void Fold(BehaviourCounts& x, std::vector<TrialKey>& t, size_t words) {
    std::sort(t.begin(), t.end(), [&](const TrialKey& a, const TrialKey& b) {
      if (a.stage != b.stage) return a.stage < b.stage;
      if (a.unit != b.unit) return a.unit < b.unit;
      for (size_t w = 0; w < words; ++w) {
        if (a.mask[w] != b.mask[w]) return a.mask[w] < b.mask[w];
      }
      return a.failed < b.failed;
    });
    x.cell_stage_.clear();
    x.cell_unit_.clear();
    x.cell_failed_.clear();
    x.cell_trials_.clear();
    x.cell_mask_.clear();
    for (size_t i = 0; i < t.size();) {
      size_t j = i;
      int64_t n = 0;
      while (j < t.size() && t[j].stage == t[i].stage && t[j].unit == t[i].unit && t[j].failed == t[i].failed &&
             std::equal(t[j].mask, t[j].mask + words, t[i].mask)) {
        n += t[j].count;
        ++j;
      }
      x.cell_stage_.push_back(t[i].stage);
      x.cell_unit_.push_back(t[i].unit);
      x.cell_failed_.push_back(t[i].failed);
      x.cell_trials_.push_back(n);
      x.cell_mask_.insert(x.cell_mask_.end(), t[i].mask, t[i].mask + words);
      i = j;
    }
  }

  static absl::StatusOr<BehaviourCounts> Count(const EventLog& log, const Timelines& timelines, const Units& units,
                                               int64_t window, const std::vector<int64_t>& tr_offsets) {
    if (window <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("follow_up_window must be positive, got ", window, " ns"));
    }
    SALESPERF_RETURN_IF_ERROR(internal::CheckDistinctUnitNames(units.names));
    const Features features = MakeFeatures(log);
    const int32_t O = timelines.num_open;
    const auto o = static_cast<size_t>(O);
    const auto nf = static_cast<size_t>(features.size());
    const size_t nu = units.names.size();
    const auto na = static_cast<size_t>(log.actions().size());
    const int32_t D = log.num_deals();

    // Contiguous ranges of deals of about equal events, one accumulator each.
    const int threads = internal::ThreadsFor(0, static_cast<size_t>(log.size()));
    const auto parts = static_cast<size_t>(std::max(1, std::min<int>(threads, std::max<int32_t>(D, 1))));
    std::vector<int32_t> bounds(parts + 1, D);
    bounds[0] = 0;
    const auto off = log.deal_offsets();
    for (size_t p = 1; p < parts; ++p) {
      const int64_t target = static_cast<int64_t>(static_cast<double>(log.size()) * static_cast<double>(p) /
                                                  static_cast<double>(parts));
      const auto it = std::lower_bound(off.begin(), off.end() - 1, target);
      bounds[p] = std::max(bounds[p - 1], static_cast<int32_t>(it - off.begin()));
    }
    std::vector<Accumulator> acc(parts);
    const Inputs in{&log, &timelines, &units, &features, tr_offsets, window};

    BehaviourCounts x;
    x.stage_names_ = timelines.stage_names;
    x.num_open_ = O;
    x.window_ = window;
    x.unit_kind_ = units.kind;
    x.has_contact_ = features.has_contact ? 1 : 0;
    x.has_role_ = features.has_role ? 1 : 0;
    const std::vector<int32_t> unit_order = ByName(nu, [&](int32_t u) -> const std::string& { return units.names[static_cast<size_t>(u)]; });
    std::vector<int32_t> unit_rank(nu);
    for (size_t i = 0; i < nu; ++i) {
      unit_rank[static_cast<size_t>(unit_order[i])] = static_cast<int32_t>(i);
      x.unit_names_.push_back(units.names[static_cast<size_t>(unit_order[i])]);
    }
    // The feature index of the canonical order for each of the log's features.
    std::vector<int32_t> perm(nf);
    std::iota(perm.begin(), perm.end(), 0);
    if (features.has_role) {
      const size_t A = features.seller_actions.size(), R = static_cast<size_t>(features.num_roles);
      const std::vector<int32_t> a_order =
          ByName(A, [&](int32_t i) { return log.actions().Label(features.seller_actions[static_cast<size_t>(i)]); });
      const std::vector<int32_t> r_order = ByName(R, [&](int32_t r) { return log.contact_roles().Label(r); });
      std::vector<size_t> a_rank(A), r_rank(R);
      for (size_t i = 0; i < A; ++i) {
        a_rank[static_cast<size_t>(a_order[i])] = i;
        x.seller_actions_.push_back(log.actions().Label(features.seller_actions[static_cast<size_t>(a_order[i])]));
      }
      for (size_t i = 0; i < R; ++i) {
        r_rank[static_cast<size_t>(r_order[i])] = i;
        x.roles_.push_back(log.contact_roles().Label(r_order[i]));
      }
      for (size_t i = 0; i < A; ++i) {
        for (size_t r = 0; r < R; ++r) {
          perm[static_cast<size_t>(features.first_action_role) + i * R + r] =
              static_cast<int32_t>(static_cast<size_t>(features.first_action_role) + a_rank[i] * R + r_rank[r]);
        }
      }
    }
    bool identity = true;
    for (size_t i = 0; i < nf; ++i) identity = identity && perm[i] == static_cast<int32_t>(i);
    const size_t words = Words(nf);
    // With at most 64 features (the usual case), each range's trials become (stage,
    // unit, mask, outcome) keys sorted and folded on its own thread; the ranges' runs are
    // then merged. Otherwise the records are gathered and folded once.
    struct Pod {
      uint64_t su;  // stage << 32 | unit
      uint64_t mask;
      uint64_t failed;
      int64_t count;
    };
    auto pod_less = [](const Pod& a, const Pod& b) {
      if (a.su != b.su) return a.su < b.su;
      if (a.mask != b.mask) return a.mask < b.mask;
      return a.failed < b.failed;
    };
    auto fold_pods = [](std::vector<Pod>& v) {
      size_t out = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        if (out > 0 && v[out - 1].su == v[i].su && v[out - 1].mask == v[i].mask && v[out - 1].failed == v[i].failed) {
          v[out - 1].count += v[i].count;
        } else {
          v[out++] = v[i];
        }
      }
      v.resize(out);
    };
    auto canonical = [&](const uint64_t* m, uint64_t* into) {
      for (size_t w = 0; w < words; ++w) {
        for (uint64_t bits = m[w]; bits != 0; bits &= bits - 1) {
          const auto f = static_cast<size_t>(perm[w * 64 + static_cast<size_t>(std::countr_zero(bits))]);
          into[f / 64] |= uint64_t{1} << (f % 64);
        }
      }
    };
    std::vector<std::vector<Pod>> pods(parts);
    internal::ParallelFor(parts, threads, [&](size_t p) {
      acc[p].Size(o, nf, na);
      DealPass pass(in, acc[p]);
      pass.Run(bounds[p], bounds[p + 1]);
      if (words != 1) return;
      const Accumulator& a = acc[p];
      std::vector<Pod>& v = pods[p];
      v.resize(a.rec_unit.size());
      for (size_t i = 0; i < v.size(); ++i) {
        uint64_t m = a.rec_mask[i];
        if (!identity) {
          m = 0;
          canonical(&a.rec_mask[i], &m);
        }
        v[i] = Pod{static_cast<uint64_t>(a.rec_stage[i]) << 32 |
                       static_cast<uint64_t>(unit_rank[static_cast<size_t>(a.rec_unit[i])]),
                   m, a.rec_failed[i], 1};
      }
      std::sort(v.begin(), v.end(), pod_less);
      fold_pods(v);
    });
    std::vector<int64_t> entry_action = acc[0].entry_action;
    for (size_t p = 1; p < parts; ++p) {
      for (size_t i = 0; i < entry_action.size(); ++i) entry_action[i] += acc[p].entry_action[i];
    }
    if (words == 1) {
      std::vector<Pod>& all = pods[0];
      for (size_t p = 1; p < parts; ++p) {
        const auto mid = static_cast<std::ptrdiff_t>(all.size());
        all.insert(all.end(), pods[p].begin(), pods[p].end());
        std::inplace_merge(all.begin(), all.begin() + mid, all.end(), pod_less);
        fold_pods(all);
      }
      for (const Pod& c : all) {
        x.cell_stage_.push_back(static_cast<int32_t>(c.su >> 32));
        x.cell_unit_.push_back(static_cast<int32_t>(c.su & 0xffffffffU));
        x.cell_failed_.push_back(static_cast<uint8_t>(c.failed));
        x.cell_trials_.push_back(c.count);
        x.cell_mask_.push_back(c.mask);
      }
    } else {
      for (size_t p = 1; p < parts; ++p) acc[0].Add(acc[p]);
      Accumulator& total = acc[0];
      const size_t nrec = total.rec_unit.size();
      if (!identity) {
        std::vector<uint64_t> mask(nrec * words, 0);
        for (size_t i = 0; i < nrec; ++i) canonical(&total.rec_mask[i * words], &mask[i * words]);
        total.rec_mask.swap(mask);
      }
      std::vector<TrialKey> t(nrec);
      for (size_t i = 0; i < nrec; ++i) {
        t[i] = TrialKey{total.rec_stage[i], unit_rank[static_cast<size_t>(total.rec_unit[i])], total.rec_failed[i],
                        &total.rec_mask[i * words], 1};
      }
      Fold(x, t, words);
    }
    // The actions that entered stages, by name.
    std::vector<int32_t> entering;
    for (size_t a = 0; a < na; ++a) {
      int64_t n = 0;
      for (size_t k = 0; k < o; ++k) n += entry_action[k * na + a];
      if (n > 0) entering.push_back(static_cast<int32_t>(a));
    }
    std::sort(entering.begin(), entering.end(),
              [&](int32_t a, int32_t b) { return log.actions().Label(a) < log.actions().Label(b); });
    for (const int32_t a : entering) x.entry_actions_.push_back(log.actions().Label(a));
    x.entry_count_.assign(o * entering.size(), 0);
    for (size_t k = 0; k < o; ++k) {
      for (size_t e = 0; e < entering.size(); ++e) {
        x.entry_count_[k * entering.size() + e] = entry_action[k * na + static_cast<size_t>(entering[e])];
      }
    }
    return x;
  }

  static absl::Status Merge(BehaviourCounts& x, const BehaviourCounts& y) {
    if (y == BehaviourCounts()) return absl::OkStatus();
    if (x == BehaviourCounts()) {
      x = y;
      return absl::OkStatus();
    }
    if (x.stage_names_ != y.stage_names_ || x.num_open_ != y.num_open_) {
      return absl::FailedPreconditionError(absl::StrCat("cannot merge behaviour counts of different stages: [",
                                                        absl::StrJoin(x.stage_names_, ", "), "] and [",
                                                        absl::StrJoin(y.stage_names_, ", "), "]"));
    }
    if (x.window_ != y.window_) {
      return absl::FailedPreconditionError(absl::StrCat("cannot merge behaviour counts of different follow_up_window: ",
                                                        x.window_, " ns and ", y.window_, " ns"));
    }
    if (x.unit_kind_ != y.unit_kind_) {
      return absl::FailedPreconditionError(absl::StrCat("cannot merge behaviour counts of different unit kinds: '",
                                                        Sv(x.unit_kind_), "' and '", Sv(y.unit_kind_), "'"));
    }
    if (x.has_contact_ != y.has_contact_ || x.has_role_ != y.has_role_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot merge behaviour counts of different feature definitions: one log ",
          x.has_contact_ != y.has_contact_ ? "has a contact column" : "has a contact_role column",
          " and the other not"));
    }
    const auto o = static_cast<size_t>(x.num_open_);
    std::vector<int32_t> ux, uy, ax, ay, rx, ry, ex, ey;
    BehaviourCounts z;
    z.stage_names_ = x.stage_names_;
    z.num_open_ = x.num_open_;
    z.window_ = x.window_;
    z.unit_kind_ = x.unit_kind_;
    z.has_contact_ = x.has_contact_;
    z.has_role_ = x.has_role_;
    z.unit_names_ = UnionNames(x.unit_names_, y.unit_names_, ux, uy);
    z.seller_actions_ = UnionNames(x.seller_actions_, y.seller_actions_, ax, ay);
    z.roles_ = UnionNames(x.roles_, y.roles_, rx, ry);
    z.entry_actions_ = UnionNames(x.entry_actions_, y.entry_actions_, ex, ey);
    z.entry_count_.assign(o * z.entry_actions_.size(), 0);
    const size_t nf = z.feature_names().size(), words = Words(nf);
    std::vector<uint64_t> masks;
    std::vector<TrialKey> t;
    masks.reserve((x.num_cells() + y.num_cells()) * words);  // no reallocation: t points into it
    auto add = [&](const BehaviourCounts& s, const std::vector<int32_t>& um, const std::vector<int32_t>& am,
                   const std::vector<int32_t>& rm, const std::vector<int32_t>& em) {
      for (size_t k = 0; k < o; ++k) {
        for (size_t e = 0; e < s.entry_actions_.size(); ++e) {
          z.entry_count_[k * z.entry_actions_.size() + static_cast<size_t>(em[e])] +=
              s.entry_count_[k * s.entry_actions_.size() + e];
        }
      }
      const size_t snf = s.feature_names().size(), sw = Words(snf);
      const size_t s_ar = s.has_role_ ? s.seller_actions_.size() * s.roles_.size() : 0;
      const size_t z_ar = z.has_role_ ? z.seller_actions_.size() * z.roles_.size() : 0;
      const size_t R = s.roles_.size(), ZR = z.roles_.size();
      std::vector<size_t> map(snf);
      for (size_t f = 0; f < snf; ++f) {
        if (f == 0) {
          map[f] = 0;
        } else if (f <= s_ar) {
          const size_t p = f - 1;
          map[f] = 1 + static_cast<size_t>(am[p / R]) * ZR + static_cast<size_t>(rm[p % R]);
        } else {
          map[f] = f - s_ar + z_ar;
        }
      }
      for (size_t i = 0; i < s.num_cells(); ++i) {
        const size_t at = masks.size();
        masks.resize(at + words, 0);
        for (size_t w = 0; w < sw; ++w) {
          for (uint64_t bits = s.cell_mask_[i * sw + w]; bits != 0; bits &= bits - 1) {
            const size_t f = map[w * 64 + static_cast<size_t>(std::countr_zero(bits))];
            masks[at + f / 64] |= uint64_t{1} << (f % 64);
          }
        }
        t.push_back(TrialKey{s.cell_stage_[i], um[static_cast<size_t>(s.cell_unit_[i])], s.cell_failed_[i], nullptr,
                             s.cell_trials_[i]});
      }
    };
    add(x, ux, ax, rx, ex);
    add(y, uy, ay, ry, ey);
    for (size_t i = 0; i < t.size(); ++i) t[i].mask = &masks[i * words];
    Fold(z, t, words);
    x = std::move(z);
    return absl::OkStatus();
  }

  static std::string Serialize(const BehaviourCounts& x) {
    StateWriter w;
    w.U32(static_cast<uint32_t>(x.stage_names_.size()));
    for (const std::string& s : x.stage_names_) w.String(s);
    w.I32(x.num_open_);
    w.I64(x.window_);
    w.String(x.unit_kind_);
    w.U8(x.has_contact_);
    w.U8(x.has_role_);
    for (const auto* names : {&x.unit_names_, &x.seller_actions_, &x.roles_, &x.entry_actions_}) {
      w.U32(static_cast<uint32_t>(names->size()));
      for (const std::string& s : *names) w.String(s);
    }
    w.I64s(x.entry_count_);
    const size_t words = Words(x.feature_names().size());
    w.U64(x.cell_stage_.size());
    for (size_t i = 0; i < x.cell_stage_.size(); ++i) {
      w.I32(x.cell_stage_[i]);
      w.U32(static_cast<uint32_t>(x.cell_unit_[i]));
      w.U8(x.cell_failed_[i]);
      w.I64(x.cell_trials_[i]);
      for (size_t k = 0; k < words; ++k) w.U64(x.cell_mask_[i * words + k]);
    }
    return WrapState(kBehMagic, BehaviourCounts::kFormatVersion, w.bytes());
  }

  static absl::StatusOr<BehaviourCounts> Deserialize(std::string_view bytes) {
    absl::StatusOr<std::string_view> payload =
        UnwrapState(bytes, kBehMagic, BehaviourCounts::kFormatVersion, "behaviour counts");
    if (!payload.ok()) return payload.status();
    StateReader r(*payload);
    auto bad = [](std::string_view what) { return absl::DataLossError(absl::StrCat("behaviour counts state: ", Sv(what))); };
    const auto sorted_unique = internal::SortedUnique;
    BehaviourCounts x;
    uint32_t S = 0;
    SALESPERF_RETURN_IF_ERROR(r.Count32(S, 4, "stage count"));
    x.stage_names_.resize(S);
    for (auto& s : x.stage_names_) SALESPERF_RETURN_IF_ERROR(r.String(s, "stage name"));
    SALESPERF_RETURN_IF_ERROR(r.I32(x.num_open_, "open stage count"));
    if (x.num_open_ < 0 || static_cast<size_t>(x.num_open_) + 2 != S) return bad("the stages are not the open ones plus Won and Lost");
    SALESPERF_RETURN_IF_ERROR(r.I64(x.window_, "follow_up_window"));
    if (x.window_ <= 0) return bad("follow_up_window is not positive");
    SALESPERF_RETURN_IF_ERROR(r.String(x.unit_kind_, "unit kind"));
    SALESPERF_RETURN_IF_ERROR(r.U8(x.has_contact_, "contact flag"));
    SALESPERF_RETURN_IF_ERROR(r.U8(x.has_role_, "role flag"));
    if (x.has_contact_ > 1 || x.has_role_ > 1) return bad("a column flag is not 0 or 1");
    for (auto* names : {&x.unit_names_, &x.seller_actions_, &x.roles_, &x.entry_actions_}) {
      uint32_t n = 0;
      SALESPERF_RETURN_IF_ERROR(r.Count32(n, 4, "name count"));
      names->resize(n);
      for (auto& s : *names) SALESPERF_RETURN_IF_ERROR(r.String(s, "name"));
      if (!sorted_unique(*names)) return bad("names not sorted or repeated");
    }
    if (!x.has_role_ && (!x.seller_actions_.empty() || !x.roles_.empty())) return bad("roles without a role column");
    const auto o = static_cast<size_t>(x.num_open_);
    const size_t E = x.entry_actions_.size();
    if (E > 0 && o > r.remaining() / 8 / E) return bad("truncated while reading entry counts");
    x.entry_count_.resize(o * E);
    SALESPERF_RETURN_IF_ERROR(r.I64s(x.entry_count_, "entry counts"));
    for (size_t e = 0; e < E; ++e) {
      int64_t n = 0;
      for (size_t k = 0; k < o; ++k) {
        const int64_t c = x.entry_count_[k * E + e];
        if (c < 0 || c > (int64_t{1} << 32)) return bad("an entry count is impossible");
        n += c;
      }
      if (n == 0) return bad("an entry action that entered no stage");
    }
    const size_t A = x.seller_actions_.size(), R = x.roles_.size();
    if (x.has_role_ && A > 0 && R > (size_t{1} << 16) / A) return bad("too many features");
    const size_t nf = x.feature_names().size(), words = Words(nf);
    uint64_t n = 0;
    SALESPERF_RETURN_IF_ERROR(r.Count64(n, 4 + 4 + 1 + 8 + 8 * words, "cell count"));
    x.cell_stage_.resize(n);
    x.cell_unit_.resize(n);
    x.cell_failed_.resize(n);
    x.cell_trials_.resize(n);
    x.cell_mask_.resize(n * words);
    for (size_t i = 0; i < n; ++i) {
      uint32_t u = 0;
      SALESPERF_RETURN_IF_ERROR(r.I32(x.cell_stage_[i], "cell stage"));
      SALESPERF_RETURN_IF_ERROR(r.U32(u, "cell unit"));
      SALESPERF_RETURN_IF_ERROR(r.U8(x.cell_failed_[i], "cell outcome"));
      SALESPERF_RETURN_IF_ERROR(r.I64(x.cell_trials_[i], "cell trials"));
      for (size_t k = 0; k < words; ++k) SALESPERF_RETURN_IF_ERROR(r.U64(x.cell_mask_[i * words + k], "cell features"));
      if (x.cell_stage_[i] < 0 || x.cell_stage_[i] >= x.num_open_) return bad("a cell's stage is out of range");
      if (u >= x.unit_names_.size()) return bad("a cell's unit is out of range");
      x.cell_unit_[i] = static_cast<int32_t>(u);
      if (x.cell_failed_[i] > 1) return bad("a cell's outcome is not 0 or 1");
      if (x.cell_trials_[i] < 1 || x.cell_trials_[i] > (int64_t{1} << 32)) return bad("a cell's trials are impossible");
      if (nf % 64 != 0 && (x.cell_mask_[i * words + words - 1] >> (nf % 64)) != 0) return bad("a cell has unknown features");
      if (i > 0) {
        const uint64_t* a = &x.cell_mask_[(i - 1) * words];
        const uint64_t* b = &x.cell_mask_[i * words];
        const auto ka = std::make_tuple(x.cell_stage_[i - 1], x.cell_unit_[i - 1]);
        const auto kb = std::make_tuple(x.cell_stage_[i], x.cell_unit_[i]);
        bool less = ka < kb;
        if (ka == kb) {
          const int cmp = std::lexicographical_compare(a, a + words, b, b + words) ? -1
                          : std::equal(a, a + words, b)                            ? 0
                                                                                   : 1;
          less = cmp < 0 || (cmp == 0 && x.cell_failed_[i - 1] < x.cell_failed_[i]);
        }
        if (!less) return bad("cells not sorted or repeated");
      }
    }
    SALESPERF_RETURN_IF_ERROR(r.Done());
    return x;
  }

  static absl::StatusOr<BehaviourAssessment> Finalize(const BehaviourCounts& x, const BehaviourOptions& options) {
    if (options.follow_up_window <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("follow_up_window must be positive, got ", options.follow_up_window, " ns"));
    }
    Units names_only;
    names_only.names = x.unit_names_;
    SALESPERF_RETURN_IF_ERROR(CheckOptions(options, names_only));
    if (options.follow_up_window != x.window_) {
      return absl::FailedPreconditionError(absl::StrCat("follow_up_window: the counts are of ", x.window_,
                                                        " ns, the options ask for ", options.follow_up_window, " ns"));
    }
    const Canon features = MakeCanon(x.seller_actions_, x.roles_, x.has_contact_ != 0, x.has_role_ != 0);
    const auto o = static_cast<size_t>(x.num_open_);
    const size_t nf = features.size(), nu = x.unit_names_.size(), words = Words(nf), ncell = x.num_cells();
    // The tables: [stage][unit][2] trials and [stage][feature][unit][2] present.
    struct {
      std::vector<int64_t> trials, present;
    } total;
    total.trials.assign(o * nu * 2, 0);
    total.present.assign(o * nf * nu * 2, 0);
    for (size_t i = 0; i < ncell; ++i) {
      const auto k = static_cast<size_t>(x.cell_stage_[i]), u = static_cast<size_t>(x.cell_unit_[i]);
      const size_t c = x.cell_failed_[i];
      const int64_t n = x.cell_trials_[i];
      total.trials[(k * nu + u) * 2 + c] += n;
      for (size_t w = 0; w < words; ++w) {
        for (uint64_t bits = x.cell_mask_[i * words + w]; bits != 0; bits &= bits - 1) {
          const size_t f = w * 64 + static_cast<size_t>(std::countr_zero(bits));
          total.present[((k * nf + f) * nu + u) * 2 + c] += n;
        }
      }
    }
    const std::vector<std::string>& stage_names = x.stage_names_;
    const std::string& unit_kind = x.unit_kind_;
    const size_t na = x.entry_actions_.size();
    BehaviourAssessment out;
    out.stage_names = stage_names;
    out.num_open = x.num_open_;
    out.unit_names = x.unit_names_;
    out.trials.assign(o, 0);
    for (size_t k = 0; k < o; ++k) {
      for (size_t u = 0; u < nu; ++u) out.trials[k] += total.trials[(k * nu + u) * 2] + total.trials[(k * nu + u) * 2 + 1];
    }
    // The entry action(s) of each stage, most frequent first (ties: by name).
    std::vector<std::string> entry_words(o);
    for (size_t k = 0; k < o; ++k) {
      std::vector<std::pair<int64_t, int32_t>> seen;
      for (size_t a = 0; a < na; ++a) {
        if (x.entry_count_[k * na + a] > 0) seen.emplace_back(-x.entry_count_[k * na + a], static_cast<int32_t>(a));
      }
      std::sort(seen.begin(), seen.end());
      std::vector<std::string> names;
      for (const auto& s : seen) names.push_back(x.entry_actions_[static_cast<size_t>(s.second)]);
      entry_words[k] = names.empty() ? "entry" : absl::StrJoin(names, " or ");
    }

    const size_t rows = o * nf;
    BehaviourRows& w = out.rows;
    w.stage.resize(rows);
    w.feature.resize(rows);
    w.description.resize(rows);
    w.sentence.resize(rows);
    for (auto* v : {&w.present, &w.absent, &w.advanced_present, &w.advanced_absent, &w.deviant_units, &w.peer_units}) {
      v->assign(rows, 0);
    }
    for (auto* v : {&w.rate_present, &w.rate_present_lower, &w.rate_present_upper, &w.rate_absent,
                    &w.rate_absent_lower, &w.rate_absent_upper, &w.lift, &w.odds_ratio, &w.odds_ratio_lower,
                    &w.odds_ratio_upper, &w.p_value, &w.q_value, &w.deviant_share, &w.peer_share, &w.deviant_lift,
                    &w.deviant_unit_share, &w.peer_unit_share, &w.share_difference, &w.share_difference_lower,
                    &w.share_difference_upper, &w.share_p_value, &w.adjusted_odds_ratio, &w.adjusted_lower, &w.adjusted_upper, &w.adjusted_p_value}) {
      v->assign(rows, kNaN);
    }
    for (auto* v : {&w.tested, &w.replicate, &w.avoid, &w.independent}) v->assign(rows, 0);
    w.explained_by.assign(rows, std::string());
    out.unit_trials.assign(rows * nu, 0);
    out.unit_present.assign(rows * nu, 0);

    const double z = boost::math::quantile(boost::math::normal_distribution<double, NoThrow>(),
                                           1.0 - (1.0 - options.interval) / 2.0);
    const boost::math::chi_squared_distribution<double, NoThrow> chi2(1.0);
    const bool with_deviants = !options.deviants.empty();
    auto wilson = [&](int64_t hits, int64_t n, double& rate, double& lo, double& hi) {
      if (n == 0) return;  // NaN
      const absl::StatusOr<Interval> r = Wilson(hits, n, options.interval);
      if (!r.ok()) return;  // cannot happen: 0 <= x <= n and the interval is checked
      rate = r->estimate;
      lo = r->lower;
      hi = r->upper;
    };

    for (size_t k = 0; k < o; ++k) {
      for (size_t fi = 0; fi < nf; ++fi) {
        const size_t row = k * nf + fi;
        w.stage[row] = static_cast<int32_t>(k);
        w.feature[row] = features.name[fi];
        w.description[row] = Description(features, fi, x.seller_actions_, x.roles_, stage_names[k], entry_words[k],
                                         options.follow_up_window);
        // Mantel–Haenszel and Cochran–Mantel–Haenszel sums over the strata with n >= 2.
        MantelHaenszel mh;
        int64_t dev_n = 0, dev_p = 0, peer_n = 0, peer_p = 0;
        for (size_t u = 0; u < nu; ++u) {
          const int64_t a = total.present[((k * nf + fi) * nu + u) * 2];
          const int64_t b = total.present[((k * nf + fi) * nu + u) * 2 + 1];
          const int64_t c = total.trials[(k * nu + u) * 2] - a;
          const int64_t d = total.trials[(k * nu + u) * 2 + 1] - b;
          const int64_t n = a + b + c + d;
          w.present[row] += a + b;
          w.absent[row] += c + d;
          w.advanced_present[row] += a;
          w.advanced_absent[row] += c;
          out.unit_trials[row * nu + u] = n;
          out.unit_present[row * nu + u] = a + b;
          if (with_deviants) {
            (options.deviants[u] != 0 ? dev_n : peer_n) += n;
            (options.deviants[u] != 0 ? dev_p : peer_p) += a + b;
          }
          mh.Add(a, b, c, d);
        }
        wilson(w.advanced_present[row], w.present[row], w.rate_present[row], w.rate_present_lower[row],
               w.rate_present_upper[row]);
        wilson(w.advanced_absent[row], w.absent[row], w.rate_absent[row], w.rate_absent_lower[row],
               w.rate_absent_upper[row]);
        w.lift[row] = w.rate_present[row] / w.rate_absent[row];
        mh.Finish(z, chi2, w.odds_ratio[row], w.odds_ratio_lower[row], w.odds_ratio_upper[row], w.p_value[row]);
        w.tested[row] = w.present[row] >= options.min_support && w.absent[row] >= options.min_support &&
                                !std::isnan(w.p_value[row])
                            ? 1
                            : 0;
        if (with_deviants) {
          if (dev_n > 0) w.deviant_share[row] = static_cast<double>(dev_p) / static_cast<double>(dev_n);
          if (peer_n > 0) w.peer_share[row] = static_cast<double>(peer_p) / static_cast<double>(peer_n);
          w.deviant_lift[row] = w.deviant_share[row] / w.peer_share[row];
          UnitShareContrast(&out.unit_trials[row * nu], &out.unit_present[row * nu], options.deviants,
                            options.interval, w, row);
        }
      }
    }

    // Benjamini–Hochberg over the tested rows: q_(i) = min_{j >= i} p_(j) m / j, capped at 1.
    std::vector<size_t> tested;
    for (size_t r = 0; r < rows; ++r) {
      if (w.tested[r] != 0) tested.push_back(r);
    }
    std::stable_sort(tested.begin(), tested.end(), [&](size_t p, size_t q) { return w.p_value[p] < w.p_value[q]; });
    const auto m = static_cast<double>(tested.size());
    double running = 1.0;
    for (size_t i = tested.size(); i-- > 0;) {
      const size_t r = tested[i];
      running = std::min(running, w.p_value[r] * m / static_cast<double>(i + 1));
      w.q_value[r] = running;
    }
    for (const size_t r : tested) {
      w.replicate[r] = w.q_value[r] <= options.fdr && w.odds_ratio[r] > 1.0 ? 1 : 0;
      w.avoid[r] = w.q_value[r] <= options.fdr && w.odds_ratio[r] < 1.0 ? 1 : 0;
    }

    // Over and above (proxies): per stage, the discoveries by p-value (ties: feature
    // order), each re-tested within unit x the pattern of the accepted features (at most
    // kMaxAdjustFor, the first accepted).
    bool screen = false;
    double t_star = -std::numeric_limits<double>::infinity();
    for (const size_t r : tested) {
      if (w.q_value[r] <= options.fdr) {
        screen = true;
        t_star = std::max(t_star, w.p_value[r]);
      }
    }
    if (screen) {
      // The cells of each stage (sorted by stage: contiguous).
      std::vector<size_t> stage_begin(o + 1, 0);
      for (size_t i = 0; i < ncell; ++i) ++stage_begin[static_cast<size_t>(x.cell_stage_[i]) + 1];
      for (size_t k = 0; k < o; ++k) stage_begin[k + 1] += stage_begin[k];
      auto has = [&](size_t cell, size_t feature) {
        return (x.cell_mask_[cell * words + feature / 64] >> (feature % 64) & 1U) != 0;
      };
      std::vector<size_t> discoveries, accepted;
      std::vector<std::pair<uint64_t, int64_t>> keys;
      std::vector<int64_t> dense;
      const uint64_t num_units = nu;
      // The MH tables of feature fi at stage k, stratified by unit x the presence pattern
      // of the features adjust[0 .. n). Strata are visited in (unit, pattern) order either
      // way: a dense count when unit x pattern x 4 cells are few next to the trials (one
      // pass, no sort),
      // else sorted keys ((unit << n | pattern) << 2 | present << 1 | failed).
      auto stratified = [&](size_t k, size_t fi, const size_t* adjust, size_t n, MantelHaenszel& mh) {
        const size_t begin = stage_begin[k], end = stage_begin[k + 1];
        auto key_of = [&](size_t cell) {
          uint64_t key = static_cast<uint64_t>(x.cell_unit_[cell]);
          for (size_t i = 0; i < n; ++i) key = key << 1 | (has(cell, adjust[i]) ? 1U : 0U);
          return key << 2 | (has(cell, fi) ? 2U : 0U) | x.cell_failed_[cell];
        };
        const uint64_t cells = (num_units << n) * 4;
        // Dense only when clearing and scanning the cells costs no more than the count cells.
        if (cells <= 4 * static_cast<uint64_t>(end - begin) + 65'536) {
          dense.assign(cells, 0);
          for (size_t j = begin; j < end; ++j) dense[key_of(j)] += x.cell_trials_[j];
          for (uint64_t c = 0; c < cells; c += 4) {
            const int64_t* t = &dense[c];  // absent adv, absent failed, present adv, present failed
            if (t[0] + t[1] + t[2] + t[3] > 0) mh.Add(t[2], t[3], t[0], t[1]);
          }
          return;
        }
        keys.clear();
        for (size_t j = begin; j < end; ++j) keys.emplace_back(key_of(j), x.cell_trials_[j]);
        std::sort(keys.begin(), keys.end());
        for (size_t i = 0; i < keys.size();) {
          int64_t t[4] = {0, 0, 0, 0};
          const uint64_t stratum = keys[i].first >> 2;
          for (; i < keys.size() && keys[i].first >> 2 == stratum; ++i) t[keys[i].first & 3U] += keys[i].second;
          mh.Add(t[2], t[3], t[0], t[1]);
        }
      };
      std::array<size_t, kMaxAdjustFor> adjust{};
      for (size_t k = 0; k < o; ++k) {
        discoveries.clear();
        for (size_t fi = 0; fi < nf; ++fi) {
          const size_t r = k * nf + fi;
          if (w.replicate[r] != 0 || w.avoid[r] != 0) discoveries.push_back(r);
        }
        std::stable_sort(discoveries.begin(), discoveries.end(),
                         [&](size_t p, size_t q) { return w.p_value[p] < w.p_value[q]; });
        accepted.clear();
        for (const size_t r : discoveries) {
          const size_t fi = r % nf;
          const size_t used = std::min(accepted.size(), static_cast<size_t>(kMaxAdjustFor));
          for (size_t i = 0; i < used; ++i) adjust[i] = accepted[i] % nf;
          MantelHaenszel mh;
          stratified(k, fi, adjust.data(), used, mh);
          mh.Finish(z, chi2, w.adjusted_odds_ratio[r], w.adjusted_lower[r], w.adjusted_upper[r],
                    w.adjusted_p_value[r]);
          const double orr = w.odds_ratio[r], adj = w.adjusted_odds_ratio[r];
          const bool same_side = (orr > 1.0 && adj > 1.0) || (orr < 1.0 && adj < 1.0);
          if (w.adjusted_p_value[r] <= t_star && same_side) {
            w.independent[r] = 1;
            accepted.push_back(r);
          } else {
            // Name first the accepted feature that explains this one best: the one
            // which, adjusted for alone (unit x its presence), leaves the largest p-value
            // (ties: acceptance order) — a proxy is named under the behaviour it copies.
            std::array<double, kMaxAdjustFor> alone{};
            std::array<size_t, kMaxAdjustFor> order{};
            for (size_t i = 0; i < used; ++i) {
              MantelHaenszel one;
              stratified(k, fi, &adjust[i], 1, one);
              double odds = 0, lower = 0, upper = 0;
              alone[i] = std::numeric_limits<double>::quiet_NaN();  // Finish leaves it when not estimable
              one.Finish(z, chi2, odds, lower, upper, alone[i]);
              if (std::isnan(alone[i])) alone[i] = 2.0;  // no contrast left: explains it fully
              order[i] = i;
            }
            std::stable_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(used),
                             [&](size_t p, size_t q) { return alone[p] > alone[q]; });
            std::string& names = w.explained_by[r];
            for (size_t i = 0; i < used; ++i) {
              absl::StrAppend(&names, i > 0 ? ", " : "", Sv(w.feature[accepted[order[i]]]));
            }
          }
        }
      }
    }

    // Sentences.
    const std::string within = unit_kind == "all"                           ? ""
                               : unit_kind.empty() || unit_kind == "custom" ? ", within the same unit"
                                                                            : absl::StrCat(", within the same ", Sv(unit_kind));
    const std::string level = absl::StrCat(options.interval * 100.0, "% CI");
    for (size_t r = 0; r < rows; ++r) {
      const std::string& stage = stage_names[static_cast<size_t>(w.stage[r])];
      const int64_t n = w.present[r] + w.absent[r];
      const std::string_view how = Connector(features.kind[r % nf]);
      if (n == 0) {
        w.sentence[r] = absl::StrCat("At ", Sv(stage), ", no deal has advanced or failed yet.");
      } else if (w.present[r] == 0) {
        w.sentence[r] = absl::StrCat("At ", Sv(stage), ", no deal ", Sv(how), " ", Sv(w.description[r]),
                                     " has advanced or failed yet (0 of ", Thousands(n), " deals).");
      } else if (w.absent[r] == 0) {
        w.sentence[r] = absl::StrCat("At ", Sv(stage), ", every deal that advanced or failed was one ", Sv(how), " ",
                                     Sv(w.description[r]), " (", Thousands(n), " of ", Thousands(n), " deals).");
      } else {
        const std::string odds =
            std::isnan(w.odds_ratio[r])
                ? std::string("odds ratio not estimable")
                : absl::StrCat("odds x", Ratio(w.odds_ratio[r]), ", ", Sv(level), " ", Ratio(w.odds_ratio_lower[r]), "-",
                               Ratio(w.odds_ratio_upper[r]));
        w.sentence[r] = absl::StrCat("At ", Sv(stage), ", deals ", Sv(how), " ", Sv(w.description[r]), " advanced ",
                                     Percent(w.rate_present[r]), " of the time against ", Percent(w.rate_absent[r]),
                                     " without (", Sv(odds), Sv(within), "; ", Thousands(w.present[r]), " of ",
                                     Thousands(n), " deals).");
      }
    }
    return out;
  }
};

std::vector<std::string> BehaviourCounts::feature_names() const {
  return MakeCanon(seller_actions_, roles_, has_contact_ != 0, has_role_ != 0).name;
}

absl::StatusOr<BehaviourCounts> BehaviourCounts::Count(const EventLog& log, const Timelines& timelines,
                                                       const Units& units, int64_t follow_up_window) {
  absl::StatusOr<std::vector<int64_t>> checked = CheckInputs(log, timelines, units);
  if (!checked.ok()) return checked.status();
  return BehaviourCountsBuilder::Count(log, timelines, units, follow_up_window, *checked);
}
absl::Status BehaviourCounts::Merge(const BehaviourCounts& other) { return BehaviourCountsBuilder::Merge(*this, other); }
std::string BehaviourCounts::Serialize() const { return BehaviourCountsBuilder::Serialize(*this); }
absl::StatusOr<BehaviourCounts> BehaviourCounts::Deserialize(std::string_view bytes) {
  return BehaviourCountsBuilder::Deserialize(bytes);
}
absl::StatusOr<BehaviourAssessment> BehaviourCounts::Finalize(const BehaviourOptions& options) const {
  return BehaviourCountsBuilder::Finalize(*this, options);
}

absl::StatusOr<BehaviourAssessment> AssessBehaviours(const EventLog& log, const Timelines& timelines,
                                                     const Units& units, const BehaviourOptions& options) {
  absl::StatusOr<std::vector<int64_t>> checked = CheckInputs(log, timelines, units);
  if (!checked.ok()) return checked.status();
  SALESPERF_RETURN_IF_ERROR(CheckOptions(options, units));
  absl::StatusOr<BehaviourCounts> counts =
      BehaviourCountsBuilder::Count(log, timelines, units, options.follow_up_window, *checked);
  if (!counts.ok()) return counts.status();
  // The units sorted by name: unit u of the Units is the counts' unit at[u].
  const size_t nu = units.names.size();
  const std::vector<std::string>& sorted = counts->unit_names();
  std::vector<size_t> at(nu);
  for (size_t u = 0; u < nu; ++u) {
    at[u] = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), units.names[u]) - sorted.begin());
  }
  BehaviourOptions op = options;
  if (!options.deviants.empty()) {
    for (size_t u = 0; u < nu; ++u) op.deviants[at[u]] = options.deviants[u];
  }
  absl::StatusOr<BehaviourAssessment> out = BehaviourCountsBuilder::Finalize(*counts, op);
  if (!out.ok()) return out.status();
  out->unit_names = units.names;
  const size_t rows = out->rows.size();
  std::vector<int64_t> unit_trials(rows * nu), unit_present(rows * nu);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t u = 0; u < nu; ++u) {
      unit_trials[r * nu + u] = out->unit_trials[r * nu + at[u]];
      unit_present[r * nu + u] = out->unit_present[r * nu + at[u]];
    }
  }
  out->unit_trials = std::move(unit_trials);
  out->unit_present = std::move(unit_present);
  return out;
}

}  // namespace salesperf
