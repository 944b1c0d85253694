// Bindings for salesperf/deviance.h parts 1 and 3: the positive deviants and the
// skill/will diagnosis (per-unit arrays as numpy views owned by the C++ results).
// Heavy calls release the GIL. The BehaviourAssessment class is registered by
// register_behaviours.cc; diagnose_reps takes it as a plain object (None: no adoption)
// and casts it only when given.
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
using salesperf::DeviantAssessment;
using salesperf::DeviantCounts;
using salesperf::RepDiagnosis;

namespace {

template <typename T>
py::array View(const std::vector<T>& data, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner);
}

}  // namespace

void register_deviance(py::module_& m) {
  py::class_<DeviantAssessment, std::shared_ptr<DeviantAssessment>>(m, "DeviantAssessment")
      .def_readonly("unit_names", &DeviantAssessment::unit_names)
      .def_readonly("coefficient_names", &DeviantAssessment::coefficient_names)
      .def_readonly("reference_levels", &DeviantAssessment::reference_levels)
      .def_readonly("concentration", &DeviantAssessment::concentration)
      .def_readonly("decided_deals", &DeviantAssessment::decided_deals)
#define SALESPERF_ARRAY(field)                                                                   \
  .def_property_readonly(#field, [](py::object self) {                                           \
    return View(self.cast<const DeviantAssessment&>().field, self);                              \
  })
      SALESPERF_ARRAY(coefficients) SALESPERF_ARRAY(decided) SALESPERF_ARRAY(won) SALESPERF_ARRAY(expected)
      SALESPERF_ARRAY(ratio) SALESPERF_ARRAY(won_value) SALESPERF_ARRAY(expected_value)
      SALESPERF_ARRAY(excess_value) SALESPERF_ARRAY(ratio_shrunk) SALESPERF_ARRAY(ratio_lower)
      SALESPERF_ARRAY(ratio_upper) SALESPERF_ARRAY(probability_above) SALESPERF_ARRAY(probability_below)
      SALESPERF_ARRAY(deviant) SALESPERF_ARRAY(rank) SALESPERF_ARRAY(deal_probability);
#undef SALESPERF_ARRAY

  m.def(
      "assess_deviants",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         std::vector<std::string> covariates, double ridge, double interval, double flag_probability,
         double min_effect) {
        salesperf::DeviantOptions options;
        options.covariates = std::move(covariates);
        options.ridge = ridge;
        options.interval = interval;
        options.flag_probability = flag_probability;
        options.min_effect = min_effect;
        absl::StatusOr<DeviantAssessment> out;
        {
          py::gil_scoped_release release;
          out = salesperf::AssessDeviants(log, timelines, units, options);
        }
        return std::make_shared<DeviantAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("covariates") = std::vector<std::string>{},
      py::arg("ridge") = 1.0, py::arg("interval") = 0.95, py::arg("flag_probability") = 0.95,
      py::arg("min_effect") = 0.10);

  // The mergeable counts behind AssessDeviants (deviance.h): count per partition,
  // merge, serialize, and assess the merged counts.
  py::class_<DeviantCounts, std::shared_ptr<DeviantCounts>>(m, "DeviantCounts")
      .def_property_readonly("covariates", &DeviantCounts::covariates)
      .def_property_readonly("unit_kind", &DeviantCounts::unit_kind)
      .def_property_readonly("unit_names", &DeviantCounts::unit_names)
      .def_property_readonly("levels", &DeviantCounts::levels)
      .def_property_readonly("num_cells", &DeviantCounts::num_cells)
      .def_property_readonly("decided_deals", &DeviantCounts::decided_deals)
      .def("merge",
           [](const DeviantCounts& a, const DeviantCounts& b) {
             auto out = std::make_shared<DeviantCounts>(a);
             absl::Status s;
             {
               py::gil_scoped_release release;
               s = out->Merge(b);
             }
             if (!s.ok()) salesperf_py::ThrowStatus(s);
             return out;
           })
      .def("serialize", [](const DeviantCounts& a) { return py::bytes(a.Serialize()); })
      .def_static("deserialize",
                  [](const py::bytes& b) {
                    std::string bytes = b;
                    return std::make_shared<DeviantCounts>(salesperf_py::ValueOrThrow(DeviantCounts::Deserialize(bytes)));
                  })
      .def(
          "finalize",
          [](const DeviantCounts& a, double ridge, double interval, double flag_probability, double min_effect) {
            salesperf::DeviantOptions options;
            options.ridge = ridge;
            options.interval = interval;
            options.flag_probability = flag_probability;
            options.min_effect = min_effect;
            absl::StatusOr<DeviantAssessment> out;
            {
              py::gil_scoped_release release;
              out = a.Finalize(options);
            }
            return std::make_shared<DeviantAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
          },
          py::arg("ridge") = 1.0, py::arg("interval") = 0.95, py::arg("flag_probability") = 0.95,
          py::arg("min_effect") = 0.10)
      .def("__eq__", [](const DeviantCounts& a, const DeviantCounts& b) { return a == b; }, py::is_operator());

  m.def(
      "count_deviants",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         std::vector<std::string> covariates) {
        absl::StatusOr<DeviantCounts> out;
        {
          py::gil_scoped_release release;
          out = DeviantCounts::Count(log, timelines, units, covariates);
        }
        return std::make_shared<DeviantCounts>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("covariates") = std::vector<std::string>{});

  py::class_<RepDiagnosis, std::shared_ptr<RepDiagnosis>>(m, "RepDiagnosis")
      .def_readonly("unit_names", &RepDiagnosis::unit_names)
      .def_readonly("peer_volume", &RepDiagnosis::peer_volume)
      .def_readonly("methods_question", &RepDiagnosis::methods_question)
      .def_readonly("know_how", &RepDiagnosis::know_how)
      .def_readonly("want_to", &RepDiagnosis::want_to)
      .def_readonly("understands_metrics", &RepDiagnosis::understands_metrics)
      .def_readonly("know_how_evidence", &RepDiagnosis::know_how_evidence)
      .def_readonly("want_to_evidence", &RepDiagnosis::want_to_evidence)
      .def_readonly("understands_metrics_evidence", &RepDiagnosis::understands_metrics_evidence)
      .def_readonly("quadrant", &RepDiagnosis::quadrant)
#define SALESPERF_ARRAY(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const RepDiagnosis&>().field, self); })
      SALESPERF_ARRAY(active_weeks) SALESPERF_ARRAY(activities) SALESPERF_ARRAY(volume)
      SALESPERF_ARRAY(volume_ratio) SALESPERF_ARRAY(volume_lower) SALESPERF_ARRAY(volume_upper)
      SALESPERF_ARRAY(conversion) SALESPERF_ARRAY(conversion_lower) SALESPERF_ARRAY(conversion_upper)
      SALESPERF_ARRAY(adoption_present) SALESPERF_ARRAY(adoption_expected) SALESPERF_ARRAY(adoption_ratio)
      SALESPERF_ARRAY(adoption_lower) SALESPERF_ARRAY(adoption_upper) SALESPERF_ARRAY(non_productive);
#undef SALESPERF_ARRAY

  m.def(
      "diagnose_reps",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         const DeviantAssessment& deviants, py::object behaviours, double min_weeks, double min_gap,
         double interval, double flag_probability) {
        salesperf::DiagnosisOptions options;
        options.min_weeks = min_weeks;
        options.min_gap = min_gap;
        options.interval = interval;
        options.flag_probability = flag_probability;
        // Cast while holding the GIL; the object (and so the assessment) outlives the call.
        const salesperf::BehaviourAssessment* beh =
            behaviours.is_none() ? nullptr : &behaviours.cast<const salesperf::BehaviourAssessment&>();
        absl::StatusOr<RepDiagnosis> out;
        {
          py::gil_scoped_release release;
          out = salesperf::DiagnoseReps(log, timelines, units, deviants, beh, options);
        }
        return std::make_shared<RepDiagnosis>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("deviants"),
      py::arg("behaviours") = py::none(), py::arg("min_weeks") = 4.0, py::arg("min_gap") = 0.2,
      py::arg("interval") = 0.95, py::arg("flag_probability") = 0.95);
}
