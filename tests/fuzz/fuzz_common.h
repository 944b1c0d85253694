// Shared pieces of the libFuzzer targets in tests/fuzz (docs/fuzzing.md): a fixed
// vocabulary, a small fixed event log and stage model, the downstream pass every
// fuzzed log goes through, and the generic Deserialize round-trip check.
//
// Each target defines `int salesperf::fuzz::Fuzz<Name>(const uint8_t*, size_t)` and,
// unless SALESPERF_FUZZ_NO_ENTRY is defined, the libFuzzer entry point calling it.
// tests/cpp/fuzz_regressions_test.cc compiles every target with SALESPERF_FUZZ_NO_ENTRY
// (with GCC, no libFuzzer) and feeds it the reproducers of tests/fuzz/regressions.
//
// A broken invariant is a crash on purpose (SP_FUZZ_CHECK prints and aborts), so that
// libFuzzer saves the input; an error status from the library is never one: bad input
// must give a clean error, and that is what the targets exercise.
#ifndef SALESPERF_TESTS_FUZZ_FUZZ_COMMON_H_
#define SALESPERF_TESTS_FUZZ_FUZZ_COMMON_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/event_log.h"
#include "salesperf/funnel.h"
#include "salesperf/indicators.h"
#include "salesperf/leaks.h"
#include "salesperf/stage_model.h"
#include "salesperf/state.h"
#include "salesperf/timelines.h"
#include "salesperf/vocabulary.h"
#include "third_party/FuzzedDataProvider.h"

namespace salesperf::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s %s\n", file, line, what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

#define SP_FUZZ_CHECK(cond, detail)                                            \
  do {                                                                         \
    if (!(cond)) ::salesperf::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// An error status is fine unless it is one bad input should never give: Internal,
// Unknown or any code a parser or accumulator is not documented to return.
inline void CheckCleanError(const absl::Status& s, std::string_view where) {
  if (s.ok()) return;
  const absl::StatusCode c = s.code();
  const bool clean = c == absl::StatusCode::kInvalidArgument || c == absl::StatusCode::kDataLoss ||
                     c == absl::StatusCode::kFailedPrecondition || c == absl::StatusCode::kOutOfRange ||
                     c == absl::StatusCode::kNotFound;
  SP_FUZZ_CHECK(clean, std::string(where) + ": " + s.ToString());
  SP_FUZZ_CHECK(!s.message().empty(), std::string(where) + ": an error without a message");
}

inline constexpr int64_t kDayNs = 86'400LL * 1'000'000'000LL;
inline constexpr int64_t kT0 = 20454LL * kDayNs;  // 2026-01-01T00:00:00Z

// Times a fuzzer would not find by itself: the edges of the int64 range, of the
// default ingestion window, and of calendar arithmetic.
inline int64_t InterestingTime(FuzzedDataProvider& p) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  switch (p.ConsumeIntegralInRange<int>(0, 11)) {
    case 0: return kMin;  // kNullInstant
    case 1: return kMin + 1;
    case 2: return kMax;
    case 3: return kMax - 1;
    case 4: return 0;
    case 5: return -1;
    case 6: return 7258118400LL * 1'000'000'000LL;  // the default max_time
    case 7: return 7258118400LL * 1'000'000'000LL + 1;
    case 8: return p.ConsumeIntegral<int64_t>();
    default:  // near kT0, with ties: most rows of a useful log
      return kT0 + p.ConsumeIntegralInRange<int64_t>(0, 120) * kDayNs / 4;
  }
}

inline double InterestingDouble(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange<int>(0, 11)) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -std::numeric_limits<double>::infinity();
    case 3: return -1.0;
    case 4: return 0.0;
    case 5: return -0.0;
    case 6: return 9e14;  // kMaxDollars
    case 7: return std::numeric_limits<double>::max();
    case 8: return std::numeric_limits<double>::denorm_min();
    case 9: return p.ConsumeFloatingPoint<double>();
    default: return static_cast<double>(p.ConsumeIntegralInRange<int>(0, 100'000)) / 4.0;
  }
}

// Buyer: reply, need, budget, proposal, sign, decline, meet, "7" (an integer action);
// seller: call, email; system: created, closed_by_ops; prefixes B_ (buyer), S_ (seller),
// X_ (system), and B_S_ (seller: the longest prefix wins).
inline Vocabulary FixedVocabulary() {
  Vocabulary v;
  for (auto a : {"reply", "need", "budget", "proposal", "sign", "decline", "meet", "7"}) {
    (void)v.Add(a, Actor::kBuyer);
  }
  for (auto a : {"call", "email"}) (void)v.Add(a, Actor::kSeller);
  for (auto a : {"created", "closed_by_ops"}) (void)v.Add(a, Actor::kSystem);
  (void)v.AddPrefix("B_", Actor::kBuyer);
  (void)v.AddPrefix("S_", Actor::kSeller);
  (void)v.AddPrefix("X_", Actor::kSystem);
  (void)v.AddPrefix("B_S_", Actor::kSeller);
  return v;
}

inline const std::vector<std::string>& KnownActions() {
  static const std::vector<std::string> a = {"reply", "need",    "budget", "proposal", "sign",
                                             "decline", "meet",  "7",      "call",     "email",
                                             "created", "closed_by_ops", "B_x", "S_y", "X_z", "B_S_w"};
  return a;
}

// A stage model over the fixed vocabulary using every rule kind and policy that needs no
// optional column but contacts, roles and amounts (the fixed logs have them).
inline StageModel FixedModel(bool with_contacts, bool with_roles, bool with_amounts) {
  StageModel m;
  m.AddStage("Lead").Any({"created", "reply"});
  Stage& engaged = m.AddStage("Engaged");
  if (with_contacts) {
    engaged.DistinctContacts({"reply", "meet"}, 2, Days(14));
  } else {
    engaged.Count({"reply", "meet"}, 2, Days(14));
  }
  engaged.Window(Days(30));
  m.AddStage("Qualified").All({{"need"}, {"budget"}}, Days(30)).StallAfter(Days(20));
  Stage& proposal = m.AddStage("Proposal").Sequence({{"need"}, {"proposal"}});
  if (with_roles) proposal.Any({"B_x"}).Roles({"decision_maker"});
  if (with_amounts) proposal.Any({"7"}).Amount(10.0, 1e6);
  proposal.StallAtPercentile(90);
  m.Won().Any({"sign"});
  m.Lost().Any({"decline", "closed_by_ops"});
  m.Exclude({"X_z"});
  return m;
}

// A small deterministic log over the fixed vocabulary: `deals` deals with reps,
// accounts, contacts, roles, amounts (some missing) and a segment dimension.
inline Ingested FixedLog(int deals = 24, uint64_t seed = 12345) {
  uint64_t s = seed;
  auto next = [&s](uint64_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((s >> 33) % n);
  };
  static const std::vector<std::string> kActions = KnownActions();
  static const std::vector<std::string> kReps = {"ana", "bo", "cy", "di"};
  static const std::vector<std::string> kAccounts = {"acme", "globex", "initech", "umbrella", "hooli"};
  static const std::vector<std::string> kContacts = {"c1", "c2", "c3", "c4", "c5", "c6"};
  static const std::vector<std::string> kRoles = {"decision_maker", "champion", "user"};
  static const std::vector<std::string> kSegments = {"smb", "ent"};
  static const std::vector<std::string> kDealNames = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 64; ++i) v.push_back("deal" + std::to_string(i));
    return v;
  }();
  std::vector<int64_t> deal, time, action, rep, account, contact, role, segment;
  std::vector<double> amount;
  // The typical path: created, reply, meet, need, budget, proposal, sign/decline.
  static const int64_t kPath[] = {10, 0, 6, 1, 2, 3, 4};
  for (int d = 0; d < std::min(deals, 64); ++d) {
    int64_t t = kT0 + next(200) * kDayNs;
    const int64_t r = next(4), acc = next(5), seg = next(2);
    const int64_t n = 1 + next(9);
    for (int64_t i = 0; i < n; ++i) {
      deal.push_back(d);
      t += next(4) == 0 ? 0 : next(12) * kDayNs / 2;
      time.push_back(t);
      int64_t a = i < 7 && next(3) != 0 ? kPath[i] : next(static_cast<uint64_t>(kActions.size()));
      if (i == 6 && next(3) == 0) a = 5;  // decline
      action.push_back(a);
      rep.push_back(next(8) == 0 ? -1 : r);
      account.push_back(next(10) == 0 ? -1 : acc);
      contact.push_back(next(5) == 0 ? -1 : next(6));
      role.push_back(next(4) == 0 ? -1 : next(3));
      segment.push_back(seg);
      amount.push_back(next(3) == 0 ? std::numeric_limits<double>::quiet_NaN()
                                    : static_cast<double>(1000 + next(100'000)));
    }
  }
  EventColumns in;
  in.deal = IdColumn::Coded(deal, kDealNames);
  in.time = time;
  in.action = IdColumn::Coded(action, kActions);
  in.rep = IdColumn::Coded(rep, kReps);
  in.account = IdColumn::Coded(account, kAccounts);
  in.contact = IdColumn::Coded(contact, kContacts);
  in.contact_role = IdColumn::Coded(role, kRoles);
  in.amount = amount;
  in.dimensions.emplace_back("segment", IdColumn::Coded(segment, kSegments));
  IngestOptions options;
  options.nan_amount = NanAmount::kNull;
  options.threads = 1;
  absl::StatusOr<Ingested> out = Ingest(in, FixedVocabulary(), options);
  SP_FUZZ_CHECK(out.ok(), out.status().ToString());
  return *std::move(out);
}

// Invariants of timelines that hold whatever the model and log.
inline void CheckTimelines(const EventLog& log, const Timelines& t) {
  const size_t deals = static_cast<size_t>(log.num_deals());
  SP_FUZZ_CHECK(t.num_open >= 0 && t.num_stages() == t.num_open + 2, "stage count");
  SP_FUZZ_CHECK(t.current_stage.size() == deals && t.outcome.size() == deals &&
                    t.value.size() == deals && t.first_entered.size() == deals * t.stage_names.size(),
                "timeline sizes");
  for (size_t i = 0; i < t.transitions.size(); ++i) {
    SP_FUZZ_CHECK(t.transitions.deal[i] >= 0 && static_cast<size_t>(t.transitions.deal[i]) < deals,
                  "transition deal");
    SP_FUZZ_CHECK(t.transitions.to[i] >= -1 && t.transitions.to[i] < t.num_stages(), "transition to");
    if (i > 0) SP_FUZZ_CHECK(t.transitions.deal[i - 1] <= t.transitions.deal[i], "transitions by deal");
  }
}

// Round trip of an accumulator: bytes that parse re-serialize to an equal object.
template <typename T>
void CheckStateRoundTrip(const T& parsed, std::string_view what) {
  const std::string again = parsed.Serialize();
  absl::StatusOr<T> back = T::Deserialize(again);
  SP_FUZZ_CHECK(back.ok(), std::string(what) + " Serialize(parsed) does not parse: " + back.status().ToString());
  SP_FUZZ_CHECK(*back == parsed, std::string(what) + " Serialize(parsed) parses to another object");
  SP_FUZZ_CHECK(back->Serialize() == again, std::string(what) + " serialization is not stable");
}

// Everything downstream of a log: compile the model, run it, and feed the timelines to
// the indicators, the funnel, the leaks and the deal warnings, with their byte round
// trips. Errors must be clean; successes must satisfy the checks.
inline void RunDownstream(const EventLog& log, const StageModel& model) {
  absl::StatusOr<StageMachine> machine = Compile(model, log);
  if (!machine.ok()) {
    CheckCleanError(machine.status(), "Compile");
    return;
  }
  RunOptions run;
  run.threads = 1;
  absl::StatusOr<Timelines> timelines = RunStages(*machine, log, run);
  if (!timelines.ok()) {
    CheckCleanError(timelines.status(), "RunStages");
    return;
  }
  CheckTimelines(log, *timelines);

  absl::StatusOr<Units> units = UnitsByRep(log);
  if (!units.ok()) {
    CheckCleanError(units.status(), "UnitsByRep");
    units = SingleUnit(log);
  }
  SP_FUZZ_CHECK(units->of_deal.size() == static_cast<size_t>(log.num_deals()), "units size");

  IndicatorOptions io;
  io.threads = 1;
  // MakeTable has a row for every period from a unit's first cell to the last one, so
  // a fuzzed log spanning centuries in weeks makes millions of rows (seconds per input,
  // not a bug): weeks for spans up to two years, years beyond.
  io.calendar = Calendar(Grain::kWeek);
  if (log.size() > 0) {
    const auto [lo, hi] = std::minmax_element(log.time().begin(), log.time().end());
    if (static_cast<double>(*hi) - static_cast<double>(*lo) > 730.0 * static_cast<double>(kDayNs)) {
      io.calendar = Calendar(Grain::kYear);
    }
  }
  absl::StatusOr<Indicators> ind = ComputeIndicators(*machine, log, *timelines, *units, io);
  if (ind.ok()) {
    CheckStateRoundTrip(*ind, "indicators");
    absl::StatusOr<IndicatorTable> table = MakeTable(*ind);
    if (table.ok()) {
      absl::StatusOr<TrendTable> trends = MakeTrends(*table, 3);
      if (!trends.ok()) CheckCleanError(trends.status(), "MakeTrends");
    } else {
      CheckCleanError(table.status(), "MakeTable");
    }
  } else {
    CheckCleanError(ind.status(), "ComputeIndicators");
  }

  absl::StatusOr<FunnelCounts> funnel = CountFunnel(log, *timelines, *units);
  if (funnel.ok()) {
    CheckStateRoundTrip(*funnel, "funnel");
    absl::StatusOr<FunnelChain> chain = SolveFunnel(*funnel, -1);
    if (!chain.ok()) CheckCleanError(chain.status(), "SolveFunnel");
  } else {
    CheckCleanError(funnel.status(), "CountFunnel");
  }

  absl::StatusOr<LeakCounts> leaks = CountLeaks(log, *timelines, *units);
  if (leaks.ok()) {
    CheckStateRoundTrip(*leaks, "leaks");
    absl::StatusOr<LeakAssessment> a = AssessLeaks(*leaks);
    if (!a.ok()) CheckCleanError(a.status(), "AssessLeaks");
  } else {
    CheckCleanError(leaks.status(), "CountLeaks");
  }

  absl::StatusOr<DealWarnings> warnings = FindDealWarnings(log, *timelines);
  if (!warnings.ok()) CheckCleanError(warnings.status(), "FindDealWarnings");
}

// SALESPERF_FUZZ_OPEN_FINDINGS=1: scripts/fuzz.sh sets it when it replays
// tests/fuzz/regressions/open/. While a finding is open, a target may step around it
// (so that fuzzing goes on past it) only when this is false. No finding is open now.
inline bool OpenFindings() {
  static const bool on = [] {
    const char* e = std::getenv("SALESPERF_FUZZ_OPEN_FINDINGS");
    return e != nullptr && e[0] == '1';
  }();
  return on;
}

// ---- Deserialize targets ------------------------------------------------------------
// Input: one mode byte, then bytes. Mode bit 0 clear: the bytes are a payload, framed
// here with the right magic, version and checksum (WrapState), so the fuzzer reaches
// the payload parser instead of stopping at the checksum. Mode bit 0 set: the bytes are
// given to Deserialize as they are (the envelope's checks). The corpus generator
// (make_corpus.cc) writes payloads of real accumulators with mode 0.
template <typename T, typename Consume>
int FuzzState(const uint8_t* data, size_t size, std::string_view magic8, uint32_t version,
              std::string_view what, Consume consume) {
  if (size < 1) return 0;
  const bool raw = (data[0] & 1) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = raw ? std::string(rest) : WrapState(magic8, version, rest);
  absl::StatusOr<T> parsed = T::Deserialize(bytes);
  if (!parsed.ok()) {
    CheckCleanError(parsed.status(), what);
    return 0;
  }
  CheckStateRoundTrip(*parsed, what);
  // Canonical state: the bytes that parsed are the bytes the object writes.
  SP_FUZZ_CHECK(parsed->Serialize() == bytes, std::string(what) + ": accepted bytes that are not canonical");
  consume(*parsed);
  return 0;
}

}  // namespace salesperf::fuzz

#if defined(SALESPERF_FUZZ_NO_ENTRY)
#define SP_FUZZ_ENTRY(fn)
#else
#define SP_FUZZ_ENTRY(fn)                                                    \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::salesperf::fuzz::fn(data, size);                                \
  }
#endif

#endif  // SALESPERF_TESTS_FUZZ_FUZZ_COMMON_H_
