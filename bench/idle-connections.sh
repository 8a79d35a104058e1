#!/usr/bin/env bash
# Memory for N idle keep-alive client connections (default 10,000): banyan-proxy and an nginx
# reverse proxy, side by side, each in front of the same nginx backend. Each connection sends one
# request, reads the response, then stays open and idle while the proxy's RSS is read.
#
#   bench/idle-connections.sh [--conns N] [--proxy PATH]
# Needs: nginx, python3. Only loopback addresses are used.
set -euo pipefail
conns=10000
proxy_bin="$(cd "$(dirname "$0")/.." && pwd)/build/bin/banyan-proxy"
while [ $# -gt 0 ]; do
  case "$1" in
    --conns) conns="$2"; shift 2;;
    --proxy) proxy_bin="$2"; shift 2;;
    -h|--help) sed -n '2,8p' "$0"; exit 0;;
    *) echo "unknown option: $1" >&2; exit 2;;
  esac
done
# Each process holds about N descriptors (the client N sockets, a proxy N plus its upstreams).
limit=$(ulimit -Hn)
[ "$limit" = unlimited ] || [ "$limit" -ge $((conns + 500)) ] || { echo "need ulimit -n >= $((conns + 500)), hard limit is $limit" >&2; exit 2; }
ulimit -n "$limit"
work=$(mktemp -d /tmp/idle-conns.XXXXXX); chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for f in backend nginx; do [ -f "$work/$f.pid" ] && kill "$(cat "$work/$f.pid")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
up=$(free_port); pn=$(free_port); pb=$(free_port)
echo -n ok > "$work/body"
cat > "$work/backend.conf" <<CONF
worker_processes 1; pid $work/backend.pid; error_log $work/backend.err; daemon on;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$up; root $work; location / { try_files /body =404; } } }
CONF
cat > "$work/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err; daemon on;
worker_rlimit_nofile $limit;
events { worker_connections $((conns + 1000)); }
http { access_log off; keepalive_timeout 300s; keepalive_requests 1000000;
  upstream be { server 127.0.0.1:$up; keepalive 32; }
  server { listen 127.0.0.1:$pn; location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
nginx -c "$work/backend.conf"
nginx -c "$work/nginx.conf"
"$proxy_bin" --listen 127.0.0.1:$pb --admin-listen 127.0.0.1:0 --state-dir "$work/state" --access-log off \
  --monolith http://127.0.0.1:$up > "$work/banyan.out" 2> "$work/banyan.err" &
pids+=($!)
banyan_pid=$!
sleep 0.5
nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

measure() {  # name pid port
  local name=$1 pid=$2 port=$3 before after
  before=$(rss_kb "$pid")
  python3 - "$port" "$conns" "$pid" "$work/$name.rss" <<'PY' &
import socket, sys, time
port, n, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    socks.append(s)
for s in socks:
    data = b""
    while not data.endswith(b"ok"):
        data += s.recv(4096)
time.sleep(1.0)
rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")][0].split()[1]
open(out, "w").write(rss)
time.sleep(0.5)
PY
  wait $!
  after=$(cat "$work/$name.rss")
  printf '%-14s idle=%6s KiB  with %d idle conns=%7s KiB  per connection=%5d B\n' "$name" "$before" "$conns" "$after" \
    $(( (after - before) * 1024 / conns ))
}
measure banyan-proxy "$banyan_pid" "$pb"
measure nginx "$nginx_worker" "$pn"
