// SplitMix64 (Steele, Lea & Flood 2014): the one random stream of the library's
// compiled parts (the synthetic company, the targets' Monte Carlo). Its output is the
// same on every machine and standard library, unlike std:: distributions, so the
// distributions built on it are written out where they are used.
#ifndef SALESPERF_SRC_SPLITMIX_H_
#define SALESPERF_SRC_SPLITMIX_H_

#include <cstdint>

namespace salesperf::internal {

// The SplitMix64 finaliser: a bijective mix of 64 bits.
constexpr uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix(state_ += 0x9E3779B97F4A7C15ULL); }

 private:
  uint64_t state_;
};

}  // namespace salesperf::internal

#endif  // SALESPERF_SRC_SPLITMIX_H_
