// Fuzz target: the small text and byte entry points: Calendar::Parse (and, for a
// parsed calendar, Spec, PeriodIndex, PeriodStart / PeriodEnd, Label, CheckIndices),
// ParseDuration / FormatDuration, ParseActor, UnwrapState with any magic, and the
// StateReader driven by the bytes.
//
// Input: one selector byte, then the text or bytes. Checked: Parse(Spec(c)) == c;
// PeriodStart(i) <= t < PeriodEnd(i) for i = PeriodIndex(t); ParseDuration(
// FormatDuration(d)) == d; a reader never reads past its bytes and its position only
// grows.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "salesperf/calendar.h"

namespace salesperf::fuzz {
namespace text_fuzz {

inline void CalendarCase(FuzzedDataProvider& p) {
  const std::string spec = p.ConsumeRandomLengthString(32);
  absl::StatusOr<Calendar> c = Calendar::Parse(spec);
  if (!c.ok()) {
    CheckCleanError(c.status(), "Calendar::Parse");
    return;
  }
  absl::StatusOr<Calendar> again = Calendar::Parse(c->Spec());
  SP_FUZZ_CHECK(again.ok() && *again == *c, "Parse(Spec(c)) != c for '" + spec + "' -> '" + c->Spec() + "'");
  for (int i = 0; i < 4 && p.remaining_bytes() > 0; ++i) {
    const int64_t t = InterestingTime(p);
    if (t == kNullInstant) {
      SP_FUZZ_CHECK(!c->PeriodIndexChecked(t).ok(), "a period for the null time");
      continue;
    }
    const int64_t idx = c->PeriodIndex(t);
    SP_FUZZ_CHECK(idx >= c->min_index() && idx <= c->max_index(), "index outside [min_index, max_index]");
    const int64_t start = c->PeriodStart(idx), end = c->PeriodEnd(idx);
    SP_FUZZ_CHECK(start <= t, "PeriodStart(PeriodIndex(t)) > t");
    SP_FUZZ_CHECK(t < end || (end == std::numeric_limits<int64_t>::max() && idx == c->max_index()),
                  "t >= PeriodEnd(PeriodIndex(t))");
    SP_FUZZ_CHECK(!c->Label(idx).empty(), "empty label");
    const int64_t other = p.ConsumeIntegral<int64_t>();
    const int64_t indices[2] = {idx, other};
    const absl::Status s = c->CheckIndices(indices);
    const bool in_range = other >= c->min_index() && other <= c->max_index();
    SP_FUZZ_CHECK(s.ok() == in_range, "CheckIndices disagrees with [min_index, max_index]");
    if (!in_range) {
      CheckCleanError(s, "CheckIndices");
    } else {
      (void)c->Label(other);
      SP_FUZZ_CHECK(c->PeriodStart(other) < c->PeriodEnd(other), "empty period");
    }
  }
}

inline void DurationCase(FuzzedDataProvider& p) {
  const std::string text = p.ConsumeRandomLengthString(40);
  absl::StatusOr<int64_t> d = ParseDuration(text);
  if (d.ok()) {
    const std::string back = FormatDuration(*d);
    absl::StatusOr<int64_t> again = ParseDuration(back);
    SP_FUZZ_CHECK(again.ok() && *again == *d, "ParseDuration(FormatDuration(d)) != d for '" + text + "' -> '" + back + "'");
  } else {
    CheckCleanError(d.status(), "ParseDuration");
  }
  const int64_t ns = p.ConsumeBool() ? p.ConsumeIntegral<int64_t>() : InterestingTime(p);
  const std::string f = FormatDuration(ns);
  absl::StatusOr<int64_t> back = ParseDuration(f);
  // Every int64, negative ones and INT64_MIN included, has a text form that reads back.
  SP_FUZZ_CHECK(back.ok() && *back == ns, "FormatDuration(" + std::to_string(ns) + ") = '" + f + "'");
}

inline void ActorCase(FuzzedDataProvider& p) {
  const std::string text = p.ConsumeRandomLengthString(12);
  absl::StatusOr<Actor> a = ParseActor(text);
  if (a.ok()) {
    SP_FUZZ_CHECK(ParseActor(ActorName(*a)).value() == *a, "ParseActor(ActorName(a)) != a");
  } else {
    CheckCleanError(a.status(), "ParseActor");
  }
}

inline void EnvelopeCase(FuzzedDataProvider& p) {
  const std::string magic = p.ConsumeBytesAsString(8);
  if (magic.size() != 8) return;
  const uint32_t version = p.ConsumeIntegralInRange<uint32_t>(0, 3);
  const bool wrap = p.ConsumeBool();
  const std::string rest = p.ConsumeRemainingBytesAsString();
  const std::string bytes = wrap ? WrapState(magic, version, rest) : rest;
  absl::StatusOr<std::string_view> payload = UnwrapState(bytes, magic, version, "fuzz");
  if (!payload.ok()) {
    SP_FUZZ_CHECK(!wrap, "UnwrapState refused WrapState's bytes: " + payload.status().ToString());
    CheckCleanError(payload.status(), "UnwrapState");
    return;
  }
  SP_FUZZ_CHECK(payload->data() >= bytes.data() && payload->data() + payload->size() <= bytes.data() + bytes.size(),
                "payload outside the bytes");
  if (wrap) SP_FUZZ_CHECK(*payload == rest, "payload differs from what was wrapped");
}

inline void ReaderCase(FuzzedDataProvider& p) {
  const size_t ops = p.ConsumeIntegralInRange<size_t>(0, 64);
  std::string script;
  for (size_t i = 0; i < ops; ++i) script.push_back(static_cast<char>(p.ConsumeIntegral<uint8_t>()));
  const std::string bytes = p.ConsumeRemainingBytesAsString();
  StateReader r(bytes);
  size_t last = 0;
  for (char op : script) {
    absl::Status s;
    uint8_t u8 = 0; uint32_t u32 = 0; uint64_t u64 = 0; int32_t i32 = 0; int64_t i64 = 0; Int128 i128 = 0;
    std::string str;
    std::string_view raw;
    int64_t many[3] = {};
    switch (static_cast<uint8_t>(op) % 11) {
      case 0: s = r.U8(u8, "u8"); break;
      case 1: s = r.U32(u32, "u32"); break;
      case 2: s = r.U64(u64, "u64"); break;
      case 3: s = r.I32(i32, "i32"); break;
      case 4: s = r.I64(i64, "i64"); break;
      case 5: s = r.I128(i128, "i128"); break;
      case 6: s = r.String(str, "str"); break;
      case 7: s = r.Raw(raw, static_cast<uint8_t>(op) >> 4, "raw"); break;
      case 8: s = r.I64s(many, "i64s"); break;
      case 9:
        s = r.Count32(u32, 1 + (static_cast<uint8_t>(op) >> 5), "count32");
        if (s.ok()) SP_FUZZ_CHECK(static_cast<uint64_t>(u32) * (1 + (static_cast<uint8_t>(op) >> 5)) <= r.remaining(),
                                  "Count32 let through a count that cannot fit");
        break;
      default:
        s = r.Count64(u64, 1 + (static_cast<uint8_t>(op) >> 5), "count64");
        if (s.ok()) SP_FUZZ_CHECK(u64 <= r.remaining(), "Count64 let through a count that cannot fit");
        break;
    }
    if (!s.ok()) CheckCleanError(s, "StateReader");
    SP_FUZZ_CHECK(r.position() >= last && r.position() <= bytes.size(), "reader position");
    SP_FUZZ_CHECK(r.position() + r.remaining() == bytes.size(), "position + remaining");
    last = r.position();
  }
  (void)r.Done();
}

inline int Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  switch (p.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: CalendarCase(p); break;
    case 1: DurationCase(p); break;
    case 2: ActorCase(p); break;
    case 3: EnvelopeCase(p); break;
    default: ReaderCase(p); break;
  }
  return 0;
}

}  // namespace text_fuzz

inline int FuzzText(const uint8_t* data, size_t size) { return text_fuzz::Run(data, size); }

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzText)
