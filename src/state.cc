// The state envelope: little-endian writer and bounds-checked reader, FNV-1a 64, and
// the versioned, checksummed frame (layout in salesperf/state.h).
#include "salesperf/state.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl_compat.h"

namespace salesperf {

using internal::Sv;

namespace {

constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;
constexpr size_t kTrailerBytes = 8;

uint64_t ReadLittle64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

uint32_t ReadLittle32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

}  // namespace

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

void StateWriter::String(std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), UINT32_MAX);
  U32(static_cast<uint32_t>(n));
  bytes_.append(s.data(), n);
}

void StateWriter::I64s(std::span<const int64_t> values) {
  const size_t at = bytes_.size();
  bytes_.resize(at + values.size() * 8);
  char* out = bytes_.data() + at;
  for (const int64_t value : values) {
    const auto v = static_cast<uint64_t>(value);
    for (size_t i = 0; i < 8; ++i) *out++ = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

absl::Status StateReader::Need(size_t n, std::string_view field) const {
  if (n <= remaining()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("state truncated while reading ", Sv(field), ": ", n,
                                          " bytes needed at offset ", pos_, ", ", remaining(),
                                          " left"));
}

absl::Status StateReader::U8(uint8_t& out, std::string_view field) {
  if (absl::Status s = Need(1, field); !s.ok()) return s;
  out = static_cast<uint8_t>(bytes_[pos_++]);
  return absl::OkStatus();
}

absl::Status StateReader::U32(uint32_t& out, std::string_view field) {
  if (absl::Status s = Need(4, field); !s.ok()) return s;
  out = Little<uint32_t>();
  return absl::OkStatus();
}

absl::Status StateReader::U64(uint64_t& out, std::string_view field) {
  if (absl::Status s = Need(8, field); !s.ok()) return s;
  out = Little<uint64_t>();
  return absl::OkStatus();
}

absl::Status StateReader::I32(int32_t& out, std::string_view field) {
  if (absl::Status s = Need(4, field); !s.ok()) return s;
  out = static_cast<int32_t>(Little<uint32_t>());
  return absl::OkStatus();
}

absl::Status StateReader::I64(int64_t& out, std::string_view field) {
  if (absl::Status s = Need(8, field); !s.ok()) return s;
  out = static_cast<int64_t>(Little<uint64_t>());
  return absl::OkStatus();
}

absl::Status StateReader::String(std::string& out, std::string_view field) {
  if (absl::Status s = Need(4, field); !s.ok()) return s;
  const size_t at = pos_;
  const uint32_t n = Little<uint32_t>();
  if (absl::Status s = Need(n, field); !s.ok()) {
    pos_ = at;
    return s;
  }
  out.assign(bytes_.data() + pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status StateReader::Raw(std::string_view& out, size_t n, std::string_view field) {
  if (absl::Status s = Need(n, field); !s.ok()) return s;
  out = bytes_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status StateReader::I128(Int128& out, std::string_view field) {
  if (remaining() < 16) return Need(16, field);
  __extension__ using U = unsigned __int128;
  const uint64_t lo = Little<uint64_t>();
  const uint64_t hi = Little<uint64_t>();
  out = static_cast<Int128>((static_cast<U>(hi) << 64) | static_cast<U>(lo));
  return absl::OkStatus();
}

absl::Status StateReader::I64s(std::span<int64_t> out, std::string_view field) {
  if (out.size() > remaining() / 8) return Need(out.size() * 8, field);
  for (int64_t& v : out) v = static_cast<int64_t>(Little<uint64_t>());
  return absl::OkStatus();
}

absl::Status StateReader::CheckCount(uint64_t n, size_t at, size_t min_bytes_each,
                                     std::string_view field) {
  if (min_bytes_each > 0 && n > remaining() / min_bytes_each) {
    pos_ = at;
    return absl::DataLossError(absl::StrCat("state truncated or corrupt: ", Sv(field), " says ", n,
                                            " entries, which cannot fit in the ", remaining(),
                                            " bytes left"));
  }
  return absl::OkStatus();
}

absl::Status StateReader::Count32(uint32_t& out, size_t min_bytes_each, std::string_view field) {
  const size_t at = pos_;
  uint32_t n = 0;
  if (absl::Status s = U32(n, field); !s.ok()) return s;
  if (absl::Status s = CheckCount(n, at, min_bytes_each, field); !s.ok()) return s;
  out = n;
  return absl::OkStatus();
}

absl::Status StateReader::Count64(uint64_t& out, size_t min_bytes_each, std::string_view field) {
  const size_t at = pos_;
  uint64_t n = 0;
  if (absl::Status s = U64(n, field); !s.ok()) return s;
  if (absl::Status s = CheckCount(n, at, min_bytes_each, field); !s.ok()) return s;
  out = n;
  return absl::OkStatus();
}

absl::Status StateReader::Done() const {
  if (remaining() == 0) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("state corrupt: ", remaining(), " unread bytes after offset ", pos_));
}

std::string WrapState(std::string_view magic8, uint32_t version, std::string_view payload) {
  StateWriter w;
  w.Reserve(kHeaderBytes + payload.size() + kTrailerBytes);
  std::string magic(magic8.substr(0, 8));
  magic.resize(8, '\0');
  w.Raw(magic);
  w.U32(version);
  w.U32(0);  // flags
  w.U64(payload.size());
  w.Raw(payload);
  w.U64(Fnv1a64(payload));
  return w.Release();
}

absl::StatusOr<std::string_view> UnwrapState(std::string_view bytes, std::string_view magic8,
                                             uint32_t version, std::string_view what) {
  std::string magic(magic8.substr(0, 8));
  magic.resize(8, '\0');
  const size_t prefix = std::min(bytes.size(), magic.size());
  if (bytes.substr(0, prefix) != std::string_view(magic).substr(0, prefix)) {
    return absl::DataLossError(absl::StrCat("not a salesperf ", Sv(what), " state (wrong magic bytes)"));
  }
  if (bytes.size() < kHeaderBytes) {
    return absl::DataLossError(absl::StrCat(Sv(what), " state truncated: ", bytes.size(),
                                            " bytes, the header alone takes ", kHeaderBytes));
  }
  const uint32_t got_version = ReadLittle32(bytes, 8);
  if (got_version != version) {
    return absl::FailedPreconditionError(absl::StrCat(Sv(what), " state version ", got_version,
                                                      ", this build reads ", version));
  }
  const uint32_t flags = ReadLittle32(bytes, 12);
  if (flags != 0) {
    return absl::DataLossError(
        absl::StrFormat("%s state has unknown flags 0x%08x", Sv(what), flags));
  }
  const uint64_t size = ReadLittle64(bytes, 16);
  const size_t body = bytes.size() - kHeaderBytes;
  if (body < kTrailerBytes || size > body - kTrailerBytes) {
    return absl::DataLossError(absl::StrCat(Sv(what), " state truncated: the payload is ", size,
                                            " bytes, ", body < kTrailerBytes ? 0 : body - kTrailerBytes,
                                            " are there (with the checksum after them)"));
  }
  if (size < body - kTrailerBytes) {
    return absl::DataLossError(absl::StrCat(Sv(what), " state has ", body - kTrailerBytes - size,
                                            " bytes after its end"));
  }
  const std::string_view payload = bytes.substr(kHeaderBytes, static_cast<size_t>(size));
  const uint64_t checksum = ReadLittle64(bytes, kHeaderBytes + static_cast<size_t>(size));
  if (checksum != Fnv1a64(payload)) {
    return absl::DataLossError(absl::StrCat(Sv(what), " state checksum mismatch: the bytes are corrupted"));
  }
  return payload;
}

}  // namespace salesperf
