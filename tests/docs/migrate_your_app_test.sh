#!/usr/bin/env bash
# Runs every ```sh block of docs/migrate-your-app.md, in order, in one shell, from the repository's
# root, with the binaries of the build under test: the guide works as written, or this fails at
# the command that does not. Before the last block (which stops the servers) it checks what the
# guide claims: the item route is in service mode, and every move is in the audit log.
#
#   migrate_your_app_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1 bin=$2 guide=$1/docs/migrate-your-app.md
script=$(mktemp)
trap 'rm -f "$script"' EXIT
blocks=$(grep -c '^```sh$' "$guide")
block() { awk -v want="$1" '/^```sh$/ { n++; on = n == want; next } /^```$/ { on = 0 } on' "$guide"; }
{
  echo 'set -euo pipefail'
  echo 'trap "kill \$(jobs -p) 2>/dev/null || true" EXIT  # the servers the guide started'
  for i in $(seq 1 $((blocks - 1))); do block "$i"; done
  echo 'b --output json routes | python3 -c "import json,sys; r=json.load(sys.stdin)[\"routes\"]; assert [x[\"mode\"] for x in r if x[\"id\"]==\"item\"]==[\"service\"], r"'
  echo 'moves=$(b --output json audit | python3 -c "import json,sys; print(len([e for e in json.load(sys.stdin)[\"entries\"] if e[\"action\"] != \"routes.bootstrap\"]))")'
  echo 'test "$moves" -ge 5 || { echo "only $moves changes audited" >&2; exit 1; }'
  block "$blocks"
  echo 'echo "guide: every command ran"'
} > "$script"
cd "$src"
BANYAN_BIN=$bin bash "$script"
