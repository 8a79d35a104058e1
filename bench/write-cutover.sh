#!/usr/bin/env bash
# The write cut-over as clients feel it, and the reverse sync that follows it (issue 13):
#   legacy-shop and catalog-service following each other, banyan-proxy in front with
#   migrations/001-extract-catalog.yaml at stage writes-shadow; W writers updating products through
#   the proxy at a steady rate. After a steady period the writes move to catalog-service (the
#   barrier), later back to the monolith (a rollback, the barrier the other way), then forward
#   again. Reported, all from the same run:
#   - write latency p50/p99/max while steady, and in the second around each cut-over, as ratios to
#     the steady p99 (the hold users feel); each barrier's own hold and the writes it held;
#   - the reverse-sync lag (legacy-shop following catalog-service: events and seconds behind,
#     sampled every 20 ms) while the service owns the writes.
# Only loopback ports the kernel picks; bounded in time; cleans up after itself.
#
#   bench/write-cutover.sh [BUILD_DIR] [--rate N] [--writers W] [--seconds S]
set -euo pipefail
build=build rate=400 writers=4 seconds=6
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2;;
    --writers) writers=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    -*) sed -n '2,15p' "$0"; exit 2;;
    *) build=$1; shift;;
  esac
done
bin=$(cd "$build/bin" && pwd)
plan="$(cd "$(dirname "$0")/.." && pwd)/migrations/001-extract-catalog.yaml"
source "$(dirname "$0")/lib/common.sh"
bench_work write-cutover

# start NAME ARGS...: runs a server, waits for "listening on HOST:PORT", sets $addr.
start() {
  local name=$1; shift
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$work/$name.out" | head -1)
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "$name did not start" >&2; cat "$work/$name.err" >&2; exit 1
}
following() { curl -s "http://$1/internal/sync" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"] == "following" and d["lag_events"] == 0)'; }

start shop "$bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db" --seed --threads 2
shop=$addr shop_pid=${pids[-1]}
start catalog "$bin/catalog-service" --listen 127.0.0.1:0 --db "$work/catalog.db" --source "http://$shop" --threads 2
catalog=$addr
until [ "$(following "$catalog")" = True ]; do sleep 0.05; done
kill "$shop_pid"; wait "$shop_pid" 2>/dev/null || true  # restarted on its port, following the service back
start shop2 "$bin/legacy-shop" --listen "$shop" --db "$work/shop.db" --threads 2 --follow "http://$catalog"
cat > "$work/proxy.yaml" <<YAML
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
monolith: http://$shop
state_dir: $work/state
access_log: "off"
threads: 1
YAML
start proxy "$bin/banyan-proxy" --config "$work/proxy.yaml"
proxy=$addr
admin=$(sed -n 's/^admin listening on //p' "$work/proxy.out")
export CATALOG_URL="http://$catalog"
cli() { "$bin/banyan" --admin "http://$admin" --token-file "$work/state/admin.token" "$@"; }
cli plan apply "$plan" --stage writes-shadow --reason bench > /dev/null

echo "== $writers writers, $rate writes/s in all, through the proxy; cut-overs at ${seconds}s intervals"
python3 - "$proxy" "$shop" "$rate" "$writers" "$seconds" "$work" "$catalog" <<'PY' &
import http.client, json, sys, threading, time
proxy, shop, rate, writers, seconds, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
host, port = proxy.split(":")
shost, sport = shop.split(":")
chost, cport = sys.argv[7].split(":")
stop = False
samples = []  # (start, latency_s, status)
lags = []     # (time, events behind the service's head, the follower's own lag_events)
lock = threading.Lock()
def writer(w):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    period = writers / rate
    nxt = time.time()
    i = 0
    while not stop:
        nxt += period
        pid = (w * 13 + i) % 40 + 1
        body = json.dumps({"sku": "KIT-%d" % (1000 + pid), "name": "Bench %d" % i, "description": "", "category": "kitchen",
                           "price_cents": 100 + i, "currency": "EUR"})
        t0 = time.time()
        try:
            c.request("PUT", "/api/products/%d" % pid, body, {"Content-Type": "application/json"})
            r = c.getresponse(); r.read(); status = r.status
        except Exception:
            status = 0; c = http.client.HTTPConnection(host, int(port), timeout=30)
        with lock: samples.append((t0, time.time() - t0, status))
        i += 1
        d = nxt - time.time()
        if d > 0: time.sleep(d)
def sampler():
    # The follower's own lag_events is relative to the head it last saw (up to one poll old), so
    # the lag is measured against the service's feed head, read first.
    c = http.client.HTTPConnection(shost, int(sport), timeout=5)
    f = http.client.HTTPConnection(chost, int(cport), timeout=5)
    while not stop:
        try:
            f.request("GET", "/internal/events?after=0&limit=1"); head = json.loads(f.getresponse().read())["head"]
            c.request("GET", "/internal/sync"); d = json.loads(c.getresponse().read())
            lags.append((time.time(), max(0, head - d["applied"]), d["lag_events"]))
        except Exception:
            c = http.client.HTTPConnection(shost, int(sport), timeout=5)
            f = http.client.HTTPConnection(chost, int(cport), timeout=5)
        time.sleep(0.02)
ts = [threading.Thread(target=writer, args=(w,)) for w in range(writers)] + [threading.Thread(target=sampler)]
for t in ts: t.start()
open(work + "/load.started", "w").close()
while not __import__("os").path.exists(work + "/load.stop"): time.sleep(0.05)
stop = True
for t in ts: t.join()
json.dump({"samples": samples, "lags": lags}, open(work + "/load.json", "w"))
PY
load_pid=$!
until [ -e "$work/load.started" ]; do sleep 0.05; done
marks=()
move() {  # move NAME ARGS...: waits, moves, keeps the time and the barrier's figures
  local name=$1 t; shift
  sleep "$seconds"
  t=$(date +%s.%N)
  cli --output json "$@" > "$work/$name.json"
  marks+=("$name:$t")
}
move forward plan apply "$plan" --stage writes --reason bench
move back plan rollback --to writes-shadow --reason bench
move again plan apply "$plan" --stage writes --reason bench
sleep "$seconds"
touch "$work/load.stop"; wait "$load_pid"

python3 - "$work" "${marks[@]}" <<'PY'
import json, sys
work, marks = sys.argv[1], [m.split(":") for m in sys.argv[2:]]
d = json.load(open(work + "/load.json"))
s = sorted(d["samples"])
def pct(v, q):
    v = sorted(v); return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")
moves = [(name, float(t)) for name, t in marks]
near = lambda t0: any(t - 0.25 <= t0 <= t + 1.0 for _, t in moves)
steady = [l for t0, l, st in s if not near(t0)]
failed = sum(1 for _, _, st in s if not 200 <= st < 300)
p99 = pct(steady, 0.99)
print("writes: %d sent, %d failed; steady p50 %.2f ms, p99 %.2f ms" % (len(s), failed, pct(steady, .5) * 1e3, p99 * 1e3))
for name, t in moves:
    w = [l for t0, l, st in s if t - 0.25 <= t0 <= t + 1.0]
    c = json.load(open("%s/%s.json" % (work, name))).get("cutover", {})
    print("%-8s p99 %.2f ms (%.2fx steady p99), max %.2f ms; barrier held %s ms, %s writes waited" % (
        name, pct(w, .99) * 1e3, pct(w, .99) / p99, max(w) * 1e3, c.get("held_ms"), c.get("writes_held")))
# Reverse-sync lag while the service owned the writes (between forward and back, and after again).
fwd, back, again = (t for _, t in moves)
owned = [x for x in d["lags"] if fwd + 0.5 < x[0] < back or x[0] > again + 0.5]
ev = [x[1] for x in owned]; own = [x[2] for x in owned]
rate = len(s) / (s[-1][0] - s[0][0])
print("reverse sync (legacy-shop following catalog-service), %d samples: behind the service's head p50 %d, p99 %d, max %d events"
      " (p99 ~%.0f ms of writes at %.0f/s); the follower's own lag_events p99 %d" %
      (len(owned), pct(ev, .5), pct(ev, .99), max(ev) if ev else -1, pct(ev, .99) / rate * 1e3, rate, pct(own, .99)))
PY
