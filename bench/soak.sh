#!/usr/bin/env bash
# Soak: the whole stack under steady mixed load for a while, with each process's memory and open
# file descriptors sampled over time, to see growth a short benchmark cannot (issue 10).
#
#   bench/soak.sh [--seconds 600] [--interval 10] [--conns 32] [--out FILE.csv]   (default /tmp/banyan-soak-TIME.csv)
#
# legacy-shop (seeded), catalog-service (backfilled from it, following its feed) and banyan-proxy in
# front with the catalog read plan applied at its shadow stage, so every product read is served by
# the monolith and copied to the service, compared and recorded. wrk sends product reads through the
# proxy; a writer edits a product through the monolith twice a second, so the feed and the sync
# move too. Every --interval seconds the RSS (kB) and open fds of the three processes go to the CSV.
# At the end: each process's RSS and fds in the first and the last quarter, the proxy's request
# count, and a verdict — growth of RSS by more than 20 % or of fds by more than 16 between the
# second quarter and the last is reported as a leak suspect (exit 1). Loopback only.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=600; interval=10; conns=32; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2;;
    --interval) interval=$2; shift 2;;
    --conns) conns=$2; shift 2;;
    --out) out=$2; shift 2;;
    -h|--help) sed -n '2,16p' "$0"; exit 0;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2;;
  esac
done
for t in wrk curl python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done
bin="$repo/build/bin"
for b in legacy-shop catalog-service banyan-proxy banyan; do
  [ -x "$bin/$b" ] || { echo "build first: cmake --build build --target legacy-shop catalog-service banyan-proxy banyan" >&2; exit 2; }
done
bench_work soak
out=${out:-/tmp/banyan-soak-$(date +%Y%m%d-%H%M%S).csv}  # outside the work folder, which goes at exit

# start NAME ARGS...: runs a server, waits for its "listening on" line, sets NAME_pid and NAME_addr.
start() {
  local name=$1; shift
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=($!)
  printf -v "${name}_pid" '%s' "$!"
  for _ in $(seq 200); do grep -q '^listening on ' "$work/$name.out" 2>/dev/null && break; sleep 0.05; done
  local addr; addr=$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)
  [ -n "$addr" ] || { cat "$work/$name.err" >&2; echo "$name did not start" >&2; exit 1; }
  printf -v "${name}_addr" '%s' "$addr"
}
start shop "$bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db" --seed --log-level warn
start catalog "$bin/catalog-service" --listen 127.0.0.1:0 --db "$work/catalog.db" --source "http://$shop_addr" --log-level warn
start proxy "$bin/banyan-proxy" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --monolith "http://$shop_addr" \
  --state-dir "$work/state" --access-log off --threads 1
admin="http://$(sed -n 's/^admin listening on //p' "$work/proxy.out" | head -1)"
for _ in $(seq 100); do curl -s "http://$catalog_addr/internal/sync" | grep -q '"state":"following"' && break; sleep 0.1; done
CATALOG_URL="http://$catalog_addr" "$bin/banyan" --admin "$admin" --token-file "$work/state/admin.token" --as soak \
  plan apply "$repo/migrations/catalog-reads.yaml" --reason "soak: shadow the catalog's reads" > /dev/null

# The writer: a product edited through the monolith twice a second (the feed and the sync move).
( i=0; while :; do
    i=$((i + 1))
    curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' \
      -d "{\"sku\":\"KIT-1007\",\"name\":\"Kettle $i\",\"description\":\"\",\"category\":\"kitchen\",\"price_cents\":$((9000 + i % 500)),\"currency\":\"EUR\"}" \
      "http://$shop_addr/api/products/7"
    sleep 0.5
  done ) & pids+=($!)
cat > "$work/reads.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  if counter % 4 == 0 then return wrk.format("GET", "/api/products?page=" .. (counter % 5 + 1)) end
  return wrk.format("GET", "/api/products/" .. (counter % 200 + 1))
end
LUA
wrk -t1 -c"$conns" -d"${seconds}s" -s "$work/reads.lua" "http://$proxy_addr" > "$work/wrk.out" 2>&1 & wrk_pid=$!; pids+=($wrk_pid)

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
echo "seconds,proxy_rss_kb,proxy_fds,shop_rss_kb,shop_fds,catalog_rss_kb,catalog_fds" > "$out"
start_s=$SECONDS
while kill -0 "$wrk_pid" 2>/dev/null; do
  echo "$((SECONDS - start_s)),$(rss "$proxy_pid"),$(fds "$proxy_pid"),$(rss "$shop_pid"),$(fds "$shop_pid"),$(rss "$catalog_pid"),$(fds "$catalog_pid")" >> "$out"
  sleep "$interval"
done
wait "$wrk_pid" || true
echo "samples: $out"
grep -E 'requests in|Non-2xx|Socket errors' "$work/wrk.out" || true
python3 - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if len(rows) < 4:
    print("too few samples for a verdict (run longer or sample more often)"); sys.exit(0)
q = len(rows) // 4
second, last = rows[q:2 * q], rows[-q:]
avg = lambda rs, k: sum(int(r[k]) for r in rs) / len(rs)
suspect = False
for p in ("proxy", "shop", "catalog"):
    r0, r1 = avg(second, p + "_rss_kb"), avg(last, p + "_rss_kb")
    f0, f1 = avg(second, p + "_fds"), avg(last, p + "_fds")
    growth = (r1 - r0) / r0 * 100 if r0 else 0
    flag = growth > 20 or f1 - f0 > 16
    suspect |= flag
    print(f"{p:8} rss {r0:9.0f} -> {r1:9.0f} kB ({growth:+.1f} %)   fds {f0:5.1f} -> {f1:5.1f}" + ("   LEAK SUSPECT" if flag else ""))
sys.exit(1 if suspect else 0)
PY
