// The process-wide cache of large column blocks (see salesperf/column.h).
#include "salesperf/column.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define SALESPERF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SALESPERF_ASAN 1
#endif
#endif

namespace salesperf {
namespace {

constexpr size_t kDefaultCap = size_t{4} << 30;

// The size class of a large block: bytes rounded up to a multiple of 1/8 of the
// largest power of two not above it (at most 12.5% more).
size_t SizeClass(size_t bytes) {
  const int top = 63 - __builtin_clzll(bytes);
  const size_t step = size_t{1} << (top - 3);
  return (bytes + step - 1) / step * step;
}

size_t DefaultLimit() {
#ifdef SALESPERF_ASAN
  return 0;  // keep use-after-free of a column detectable
#else
  if (const char* env = std::getenv("SALESPERF_COLUMN_CACHE_MB"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != nullptr && *end == '\0') return static_cast<size_t>(std::min<unsigned long long>(mb, 1ull << 40)) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return size_t{256} << 20;
  return std::min(kDefaultCap, static_cast<size_t>(pages) * static_cast<size_t>(page) / 8);
#endif
}

struct Cache {
  std::mutex mu;
  bool limit_known = false;
  size_t limit = 0;
  size_t held = 0;
  size_t blocks = 0;
  uint64_t hits = 0, misses = 0;
  std::map<size_t, std::vector<void*>> free_blocks;  // size class -> blocks

  size_t Limit() {  // mu held
    if (!limit_known) {
      limit = DefaultLimit();
      limit_known = true;
    }
    return limit;
  }
  // Frees blocks, largest classes first, until at most `keep` bytes are held. mu held.
  void TrimTo(size_t keep) {
    while (held > keep && !free_blocks.empty()) {
      auto it = std::prev(free_blocks.end());
      while (!it->second.empty() && held > keep) {
        ::operator delete(it->second.back());
        it->second.pop_back();
        held -= it->first;
        --blocks;
      }
      if (it->second.empty()) free_blocks.erase(it);
    }
  }
};

Cache& TheCache() {
  static Cache* cache = new Cache;  // never destroyed: columns may outlive static destruction
  return *cache;
}

}  // namespace

void SetColumnCacheLimit(size_t bytes) {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  c.limit_known = true;
  c.TrimTo(bytes);
}

void ReleaseColumnCache() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.TrimTo(0);
}

ColumnCacheStats GetColumnCacheStats() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  ColumnCacheStats s;
  s.limit_bytes = c.Limit();
  s.cached_bytes = c.held;
  s.cached_blocks = c.blocks;
  s.hits = c.hits;
  s.misses = c.misses;
  return s;
}

namespace internal {

void* AllocateColumnBytes(size_t bytes) {
  if (bytes < kColumnCacheMinBytes) return ::operator new(bytes);
  const size_t size = SizeClass(bytes);
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* p = it->second.back();
      it->second.pop_back();
      if (it->second.empty()) c.free_blocks.erase(it);
      c.held -= size;
      --c.blocks;
      ++c.hits;
      return p;
    }
    ++c.misses;
  }
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    ReleaseColumnCache();  // memory held for reuse is better spent here
    return ::operator new(size);
  }
}

void FreeColumnBytes(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kColumnCacheMinBytes) {
    ::operator delete(p);
    return;
  }
  const size_t size = SizeClass(bytes);
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.held + size <= c.Limit()) {
      try {
        c.free_blocks[size].push_back(p);
      } catch (...) {
        ::operator delete(p);
        return;
      }
      c.held += size;
      ++c.blocks;
      return;
    }
  }
  ::operator delete(p);
}

}  // namespace internal
}  // namespace salesperf
