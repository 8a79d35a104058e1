#!/usr/bin/env bash
# docs/operations.md's ```sh blocks, run as an operator would run them against a proxy in front of
# legacy-shop: the backup while it serves (block 1), the restore with it stopped (block 2), the
# check after an upgrade (block 3). Between them this checks what the page claims: the restored
# proxy routes as the backup's last change said and its audit ends there; a state database a
# newer release wrote is refused with the message the page quotes.
#
#   operations_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1 bin=$2 page=$1/docs/operations.md
work=$(mktemp -d)
proxy_pid=
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
  kill "$(jobs -p)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
block() { awk -v want="$1" '/^```sh$/ { n++; on = n == want; next } /^```$/ { on = 0 } on' "$page"; }
[ "$(grep -c '^```sh$' "$page")" -eq 3 ] || { echo "operations.md: expected 3 sh blocks" >&2; exit 1; }
fail() { echo "operations: $*" >&2; exit 1; }

# The port a server printed ("listening on HOST:PORT", line N of its stdout).
port_of() {
  for _ in $(seq 100); do
    line=$(sed -n "${2}p" "$1")
    [ -n "$line" ] && { echo "${line##*:}"; return; }
    sleep 0.1
  done
  fail "no port in $1"
}

"$bin/legacy-shop" --listen 127.0.0.1:0 --db "$work/shop.db" --seed > "$work/shop.out" 2> "$work/shop.err" &
shop=$(port_of "$work/shop.out" 1)

export STATE=$work/state BACKUPS=$work/backups
start_proxy() {
  : > "$work/proxy.out"
  "$bin/banyan-proxy" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --monolith "http://127.0.0.1:$shop" \
    --state-dir "$STATE" --access-log off > "$work/proxy.out" 2>> "$work/proxy.err" &
  proxy_pid=$!
  port=$(port_of "$work/proxy.out" 1)
  admin=$(port_of "$work/proxy.out" 2)
}
stop_proxy() {
  kill -TERM "$proxy_pid"
  wait "$proxy_pid" || fail "the proxy did not stop cleanly"
  proxy_pid=
}
b() { "$bin/banyan" --admin "http://127.0.0.1:$admin" --token-file "$STATE/admin.token" "$@"; }
mode_of() { b --output json routes | python3 -c "import json,sys; print([r['mode'] for r in json.load(sys.stdin)['routes'] if r['id']=='$1'][0])"; }
last_reason() { b --output json audit | python3 -c "import json,sys; print(json.load(sys.stdin)['entries'][-1]['reason'])"; }

start_proxy
b route add products --path /api/products --method GET --service catalog --url "http://127.0.0.1:$shop" \
  --reason "shadow the list" > /dev/null
# Traffic while the backup is taken: it must not notice.
( for _ in $(seq 200); do curl -fsS -o /dev/null "http://127.0.0.1:$port/api/products" || echo FAILED; done ) > "$work/traffic" &
traffic=$!

block 1 > "$work/block1.sh"
bash -euo pipefail "$work/block1.sh" > "$work/block1.out"
wait "$traffic"
! grep -q FAILED "$work/traffic" || fail "a request failed during the backup"
grep -qx ok "$work/block1.out" || fail "the backup is not ok: $(cat "$work/block1.out")"
grep -q 'shadow the list' "$work/block1.out" || fail "the backup's last audit entry is not the last change"

# A change after the backup, which a restore takes back.
b route set products monolith --reason "after the backup" > /dev/null
[ "$(mode_of products)" = monolith ] || fail "route set did not apply"
stop_proxy

block 2 > "$work/block2.sh"
bash -euo pipefail "$work/block2.sh"
start_proxy
[ "$(mode_of products)" = shadow ] || fail "the restored proxy does not route as the backup said"
[ "$(last_reason)" = "shadow the list" ] || fail "the restored audit log does not end with the backup's last change"
curl -fsS -o /dev/null "http://127.0.0.1:$port/api/products" || fail "the restored proxy does not serve"

block 3 > "$work/block3.sh"
bash -euo pipefail "$work/block3.sh" > "$work/block3.out"
grep -q '^proxy|1|' "$work/block3.out" && grep -q '^shadow|1|' "$work/block3.out" ||
  fail "schema_migrations not listed: $(cat "$work/block3.out")"
stop_proxy

# A database a newer release migrated: refused before serving anything, with the way back.
known=$(sqlite3 "$STATE/banyan.db" "SELECT MAX(version) FROM schema_migrations WHERE owner = 'proxy'")
sqlite3 "$STATE/banyan.db" "INSERT INTO schema_migrations(owner, version, description, applied_at)
                            VALUES ('proxy', $((known + 1)), 'from the future', 'now')"
set +e
timeout 20 "$bin/banyan-proxy" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --monolith "http://127.0.0.1:$shop" \
  --state-dir "$STATE" --access-log off > "$work/newer.out" 2> "$work/newer.err"
code=$?
set -e
[ "$code" -eq 1 ] || fail "a newer schema: exit $code, expected 1"
[ ! -s "$work/newer.out" ] || fail "a newer schema: it listened: $(cat "$work/newer.out")"
grep -q "banyan.db: the proxy schema is at version $((known + 1)), newer than this build knows ($known): a newer release wrote it; run that release, or restore the backup taken before the upgrade" "$work/newer.err" ||
  fail "a newer schema: unexpected message: $(cat "$work/newer.err")"
echo "operations: backup, restore and the upgrade checks ran as written"
