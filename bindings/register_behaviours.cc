// Bindings for salesperf/deviance.h part 2: the behaviours that distinguish (rows as
// numpy views owned by the C++ assessment, strings as lists). BehaviourAssessment is
// held by std::shared_ptr so that register_deviance.cc can pass it back to C++
// (DiagnoseReps) from a py::object. The heavy call releases the GIL.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/deviance.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::BehaviourAssessment;
using salesperf::BehaviourCounts;
using salesperf::BehaviourRows;

namespace {

template <typename T>
py::array View(const std::vector<T>& data, py::handle owner, size_t cols = 0) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner, cols);
}

}  // namespace

void register_behaviours(py::module_& m) {
  py::class_<BehaviourRows>(m, "BehaviourRows")
      .def("__len__", &BehaviourRows::size)
#define SALESPERF_ROW(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const BehaviourRows&>().field, self); })
      SALESPERF_ROW(stage) SALESPERF_ROW(present) SALESPERF_ROW(absent) SALESPERF_ROW(advanced_present)
      SALESPERF_ROW(advanced_absent) SALESPERF_ROW(rate_present) SALESPERF_ROW(rate_present_lower)
      SALESPERF_ROW(rate_present_upper) SALESPERF_ROW(rate_absent) SALESPERF_ROW(rate_absent_lower)
      SALESPERF_ROW(rate_absent_upper) SALESPERF_ROW(lift) SALESPERF_ROW(odds_ratio) SALESPERF_ROW(odds_ratio_lower)
      SALESPERF_ROW(odds_ratio_upper) SALESPERF_ROW(p_value) SALESPERF_ROW(q_value) SALESPERF_ROW(tested)
      SALESPERF_ROW(replicate) SALESPERF_ROW(avoid) SALESPERF_ROW(deviant_share) SALESPERF_ROW(peer_share)
      SALESPERF_ROW(deviant_lift) SALESPERF_ROW(deviant_units) SALESPERF_ROW(peer_units)
      SALESPERF_ROW(deviant_unit_share) SALESPERF_ROW(peer_unit_share) SALESPERF_ROW(share_difference)
      SALESPERF_ROW(share_difference_lower) SALESPERF_ROW(share_difference_upper) SALESPERF_ROW(share_p_value)
      SALESPERF_ROW(adjusted_odds_ratio) SALESPERF_ROW(adjusted_lower)
      SALESPERF_ROW(adjusted_upper) SALESPERF_ROW(adjusted_p_value) SALESPERF_ROW(independent)
#undef SALESPERF_ROW
      .def_readonly("feature", &BehaviourRows::feature)
      .def_readonly("description", &BehaviourRows::description)
      .def_readonly("sentence", &BehaviourRows::sentence)
      .def_readonly("explained_by", &BehaviourRows::explained_by);

  py::class_<BehaviourAssessment, std::shared_ptr<BehaviourAssessment>>(m, "BehaviourAssessment")
      .def_readonly("stage_names", &BehaviourAssessment::stage_names)
      .def_readonly("num_open", &BehaviourAssessment::num_open)
      .def_readonly("unit_names", &BehaviourAssessment::unit_names)
      .def_property_readonly("trials",
                             [](py::object self) { return View(self.cast<const BehaviourAssessment&>().trials, self); })
      // rows x units, row-major.
      .def_property_readonly("unit_trials",
                             [](py::object self) {
                               const auto& a = self.cast<const BehaviourAssessment&>();
                               return View(a.unit_trials, self, std::max<size_t>(a.unit_names.size(), 1));
                             })
      .def_property_readonly("unit_present",
                             [](py::object self) {
                               const auto& a = self.cast<const BehaviourAssessment&>();
                               return View(a.unit_present, self, std::max<size_t>(a.unit_names.size(), 1));
                             })
      .def_property_readonly(
          "rows", [](const BehaviourAssessment& a) -> const BehaviourRows& { return a.rows; },
          py::return_value_policy::reference_internal);

  m.def(
      "assess_behaviours",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         int64_t follow_up_window, int64_t min_support, double fdr, double interval,
         std::vector<uint8_t> deviants) {
        salesperf::BehaviourOptions options;
        options.follow_up_window = follow_up_window;
        options.min_support = min_support;
        options.fdr = fdr;
        options.interval = interval;
        options.deviants = std::move(deviants);
        absl::StatusOr<BehaviourAssessment> out;
        {
          py::gil_scoped_release release;
          out = salesperf::AssessBehaviours(log, timelines, units, options);
        }
        return std::make_shared<BehaviourAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("follow_up_window") = 86'400'000'000'000LL,
      py::arg("min_support") = 30, py::arg("fdr") = 0.10, py::arg("interval") = 0.95,
      py::arg("deviants") = std::vector<uint8_t>{});
  // The mergeable counts behind AssessBehaviours (deviance.h).
  py::class_<BehaviourCounts, std::shared_ptr<BehaviourCounts>>(m, "BehaviourCounts")
      .def_property_readonly("stage_names", &BehaviourCounts::stage_names)
      .def_property_readonly("num_open", &BehaviourCounts::num_open)
      .def_property_readonly("follow_up_window", &BehaviourCounts::follow_up_window)
      .def_property_readonly("unit_kind", &BehaviourCounts::unit_kind)
      .def_property_readonly("unit_names", &BehaviourCounts::unit_names)
      .def_property_readonly("feature_names", &BehaviourCounts::feature_names)
      .def_property_readonly("num_cells", &BehaviourCounts::num_cells)
      .def("merge",
           [](const BehaviourCounts& a, const BehaviourCounts& b) {
             auto out = std::make_shared<BehaviourCounts>(a);
             absl::Status s;
             {
               py::gil_scoped_release release;
               s = out->Merge(b);
             }
             if (!s.ok()) salesperf_py::ThrowStatus(s);
             return out;
           })
      .def("serialize", [](const BehaviourCounts& a) { return py::bytes(a.Serialize()); })
      .def_static("deserialize",
                  [](const py::bytes& b) {
                    std::string bytes = b;
                    return std::make_shared<BehaviourCounts>(
                        salesperf_py::ValueOrThrow(BehaviourCounts::Deserialize(bytes)));
                  })
      .def(
          "finalize",
          [](const BehaviourCounts& a, int64_t min_support, double fdr, double interval, std::vector<uint8_t> deviants) {
            salesperf::BehaviourOptions options;
            options.follow_up_window = a.follow_up_window();
            options.min_support = min_support;
            options.fdr = fdr;
            options.interval = interval;
            options.deviants = std::move(deviants);
            absl::StatusOr<BehaviourAssessment> out;
            {
              py::gil_scoped_release release;
              out = a.Finalize(options);
            }
            return std::make_shared<BehaviourAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
          },
          py::arg("min_support") = 30, py::arg("fdr") = 0.10, py::arg("interval") = 0.95,
          py::arg("deviants") = std::vector<uint8_t>{})
      .def("__eq__", [](const BehaviourCounts& a, const BehaviourCounts& b) { return a == b; }, py::is_operator());

  m.def(
      "count_behaviours",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         int64_t follow_up_window) {
        absl::StatusOr<BehaviourCounts> out;
        {
          py::gil_scoped_release release;
          out = BehaviourCounts::Count(log, timelines, units, follow_up_window);
        }
        return std::make_shared<BehaviourCounts>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("follow_up_window") = 86'400'000'000'000LL);
}
