// Bindings for salesperf/funnel.h: the funnel counts (mergeable, bytes) and the solved
// absorbing chain per unit or for the organisation. Heavy calls release the GIL.
#include <memory>
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/funnel.h"
#include "status.h"

namespace py = pybind11;
using salesperf::FunnelChain;
using salesperf::FunnelCounts;

void register_funnel(py::module_& m) {
  py::class_<FunnelCounts, std::shared_ptr<FunnelCounts>>(m, "FunnelCounts")
      .def_property_readonly("stage_names", &FunnelCounts::stage_names)
      .def_property_readonly("num_open", &FunnelCounts::num_open)
      .def_property_readonly("unit_kind", &FunnelCounts::unit_kind)
      .def_property_readonly("unit_names", &FunnelCounts::unit_names)
      .def_property_readonly("ignored", &FunnelCounts::ignored)
      .def("merge", [](const FunnelCounts& a, const FunnelCounts& b) {
        auto out = std::make_shared<FunnelCounts>(a);
        const absl::Status s = salesperf_py::WithoutGil([&] { return out->Merge(b); });
        if (!s.ok()) salesperf_py::ThrowStatus(s);
        return out;
      })
      .def("serialize", [](const FunnelCounts& a) {
        return py::bytes(salesperf_py::WithoutGil([&] { return a.Serialize(); }));
      })
      .def_static("deserialize", [](const py::bytes& b) {
        std::string bytes = b;
        auto out = salesperf_py::WithoutGil([&] { return FunnelCounts::Deserialize(bytes); });
        return std::make_shared<FunnelCounts>(salesperf_py::ValueOrThrow(std::move(out)));
      })
      .def("__eq__", [](const FunnelCounts& a, const FunnelCounts& b) { return a == b; }, py::is_operator(),
           py::call_guard<py::gil_scoped_release>());

  py::class_<FunnelChain, std::shared_ptr<FunnelChain>>(m, "FunnelChain")
      .def_readonly("stage_names", &FunnelChain::stage_names)
      .def_readonly("num_open", &FunnelChain::num_open)
      .def_readonly("moves", &FunnelChain::moves)
      .def_readonly("probability", &FunnelChain::probability)
      .def_readonly("win_probability", &FunnelChain::win_probability)
      .def_readonly("loss_probability", &FunnelChain::loss_probability)
      .def_readonly("mean_days_in_stage", &FunnelChain::mean_days_in_stage)
      .def_readonly("expected_days_to_close", &FunnelChain::expected_days_to_close)
      .def_readonly("open_deals", &FunnelChain::open_deals)
      .def_readonly("open_dollars", &FunnelChain::open_dollars)
      .def_readonly("expected_open_value", &FunnelChain::expected_open_value)
      .def_readonly("open_deals_unpriced", &FunnelChain::open_deals_unpriced);

  m.def("count_funnel", [](const salesperf::EventLog& log, const salesperf::Timelines& timelines,
                           const salesperf::Units& units) {
    absl::StatusOr<FunnelCounts> out;
    {
      py::gil_scoped_release release;
      out = salesperf::CountFunnel(log, timelines, units);
    }
    return std::make_shared<FunnelCounts>(salesperf_py::ValueOrThrow(std::move(out)));
  });
  m.def("solve_funnel", [](const FunnelCounts& counts, int32_t unit) {
    absl::StatusOr<FunnelChain> out;
    {
      py::gil_scoped_release release;
      out = salesperf::SolveFunnel(counts, unit);
    }
    return std::make_shared<FunnelChain>(salesperf_py::ValueOrThrow(std::move(out)));
  });
}
