#!/usr/bin/env bash
# The data path, measured side by side with the obvious alternative in the same run:
#   1. backfill of N products (default 100,000) by catalog-service, against `sqlite3 .dump` of the
#      monolith's table piped into a fresh database (a copy that needs the monolith's file);
#   2. change sync under a steady stream of catalog writes: events/s and the lag (p50/p99) sampled
#      from GET /internal/sync, and the catch-up rate of a backlog;
#   3. `banyan data verify` of the N rows, against a full re-read (every row fetched by id from both
#      sides and compared).
# Everything runs on loopback ports the kernel picks; bounded in time; cleans up after itself.
#
#   bench/data-sync.sh [BUILD_DIR] [ROWS]
set -euo pipefail
build=${1:-build}
rows=${2:-100000}
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# start NAME ARGS...: runs a server, waits for "listening on HOST:PORT", sets $addr.
start() {
  local name=$1; shift
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$work/$name.out")
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "$name did not start" >&2; cat "$work/$name.err" >&2; exit 1
}
now() { date +%s.%N; }
state_of() { curl -s "http://$1/internal/sync" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["applied"], d["head"])'; }

echo "== making a monolith with $rows products"
start shop "$bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
python3 - "$work/shop.db" "$rows" <<'EOF'
import sqlite3, sys, json
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
at = "2026-12-02T10:00:00.000Z"
with c:
    for i in range(1, n + 1):
        p = {"id": i, "sku": "SKU-%07d" % i, "name": "Product %d" % i, "description": "Item %d of the bench catalog, with a sentence of text." % i,
             "category": "cat-%d" % (i % 20), "price_cents": 100 + i % 9000, "currency": "EUR", "updated_at": at}
        c.execute("INSERT INTO catalog_products(id, sku, name, description, category, price_cents, currency, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                  (i, p["sku"], p["name"], p["description"], p["category"], p["price_cents"], p["currency"], at))
        c.execute("INSERT INTO outbox_events(type, aggregate, key, payload, at) VALUES ('product.created','product',?,?,?)", (str(i), json.dumps(p), at))
EOF
start shop "$bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db" --threads 2
shop=$addr

echo "== 1. backfill"
t0=$(now)
sqlite3 "$work/shop.db" ".dump catalog_products" | sqlite3 "$work/dump-copy.db"
t1=$(now)
dump_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
start catalog "$bin/catalog-service" --listen 127.0.0.1:0 --db "$work/catalog.db" --source "http://$shop" --threads 2
cat_addr=$addr
until [ "$(state_of "$cat_addr" | cut -d' ' -f1)" = following ]; do sleep 0.02; done
t1=$(now)
backfill_s=$(echo "$t1 - $t0" | bc -l)
printf 'backfill:   %d rows in %.2f s = %.0f rows/s (catalog-service over HTTP, startup included)\n' "$rows" "$backfill_s" "$(echo "$rows / $backfill_s" | bc -l)"
printf 'sqlite dump: %d rows in %.2f s = %.0f rows/s (.dump | sqlite3, the file copied directly)\n' "$rows" "$dump_s" "$(echo "$rows / $dump_s" | bc -l)"
printf 'ratio backfill/dump time: %.2f\n' "$(echo "$backfill_s / $dump_s" | bc -l)"

echo "== 2. change sync under steady writes (4 writers, 10 s), lag sampled every 20 ms"
python3 - "$shop" "$cat_addr" "$rows" <<'EOF'
import http.client, json, sys, threading, time
shop, svc, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = shop.split(":"); shost, sport = svc.split(":")
stop = False; done = [0] * 4
def writer(w):
    c = http.client.HTTPConnection(host, int(port))
    i = 0
    while not stop:
        pid = (w * 7919 + i * 104729) % (n - 1) + 2  # product 1 is the probe's
        body = json.dumps({"sku": "W%d-%d" % (w, i), "name": "Written %d" % i, "description": "", "category": "w", "price_cents": i, "currency": "EUR"})
        c.request("PUT", "/api/products/%d" % pid, body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        done[w] += 1; i += 1
def status(c):
    c.request("GET", "/internal/sync"); r = c.getresponse(); return json.loads(r.read())
delays = []
def probe():
    # What a user sees: a write acknowledged by the monolith, then read from the service until it shows.
    m = http.client.HTTPConnection(host, int(port)); s = http.client.HTTPConnection(shost, int(sport))
    k = 0
    while not stop:
        k += 1
        body = json.dumps({"sku": "PROBE-%d" % k, "name": "probe", "description": "", "category": "p", "price_cents": k, "currency": "EUR"})
        m.request("PUT", "/api/products/1", body, {"Content-Type": "application/json"}); r = m.getresponse(); r.read()
        t = time.time()
        while True:
            s.request("GET", "/api/products/1"); r = s.getresponse(); d = json.loads(r.read())
            if d.get("price_cents") == k: break
            time.sleep(0.002)
        delays.append(time.time() - t)
        time.sleep(0.05)
sc = http.client.HTTPConnection(shost, int(sport))
start_applied = status(sc)["applied"]
ts = [threading.Thread(target=writer, args=(w,)) for w in range(4)] + [threading.Thread(target=probe)]
t0 = time.time()
for t in ts: t.start()
lags = []
while time.time() - t0 < 10:
    s = status(sc); lags.append(s["lag_seconds"]); time.sleep(0.02)
stop = True
for t in ts: t.join()
elapsed = time.time() - t0
while True:
    s = status(sc)
    if s["lag_events"] == 0: break
    time.sleep(0.01)
drained = time.time() - t0
lags.sort(); delays.sort()
def pct(p, xs=lags): return xs[min(len(xs) - 1, int(p * len(xs)))]
events = s["applied"] - start_applied
print("writes: %d in %.1f s = %.0f writes/s (through legacy-shop's API)" % (sum(done), elapsed, sum(done) / elapsed))
print("sync:   %d events applied, caught up %.2f s after the writers stopped; %.0f events/s" % (events, drained - elapsed, events / drained))
print("lag as /internal/sync reports it: p50 %.3f s, p99 %.3f s, max %.3f s over %d samples" % (pct(0.5), pct(0.99), lags[-1], len(lags)))
print("write-to-visible delay (monolith ack → service shows it): p50 %.3f s, p99 %.3f s, max %.3f s over %d writes"
      % (pct(0.5, delays), pct(0.99, delays), delays[-1], len(delays)))
EOF

echo "== 2b. catch-up of a backlog (the service stopped while 20,000 events are written)"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
python3 - "$work/shop.db" "$rows" <<'EOF'
import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
with c:
    for i in range(20000):
        pid = i % n + 1
        p = {"id": pid, "sku": "B-%d" % i, "name": "Backlog %d" % i, "description": "", "category": "b", "price_cents": i, "currency": "EUR", "updated_at": "2026-12-02T11:00:00.000Z"}
        c.execute("UPDATE catalog_products SET sku=?, name=?, description='', category='b', price_cents=? WHERE id=?", (p["sku"], p["name"], i, pid))
        c.execute("INSERT INTO outbox_events(type, aggregate, key, payload, at) VALUES ('product.updated','product',?,?,?)", (str(pid), json.dumps(p), p["updated_at"]))
EOF
t0=$(now)
start catalog "$bin/catalog-service" --listen 127.0.0.1:0 --db "$work/catalog.db" --source "http://$shop" --threads 2
cat_addr=$addr
read -r _ applied head < <(state_of "$cat_addr")
until [ "$applied" = "$head" ] && [ "$head" != 0 ]; do sleep 0.02; read -r _ applied head < <(state_of "$cat_addr"); done
t1=$(now)
printf 'catch-up: 20000 events in %.2f s = %.0f events/s (restart included)\n' "$(echo "$t1 - $t0" | bc -l)" "$(echo "20000 / ($t1 - $t0)" | bc -l)"

echo "== 3. verify"
t0=$(now)
"$bin/banyan" data verify --from "http://$shop" --to "http://$cat_addr" --entity products --ignore updated_at --method ranges | tail -2
t1=$(now)
verify_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
"$bin/banyan" data verify --from "http://$shop" --to "http://$cat_addr" --entity products --ignore updated_at --method listing | tail -2
t1=$(now)
listing_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
python3 - "$shop" "$cat_addr" "$rows" <<'EOF'
import http.client, json, sys
a, b, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ca = http.client.HTTPConnection(*a.split(":")); cb = http.client.HTTPConnection(*b.split(":"))
def get(c, i):
    c.request("GET", "/api/products/%d" % i); r = c.getresponse(); body = r.read()
    if r.status != 200: return None
    d = json.loads(body); [d.pop(k, None) for k in ("generated_at", "request_id", "updated_at")]; return d
diff = sum(1 for i in range(1, n + 1) if get(ca, i) != get(cb, i))
print("full re-read: %d rows differ" % diff)
EOF
t1=$(now)
reread_s=$(echo "$t1 - $t0" | bc -l)
printf 'verify by key-range checksums: %d rows per side in %.2f s = %.0f rows/s a side\n' "$rows" "$verify_s" "$(echo "$rows / $verify_s" | bc -l)"
printf 'verify by listing every row:   %d rows per side in %.2f s = %.0f rows/s a side\n' "$rows" "$listing_s" "$(echo "$rows / $listing_s" | bc -l)"
printf 'ratio ranges/listing time: %.2f\n' "$(echo "$verify_s / $listing_s" | bc -l)"
printf 'full re-read: %d rows per side in %.2f s = %.0f rows/s (both sides, one GET per row)\n' "$rows" "$reread_s" "$(echo "2 * $rows / $reread_s" | bc -l)"
printf 'ratio verify/re-read time: %.2f\n' "$(echo "$verify_s / $reread_s" | bc -l)"
