// Golden state files (tests/golden/<kind>-v<version>.state, written by
// tests/golden/make_golden.py from a fixed synthetic company) must load in this and
// every later build, re-serialize byte for byte, and every damaged copy of them
// (truncated at any offset, any single bit flipped, another version, another magic)
// must give the documented clean error (salesperf/state.h): DataLoss, or
// FailedPrecondition for another version — never a crash (this test also runs under
// ASan+UBSan).
//
// The folder comes from the compile definition SALESPERF_GOLDEN_DIR; the figures
// in the JSON next to each file are checked in tests/python/test_golden_states.py.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesperf/deviance.h"
#include "salesperf/funnel.h"
#include "salesperf/indicators.h"
#include "salesperf/leaks.h"
#include "salesperf/state.h"

#ifndef SALESPERF_GOLDEN_DIR
#error "compile with -DSALESPERF_GOLDEN_DIR=\"<source>/tests/golden\""
#endif

namespace salesperf {
namespace {

namespace fs = std::filesystem;

// One serializable kind: how to read bytes, and how to write back what was read.
struct Kind {
  std::string name;     // file prefix: "<name>-v<version>.state"
  std::string magic;    // the 8-byte magic its Serialize writes
  uint32_t version;     // the version this build writes
  // Deserialize then Serialize: the status, and on success the bytes written back.
  std::function<absl::StatusOr<std::string>(std::string_view)> round_trip;
};

template <typename T>
absl::StatusOr<std::string> RoundTrip(std::string_view bytes) {
  absl::StatusOr<T> v = T::Deserialize(bytes);
  if (!v.ok()) return v.status();
  return v->Serialize();
}

std::vector<Kind> Kinds() {
  std::vector<Kind> k;
  k.push_back({"indicators", std::string("SPIND\0\0\1", 8), Indicators::kFormatVersion, RoundTrip<Indicators>});
  k.push_back({"funnel", std::string("SPFUN\0\0\1", 8), FunnelCounts::kFormatVersion, RoundTrip<FunnelCounts>});
  k.push_back({"leaks", std::string("SPLEAK\0\1", 8), LeakCounts::kFormatVersion, RoundTrip<LeakCounts>});
  k.push_back({"deviants", std::string("SPDEVC\0\0", 8), DeviantCounts::kFormatVersion, RoundTrip<DeviantCounts>});
  k.push_back({"behaviours", std::string("SPBEHC\0\0", 8), BehaviourCounts::kFormatVersion,
               RoundTrip<BehaviourCounts>});
  return k;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

uint32_t Le32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

void PutLe32(std::string& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Every golden file of a kind, any version: "<kind>-v<N>.state".
std::vector<fs::path> GoldenFiles(const std::string& kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(SALESPERF_GOLDEN_DIR)) {
    const std::string f = e.path().filename().string();
    if (f.starts_with(kind + "-v") && f.ends_with(".state")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The files this build writes: the current version of each kind must be kept.
TEST(GoldenStates, EveryKindHasAFileOfTheCurrentVersion) {
  for (const Kind& k : Kinds()) {
    const fs::path p = fs::path(SALESPERF_GOLDEN_DIR) / (k.name + "-v" + std::to_string(k.version) + ".state");
    EXPECT_TRUE(fs::exists(p)) << p << ": run tests/golden/make_golden.py";
  }
}

TEST(GoldenStates, LoadAndReserializeByteIdentically) {
  int files = 0;
  for (const Kind& k : Kinds()) {
    for (const fs::path& p : GoldenFiles(k.name)) {
      const std::string bytes = ReadFile(p);
      ASSERT_GE(bytes.size(), 32u) << p;
      EXPECT_EQ(bytes.substr(0, 8), k.magic) << p;
      // The file name's version is the envelope's (offset 8, little-endian).
      EXPECT_EQ(p.filename().string(), k.name + "-v" + std::to_string(Le32(bytes, 8)) + ".state");
      absl::StatusOr<std::string> back = k.round_trip(bytes);
      ASSERT_TRUE(back.ok()) << p << ": " << back.status();
      // A file of an older version is rewritten in the current one; the current
      // version's bytes come back exactly.
      if (Le32(bytes, 8) == k.version) {
        EXPECT_TRUE(*back == bytes) << p;
      }
      ++files;
    }
  }
  EXPECT_GE(files, 5);
}

// Truncation at every offset (0 .. size-1) and one byte too many: DataLoss.
TEST(GoldenStates, EveryTruncationIsDataLoss) {
  for (const Kind& k : Kinds()) {
    for (const fs::path& p : GoldenFiles(k.name)) {
      const std::string bytes = ReadFile(p);
      for (size_t n = 0; n < bytes.size(); ++n) {
        absl::StatusOr<std::string> r = k.round_trip(std::string_view(bytes).substr(0, n));
        ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << p << " cut at " << n;
      }
      EXPECT_EQ(k.round_trip(bytes + '\0').status().code(), absl::StatusCode::kDataLoss) << p;
    }
  }
}

// Single-bit flips of the framed bytes: every bit of files up to 4 KiB, else 2,000
// bits drawn with a fixed seed plus every bit of the 24-byte header and the 8-byte
// checksum. The expected error follows from the frame layout: a flip in the version
// field (bytes 8..11) is another version (FailedPrecondition); anywhere else the
// magic, flags, size or checksum no longer match (DataLoss).
TEST(GoldenStates, EverySingleBitFlipIsACleanError) {
  for (const Kind& k : Kinds()) {
    for (const fs::path& p : GoldenFiles(k.name)) {
      const std::string bytes = ReadFile(p);
      const size_t bits = bytes.size() * 8;
      std::vector<size_t> which;
      if (bytes.size() <= 4096) {
        for (size_t b = 0; b < bits; ++b) which.push_back(b);
      } else {
        for (size_t b = 0; b < 24 * 8; ++b) which.push_back(b);
        for (size_t b = bits - 64; b < bits; ++b) which.push_back(b);
        uint64_t x = 0x9E3779B97F4A7C15ULL;  // xorshift64, fixed seed
        for (int i = 0; i < 2000; ++i) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          which.push_back(static_cast<size_t>(x % bits));
        }
      }
      for (const size_t b : which) {
        std::string bad = bytes;
        bad[b / 8] = static_cast<char>(bad[b / 8] ^ (1 << (b % 8)));
        const absl::StatusCode want = (b / 8 >= 8 && b / 8 < 12) ? absl::StatusCode::kFailedPrecondition
                                                                 : absl::StatusCode::kDataLoss;
        ASSERT_EQ(k.round_trip(bad).status().code(), want) << p << " bit " << b;
      }
    }
  }
}

// A correctly framed, checksummed payload with one bit flipped (as a buggy writer
// might produce): the parser's own checks must answer, OK or DataLoss, never
// crash; and whatever it accepts must write back bytes that it reads again
// identically.
TEST(GoldenStates, FlippedPayloadsUnderAValidChecksumNeverCrash) {
  for (const Kind& k : Kinds()) {
    for (const fs::path& p : GoldenFiles(k.name)) {
      const std::string bytes = ReadFile(p);
      const uint32_t version = Le32(bytes, 8);
      if (version != k.version) continue;  // the current parser reads this payload
      absl::StatusOr<std::string_view> payload = UnwrapState(bytes, k.magic, version, k.name);
      ASSERT_TRUE(payload.ok()) << payload.status();
      const std::string body(*payload);
      const size_t bits = body.size() * 8;
      // 2,000 flips of states up to 64 KiB; 300 of larger ones (each flip is a full
      // parse and write of the state).
      const int flips = body.size() <= 65536 ? 2000 : 300;
      uint64_t x = 0xD1B54A32D192ED03ULL;
      int accepted = 0, rejected = 0;
      for (int i = 0; i < flips; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::string bad = body;
        const size_t b = static_cast<size_t>(x % bits);
        bad[b / 8] = static_cast<char>(bad[b / 8] ^ (1 << (b % 8)));
        absl::StatusOr<std::string> r = k.round_trip(WrapState(k.magic, version, bad));
        if (r.ok()) {
          ++accepted;
          absl::StatusOr<std::string> again = k.round_trip(*r);
          ASSERT_TRUE(again.ok()) << p << " bit " << b << ": " << again.status();
          EXPECT_TRUE(*again == *r) << p << " bit " << b;
        } else {
          ++rejected;
          ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << p << " bit " << b << ": " << r.status();
        }
      }
      // Both happen: flipped counters are often another valid state, flipped
      // lengths and names are not.
      EXPECT_GT(rejected, 0) << p;
      EXPECT_EQ(accepted + rejected, flips);
    }
  }
}

// Another version (the next one, and 0) and another magic: the messages of state.h.
TEST(GoldenStates, VersionBumpAndWrongMagic) {
  for (const Kind& k : Kinds()) {
    const fs::path p = fs::path(SALESPERF_GOLDEN_DIR) / (k.name + "-v" + std::to_string(k.version) + ".state");
    if (!fs::exists(p)) continue;  // reported by EveryKindHasAFileOfTheCurrentVersion
    const std::string bytes = ReadFile(p);
    for (const uint32_t v : {k.version + 1, 0u, 0xffffffffu}) {
      std::string bumped = bytes;
      PutLe32(bumped, 8, v);
      absl::StatusOr<std::string> r = k.round_trip(bumped);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << k.name << " v" << v;
      EXPECT_NE(r.status().message().find("state version " + std::to_string(v) + ", this build reads " +
                                          std::to_string(k.version)),
                std::string_view::npos)
          << r.status();
    }
    std::string magic = bytes;
    magic[0] = 'X';
    absl::StatusOr<std::string> r = k.round_trip(magic);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find("not a"), std::string_view::npos) << r.status();
    // Flags other than 0 are refused.
    std::string flags = bytes;
    PutLe32(flags, 12, 1);
    EXPECT_EQ(k.round_trip(flags).status().code(), absl::StatusCode::kDataLoss);
  }
}

// Each kind's bytes given to every other kind: DataLoss ("not a ... state").
TEST(GoldenStates, OneKindsBytesAreNotAnothers) {
  const std::vector<Kind> kinds = Kinds();
  for (const Kind& from : kinds) {
    const fs::path p = fs::path(SALESPERF_GOLDEN_DIR) / (from.name + "-v" + std::to_string(from.version) + ".state");
    if (!fs::exists(p)) continue;
    const std::string bytes = ReadFile(p);
    for (const Kind& to : kinds) {
      if (to.name == from.name) continue;
      absl::StatusOr<std::string> r = to.round_trip(bytes);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << from.name << " read as " << to.name;
    }
  }
}

}  // namespace
}  // namespace salesperf
