// Built against the installed package by `make test`: ingests three events and
// checks the accounting, so a broken install (headers, library, dependencies) fails.
#include <cstdio>
#include <string>
#include <vector>

#include "salesperf/salesperf.h"

int main() {
  std::vector<int64_t> deal = {7, 7, 9};
  std::vector<int64_t> time = {1'700'000'000'000'000'000, 1'600'000'000'000'000'000,
                               1'650'000'000'000'000'000};
  std::vector<std::string> labels = {"call", "reply", "wave"};
  std::vector<int64_t> action = {0, 1, 2};
  salesperf::Vocabulary vocab;
  if (!vocab.Add("call", salesperf::Actor::kSeller).ok()) return 1;
  if (!vocab.Add("reply", salesperf::Actor::kBuyer).ok()) return 1;
  salesperf::EventColumns in;
  in.deal = salesperf::IdColumn::Integers(deal);
  in.time = time;
  in.action = salesperf::IdColumn::Coded(action, labels);
  absl::StatusOr<salesperf::Ingested> out = salesperf::Ingest(in, vocab);
  if (!out.ok()) {
    std::fprintf(stderr, "ingest failed: %s\n", std::string(out.status().message()).c_str());
    return 1;
  }
  // Row 2 ("wave") is not in the vocabulary; rows 1 and 0 are deal 7 in time order.
  const bool ok = out->report.rows_in == 3 && out->report.rows_accepted == 2 &&
                  out->report.rows_rejected == 1 && out->log.row()[0] == 1 &&
                  out->log.row()[1] == 0;
  // The bundled practice instrument is compiled into the installed library, and the
  // leak assessment's empirical Bayes links: identical rates give the largest κ.
  absl::StatusOr<salesperf::Instrument> instrument = salesperf::DefaultInstrument();
  const std::vector<int64_t> x = {5, 5, 5}, n = {10, 10, 10};
  absl::StatusOr<double> kappa = salesperf::BetaBinomialConcentration(x, n);
  const bool more = instrument.ok() && instrument->practices.size() == 9 && kappa.ok() &&
                    *kappa == salesperf::kMaxConcentration;
  std::printf("consumer: %s", out->report.Summary().c_str());
  std::printf("consumer: %s\n", ok && more ? "OK" : "WRONG");
  return ok && more ? 0 : 1;
}
