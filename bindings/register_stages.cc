// Bindings for StageModel (through its JSON/TOML file forms), Compile and RunStages.
// Results come back as numpy views owned by the Timelines object.
#include <memory>
#include <optional>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/stage_model.h"
#include "salesperf/timelines.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::EventLog;
using salesperf::StageMachine;
using salesperf::StageModel;
using salesperf::Timelines;

namespace {

template <typename T>
py::array View(const salesperf::Column<T>& data, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const T>(data), owner);
}

py::array Matrix(const salesperf::Column<int64_t>& data, size_t cols, py::handle owner) {
  return salesperf_py::ReadOnlyView(std::span<const int64_t>(data), owner, cols);
}

}  // namespace

void register_stages(py::module_& m) {
  py::class_<StageModel>(m, "StageModel")
      .def_static("from_json",
                  [](const std::string& text) {
                    return salesperf_py::ValueOrThrow(StageModel::FromJson(text));
                  })
      .def_static("from_toml",
                  [](const std::string& text) {
                    return salesperf_py::ValueOrThrow(StageModel::FromToml(text));
                  })
      .def("to_json", &StageModel::ToJson)
      .def("to_toml", &StageModel::ToToml)
      .def("validate",
           [](const StageModel& model) {
             if (auto s = model.Validate(); !s.ok()) salesperf_py::ThrowStatus(s);
           })
      .def("__eq__", [](const StageModel& a, const StageModel& b) { return a == b; });

  py::class_<StageMachine, std::shared_ptr<StageMachine>>(m, "StageMachine")
      .def_readonly("stage_names", &StageMachine::stage_names)
      .def_readonly("num_open", &StageMachine::num_open)
      .def_readonly("unused_buyer_actions", &StageMachine::unused_buyer_actions);

  m.def("compile_stages", [](const StageModel& model, const EventLog& log) {
    absl::StatusOr<StageMachine> machine;
    {
      py::gil_scoped_release release;
      machine = salesperf::Compile(model, log);
    }
    return std::make_shared<StageMachine>(salesperf_py::ValueOrThrow(std::move(machine)));
  });

  py::class_<Timelines, std::shared_ptr<Timelines>>(m, "Timelines")
      .def_readonly("stage_names", &Timelines::stage_names)
      .def_readonly("num_open", &Timelines::num_open)
      .def_readonly("as_of", &Timelines::as_of)
      .def_readonly("stall_limit", &Timelines::stall_limit)
      .def_property_readonly("current_stage", [](py::object self) {
        return View(self.cast<const Timelines&>().current_stage, self);
      })
      .def_property_readonly("outcome", [](py::object self) {
        return View(self.cast<const Timelines&>().outcome, self);
      })
      .def_property_readonly("outcome_time", [](py::object self) {
        return View(self.cast<const Timelines&>().outcome_time, self);
      })
      .def_property_readonly("lost_reason", [](py::object self) {
        return View(self.cast<const Timelines&>().lost_reason, self);
      })
      .def_property_readonly("value", [](py::object self) {
        return View(self.cast<const Timelines&>().value, self);
      })
      .def_property_readonly("quiet_since", [](py::object self) {
        return View(self.cast<const Timelines&>().quiet_since, self);
      })
      .def_property_readonly("first_entered", [](py::object self) {
        const Timelines& t = self.cast<const Timelines&>();
        return Matrix(t.first_entered, static_cast<size_t>(t.num_stages()), self);
      })
      .def_property_readonly("last_left", [](py::object self) {
        const Timelines& t = self.cast<const Timelines&>();
        return Matrix(t.last_left, static_cast<size_t>(t.num_stages()), self);
      })
      .def_property_readonly("transitions", [](py::object self) {
        const auto& tr = self.cast<const Timelines&>().transitions;
        py::dict out;
        out["deal"] = View(tr.deal, self);
        out["from"] = View(tr.from, self);
        out["to"] = View(tr.to, self);
        out["time"] = View(tr.time, self);
        out["kind"] = View(tr.kind, self);
        out["in_window"] = View(tr.in_window, self);
        out["action"] = View(tr.action, self);
        return out;
      })
      .def("__eq__", [](const Timelines& a, const Timelines& b) { return a == b; },
           py::call_guard<py::gil_scoped_release>());

  m.def(
      "run_stages",
      [](const StageMachine& machine, const EventLog& log, std::optional<int64_t> as_of,
         int threads) {
        salesperf::RunOptions options;
        options.as_of = as_of;
        options.threads = threads;
        absl::StatusOr<Timelines> out;
        {
          py::gil_scoped_release release;
          out = salesperf::RunStages(machine, log, options);
        }
        return std::make_shared<Timelines>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("machine"), py::arg("log"), py::arg("as_of") = py::none(), py::arg("threads") = 0);

  m.def(
      "update_stages",
      [](const StageMachine& machine, const EventLog& log, const Timelines& previous,
         const py::array_t<int32_t, py::array::c_style | py::array::forcecast>& touched,
         std::optional<int64_t> as_of, int threads) {
        salesperf::RunOptions options;
        options.as_of = as_of;
        options.threads = threads;
        std::span<const int32_t> deals(touched.data(), static_cast<size_t>(touched.size()));
        absl::StatusOr<Timelines> out;
        {
          py::gil_scoped_release release;
          out = salesperf::UpdateStages(machine, log, previous, deals, options);
        }
        return std::make_shared<Timelines>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("machine"), py::arg("log"), py::arg("previous"), py::arg("touched"),
      py::arg("as_of") = py::none(), py::arg("threads") = 0);

  std::vector<std::string> outcomes, kinds;
  for (int k = 0; k <= 4; ++k) outcomes.emplace_back(salesperf::OutcomeName(static_cast<salesperf::Outcome>(k)));
  for (int k = 0; k <= 6; ++k) {
    kinds.emplace_back(salesperf::TransitionKindName(static_cast<salesperf::TransitionKind>(k)));
  }
  m.attr("OUTCOMES") = outcomes;
  m.attr("TRANSITION_KINDS") = kinds;
  m.attr("REASON_STALLED") = salesperf::kReasonStalled;
}
