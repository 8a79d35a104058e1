#!/usr/bin/env bash
# Runs every ```sh block of docs/migrate-your-app.md, in order, in one shell, from the repository's
# root, with the binaries of the build under test: the guide works as written, or this fails at
# the command that does not. Before the last block (which stops the servers) it checks what the
# guide claims: the item route is in service mode, every move is in the audit log, the writes
# moved three times through the barrier with nothing lost, and the foreign write was logged.
#
#   migrate_your_app_test.sh SOURCE_DIR BIN_DIR [--postgres]
#
# --postgres: section 5 with both apps on PostgreSQL, as the guide says to run it: a server of the
# test's own (initdb as the postgres user, a Unix socket, wal_level = logical) and two databases.
set -euo pipefail
src=$1 bin=$2 guide=$1/docs/migrate-your-app.md
if [ "${3:-}" = --postgres ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdir=$(mktemp -d /tmp/banyan-guide-pg-XXXXXX)
  as_owner=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$pgdir"; as_owner=(runuser -u postgres --); fi
  "${as_owner[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync > "$pgdir/initdb.log"
  "${as_owner[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
    -o "-k $pgdir -c listen_addresses= -c wal_level=logical -c fsync=off" start > /dev/null
  stop_pg() { "${as_owner[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop > /dev/null || true; rm -rf "$pgdir"; }
  psql -qX "postgresql://postgres@/postgres?host=$pgdir" -c "CREATE DATABASE shop" -c "CREATE DATABASE items"
  export app_db="postgresql://postgres@/shop?host=$pgdir" svc_db="postgresql://postgres@/items?host=$pgdir"
  export PATH="/usr/bin:$PATH"  # Debian's python3, which python3-psycopg2 is for
fi
script=$(mktemp)
trap 'rm -f "$script"; if declare -f stop_pg > /dev/null; then stop_pg; fi' EXIT
blocks=$(grep -c '^```sh$' "$guide")
block() { awk -v want="$1" '/^```sh$/ { n++; on = n == want; next } /^```$/ { on = 0 } on' "$guide"; }
{
  echo 'set -euo pipefail'
  echo 'trap "kill \$(jobs -p) 2>/dev/null || true" EXIT  # the servers the guide started'
  for i in $(seq 1 $((blocks - 1))); do block "$i"; done
  echo 'b --output json routes | python3 -c "import json,sys; r=json.load(sys.stdin)[\"routes\"]; assert [x[\"mode\"] for x in r if x[\"id\"]==\"item\"]==[\"service\"], r"'
  echo 'moves=$(b --output json audit | python3 -c "import json,sys; print(len([e for e in json.load(sys.stdin)[\"entries\"] if e[\"action\"] != \"routes.bootstrap\"]))")'
  echo 'test "$moves" -ge 5 || { echo "only $moves changes audited" >&2; exit 1; }'
  # Section 5: the writes moved three times through the barrier, every write on both sides, the
  # foreign write logged with its key.
  cat <<'CHECKS'
switched=$(b --output json audit | python3 -c '
import json, sys
after = lambda e: e["after"] if isinstance(e["after"], dict) else json.loads(e["after"] or "{}")
print(sum(1 for e in json.load(sys.stdin)["entries"] if (after(e).get("cutover") or {}).get("switched")))')
test "$switched" -eq 3 || { echo "$switched write cut-overs switched, not 3" >&2; exit 1; }
curl -s "http://$app/api/items/7" | grep -q '"stock": 13' || { echo "the monolith lacks the last write" >&2; exit 1; }
curl -s "http://$svc/api/items/7" | grep -q '"stock": 13' || { echo "the service lacks the last write" >&2; exit 1; }
grep 'foreign write' "$work/app-sync.err" | grep -q '"key":"3"' || { echo "the foreign write was not logged" >&2; exit 1; }
sql "$app_db" "UPDATE items SET stock = 1 WHERE id = 4"
sleep 1.5
if b data verify --from "http://$app" --to "http://$svc" --entity items --ignore served_at,served_by \
     --fence "http://$app_sync" > "$work/verify.out"; then
  echo "data verify --fence missed a foreign write" >&2; exit 1
fi
grep -q "foreign writes at http://$app_sync since its writes moved to items: 1" "$work/verify.out" ||
  { cat "$work/verify.out" >&2; exit 1; }
CHECKS
  block "$blocks"
  echo 'echo "guide: every command ran"'
} > "$script"
cd "$src"
BANYAN_BIN=$bin bash "$script"
