// numpy out without copying: a read-only array over memory a C++ object owns, with
// that object (through its Python handle) as the array's base, so the memory lives as
// long as any view of it does.
#ifndef SALESPERF_BINDINGS_ARRAYS_H_
#define SALESPERF_BINDINGS_ARRAYS_H_

#include <cstddef>
#include <span>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace salesperf_py {

// rows x cols, row-major (cols = 1 gives a 1-D array).
template <typename T>
pybind11::array ReadOnlyView(std::span<const T> data, pybind11::handle owner, size_t cols = 0) {
  namespace py = pybind11;
  py::array_t<T> a;
  if (cols == 0) {
    a = py::array_t<T>({static_cast<py::ssize_t>(data.size())}, {static_cast<py::ssize_t>(sizeof(T))},
                       data.data(), owner);
  } else {
    const size_t rows = data.size() / cols;
    a = py::array_t<T>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)},
                       {static_cast<py::ssize_t>(cols * sizeof(T)), static_cast<py::ssize_t>(sizeof(T))},
                       data.data(), owner);
  }
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

}  // namespace salesperf_py

#endif  // SALESPERF_BINDINGS_ARRAYS_H_
