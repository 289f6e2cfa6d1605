#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt: clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) in build-fuzz/ and runs each for SECONDS (default 30) over its
# seed corpus fuzz/corpus/<target>/. Any finding fails: a crash, a leak, undefined behaviour,
# an exception other than dalnas::Error, an input slower than 10 s, more than 2 GiB of memory.
# The input that caused it is left as build-fuzz/crash-<target>-* (or leak-, timeout-, oom-).
# New inputs the fuzzer finds go to a temporary folder, not into the repository's corpus.
#   bash scripts/fuzz.sh [SECONDS]
# Environment: FUZZ_BUILD (build folder), FUZZ_CMAKE_ARGS (extra configure arguments, e.g.
# -DCMAKE_CXX_COMPILER_LAUNCHER=ccache), FUZZ_TARGETS (a subset, space-separated), JOBS
# (build jobs, and targets fuzzed at once; default: the cores).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/each_at_once.sh

seconds=${1:-30}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-$(nproc)}
targets=${FUZZ_TARGETS:-genome config profile coco raster onnx npy latency_csv checkpoint}

# shellcheck disable=SC2086
cmake -S fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  ${FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$jobs"

# One target per core at a time (libFuzzer runs one process per target): on CI's two cores
# the nine targets take five rounds of SECONDS instead of nine.
fuzz_one() {
  local t=$1 work rc=0
  rm -f "$build/fuzz-$t.rc"
  work=$(mktemp -d)
  "$build/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/" "$work" "fuzz/corpus/$t" \
    >"$build/fuzz-$t.log" 2>&1 || rc=$?
  rm -rf "$work"
  echo "$rc" >"$build/fuzz-$t.rc"
}
# shellcheck disable=SC2086
each_at_once "$jobs" fuzz_one $targets

failed=()
printf '%-12s %12s %10s  %s\n' target executions exec/s result
for t in $targets; do
  log="$build/fuzz-$t.log"
  rc=$(cat "$build/fuzz-$t.rc" 2>/dev/null || echo "?")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    result="FINDING (exit $rc, log $log)"
    failed+=("$t")
  fi
  printf '%-12s %12s %10s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- $t: the end of $build/fuzz-$t.log" >&2
    tail -n 40 "$build/fuzz-$t.log" >&2
  done
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings ($seconds s per target)"
