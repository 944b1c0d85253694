// The synthetic company generator. The model is specified in salesperf/synth.h; this
// file only implements it.
//
// Shape of the work: the organisation (reps, accounts, calendar tables) is drawn first
// from the seed; then deals are simulated independently, each from its own random
// stream, in fixed-size chunks that threads take in any order. A chunk keeps only what
// varies per event (time, action, contact slot); the per-deal attributes are expanded
// into the owned columns in a second parallel pass, at offsets known from the counts.
// Nothing allocates per event: chunk buffers are reserved from the pilot's estimate.
#include "salesperf/synth.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#include "splitmix.h"

namespace salesperf {

namespace {

constexpr int64_t kMillisecond = 1'000'000LL;
constexpr int64_t kSecond = 1000 * kMillisecond;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;
constexpr int64_t kMaxTime = 7258118400LL * kSecond;  // 2200-01-01, Ingest's default limit
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kChunkDeals = 4096;  // fixed, so chunking never shapes the output
constexpr int64_t kPilotDeals = 4096;

// ---- Random numbers: splitmix64, and distributions written out so that every
// platform draws the same values.

using internal::Mix;

class Rng {
 public:
  explicit Rng(uint64_t seed) : bits_(seed) {}
  uint64_t Next() { return bits_.Next(); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }
  int64_t Below(int64_t n) {  // uniform in [0, n)
    int64_t k = static_cast<int64_t>(Uniform() * static_cast<double>(n));
    return std::min(k, n - 1);
  }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  double Normal() {  // Box-Muller, one value per call (simple, and fast enough)
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  template <size_t N>
  int Pick(const std::array<double, N>& weights) {  // weights sum to 1
    double u = Uniform();
    for (size_t i = 0; i + 1 < N; ++i) {
      if (u < weights[i]) return static_cast<int>(i);
      u -= weights[i];
    }
    return static_cast<int>(N - 1);
  }

 private:
  internal::SplitMix64 bits_;
};

uint64_t DealSeed(uint64_t seed, int64_t deal) {
  return Mix(seed ^ Mix(static_cast<uint64_t>(deal) + 0x632BE59BD9B4E019ULL));
}

// ---- Model constants (documented in synth.h).

constexpr std::array<std::string_view, 3> kSegments = {"SMB", "Mid-Market", "Enterprise"};
constexpr std::array<double, 3> kSegmentWeight = {0.55, 0.30, 0.15};
constexpr std::array<double, 3> kSegmentMedianAmount = {8'000, 40'000, 200'000};
constexpr std::array<double, 3> kSegmentSpeed = {0.6, 1.0, 1.7};
constexpr std::array<std::string_view, 4> kProducts = {"Core", "Analytics", "Platform",
                                                       "Services"};
constexpr std::array<double, 4> kProductWeight = {0.40, 0.25, 0.20, 0.15};
constexpr std::array<double, 4> kProductFactor = {1.0, 0.6, 2.0, 0.4};
constexpr std::array<std::string_view, 4> kLeadSources = {"inbound", "outbound", "partner",
                                                          "event"};
constexpr std::array<double, 4> kLeadSourceWeight = {0.35, 0.35, 0.15, 0.15};
constexpr std::array<double, 4> kLeadSourceOdds = {1.5, 0.7, 1.2, 1.0};
constexpr double kAmountSigma = 0.7;
constexpr std::array<double, kSynthTransitions> kStageMedianDays = {3, 7, 10, 10, 14, 21};
constexpr double kStageSigma = 0.6;
constexpr double kDarkPersistenceDays = 21;
constexpr double kProposalReadDays = 2;
constexpr std::array<double, 3> kActivityMix = {0.40, 0.45, 0.15};  // call, email, meeting
constexpr double kQuarterPullProbability = 0.7;
constexpr int64_t kQuarterPullWindow = 45 * kDay;

constexpr int kMaxCentre = 6;
constexpr std::array<int, 3> kCentreSize = {2, 4, 6};
constexpr std::array<std::array<SynthRole, kMaxCentre>, 3> kCentre = {{
    {SynthRole::kDecisionMaker, SynthRole::kChampion},
    {SynthRole::kDecisionMaker, SynthRole::kChampion, SynthRole::kInfluencer, SynthRole::kUser},
    {SynthRole::kDecisionMaker, SynthRole::kChampion, SynthRole::kInfluencer,
     SynthRole::kInfluencer, SynthRole::kUser, SynthRole::kUser},
}};
constexpr std::array<std::array<std::string_view, kMaxCentre>, 3> kCentreSuffix = {{
    {"-dm", "-ch"},
    {"-dm", "-ch", "-in", "-us"},
    {"-dm", "-ch", "-in1", "-in2", "-us1", "-us2"},
}};

struct BehaviourSpec {
  std::string_view name;
  std::string_view description;
  SynthStage transition;
  double effect;
};
constexpr std::array<BehaviourSpec, kSynthBehaviours> kBehaviours = {{
    {"dm_meeting_before_proposal",
     "a seller `meeting` with a decision_maker contact before the buyer's request_proposal; "
     "multiplies the odds of Proposal -> Commit",
     SynthStage::kProposal, 1.8},
    {"follow_up_24h",
     "a seller activity within 24 h after a buyer stage action (reply .. verbal_commit); "
     "multiplies the odds that the buyer takes the next stage action",
     SynthStage::kEngaged, 1.5},  // reported with transition -1: applies from Engaged on
    {"multithreading",
     "seller activities before share_budget touched at least min(3, buying-centre size) "
     "distinct contacts (SMB 2, Mid-Market 4, Enterprise 6); multiplies the odds of "
     "Budget -> Proposal",
     SynthStage::kBudget, 1.5},
}};

// ---- Calendar: days since 1970-01-01 <-> civil dates (H. Hinnant's algorithms).

struct Civil {
  int64_t y;
  int m, d;
};
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string Padded(std::string_view prefix, int64_t value, int width) {
  std::string digits = std::to_string(value);
  std::string out(prefix);
  if (static_cast<int>(digits.size()) < width) out.append(width - digits.size(), '0');
  out += digits;
  return out;
}
int Digits(int64_t n) { return static_cast<int>(std::to_string(std::max<int64_t>(n, 1)).size()); }

// ---- The organisation: everything shared by all deals.

struct Org {
  SynthOptions options;
  int64_t end = 0;
  int32_t reps = 0;
  RepTruth truth;
  std::array<std::vector<double>, kSynthBehaviours> propensity;
  int64_t accounts_per_territory = 0;
  int64_t accounts = 0;
  std::vector<uint8_t> account_segment;
  std::vector<int64_t> contact_offset;  // accounts + 1 entries
  std::vector<double> day_cdf;          // cumulative creation weight per period day
  std::vector<int64_t> quarter_end;     // per period day: the next quarter's first instant
};

Org BuildOrg(const SynthOptions& o, int64_t deals) {
  Org org;
  org.options = o;
  org.end = o.start_time + static_cast<int64_t>(o.days) * kDay;
  org.reps = o.reps;
  Rng rng(Mix(o.seed ^ 0xA0761D6478BD642FULL));
  RepTruth& t = org.truth;
  const int32_t r_n = o.reps;
  const int width = std::max(2, Digits(r_n));
  for (int32_t r = 0; r < r_n; ++r) {
    t.rep.push_back(Padded("rep-", r + 1, width));
    t.team.push_back(static_cast<int32_t>(static_cast<int64_t>(r) * o.teams / r_n));
    t.territory.push_back(r % o.territories);
    t.skill.push_back(std::clamp(std::exp(0.35 * rng.Normal()), 0.5, 2.0));
    t.will.push_back(std::clamp(2.0 * std::exp(0.4 * rng.Normal()), 0.6, 6.0));
  }
  t.leak_stage.assign(r_n, -1);
  t.leak_factor.assign(r_n, 1.0);
  std::vector<int32_t> order(r_n);
  for (int32_t r = 0; r < r_n; ++r) order[r] = r;
  const int32_t leaky = std::max<int32_t>(1, static_cast<int32_t>(std::lround(r_n / 6.0)));
  constexpr std::array<double, 3> kLeakFactors = {0.4, 0.5, 0.6};
  for (int32_t i = 0; i < leaky; ++i) {  // partial Fisher-Yates: distinct leaky reps
    const int64_t j = i + rng.Below(r_n - i);
    std::swap(order[i], order[j]);
    const int32_t r = order[i];
    t.leak_stage[r] = static_cast<int32_t>(1 + rng.Below(5));  // Engaged .. Commit
    t.leak_factor[r] = kLeakFactors[rng.Below(3)];
  }
  for (int b = 0; b < kSynthBehaviours; ++b) {
    std::vector<double>& p = org.propensity[b];
    int practised = 0;
    for (int32_t r = 0; r < r_n; ++r) {
      const bool does = rng.Bernoulli(0.35);
      practised += does;
      p.push_back(does ? rng.Uniform(0.7, 0.9) : rng.Uniform(0.05, 0.25));
    }
    // Keep both groups present, so that every planted effect can be seen.
    if (r_n >= 2 && practised == 0) p[b % r_n] = 0.8;
    if (r_n >= 2 && practised == r_n) p[b % r_n] = 0.15;
  }

  org.accounts_per_territory =
      std::max<int64_t>(1, (deals + 3LL * o.territories - 1) / (3LL * o.territories));
  org.accounts = org.accounts_per_territory * o.territories;
  org.account_segment.resize(org.accounts);
  org.contact_offset.resize(org.accounts + 1);
  org.contact_offset[0] = 0;
  for (int64_t a = 0; a < org.accounts; ++a) {
    const int s = rng.Pick(kSegmentWeight);
    org.account_segment[a] = static_cast<uint8_t>(s);
    org.contact_offset[a + 1] = org.contact_offset[a] + kCentreSize[s];
  }

  org.day_cdf.resize(o.days);
  org.quarter_end.resize(o.days);
  double total = 0;
  for (int32_t i = 0; i < o.days; ++i) {
    const int64_t day = FloorDiv(o.start_time, kDay) + i;
    const Civil c = CivilFromDays(day);
    const int last_month = (c.m - 1) / 3 * 3 + 3;
    const int64_t next_quarter =
        last_month == 12 ? DaysFromCivil(c.y + 1, 1, 1) : DaysFromCivil(c.y, last_month + 1, 1);
    const int64_t weekday = ((day % 7) + 11) % 7;  // 0 = Sunday (1970-01-01 was a Thursday)
    double w = (weekday == 0 || weekday == 6) ? 0.15 : 1.0;
    if (c.m == last_month) w *= 1.5;
    if (next_quarter - day <= 14) w *= 1.4;
    total += w;
    org.day_cdf[i] = total;
    org.quarter_end[i] = next_quarter * kDay;
  }
  return org;
}

// ---- Deal simulation.

struct DealHead {
  int64_t account;
  int32_t rep;
  uint32_t events;
  double amount;
  uint8_t segment, product, lead_source, outcome;
};

// A chunk's output: per-event values that vary within a deal, and the deal heads.
struct Chunk {
  std::vector<int64_t> time;
  std::vector<uint8_t> action;
  std::vector<int8_t> slot;  // contact's position in the buying centre; -1 none
  std::vector<DealHead> deals;
};

class DealSimulator {
 public:
  DealSimulator(const Org& org, Chunk& out) : org_(org), out_(out) {}

  void Run(int64_t deal) {
    Rng rng(DealSeed(org_.options.seed, deal));
    rng_ = &rng;
    const size_t first = out_.time.size();
    DealHead h{};
    const RepTruth& t = org_.truth;
    const int32_t rep = static_cast<int32_t>(rng.Below(org_.reps));
    h.rep = rep;
    h.account = t.territory[rep] +
                static_cast<int64_t>(org_.options.territories) *
                    rng.Below(org_.accounts_per_territory);
    const int seg = org_.account_segment[h.account];
    h.segment = static_cast<uint8_t>(seg);
    const int product = rng.Pick(kProductWeight);
    const int source = rng.Pick(kLeadSourceWeight);
    h.product = static_cast<uint8_t>(product);
    h.lead_source = static_cast<uint8_t>(source);
    h.amount = std::max(
        100.0, 10.0 * std::round(rng.LogNormal(kSegmentMedianAmount[seg] * kProductFactor[product],
                                               kAmountSigma) / 10.0));
    h.outcome = static_cast<uint8_t>(Simulate(rep, seg, source));
    h.events = static_cast<uint32_t>(out_.time.size() - first);
    out_.deals.push_back(h);
  }

 private:
  // Appends one event unless it falls at or after the period end; times are cut to
  // milliseconds and kept strictly increasing within a deal (a tie is rare, and a
  // 1 ns nudge settles it).
  bool Emit(int64_t time, SynthAction action, int slot) {
    time -= time % kMillisecond;  // CRM-like precision
    if (time <= last_) time = last_ + 1;
    if (time >= org_.end) return false;
    last_ = time;
    out_.time.push_back(time);
    out_.action.push_back(static_cast<uint8_t>(action));
    out_.slot.push_back(static_cast<int8_t>(slot));
    return true;
  }

  int SellerContact(SynthAction action, int stage, int centre) {
    Rng& rng = *rng_;
    int j;
    const uint32_t all = (1u << centre) - 1;
    if (action == SynthAction::kMeeting && stage < static_cast<int>(SynthStage::kProposal) &&
        rng.Bernoulli(p_dm_)) {
      j = 0;
    } else if (touched_ != all && rng.Bernoulli(p_mt_)) {
      int k = static_cast<int>(rng.Below(centre - std::popcount(touched_)));
      for (j = 0; j < centre; ++j) {
        if ((touched_ >> j & 1u) == 0 && k-- == 0) break;
      }
    } else {
      j = centre > 1 ? 1 : 0;
    }
    touched_ |= 1u << j;
    return j;
  }

  int RoleSlot(int seg, SynthRole role) {
    const int n = kCentreSize[seg];
    int count = 0;
    for (int j = 0; j < n; ++j) count += kCentre[seg][j] == role;
    if (count == 0) return 1;  // SMB: the champion speaks for the missing roles
    int k = static_cast<int>(rng_->Below(count));
    for (int j = 0; j < n; ++j) {
      if (kCentre[seg][j] == role && k-- == 0) return j;
    }
    return 1;
  }

  int BuyerContact(SynthAction action, int seg) {
    Rng& rng = *rng_;
    switch (action) {
      case SynthAction::kStateNeed:
        return rng.Bernoulli(0.5) ? 1 : RoleSlot(seg, SynthRole::kUser);
      case SynthAction::kShareBudget:
        return rng.Bernoulli(0.5) ? 0 : RoleSlot(seg, SynthRole::kInfluencer);
      case SynthAction::kVerbalCommit:
      case SynthAction::kSign:
        return 0;
      case SynthAction::kDecline:
        return rng.Bernoulli(0.6) ? 0 : 1;
      default:
        return 1;  // reply, request_proposal: the champion
    }
  }

  SynthOutcome Simulate(int32_t rep, int seg, int source) {
    Rng& rng = *rng_;
    const RepTruth& t = org_.truth;
    const SynthOptions& o = org_.options;
    last_ = std::numeric_limits<int64_t>::min();
    touched_ = 0;
    p_dm_ = org_.propensity[0][rep];
    const double p_fu = org_.propensity[1][rep];
    p_mt_ = org_.propensity[2][rep];
    const double gap_mean = static_cast<double>(kWeek) / t.will[rep];
    const int centre = kCentreSize[seg];

    // Creation: a seasonal day, then a time in business hours.
    const double u = rng.Uniform() * org_.day_cdf.back();
    const int64_t day = std::min<int64_t>(
        std::upper_bound(org_.day_cdf.begin(), org_.day_cdf.end(), u) - org_.day_cdf.begin(),
        o.days - 1);
    int64_t now = o.start_time + day * kDay + 7 * kHour +
                  static_cast<int64_t>(rng.Uniform() * static_cast<double>(12 * kHour));
    if (!Emit(now, SynthAction::kOpportunityCreated, -1)) return SynthOutcome::kOpen;

    bool dm_met = false;
    for (int s = 0; s < kSynthTransitions; ++s) {
      // Seller activity sources for this stage: a deliberate follow-up, and the
      // rep's Poisson stream.
      int64_t follow_up = kNever;
      if (s >= 1 && rng.Bernoulli(p_fu)) {
        follow_up = now + kHour + static_cast<int64_t>(rng.Uniform() * 19.0 * kHour);
      }
      int64_t poisson = now + static_cast<int64_t>(rng.Exponential(gap_mean));
      const bool followed_up = s >= 1 && (follow_up != kNever || poisson - now < kDay);
      const bool multithreaded = std::popcount(touched_) >= std::min(3, centre);

      double odds = kSynthBaseConversion[s] / (1.0 - kSynthBaseConversion[s]) * t.skill[rep];
      if (s == 0) odds *= kLeadSourceOdds[source];
      if (followed_up) odds *= kBehaviours[1].effect;
      if (s == static_cast<int>(SynthStage::kProposal) && dm_met) odds *= kBehaviours[0].effect;
      if (s == static_cast<int>(SynthStage::kBudget) && multithreaded) {
        odds *= kBehaviours[2].effect;
      }
      double p = odds / (1.0 + odds);
      if (t.leak_stage[rep] == s) p *= t.leak_factor[rep];
      const double v = rng.Uniform();
      const bool advance = v < p;
      const bool decline = !advance && v < p + (1.0 - p) * kSynthDeclineShare;
      const bool dark = !advance && !decline;

      int64_t next;
      if (dark) {
        next = now + static_cast<int64_t>(rng.Exponential(kDarkPersistenceDays * kDay));
      } else {
        next = now + kDay +
               static_cast<int64_t>(rng.LogNormal(kStageMedianDays[s] * kSegmentSpeed[seg] * kDay,
                                                  kStageSigma));
        if (s == static_cast<int>(SynthStage::kProposal)) {
          const int64_t sent = std::min(follow_up, poisson);
          next = std::max(next, sent + kDay +
                                    static_cast<int64_t>(
                                        rng.Exponential(kProposalReadDays * kDay)));
        }
        if (s == static_cast<int>(SynthStage::kCommit) && advance) {
          const int64_t di = (now - o.start_time) / kDay;  // now < end, so di < days
          const int64_t quarter_end = org_.quarter_end[di];
          if (next >= quarter_end && quarter_end - now <= kQuarterPullWindow &&
              rng.Bernoulli(kQuarterPullProbability)) {
            const int64_t pulled =
                quarter_end - 1 - static_cast<int64_t>(rng.Uniform() * 3.0 * kDay);
            if (pulled > now + kDay) next = pulled;
          }
        }
      }

      // Seller activities until the buyer acts (or the seller gives up).
      bool first = true;
      for (;;) {
        const bool deliberate = follow_up <= poisson;
        const int64_t at = deliberate ? follow_up : poisson;
        if (at >= next) break;
        if (deliberate) {
          follow_up = kNever;
        } else {
          poisson += static_cast<int64_t>(rng.Exponential(gap_mean));
        }
        SynthAction action;
        if (first && s == static_cast<int>(SynthStage::kProposal)) {
          action = SynthAction::kSendProposal;
        } else if (dark) {
          action = rng.Bernoulli(0.5) ? SynthAction::kCall : SynthAction::kEmail;
        } else {
          action = static_cast<SynthAction>(1 + rng.Pick(kActivityMix));
        }
        first = false;
        const int slot = SellerContact(action, s, centre);
        if (action == SynthAction::kMeeting && slot == 0 &&
            s < static_cast<int>(SynthStage::kProposal)) {
          dm_met = true;
        }
        if (!Emit(at, action, slot)) return dark ? SynthOutcome::kDark : SynthOutcome::kOpen;
      }
      if (dark) return SynthOutcome::kDark;
      const SynthAction buyer = advance ? kSynthStageAction[s + 1] : SynthAction::kDecline;
      if (!Emit(next, buyer, BuyerContact(buyer, seg))) return SynthOutcome::kOpen;
      if (decline) return SynthOutcome::kLost;
      now = last_;
    }
    return SynthOutcome::kWon;
  }

  const Org& org_;
  Chunk& out_;
  Rng* rng_ = nullptr;
  int64_t last_ = 0;
  uint32_t touched_ = 0;
  double p_dm_ = 0, p_mt_ = 0;
};

void SimulateChunk(const Org& org, int64_t first_deal, int64_t last_deal, double events_per_deal,
                   Chunk& out) {
  const int64_t n = last_deal - first_deal;
  const size_t expect = static_cast<size_t>(static_cast<double>(n) * events_per_deal * 1.25) + 64;
  out.time.reserve(expect);
  out.action.reserve(expect);
  out.slot.reserve(expect);
  out.deals.reserve(n);
  DealSimulator sim(org, out);
  for (int64_t d = first_deal; d < last_deal; ++d) sim.Run(d);
}

// Runs task(i) for i in [0, n) on `threads` threads; which thread runs which task
// never matters to the output.
template <typename F>
void ParallelFor(int64_t n, int threads, F&& task) {
  const int64_t workers = std::min<int64_t>(threads, n);
  if (workers <= 1) {
    for (int64_t i = 0; i < n; ++i) task(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) task(i);
  };
  std::vector<std::thread> pool;
  for (int64_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& th : pool) th.join();
}

absl::Status Validate(const SynthOptions& o) {
  auto bad = [](std::string_view option, auto value, std::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("SynthOptions.", std::string(option), " = ",
                                                   value, ": ", std::string(want)));
  };
  // About 110 bytes per event: a billion events is already beyond most machines.
  if (o.events < 1 || o.events > 1'000'000'000) {
    return bad("events", o.events, "must be in 1 .. 1000000000");
  }
  if (o.reps < 1 || o.reps > 100'000) return bad("reps", o.reps, "must be in 1 .. 100000");
  if (o.teams < 1 || o.teams > o.reps) return bad("teams", o.teams, "must be in 1 .. reps");
  if (o.territories < 1 || o.territories > o.reps) {
    return bad("territories", o.territories, "must be in 1 .. reps");
  }
  if (o.days < 1 || o.days > 36'500) return bad("days", o.days, "must be in 1 .. 36500");
  if (o.start_time < 0 || o.start_time > kMaxTime - static_cast<int64_t>(o.days) * kDay) {
    return bad("start_time", o.start_time,
               "must be >= 0 (1970) and the period must end by 2200-01-01");
  }
  if (o.threads < 0) return bad("threads", o.threads, "must be >= 0 (0 = every core)");
  return absl::OkStatus();
}

}  // namespace

class SynthGenerator {
 public:
  static absl::StatusOr<SyntheticCompany> Run(const SynthOptions& options);
};

absl::StatusOr<SyntheticCompany> SynthGenerator::Run(const SynthOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  // Pilot: the mean events per deal under these options, to size the run. It depends
  // on the options only, so the deal count (and with it the accounts) is deterministic.
  double per_deal;
  {
    const int64_t guess = std::max<int64_t>(1, options.events / 12);
    const Org pilot_org = BuildOrg(options, guess);
    Chunk pilot;
    SimulateChunk(pilot_org, 0, kPilotDeals, 12.0, pilot);
    per_deal = std::max(1.0, static_cast<double>(pilot.time.size()) / kPilotDeals);
  }
  const int64_t planned =
      static_cast<int64_t>(std::ceil(static_cast<double>(options.events) / per_deal * 1.03)) + 8;
  const Org org = BuildOrg(options, planned);

  // Simulate chunks of deals until the events reach the target; then keep the
  // shortest prefix of deals that reaches it.
  std::vector<Chunk> chunks;
  int64_t simulated_deals = 0, simulated_events = 0, round_deals = planned;
  while (simulated_events < options.events) {
    const int64_t first_chunk = static_cast<int64_t>(chunks.size());
    const int64_t end_deal = simulated_deals + round_deals;
    const int64_t new_chunks = (end_deal - first_chunk * kChunkDeals + kChunkDeals - 1) / kChunkDeals;
    chunks.resize(first_chunk + new_chunks);
    ParallelFor(new_chunks, threads, [&](int64_t i) {
      const int64_t c = first_chunk + i;
      SimulateChunk(org, c * kChunkDeals, std::min(end_deal, (c + 1) * kChunkDeals), per_deal,
                    chunks[c]);
    });
    for (int64_t c = first_chunk; c < static_cast<int64_t>(chunks.size()); ++c) {
      simulated_events += static_cast<int64_t>(chunks[c].time.size());
    }
    simulated_deals = end_deal;
    round_deals = static_cast<int64_t>(std::ceil(
                      static_cast<double>(options.events - simulated_events) / per_deal * 1.05)) +
                  8;
  }
  // Truncate to the prefix.
  int64_t deals = 0, events = 0;
  std::vector<int64_t> chunk_event_offset, chunk_deals;
  for (Chunk& c : chunks) {
    chunk_event_offset.push_back(events);
    int64_t kept = 0;
    for (const DealHead& h : c.deals) {
      if (events >= options.events) break;
      events += h.events;
      ++kept;
    }
    chunk_deals.push_back(kept);
    deals += kept;
  }

  SyntheticCompany company;
  company.options_ = options;
  company.reps_ = org.truth;
  for (int b = 0; b < kSynthBehaviours; ++b) {
    BehaviourTruth bt;
    bt.name = std::string(kBehaviours[b].name);
    bt.description = std::string(kBehaviours[b].description);
    bt.transition = b == static_cast<int>(SynthBehaviour::kFollowUp24h)
                        ? -1
                        : static_cast<int32_t>(kBehaviours[b].transition);
    bt.effect = kBehaviours[b].effect;
    bt.propensity = org.propensity[b];
    for (double p : bt.propensity) bt.practised.push_back(p >= 0.5);
    company.behaviours_.push_back(std::move(bt));
  }
  for (int a = 0; a < kSynthActions; ++a) {
    const Actor actor = a == 0 ? Actor::kSystem : a <= 4 ? Actor::kSeller : Actor::kBuyer;
    company.vocabulary_.Add(kSynthActionNames[a], actor).IgnoreError();
  }

  // Columns and their labels.
  std::vector<SynthIdColumn>& cols = company.id_columns_;
  cols.resize(SyntheticCompany::kNumIdColumns);
  constexpr std::array<std::string_view, SyntheticCompany::kNumIdColumns> kNames = {
      "deal", "action", "rep", "account", "contact", "contact_role",
      "segment", "territory", "product", "lead_source", "team"};
  for (int c = 0; c < SyntheticCompany::kNumIdColumns; ++c) {
    cols[c].name = std::string(kNames[c]);
    cols[c].codes.resize(events);
  }
  auto labels = [](auto names) { return std::vector<std::string>(names.begin(), names.end()); };
  cols[SyntheticCompany::kAction].labels = labels(kSynthActionNames);
  cols[SyntheticCompany::kRep].labels = org.truth.rep;
  cols[SyntheticCompany::kContactRole].labels = labels(kSynthRoleNames);
  cols[SyntheticCompany::kSegment].labels = labels(kSegments);
  cols[SyntheticCompany::kProduct].labels = labels(kProducts);
  cols[SyntheticCompany::kLeadSource].labels = labels(kLeadSources);
  for (int32_t i = 0; i < options.territories; ++i) {
    cols[SyntheticCompany::kTerritory].labels.push_back(absl::StrCat("territory-", i + 1));
  }
  for (int32_t i = 0; i < options.teams; ++i) {
    cols[SyntheticCompany::kTeam].labels.push_back(absl::StrCat("team-", i + 1));
  }
  {
    const int width = std::max(7, Digits(org.accounts));
    std::vector<std::string>& acc = cols[SyntheticCompany::kAccount].labels;
    std::vector<std::string>& con = cols[SyntheticCompany::kContact].labels;
    acc.reserve(org.accounts);
    con.reserve(org.contact_offset.back());
    for (int64_t a = 0; a < org.accounts; ++a) {
      acc.push_back(Padded("A", a + 1, width));
      const int s = org.account_segment[a];
      for (int j = 0; j < kCentreSize[s]; ++j) con.push_back(acc.back() + std::string(kCentreSuffix[s][j]));
    }
  }
  cols[SyntheticCompany::kDeal].labels.resize(deals);
  company.time_.resize(events);
  company.amount_.resize(events);
  company.deal_outcome_.resize(deals);

  std::vector<int64_t> chunk_deal_offset(chunks.size());
  for (size_t c = 1; c < chunks.size(); ++c) {
    chunk_deal_offset[c] = chunk_deal_offset[c - 1] + chunk_deals[c - 1];
  }
  const int deal_width = std::max(7, Digits(deals));
  ParallelFor(static_cast<int64_t>(chunks.size()), threads, [&](int64_t c) {
    Chunk& chunk = chunks[c];
    int64_t e = chunk_event_offset[c];
    size_t local = 0;
    for (int64_t i = 0; i < chunk_deals[c]; ++i) {
      const DealHead& h = chunk.deals[i];
      const int64_t d = chunk_deal_offset[c] + i;
      cols[SyntheticCompany::kDeal].labels[d] = Padded("D", d + 1, deal_width);
      company.deal_outcome_[d] = h.outcome;
      const int64_t team = org.truth.team[h.rep];
      const int64_t territory = org.truth.territory[h.rep];
      const int64_t contacts = org.contact_offset[h.account];
      for (uint32_t k = 0; k < h.events; ++k, ++e, ++local) {
        const int slot = chunk.slot[local];
        cols[SyntheticCompany::kDeal].codes[e] = d;
        cols[SyntheticCompany::kAction].codes[e] = chunk.action[local];
        cols[SyntheticCompany::kRep].codes[e] = h.rep;
        cols[SyntheticCompany::kAccount].codes[e] = h.account;
        cols[SyntheticCompany::kContact].codes[e] = slot < 0 ? -1 : contacts + slot;
        cols[SyntheticCompany::kContactRole].codes[e] =
            slot < 0 ? -1 : static_cast<int64_t>(kCentre[h.segment][slot]);
        cols[SyntheticCompany::kSegment].codes[e] = h.segment;
        cols[SyntheticCompany::kTerritory].codes[e] = territory;
        cols[SyntheticCompany::kProduct].codes[e] = h.product;
        cols[SyntheticCompany::kLeadSource].codes[e] = h.lead_source;
        cols[SyntheticCompany::kTeam].codes[e] = team;
        company.time_[e] = chunk.time[local];
        company.amount_[e] = h.amount;
      }
    }
    chunk = Chunk();  // give the memory back early
  });
  return company;
}

EventColumns SyntheticCompany::columns() const {
  EventColumns in;
  auto coded = [&](Column c) {
    return IdColumn::Coded(id_columns_[c].codes, id_columns_[c].labels);
  };
  in.deal = coded(kDeal);
  in.time = time_;
  in.action = coded(kAction);
  in.rep = coded(kRep);
  in.account = coded(kAccount);
  in.contact = coded(kContact);
  in.contact_role = coded(kContactRole);
  in.amount = amount_;
  for (int c = kFirstDimension; c < kNumIdColumns; ++c) {
    in.dimensions.emplace_back(id_columns_[c].name, coded(static_cast<Column>(c)));
  }
  return in;
}

int64_t SyntheticCompany::period_end() const {
  return options_.start_time + static_cast<int64_t>(options_.days) * kDay;
}

absl::StatusOr<SyntheticCompany> GenerateCompany(const SynthOptions& options) {
  return SynthGenerator::Run(options);
}

}  // namespace salesperf
