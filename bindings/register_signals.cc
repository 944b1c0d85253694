// Bindings for the DATA SIGNALS of salesperf/practices.h: practice_signals, returning
// PracticeSignal rows (the class is bound in register_practices.cc, which module.cc
// registers first). The computation releases the GIL.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/practices.h"
#include "status.h"

namespace py = pybind11;

void register_signals(py::module_& m) {
  const salesperf::SignalOptions defaults;
  m.def(
      "practice_signals",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, std::string qualification_stage,
         std::vector<std::string> support_stages, double support_target_days, int32_t utc_offset_minutes,
         int32_t max_days_without_break, int32_t vacation_days, int64_t forecast_horizon_ns,
         double non_productive_fraction, int64_t min_cases) {
        salesperf::SignalOptions o;
        o.qualification_stage = std::move(qualification_stage);
        o.support_stages = std::move(support_stages);
        o.support_target_days = support_target_days;
        o.utc_offset_minutes = utc_offset_minutes;
        o.max_days_without_break = max_days_without_break;
        o.vacation_days = vacation_days;
        o.forecast_horizon = forecast_horizon_ns;
        o.non_productive_fraction = non_productive_fraction;
        o.min_cases = min_cases;
        absl::StatusOr<std::vector<salesperf::PracticeSignal>> out;
        {
          py::gil_scoped_release release;
          out = salesperf::PracticeSignals(log, timelines, o);
        }
        return salesperf_py::ValueOrThrow(std::move(out));
      },
      py::arg("log"), py::arg("timelines"), py::arg("qualification_stage") = defaults.qualification_stage,
      py::arg("support_stages") = defaults.support_stages,
      py::arg("support_target_days") = defaults.support_target_days,
      py::arg("utc_offset_minutes") = defaults.utc_offset_minutes,
      py::arg("max_days_without_break") = defaults.max_days_without_break,
      py::arg("vacation_days") = defaults.vacation_days,
      py::arg("forecast_horizon_ns") = defaults.forecast_horizon,
      py::arg("non_productive_fraction") = defaults.non_productive_fraction,
      py::arg("min_cases") = defaults.min_cases);
}
