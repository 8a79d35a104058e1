#!/usr/bin/env bash
# Installs what is missing, builds what the demo needs, and shows on this machine what Banyan has so
# far: legacy-shop (the monolith), catalog-service extracted from it (backfilled from the monolith's
# feed, then following it), `banyan data verify` agreeing, banyan-proxy in front shadowing the
# catalog's reads to the service under the shipped plan, and the plan's gates judged on the live
# evidence. `banyan demo` will replace this with the whole migration, writes included.
#
#   scripts/demo.sh           run the tour and stop
#   scripts/demo.sh --serve   keep legacy-shop and the proxy running afterwards until Ctrl-C
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

serve=0
case "${1:-}" in
  --serve) serve=1;;
  -h|--help) sed -n '2,10p' "$0"; exit 0;;
  "") ;;
  *) echo "unknown option: $1 (see --help)" >&2; exit 2;;
esac

ensure_packages
build_targets "$repo_root/build" legacy-shop catalog-service banyan-proxy banyan

work=$(mktemp -d /tmp/banyan-demo.XXXXXX)
shop_pid=""
catalog_pid=""
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "$catalog_pid" ] && kill "$catalog_pid" 2>/dev/null && wait "$catalog_pid" 2>/dev/null
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
run() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@" || printf '(exit %d)\n' $?
}

log "legacy-shop answers its API directly"
show "$base/api/products?category=audio&page_size=2"
show -X POST -H 'Content-Type: application/json' -d '{"customer_id":1,"items":[{"product_id":1,"quantity":1}]}' "$base/api/orders"
show -X POST -H 'Content-Type: application/json' -d '{"customer_id":1,"items":[{"product_id":1,"quantity":0}]}' "$base/api/orders"
show "$base/internal/events?after=0&limit=1"

log "starting banyan-proxy in front of legacy-shop"
"$repo_root/build/bin/banyan-proxy" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --monolith "$base" \
  --state-dir "$work/state" --access-log "$work/access.log" > "$work/proxy.out" 2> "$work/proxy.err" &
proxy_pid=$!
for _ in $(seq 100); do
  grep -q '^admin listening on ' "$work/proxy.out" 2>/dev/null && break
  sleep 0.1
done
proxy="http://$(sed -n 's/^listening on //p' "$work/proxy.out")"
admin="http://$(sed -n 's/^admin listening on //p' "$work/proxy.out")"
[ "$proxy" != "http://" ] || { cat "$work/proxy.err" >&2; echo "banyan-proxy did not start" >&2; exit 1; }
banyan() { "$repo_root/build/bin/banyan" --admin "$admin" --token-file "$work/state/admin.token" "$@"; }

printf '\n\033[1m$ curl -i %s\033[0m\n' "$proxy/api/products/1"
curl -sS -i "$proxy/api/products/1" -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
printf '\n'
show -X POST "$proxy/api/orders" -H 'Content-Length: 2' -H 'Transfer-Encoding: chunked' -d '{}'

log "catalog-service: the catalog extracted, with its own database, backfilled from legacy-shop's feed"
"$repo_root/build/bin/catalog-service" --listen 127.0.0.1:0 --db "$work/catalog.db" --source "$base" --log-level warn \
  > "$work/catalog.out" 2> "$work/catalog.err" &
catalog_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/catalog.out" 2>/dev/null && break
  sleep 0.1
done
catalog="http://$(sed -n 's/^listening on //p' "$work/catalog.out")"
[ "$catalog" != "http://" ] || { cat "$work/catalog.err" >&2; echo "catalog-service did not start" >&2; exit 1; }
for _ in $(seq 100); do
  curl -s "$catalog/internal/sync" | grep -q '"state":"following"' && break
  sleep 0.1
done
show "$catalog/internal/sync"
show "$catalog/readyz"
log "a change in the monolith reaches the service through the feed"
show -X PUT -H 'Content-Type: application/json' \
  -d '{"sku":"KIT-1007","name":"Deluxe Kettle","description":"Now in copper.","category":"kitchen","price_cents":9499,"currency":"EUR"}' \
  "$base/api/products/7"
sleep 0.3
show "$catalog/api/products/7"
run "$repo_root/build/bin/banyan" data verify --from "$base" --to "$catalog" --entity products

log "the catalog's read plan, with the service's real address from the environment"
export CATALOG_URL="$catalog"
run banyan plan validate "$repo_root/migrations/catalog-reads.yaml"
run banyan plan diff "$repo_root/migrations/catalog-reads.yaml"
run banyan --as demo plan apply "$repo_root/migrations/catalog-reads.yaml" --reason "demo: shadow the catalog's reads"
log "browsing through the proxy: the monolith answers, catalog-service gets a copy of each read"
for i in $(seq 1 150); do
  curl -s -o /dev/null "$proxy/api/products/$((i % 60 + 1))"
  curl -s -o /dev/null "$proxy/api/products?page=$((i % 5 + 1))"
done
sleep 6  # the health checks sample the service's sync
run banyan routes
run banyan plan status
run banyan shadow report
run banyan audit
log "the proxy's access log"
sleep 0.3
tail -n 3 "$work/access.log"

if [ "$serve" = 1 ]; then
  log "legacy-shop: $base   catalog-service: $catalog   banyan-proxy: $proxy   admin: $admin (Ctrl-C to stop)"
  wait "$proxy_pid"
fi
