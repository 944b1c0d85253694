// Bindings for salesperf/targets.h: the plan that works backwards from a revenue
// target (rows as numpy views owned by the C++ plan) and the what-if of adding reps
// against raising a stage; the plan against actual and the key accounts of a territory
// plan. Heavy calls release the GIL.
#include <cstdint>
#include <memory>
#include <optional>
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
using salesperf::KeyAccountRows;
using salesperf::PlanActual;
using salesperf::PlanActualRows;
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

// "bookings" and "revenue" (its alias: no revenue-recognition schedule), "margin", "wins".
salesperf::PlanMetric ParseMetric(const std::string& name, size_t i, const std::string& unit) {
  if (name == "bookings" || name == "revenue") return salesperf::PlanMetric::kBookings;
  if (name == "margin") return salesperf::PlanMetric::kMargin;
  if (name == "wins") return salesperf::PlanMetric::kWins;
  salesperf_py::ThrowStatus(absl::InvalidArgumentError(
      "objective " + std::to_string(i) + " (unit '" + unit + "'), metric: '" + name +
      "' is not 'bookings', 'revenue', 'margin' or 'wins'"));
}

int64_t Instant(std::optional<int64_t> t) { return t.value_or(salesperf::kNullInstant); }

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

  // ---- Plan against actual ------------------------------------------------------------
  py::class_<PlanActualRows>(m, "PlanActualRows")
      .def("__len__", &PlanActualRows::size)
#define SALESPERF_ROW(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const PlanActualRows&>().field, self); })
      SALESPERF_ROW(unit) SALESPERF_ROW(target) SALESPERF_ROW(actual) SALESPERF_ROW(attainment)
      SALESPERF_ROW(elapsed) SALESPERF_ROW(shape) SALESPERF_ROW(expected_to_date) SALESPERF_ROW(pacing)
      SALESPERF_ROW(pipeline_value) SALESPERF_ROW(weighted_pipeline) SALESPERF_ROW(forecast)
      SALESPERF_ROW(forecast_sd) SALESPERF_ROW(coverage) SALESPERF_ROW(gap) SALESPERF_ROW(won_deals)
      SALESPERF_ROW(unvalued_wins) SALESPERF_ROW(open_deals);
#undef SALESPERF_ROW

  py::class_<PlanActual, std::shared_ptr<PlanActual>>(m, "PlanActual")
      .def_readonly("unit_names", &PlanActual::unit_names)
      .def_readonly("as_of", &PlanActual::as_of)
      .def_property_readonly("stage_win_probability",
                             [](py::object self) {
                               return View(self.cast<const PlanActual&>().stage_win_probability, self);
                             })
      .def_property_readonly(
          "rows", [](const PlanActual& p) -> const PlanActualRows& { return p.rows; },
          py::return_value_policy::reference_internal);

  m.def(
      "plan_vs_actual",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         std::vector<std::string> unit, std::vector<std::string> metric, py::array_t<int64_t> period_start,
         py::array_t<int64_t> period_end, py::array_t<double> target, py::array_t<double> margin_rate,
         int32_t shape_periods) {
        const size_t n = unit.size();
        if (metric.size() != n || static_cast<size_t>(period_start.size()) != n ||
            static_cast<size_t>(period_end.size()) != n || static_cast<size_t>(target.size()) != n ||
            static_cast<size_t>(margin_rate.size()) != n) {
          salesperf_py::ThrowStatus(absl::InvalidArgumentError(
              "the objectives' columns (unit, metric, period_start, period_end, target, margin_rate) must have "
              "the same length"));
        }
        if (period_start.ndim() != 1 || period_end.ndim() != 1 || target.ndim() != 1 || margin_rate.ndim() != 1) {
          salesperf_py::ThrowStatus(absl::InvalidArgumentError("the objectives' columns must be one-dimensional"));
        }
        const auto ps = period_start.unchecked<1>();
        const auto pe = period_end.unchecked<1>();
        const auto tg = target.unchecked<1>();
        const auto mr = margin_rate.unchecked<1>();
        std::vector<salesperf::Objective> objectives(n);
        for (size_t i = 0; i < n; ++i) {
          const auto j = static_cast<py::ssize_t>(i);
          salesperf::Objective& o = objectives[i];
          o.unit = std::move(unit[i]);
          o.metric = ParseMetric(metric[i], i, o.unit);
          o.period_start = ps(j);
          o.period_end = pe(j);
          o.target = tg(j);
          o.margin_rate = mr(j);
        }
        salesperf::PlanActualOptions options;
        options.shape_periods = shape_periods;
        absl::StatusOr<PlanActual> out;
        {
          py::gil_scoped_release release;
          out = salesperf::PlanVsActual(log, timelines, units, objectives, options);
        }
        return std::make_shared<PlanActual>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("unit"), py::arg("metric"),
      py::arg("period_start"), py::arg("period_end"), py::arg("target"), py::arg("margin_rate"),
      py::arg("shape_periods") = 8);

  // ---- Key accounts ---------------------------------------------------------------------
  py::class_<KeyAccountRows, std::shared_ptr<KeyAccountRows>>(m, "KeyAccountRows")
      .def("__len__", &KeyAccountRows::size)
#define SALESPERF_ROW(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const KeyAccountRows&>().field, self); })
      SALESPERF_ROW(known) SALESPERF_ROW(touched) SALESPERF_ROW(engaged) SALESPERF_ROW(opened) SALESPERF_ROW(won)
      SALESPERF_ROW(won_value)
#undef SALESPERF_ROW
      .def_readonly("kind", &KeyAccountRows::kind);

  m.def(
      "key_account_progress",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, std::vector<std::string> rep,
         std::vector<std::string> account, std::optional<int64_t> from, std::optional<int64_t> to) {
        if (rep.size() != account.size()) {
          salesperf_py::ThrowStatus(absl::InvalidArgumentError("rep and account must have the same length"));
        }
        std::vector<salesperf::KeyAccount> plan(rep.size());
        for (size_t i = 0; i < rep.size(); ++i) plan[i] = {std::move(rep[i]), std::move(account[i])};
        absl::StatusOr<KeyAccountRows> out;
        {
          py::gil_scoped_release release;
          out = salesperf::KeyAccountProgress(log, timelines, plan, Instant(from), Instant(to));
        }
        return std::make_shared<KeyAccountRows>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("rep"), py::arg("account"), py::arg("from_") = py::none(),
      py::arg("to") = py::none());
}
