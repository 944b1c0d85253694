#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer, into build/fuzz), runs every reproducer saved under
# tests/fuzz/regressions/<target>/ through its target, then fuzzes each target for a
# bounded time from its seed corpus (tests/fuzz/corpus/<target>/), two at a time.
#
#   scripts/fuzz.sh [seconds-per-target]     # default 60; 0 runs the regressions only
#
# New corpus entries and crash reproducers go to a scratch directory, never into the
# repository: $FUZZ_WORK (default build/fuzz/work), as <target>/corpus, <target>/crashes
# and <target>/log.txt. Prints one summary line per target (runs, exec/s, coverage,
# features, corpus size) and exits non-zero when a regression input or a fuzz run
# crashed, hung (-timeout=10 s per input), leaked, or ran out of memory
# (-rss_limit_mb=2048), naming the reproducer. docs/fuzzing.md explains what each target
# fuzzes and how to turn a finding into a regression test.
#
# Reproducers of findings not fixed yet are kept under tests/fuzz/regressions/open/<target>/:
# they are run and reported, but do not fail the script.
#
# Environment: CXX (default clang++), FUZZ_WORK, FUZZ_JOBS (targets at a time, default
# 2), FUZZ_TARGETS (space-separated subset of the targets, default all).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac
build="$root/build/fuzz"
work="${FUZZ_WORK:-$build/work}"
case "$work" in /*) ;; *) work="$root/$work" ;; esac
jobs="${FUZZ_JOBS:-2}"
all_targets="ingest_fuzz stage_model_fuzz instrument_fuzz plan_fuzz indicators_state_fuzz funnel_state_fuzz leaks_state_fuzz text_fuzz"
targets="${FUZZ_TARGETS:-$all_targets}"

cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="${CXX:-clang++}" >/dev/null
cmake --build "$build" -j2
mkdir -p "$work"

status=0

# ---- Regressions: every saved reproducer must now run cleanly ----
for t in $targets; do
  dir="tests/fuzz/regressions/$t"
  [ -d "$dir" ] || continue
  files=$(find "$dir" -maxdepth 1 -type f ! -name '*.md' | sort)
  [ -n "$files" ] || continue
  n=$(echo "$files" | wc -l)
  # Given files, a libFuzzer binary runs each once and exits non-zero on a crash.
  # shellcheck disable=SC2086
  if "$build/$t" -timeout=10 -rss_limit_mb=2048 $files >"$work/$t.regressions.txt" 2>&1; then
    printf '%-22s regressions: %d inputs ok\n' "$t" "$n"
  else
    printf '%-22s regressions: FAILED (log: %s)\n' "$t" "$work/$t.regressions.txt"
    grep -m1 -E 'Running: ' "$work/$t.regressions.txt" | tail -1 || true
    status=1
  fi
done

# Reproducers of findings not fixed yet: reported, not failed on.
for t in $targets; do
  dir="tests/fuzz/regressions/open/$t"
  [ -d "$dir" ] || continue
  total=0
  failing=0
  for f in $(find "$dir" -type f ! -name '*.md' | sort); do
    total=$((total + 1))
    SALESPERF_FUZZ_OPEN_FINDINGS=1 "$build/$t" -timeout=10 -rss_limit_mb=2048 "$f" >/dev/null 2>&1 ||
      failing=$((failing + 1))
  done
  printf '%-22s open findings: %d inputs, %d still failing (tests/fuzz/regressions/open/%s)\n' \
    "$t" "$total" "$failing" "$t"
done

[ "$seconds" -gt 0 ] || exit "$status"

# ---- Fuzzing, $jobs targets at a time ----
run_one() {
  local t="$1"
  local out="$work/$t"
  mkdir -p "$out/corpus" "$out/crashes"
  # The first corpus directory receives new entries; the seed corpus is only read.
  "$build/$t" "$out/corpus" "tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/" >"$out/log.txt" 2>&1 && echo 0 >"$out/rc" || echo $? >"$out/rc"
}

summary() {
  local t="$1" rc="$2"
  local log="$work/$t/log.txt"
  local runs execs cov ft corp
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -eq 0 ]; then
    printf '%-22s ok      runs %s, %s exec/s, cov %s, ft %s, corpus %s\n' \
      "$t" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  else
    local repro kind
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer): [a-zA-Z_ -]+|runtime error: .*|fuzz invariant broken: .*' "$log" || true)
    printf '%-22s FAILED  %s; reproducer: %s; log: %s\n' "$t" "${kind:-exit $rc}" "${repro:-none}" "$log"
    # On a CI machine the scratch directory is gone with the run: print the reproducer
    # (base64, when under 64 KiB) so that it can be saved from the log as a regression
    # input with `base64 -d > tests/fuzz/regressions/<target>/<name>`.
    if [ -n "$repro" ] && [ -f "$repro" ] && [ "$(wc -c <"$repro")" -lt 65536 ]; then
      printf '%-22s reproducer (base64): %s\n' "$t" "$(base64 -w0 "$repro")"
    fi
  fi
}

running=0
for t in $targets; do
  rm -f "$work/$t/rc"
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

declare -A codes=()
for t in $targets; do codes[$t]=$(cat "$work/$t/rc" 2>/dev/null || echo 1); done

for t in $targets; do
  summary "$t" "${codes[$t]}"
  [ "${codes[$t]}" -eq 0 ] || status=1
done
exit "$status"
