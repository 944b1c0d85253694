// salesperf/state.h — the byte envelope of every serialized accumulator (Indicators
// and those to come): a versioned, checksummed frame around a little-endian payload,
// and the writer and bounds-checked reader that payloads are built and parsed with.
//
//   salesperf::StateWriter w;
//   w.U32(2);                        // how many names follow
//   w.String("ana");
//   w.String("bo");
//   std::string bytes = salesperf::WrapState("MYSTATE\1", 1, w.bytes());
//
//   absl::StatusOr<std::string_view> payload =
//       salesperf::UnwrapState(bytes, "MYSTATE\1", 1, "my accumulator");
//   if (!payload.ok()) return payload.status();  // DataLoss / FailedPrecondition
//   salesperf::StateReader r(*payload);
//   uint32_t n = 0;
//   if (absl::Status s = r.Count32(n, 4, "name count"); !s.ok()) return s;
//   std::string name;
//   if (absl::Status s = r.String(name, "name"); !s.ok()) return s;
//   ...
//   if (absl::Status s = r.Done(); !s.ok()) return s;  // no bytes left over
//
// Envelope layout (every integer little-endian, whatever the machine):
//   offset 0   magic, 8 bytes (names the kind of state, e.g. "SPIND\0\0\1")
//   offset 8   u32 format version
//   offset 12  u32 flags (0; anything else is refused)
//   offset 16  u64 payload size P
//   offset 24  payload, P bytes
//   offset 24+P u64 checksum: FNV-1a 64 over the payload bytes
// UnwrapState checks, in this order, and never reads past the end:
//   magic      DataLoss "not a <what> state" (or "<what> state truncated" when the
//              bytes are a strict prefix of the header)
//   version    FailedPrecondition "<what> state version N, this build reads M"
//   flags      DataLoss naming the flags
//   size       DataLoss "<what> state truncated ..." when fewer bytes than declared,
//              DataLoss "... bytes after its end" when more
//   checksum   DataLoss "<what> state checksum mismatch"
// Payload fields: integers u8/u32/u64/i32/i64 in their natural width, strings as u32
// length + bytes, Int128 as i64 low then i64 high (by the payload's own convention).
// A reader's errors are DataLoss naming the field being read ("... truncated while
// reading <field>"), so a corrupted size never leads to a large allocation when the
// caller sizes its vectors with Count32 / Count64 first.
#ifndef SALESPERF_STATE_H_
#define SALESPERF_STATE_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesperf {

// Exact sums (dollars in fixed point, nanosecond totals) are 128-bit integers.
__extension__ using Int128 = __int128;

// FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211).
uint64_t Fnv1a64(std::string_view bytes);

// Appends fixed-width little-endian integers and strings to a byte string.
class StateWriter {
 public:
  void U8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Little(v); }
  void U64(uint64_t v) { Little(v); }
  void I32(int32_t v) { Little(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { Little(static_cast<uint64_t>(v)); }
  // A 128-bit integer (exact dollar sums) as i64 low, then i64 high.
  void I128(Int128 v) {
    __extension__ using U = unsigned __int128;
    U64(static_cast<uint64_t>(static_cast<U>(v)));
    U64(static_cast<uint64_t>(static_cast<U>(v) >> 64));
  }
  // u32 length + bytes. A string longer than 4 GiB - 1 cannot be written: the caller's
  // labels are far shorter; such a string is cut at that length.
  void String(std::string_view s);
  void Raw(std::string_view s) { bytes_.append(s.data(), s.size()); }
  // Many i64 at once (counters): one resize, then each value little-endian.
  void I64s(std::span<const int64_t> values);

  void Reserve(size_t n) { bytes_.reserve(n); }
  const std::string& bytes() const { return bytes_; }
  std::string Release() { return std::move(bytes_); }

 private:
  template <typename U>
  void Little(U v) {
    char b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    bytes_.append(b, sizeof(U));
  }
  std::string bytes_;
};

// Reads what a StateWriter wrote, checking every read against the bytes left. Each
// read returns OK, or DataLoss naming `field` when the bytes end first; the output is
// left unchanged then.
class StateReader {
 public:
  explicit StateReader(std::string_view bytes) : bytes_(bytes) {}

  absl::Status U8(uint8_t& out, std::string_view field);
  absl::Status U32(uint32_t& out, std::string_view field);
  absl::Status U64(uint64_t& out, std::string_view field);
  absl::Status I32(int32_t& out, std::string_view field);
  absl::Status I64(int64_t& out, std::string_view field);
  absl::Status I128(Int128& out, std::string_view field);
  absl::Status String(std::string& out, std::string_view field);
  absl::Status Raw(std::string_view& out, size_t n, std::string_view field);
  // Fills `out` (already sized by the caller) with i64 values.
  absl::Status I64s(std::span<int64_t> out, std::string_view field);

  // A count of items that each take at least `min_bytes_each` (>= 1) bytes further
  // on: DataLoss when that many cannot fit in the bytes left, so the caller may size
  // a vector by it safely.
  absl::Status Count32(uint32_t& out, size_t min_bytes_each, std::string_view field);
  absl::Status Count64(uint64_t& out, size_t min_bytes_each, std::string_view field);

  size_t remaining() const { return bytes_.size() - pos_; }
  size_t position() const { return pos_; }
  // DataLoss when bytes are left over.
  absl::Status Done() const;

 private:
  absl::Status Need(size_t n, std::string_view field) const;
  // DataLoss (and the position back at `at`) when `n` entries of at least
  // `min_bytes_each` bytes cannot fit in what is left.
  absl::Status CheckCount(uint64_t n, size_t at, size_t min_bytes_each, std::string_view field);
  template <typename U>
  U Little() {
    U v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) {
      v |= static_cast<U>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(U);
    return v;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Frames a payload: magic8 (exactly 8 bytes) | u32 version | u32 flags 0 | u64 size |
// payload | u64 FNV-1a 64 of the payload.
std::string WrapState(std::string_view magic8, uint32_t version, std::string_view payload);

// The payload of a framed state, after checking magic, version, flags, size and
// checksum (see the file comment for the errors); `what` names the state in them
// ("indicators"). The view points into `bytes`.
absl::StatusOr<std::string_view> UnwrapState(std::string_view bytes, std::string_view magic8,
                                             uint32_t version, std::string_view what);

}  // namespace salesperf

#endif  // SALESPERF_STATE_H_
