// Bindings for Calendar: built from its spec text; period indices of an int64
// nanosecond array (read in place, GIL released), period bounds and labels.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/calendar.h"
#include "status.h"

namespace py = pybind11;
using salesperf::Calendar;

namespace {

using Int64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// A 1-D int64 view of `values`; no copy when it already is a contiguous int64 array.
Int64Array Hold(const py::handle& values, const char* name) {
  Int64Array a = Int64Array::ensure(values);
  if (!a) throw py::type_error(std::string(name) + " must be an array of int64");
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  return a;
}

std::span<const int64_t> Span(const Int64Array& a) {
  return {a.data(), static_cast<size_t>(a.size())};
}

// Applies `bound` (PeriodStart or PeriodEnd) to each index, after checking the indices.
template <typename Bound>
Int64Array Bounds(const Calendar& c, const py::handle& indices, Bound bound) {
  Int64Array in = Hold(indices, "indices");
  if (auto s = c.CheckIndices(Span(in)); !s.ok()) salesperf_py::ThrowStatus(s);
  Int64Array out(in.size());
  int64_t* o = out.mutable_data();
  const int64_t* i = in.data();
  const auto n = static_cast<size_t>(in.size());
  {
    py::gil_scoped_release release;
    for (size_t k = 0; k < n; ++k) o[k] = bound(c, i[k]);
  }
  return out;
}

}  // namespace

void register_calendar(py::module_& m) {
  m.attr("NO_PERIOD") = salesperf::kNoPeriod;

  py::class_<Calendar>(m, "Calendar")
      .def(py::init([](const std::string& spec) {
             return salesperf_py::ValueOrThrow(Calendar::Parse(spec));
           }),
           py::arg("spec"))
      .def_property_readonly("spec", &Calendar::Spec)
      .def_property_readonly("grain",
                             [](const Calendar& c) { return std::string(salesperf::GrainName(c.grain())); })
      .def_property_readonly("fiscal_year_start_month", &Calendar::fiscal_year_start_month)
      .def_property_readonly("min_index", &Calendar::min_index)
      .def_property_readonly("max_index", &Calendar::max_index)
      .def("__eq__", [](const Calendar& a, const Calendar& b) { return a == b; }, py::is_operator())
      .def(
          "period_index",
          [](const Calendar& c, const py::handle& times) {
            Int64Array in = Hold(times, "times");
            Int64Array out(in.size());
            absl::Status s;
            {
              py::gil_scoped_release release;
              s = c.PeriodIndices(Span(in),
                                  std::span<int64_t>(out.mutable_data(), static_cast<size_t>(out.size())));
            }
            if (!s.ok()) salesperf_py::ThrowStatus(s);
            return out;
          },
          py::arg("times"),
          "Period index of each UTC nanosecond time; NO_PERIOD (INT64_MIN) for NaT.")
      .def(
          "period_start",
          [](const Calendar& c, const py::handle& indices) {
            return Bounds(c, indices, [](const Calendar& cal, int64_t k) { return cal.PeriodStart(k); });
          },
          py::arg("indices"))
      .def(
          "period_end",
          [](const Calendar& c, const py::handle& indices) {
            return Bounds(c, indices, [](const Calendar& cal, int64_t k) { return cal.PeriodEnd(k); });
          },
          py::arg("indices"))
      .def(
          "labels",
          [](const Calendar& c, const py::handle& indices) {
            Int64Array in = Hold(indices, "indices");
            if (auto s = c.CheckIndices(Span(in)); !s.ok()) salesperf_py::ThrowStatus(s);
            std::vector<std::string> out;
            out.reserve(static_cast<size_t>(in.size()));
            for (int64_t k : Span(in)) out.push_back(c.Label(k));
            return out;
          },
          py::arg("indices"));
}
