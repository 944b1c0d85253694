// Bindings for salesperf/indicators.h: units, the Indicators accumulator (merge,
// roll-up, bytes), its table and trends, and deal warnings. Heavy calls release the
// GIL; tables come back as numpy views owned by the C++ table object.
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

#include "salesperf/indicators.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::EventLog;
using salesperf::Indicators;
using salesperf::IndicatorTable;
using salesperf::StageMachine;
using salesperf::Timelines;
using salesperf::Units;

namespace {

template <typename T>
py::array View(const salesperf::Column<T>& data, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner);
}

using Int32Array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

std::span<const int32_t> SpanOf(const Int32Array& a, const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
  return std::span<const int32_t>(a.data(), static_cast<size_t>(a.size()));
}

salesperf::OwnerRule ParseOwner(const std::string& owner) {
  if (owner == "most_active") return salesperf::OwnerRule::kMostActive;
  if (owner == "first") return salesperf::OwnerRule::kFirst;
  if (owner == "last") return salesperf::OwnerRule::kLast;
  salesperf_py::ThrowStatus(absl::InvalidArgumentError(
      "owner must be 'most_active', 'first' or 'last', not '" + owner + "'"));
}

}  // namespace

void register_indicators(py::module_& m) {
  py::class_<Units, std::shared_ptr<Units>>(m, "Units")
      .def_readonly("kind", &Units::kind)
      .def_readonly("names", &Units::names)
      .def_property_readonly("of_deal", [](py::object self) {
        return View(self.cast<const Units&>().of_deal, self);
      });

  m.def("units_by_rep", [](const EventLog& log, const std::string& owner) {
    const salesperf::OwnerRule rule = ParseOwner(owner);
    auto out = salesperf_py::WithoutGil([&] { return salesperf::UnitsByRep(log, rule); });
    return std::make_shared<Units>(salesperf_py::ValueOrThrow(std::move(out)));
  }, py::arg("log"), py::arg("owner") = "most_active");
  m.def("units_by_dimension", [](const EventLog& log, const std::string& dimension) {
    auto out = salesperf_py::WithoutGil([&] { return salesperf::UnitsByDimension(log, dimension); });
    return std::make_shared<Units>(salesperf_py::ValueOrThrow(std::move(out)));
  });
  m.def("single_unit", [](const EventLog& log, const std::string& name) {
    return std::make_shared<Units>(salesperf::SingleUnit(log, name));
  }, py::arg("log"), py::arg("name") = "all");
  m.def("units_from_codes", [](const EventLog& log, const Int32Array& codes,
                               std::vector<std::string> names, std::string kind) {
    const auto span = SpanOf(codes, "codes");
    auto out = salesperf_py::WithoutGil(
        [&] { return salesperf::UnitsFromCodes(log, span, std::move(names), std::move(kind)); });
    return std::make_shared<Units>(salesperf_py::ValueOrThrow(std::move(out)));
  });

  py::class_<Indicators, std::shared_ptr<Indicators>>(m, "Indicators")
      .def_property_readonly("calendar_spec", [](const Indicators& i) { return i.calendar().Spec(); })
      .def_property_readonly("as_of", &Indicators::as_of)
      .def_property_readonly("response_window", &Indicators::response_window)
      .def_property_readonly("duration_resolution", &Indicators::duration_resolution)
      .def_property_readonly("stage_names", &Indicators::stage_names)
      .def_property_readonly("num_open", &Indicators::num_open)
      .def_property_readonly("windows", &Indicators::windows)
      .def_property_readonly("unit_kind", &Indicators::unit_kind)
      .def_property_readonly("unit_names", &Indicators::unit_names)
      .def_property_readonly("action_names", &Indicators::action_names)
      .def_property_readonly("num_cells", &Indicators::num_cells)
      .def("merge", [](const Indicators& a, const Indicators& b) {
        auto out = std::make_shared<Indicators>(a);
        absl::Status s;
        {
          py::gil_scoped_release release;
          s = out->Merge(b);
        }
        if (!s.ok()) salesperf_py::ThrowStatus(s);
        return out;
      })
      .def("rollup", [](const Indicators& a, const Int32Array& parent, std::vector<std::string> names,
                        std::string kind) {
        const auto span = SpanOf(parent, "parent");
        auto out = salesperf_py::WithoutGil([&] { return a.RollUp(span, std::move(names), std::move(kind)); });
        return std::make_shared<Indicators>(salesperf_py::ValueOrThrow(std::move(out)));
      })
      .def("serialize", [](const Indicators& a) {
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = a.Serialize();
        }
        return py::bytes(bytes);
      })
      .def_static("deserialize", [](const py::bytes& b) {
        std::string bytes = b;
        absl::StatusOr<Indicators> out;
        {
          py::gil_scoped_release release;
          out = Indicators::Deserialize(bytes);
        }
        return std::make_shared<Indicators>(salesperf_py::ValueOrThrow(std::move(out)));
      })
      .def("__eq__", [](const Indicators& a, const Indicators& b) { return a == b; }, py::is_operator(),
           py::call_guard<py::gil_scoped_release>());

  m.def(
      "compute_indicators",
      [](const StageMachine& machine, const EventLog& log, const Timelines& timelines,
         const Units& units, const std::string& calendar, std::optional<int64_t> conversion_window,
         int64_t response_window, int64_t resolution, int threads) {
        salesperf::IndicatorOptions options;
        options.calendar = salesperf_py::ValueOrThrow(salesperf::Calendar::Parse(calendar));
        options.conversion_window = conversion_window;
        options.response_window = response_window;
        options.duration_resolution = resolution;
        options.threads = threads;
        absl::StatusOr<Indicators> out;
        {
          py::gil_scoped_release release;
          out = salesperf::ComputeIndicators(machine, log, timelines, units, options);
        }
        return std::make_shared<Indicators>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("machine"), py::arg("log"), py::arg("timelines"), py::arg("units"),
      py::arg("calendar"), py::arg("conversion_window"), py::arg("response_window"),
      py::arg("resolution"), py::arg("threads") = 0);

  py::class_<IndicatorTable, std::shared_ptr<IndicatorTable>>(m, "IndicatorTable")
      .def_readonly("unit_names", &IndicatorTable::unit_names)
      .def_readonly("period_labels", &IndicatorTable::period_labels)
      .def_readonly("period_index", &IndicatorTable::period_index)
      .def_readonly("indicator_names", &IndicatorTable::indicator_names)
      .def("columns", [](py::object self) {
        const auto& t = self.cast<const IndicatorTable&>();
        py::dict out;
        out["unit"] = View(t.unit, self);
        out["period"] = View(t.period, self);
        out["indicator"] = View(t.indicator, self);
        out["value"] = View(t.value, self);
        out["lower"] = View(t.lower, self);
        out["upper"] = View(t.upper, self);
        out["n"] = View(t.n, self);
        out["previous"] = View(t.previous, self);
        out["p_change"] = View(t.p_change, self);
        out["immature"] = View(t.immature, self);
        return out;
      });

  m.def(
      "make_table",
      [](const Indicators& ind, double confidence, bool include_all) {
        salesperf::TableOptions options;
        options.confidence = confidence;
        options.include_all_periods = include_all;
        absl::StatusOr<IndicatorTable> out;
        {
          py::gil_scoped_release release;
          out = salesperf::MakeTable(ind, options);
        }
        return std::make_shared<IndicatorTable>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("indicators"), py::arg("confidence") = 0.95, py::arg("include_all") = true);

  py::class_<salesperf::TrendTable, std::shared_ptr<salesperf::TrendTable>>(m, "TrendTable")
      .def_readonly("unit_names", &salesperf::TrendTable::unit_names)
      .def_readonly("indicator_names", &salesperf::TrendTable::indicator_names)
      .def("columns", [](py::object self) {
        const auto& t = self.cast<const salesperf::TrendTable&>();
        py::dict out;
        out["unit"] = View(t.unit, self);
        out["indicator"] = View(t.indicator, self);
        out["slope"] = View(t.slope, self);
        out["lower"] = View(t.lower, self);
        out["upper"] = View(t.upper, self);
        out["n"] = View(t.n, self);
        out["last"] = View(t.last, self);
        return out;
      });

  m.def(
      "make_trends",
      [](const IndicatorTable& table, int periods, double confidence) {
        auto out = salesperf_py::WithoutGil([&] { return salesperf::MakeTrends(table, periods, confidence); });
        return std::make_shared<salesperf::TrendTable>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("table"), py::arg("periods") = 6, py::arg("confidence") = 0.95);

  py::class_<salesperf::DealWarnings, std::shared_ptr<salesperf::DealWarnings>>(m, "DealWarnings")
      .def("columns", [](py::object self) {
        const auto& w = self.cast<const salesperf::DealWarnings&>();
        py::dict out;
        out["deal"] = View(w.deal, self);
        out["stage"] = View(w.stage, self);
        out["stalled"] = View(w.stalled, self);
        out["dark"] = View(w.dark, self);
        out["single_threaded"] = View(w.single_threaded, self);
        out["no_decision_maker"] = View(w.no_decision_maker, self);
        out["quiet_days"] = View(w.quiet_days, self);
        out["normal_days"] = View(w.normal_days, self);
        return out;
      });

  m.def(
      "find_deal_warnings",
      [](const EventLog& log, const Timelines& timelines, double dark_percentile,
         std::vector<std::string> roles) {
        salesperf::WarningOptions options;
        options.dark_percentile = dark_percentile;
        options.decision_maker_roles = std::move(roles);
        absl::StatusOr<salesperf::DealWarnings> out;
        {
          py::gil_scoped_release release;
          out = salesperf::FindDealWarnings(log, timelines, options);
        }
        return std::make_shared<salesperf::DealWarnings>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("log"), py::arg("timelines"), py::arg("dark_percentile") = 90.0,
      py::arg("decision_maker_roles") = std::vector<std::string>{"decision_maker"});

  m.attr("DOLLAR_SCALE") = salesperf::kDollarScale;
}
