#!/usr/bin/env bash
# Instructions and heap allocations per proxied request, for one or more banyan-proxy binaries:
# counted by valgrind (cachegrind for instructions, dhat for allocations), so the figures repeat
# on a shared, noisy machine where timings do not. Each binary serves N1, then N2 keep-alive GETs
# (one connection, an nginx backend answering "ok"); the difference divided by N2 - N1 removes the
# start-up cost.
#
#   bench/per-request-cost.sh BINARY... [--n1 2000] [--n2 12000]
# Why it exists: a coroutine frame that outgrows Asio's recycling cache (~1 KiB) costs a malloc
# per request and ~45 % more instructions without failing any test (session 5: a route decision
# held in serve_request's frame). A data-plane change should show 0.0 allocations per request here.
# Needs: valgrind, nginx, python3. Only loopback addresses are used.
set -euo pipefail
bins=(); n1=2000; n2=12000
while [ $# -gt 0 ]; do
  case "$1" in
    --n1) n1=$2; shift 2;;
    --n2) n2=$2; shift 2;;
    -h|--help) sed -n '2,12p' "$0"; exit 0;;
    *) bins+=("$1"); shift;;
  esac
done
[ ${#bins[@]} -gt 0 ] || { sed -n '2,12p' "$0"; exit 2; }
for t in valgrind nginx python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done
source "$(dirname "$0")/lib/common.sh"
bench_work per-request
start_backend

# run BINARY N TOOL → the tool's total: instructions (cachegrind) or heap blocks (dhat)
run() {
  local bin=$1 n=$2 tool=$3 out="$work/out.$RANDOM" err="$work/err.$RANDOM" extra vp port
  if [ "$tool" = cachegrind ]; then extra=(--cache-sim=no "--cachegrind-out-file=$work/cg.out"); else extra=("--dhat-out-file=$work/dhat.out"); fi
  valgrind --tool="$tool" "${extra[@]}" "$bin" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --monolith "http://127.0.0.1:$backend_port" --state-dir "$work/state.$RANDOM" --threads 1 --access-log off \
    > "$out" 2> "$err" &
  vp=$!
  for _ in $(seq 200); do grep -q '^listening' "$out" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -m1 -o 'listening on [0-9.:]*' "$out" | sed 's/.*://')
  python3 - "$port" "$n" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
request, buf = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", b""
for _ in range(n):
    s.sendall(request)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0 and len(buf) >= end + 6:  # the head and its 2-byte body
            buf = buf[end + 6:]
            break
        buf += s.recv(65536)
s.close()
PY
  kill -INT "$vp"; wait "$vp" || true
  if [ "$tool" = cachegrind ]; then grep -m1 'I *refs' "$err" | grep -o '[0-9,]*$' | tr -d ,
  else grep -m1 'Total:' "$err" | sed 's/.* in \([0-9,]*\) blocks.*/\1/' | tr -d ,; fi
}
printf '%-28s %16s %16s\n' binary instructions/req allocations/req
for bin in "${bins[@]}"; do
  i1=$(run "$bin" "$n1" cachegrind); i2=$(run "$bin" "$n2" cachegrind)
  a1=$(run "$bin" "$n1" dhat); a2=$(run "$bin" "$n2" dhat)
  printf '%-28s %16.0f %16.2f\n' "$(basename "$bin")" "$(echo "($i2 - $i1) / ($n2 - $n1)" | bc -l)" \
    "$(echo "($a2 - $a1) / ($n2 - $n1)" | bc -l)"
done
