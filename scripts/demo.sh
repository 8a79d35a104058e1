#!/usr/bin/env bash
# Installs what is missing, builds, and shows legacy-shop (the monolith Banyan migrates) answering
# its API on this machine. `banyan demo` will replace this with the whole catalog migration.
#
#   scripts/demo.sh           run the tour and stop
#   scripts/demo.sh --serve   keep legacy-shop running afterwards until Ctrl-C
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

serve=0
case "${1:-}" in
  --serve) serve=1;;
  -h|--help) sed -n '2,6p' "$0"; exit 0;;
  "") ;;
  *) echo "unknown option: $1 (see --help)" >&2; exit 2;;
esac

ensure_packages
configure_and_build "$repo_root/build"

work=$(mktemp -d /tmp/banyan-demo.XXXXXX)
shop_pid=""
cleanup() {
  [ -n "$shop_pid" ] && kill "$shop_pid" 2>/dev/null && wait "$shop_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

log "starting legacy-shop with a seeded database"
"$repo_root/build/bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db" --seed --log-level warn \
  > "$work/stdout" 2> "$work/stderr" &
shop_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$work/stdout")
[ -n "$addr" ] || { cat "$work/stderr" >&2; echo "legacy-shop did not start" >&2; exit 1; }
base="http://$addr"

show() {
  printf '\n\033[1m$ curl %s\033[0m\n' "$*"
  curl -sS -w '\n(HTTP %{http_code})\n' "$@"
}
show "$base/api/products?category=audio&page_size=2"
show "$base/api/products/1"
show "$base/api/inventory/KIT-1001"
show -X POST -H 'Content-Type: application/json' -d '{"customer_id":1,"items":[{"product_id":1,"quantity":1}]}' "$base/api/orders"
show -X POST -H 'Content-Type: application/json' -d '{"customer_id":1,"items":[{"product_id":1,"quantity":0}]}' "$base/api/orders"
show "$base/internal/events?after=0&limit=2"

if [ "$serve" = 1 ]; then
  log "legacy-shop is serving on $base (Ctrl-C to stop)"
  wait "$shop_pid"
fi
