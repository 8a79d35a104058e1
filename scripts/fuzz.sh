#!/usr/bin/env bash
# Builds the fuzz targets with clang and libFuzzer (ASan + UBSan) in build-fuzz/ and runs each for a
# bounded time, starting from its seed corpus in tests/fuzz/corpus/<target>/ (new inputs go to a
# scratch copy, never into the repository). A crash fails the run and names the input: add it to the
# target's corpus folder and it is a regression test in every ordinary build (fuzz corpus replay).
#
#   scripts/fuzz.sh                 every target, 30 s each
#   scripts/fuzz.sh --seconds 120   longer
#   scripts/fuzz.sh request plan    only these targets
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2;;
    -h|--help) sed -n '2,9p' "$0"; exit 0;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2;;
    *) targets+=("$1"); shift;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(request response json_diff plan proxy_config feed sync_config pgoutput etcd)

ensure_packages "${demo_packages[@]}" clang-14 libclang-rt-14-dev
build="$repo_root/build-fuzz"
configure "$build" -DBANYAN_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo
log "building fuzz targets in $build"
fuzz_bins=()
for t in "${targets[@]}"; do fuzz_bins+=("fuzz_$t"); done
cmake --build "$build" -j "${BANYAN_JOBS:-2}" --target "${fuzz_bins[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
scratch=$(mktemp -d /tmp/banyan-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failed=0
for t in "${targets[@]}"; do
  log "fuzzing $t for ${seconds}s"
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
  cp "$repo_root/tests/fuzz/corpus/$t/"* "$scratch/$t/corpus/"
  if "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$scratch/$t/artifacts/" "$scratch/$t/corpus" > "$scratch/$t/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t/log")
    grown=$(ls "$scratch/$t/corpus" | wc -l)
    printf '%-14s %10s executions, corpus %s inputs, no finding\n' "$t" "${runs:-?}" "$grown"
  else
    failed=1
    tail -40 "$scratch/$t/log"
    for a in "$scratch/$t/artifacts/"*; do
      [ -e "$a" ] || continue
      mkdir -p "$repo_root/build-fuzz/findings/$t"
      cp "$a" "$repo_root/build-fuzz/findings/$t/"
      echo "finding: build-fuzz/findings/$t/$(basename "$a") — fix it, then add it to tests/fuzz/corpus/$t/" >&2
    done
  fi
done
if [ "$failed" = 0 ]; then
  echo "fuzzing: ${#targets[@]} targets, no finding"
else
  echo "fuzzing found problems" >&2
  exit 1
fi
