#!/usr/bin/env bash
# Installs what is missing, builds what the demo needs (its binaries, no tests), and runs
# `banyan demo`: legacy-shop's catalog moved to catalog-service — shadow, canary, the reads, then the
# writes through the cut-over barrier — on this machine, in a few minutes, with simulated users.
#
#   scripts/demo.sh                 run the demo; exit 0 only if the migration completed
#   scripts/demo.sh --keep-running  leave the stack up afterwards (Ctrl-C stops it), with commands to explore it
#   scripts/demo.sh --extract shipping  the second extraction: shipping, and every order a saga
# Any other options go to `banyan demo` (see build/bin/banyan demo --help).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

case "${1:-}" in
  -h|--help) sed -n '2,9p' "$0"; exit 0;;
esac

ensure_packages "${demo_packages[@]}"
build_targets "$repo_root/build" legacy-shop catalog-service shipping-service banyan-proxy banyan
cd "$repo_root"
exec "$repo_root/build/bin/banyan" demo "$@"
