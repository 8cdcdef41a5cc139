#!/usr/bin/env bash
# run-all.sh: installs what is needed, builds cairn with AddressSanitizer
# and UndefinedBehaviorSanitizer and -Werror, and runs the whole test suite
# under CTest.  This is what CI runs (.ci/run).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
build=${CAIRN_BUILD_DIR:-$top/build-test}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCAIRN_SANITIZE=ON -DCAIRN_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
