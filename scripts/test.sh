#!/usr/bin/env bash
# Sets up, builds (normal, ASan+UBSan, TSan), runs the tests through ctest
# in each, then runs each fuzz target for a few seconds. Exits non-zero on
# any failure.
#
#   KAFKA_BROKERS=host:port,...  run the integration tests against that cluster
#   FUZZ_SECONDS=N               seconds per fuzz target (default 5; 0 = skip fuzzing)
#   DEB=0                        skip building the Debian packages
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
status=0
step() { echo; echo "==== $*"; }

step "normal build"
cmake -S . -B build -DKAFKA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >build.log 2>&1 || { cat build.log; exit 1; }
step "tests (normal build)"
(cd build && ctest --output-on-failure -j"$jobs") || status=1

# Debian packages (debian/): dpkg-buildpackage, lintian, a program built
# against the unpacked packages. A few minutes (its own -O2 build).
if [ "${DEB:-1}" != 0 ]; then
  step "Debian packages (scripts/build-deb.sh)"
  ./scripts/build-deb.sh build-deb || status=1
fi

step "sanitizer build (ASan+UBSan)"
cmake -S . -B build-asan -DKAFKA_WERROR=ON -DKAFKA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
      -DKAFKA_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" >build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
step "tests (sanitizer build)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs") || status=1

# ThreadSanitizer: every test that the TSan runtime can host (tests/cmake/
# tsan.cmake disables the few that run librdkafka in-process), always
# against the embedded mock broker for the same reason. ~2 min of tests on
# an idle 2-core machine. No suppressions: a report fails the test.
step "thread sanitizer build (TSan)"
cmake -S . -B build-tsan -DKAFKA_WERROR=ON -DKAFKA_SANITIZE_THREAD=ON -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DKAFKA_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" >build-tsan.log 2>&1 || { cat build-tsan.log; exit 1; }
step "tests (TSan build)"
(cd build-tsan && env -u KAFKA_BROKERS TSAN_OPTIONS=second_deadlock_stack=1 \
   ctest --output-on-failure -j"$jobs") || status=1

if [ "${FUZZ_SECONDS:-5}" != 0 ] && [ -d tests/fuzz ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  step "fuzz targets (${FUZZ_SECONDS:-5} s each)"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DKAFKA_BUILD_FUZZ=ON -DKAFKA_BUILD_EXAMPLES=OFF \
        -DKAFKA_BUILD_BENCH=OFF -DKAFKA_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_all >build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
  ./scripts/fuzz.sh "${FUZZ_SECONDS:-5}" || status=1
fi

echo
if [ $status -eq 0 ]; then echo "test.sh: all passed"; else echo "test.sh: FAILURES (see above)"; fi
exit $status
