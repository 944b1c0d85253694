// The one extension module, salesperf._core: each area registers itself from its
// own file; this file only wires them and the error translator together.
#include <pybind11/pybind11.h>

#include "status.h"

namespace py = pybind11;

void register_event_log(py::module_& m);
void register_synth(py::module_& m);
void register_stages(py::module_& m);
void register_calendar(py::module_& m);
void register_stats(py::module_& m);
void register_indicators(py::module_& m);
void register_funnel(py::module_& m);
void register_leaks(py::module_& m);
void register_targets(py::module_& m);
void register_deviance(py::module_& m);
void register_behaviours(py::module_& m);
void register_practices(py::module_& m);
void register_signals(py::module_& m);
void register_memory(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "salesperf's compiled core; use the salesperf package, not this module.";
  m.attr("__version__") = SALESPERF_VERSION;
  salesperf_py::RegisterStatusTranslator(m);
  register_event_log(m);
  register_synth(m);
  register_stages(m);
  register_calendar(m);
  register_stats(m);
  register_indicators(m);
  register_funnel(m);
  register_leaks(m);
  register_targets(m);
  register_behaviours(m);
  register_deviance(m);  // after register_behaviours: DiagnoseReps takes its result
  register_practices(m);
  register_memory(m);
  register_signals(m);  // after register_practices: returns its PracticeSignal
}
