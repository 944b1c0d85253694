// Bindings for salesperf/targets.h: the plan that works backwards from a revenue
// target (rows as numpy views owned by the C++ plan) and the what-if of adding reps
// against raising a stage. Heavy calls release the GIL.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/targets.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::TargetPlan;
using salesperf::TargetRows;
using salesperf::WhatIf;

namespace {

template <typename T>
py::array View(const std::vector<T>& data, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner);
}

salesperf::RateSource ParseRates(const std::string& name) {
  if (name == "unit") return salesperf::RateSource::kUnit;
  if (name == "organisation") return salesperf::RateSource::kOrganisation;
  salesperf_py::ThrowStatus(
      absl::InvalidArgumentError("rates must be 'unit' or 'organisation', not '" + name + "'"));
}

constexpr int64_t kDefaultLookback = 90LL * 86'400'000'000'000LL;

}  // namespace

void register_targets(py::module_& m) {
  // Rows: numpy views owned by the rows object (which keeps its plan alive).
  py::class_<TargetRows>(m, "TargetRows")
      .def("__len__", &TargetRows::size)
#define SALESPERF_ROW(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const TargetRows&>().field, self); })
      SALESPERF_ROW(unit) SALESPERF_ROW(stage) SALESPERF_ROW(target) SALESPERF_ROW(value)
      SALESPERF_ROW(value_se) SALESPERF_ROW(wins_needed) SALESPERF_ROW(rate) SALESPERF_ROW(win_probability)
      SALESPERF_ROW(lag_days) SALESPERF_ROW(entries_needed) SALESPERF_ROW(entries_per_week)
      SALESPERF_ROW(entries_lower) SALESPERF_ROW(entries_upper) SALESPERF_ROW(occurrences_per_entry)
      SALESPERF_ROW(occurrences_per_week) SALESPERF_ROW(needed_from) SALESPERF_ROW(needed_to)
      SALESPERF_ROW(run_rate) SALESPERF_ROW(gap_per_week);
#undef SALESPERF_ROW

  py::class_<TargetPlan, std::shared_ptr<TargetPlan>>(m, "TargetPlan")
      .def_readonly("stage_names", &TargetPlan::stage_names)
      .def_readonly("num_open", &TargetPlan::num_open)
      .def_readonly("unit_names", &TargetPlan::unit_names)
      .def_readonly("weeks", &TargetPlan::weeks)
      .def_property_readonly(
          "rows", [](const TargetPlan& p) -> const TargetRows& { return p.rows; },
          py::return_value_policy::reference_internal);

  m.def(
      "plan_targets",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         int64_t period_start, int64_t period_end, std::vector<std::pair<std::string, double>> targets,
         const std::string& rates, int64_t lookback, int64_t min_won, int32_t draws, uint64_t seed,
         double interval, const salesperf::StageMachine* machine) {
        salesperf::TargetOptions options;
        options.period_start = period_start;
        options.period_end = period_end;
        options.targets = std::move(targets);
        options.rates = ParseRates(rates);
        options.lookback = lookback;
        options.min_won = min_won;
        options.draws = draws;
        options.seed = seed;
        options.interval = interval;
        absl::StatusOr<TargetPlan> out;
        {
          py::gil_scoped_release release;
          out = salesperf::PlanTargets(log, timelines, units, options, machine);
        }
        return std::make_shared<TargetPlan>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("period_start"), py::arg("period_end"),
      py::arg("targets"), py::arg("rates") = "unit", py::arg("lookback") = kDefaultLookback,
      py::arg("min_won") = 5, py::arg("draws") = 2000, py::arg("seed") = 1, py::arg("interval") = 0.8,
      py::arg("machine") = py::none());

  py::class_<WhatIf>(m, "WhatIf")
      .def_readonly("baseline_revenue", &WhatIf::baseline_revenue)
      .def_readonly("add_reps_revenue", &WhatIf::add_reps_revenue)
      .def_readonly("raise_stage_revenue", &WhatIf::raise_stage_revenue)
      .def_readonly("median_unit_weekly", &WhatIf::median_unit_weekly);

  m.def(
      "what_if",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         double horizon_weeks, int32_t add_reps, double ramp_weeks, int32_t stage, double raise, int64_t lookback,
         int64_t min_won) {
        salesperf::WhatIfOptions options;
        options.horizon_weeks = horizon_weeks;
        options.add_reps = add_reps;
        options.ramp_weeks = ramp_weeks;
        options.stage = stage;
        options.raise = raise;
        options.lookback = lookback;
        options.min_won = min_won;
        absl::StatusOr<WhatIf> out;
        {
          py::gil_scoped_release release;
          out = salesperf::WhatIfRevenue(log, timelines, units, options);
        }
        return salesperf_py::ValueOrThrow(std::move(out));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("horizon_weeks") = 52.0,
      py::arg("add_reps") = 1, py::arg("ramp_weeks") = 13.0, py::arg("stage") = 0, py::arg("raise_") = 0.10,
      py::arg("lookback") = kDefaultLookback, py::arg("min_won") = 5);
}
