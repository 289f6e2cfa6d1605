#!/usr/bin/env bash
# The unit tests of the modules below libtorch (core, data, device, probe, search: the
# parsers, the emulator, the journal) built with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMake option DALNAS_SANITIZE) and run; any report fails.
# libtorch itself is not instrumented, so the modules that train (precision, nn, train,
# eval) stay on the normal build. Called by .ci/run after `make test`.
#   bash scripts/sanitize.sh            # build into build-asan and run
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_ASAN:-build-asan}
JOBS=${JOBS:-$(nproc)}
start=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDALNAS_SANITIZE=ON \
  -DDALNAS_BUILD_BENCH=OFF > /dev/null
cmake --build "$BUILD" -j"$JOBS" --target test_core test_data test_device test_probe test_search
built=$(date +%s)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS" -L '^(core|data|device|probe|search)$')
echo "sanitize: build $((built - start)) s, tests $(( $(date +%s) - built )) s"
