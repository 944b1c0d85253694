// Writes the seed corpus of the fuzz targets: small valid inputs in each target's
// input format (docs/fuzzing.md).
//
//   build/fuzz/make_corpus tests/fuzz/corpus
//
// Deterministic: the same files every run, so regenerating leaves git clean unless
// the library's formats changed. Per target:
//   stage_model_fuzz      models in TOML and JSON (ToToml / ToJson of models using
//                         every rule kind and policy)
//   instrument_fuzz       the bundled instrument, in TOML and as JSON, with answers
//   indicators_state_fuzz, funnel_state_fuzz, leaks_state_fuzz
//                         payloads of real accumulators (mode byte 0, see FuzzState),
//                         and one whole serialized state (mode byte 1)
//   text_fuzz             calendar specs, durations, actor names, envelopes
//   ingest_fuzz, plan_fuzz  seeded random bytes (their formats are FuzzedDataProvider
//                         draws, which libFuzzer explores from any start)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "salesperf/practices.h"

namespace fs = std::filesystem;
using namespace salesperf;        // NOLINT: a small program
using namespace salesperf::fuzz;  // NOLINT

namespace {

fs::path g_root;
int g_files = 0;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ++g_files;
}

std::string Mode(uint8_t mode, std::string_view rest) {
  std::string s(1, static_cast<char>(mode));
  s.append(rest);
  return s;
}

std::string Payload(const std::string& bytes) {
  // The envelope is 24 bytes of header and an 8-byte checksum (salesperf/state.h).
  return bytes.substr(24, bytes.size() - 32);
}

std::string RandomBytes(uint64_t seed, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    s.push_back(static_cast<char>(seed >> 56));
  }
  return s;
}

std::vector<StageModel> Models() {
  std::vector<StageModel> out;
  out.push_back(FixedModel(true, true, true));
  out.push_back(FixedModel(false, false, false));
  StageModel m;
  m.AddStage("Lead").Any({"created"});
  m.AddStage("Engaged").Count({"reply"}, 2, Days(7)).Optional();
  m.AddStage("Qualified").Any({"need"}).Window(Days(30)).StallAfter(Days(45));
  m.AddStage("Proposal").Any({"proposal"}).StallAtPercentile(75);
  m.Won().Any({"sign"});
  m.Lost().Any({"decline"});
  StageRule back;
  back.kind = RuleKind::kAny;
  back.filters = {{"meet"}};
  m.Regress(back, "Engaged");
  m.Exclude({"X_z"});
  m.SetOrdering(Ordering::kSkip).SetRegression(Regression::kRecord).SetReopen(Reopen::kAllow);
  m.CloseStalledAfter(Days(30));
  out.push_back(m);
  return out;
}

void StageModels() {
  int i = 0;
  for (const StageModel& m : Models()) {
    Write("stage_model_fuzz", "model" + std::to_string(i) + ".toml", Mode(0, m.ToToml()));
    Write("stage_model_fuzz", "model" + std::to_string(i) + ".json", Mode(1, m.ToJson()));
    ++i;
  }
}

// The bundled instrument as JSON (the same tree as the TOML).
std::string InstrumentJson(const Instrument& in) {
  auto q = [](std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') o.push_back('\\');
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o.push_back(c);
    }
    return o + "\"";
  };
  std::string s = "{\"name\": " + q(in.name) + ", \"version\": " + q(in.version) + ", \"scale\": [" +
                  std::to_string(in.scale_min) + ", " + std::to_string(in.scale_max) + "],\n\"practice\": [";
  for (size_t i = 0; i < in.practices.size(); ++i) {
    const PracticeInfo& p = in.practices[i];
    s += (i ? ",\n" : "\n") + std::string("{\"id\": ") + q(p.id) + ", \"name\": " + q(p.name) +
         ", \"summary\": " + q(p.summary) + ", \"source\": " + q(p.source) + "}";
  }
  s += "],\n\"statement\": [";
  for (size_t i = 0; i < in.statements.size(); ++i) {
    const Statement& st = in.statements[i];
    s += (i ? ",\n" : "\n") + std::string("{\"id\": ") + q(st.id) + ", \"practice\": " + q(st.practice) +
         ", \"text\": " + q(st.text) + ", \"reverse\": " + (st.reverse ? "true" : "false") +
         ", \"best_practice\": " + q(st.best_practice) + "}";
  }
  return s + "]}\n";
}

std::string InstrumentInput(uint8_t mode, std::string_view text, std::string_view tail) {
  std::string s(1, static_cast<char>(mode));
  s.push_back(static_cast<char>(text.size() & 0xff));
  s.push_back(static_cast<char>((text.size() >> 8) & 0xff));
  s.append(text);
  s.append(tail);
  return s;
}

void Instruments() {
  const std::string toml(DefaultInstrumentText());
  Write("instrument_fuzz", "leaky_bucket.toml", InstrumentInput(0, toml, ""));
  Write("instrument_fuzz", "leaky_bucket_answers.toml", InstrumentInput(4, toml, RandomBytes(3, 256)));
  absl::StatusOr<Instrument> in = DefaultInstrument();
  SP_FUZZ_CHECK(in.ok(), in.status().ToString());
  const std::string json = InstrumentJson(*in);
  absl::StatusOr<Instrument> back = ParseInstrument(json, "json");
  SP_FUZZ_CHECK(back.ok() && *back == *in, "the JSON instrument does not parse back: " + back.status().ToString());
  Write("instrument_fuzz", "leaky_bucket.json", InstrumentInput(1, json, ""));
  Write("instrument_fuzz", "default_answers.bin", InstrumentInput(6, "", RandomBytes(4, 256)));
}

void States() {
  struct Case {
    const char* name;
    int deals;
    uint64_t seed;
    int units;  // 0 rep, 1 single, 2 segment
    const char* calendar;
  };
  const Case cases[] = {{"rep_week", 24, 1, 0, "week"},
                        {"all_month", 12, 2, 1, "month"},
                        {"segment_fq7", 30, 3, 2, "fiscal_quarter:7"},
                        {"tiny_day", 2, 4, 0, "day"}};
  for (const Case& c : cases) {
    const Ingested in = FixedLog(c.deals, c.seed);
    const StageModel model = FixedModel(true, true, true);
    absl::StatusOr<StageMachine> machine = Compile(model, in.log);
    SP_FUZZ_CHECK(machine.ok(), machine.status().ToString());
    RunOptions run;
    run.threads = 1;
    absl::StatusOr<Timelines> t = RunStages(*machine, in.log, run);
    SP_FUZZ_CHECK(t.ok(), t.status().ToString());
    absl::StatusOr<Units> units = c.units == 0   ? UnitsByRep(in.log)
                                  : c.units == 1 ? absl::StatusOr<Units>(SingleUnit(in.log))
                                                 : UnitsByDimension(in.log, "segment");
    SP_FUZZ_CHECK(units.ok(), units.status().ToString());
    IndicatorOptions io;
    io.threads = 1;
    io.calendar = *Calendar::Parse(c.calendar);
    absl::StatusOr<Indicators> ind = ComputeIndicators(*machine, in.log, *t, *units, io);
    SP_FUZZ_CHECK(ind.ok(), ind.status().ToString());
    absl::StatusOr<FunnelCounts> funnel = CountFunnel(in.log, *t, *units);
    SP_FUZZ_CHECK(funnel.ok(), funnel.status().ToString());
    LeakCohorts cohorts;
    if (c.units == 2) {
      cohorts.past_from = kT0;
      cohorts.cohort_from = kT0 + 100 * kDayNs;
      cohorts.cohort_to = kT0 + 300 * kDayNs;
    }
    absl::StatusOr<LeakCounts> leaks = CountLeaks(in.log, *t, *units, cohorts);
    SP_FUZZ_CHECK(leaks.ok(), leaks.status().ToString());
    const std::string name = std::string(c.name) + ".bin";
    Write("indicators_state_fuzz", name, Mode(0, Payload(ind->Serialize())));
    Write("funnel_state_fuzz", name, Mode(0, Payload(funnel->Serialize())));
    Write("leaks_state_fuzz", name, Mode(0, Payload(leaks->Serialize())));
    if (c.units == 1) {  // the whole envelope once, for the envelope checks
      Write("indicators_state_fuzz", "whole_" + name, Mode(1, ind->Serialize()));
      Write("funnel_state_fuzz", "whole_" + name, Mode(1, funnel->Serialize()));
      Write("leaks_state_fuzz", "whole_" + name, Mode(1, leaks->Serialize()));
    }
  }
  // Default-constructed accumulators (their bytes do not parse: an open finding).
  Write("indicators_state_fuzz", "default_constructed.bin", Mode(0, Payload(Indicators().Serialize())));
  Write("funnel_state_fuzz", "default_constructed.bin", Mode(0, Payload(FunnelCounts().Serialize())));
  Write("leaks_state_fuzz", "default_constructed.bin", Mode(0, Payload(LeakCounts().Serialize())));
}

// text_fuzz: FuzzedDataProvider takes the selector from the last byte (value % 5) and
// strings from the front (ConsumeRandomLengthString ends a string at "\\" followed by
// another character).
void Texts() {
  auto text = [](int selector, std::string_view s, std::string_view extra = "") {
    std::string o(s);
    o += "\\\n";
    o.append(extra);
    o.push_back(static_cast<char>(selector));
    return o;
  };
  const char* specs[] = {"day", "week", "month", "quarter", "year", "fiscal_quarter:7", " Fiscal_Year:12 ",
                         "fiscal_month:2"};
  int i = 0;
  for (const char* s : specs) {
    Write("text_fuzz", "calendar" + std::to_string(i), text(0, s, RandomBytes(static_cast<uint64_t>(i), 40)));
    ++i;
  }
  const char* durations[] = {"30d", "1d12h", "2w", "90m", "-15250w1d23h47m16s854ms775us808ns", "0s", "45s100ms"};
  i = 0;
  for (const char* s : durations) {
    Write("text_fuzz", "duration" + std::to_string(i), text(1, s, RandomBytes(static_cast<uint64_t>(i), 9)));
    ++i;
  }
  const char* actors[] = {"buyer", "Seller", "SYSTEM"};
  i = 0;
  for (const char* s : actors) Write("text_fuzz", "actor" + std::to_string(i++), text(2, s));
  // Envelope: 8 magic bytes, then a version byte (range 0..3, one byte from the end),
  // a bool (one byte from the end), then the rest.
  Write("text_fuzz", "envelope0", std::string("SPIND\0\0\1", 8) + "payload" + std::string("\1\1\3", 3));
  Write("text_fuzz", "reader0", RandomBytes(11, 64) + std::string(1, '\4'));
}

void RandomSeeds() {
  for (int i = 0; i < 6; ++i) {
    Write("ingest_fuzz", "random" + std::to_string(i), RandomBytes(100 + static_cast<uint64_t>(i), 64u << i % 4));
    Write("plan_fuzz", "random" + std::to_string(i), RandomBytes(200 + static_cast<uint64_t>(i), 48u << i % 3));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  StageModels();
  Instruments();
  States();
  Texts();
  RandomSeeds();
  std::printf("wrote %d files under %s\n", g_files, g_root.c_str());
  return 0;
}
