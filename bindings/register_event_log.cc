// Bindings for Vocabulary, EventLog, IngestReport and Ingest: numpy buffers in
// (no copy when dtype and layout already match), numpy views out (the EventLog
// owns the memory and is each array's base), the GIL released while ingesting.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/event_log.h"
#include "arrays.h"
#include "status.h"

namespace py = pybind11;
using salesperf::Actor;
using salesperf::Dictionary;
using salesperf::EventLog;
using salesperf::IngestReport;
using salesperf::Vocabulary;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Keeps the Python buffers of one id column alive while C++ reads them.
struct HeldId {
  Array<int64_t> values;
  std::optional<Array<uint8_t>> valid;
  std::vector<std::string> labels;
  bool coded = false;

  salesperf::IdColumn View() const {
    salesperf::IdColumn c;
    c.values = std::span<const int64_t>(values.data(), static_cast<size_t>(values.size()));
    if (valid) c.valid = std::span<const uint8_t>(valid->data(), static_cast<size_t>(valid->size()));
    c.labels = labels;
    c.coded = coded;
    return c;
  }
};

// A column spec from Python: None, or (values, valid_or_None, labels_or_None).
std::optional<HeldId> HoldId(const py::handle& spec, const char* name) {
  if (spec.is_none()) return std::nullopt;
  auto t = py::reinterpret_borrow<py::tuple>(spec);
  if (t.size() != 3) {
    throw py::value_error(std::string("column spec for '") + name +
                          "' must be (values, valid, labels)");
  }
  HeldId h;
  h.values = Array<int64_t>::ensure(t[0]);
  if (!h.values) throw py::type_error(std::string("column '") + name + "': values must be integers");
  if (h.values.ndim() != 1) throw py::value_error(std::string("column '") + name + "' must be 1-D");
  if (!t[1].is_none()) h.valid = Array<uint8_t>::ensure(t[1]);
  if (!t[2].is_none()) {
    h.labels = t[2].cast<std::vector<std::string>>();
    h.coded = true;
  }
  return h;
}

template <typename T>
py::array View(std::span<const T> data, py::handle owner) {
  return salesperf_py::ReadOnlyView(data, owner);
}

py::object DictionaryValues(const Dictionary& d) {
  if (d.is_integer()) {
    return py::array_t<int64_t>(static_cast<py::ssize_t>(d.ints().size()), d.ints().data());
  }
  return py::cast(d.strings());
}

}  // namespace

void register_event_log(py::module_& m) {
  py::enum_<Actor>(m, "Actor")
      .value("BUYER", Actor::kBuyer)
      .value("SELLER", Actor::kSeller)
      .value("SYSTEM", Actor::kSystem);

  py::class_<Vocabulary>(m, "Vocabulary")
      .def(py::init<>())
      .def("add",
           [](Vocabulary& v, const std::string& action, const std::string& actor) {
             auto a = salesperf_py::ValueOrThrow(salesperf::ParseActor(actor));
             if (auto s = v.Add(action, a); !s.ok()) salesperf_py::ThrowStatus(s);
           })
      .def("add_prefix",
           [](Vocabulary& v, const std::string& prefix, const std::string& actor) {
             auto a = salesperf_py::ValueOrThrow(salesperf::ParseActor(actor));
             if (auto s = v.AddPrefix(prefix, a); !s.ok()) salesperf_py::ThrowStatus(s);
           })
      .def("resolve",
           [](const Vocabulary& v, const std::string& action) -> std::optional<std::string> {
             auto a = v.Resolve(action);
             if (!a) return std::nullopt;
             return std::string(salesperf::ActorName(*a));
           })
      .def_property_readonly("actions",
                             [](const Vocabulary& v) {
                               std::vector<std::pair<std::string, std::string>> out;
                               for (const auto& [name, actor] : v.actions()) {
                                 out.emplace_back(name, std::string(salesperf::ActorName(actor)));
                               }
                               return out;
                             })
      .def_property_readonly("prefixes", [](const Vocabulary& v) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& r : v.prefixes()) {
          out.emplace_back(r.prefix, std::string(salesperf::ActorName(r.actor)));
        }
        return out;
      });

  py::class_<IngestReport>(m, "IngestReport")
      .def_readonly("rows_in", &IngestReport::rows_in)
      .def_readonly("rows_accepted", &IngestReport::rows_accepted)
      .def_readonly("rows_rejected", &IngestReport::rows_rejected)
      .def_readonly("input_was_sorted", &IngestReport::input_was_sorted)
      .def_readonly("deals", &IngestReport::deals)
      .def_readonly("unknown_actions", &IngestReport::unknown_actions)
      .def_readonly("prefix_matched_actions", &IngestReport::prefix_matched_actions)
      .def("summary", &IngestReport::Summary)
      .def_property_readonly("rejected_by_reason",
                             [](const IngestReport& r) {
                               py::dict out;
                               for (int k = 0; k < salesperf::kNumRejectReasons; ++k) {
                                 auto reason = static_cast<salesperf::RejectReason>(k);
                                 out[py::str(std::string(salesperf::RejectReasonName(reason)))] =
                                     r.rejected_by_reason[k];
                               }
                               return out;
                             })
      .def_property_readonly("rejected_rows", [](const IngestReport& r) {
        const size_t n = r.rejected.size();
        py::array_t<int64_t> row(static_cast<py::ssize_t>(n)), dup(static_cast<py::ssize_t>(n));
        py::array_t<uint8_t> reason(static_cast<py::ssize_t>(n));
        auto rw = row.mutable_unchecked<1>();
        auto dw = dup.mutable_unchecked<1>();
        auto cw = reason.mutable_unchecked<1>();
        for (size_t i = 0; i < n; ++i) {
          const auto k = static_cast<py::ssize_t>(i);
          rw(k) = r.rejected[i].row;
          dw(k) = r.rejected[i].duplicate_of;
          cw(k) = static_cast<uint8_t>(r.rejected[i].reason);
        }
        return py::make_tuple(row, reason, dup);
      });

  std::vector<std::pair<std::string, std::string>> reasons;
  for (int k = 0; k < salesperf::kNumRejectReasons; ++k) {
    auto reason = static_cast<salesperf::RejectReason>(k);
    reasons.emplace_back(std::string(salesperf::RejectReasonName(reason)),
                         std::string(salesperf::RejectReasonColumn(reason)));
  }
  m.attr("REJECT_REASONS") = reasons;

  py::class_<EventLog, std::shared_ptr<EventLog>>(m, "EventLog")
      .def("__len__", &EventLog::size)
      .def_property_readonly("num_deals", &EventLog::num_deals)
      .def_property_readonly("deal", [](py::object self) {
        return View(self.cast<const EventLog&>().deal(), self);
      })
      .def_property_readonly("time", [](py::object self) {
        return View(self.cast<const EventLog&>().time(), self);
      })
      .def_property_readonly("action", [](py::object self) {
        return View(self.cast<const EventLog&>().action(), self);
      })
      .def_property_readonly("row", [](py::object self) {
        return View(self.cast<const EventLog&>().row(), self);
      })
      .def_property_readonly("deal_offsets", [](py::object self) {
        return View(self.cast<const EventLog&>().deal_offsets(), self);
      })
      .def_property_readonly("action_actors", [](py::object self) {
        return View(self.cast<const EventLog&>().action_actors(), self);
      })
      .def("optional_column",
           [](py::object self, const std::string& name) -> py::object {
             const EventLog& log = self.cast<const EventLog&>();
             std::span<const int32_t> c;
             if (name == "rep") c = log.rep();
             else if (name == "account") c = log.account();
             else if (name == "contact") c = log.contact();
             else if (name == "contact_role") c = log.contact_role();
             else if (name == "amount") {
               if (log.amount().empty()) return py::none();
               return View(log.amount(), self);
             } else {
               throw py::key_error(name);
             }
             if (c.empty()) return py::none();
             return View(c, self);
           })
      .def("dictionary",
           [](const EventLog& log, const std::string& name) -> py::object {
             if (name == "deal") return DictionaryValues(log.deals());
             if (name == "action") return DictionaryValues(log.actions());
             if (name == "rep") return DictionaryValues(log.reps());
             if (name == "account") return DictionaryValues(log.accounts());
             if (name == "contact") return DictionaryValues(log.contacts());
             if (name == "contact_role") return DictionaryValues(log.contact_roles());
             throw py::key_error(name);
           })
      .def_property_readonly("dimension_names",
                             [](const EventLog& log) {
                               std::vector<std::string> out;
                               for (const auto& d : log.dimensions()) out.push_back(d.name);
                               return out;
                             })
      .def("dimension",
           [](py::object self, size_t i) {
             const EventLog& log = self.cast<const EventLog&>();
             if (i >= log.dimensions().size()) throw py::index_error("no such dimension");
             const auto& d = log.dimensions()[i];
             return py::make_tuple(View(std::span<const int32_t>(d.codes), self),
                                   DictionaryValues(d.dictionary));
           })
      .def_property_readonly("vocabulary", [](const EventLog& log) { return log.vocabulary(); });

  m.def("append_events", [](const EventLog& base, const EventLog& batch) {
    absl::StatusOr<salesperf::Appended> out;
    {
      py::gil_scoped_release release;
      out = salesperf::AppendEvents(base, batch);
    }
    salesperf::Appended a = salesperf_py::ValueOrThrow(std::move(out));
    py::array_t<int32_t> touched(static_cast<py::ssize_t>(a.touched_deals.size()), a.touched_deals.data());
    py::array_t<int64_t> dups(static_cast<py::ssize_t>(a.duplicate_rows.size()), a.duplicate_rows.data());
    return py::make_tuple(std::make_shared<EventLog>(std::move(a.log)), touched, dups);
  });

  m.def(
      "ingest",
      [](const py::dict& columns, const Vocabulary& vocabulary, int64_t min_time, int64_t max_time,
         bool nan_amount_is_null, bool allow_negative_amount, bool strict, int threads) {
        auto get = [&](const char* key) -> py::object {
          return columns.contains(key) ? py::object(columns[key]) : py::object(py::none());
        };
        std::optional<HeldId> deal = HoldId(get("deal"), "deal");
        std::optional<HeldId> action = HoldId(get("action"), "action");
        std::optional<HeldId> rep = HoldId(get("rep"), "rep");
        std::optional<HeldId> account = HoldId(get("account"), "account");
        std::optional<HeldId> contact = HoldId(get("contact"), "contact");
        std::optional<HeldId> role = HoldId(get("contact_role"), "contact_role");
        std::vector<std::pair<std::string, HeldId>> dims;
        if (!get("dimensions").is_none()) {
          for (py::handle item : get("dimensions")) {
            auto t = py::reinterpret_borrow<py::tuple>(item);
            std::string name = t[0].cast<std::string>();
            auto held = HoldId(t[1], name.c_str());
            if (!held) throw py::value_error("dimension '" + name + "' has no values");
            dims.emplace_back(name, std::move(*held));
          }
        }
        Array<int64_t> time = Array<int64_t>::ensure(get("time"));
        if (!time) throw py::type_error("column 'time' must be int64 nanoseconds");
        std::optional<Array<uint8_t>> flags, amount_valid;
        std::optional<Array<double>> amount;
        if (!get("time_flags").is_none()) flags = Array<uint8_t>::ensure(get("time_flags"));
        if (!get("amount").is_none()) amount = Array<double>::ensure(get("amount"));
        if (!get("amount_valid").is_none()) amount_valid = Array<uint8_t>::ensure(get("amount_valid"));

        salesperf::EventColumns in;
        if (deal) in.deal = deal->View();
        if (action) in.action = action->View();
        if (rep) in.rep = rep->View();
        if (account) in.account = account->View();
        if (contact) in.contact = contact->View();
        if (role) in.contact_role = role->View();
        for (const auto& [name, held] : dims) in.dimensions.emplace_back(name, held.View());
        in.time = std::span<const int64_t>(time.data(), static_cast<size_t>(time.size()));
        if (flags) in.time_flags = std::span<const uint8_t>(flags->data(), static_cast<size_t>(flags->size()));
        if (amount) in.amount = std::span<const double>(amount->data(), static_cast<size_t>(amount->size()));
        if (amount_valid) {
          in.amount_valid = std::span<const uint8_t>(amount_valid->data(),
                                                     static_cast<size_t>(amount_valid->size()));
        }
        salesperf::IngestOptions options;
        options.min_time = min_time;
        options.max_time = max_time;
        options.nan_amount = nan_amount_is_null ? salesperf::NanAmount::kNull
                                                : salesperf::NanAmount::kReject;
        options.allow_negative_amount = allow_negative_amount;
        options.strict = strict;
        options.threads = threads;

        absl::StatusOr<salesperf::Ingested> out;
        {
          py::gil_scoped_release release;
          out = salesperf::Ingest(in, vocabulary, options);
        }
        salesperf::Ingested result = salesperf_py::ValueOrThrow(std::move(out));
        return py::make_tuple(std::make_shared<EventLog>(std::move(result.log)),
                              std::move(result.report));
      },
      py::arg("columns"), py::arg("vocabulary"), py::arg("min_time"), py::arg("max_time"),
      py::arg("nan_amount_is_null"), py::arg("allow_negative_amount"), py::arg("strict"),
      py::arg("threads") = 0);
}
