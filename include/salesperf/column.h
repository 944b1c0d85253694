// salesperf/column.h — the storage of one column: a std::vector with an allocator
// suited to large, freshly written arrays, and the process-wide cache behind it.
//
//   salesperf::Column<int64_t> time;
//   time.resize(n);  // not zero-filled: the caller writes every element next
//
// Two things differ from std::vector<T>:
//  * resize() default-initialises (leaves ints and doubles unset) instead of writing
//    zeros that the caller overwrites at once.
//  * Blocks of 1 MiB or more come from, and return to, a process-wide cache. Ingestion,
//    the stage engine and the generator write tens of millions of elements into new
//    memory, and on Linux the first write to a fresh page costs a kernel fault and a
//    zero fill: measured on the development VM, writing 400 MB into freshly allocated
//    memory took 290 ms and into memory already resident 30 ms. A column freed by one
//    run (an EventLog, Timelines, ...) keeps its pages for the next run of the same
//    shape, which is what an interactive session or a nightly job scoring many
//    partitions does. Huge-page advice was measured too and dropped: with the
//    kernel's defrag-on-madvise setting, faults stalled on compaction and a 10M-event
//    ingest took 3x longer.
// Everything else — spans, iteration, equality — is std::vector's.
//
// The cache. A freed block of at least kColumnCacheMinBytes is kept, up to a limit on
// the bytes held, and handed to the next allocation of the same size class (sizes are
// rounded up to one of 8 steps per power of two, so at most 12.5% is over-allocated).
// Blocks past the limit go back to the system at once. The limit is, in this order:
// SetColumnCacheLimit(); the environment variable SALESPERF_COLUMN_CACHE_MB read at
// the first large allocation (0 turns the cache off); otherwise an eighth of physical
// memory, at most 4 GiB. ReleaseColumnCache() returns every cached block to the system
// (Python: salesperf.release_memory()). Under AddressSanitizer the cache is off, so a
// use after free of a column is still caught. The cache is thread-safe (one mutex,
// taken once per large block, never per element).
#ifndef SALESPERF_COLUMN_H_
#define SALESPERF_COLUMN_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace salesperf {

inline constexpr size_t kColumnCacheMinBytes = size_t{1} << 20;

struct ColumnCacheStats {
  size_t limit_bytes = 0;    // the most the cache holds
  size_t cached_bytes = 0;   // held now, in freed blocks waiting for reuse
  size_t cached_blocks = 0;
  uint64_t hits = 0;         // large allocations served from the cache
  uint64_t misses = 0;       // large allocations that went to the system
};

// Sets the most bytes the cache may hold (0 turns it off); blocks over the new limit
// are released at once.
void SetColumnCacheLimit(size_t bytes);
// Returns every cached block to the system; the limit is unchanged.
void ReleaseColumnCache();
ColumnCacheStats GetColumnCacheStats();

namespace internal {
// Column storage: bytes from the cache when large, from operator new otherwise. Throw
// std::bad_alloc like operator new. FreeColumnBytes takes the size given to Allocate.
void* AllocateColumnBytes(size_t bytes);
void FreeColumnBytes(void* p, size_t bytes) noexcept;
}  // namespace internal

template <typename T>
struct ColumnAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = ColumnAllocator<U>;
  };
  ColumnAllocator() = default;
  template <typename U>
  ColumnAllocator(const ColumnAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (n > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(internal::AllocateColumnBytes(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { internal::FreeColumnBytes(p, n * sizeof(T)); }

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;  // default-, not value-initialised
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const ColumnAllocator<U>&) const noexcept {
    return true;
  }
};

// One column of values; see the file comment for how it differs from std::vector.
template <typename T>
using Column = std::vector<T, ColumnAllocator<T>>;

}  // namespace salesperf

#endif  // SALESPERF_COLUMN_H_
