// The column cache (salesperf/column.h): its figures, its limit, and releasing it.
#include <pybind11/pybind11.h>

#include "salesperf/column.h"

namespace py = pybind11;

void register_memory(py::module_& m) {
  m.def("column_cache_stats", [] {
    const salesperf::ColumnCacheStats s = salesperf::GetColumnCacheStats();
    py::dict d;
    d["limit_bytes"] = s.limit_bytes;
    d["cached_bytes"] = s.cached_bytes;
    d["cached_blocks"] = s.cached_blocks;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    return d;
  });
  m.def("set_column_cache_limit", &salesperf::SetColumnCacheLimit, py::arg("bytes"),
        py::call_guard<py::gil_scoped_release>());
  m.def("release_column_cache", &salesperf::ReleaseColumnCache, py::call_guard<py::gil_scoped_release>());
}
