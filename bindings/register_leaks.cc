// Bindings for salesperf/leaks.h: the leak counts (mergeable, bytes), their assessment
// against a benchmark, and the empirical-Bayes concentration. Heavy calls release the
// GIL; the assessment's rows come back as numpy views owned by the C++ object.
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

#include "salesperf/leaks.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::Cohort;
using salesperf::LeakAssessment;
using salesperf::LeakCounts;
using salesperf::LeakRows;

namespace {

template <typename T>
py::array View(const std::vector<T>& data, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner);
}

std::optional<int64_t> Bound(int64_t t) {
  if (t == salesperf::kNullInstant) return std::nullopt;
  return t;
}
int64_t Instant(std::optional<int64_t> t) { return t.has_value() ? *t : salesperf::kNullInstant; }

// A count of the accumulator as a new int64 array: units x cohorts [x stages [x reasons]].
template <typename F>
py::array_t<int64_t> PerUnitCohort(const LeakCounts& c, F f) {
  const auto U = static_cast<py::ssize_t>(c.num_units());
  py::array_t<int64_t> out({U, py::ssize_t{2}});
  auto m = out.mutable_unchecked<2>();
  for (int32_t u = 0; u < c.num_units(); ++u) {
    for (int32_t k = 0; k < 2; ++k) m(u, k) = f(u, static_cast<Cohort>(k));
  }
  return out;
}

template <typename F>
py::array_t<int64_t> PerStage(const LeakCounts& c, F f) {
  const auto U = static_cast<py::ssize_t>(c.num_units());
  const auto O = static_cast<py::ssize_t>(c.num_open());
  py::array_t<int64_t> out({U, py::ssize_t{2}, O});
  auto m = out.mutable_unchecked<3>();
  for (int32_t u = 0; u < c.num_units(); ++u) {
    for (int32_t h = 0; h < 2; ++h) {
      for (int32_t k = 0; k < c.num_open(); ++k) m(u, h, k) = f(u, static_cast<Cohort>(h), k);
    }
  }
  return out;
}

salesperf::Benchmark ParseBenchmark(const std::string& name) {
  for (const auto b : {salesperf::Benchmark::kTeamMedian, salesperf::Benchmark::kTopQuartile,
                       salesperf::Benchmark::kTarget, salesperf::Benchmark::kOwnPast}) {
    if (salesperf::BenchmarkName(b) == name) return b;
  }
  salesperf_py::ThrowStatus(absl::InvalidArgumentError(
      "benchmark must be 'team_median', 'top_quartile', 'target' or 'own_past', not '" + name + "'"));
}

salesperf::ValueBasis ParseValue(const std::string& name) {
  if (name == "unit") return salesperf::ValueBasis::kUnit;
  if (name == "organisation") return salesperf::ValueBasis::kOrganisation;
  salesperf_py::ThrowStatus(
      absl::InvalidArgumentError("value must be 'unit' or 'organisation', not '" + name + "'"));
}

using Int64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

std::span<const int64_t> SpanOf(const Int64Array& a, const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  return std::span<const int64_t>(a.data(), static_cast<size_t>(a.size()));
}

}  // namespace

void register_leaks(py::module_& m) {
  py::class_<LeakCounts, std::shared_ptr<LeakCounts>>(m, "LeakCounts")
      .def_property_readonly("stage_names", &LeakCounts::stage_names)
      .def_property_readonly("num_open", &LeakCounts::num_open)
      .def_property_readonly("unit_kind", &LeakCounts::unit_kind)
      .def_property_readonly("unit_names", &LeakCounts::unit_names)
      .def_property_readonly("reasons", &LeakCounts::reasons)
      .def_property_readonly("cohort_from", [](const LeakCounts& c) { return Bound(c.cohorts().cohort_from); })
      .def_property_readonly("cohort_to", [](const LeakCounts& c) { return Bound(c.cohorts().cohort_to); })
      .def_property_readonly("past_from", [](const LeakCounts& c) { return Bound(c.cohorts().past_from); })
      // Per unit.
      .def_property_readonly("outside", [](const LeakCounts& c) {
        std::vector<int64_t> v;
        for (int32_t u = 0; u < c.num_units(); ++u) v.push_back(c.outside(u));
        return py::array_t<int64_t>(static_cast<py::ssize_t>(v.size()), v.data());
      })
      .def_property_readonly("out_of_window", [](const LeakCounts& c) {
        std::vector<int64_t> v;
        for (int32_t u = 0; u < c.num_units(); ++u) v.push_back(c.out_of_window(u));
        return py::array_t<int64_t>(static_cast<py::ssize_t>(v.size()), v.data());
      })
      // Per unit x cohort (current, past).
      .def_property_readonly("deals", [](const LeakCounts& c) {
        return PerUnitCohort(c, [&](int32_t u, Cohort h) { return c.deals(u, h); });
      })
      .def_property_readonly("won", [](const LeakCounts& c) {
        return PerUnitCohort(c, [&](int32_t u, Cohort h) { return c.won(u, h); });
      })
      .def_property_readonly("valued", [](const LeakCounts& c) {
        return PerUnitCohort(c, [&](int32_t u, Cohort h) { return c.valued(u, h); });
      })
      .def_property_readonly("value", [](const LeakCounts& c) {
        py::array_t<double> out({static_cast<py::ssize_t>(c.num_units()), py::ssize_t{2}});
        auto v = out.mutable_unchecked<2>();
        for (int32_t u = 0; u < c.num_units(); ++u) {
          for (int32_t h = 0; h < 2; ++h) v(u, h) = salesperf::FixedToDollars(c.value_fixed(u, static_cast<Cohort>(h)));
        }
        return out;
      })
      // Per unit x cohort x open stage.
      .def_property_readonly("reached", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.reached(u, h, k); });
      })
      .def_property_readonly("entrants", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.entrants(u, h, k); });
      })
      .def_property_readonly("advanced", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.advanced(u, h, k); });
      })
      .def_property_readonly("stalled", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.stalled(u, h, k); });
      })
      .def_property_readonly("open", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.open(u, h, k); });
      })
      .def_property_readonly("excluded", [](const LeakCounts& c) {
        return PerStage(c, [&](int32_t u, Cohort h, int32_t k) { return c.excluded(u, h, k); });
      })
      // Per unit x cohort x open stage x reason.
      .def_property_readonly("lost", [](const LeakCounts& c) {
        const int32_t O = c.num_open(), R = c.num_reasons();
        py::array_t<int64_t> out({static_cast<py::ssize_t>(c.num_units()), py::ssize_t{2},
                                  static_cast<py::ssize_t>(O), static_cast<py::ssize_t>(R)});
        auto v = out.mutable_unchecked<4>();
        for (int32_t u = 0; u < c.num_units(); ++u) {
          for (int32_t h = 0; h < 2; ++h) {
            for (int32_t k = 0; k < O; ++k) {
              for (int32_t r = 0; r < R; ++r) v(u, h, k, r) = c.lost(u, static_cast<Cohort>(h), k, r);
            }
          }
        }
        return out;
      })
      .def("merge", [](const LeakCounts& a, const LeakCounts& b) {
        auto out = std::make_shared<LeakCounts>(a);
        absl::Status s;
        {
          py::gil_scoped_release release;
          s = out->Merge(b);
        }
        if (!s.ok()) salesperf_py::ThrowStatus(s);
        return out;
      })
      .def("serialize", [](const LeakCounts& a) {
        return py::bytes(salesperf_py::WithoutGil([&] { return a.Serialize(); }));
      })
      .def_static("deserialize", [](const py::bytes& b) {
        std::string bytes = b;
        auto out = salesperf_py::WithoutGil([&] { return LeakCounts::Deserialize(bytes); });
        return std::make_shared<LeakCounts>(salesperf_py::ValueOrThrow(std::move(out)));
      })
      .def("__eq__", [](const LeakCounts& a, const LeakCounts& b) { return a == b; }, py::is_operator(),
           py::call_guard<py::gil_scoped_release>());

  m.def(
      "count_leaks",
      [](const salesperf::EventLog& log, const salesperf::Timelines& timelines, const salesperf::Units& units,
         std::optional<int64_t> cohort_from, std::optional<int64_t> cohort_to, std::optional<int64_t> past_from) {
        const salesperf::LeakCohorts cohorts{Instant(cohort_from), Instant(cohort_to), Instant(past_from)};
        absl::StatusOr<LeakCounts> out;
        {
          py::gil_scoped_release release;
          out = salesperf::CountLeaks(log, timelines, units, cohorts);
        }
        return std::make_shared<LeakCounts>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("units"), py::arg("cohort_from") = py::none(),
      py::arg("cohort_to") = py::none(), py::arg("past_from") = py::none());

  // Rows: numpy views owned by the rows object (which keeps its assessment alive).
  py::class_<LeakRows>(m, "LeakRows")
      .def("__len__", &LeakRows::size)
#define SALESPERF_ROW(field) \
  .def_property_readonly(#field, [](py::object self) { return View(self.cast<const LeakRows&>().field, self); })
      SALESPERF_ROW(unit) SALESPERF_ROW(stage) SALESPERF_ROW(reached) SALESPERF_ROW(entrants)
      SALESPERF_ROW(advanced) SALESPERF_ROW(lost) SALESPERF_ROW(disqualified) SALESPERF_ROW(stalled)
      SALESPERF_ROW(open) SALESPERF_ROW(excluded) SALESPERF_ROW(trials) SALESPERF_ROW(rate)
      SALESPERF_ROW(shrunk_rate) SALESPERF_ROW(benchmark) SALESPERF_ROW(expected) SALESPERF_ROW(shortfall)
      SALESPERF_ROW(shrunk_shortfall) SALESPERF_ROW(shortfall_lower) SALESPERF_ROW(shortfall_upper)
      SALESPERF_ROW(probability_real) SALESPERF_ROW(downstream_win) SALESPERF_ROW(average_value)
      SALESPERF_ROW(dollars) SALESPERF_ROW(shrunk_dollars) SALESPERF_ROW(dollars_lower)
      SALESPERF_ROW(dollars_upper) SALESPERF_ROW(unit_level) SALESPERF_ROW(own_benchmark)
      SALESPERF_ROW(own_shortfall) SALESPERF_ROW(own_probability) SALESPERF_ROW(rank)
#undef SALESPERF_ROW
      .def_property_readonly("flagged", [](py::object self) {
        const auto& r = self.cast<const LeakRows&>();
        py::array a(py::dtype("bool"), {static_cast<py::ssize_t>(r.flagged.size())}, {py::ssize_t{1}},
                    r.flagged.data(), self);
        py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
        return a;
      });

  py::class_<LeakAssessment::ReasonRow>(m, "LeakReason")
      .def_readonly("unit", &LeakAssessment::ReasonRow::unit)
      .def_readonly("stage", &LeakAssessment::ReasonRow::stage)
      .def_readonly("reason", &LeakAssessment::ReasonRow::reason)
      .def_readonly("disqualified", &LeakAssessment::ReasonRow::disqualified)
      .def_readonly("deals", &LeakAssessment::ReasonRow::deals);

  py::class_<LeakAssessment, std::shared_ptr<LeakAssessment>>(m, "LeakAssessment")
      .def_readonly("stage_names", &LeakAssessment::stage_names)
      .def_readonly("num_open", &LeakAssessment::num_open)
      .def_readonly("unit_names", &LeakAssessment::unit_names)
      .def_property_readonly("benchmark",
                             [](const LeakAssessment& a) { return std::string(salesperf::BenchmarkName(a.benchmark)); })
      .def_readonly("pooled_rate", &LeakAssessment::pooled_rate)
      .def_readonly("concentration", &LeakAssessment::concentration)
      .def_readonly("stage_benchmark", &LeakAssessment::stage_benchmark)
      .def_readonly("stage_units", &LeakAssessment::stage_units)
      .def_property_readonly(
          "rows", [](const LeakAssessment& a) -> const LeakRows& { return a.rows; },
          py::return_value_policy::reference_internal)
      .def_readonly("benchmark_wins", &LeakAssessment::benchmark_wins)
      .def_readonly("pending_wins", &LeakAssessment::pending_wins)
      .def_readonly("won", &LeakAssessment::won)
      .def_readonly("gap", &LeakAssessment::gap)
      .def_readonly("gap_dollars", &LeakAssessment::gap_dollars)
      .def_readonly("shrunk_gap_dollars", &LeakAssessment::shrunk_gap_dollars)
      .def_readonly("chance_dollars", &LeakAssessment::chance_dollars)
      .def_readonly("average_value", &LeakAssessment::average_value)
      .def_readonly("reasons", &LeakAssessment::reasons);

  m.def(
      "assess_leaks",
      [](const LeakCounts& counts, const std::string& benchmark, std::optional<std::vector<double>> target,
         std::vector<std::string> disqualify, int64_t min_trials, double interval, double flag_probability,
         double min_relative_shortfall, const std::string& value) {
        salesperf::LeakOptions options;
        options.benchmark = ParseBenchmark(benchmark);
        if (target.has_value()) options.target = std::move(*target);
        options.disqualify = std::move(disqualify);
        options.min_trials = min_trials;
        options.interval = interval;
        options.flag_probability = flag_probability;
        options.min_relative_shortfall = min_relative_shortfall;
        options.value = ParseValue(value);
        absl::StatusOr<LeakAssessment> out;
        {
          py::gil_scoped_release release;
          out = salesperf::AssessLeaks(counts, options);
        }
        return std::make_shared<LeakAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("counts"), py::arg("benchmark") = "team_median", py::arg("target") = py::none(),
      py::arg("disqualify") = std::vector<std::string>{}, py::arg("min_trials") = 10, py::arg("interval") = 0.95,
      py::arg("flag_probability") = 0.95, py::arg("min_relative_shortfall") = 0.0, py::arg("value") = "unit");

  m.def(
      "beta_binomial_concentration",
      [](const Int64Array& converted, const Int64Array& trials) {
        return salesperf_py::ValueOrThrow(
            salesperf::BetaBinomialConcentration(SpanOf(converted, "converted"), SpanOf(trials, "trials")));
      },
      py::arg("converted"), py::arg("trials"));

  m.attr("MIN_CONCENTRATION") = salesperf::kMinConcentration;
  m.attr("MAX_CONCENTRATION") = salesperf::kMaxConcentration;
}
