// Fuzz target: the stage-model parsers (StageModel::FromToml, FromJson) and compiler.
//
// Input: one mode byte (bit 0: JSON instead of TOML; bit 1: also give the text to the
// other parser), then the text. A model that parses must Validate the same way every
// time, round-trip through both file forms (FromToml(ToToml(m)) == m, FromJson(ToJson(m))
// == m), and either compile cleanly against the fixed log (salesperf::fuzz::FixedLog,
// with contacts, roles and amounts) and run, indicators and all, or give a clean error.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"

namespace salesperf::fuzz {
namespace stage_model_fuzz {

inline const Ingested& Log() {
  static const Ingested log = FixedLog(24, 99);
  return log;
}

inline void Check(const StageModel& m) {
  const absl::Status valid = m.Validate();
  if (!valid.ok()) CheckCleanError(valid, "Validate");
  const std::string toml = m.ToToml();
  absl::StatusOr<StageModel> from_toml = StageModel::FromToml(toml);
  SP_FUZZ_CHECK(from_toml.ok(), "ToToml of a parsed model does not parse: " + from_toml.status().ToString() +
                                    "\n" + toml);
  SP_FUZZ_CHECK(*from_toml == m, "FromToml(ToToml(m)) != m:\n" + toml);
  const std::string json = m.ToJson();
  absl::StatusOr<StageModel> from_json = StageModel::FromJson(json);
  SP_FUZZ_CHECK(from_json.ok(), "ToJson of a parsed model does not parse: " + from_json.status().ToString() +
                                    "\n" + json);
  SP_FUZZ_CHECK(*from_json == m, "FromJson(ToJson(m)) != m:\n" + json);
  RunDownstream(Log().log, m);
}

inline int Run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool json = (mode & 1) != 0;
  absl::StatusOr<StageModel> m = json ? StageModel::FromJson(text) : StageModel::FromToml(text);
  if (m.ok()) {
    Check(*m);
  } else {
    CheckCleanError(m.status(), json ? "FromJson" : "FromToml");
  }
  if ((mode & 2) != 0) {
    absl::StatusOr<StageModel> other = json ? StageModel::FromToml(text) : StageModel::FromJson(text);
    if (other.ok()) {
      Check(*other);
    } else {
      CheckCleanError(other.status(), json ? "FromToml" : "FromJson");
    }
  }
  return 0;
}

}  // namespace stage_model_fuzz

inline int FuzzStageModel(const uint8_t* data, size_t size) { return stage_model_fuzz::Run(data, size); }

}  // namespace salesperf::fuzz

SP_FUZZ_ENTRY(FuzzStageModel)
