#!/usr/bin/env bash
# The unit tests of the modules below libtorch (core, quant, data, device, cost, probe, search:
# the parsers, the int8 arithmetic, the emulator, the cost models, the journal) built with
# AddressSanitizer and UndefinedBehaviorSanitizer (CMake option DALNAS_SANITIZE) and run; any
# report fails. libtorch itself is not instrumented, so the modules that train (precision,
# nn, train, eval) and the tests that lower a network stay on the normal build, and this one
# compiles no libtorch code. Called by .ci/run after `make test`.
#   bash scripts/sanitize.sh            # build into build-asan and run
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/each_at_once.sh
BUILD=${BUILD_ASAN:-build-asan}
JOBS=${JOBS:-$(nproc)}
start=$(date +%s)
# -O1 -g1 (line tables for the reports' stack traces, no variable info): about 0.6x the
# compile time of RelWithDebInfo's -O2 -g under the sanitizers (docs/reliability.md §10).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DDALNAS_SANITIZE=ON \
  -DDALNAS_BUILD_BENCH=OFF > /dev/null
TARGETS="test_core test_quant test_data test_device test_cost test_probe test_search"
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$JOBS" --target $TARGETS
built=$(date +%s)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
# Each executable runs once, all its tests in one process (ctest's one process per test was
# abandoned when test_device still loaded libtorch: ~20 s a start under ASan). The test files
# that need libtorch are not in this build (DALNAS_LOWERED_TESTS in tests/CMakeLists.txt).
# ProbeFitSlow.RoundTripEveryProfile fits every profile (4 min under ASan, 80 % of the
# sanitizer tests' time); fit_probes stays covered here by ProbeFit.*, and the round trip
# runs in `make test`.
filter_for() { if [ "$1" = test_probe ]; then echo "--gtest_filter=-ProbeFitSlow.*"; fi; }
# One executable per core at a time (each runs its tests in one process).
run_one() {
  local t=$1 t0 rc=0
  rm -f "$BUILD/sanitize-$t.rc"
  t0=$(date +%s)
  # shellcheck disable=SC2046
  (cd "$BUILD/tests" && "./$t" --gtest_brief=1 $(filter_for "$t") >"../sanitize-$t.log" 2>&1) ||
    rc=$?
  echo "$rc $(($(date +%s) - t0))" >"$BUILD/sanitize-$t.rc"
}
# shellcheck disable=SC2086
each_at_once "$JOBS" run_one $TARGETS
failed=()
for t in $TARGETS; do
  read -r rc secs <"$BUILD/sanitize-$t.rc" || { rc="?"; secs="?"; }
  if [ "$rc" = 0 ]; then
    echo "sanitize: $t passed ($secs s)"
  else
    echo "sanitize: $t FAILED ($secs s), the end of $BUILD/sanitize-$t.log:" >&2
    tail -n 40 "$BUILD/sanitize-$t.log" >&2
    failed+=("$t")
  fi
done
echo "sanitize: build $((built - start)) s, tests $(( $(date +%s) - built )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitize: failures in ${failed[*]}" >&2
  exit 1
fi
