#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds, and runs every test through ctest.
#
#   scripts/test.sh              the regular build in build/
#   scripts/test.sh --sanitize   an ASan+UBSan build in build-asan/ (every test but the demo's: its
#                                gates judge latency on live traffic, which the sanitizers slow
#                                past its time limit on 2 cores; the regular run has it)
#   scripts/test.sh -- -R router extra arguments for ctest after --
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

build_dir="$repo_root/build"
cmake_args=()
ctest_args=()
sanitize_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) build_dir="$repo_root/build-asan"; cmake_args+=(-DBANYAN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
                sanitize_args=(-LE '^demo$'); shift;;
    --) shift; ctest_args=("$@"); break;;
    -h|--help) sed -n '2,9p' "$0"; exit 0;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2;;
  esac
done

ensure_packages "${demo_packages[@]}" "${test_packages[@]}"
configure_and_build "$build_dir" -DBANYAN_BUILD_TESTS=ON "${cmake_args[@]}"
log "testing $build_dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure -j "${BANYAN_JOBS:-2}" "${sanitize_args[@]}" "${ctest_args[@]}"
