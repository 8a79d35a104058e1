#!/usr/bin/env bash
# Installs what is missing, builds, and shows on this machine what Banyan has so far: legacy-shop
# (the monolith) answering its API, banyan-proxy in front of it, and the banyan CLI checking the
# catalog's migration plan against the live proxy. `banyan demo` will replace this with the whole
# catalog migration once catalog-service exists.
#
#   scripts/demo.sh           run the tour and stop
#   scripts/demo.sh --serve   keep legacy-shop and the proxy running afterwards until Ctrl-C
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
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
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

log "the catalog's migration plan, checked and compared with the live proxy"
run banyan plan validate "$repo_root/migrations/catalog-reads.yaml"
run banyan plan diff "$repo_root/migrations/catalog-reads.yaml" --stage canary-5
run banyan routes
log "the admin API puts product pages in shadow; the monolith still answers every client"
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $(cat "$work/state/admin.token")" -H 'Content-Type: application/json' \
  "$admin/api/v1/routes" -d '{"services":{"catalog":"http://127.0.0.1:8082"},"reason":"demo",
  "routes":[{"id":"product-detail","match":{"methods":["GET","HEAD"],"path":"/api/products/{id}"},"service":"catalog","mode":"shadow"}]}'
run banyan routes
run banyan --as demo route set product-detail monolith --reason "back to the monolith"
run banyan audit
show "$proxy/api/products/2"
log "the proxy's access log"
sleep 0.3
tail -n 3 "$work/access.log"

if [ "$serve" = 1 ]; then
  log "legacy-shop: $base   banyan-proxy: $proxy   admin: $admin (Ctrl-C to stop)"
  wait "$proxy_pid"
fi
