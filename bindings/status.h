// Carries an absl::Status out of C++ so that module.cc can raise the matching
// Python exception (salesperf.errors) with the row and column a payload names.
#ifndef SALESPERF_BINDINGS_STATUS_H_
#define SALESPERF_BINDINGS_STATUS_H_

#include <stdexcept>
#include <utility>

#include <pybind11/pybind11.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesperf_py {

class StatusError : public std::runtime_error {
 public:
  explicit StatusError(absl::Status status);
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

[[noreturn]] void ThrowStatus(const absl::Status& status);

template <typename T>
T ValueOrThrow(absl::StatusOr<T>&& s) {
  if (!s.ok()) ThrowStatus(s.status());
  return *std::move(s);
}

// Installs the translator from StatusError to salesperf.errors.* exceptions.
void RegisterStatusTranslator(pybind11::module_& m);

// Runs f() with the GIL released, so other Python threads go on meanwhile, and returns
// its result. f must not touch Python objects: convert arguments before, and build
// the Python result after.
template <typename F>
auto WithoutGil(F&& f) {
  pybind11::gil_scoped_release release;
  return std::forward<F>(f)();
}

}  // namespace salesperf_py

#endif  // SALESPERF_BINDINGS_STATUS_H_
