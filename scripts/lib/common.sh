# Shared by scripts/test.sh and scripts/demo.sh: install what is missing, configure, build.
# shellcheck shell=bash

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages the demo needs: a compiler, the build tools and the libraries the four binaries link.
demo_packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libcli11-dev libyaml-cpp-dev
)
# And what only the tests need, on top.
test_packages=(
  catch2 curl python3 python3-yaml python3-jsonschema
  sqlite3   # docs/operations.md's backups, run by a test
  chromium  # renders the HTML shadow report in a test
  libpq-dev postgresql  # banyan-sync's PostgreSQL engine, and the servers its tests start
  python3-psycopg2      # the guide's example app on PostgreSQL
  etcd-server           # a fleet of proxies: the clusters its tests start
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_packages PACKAGE...: installs those not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  # Nothing installed here is meant to run as a service (PostgreSQL's package would start a cluster
  # on port 5432): while installing, services may not start. The tests start their own servers.
  local no_start=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
    no_start=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -n "$no_start" ] && "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  return 0
}

# configure_and_build BUILD_DIR [cmake args...]: incremental after the first run.
configure_and_build() {
  local dir=$1; shift
  configure "$dir" "$@"
  log "building $dir"
  cmake --build "$dir" -j "${BANYAN_JOBS:-2}"
}

# build_targets BUILD_DIR TARGET...: only what is named (the demo needs no test binaries). Without
# Catch2 and libpq installed the tests are left out of the configuration; scripts/test.sh turns them
# back on.
build_targets() {
  local dir=$1; shift
  local tests=ON
  for p in catch2 libpq-dev; do
    dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" || tests=OFF
  done
  configure "$dir" -DBANYAN_BUILD_TESTS=$tests
  log "building $* in $dir"
  cmake --build "$dir" -j "${BANYAN_JOBS:-2}" --target "$@"
}

configure() {
  local dir=$1; shift
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  log "configuring $dir"
  cmake -S "$repo_root" -B "$dir" -G Ninja -DBANYAN_WERROR="$werror" "$@" >/dev/null
}
