// The funnel chain: a hand-derived log (P, win probabilities, expected days and the
// open pipeline solved by hand in the comments), an independent slow solver (Gaussian
// elimination and value iteration on std::vector, reachability by transitive closure)
// compared on random tiny logs, random count tables and the synthetic company, the
// accounting of transitions, the merge laws, the byte format under truncation and
// corruption, and NaN propagation.
#include "salesperf/funnel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "salesperf/state.h"
#include "test_logs.h"

namespace salesperf {
namespace {

using test_logs::AddRandomDeals;
using test_logs::BuildLog;
using test_logs::RandomEntryActions;
using test_logs::Ev;
using test_logs::kDay;
using test_logs::kT0;
using test_logs::MustRep;
using test_logs::Rng;
using test_logs::RunModel;
using test_logs::SynthLog;
using test_logs::SynthModel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::string_view kMagic("SPFUN\0\0\1", 8);

// ---- Running and solving small logs (built with test_logs.h) ----------------------

FunnelCounts MustCount(const EventLog& log, const Timelines& tl, const Units& units) {
  auto c = CountFunnel(log, tl, units);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : FunnelCounts();
}

FunnelChain MustSolve(const FunnelCounts& c, int32_t unit) {
  auto s = SolveFunnel(c, unit);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : FunnelChain();
}

int64_t At(int64_t day) { return kT0 + day * kDay; }

// Same value, NaN included.
bool Same(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= tol;
}

// ---- 1. The hand-derived case ------------------------------------------------------

StageModel HandModel() {
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Qualified").Any({"need"});
  m.AddStage("Proposal").Any({"proposal"});
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  m.Exclude({"spam"});
  StageRule rescope;
  rescope.filters = {{"rescope"}};
  m.Regress(rescope, "Qualified");
  m.SetRegression(Regression::kRecord);
  return m;
}

// Stages L = Lead (0), Q = Qualified (1), P = Proposal (2); W = Won, X = Lost.
// Days after kT0 in parentheses; reps: ana owns A..D, bo owns E..I.
std::vector<Ev> HandRows() {
  auto ev = [](std::string d, int64_t day, std::string a, std::string rep, double amount = kNaN) {
    return Ev{std::move(d), At(day), std::move(a), std::move(rep), amount};
  };
  return {
      // A: L(0) Q(2) P(5) W(9).
      ev("A", 0, "created", "ana"), ev("A", 2, "need", ""), ev("A", 5, "proposal", ""), ev("A", 9, "sign", ""),
      // B: L(0) Q(1) P(3), rescope: P->Q regressed (5), P(8), X(10).
      ev("B", 0, "created", "ana"), ev("B", 1, "need", ""), ev("B", 3, "proposal", ""),
      ev("B", 5, "rescope", ""), ev("B", 8, "proposal", ""), ev("B", 10, "decline", ""),
      // C: L(0) Q(4) X(6).
      ev("C", 0, "created", "ana"), ev("C", 4, "need", ""), ev("C", 6, "decline", ""),
      // D: L(0) X(3).
      ev("D", 0, "created", "ana"), ev("D", 3, "decline", ""),
      // E: L(0) Q(1) P(2), rescope: P->Q (3), W(7) from Q.
      ev("E", 0, "created", "bo"), ev("E", 1, "need", ""), ev("E", 2, "proposal", ""),
      ev("E", 3, "rescope", ""), ev("E", 7, "sign", ""),
      // F: L(0) Q(2), open in Q, value 5,000.
      ev("F", 0, "created", "bo", 5000), ev("F", 2, "need", ""),
      // G: L(0) Q(1) P(4), open in P, value 20,000.25.
      ev("G", 0, "created", "bo", 20000.25), ev("G", 1, "need", ""), ev("G", 4, "proposal", ""),
      // H: L(0), open in L, no value.
      ev("H", 0, "created", "bo"),
      // I: L(0) Q(1) W(3) from Q.
      ev("I", 0, "created", "bo"), ev("I", 1, "need", ""), ev("I", 3, "sign", ""),
  };
}

TEST(FunnelHand, CountsProbabilitiesAndExpectedTimes) {
  const EventLog log = BuildLog(HandRows());
  const Timelines tl = RunModel(HandModel(), log);
  const Units reps = MustRep(log);
  const FunnelCounts c = MustCount(log, tl, reps);
  ASSERT_EQ(c.num_open(), 3);
  ASSERT_EQ(c.unit_names(), (std::vector<std::string>{"ana", "bo"}));
  // Transitions: 9 first entries from no stage (ignored), then the moves.
  EXPECT_EQ(c.ignored(), 9);
  // Moves (organisation), rows L, Q, P; columns L Q P W X:
  //   L: A B C E F G I -> Q (7), D -> X (1)                       n_L = 8
  //   Q: A, B twice, E, G -> P (5); E, I -> W (2); C -> X (1)      n_Q = 8
  //   P: B, E -> Q (regressed, 2); A -> W (1); B -> X (1)          n_P = 4
  const std::vector<int64_t> moves = {0, 7, 0, 0, 1,  //
                                      0, 0, 5, 2, 1,  //
                                      0, 2, 0, 1, 1};
  // ana (A B C D): L: Q 3, X 1; Q: P 3 (A, B twice), X 1 (C); P: Q 1, W 1, X 1.
  const std::vector<int64_t> ana = {0, 3, 0, 0, 1, 0, 0, 3, 0, 1, 0, 1, 0, 1, 1};
  for (int32_t i = 0; i < 3; ++i) {
    for (int32_t j = 0; j < 5; ++j) {
      EXPECT_EQ(c.moves(0, i, j) + c.moves(1, i, j), moves[static_cast<size_t>(i * 5 + j)]) << i << "," << j;
      EXPECT_EQ(c.moves(0, i, j), ana[static_cast<size_t>(i * 5 + j)]) << i << "," << j;
    }
  }
  // Dwell (days), visits ending with a move out:
  //   L: A 2, B 1, C 4, D 3, E 1, F 2, G 1, I 1 = 15 over 8 -> h_L = 15/8
  //   Q: A 3, B 2 and 3, C 2, E 1 and 4, G 3, I 2 = 20 over 8 -> h_Q = 5/2
  //   P: A 4, B 2 and 2, E 1 = 9 over 4 -> h_P = 9/4
  const FunnelChain org = MustSolve(c, -1);
  EXPECT_EQ(org.moves, moves);
  EXPECT_DOUBLE_EQ(org.mean_days_in_stage[0], 15.0 / 8);
  EXPECT_DOUBLE_EQ(org.mean_days_in_stage[1], 20.0 / 8);
  EXPECT_DOUBLE_EQ(org.mean_days_in_stage[2], 9.0 / 4);
  EXPECT_EQ(c.dwell_visits(0, 1) + c.dwell_visits(1, 1), 8);
  EXPECT_TRUE(c.dwell_ns(0, 2) + c.dwell_ns(1, 2) == static_cast<Int128>(9) * kDay);
  // P = moves / n.
  EXPECT_DOUBLE_EQ(org.probability[0 * 5 + 1], 7.0 / 8);
  EXPECT_DOUBLE_EQ(org.probability[1 * 5 + 3], 2.0 / 8);
  EXPECT_DOUBLE_EQ(org.probability[2 * 5 + 1], 2.0 / 4);
  // Win probabilities w = Q w + R_W:
  //   w_P = 1/2 w_Q + 1/4;  w_Q = 5/8 w_P + 2/8;  w_L = 7/8 w_Q.
  //   w_Q = 5/8 (1/2 w_Q + 1/4) + 1/4 = 5/16 w_Q + 13/32  =>  11/16 w_Q = 13/32
  //   => w_Q = 13/22, w_P = 13/44 + 11/44 = 6/11, w_L = 7/8 * 13/22 = 91/176.
  // Every stage is absorbed, so the loss probabilities are 1 - w: 85/176, 9/22, 5/11.
  EXPECT_NEAR(org.win_probability[0], 91.0 / 176, 1e-12);
  EXPECT_NEAR(org.win_probability[1], 13.0 / 22, 1e-12);
  EXPECT_NEAR(org.win_probability[2], 6.0 / 11, 1e-12);
  EXPECT_NEAR(org.loss_probability[0], 85.0 / 176, 1e-12);
  EXPECT_NEAR(org.loss_probability[1], 9.0 / 22, 1e-12);
  EXPECT_NEAR(org.loss_probability[2], 5.0 / 11, 1e-12);
  // Expected days t = h + Q t:
  //   t_P = 9/4 + 1/2 t_Q;  t_Q = 5/2 + 5/8 t_P;  t_L = 15/8 + 7/8 t_Q.
  //   t_Q = 5/2 + 45/32 + 5/16 t_Q  =>  11/16 t_Q = 125/32  =>  t_Q = 125/22,
  //   t_P = 99/44 + 125/44 = 56/11, t_L = 330/176 + 875/176 = 1205/176.
  EXPECT_NEAR(org.expected_days_to_close[0], 1205.0 / 176, 1e-12);
  EXPECT_NEAR(org.expected_days_to_close[1], 125.0 / 22, 1e-12);
  EXPECT_NEAR(org.expected_days_to_close[2], 56.0 / 11, 1e-12);
  // Open pipeline: H in L (no value), F in Q (5,000), G in P (20,000.25).
  EXPECT_EQ(org.open_deals, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(c.open_valued(1, 0), 0);
  EXPECT_EQ(c.open_valued(1, 1), 1);
  EXPECT_TRUE(c.open_dollars_fixed(1, 2) == static_cast<Int128>(200'002'500));
  EXPECT_DOUBLE_EQ(org.open_dollars, 25000.25);
  EXPECT_NEAR(org.expected_open_value, 5000.0 * 13 / 22 + 20000.25 * 6 / 11, 1e-9);
  EXPECT_EQ(org.open_deals_unpriced, 0);

  // ana alone: L: Q 3/4, X 1/4; Q: P 3/4, X 1/4; P: Q 1/3, W 1/3, X 1/3.
  //   w_P = 1/3 w_Q + 1/3;  w_Q = 3/4 w_P = 1/4 w_Q + 1/4  =>  w_Q = 1/3, w_P = 4/9,
  //   w_L = 3/4 * 1/3 = 1/4. No open deals.
  const FunnelChain a = MustSolve(c, 0);
  EXPECT_NEAR(a.win_probability[0], 1.0 / 4, 1e-12);
  EXPECT_NEAR(a.win_probability[1], 1.0 / 3, 1e-12);
  EXPECT_NEAR(a.win_probability[2], 4.0 / 9, 1e-12);
  EXPECT_EQ(a.open_deals, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(a.expected_open_value, 0.0);

  EXPECT_EQ(SolveFunnel(c, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SolveFunnel(c, -2).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- A state writer independent of the library's, from the header's byte format ----

struct RawUnit {
  std::string name;
  std::vector<int64_t> moves;       // O x (O + 2)
  std::vector<int64_t> dwell_ns;    // O (fits in 64 bits here)
  std::vector<int64_t> visits;      // O
  std::vector<int64_t> open_deals;  // O
  std::vector<int64_t> open_valued;
  std::vector<int64_t> open_fixed;
};

std::string RawState(int32_t O, const std::vector<RawUnit>& units, int64_t ignored = 0, std::string kind = "rep") {
  StateWriter w;
  w.U32(static_cast<uint32_t>(O + 2));
  w.U32(static_cast<uint32_t>(O));
  for (int32_t s = 0; s < O; ++s) w.String("S" + std::to_string(s));
  w.String("Won");
  w.String("Lost");
  w.String(kind);
  w.U32(static_cast<uint32_t>(units.size()));
  for (const RawUnit& u : units) w.String(u.name);
  for (const RawUnit& u : units) {
    for (const int64_t m : u.moves) w.I64(m);
    for (int32_t i = 0; i < O; ++i) {
      w.I64(u.dwell_ns[static_cast<size_t>(i)]);
      w.I64(u.dwell_ns[static_cast<size_t>(i)] < 0 ? -1 : 0);
      w.I64(u.visits[static_cast<size_t>(i)]);
    }
    for (int32_t i = 0; i < O; ++i) {
      w.I64(u.open_deals[static_cast<size_t>(i)]);
      w.I64(u.open_valued[static_cast<size_t>(i)]);
      w.I64(u.open_fixed[static_cast<size_t>(i)]);
      w.I64(u.open_fixed[static_cast<size_t>(i)] < 0 ? -1 : 0);
    }
  }
  w.I64(ignored);
  return WrapState(kMagic, 1, w.bytes());
}

RawUnit EmptyUnit(std::string name, int32_t O) {
  const auto o = static_cast<size_t>(O);
  return RawUnit{std::move(name), std::vector<int64_t>(o * (o + 2), 0), std::vector<int64_t>(o, 0),
                 std::vector<int64_t>(o, 0), std::vector<int64_t>(o, 0), std::vector<int64_t>(o, 0),
                 std::vector<int64_t>(o, 0)};
}

FunnelCounts MustParse(const std::string& bytes) {
  auto c = FunnelCounts::Deserialize(bytes);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : FunnelCounts();
}

TEST(FunnelHand, SerializeMatchesTheDocumentedLayout) {
  const EventLog log = BuildLog(HandRows());
  const FunnelCounts c = MustCount(log, RunModel(HandModel(), log), MustRep(log));
  std::vector<RawUnit> raw;
  for (int32_t u = 0; u < c.num_units(); ++u) {
    RawUnit r = EmptyUnit(c.unit_names()[static_cast<size_t>(u)], 3);
    for (int32_t i = 0; i < 3; ++i) {
      for (int32_t j = 0; j < 5; ++j) r.moves[static_cast<size_t>(i * 5 + j)] = c.moves(u, i, j);
      const auto k = static_cast<size_t>(i);
      r.dwell_ns[k] = static_cast<int64_t>(c.dwell_ns(u, i));
      r.visits[k] = c.dwell_visits(u, i);
      r.open_deals[k] = c.open_deals(u, i);
      r.open_valued[k] = c.open_valued(u, i);
      r.open_fixed[k] = static_cast<int64_t>(c.open_dollars_fixed(u, i));
    }
    raw.push_back(r);
  }
  // The raw writer names the stages S0, S1, S2: the library's state under those names
  // must be byte for byte the same.
  std::string bytes = RawState(3, raw, c.ignored());
  auto parsed = FunnelCounts::Deserialize(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->stage_names(), (std::vector<std::string>{"S0", "S1", "S2", "Won", "Lost"}));
  // Same bytes as the library writes, once the stage names agree.
  auto renamed = FunnelCounts::Create({"S0", "S1", "S2", "Won", "Lost"}, 3);
  ASSERT_TRUE(renamed.ok());
  Timelines tl = RunModel(HandModel(), log);
  tl.stage_names = renamed->stage_names();
  ASSERT_TRUE(renamed->Update(log, tl, MustRep(log)).ok());
  EXPECT_EQ(renamed->Serialize(), bytes);
  EXPECT_TRUE(*parsed == *renamed);
}

// ---- 2. An independent slow solver ---------------------------------------------------

struct RefChain {
  std::vector<double> win, loss, days;
};

// Solves A x = b by Gaussian elimination with partial pivoting (A is n x n, row-major).
std::vector<double> Gauss(std::vector<double> A, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t piv = col;
    for (size_t r = col + 1; r < n; ++r) {
      if (std::fabs(A[r * n + col]) > std::fabs(A[piv * n + col])) piv = r;
    }
    if (piv != col) {
      for (size_t k = 0; k < n; ++k) std::swap(A[col * n + k], A[piv * n + k]);
      std::swap(b[col], b[piv]);
    }
    for (size_t r = col + 1; r < n; ++r) {
      const double f = A[r * n + col] / A[col * n + col];
      for (size_t k = col; k < n; ++k) A[r * n + k] -= f * A[col * n + k];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= A[i * n + k] * x[k];
    x[i] = s / A[i * n + i];
  }
  return x;
}

// From the header's definitions: reach[i][j] = j reachable from i (i itself included)
// along moves > 0 between open stages, by transitive closure (Warshall).
RefChain Reference(int32_t O, const std::vector<int64_t>& moves, const std::vector<double>& dwell_ns,
                   const std::vector<int64_t>& visits) {
  const auto o = static_cast<size_t>(O);
  const size_t S = o + 2;
  std::vector<std::vector<bool>> reach(o, std::vector<bool>(o, false));
  std::vector<int64_t> n(o, 0);
  for (size_t i = 0; i < o; ++i) {
    reach[i][i] = true;
    for (size_t j = 0; j < S; ++j) n[i] += moves[i * S + j];
    for (size_t j = 0; j < o; ++j) {
      if (moves[i * S + j] > 0) reach[i][j] = true;
    }
  }
  for (size_t k = 0; k < o; ++k) {
    for (size_t i = 0; i < o; ++i) {
      for (size_t j = 0; j < o; ++j) {
        if (reach[i][k] && reach[k][j]) reach[i][j] = true;
      }
    }
  }
  // A stage "exits" when some stage it reaches moves to Won or Lost.
  std::vector<bool> exits(o, false), bad(o, false), no_time(o, false);
  for (size_t i = 0; i < o; ++i) {
    for (size_t k = 0; k < o; ++k) {
      if (reach[i][k] && moves[k * S + o] + moves[k * S + o + 1] > 0) exits[i] = true;
    }
  }
  for (size_t i = 0; i < o; ++i) {
    for (size_t k = 0; k < o; ++k) {
      if (reach[i][k] && (n[k] == 0 || !exits[k])) bad[i] = true;
    }
  }
  for (size_t i = 0; i < o; ++i) {
    for (size_t k = 0; k < o; ++k) {
      if (reach[i][k] && (bad[k] || visits[k] == 0)) no_time[i] = true;
    }
  }
  std::vector<size_t> keep;
  for (size_t i = 0; i < o; ++i) {
    if (!bad[i]) keep.push_back(i);
  }
  RefChain out{std::vector<double>(o, kNaN), std::vector<double>(o, kNaN), std::vector<double>(o, kNaN)};
  const size_t K = keep.size();
  if (K == 0) return out;
  std::vector<double> A(K * K, 0.0), bw(K), bl(K), bh(K);
  for (size_t a = 0; a < K; ++a) {
    const size_t i = keep[a];
    const auto ni = static_cast<double>(n[i]);
    for (size_t b = 0; b < K; ++b) A[a * K + b] = (a == b ? 1.0 : 0.0) - static_cast<double>(moves[i * S + keep[b]]) / ni;
    bw[a] = static_cast<double>(moves[i * S + o]) / ni;
    bl[a] = static_cast<double>(moves[i * S + o + 1]) / ni;
    bh[a] = visits[i] > 0 ? dwell_ns[i] / static_cast<double>(visits[i]) / 86'400e9 : 0.0;
  }
  const std::vector<double> w = Gauss(A, bw), l = Gauss(A, bl), h = Gauss(A, bh);
  for (size_t a = 0; a < K; ++a) {
    out.win[keep[a]] = w[a];
    out.loss[keep[a]] = l[a];
    if (!no_time[keep[a]]) out.days[keep[a]] = h[a];
  }
  return out;
}

// Win probabilities by value iteration x <- Q x + R_W from 0 (monotone, converges to
// the absorption probability; NaN stages are not compared).
std::vector<double> ValueIteration(int32_t O, const std::vector<int64_t>& moves) {
  const auto o = static_cast<size_t>(O);
  const size_t S = o + 2;
  std::vector<double> x(o, 0.0), next(o, 0.0);
  for (int it = 0; it < 2'000'000; ++it) {
    double delta = 0;
    for (size_t i = 0; i < o; ++i) {
      int64_t n = 0;
      for (size_t j = 0; j < S; ++j) n += moves[i * S + j];
      if (n == 0) {
        next[i] = 0;
        continue;
      }
      double v = static_cast<double>(moves[i * S + o]);
      for (size_t j = 0; j < o; ++j) v += static_cast<double>(moves[i * S + j]) * x[j];
      next[i] = v / static_cast<double>(n);
      delta = std::max(delta, std::fabs(next[i] - x[i]));
    }
    x.swap(next);
    if (delta < 1e-15) break;
  }
  return x;
}

// Compares a chain from SolveFunnel with the reference computed from its counts.
void ExpectMatchesReference(const FunnelCounts& c, int32_t unit, const std::string& what) {
  const FunnelChain chain = MustSolve(c, unit);
  const int32_t O = c.num_open();
  const auto o = static_cast<size_t>(O);
  const size_t S = o + 2;
  std::vector<int64_t> moves(o * S, 0), visits(o, 0), open(o, 0);
  std::vector<double> dwell(o, 0.0);
  std::vector<Int128> fixed(o, 0);
  for (int32_t u = 0; u < c.num_units(); ++u) {
    if (unit >= 0 && u != unit) continue;
    for (int32_t i = 0; i < O; ++i) {
      const auto k = static_cast<size_t>(i);
      for (int32_t j = 0; j < O + 2; ++j) moves[k * S + static_cast<size_t>(j)] += c.moves(u, i, j);
      visits[k] += c.dwell_visits(u, i);
      dwell[k] += static_cast<double>(c.dwell_ns(u, i));
      open[k] += c.open_deals(u, i);
      fixed[k] += c.open_dollars_fixed(u, i);
    }
  }
  ASSERT_EQ(chain.moves, moves) << what;
  EXPECT_EQ(chain.open_deals, open) << what;
  const RefChain ref = Reference(O, moves, dwell, visits);
  const std::vector<double> vi = ValueIteration(O, moves);
  double value = 0;
  int64_t unpriced = 0;
  for (size_t i = 0; i < o; ++i) {
    int64_t n = 0;
    for (size_t j = 0; j < S; ++j) n += moves[i * S + j];
    for (size_t j = 0; j < S; ++j) {
      const double p = n == 0 ? kNaN : static_cast<double>(moves[i * S + j]) / static_cast<double>(n);
      EXPECT_TRUE(Same(chain.probability[i * S + j], p, 1e-15)) << what << " P " << i << "," << j;
    }
    EXPECT_TRUE(Same(chain.win_probability[i], ref.win[i], 1e-9))
        << what << " win " << i << ": " << chain.win_probability[i] << " vs " << ref.win[i];
    EXPECT_TRUE(Same(chain.loss_probability[i], ref.loss[i], 1e-9)) << what << " loss " << i;
    const double days_tol = 1e-9 * std::max(1.0, std::fabs(ref.days[i]));
    EXPECT_TRUE(Same(chain.expected_days_to_close[i], ref.days[i], days_tol))
        << what << " days " << i << ": " << chain.expected_days_to_close[i] << " vs " << ref.days[i];
    if (!std::isnan(ref.win[i])) {
      EXPECT_NEAR(chain.win_probability[i], vi[i], 1e-9) << what << " value iteration " << i;
      EXPECT_NEAR(chain.win_probability[i] + chain.loss_probability[i], 1.0, 1e-9) << what;
      value += static_cast<double>(fixed[i]) / 1e4 * ref.win[i];
    } else {
      unpriced += open[i];
    }
  }
  EXPECT_NEAR(chain.expected_open_value, value, 1e-9 * std::max(1.0, std::fabs(value))) << what;
  EXPECT_EQ(chain.open_deals_unpriced, unpriced) << what;
}

// Moves, visits and open deals counted straight from the timelines (a second reading
// of the definitions), per unit name.
struct Direct {
  std::map<std::string, std::vector<int64_t>> moves, visits, open;
  int64_t ignored = 0;
};

Direct CountDirect(const Timelines& tl, const Units& units) {
  Direct out;
  const int32_t O = tl.num_open;
  const auto o = static_cast<size_t>(O);
  auto unit = [&](int32_t d) -> const std::string& { return units.names[static_cast<size_t>(units.of_deal[static_cast<size_t>(d)])]; };
  auto row = [&](std::map<std::string, std::vector<int64_t>>& m, const std::string& name, size_t size) -> std::vector<int64_t>& {
    auto [it, fresh] = m.try_emplace(name, size, 0);
    return it->second;
  };
  const auto& tr = tl.transitions;
  for (size_t t = 0; t < tr.size(); ++t) {
    const auto kind = static_cast<TransitionKind>(tr.kind[t]);
    const bool move = tr.from[t] >= 0 && tr.from[t] < O && kind != TransitionKind::kExcluded &&
                      kind != TransitionKind::kReopened;
    if (!move) {
      ++out.ignored;
      continue;
    }
    const std::string& u = unit(tr.deal[t]);
    ++row(out.moves, u, o * (o + 2))[static_cast<size_t>(tr.from[t]) * (o + 2) + static_cast<size_t>(tr.to[t])];
    if (t > 0 && tr.deal[t - 1] == tr.deal[t] && tr.to[t - 1] == tr.from[t]) {
      ++row(out.visits, u, o)[static_cast<size_t>(tr.from[t])];
    }
  }
  for (size_t d = 0; d < tl.outcome.size(); ++d) {
    const auto oc = static_cast<Outcome>(tl.outcome[d]);
    if ((oc == Outcome::kOpen || oc == Outcome::kStalled) && tl.current_stage[d] >= 0) {
      ++row(out.open, unit(static_cast<int32_t>(d)), o)[static_cast<size_t>(tl.current_stage[d])];
    }
  }
  return out;
}

void ExpectCountsMatchDirect(const FunnelCounts& c, const Timelines& tl, const Units& units, const std::string& what) {
  const Direct d = CountDirect(tl, units);
  EXPECT_EQ(c.ignored(), d.ignored) << what;
  // 3. Accounting: every transition is a move or ignored.
  int64_t total = c.ignored();
  const int32_t O = c.num_open();
  std::set<std::string> live;
  for (const auto& [k, v] : d.moves) live.insert(k);
  for (const auto& [k, v] : d.open) live.insert(k);
  EXPECT_EQ(std::vector<std::string>(live.begin(), live.end()), c.unit_names()) << what;
  for (int32_t u = 0; u < c.num_units(); ++u) {
    const std::string& name = c.unit_names()[static_cast<size_t>(u)];
    for (int32_t i = 0; i < O; ++i) {
      const auto k = static_cast<size_t>(i);
      for (int32_t j = 0; j < O + 2; ++j) {
        total += c.moves(u, i, j);
        const auto it = d.moves.find(name);
        EXPECT_EQ(c.moves(u, i, j), it == d.moves.end() ? 0 : it->second[k * (static_cast<size_t>(O) + 2) + static_cast<size_t>(j)])
            << what;
      }
      const auto v = d.visits.find(name);
      EXPECT_EQ(c.dwell_visits(u, i), v == d.visits.end() ? 0 : v->second[k]) << what;
      const auto op = d.open.find(name);
      EXPECT_EQ(c.open_deals(u, i), op == d.open.end() ? 0 : op->second[k]) << what;
    }
  }
  EXPECT_EQ(total, static_cast<int64_t>(tl.transitions.size())) << what;
}

struct RandomCase {
  std::vector<Ev> rows;
  StageModel model;
  RunOptions run;
};

RandomCase MakeRandomCase(Rng& rng) {
  RandomCase rc;
  const std::vector<std::string> actions = {"created", "reply", "need", "budget", "proposal", "sign", "decline",
                                            "spam", "rescope", "rescope", "meet", "call", "need", "proposal",
                                            "budget", "reply"};
  const std::vector<std::string> reps = {"ana", "bo", "cy", ""};
  const int64_t last = AddRandomDeals(rng, actions, reps, 12, 16, rc.rows);
  const std::vector<std::string> enter = {"created", "reply", "need", "budget", "proposal", "meet"};
  const int64_t open = 1 + rng.Below(4);
  for (int64_t k = 0; k < open; ++k) {
    Stage& st = rc.model.AddStage("S" + std::to_string(k));
    st.Any(RandomEntryActions(rng, enter));
    if (rng.Percent(40)) st.StallAfter((1 + rng.Below(30)) * kDay);
    if (rng.Percent(25)) st.Optional();
  }
  rc.model.Won().Any({"sign"});
  rc.model.Lost().Any({"decline"});
  if (rng.Percent(50)) rc.model.Exclude({"spam"});
  if (rng.Percent(50)) rc.model.SetReopen(Reopen::kAllow);
  if (rng.Percent(50)) rc.model.SetOrdering(Ordering::kSkip);
  if (rng.Below(3) != 0) {
    rc.model.SetRegression(rng.Percent(70) ? Regression::kRecord : Regression::kFollow);
    StageRule rule;
    rule.filters = {{"rescope"}};
    rc.model.Regress(rule, "S" + std::to_string(rng.Below(open)));
  }
  if (rng.Percent(30)) rc.model.CloseStalledAfter(rng.Below(10) * kDay);
  rc.run.as_of = last + rng.Below(30) * kDay;  // fixed, so parts judge stalls alike
  rc.run.threads = 1;
  return rc;
}

TEST(FunnelReference, RandomTinyLogs) {
  Rng rng(20261122);
  int with_nan = 0, with_regress = 0;
  for (int iter = 0; iter < 400; ++iter) {
    const RandomCase rc = MakeRandomCase(rng);
    const EventLog log = BuildLog(rc.rows);
    const Timelines tl = RunModel(rc.model, log, rc.run);
    const Units units = MustRep(log);
    const FunnelCounts c = MustCount(log, tl, units);
    const std::string what = "case " + std::to_string(iter);
    ExpectCountsMatchDirect(c, tl, units, what);
    for (int32_t u = -1; u < c.num_units(); ++u) ExpectMatchesReference(c, u, what + " unit " + std::to_string(u));
    const FunnelChain org = MustSolve(c, -1);
    for (const double w : org.win_probability) with_nan += std::isnan(w) ? 1 : 0;
    for (size_t t = 0; t < tl.transitions.size(); ++t) {
      with_regress += tl.transitions.kind[t] == static_cast<uint8_t>(TransitionKind::kRegressed) ? 1 : 0;
    }
    if (HasFailure()) return;
  }
  // The cases exercise both NaN and solved stages, and regressions.
  EXPECT_GT(with_nan, 20);
  EXPECT_GT(with_regress, 20);
}

// Random count tables (any pattern of moves, loops without exit, stages without dwell
// data), written with the independent state writer.
TEST(FunnelReference, RandomCountTables) {
  Rng rng(7);
  int singular = 0, no_dwell = 0;
  for (int iter = 0; iter < 500; ++iter) {
    const auto O = static_cast<int32_t>(1 + rng.Below(6));
    const auto o = static_cast<size_t>(O);
    RawUnit u = EmptyUnit("u", O);
    for (size_t i = 0; i < o; ++i) {
      const int density = static_cast<int>(rng.Below(80));
      for (size_t j = 0; j < o + 2; ++j) {
        if (rng.Percent(density)) u.moves[i * (o + 2) + j] = 1 + rng.Below(50);
      }
      if (rng.Percent(85)) {
        u.visits[i] = 1 + rng.Below(40);
        u.dwell_ns[i] = u.visits[i] * rng.Below(30 * kDay);
      }
      u.open_deals[i] = rng.Below(3);
      u.open_valued[i] = u.open_deals[i] > 0 ? rng.Below(u.open_deals[i] + 1) : 0;
      u.open_fixed[i] = u.open_valued[i] > 0 ? rng.Below(1'000'000'000) : 0;
    }
    bool live = false;
    for (const int64_t m : u.moves) live |= m > 0;
    for (size_t i = 0; i < o; ++i) live |= u.visits[i] > 0 || u.open_deals[i] > 0;
    if (!live) continue;
    // Visits without moves are impossible in real counts, but the solver must not care.
    const FunnelCounts c = MustParse(RawState(O, {u}));
    ExpectMatchesReference(c, -1, "table " + std::to_string(iter));
    // Count the interesting cases: a stage with moves and no exit, or no dwell data.
    for (size_t i = 0; i < o; ++i) {
      int64_t n = 0, out = u.moves[i * (o + 2) + o] + u.moves[i * (o + 2) + o + 1];
      for (size_t j = 0; j < o + 2; ++j) n += u.moves[i * (o + 2) + j];
      singular += n > 0 && out == 0 ? 1 : 0;
      no_dwell += n > 0 && u.visits[i] == 0 ? 1 : 0;
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(singular, 50);
  EXPECT_GT(no_dwell, 50);
}

// Timelines restricted to the deals with keep[d]: other deals' transitions dropped and
// their outcome set to excluded (so they are no open deals), as if counted elsewhere.
Timelines Restrict(const Timelines& tl, const std::vector<bool>& keep) {
  Timelines out = tl;
  out.transitions = Timelines::Transitions();
  const auto& tr = tl.transitions;
  for (size_t t = 0; t < tr.size(); ++t) {
    if (!keep[static_cast<size_t>(tr.deal[t])]) continue;
    out.transitions.Add(tr.deal[t], tr.from[t], tr.to[t], tr.time[t], static_cast<TransitionKind>(tr.kind[t]),
                        tr.in_window[t] != 0, tr.action[t]);
  }
  for (size_t d = 0; d < keep.size(); ++d) {
    if (!keep[d]) out.outcome[d] = static_cast<uint8_t>(Outcome::kExcluded);
  }
  return out;
}

TEST(FunnelSynthetic, MatchesTheReferenceAndMergesByDeal) {
  const EventLog log = SynthLog(30'000, 11);
  RunOptions ro;
  ro.threads = 1;
  const Timelines tl = RunModel(SynthModel(), log, ro);
  const Units reps = MustRep(log);
  const FunnelCounts whole = MustCount(log, tl, reps);
  ASSERT_GT(whole.num_units(), 1);
  EXPECT_GT(tl.transitions.size(), 3'000u);  // a sizeable chain, not a trivial one
  ExpectCountsMatchDirect(whole, tl, reps, "synthetic");
  for (int32_t u = -1; u < whole.num_units(); ++u) ExpectMatchesReference(whole, u, "synthetic unit " + std::to_string(u));
  const FunnelChain org = MustSolve(whole, -1);
  for (int32_t i = 0; i < whole.num_open(); ++i) {
    EXPECT_FALSE(std::isnan(org.win_probability[static_cast<size_t>(i)])) << i;
    EXPECT_FALSE(std::isnan(org.expected_days_to_close[static_cast<size_t>(i)])) << i;
  }
  EXPECT_GT(org.expected_open_value, 0);

  // 4. Random deal splits, merged (in a random order, some through bytes).
  Rng rng(3);
  for (int round = 0; round < 4; ++round) {
    const int parts = 2 + static_cast<int>(rng.Below(4));
    std::vector<int64_t> part(static_cast<size_t>(log.num_deals()));
    for (auto& p : part) p = rng.Below(parts);
    FunnelCounts merged = *FunnelCounts::Create(tl.stage_names, tl.num_open);
    for (int p = parts - 1; p >= 0; --p) {
      std::vector<bool> keep(part.size());
      for (size_t d = 0; d < part.size(); ++d) keep[d] = part[d] == p;
      const FunnelCounts piece = MustCount(log, Restrict(tl, keep), reps);
      if (rng.Percent(50)) {
        ASSERT_TRUE(merged.Merge(MustParse(piece.Serialize())).ok());
      } else {
        ASSERT_TRUE(merged.Merge(piece).ok());
      }
    }
    EXPECT_TRUE(merged == whole) << round;
    EXPECT_EQ(merged.Serialize(), whole.Serialize()) << round;
  }
}

TEST(FunnelMerge, RandomTinyLogSplitsEqualTheWhole) {
  Rng rng(99);
  for (int iter = 0; iter < 150; ++iter) {
    const RandomCase rc = MakeRandomCase(rng);
    const EventLog log = BuildLog(rc.rows);
    const Timelines tl = RunModel(rc.model, log, rc.run);
    const FunnelCounts whole = MustCount(log, tl, MustRep(log));
    // Split the rows by deal into separate logs, each run on its own.
    std::map<std::string, int64_t> part_of;
    const int64_t parts = 1 + rng.Below(3);
    for (const Ev& e : rc.rows) part_of.try_emplace(e.deal, rng.Below(parts));
    FunnelCounts merged = *FunnelCounts::Create(tl.stage_names, tl.num_open);
    for (int64_t p = 0; p < parts; ++p) {
      std::vector<Ev> rows;
      for (const Ev& e : rc.rows) {
        if (part_of[e.deal] == p) rows.push_back(e);
      }
      if (rows.empty()) continue;
      const EventLog sub = BuildLog(rows);
      const FunnelCounts piece = MustCount(sub, RunModel(rc.model, sub, rc.run), MustRep(sub));
      ASSERT_TRUE(merged.Merge(piece).ok());
    }
    EXPECT_TRUE(merged == whole) << iter;
    EXPECT_EQ(merged.Serialize(), whole.Serialize()) << iter;
    // Update twice counts twice; merging with itself equals that.
    FunnelCounts twice = whole;
    ASSERT_TRUE(twice.Update(log, tl, MustRep(log)).ok());
    FunnelCounts self = whole;
    ASSERT_TRUE(self.Merge(whole).ok());
    EXPECT_TRUE(twice == self) << iter;
    if (HasFailure()) return;
  }
}

// ---- 4. Bytes ----------------------------------------------------------------------

TEST(FunnelBytes, RoundTripTruncationAndCorruption) {
  const EventLog log = BuildLog(HandRows());
  const FunnelCounts c = MustCount(log, RunModel(HandModel(), log), MustRep(log));
  const std::string bytes = c.Serialize();
  const FunnelCounts back = MustParse(bytes);
  EXPECT_TRUE(back == c);
  EXPECT_EQ(back.Serialize(), bytes);
  // An empty accumulator round-trips too.
  const FunnelCounts empty = *FunnelCounts::Create({"a", "Won", "Lost"}, 1);
  EXPECT_TRUE(MustParse(empty.Serialize()) == empty);

  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = FunnelCounts::Deserialize(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << n;
  }
  std::string magic = bytes;
  magic[2] = 'X';
  EXPECT_EQ(FunnelCounts::Deserialize(magic).status().code(), absl::StatusCode::kDataLoss);
  std::string version = bytes;
  version[8] = 2;
  EXPECT_EQ(FunnelCounts::Deserialize(version).status().code(), absl::StatusCode::kFailedPrecondition);
  for (size_t k = 24; k < bytes.size(); ++k) {
    std::string flipped = bytes;
    flipped[k] = static_cast<char>(flipped[k] ^ 0x10);
    EXPECT_EQ(FunnelCounts::Deserialize(flipped).status().code(), absl::StatusCode::kDataLoss) << k;
  }

  // Payloads with a valid checksum but impossible contents.
  auto loss = [](const std::string& b) { return FunnelCounts::Deserialize(b).status().code() == absl::StatusCode::kDataLoss; };
  RawUnit a = EmptyUnit("a", 2), b = EmptyUnit("b", 2);
  a.moves[0 * 4 + 2] = 1;
  b.moves[1 * 4 + 3] = 1;
  EXPECT_TRUE(FunnelCounts::Deserialize(RawState(2, {a, b})).ok());
  EXPECT_TRUE(loss(RawState(2, {b, a})));               // not sorted
  EXPECT_TRUE(loss(RawState(2, {a, a})));               // repeated
  EXPECT_TRUE(loss(RawState(2, {a, EmptyUnit("c", 2)})));  // a unit holding nothing
  RawUnit neg = a;
  neg.moves[1] = -1;
  EXPECT_TRUE(loss(RawState(2, {neg})));
  RawUnit valued = a;
  valued.open_valued[0] = 1;  // more valued than open deals
  EXPECT_TRUE(loss(RawState(2, {valued})));
  EXPECT_TRUE(loss(RawState(2, {a}, -1)));  // negative ignored
  {
    StateWriter w;  // stage counts that do not agree
    w.U32(4);
    w.U32(1);
    for (int s = 0; s < 4; ++s) w.String("s");
    w.String("rep");
    w.U32(0);
    w.I64(0);
    EXPECT_TRUE(loss(WrapState(kMagic, 1, w.bytes())));
  }
  {
    StateWriter w;  // a huge unit count with few bytes behind it
    w.U32(4);
    w.U32(2);
    for (int s = 0; s < 4; ++s) w.String("s");
    w.String("rep");
    w.U32(0xffffffffu);
    w.I64(0);
    EXPECT_TRUE(loss(WrapState(kMagic, 1, w.bytes())));
  }
  {
    StateWriter w;  // a huge stage count
    w.U32(0xffffffffu);
    w.U32(0xfffffffdu);
    EXPECT_TRUE(loss(WrapState(kMagic, 1, w.bytes())));
  }
  {
    StateWriter w;  // bytes left over
    w.U32(3);
    w.U32(1);
    for (int s = 0; s < 3; ++s) w.String("s");
    w.String("rep");
    w.U32(0);
    w.I64(0);
    w.U8(0);
    EXPECT_TRUE(loss(WrapState(kMagic, 1, w.bytes())));
  }
}

TEST(FunnelMerge, MismatchesAreFailedPrecondition) {
  const EventLog log = BuildLog(HandRows());
  const Timelines tl = RunModel(HandModel(), log);
  FunnelCounts c = MustCount(log, tl, MustRep(log));
  const FunnelCounts other = *FunnelCounts::Create({"x", "Won", "Lost"}, 1);
  EXPECT_EQ(c.Merge(other).code(), absl::StatusCode::kFailedPrecondition);
  FunnelCounts seg = MustCount(log, tl, SingleUnit(log));
  EXPECT_EQ(c.Merge(seg).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.Update(log, tl, SingleUnit(log)).code(), absl::StatusCode::kFailedPrecondition);
  FunnelCounts wrong = *FunnelCounts::Create({"x", "Won", "Lost"}, 1);
  EXPECT_EQ(wrong.Update(log, tl, MustRep(log)).code(), absl::StatusCode::kFailedPrecondition);
  Units short_units = MustRep(log);
  short_units.of_deal.resize(1);
  EXPECT_EQ(c.Update(log, tl, short_units).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FunnelCounts::Create({"x", "Won"}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  // SingleUnit's counts sum to the reps' (the organisation is the same).
  const FunnelChain by_rep = MustSolve(MustCount(log, tl, MustRep(log)), -1);
  const FunnelChain one = MustSolve(seg, 0);
  EXPECT_EQ(by_rep.moves, one.moves);
  EXPECT_EQ(by_rep.win_probability, one.win_probability);
}

// ---- 5. NaN propagation ------------------------------------------------------------

TEST(FunnelNaN, AStageNeverLeft) {
  // X (ana): L -> X. Y (ana): L -> Q -> W. Z (bo): L -> Q -> P, open in P (value 100).
  // Organisation: P has no moves (n_P = 0), so its row of P is NaN; Q reaches P and L
  // reaches Q, so every win probability and expected time is NaN and Z is unpriced.
  const EventLog log = BuildLog({
      {"X", At(0), "created", "ana"}, {"X", At(2), "decline", ""},
      {"Y", At(0), "created", "ana"}, {"Y", At(1), "need", ""}, {"Y", At(4), "sign", ""},
      {"Z", At(0), "created", "bo", 100}, {"Z", At(3), "need", ""}, {"Z", At(5), "proposal", ""},
  });
  const FunnelCounts c = MustCount(log, RunModel(HandModel(), log), MustRep(log));
  const FunnelChain org = MustSolve(c, -1);
  for (size_t j = 0; j < 5; ++j) EXPECT_TRUE(std::isnan(org.probability[2 * 5 + j])) << j;
  EXPECT_DOUBLE_EQ(org.probability[1 * 5 + 2], 0.5);  // Q: P 1/2, W 1/2
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::isnan(org.win_probability[i])) << i;
    EXPECT_TRUE(std::isnan(org.loss_probability[i])) << i;
    EXPECT_TRUE(std::isnan(org.expected_days_to_close[i])) << i;
  }
  EXPECT_EQ(org.open_deals_unpriced, 1);
  EXPECT_EQ(org.expected_open_value, 0.0);
  EXPECT_DOUBLE_EQ(org.open_dollars, 100.0);
  // ana alone never reaches P: L: Q 1/2, X 1/2; Q: W 1. w_Q = 1, w_L = 1/2;
  // L visits: X 2 days, Y 1 day, so h_L = 3/2; Q: Y 3 days, h_Q = 3.
  // t_Q = 3, t_L = 3/2 + 1/2 * 3 = 3. P (no data, unreachable for ana) stays NaN.
  const FunnelChain ana = MustSolve(c, 0);
  EXPECT_DOUBLE_EQ(ana.win_probability[0], 0.5);
  EXPECT_DOUBLE_EQ(ana.win_probability[1], 1.0);
  EXPECT_TRUE(std::isnan(ana.win_probability[2]));
  EXPECT_NEAR(ana.expected_days_to_close[0], 3.0, 1e-12);
  EXPECT_NEAR(ana.expected_days_to_close[1], 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(ana.mean_days_in_stage[2]));
}

TEST(FunnelNaN, ALoopWithoutExitAndAStageWithoutDwellData) {
  // Three stages. S0 -> S1 (4), S0 -> Lost (4); S1 <-> S2 only (a closed loop, I - Q
  // singular over it): S0, S1, S2 are all NaN (S0 reaches the loop).
  RawUnit u = EmptyUnit("u", 3);
  u.moves = {0, 4, 0, 0, 4,  //
             0, 0, 3, 0, 0,  //
             0, 2, 0, 0, 0};
  u.visits = {8, 3, 2};
  u.dwell_ns = {8 * kDay, 3 * kDay, 2 * kDay};
  u.open_deals = {0, 1, 0};
  const FunnelChain loop = MustSolve(MustParse(RawState(3, {u})), -1);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(loop.win_probability[i])) << i;
  EXPECT_DOUBLE_EQ(loop.probability[1 * 5 + 2], 1.0);  // rows with data are not NaN
  EXPECT_EQ(loop.open_deals_unpriced, 1);

  // S2 exits to Won instead: S2 -> S1 (2), S2 -> W (2). S1 has no dwell data.
  //   w_2 = 1/2 w_1 + 1/2, w_1 = w_2  =>  w_1 = w_2 = 1;  w_0 = 1/2 w_1 = 1/2.
  //   Expected times: S1 lacks dwell data, so S0, S1, S2 (all reach S1) are NaN.
  u.moves[2 * 5 + 3] = 2;
  u.visits = {8, 0, 2};
  u.dwell_ns = {8 * kDay, 0, 2 * kDay};
  const FunnelChain fixed = MustSolve(MustParse(RawState(3, {u})), -1);
  EXPECT_NEAR(fixed.win_probability[0], 0.5, 1e-12);
  EXPECT_NEAR(fixed.win_probability[1], 1.0, 1e-12);
  EXPECT_NEAR(fixed.win_probability[2], 1.0, 1e-12);
  EXPECT_NEAR(fixed.loss_probability[0], 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(fixed.mean_days_in_stage[1]));
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(fixed.expected_days_to_close[i])) << i;
  EXPECT_EQ(fixed.open_deals_unpriced, 0);
}

// ---- Ill-conditioned chains: closed forms by hand ------------------------------------
// These are the chains where I - Q is nearly singular (an LU solve of it returned win
// probabilities above 1, or NaN once I - Q rounds to singular); the solver must give
// the absorption probabilities to full relative precision however close to singular.

TEST(FunnelIllConditioned, TwoStagesTradingDealsBackAndForth) {
  // S0 -> S1 (a), S0 -> Won (1); S1 -> S0 (a), S1 -> Lost (3). With n_0 = a + 1 and
  // n_1 = a + 3:  w_0 = (a w_1 + 1) / (a + 1),  w_1 = a w_0 / (a + 3). Substituting,
  //   w_0 ((a + 1)(a + 3) - a^2) / (a + 3) = 1  =>  w_0 = (a + 3) / (4a + 3),
  //   w_1 = a / (4a + 3),  l_0 = 1 - w_0 = 3a / (4a + 3),  l_1 = (3a + 3) / (4a + 3).
  // The two divisions below are of exact integers (a < 2^53): one rounding each.
  for (const int64_t a : {int64_t{1}, int64_t{1'000'000}, int64_t{1'000'000'000'000},
                          int64_t{1'000'000'000'000'000}}) {
    RawUnit u = EmptyUnit("u", 2);
    u.moves = {0, a, 1, 0,  //
               a, 0, 0, 3};
    const FunnelChain c = MustSolve(MustParse(RawState(2, {u})), -1);
    const auto ad = static_cast<double>(a);
    SCOPED_TRACE(a);
    // For a >= 1e12, 4a + 3 and 3a + 3 are exact in double only below 2^53: write the
    // limits out instead (w_0 -> 1/4, w_1 -> 1/4 within 1e-12 relative).
    const bool exact = a <= 1'000'000;
    const double w0 = exact ? (ad + 3) / (4 * ad + 3) : 0.25;
    const double w1 = exact ? ad / (4 * ad + 3) : 0.25;
    const double tol = exact ? 4e-16 : 2.0 / ad;
    EXPECT_NEAR(c.win_probability[0], w0, tol);
    EXPECT_NEAR(c.win_probability[1], w1, tol);
    EXPECT_NEAR(c.loss_probability[0], 1 - w0, tol);
    EXPECT_NEAR(c.loss_probability[1], 1 - w1, tol);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_LE(c.win_probability[i], 1.0);
      EXPECT_GE(c.win_probability[i], 0.0);
      EXPECT_NEAR(c.win_probability[i] + c.loss_probability[i], 1.0, 2e-16);
    }
  }
}

TEST(FunnelIllConditioned, AStageDealsAlmostNeverLeave) {
  // S0 -> S0 (a self-loops), S0 -> Won (1), S0 -> Lost (2); 4 visits of 6 days each.
  //   w_0 = 1/3 exactly (the self-loops do not change where a deal ends up);
  //   t_0 = h n / (n - a) = 6 (a + 3) / 3 = 2 (a + 3) days.
  for (const int64_t a : {int64_t{0}, int64_t{1'000'000'000'000}, int64_t{4'000'000'000'000'000'000}}) {
    RawUnit u = EmptyUnit("u", 1);
    u.moves = {a, 1, 2};
    u.visits = {4};
    u.dwell_ns = {4 * 6 * kDay};
    const FunnelChain c = MustSolve(MustParse(RawState(1, {u})), -1);
    SCOPED_TRACE(a);
    EXPECT_NEAR(c.win_probability[0], 1.0 / 3, 1e-16);
    EXPECT_NEAR(c.loss_probability[0], 2.0 / 3, 1e-16);
    const double days = 2 * (static_cast<double>(a) + 3);
    EXPECT_NEAR(c.expected_days_to_close[0], days, 1e-15 * days);
  }
}

TEST(FunnelIllConditioned, TinyWinProbabilitiesKeepTheirRelativePrecision) {
  // A line of 12 stages: S_k -> S_{k+1} (1) and S_k -> Lost (q); the last stage -> Won
  // (1), Lost (q). Then w_k = (1 / (1 + q))^(12 - k): as small as 1e-216 for q = 1e18,
  // and each must keep its relative precision (the reduction multiplies and divides
  // non-negative numbers only).
  const int32_t O = 12;
  const auto o = static_cast<size_t>(O);
  const int64_t q = 1'000'000'000'000'000'000;
  RawUnit u = EmptyUnit("u", O);
  for (size_t k = 0; k < o; ++k) {
    u.moves[k * (o + 2) + (k + 1 < o ? k + 1 : o)] = 1;
    u.moves[k * (o + 2) + o + 1] = q;
  }
  const FunnelChain c = MustSolve(MustParse(RawState(O, {u})), -1);
  for (size_t k = 0; k < o; ++k) {
    const double expect = std::pow(1.0 / (1.0 + static_cast<double>(q)), static_cast<double>(o - k));
    EXPECT_NEAR(c.win_probability[k] / expect, 1.0, 1e-13) << k;
    EXPECT_NEAR(c.loss_probability[k], 1.0, 1e-16) << k;
  }
}

// ---- Sums that do not fit --------------------------------------------------------------

RawUnit OneMoveUnit(std::string name, int64_t won) {
  RawUnit u = EmptyUnit(std::move(name), 1);
  u.moves = {0, won, 1};
  return u;
}

TEST(FunnelOverflow, MergeRefusesSumsBeyondInt64AndLeavesTheCountsAlone) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2 + 1;  // twice: 2^63, one too many
  FunnelCounts x = MustParse(RawState(1, {OneMoveUnit("ana", big), OneMoveUnit("bo", 5)}));
  const FunnelCounts before = x;
  const FunnelCounts other = MustParse(RawState(1, {OneMoveUnit("ana", big)}));
  const absl::Status s = x.Merge(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  EXPECT_NE(s.message().find("moves"), std::string_view::npos) << s;
  EXPECT_NE(s.message().find("'ana'"), std::string_view::npos) << s;
  EXPECT_EQ(x, before);
  // One less fits exactly: (2^62) + (2^62 - 1) = 2^63 - 1.
  const FunnelCounts fits = MustParse(RawState(1, {OneMoveUnit("ana", big - 1)}));
  ASSERT_TRUE(x.Merge(fits).ok());
  EXPECT_EQ(x.moves(0, 0, 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(x.moves(0, 0, 2), 2);
  EXPECT_EQ(x.moves(1, 0, 1), 5);
  // The ignored count too; and the unit kind of a state without one stays empty.
  FunnelCounts y = MustParse(RawState(1, {OneMoveUnit("ana", 1)}, std::numeric_limits<int64_t>::max(), ""));
  const FunnelCounts z = MustParse(RawState(1, {OneMoveUnit("bo", 1)}, 1));
  const FunnelCounts y_before = y;
  EXPECT_EQ(y.Merge(z).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(y, y_before);
  EXPECT_EQ(y.unit_kind(), "");
}

TEST(FunnelOverflow, TheOrganisationsSumsAreCheckedEachUnitStillSolves) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2 + 1;
  const FunnelCounts x = MustParse(RawState(1, {OneMoveUnit("ana", big), OneMoveUnit("bo", big)}));
  const absl::StatusOr<FunnelChain> org = SolveFunnel(x, -1);
  EXPECT_EQ(org.status().code(), absl::StatusCode::kOutOfRange) << org.status();
  EXPECT_NE(org.status().message().find("'S0'"), std::string_view::npos) << org.status();
  for (int32_t u = 0; u < 2; ++u) {
    // w = big / (big + 1): the row sum (2^62 + 1) is no int64 hazard in the solver.
    const FunnelChain c = MustSolve(x, u);
    EXPECT_NEAR(c.win_probability[0], 1.0, 1e-15);
    EXPECT_NEAR(c.win_probability[0] + c.loss_probability[0], 1.0, 1e-16);
  }
}

TEST(FunnelBytes, TheDefaultObjectRoundTripsAndNothingElseWithoutStages) {
  const absl::StatusOr<FunnelCounts> back = FunnelCounts::Deserialize(FunnelCounts().Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, FunnelCounts());
  const absl::StatusOr<FunnelChain> c = SolveFunnel(*back, -1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->win_probability.empty());
  FunnelCounts merged;
  EXPECT_TRUE(merged.Merge(*back).ok());
  EXPECT_EQ(merged, FunnelCounts());
  // Without stages, a unit kind or an ignored count is not what any object holds.
  for (const auto& [kind, ignored] : {std::pair<std::string, int64_t>{"rep", 0}, {"", 3}}) {
    StateWriter w;
    w.U32(0);
    w.U32(0);
    w.String(kind);
    w.U32(0);
    w.I64(ignored);
    const absl::StatusOr<FunnelCounts> odd = FunnelCounts::Deserialize(WrapState(kMagic, 1, w.bytes()));
    EXPECT_EQ(odd.status().code(), absl::StatusCode::kDataLoss) << kind << " " << ignored;
  }
}

}  // namespace
}  // namespace salesperf
