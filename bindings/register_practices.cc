// Bindings for salesperf/practices.h: the instrument (parse, the bundled one), the
// scoring of answers, the PracticeSignal type (practice_signals itself is bound in
// register_signals.cc) and the assessment that attributes leaks to practices. The
// result types are small read-only objects; the Python layer turns them into frames.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "salesperf/leaks.h"
#include "salesperf/practices.h"
#include "status.h"

namespace py = pybind11;
using salesperf::Instrument;
using salesperf::PracticeAssessment;
using salesperf::PracticeInfo;
using salesperf::PracticeSignal;
using salesperf::QuestionnaireScores;
using salesperf::Statement;

void register_practices(py::module_& m) {
  py::list ids;
  for (std::string_view id : salesperf::kPracticeIds) ids.append(py::str(id.data(), id.size()));
  m.attr("PRACTICE_IDS") = ids;

  // ---- The instrument
  py::class_<PracticeInfo>(m, "PracticeInfo")
      .def_readonly("id", &PracticeInfo::id)
      .def_readonly("name", &PracticeInfo::name)
      .def_readonly("summary", &PracticeInfo::summary)
      .def_readonly("source", &PracticeInfo::source)
      .def("__eq__", [](const PracticeInfo& a, const PracticeInfo& b) { return a == b; }, py::is_operator())
      .def("__repr__", [](const PracticeInfo& p) { return "PracticeInfo(" + p.id + ")"; });
  py::class_<Statement>(m, "Statement")
      .def_readonly("id", &Statement::id)
      .def_readonly("practice", &Statement::practice)
      .def_readonly("text", &Statement::text)
      .def_readonly("reverse", &Statement::reverse)
      .def_readonly("best_practice", &Statement::best_practice)
      .def("__eq__", [](const Statement& a, const Statement& b) { return a == b; }, py::is_operator())
      .def("__repr__", [](const Statement& s) { return "Statement(" + s.id + ", " + s.practice + ")"; });
  py::class_<Instrument, std::shared_ptr<Instrument>>(m, "Instrument")
      .def_readonly("name", &Instrument::name)
      .def_readonly("version", &Instrument::version)
      .def_readonly("scale_min", &Instrument::scale_min)
      .def_readonly("scale_max", &Instrument::scale_max)
      .def_readonly("practices", &Instrument::practices)
      .def_readonly("statements", &Instrument::statements)
      .def("__eq__", [](const Instrument& a, const Instrument& b) { return a == b; }, py::is_operator())
      .def("__repr__", [](const Instrument& in) {
        return "Instrument(" + in.name + " " + in.version + ": " + std::to_string(in.statements.size()) +
               " statements)";
      });

  m.def(
      "parse_instrument",
      [](std::string_view text, std::string_view format) {
        return std::make_shared<Instrument>(salesperf_py::ValueOrThrow(salesperf::ParseInstrument(text, format)));
      },
      py::arg("text"), py::arg("format") = "toml");
  m.def("default_instrument_text", [] {
    const std::string_view text = salesperf::DefaultInstrumentText();
    return py::str(text.data(), text.size());
  });
  m.def("default_instrument",
        [] { return std::make_shared<Instrument>(salesperf_py::ValueOrThrow(salesperf::DefaultInstrument())); });

  // ---- Scoring answers
  using PracticeRow = QuestionnaireScores::PracticeRow;
  using StatementRow = QuestionnaireScores::StatementRow;
  py::class_<PracticeRow>(m, "QuestionnairePracticeRow")
      .def_readonly("practice", &PracticeRow::practice)
      .def_readonly("score", &PracticeRow::score)
      .def_readonly("manager_score", &PracticeRow::manager_score)
      .def_readonly("rep_score", &PracticeRow::rep_score)
      .def_readonly("disagreement", &PracticeRow::disagreement)
      .def_readonly("disagree", &PracticeRow::disagree)
      .def_readonly("respondents", &PracticeRow::respondents)
      .def_readonly("managers", &PracticeRow::managers)
      .def_readonly("reps", &PracticeRow::reps)
      .def_readonly("answers", &PracticeRow::answers)
      .def_readonly("dont_know", &PracticeRow::dont_know);
  py::class_<StatementRow>(m, "QuestionnaireStatementRow")
      .def_readonly("statement", &StatementRow::statement)
      .def_readonly("practice", &StatementRow::practice)
      .def_readonly("mean", &StatementRow::mean)
      .def_readonly("sd", &StatementRow::sd)
      .def_readonly("manager_mean", &StatementRow::manager_mean)
      .def_readonly("rep_mean", &StatementRow::rep_mean)
      .def_readonly("n", &StatementRow::n)
      .def_readonly("dont_know", &StatementRow::dont_know);
  py::class_<QuestionnaireScores, std::shared_ptr<QuestionnaireScores>>(m, "QuestionnaireScores")
      .def_readonly("practices", &QuestionnaireScores::practices)
      .def_readonly("statements", &QuestionnaireScores::statements)
      .def_readonly("respondents", &QuestionnaireScores::respondents);

  m.def(
      "score_answers",
      [](const Instrument& instrument, std::vector<std::string> respondent, std::vector<std::string> role,
         std::vector<std::string> statement, std::vector<double> value) {
        salesperf::Answers answers{std::move(respondent), std::move(role), std::move(statement), std::move(value)};
        absl::StatusOr<QuestionnaireScores> out;
        {
          py::gil_scoped_release release;
          out = salesperf::ScoreAnswers(instrument, answers);
        }
        return std::make_shared<QuestionnaireScores>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("instrument"), py::arg("respondent"), py::arg("role"), py::arg("statement"), py::arg("value"));

  // ---- Data signals: the type (the function is bound in register_signals.cc)
  py::class_<PracticeSignal>(m, "PracticeSignal")
      .def(py::init([](std::string practice, std::string signal, bool speaks, double value, double score,
                       int64_t cases, std::string evidence, std::string reason) {
             PracticeSignal s;
             s.practice = std::move(practice);
             s.signal = std::move(signal);
             s.speaks = speaks;
             s.value = value;
             s.score = score;
             s.cases = cases;
             s.evidence = std::move(evidence);
             s.reason = std::move(reason);
             return s;
           }),
           py::arg("practice"), py::arg("signal"), py::arg("speaks"), py::arg("value"), py::arg("score"),
           py::arg("cases"), py::arg("evidence") = "", py::arg("reason") = "")
      .def_readonly("practice", &PracticeSignal::practice)
      .def_readonly("signal", &PracticeSignal::signal)
      .def_readonly("speaks", &PracticeSignal::speaks)
      .def_readonly("value", &PracticeSignal::value)
      .def_readonly("score", &PracticeSignal::score)
      .def_readonly("cases", &PracticeSignal::cases)
      .def_readonly("evidence", &PracticeSignal::evidence)
      .def_readonly("reason", &PracticeSignal::reason)
      .def("__repr__", [](const PracticeSignal& s) {
        return "PracticeSignal(" + s.practice + "/" + s.signal + (s.speaks ? ": " + s.evidence : ": " + s.reason) +
               ")";
      });

  // ---- The assessment
  using AssessmentRow = PracticeAssessment::PracticeRow;
  using BestPractice = PracticeAssessment::BestPractice;
  using AttributedLeak = PracticeAssessment::AttributedLeak;
  py::class_<AssessmentRow>(m, "PracticeAssessmentRow")
      .def_readonly("practice", &AssessmentRow::practice)
      .def_readonly("name", &AssessmentRow::name)
      .def_readonly("questionnaire_score", &AssessmentRow::questionnaire_score)
      .def_readonly("data_score", &AssessmentRow::data_score)
      .def_readonly("score", &AssessmentRow::score)
      .def_readonly("leak_dollars", &AssessmentRow::leak_dollars)
      .def_readonly("leak_rows", &AssessmentRow::leak_rows)
      .def_readonly("rank", &AssessmentRow::rank);
  py::class_<BestPractice>(m, "BestPractice")
      .def_readonly("practice", &BestPractice::practice)
      .def_readonly("statement", &BestPractice::statement)
      .def_readonly("text", &BestPractice::text)
      .def_readonly("statement_points", &BestPractice::statement_points)
      .def_readonly("dollars_at_stake", &BestPractice::dollars_at_stake);
  py::class_<AttributedLeak>(m, "AttributedLeak")
      .def_readonly("unit", &AttributedLeak::unit)
      .def_readonly("stage", &AttributedLeak::stage)
      .def_readonly("practice", &AttributedLeak::practice)
      .def_readonly("dollars", &AttributedLeak::dollars);
  py::class_<PracticeAssessment, std::shared_ptr<PracticeAssessment>>(m, "PracticeAssessment")
      .def_readonly("practices", &PracticeAssessment::practices)
      .def_readonly("best_practices", &PracticeAssessment::best_practices)
      .def_readonly("leaks", &PracticeAssessment::leaks)
      .def_readonly("attributed_dollars", &PracticeAssessment::attributed_dollars);

  m.def(
      "assess_practices",
      [](const Instrument& instrument, std::optional<std::shared_ptr<QuestionnaireScores>> questionnaire,
         std::vector<PracticeSignal> signals, const salesperf::LeakAssessment& leaks,
         std::string qualification_stage, std::vector<std::string> support_stages,
         std::vector<std::string> non_productive_units) {
        salesperf::AttributionOptions options;
        options.qualification_stage = std::move(qualification_stage);
        options.support_stages = std::move(support_stages);
        options.non_productive_units = std::move(non_productive_units);
        const QuestionnaireScores* q =
            questionnaire.has_value() && *questionnaire != nullptr ? questionnaire->get() : nullptr;
        absl::StatusOr<PracticeAssessment> out;
        {
          py::gil_scoped_release release;
          out = salesperf::AssessPractices(instrument, q, signals, leaks, options);
        }
        return std::make_shared<PracticeAssessment>(salesperf_py::ValueOrThrow(std::move(out)));
      },
      py::arg("instrument"), py::arg("questionnaire"), py::arg("signals"), py::arg("leaks"),
      py::arg("qualification_stage") = "", py::arg("support_stages") = std::vector<std::string>{},
      py::arg("non_productive_units") = std::vector<std::string>{});
}
