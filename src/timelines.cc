// RunStages: the stage engine. One pass over each deal's events with per-rule state
// kept in scratch arrays reused across deals (no allocation per event), deals split
// into blocks across threads; then stall limits from all deals, then stalls.
#include "salesperf/timelines.h"
#include "salesperf/state.h"  // Int128

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "parallel.h"

namespace salesperf {

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOpen: return "open";
    case Outcome::kWon: return "won";
    case Outcome::kLost: return "lost";
    case Outcome::kStalled: return "stalled";
    case Outcome::kExcluded: return "excluded";
  }
  return "?";
}

std::string_view TransitionKindName(TransitionKind k) {
  switch (k) {
    case TransitionKind::kProgressed: return "progressed";
    case TransitionKind::kSkipped: return "skipped";
    case TransitionKind::kRegressed: return "regressed";
    case TransitionKind::kReopened: return "reopened";
    case TransitionKind::kWon: return "won";
    case TransitionKind::kLost: return "lost";
    case TransitionKind::kExcluded: return "excluded";
  }
  return "?";
}

namespace {

constexpr int64_t kNever = kNullInstant;
constexpr int64_t kInfinite = std::numeric_limits<int64_t>::max();
constexpr uint8_t kGroupStage = 0, kGroupWon = 1, kGroupLost = 2;

// t - x <= w, for x not null, without overflow.
inline bool Within(int64_t t, int64_t x, int64_t w) {
  if (w == kInfinite) return true;
  return static_cast<Int128>(t) - x <= w;  // t >= x in log order; a 128-bit difference cannot overflow
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::numeric_limits<int64_t>::max();
  return out;
}

// Transitions produced by one block of deals, in order.
using TransitionRows = Timelines::Transitions;

// Per-rule state for one deal, laid out once per machine and reset per deal.
class RuleState {
 public:
  explicit RuleState(const StageMachine& m) : m_(m) {
    slot_.resize(m.rules.size());
    size_t slots = 0;
    for (size_t r = 0; r < m.rules.size(); ++r) {
      slot_[r] = slots;
      if (m.rules[r].kind == RuleKind::kAll || m.rules[r].kind == RuleKind::kSequence) {
        slots += m.rules[r].filters.size();
      }
    }
    times_.resize(slots);
    count_.resize(m.rules.size());
    window_times_.resize(m.rules.size());
    head_.resize(m.rules.size());
    contacts_.resize(m.rules.size());
  }

  void Reset() {
    std::fill(times_.begin(), times_.end(), kNever);
    std::fill(count_.begin(), count_.end(), 0);
    for (auto& v : window_times_) v.clear();
    std::fill(head_.begin(), head_.end(), 0);
    for (auto& v : contacts_) v.clear();
  }

  // Updates rule r with an event of action a at time t (the caller checked the role
  // and amount conditions) and says whether the rule fires at it.
  bool Update(size_t r, int32_t a, int64_t t, int32_t contact) {
    const CompiledRule& rule = m_.rules[r];
    auto matches = [&](size_t j) {
      const auto& acts = rule.filters[j].actions;
      return std::binary_search(acts.begin(), acts.end(), a);
    };
    switch (rule.kind) {
      case RuleKind::kAny:
        return true;  // the index only lists rules whose filter holds the action
      case RuleKind::kAll: {
        int64_t* last = &times_[slot_[r]];
        for (size_t j = 0; j < rule.filters.size(); ++j) {
          if (matches(j)) last[j] = t;
        }
        for (size_t j = 0; j < rule.filters.size(); ++j) {
          if (last[j] == kNever || !Within(t, last[j], rule.within)) return false;
        }
        return true;
      }
      case RuleKind::kSequence: {
        // best[i]: the latest start time of a chain x1 < ... < xi with xi matching Fi,
        // over events so far. Steps go downwards so that e extends chains of earlier
        // events only (positions must strictly increase).
        int64_t* best = &times_[slot_[r]];
        const size_t steps = rule.filters.size();
        bool fires = false;
        for (size_t i = steps; i-- > 0;) {
          if (!matches(i)) continue;
          const int64_t start = i == 0 ? t : best[i - 1];
          if (start == kNever) continue;
          if (i == steps - 1 && Within(t, start, rule.within)) fires = true;
          best[i] = std::max(best[i], start);
        }
        return fires;
      }
      case RuleKind::kCount: {
        if (rule.within == kInfinite) return ++count_[r] >= rule.min;
        auto& v = window_times_[r];
        v.push_back(t);
        size_t& h = head_[r];
        while (!Within(t, v[h], rule.within)) ++h;
        return static_cast<int64_t>(v.size() - h) >= rule.min;
      }
      case RuleKind::kDistinctContacts: {
        auto& seen = contacts_[r];
        if (contact >= 0) {
          auto it = std::find_if(seen.begin(), seen.end(),
                                 [contact](const auto& p) { return p.first == contact; });
          if (it == seen.end()) {
            seen.emplace_back(contact, t);
          } else {
            it->second = t;
          }
        }
        if (contact < 0) return false;
        int32_t distinct = 0;
        for (const auto& [c, last] : seen) {
          if (Within(t, last, rule.within)) ++distinct;
        }
        return distinct >= rule.min;
      }
    }
    return false;
  }

 private:
  const StageMachine& m_;
  std::vector<size_t> slot_;
  std::vector<int64_t> times_;
  std::vector<int64_t> count_;
  std::vector<std::vector<int64_t>> window_times_;
  std::vector<size_t> head_;
  std::vector<std::vector<std::pair<int32_t, int64_t>>> contacts_;
};

struct BlockOutput {
  TransitionRows transitions;
  std::vector<std::vector<int64_t>> visit_durations;  // per open stage
};

// The deals [lo, hi) as a list RunBlock can walk (std::views::iota would do, but clang
// 14 cannot compile libstdc++ 12's iota, and the fuzzing build uses clang 14).
struct DealRange {
  struct Iterator {
    int32_t d;
    int32_t operator*() const { return d; }
    Iterator& operator++() {
      ++d;
      return *this;
    }
    bool operator==(const Iterator&) const = default;
  };
  int32_t lo, hi;
  Iterator begin() const { return {lo}; }
  Iterator end() const { return {hi}; }
  size_t size() const { return static_cast<size_t>(hi - lo); }
};

// Runs the deals of `deals` (a DealRange or a span of deal codes) of the log.
template <typename DealList>
void RunBlock(const StageMachine& m, const EventLog& log, const DealList& deals, Timelines& out,
              BlockOutput& block) {
  const size_t count = deals.size();
  const int32_t S = m.num_open + 2;
  const int32_t won_stage = m.num_open, lost_stage = m.num_open + 1;
  RuleState state(m);
  block.visit_durations.assign(static_cast<size_t>(m.num_open), {});
  const auto deal_offsets = log.deal_offsets();
  const auto times = log.time();
  const auto actions = log.action();
  const auto contacts = log.contact();
  const auto roles = log.contact_role();
  const auto amounts = log.amount();
  const auto actors = log.action_actors();
  std::vector<int32_t> fired_stages;
  {  // Most deals move a few times: reserving spares the rows most regrowth.
    TransitionRows& rows = block.transitions;
    const auto expect = count * 3;
    rows.deal.reserve(expect);
    rows.from.reserve(expect);
    rows.to.reserve(expect);
    rows.time.reserve(expect);
    rows.kind.reserve(expect);
    rows.in_window.reserve(expect);
    rows.action.reserve(expect);
  }

  // Actions that no rule names and that exclude nothing cannot change a deal: most
  // events (seller activity) are skipped after one table look-up.
  std::vector<uint8_t> inert(m.excluded_action.size());
  for (size_t a = 0; a < inert.size(); ++a) {
    inert[a] = m.rule_offsets[a] == m.rule_offsets[a + 1] && !m.excluded_action[a];
  }
  for (const int32_t d : deals) {
    state.Reset();
    int64_t* entered = &out.first_entered[static_cast<size_t>(d) * S];
    int64_t* left = &out.last_left[static_cast<size_t>(d) * S];
    std::fill(entered, entered + S, kNever);
    std::fill(left, left + S, kNever);
    int32_t current = -1;
    Outcome outcome = Outcome::kOpen;
    int64_t outcome_time = kNever, visit_entry = kNever;
    int32_t lost_reason = -1;
    bool excluded = false;

    auto enter = [&](int32_t s, int64_t t) {
      if (entered[s] == kNever || t < entered[s]) entered[s] = t;
    };
    auto leave_open = [&](int64_t t, bool count_visit) {  // leaving the current open stage
      if (current < 0) return;
      left[current] = t;
      if (count_visit) {
        int64_t visit = 0;  // saturates for a visit longer than int64 nanoseconds (292 years)
        block.visit_durations[static_cast<size_t>(current)].push_back(
            __builtin_sub_overflow(t, visit_entry, &visit) ? std::numeric_limits<int64_t>::max() : visit);
      }
    };
    auto upward_in_window = [&](int64_t t) {
      return current < 0 || Within(t, visit_entry, m.window[static_cast<size_t>(current)]);
    };

    for (int64_t k = deal_offsets[d]; k < deal_offsets[d + 1]; ++k) {
      const auto e = static_cast<size_t>(k);
      const int32_t a = actions[e];
      if (inert[static_cast<size_t>(a)]) continue;
      if (excluded) break;
      const int64_t t = times[e];

      // Which rules fire at e: every rule's state sees every event, whatever the deal's
      // state, because "fires at e" depends only on the deal's history.
      fired_stages.clear();
      bool won_fires = false, lost_fires = false;
      int32_t regress_to = std::numeric_limits<int32_t>::max();
      const int32_t contact = contacts.empty() ? -1 : contacts[e];
      for (int32_t p = m.rule_offsets[static_cast<size_t>(a)]; p < m.rule_offsets[static_cast<size_t>(a) + 1]; ++p) {
        const auto r = static_cast<size_t>(m.rule_index[static_cast<size_t>(p)]);
        const CompiledRule& rule = m.rules[r];
        if (rule.has_role_condition) {  // a null role never meets one
          const int32_t role = roles[e];
          if (role < 0 || !rule.role_ok[static_cast<size_t>(role)]) continue;
        }
        if (rule.has_amount_condition) {
          const double x = amounts[e];
          if (std::isnan(x) || x < rule.min_amount || x > rule.max_amount) continue;
        }
        if (!state.Update(r, a, t, contact)) continue;
        switch (m.rule_group[r]) {
          case kGroupStage: fired_stages.push_back(rule.target); break;
          case kGroupWon: won_fires = true; break;
          case kGroupLost: lost_fires = true; break;
          default: regress_to = std::min(regress_to, rule.target); break;
        }
      }

      // 1. Exclusion.
      if (m.excluded_action[static_cast<size_t>(a)]) {
        const int32_t from = outcome == Outcome::kWon ? won_stage
                             : outcome == Outcome::kLost ? lost_stage : current;
        if (from >= 0) left[from] = t;
        block.transitions.Add(d, from, -1, t, TransitionKind::kExcluded, true, a);
        outcome = Outcome::kExcluded;
        outcome_time = t;
        lost_reason = -1;  // a lost deal that is then excluded is no longer lost
        excluded = true;
        continue;
      }
      // 2. Closed deals: only a reopening changes them.
      if (outcome == Outcome::kWon || outcome == Outcome::kLost) {
        if (m.reopen == Reopen::kAllow && !fired_stages.empty()) {
          const int32_t h = *std::max_element(fired_stages.begin(), fired_stages.end());
          const int32_t from = outcome == Outcome::kWon ? won_stage : lost_stage;
          left[from] = t;
          block.transitions.Add(d, from, h, t, TransitionKind::kReopened, true, a);
          enter(h, t);
          current = h;
          visit_entry = t;
          outcome = Outcome::kOpen;
          outcome_time = kNever;
          lost_reason = -1;
        }
        continue;
      }
      // 3. Terminal rules.
      if (lost_fires || won_fires) {
        const bool lost = lost_fires;
        const bool in_window = lost || upward_in_window(t);
        const int32_t to = lost ? lost_stage : won_stage;
        leave_open(t, true);
        block.transitions.Add(d, current, to, t, lost ? TransitionKind::kLost : TransitionKind::kWon,
                              in_window, a);
        enter(to, t);
        outcome = lost ? Outcome::kLost : Outcome::kWon;
        outcome_time = t;
        lost_reason = lost ? a : -1;
        continue;
      }
      // 4. Regress rules.
      if (regress_to < current && m.regression != Regression::kLatch) {
        leave_open(t, true);
        if (m.regression == Regression::kRecord) {
          block.transitions.Add(d, current, regress_to, t, TransitionKind::kRegressed, true, a);
        }
        enter(regress_to, t);
        current = regress_to;
        visit_entry = t;
        continue;
      }
      // 5. Forward moves: the highest stage above the current one the ordering allows.
      int32_t target = -1;
      for (int32_t s : fired_stages) {
        if (s <= current || s <= target) continue;
        bool allowed = true;
        if (m.ordering == Ordering::kStrict) {
          for (int32_t between = current + 1; between < s; ++between) {
            if (!m.optional[static_cast<size_t>(between)]) {
              allowed = false;
              break;
            }
          }
        }
        if (allowed) target = s;
      }
      if (target >= 0) {
        const bool in_window = upward_in_window(t);
        const TransitionKind kind =
            target == current + 1 ? TransitionKind::kProgressed : TransitionKind::kSkipped;
        leave_open(t, true);
        block.transitions.Add(d, current, target, t, kind, in_window, a);
        enter(target, t);
        current = target;
        visit_entry = t;
      }
    }

    // The value and the last buyer action, read backwards from the deal's end.
    double value = std::numeric_limits<double>::quiet_NaN();
    int64_t last_buyer = kNever;
    if (!amounts.empty()) {
      for (int64_t k = deal_offsets[d + 1]; k-- > deal_offsets[d];) {
        if (!std::isnan(amounts[static_cast<size_t>(k)])) {
          value = amounts[static_cast<size_t>(k)];
          break;
        }
      }
    }
    for (int64_t k = deal_offsets[d + 1]; k-- > deal_offsets[d];) {
      if (static_cast<Actor>(actors[static_cast<size_t>(actions[static_cast<size_t>(k)])]) == Actor::kBuyer) {
        last_buyer = times[static_cast<size_t>(k)];
        break;
      }
    }
    const auto di = static_cast<size_t>(d);
    out.current_stage[di] = current;
    out.outcome[di] = static_cast<uint8_t>(outcome);
    out.outcome_time[di] = outcome_time;
    out.lost_reason[di] = lost_reason;
    out.value[di] = value;
    out.quiet_since[di] = (outcome == Outcome::kOpen && current >= 0)
                              ? std::max(visit_entry, last_buyer)
                              : kNever;
  }
}

// Applies stalls at out.as_of to the deals [first, last); closes at the horizon are
// appended after their deal's rows in `rows`.
void StallBlock(const StageMachine& m, int32_t first, int32_t last, Timelines& out,
                TransitionRows& rows) {
  const auto S = static_cast<size_t>(m.num_open + 2);
  std::vector<int32_t> closed;  // deals closed as stalled, in order
  for (int32_t d = first; d < last; ++d) {
    const auto di = static_cast<size_t>(d);
    const int32_t s = out.current_stage[di];
    if (out.outcome[di] != static_cast<uint8_t>(Outcome::kOpen) || s < 0) continue;
    const int64_t limit = out.stall_limit[static_cast<size_t>(s)];
    if (limit < 0) continue;
    const int64_t quiet = out.quiet_since[di];
    if (static_cast<Int128>(out.as_of) - quiet <= limit) continue;
    const int64_t since = SaturatingAdd(quiet, limit);
    out.outcome[di] = static_cast<uint8_t>(Outcome::kStalled);
    out.outcome_time[di] = since;
    if (m.close_stalled_after < 0) continue;
    const int64_t close = SaturatingAdd(since, m.close_stalled_after);
    if (out.as_of < close) continue;
    out.outcome[di] = static_cast<uint8_t>(Outcome::kLost);
    out.outcome_time[di] = close;
    out.lost_reason[di] = kReasonStalled;
    out.left_before_close[di] = out.last_left[di * S + static_cast<size_t>(s)];
    out.last_left[di * S + static_cast<size_t>(s)] = close;
    int64_t& lost_entry = out.first_entered[di * S + static_cast<size_t>(m.num_open + 1)];
    if (lost_entry == kNever || close < lost_entry) lost_entry = close;
    closed.push_back(d);
  }
  if (closed.empty()) return;
  TransitionRows merged;
  size_t i = 0;
  auto copy_until = [&](int32_t d) {  // rows of deals <= d
    for (; i < rows.time.size() && rows.deal[i] <= d; ++i) {
      merged.Add(rows.deal[i], rows.from[i], rows.to[i], rows.time[i],
                 static_cast<TransitionKind>(rows.kind[i]), rows.in_window[i] != 0, rows.action[i]);
    }
  };
  for (int32_t d : closed) {
    copy_until(d);
    const auto di = static_cast<size_t>(d);
    merged.Add(d, out.current_stage[di], m.num_open + 1, out.outcome_time[di], TransitionKind::kLost,
               true, -1);
  }
  copy_until(std::numeric_limits<int32_t>::max());
  rows = std::move(merged);
}

// numpy's default ("linear") percentile, rounded down to whole nanoseconds.
int64_t Percentile(std::vector<int64_t>& values, double p) {
  std::sort(values.begin(), values.end());
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  const double v = static_cast<double>(values[lo]) +
                   (static_cast<double>(values[hi]) - static_cast<double>(values[lo])) * frac;
  return static_cast<int64_t>(std::floor(v));
}

// The last event time: each deal's events are in time order.
int64_t LastEventTime(const EventLog& log) {
  int64_t t = log.size() == 0 ? 0 : std::numeric_limits<int64_t>::min();
  for (int32_t d = 0; d < log.num_deals(); ++d) {
    t = std::max(t, log.time()[static_cast<size_t>(log.deal_offsets()[d + 1] - 1)]);
  }
  return t;
}

absl::Status CheckFits(const StageMachine& machine, const EventLog& log, const RunOptions& options) {
  if (machine.rule_offsets.size() != static_cast<size_t>(log.actions().size()) + 1 ||
      machine.excluded_action.size() != static_cast<size_t>(log.actions().size())) {
    return absl::FailedPreconditionError(
        "the stage machine was compiled against another log (its action table does not match)");
  }
  if (options.threads < 0) return absl::InvalidArgumentError("threads must be 0 (every core) or more");
  return absl::OkStatus();
}

void SizeFor(Timelines& out, const StageMachine& machine, size_t nd) {
  const auto S = static_cast<size_t>(machine.num_open + 2);
  out.stage_names = machine.stage_names;
  out.num_open = machine.num_open;
  out.current_stage.resize(nd);
  out.outcome.resize(nd);
  out.outcome_time.resize(nd);
  out.lost_reason.resize(nd);
  out.value.resize(nd);
  out.quiet_since.resize(nd);
  out.left_before_close.assign(nd, kNever);
  out.first_entered.resize(nd * S);  // filled deal by deal
  out.last_left.resize(nd * S);
}


}  // namespace

absl::StatusOr<Timelines> UpdateStages(const StageMachine& machine, const EventLog& log,
                                       const Timelines& previous, std::span<const int32_t> touched,
                                       const RunOptions& options) {
  if (auto s = CheckFits(machine, log, options); !s.ok()) return s;
  for (size_t s = 0; s < machine.stall.size(); ++s) {
    if (machine.stall[s].percentile) {
      return absl::FailedPreconditionError(absl::StrCat(
          "stage '", machine.stage_names[s],
          "' has a percentile stall limit, which depends on every deal: use RunStages"));
    }
  }
  if (previous.stage_names != machine.stage_names) {
    return absl::FailedPreconditionError("the previous timelines come from a model with other stages");
  }
  const auto nd = static_cast<size_t>(log.num_deals());
  const size_t prev_nd = previous.outcome.size();
  const auto S = static_cast<size_t>(machine.num_open + 2);
  if (prev_nd > nd || previous.first_entered.size() != prev_nd * S) {
    return absl::FailedPreconditionError("the previous timelines have more deals than the log");
  }
  std::vector<uint8_t> is_touched(nd, 0);
  for (size_t i = 0; i < touched.size(); ++i) {
    const int32_t d = touched[i];
    if (d < 0 || static_cast<size_t>(d) >= nd || (i > 0 && d <= touched[i - 1])) {
      return absl::InvalidArgumentError("touched deals must be ascending deal codes of the log");
    }
    is_touched[static_cast<size_t>(d)] = 1;
  }
  for (size_t d = prev_nd; d < nd; ++d) {
    if (!is_touched[d]) {
      return absl::InvalidArgumentError(absl::StrCat("deal ", d, " is new but not listed as touched"));
    }
  }

  Timelines out;
  SizeFor(out, machine, nd);
  out.as_of = options.as_of ? *options.as_of : LastEventTime(log);
  const int32_t lost_stage = machine.num_open + 1;

  // Untouched deals: the previous rows, with the stall overlay undone.
  std::vector<size_t> prev_rows(prev_nd + 1, 0);
  for (int32_t d : previous.transitions.deal) ++prev_rows[static_cast<size_t>(d) + 1];
  std::partial_sum(prev_rows.begin(), prev_rows.end(), prev_rows.begin());
  std::vector<uint8_t> drop_last(prev_nd, 0);
  for (size_t d = 0; d < prev_nd; ++d) {
    if (is_touched[d]) continue;
    out.current_stage[d] = previous.current_stage[d];
    out.outcome[d] = previous.outcome[d];
    out.outcome_time[d] = previous.outcome_time[d];
    out.lost_reason[d] = previous.lost_reason[d];
    out.value[d] = previous.value[d];
    out.quiet_since[d] = previous.quiet_since[d];
    std::copy_n(previous.first_entered.begin() + static_cast<std::ptrdiff_t>(d * S), S,
                out.first_entered.begin() + static_cast<std::ptrdiff_t>(d * S));
    std::copy_n(previous.last_left.begin() + static_cast<std::ptrdiff_t>(d * S), S,
                out.last_left.begin() + static_cast<std::ptrdiff_t>(d * S));
    if (out.outcome[d] == static_cast<uint8_t>(Outcome::kStalled)) {
      out.outcome[d] = static_cast<uint8_t>(Outcome::kOpen);
      out.outcome_time[d] = kNever;
    } else if (out.outcome[d] == static_cast<uint8_t>(Outcome::kLost) &&
               out.lost_reason[d] == kReasonStalled) {
      const int64_t close = out.outcome_time[d];
      const auto s = static_cast<size_t>(out.current_stage[d]);
      out.last_left[d * S + s] = previous.left_before_close[d];
      int64_t& lost_entry = out.first_entered[d * S + static_cast<size_t>(lost_stage)];
      if (lost_entry == close) lost_entry = kNever;
      out.outcome[d] = static_cast<uint8_t>(Outcome::kOpen);
      out.outcome_time[d] = kNever;
      out.lost_reason[d] = -1;
      drop_last[d] = 1;
    }
  }

  // Touched deals: run again, in blocks of the touched list.
  const int threads = internal::ThreadsFor(options.threads, touched.size(), 1 << 12);
  const size_t blocks = threads == 1 ? 1 : static_cast<size_t>(threads) * 8;
  std::vector<BlockOutput> parts(blocks);
  internal::ParallelFor(blocks, threads, [&](size_t b) {
    RunBlock(machine, log, touched.subspan(touched.size() * b / blocks,
                                           touched.size() * (b + 1) / blocks - touched.size() * b / blocks),
             out, parts[b]);
  });

  // Transitions in deal order: touched deals' new rows, the others' previous rows.
  TransitionRows rows;
  size_t part = 0, pos = 0;
  for (size_t d = 0; d < nd; ++d) {
    if (is_touched[d]) {
      while (part < blocks) {
        const TransitionRows& p = parts[part].transitions;
        if (pos < p.time.size() && p.deal[pos] == static_cast<int32_t>(d)) {
          rows.Add(p.deal[pos], p.from[pos], p.to[pos], p.time[pos],
                   static_cast<TransitionKind>(p.kind[pos]), p.in_window[pos] != 0, p.action[pos]);
          ++pos;
        } else if (pos >= p.time.size()) {
          ++part;
          pos = 0;
        } else {
          break;
        }
      }
      continue;
    }
    const auto& tr = previous.transitions;
    const size_t end = prev_rows[d + 1] - (drop_last[d] ? 1 : 0);
    for (size_t r = prev_rows[d]; r < end; ++r) {
      rows.Add(tr.deal[r], tr.from[r], tr.to[r], tr.time[r], static_cast<TransitionKind>(tr.kind[r]),
               tr.in_window[r] != 0, tr.action[r]);
    }
  }

  out.stall_limit.assign(static_cast<size_t>(machine.num_open), -1);
  for (size_t s = 0; s < static_cast<size_t>(machine.num_open); ++s) {
    if (machine.stall[s].fixed) out.stall_limit[s] = *machine.stall[s].fixed;
  }
  StallBlock(machine, 0, static_cast<int32_t>(nd), out, rows);
  out.transitions = std::move(rows);
  return out;
}

absl::StatusOr<Timelines> RunStages(const StageMachine& machine, const EventLog& log,
                                    const RunOptions& options) {
  if (auto s = CheckFits(machine, log, options); !s.ok()) return s;
  const int32_t num_deals = log.num_deals();
  Timelines out;
  out.stage_names = machine.stage_names;
  out.num_open = machine.num_open;
  out.as_of = options.as_of ? *options.as_of : LastEventTime(log);
  const auto nd = static_cast<size_t>(num_deals);
  SizeFor(out, machine, nd);

  const int threads = internal::ThreadsFor(options.threads, static_cast<size_t>(log.size()));
  const size_t blocks = threads == 1 ? 1 : static_cast<size_t>(threads) * 8;
  std::vector<BlockOutput> parts(blocks);
  auto block_range = [&](size_t b) {
    return std::pair(static_cast<int32_t>(nd * b / blocks), static_cast<int32_t>(nd * (b + 1) / blocks));
  };
  internal::ParallelFor(blocks, threads, [&](size_t b) {
    const auto [lo, hi] = block_range(b);
    RunBlock(machine, log, DealRange{lo, hi}, out, parts[b]);
  });

  // Stall limits, from every deal's completed visits.
  out.stall_limit.assign(static_cast<size_t>(machine.num_open), -1);
  for (size_t s = 0; s < static_cast<size_t>(machine.num_open); ++s) {
    const StallLimit& limit = machine.stall[s];
    if (limit.fixed) {
      out.stall_limit[s] = *limit.fixed;
    } else if (limit.percentile) {
      std::vector<int64_t> all;
      for (BlockOutput& part : parts) {
        all.insert(all.end(), part.visit_durations[s].begin(), part.visit_durations[s].end());
      }
      if (!all.empty()) out.stall_limit[s] = Percentile(all, *limit.percentile);
    }
  }

  // Stalls, judged at as_of, block by block; a close is its deal's last transition.
  internal::ParallelFor(blocks, threads, [&](size_t b) {
    const auto [lo, hi] = block_range(b);
    StallBlock(machine, lo, hi, out, parts[b].transitions);
  });

  // The blocks' transitions, concatenated in deal order.
  std::vector<size_t> offset(blocks + 1, 0);
  for (size_t b = 0; b < blocks; ++b) offset[b + 1] = offset[b] + parts[b].transitions.time.size();
  auto& tr = out.transitions;
  tr.deal.resize(offset[blocks]);
  tr.from.resize(offset[blocks]);
  tr.to.resize(offset[blocks]);
  tr.time.resize(offset[blocks]);
  tr.kind.resize(offset[blocks]);
  tr.in_window.resize(offset[blocks]);
  tr.action.resize(offset[blocks]);
  internal::ParallelFor(blocks, threads, [&](size_t b) {
    const TransitionRows& rows = parts[b].transitions;
    const auto at = static_cast<std::ptrdiff_t>(offset[b]);
    std::copy(rows.deal.begin(), rows.deal.end(), tr.deal.begin() + at);
    std::copy(rows.from.begin(), rows.from.end(), tr.from.begin() + at);
    std::copy(rows.to.begin(), rows.to.end(), tr.to.begin() + at);
    std::copy(rows.time.begin(), rows.time.end(), tr.time.begin() + at);
    std::copy(rows.kind.begin(), rows.kind.end(), tr.kind.begin() + at);
    std::copy(rows.in_window.begin(), rows.in_window.end(), tr.in_window.begin() + at);
    std::copy(rows.action.begin(), rows.action.end(), tr.action.begin() + at);
  });
  return out;
}

}  // namespace salesperf
