// salesperf/column.h — the storage of one column: a std::vector with an allocator
// suited to large, freshly written arrays.
//
//   salesperf::Column<int64_t> time;
//   time.resize(n);  // not zero-filled: the caller writes every element next
//
// One thing differs from std::vector<T>: resize() default-initialises (leaves ints
// and doubles unset) instead of writing zeros that the caller overwrites at once.
// Ingestion and generation write tens of millions of elements into new memory, where
// the cost is the memory traffic, not the arithmetic. (Huge-page advice was measured
// too and dropped: with the kernel's defrag-on-madvise setting, faults stalled on
// compaction and a 10M-event ingest took 3x longer.)
// Everything else — spans, iteration, equality, allocation through operator new — is
// std::vector's.
#ifndef SALESPERF_COLUMN_H_
#define SALESPERF_COLUMN_H_

#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace salesperf {

template <typename T>
struct ColumnAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = ColumnAllocator<U>;
  };
  ColumnAllocator() = default;
  template <typename U>
  ColumnAllocator(const ColumnAllocator<U>&) noexcept {}

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;  // default-, not value-initialised
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// One column of values; see the file comment for how it differs from std::vector.
template <typename T>
using Column = std::vector<T, ColumnAllocator<T>>;

}  // namespace salesperf

#endif  // SALESPERF_COLUMN_H_
