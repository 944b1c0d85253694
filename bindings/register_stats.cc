// Bindings for salesperf/stats.h: scalars in, tuples out; numpy arrays in for the
// trend and the Kaplan–Meier curve (GIL released while C++ reads them), new numpy
// arrays out (the curve is small: one entry per distinct event time).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/stats.h"
#include "status.h"

namespace py = pybind11;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
std::span<const T> SpanOf(const Array<T>& a, const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  return std::span<const T>(a.data(), static_cast<size_t>(a.size()));
}

// Durations must already be integers (ns): a float array is refused rather than
// truncated. Observed flags may be bool or any integer dtype holding 0/1.
Array<int64_t> Durations(const py::array& a) {
  if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u') {
    throw py::type_error("durations must be an integer array (nanoseconds)");
  }
  return Array<int64_t>::ensure(a);
}

Array<uint8_t> Observed(const py::array& a) {
  const char kind = a.dtype().kind();
  if (kind != 'b' && kind != 'i' && kind != 'u') {
    throw py::type_error("observed must be a bool or integer array of 0/1");
  }
  if (kind != 'b' && a.itemsize() != 1) {
    // Wider integers: check the range before narrowing, so 256 is not read as 0.
    auto wide = Array<int64_t>::ensure(a);
    for (py::ssize_t i = 0; i < wide.size(); ++i) {
      const int64_t v = wide.data()[i];
      if (v != 0 && v != 1) {
        salesperf_py::ThrowStatus(absl::InvalidArgumentError(
            "KaplanMeier: observed must be 0 or 1, got " + std::to_string(v)));
      }
    }
  }
  return Array<uint8_t>::ensure(a);
}

salesperf::SurvivalCurve Curve(const py::array& durations, const py::array& observed) {
  Array<int64_t> d = Durations(durations);
  Array<uint8_t> o = Observed(observed);
  auto ds = SpanOf(d, "durations");
  auto os = SpanOf(o, "observed");
  absl::StatusOr<salesperf::SurvivalCurve> curve;
  {
    py::gil_scoped_release release;
    curve = salesperf::KaplanMeier(ds, os);
  }
  return salesperf_py::ValueOrThrow(std::move(curve));
}

}  // namespace

void register_stats(py::module_& m) {
  m.def(
      "wilson",
      [](int64_t successes, int64_t trials, double confidence) {
        auto r = salesperf_py::ValueOrThrow(salesperf::Wilson(successes, trials, confidence));
        return std::make_tuple(r.estimate, r.lower, r.upper);
      },
      py::arg("successes"), py::arg("trials"), py::arg("confidence") = 0.95,
      "Wilson score interval: (estimate, lower, upper).");

  m.def(
      "two_proportion_test",
      [](int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
        auto r = salesperf_py::ValueOrThrow(salesperf::TwoProportionTest(x1, n1, x2, n2));
        return std::make_tuple(r.difference, r.z, r.p_value);
      },
      py::arg("x1"), py::arg("n1"), py::arg("x2"), py::arg("n2"),
      "Pooled two-proportion z test: (p2 - p1, z, two-sided p-value).");

  m.def(
      "trend_slope",
      [](const Array<double>& y, double confidence) {
        auto ys = SpanOf(y, "y");
        absl::StatusOr<salesperf::Trend> r;
        {
          py::gil_scoped_release release;
          r = salesperf::TrendSlope(ys, confidence);
        }
        auto t = salesperf_py::ValueOrThrow(std::move(r));
        return std::make_tuple(t.slope, t.lower, t.upper, t.n);
      },
      py::arg("y"), py::arg("confidence") = 0.95,
      "OLS slope over periods 0..n-1 with a Student t interval: (slope, lower, upper, n).");

  m.def(
      "kaplan_meier",
      [](const py::array& durations, const py::array& observed) {
        salesperf::SurvivalCurve c = Curve(durations, observed);
        py::array_t<int64_t> times(static_cast<py::ssize_t>(c.times().size()), c.times().data());
        py::array_t<double> survival(static_cast<py::ssize_t>(c.survival().size()),
                                     c.survival().data());
        return std::make_tuple(times, survival);
      },
      py::arg("durations"), py::arg("observed"),
      "Kaplan-Meier curve: (distinct event times, S(t) just after each).");

  m.def(
      "km_quantile",
      [](const py::array& durations, const py::array& observed,
         double q) -> std::optional<int64_t> {
        salesperf::SurvivalCurve c = Curve(durations, observed);
        return salesperf_py::ValueOrThrow(c.Quantile(q));
      },
      py::arg("durations"), py::arg("observed"), py::arg("q"),
      "Smallest event time t with S(t) <= 1 - q, or None when not reached.");
}
