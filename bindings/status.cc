#include "status.h"

#include <string>

#include "absl/strings/cord.h"

namespace py = pybind11;

namespace salesperf_py {

StatusError::StatusError(absl::Status status)
    : std::runtime_error(std::string(status.message())), status_(std::move(status)) {}

void ThrowStatus(const absl::Status& status) { throw StatusError(status); }

namespace {

const char* ExceptionName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "InvalidArgumentError";
    case absl::StatusCode::kNotFound: return "NotFoundError";
    case absl::StatusCode::kOutOfRange: return "OutOfRangeError";
    case absl::StatusCode::kFailedPrecondition: return "FailedPreconditionError";
    case absl::StatusCode::kDataLoss: return "DataLossError";
    case absl::StatusCode::kUnimplemented: return "UnimplementedError";
    case absl::StatusCode::kResourceExhausted: return "ResourceExhaustedError";
    default: return "InternalError";
  }
}

}  // namespace

void RegisterStatusTranslator(py::module_&) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object errors = py::module_::import("salesperf.errors");
      py::object cls = errors.attr(ExceptionName(e.status().code()));
      py::object exc = cls(std::string(e.status().message()));
      if (auto row = e.status().GetPayload("salesperf.row")) {
        exc.attr("row") = py::int_(std::stoll(std::string(*row)));
      }
      if (auto column = e.status().GetPayload("salesperf.column")) {
        exc.attr("column") = py::str(std::string(*column));
      }
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });
}

}  // namespace salesperf_py
