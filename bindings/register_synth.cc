// Python binding of the synthetic company (salesperf/synth.h): one function,
// generate_company, returning plain dicts of numpy arrays and lists that
// python/salesperf/synth.py turns into DataFrames.
//
// The numpy arrays are read-only views of the generated columns, without a copy: the
// SyntheticCompany is moved into a shared_ptr that a capsule keeps alive for as long
// as any of the arrays is.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/synth.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;

namespace {

using Company = salesperf::SyntheticCompany;

template <typename T>
py::array View(std::span<const T> values, const py::object& owner) {
  return salesperf_py::ReadOnlyView(values, owner);
}

template <typename T>
py::array Copy(const std::vector<T>& values) {
  return py::array_t<T>(static_cast<py::ssize_t>(values.size()), values.data());
}

py::list Strings(const std::vector<std::string>& values) {
  py::list out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = py::str(values[i]);
  return out;
}

py::object StageName(int32_t stage) {
  if (stage < 0) return py::none();
  return py::str(std::string(salesperf::kSynthStageNames[stage]));
}

py::dict ToPython(std::shared_ptr<const Company> company) {
  const Company& c = *company;
  py::capsule owner(new std::shared_ptr<const Company>(std::move(company)), [](void* p) {
    delete static_cast<std::shared_ptr<const Company>*>(p);
  });

  py::dict columns, labels;
  for (const salesperf::SynthIdColumn& col : c.id_columns()) {
    columns[py::str(col.name)] =
        View(std::span<const int64_t>(col.codes.data(), col.codes.size()), owner);
    labels[py::str(col.name)] = Strings(col.labels);
  }
  columns["time"] = View(c.time(), owner);
  columns["amount"] = View(c.amount(), owner);

  py::list vocabulary;
  for (const auto& [action, actor] : c.vocabulary().actions()) {
    vocabulary.append(py::make_tuple(action, std::string(salesperf::ActorName(actor))));
  }

  const salesperf::RepTruth& r = c.reps();
  py::dict reps;
  reps["rep"] = Strings(r.rep);
  reps["team"] = Copy(r.team);
  reps["territory"] = Copy(r.territory);
  reps["skill"] = Copy(r.skill);
  reps["will"] = Copy(r.will);
  reps["leak_stage"] = Copy(r.leak_stage);
  py::list leak_stage_name;
  for (int32_t s : r.leak_stage) leak_stage_name.append(StageName(s));
  reps["leak_stage_name"] = leak_stage_name;
  reps["leak_factor"] = Copy(r.leak_factor);

  py::list behaviours;
  for (const salesperf::BehaviourTruth& b : c.behaviours()) {
    py::dict d;
    d["name"] = b.name;
    d["description"] = b.description;
    d["transition"] = b.transition;
    d["transition_name"] = StageName(b.transition);
    d["effect"] = b.effect;
    d["propensity"] = Copy(b.propensity);
    py::array_t<bool> practised(static_cast<py::ssize_t>(b.practised.size()));
    for (size_t i = 0; i < b.practised.size(); ++i) practised.mutable_at(i) = b.practised[i] != 0;
    d["practised"] = practised;
    behaviours.append(d);
  }

  py::list outcomes;
  for (int i = 0; i < 4; ++i) {
    static constexpr const char* kNames[] = {"won", "lost", "dark", "open"};
    outcomes.append(kNames[i]);
  }
  py::list stages;
  for (std::string_view s : salesperf::kSynthStageNames) stages.append(std::string(s));

  py::dict out;
  out["columns"] = columns;
  out["labels"] = labels;
  out["vocabulary"] = vocabulary;
  out["rep_truth"] = reps;
  out["behaviour_truth"] = behaviours;
  out["deal_outcome"] = View(c.deal_outcome(), owner);
  out["outcome_labels"] = outcomes;
  out["stages"] = stages;
  out["period"] = py::make_tuple(c.options().start_time, c.period_end());
  return out;
}

}  // namespace

void register_synth(py::module_& m) {
  m.def(
      "generate_company",
      [](uint64_t seed, int64_t events, int32_t reps, int32_t teams, int32_t territories,
         int64_t start_time_ns, int32_t days, int threads) {
        salesperf::SynthOptions o;
        o.seed = seed;
        o.events = events;
        o.reps = reps;
        o.teams = teams;
        o.territories = territories;
        o.start_time = start_time_ns;
        o.days = days;
        o.threads = threads;
        absl::StatusOr<Company> company = absl::InternalError("not run");
        {
          py::gil_scoped_release release;
          company = salesperf::GenerateCompany(o);
        }
        if (!company.ok()) salesperf_py::ThrowStatus(company.status());
        return ToPython(std::make_shared<const Company>(*std::move(company)));
      },
      py::arg("seed") = 7, py::arg("events") = 100'000, py::arg("reps") = 24,
      py::arg("teams") = 4, py::arg("territories") = 4,
      py::arg("start_time_ns") = salesperf::kSynthDefaultStart, py::arg("days") = 730,
      py::arg("threads") = 0,
      R"doc(Generates a synthetic B2B sales company's event log (see salesperf/synth.h).

Returns a dict: "columns" (name -> read-only numpy array: id codes, "time" as int64
UTC ns, "amount"), "labels" (id column -> list of str), "vocabulary" (list of
(action, actor)), "rep_truth" (planted per-rep truths), "behaviour_truth" (list of
dicts), "deal_outcome" (uint8 per deal, codes into "outcome_labels"), "stages" and
"period" (start, end) in UTC ns. Deterministic for a seed, whatever `threads`.
Raises salesperf.InvalidArgumentError (a ValueError) naming a bad option.)doc");
}
