#!/usr/bin/env bash
# banyan-proxy against an nginx reverse proxy told to add the same headers banyan adds, on the same
# backend, in one run. ../shared/bench/proxy-compare.sh compares against a stock nginx, which adds
# none: there the backend and the load generator (sharing CPU 1) parse about 260 bytes and six
# fields more per request from banyan, which caps banyan's throughput a few percent lower whatever
# banyan itself spends. Here both proxies forward X-Forwarded-For/Proto/Host, Via, X-Request-Id and
# traceparent, and answer with Via and X-Request-Id, so throughput compares the proxies alone.
# Same pinning as proxy-compare.sh: proxies on CPU 0; backend and wrk on CPU 1; rounds alternate.
#
#   bench/same-headers.sh [--rounds N] [--seconds S] [--conns C] [--body BYTES] [--proxy PATH]
# Needs: nginx, wrk. Only loopback addresses are used.
set -euo pipefail
rounds=5; secs=4; conns=64; body=2
proxy_bin="$(cd "$(dirname "$0")/.." && pwd)/build/bin/banyan-proxy"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2;;
    --seconds) secs="$2"; shift 2;;
    --conns) conns="$2"; shift 2;;
    --body) body="$2"; shift 2;;
    --proxy) proxy_bin="$2"; shift 2;;
    -h|--help) sed -n '2,11p' "$0"; exit 0;;
    *) echo "unknown option: $1" >&2; exit 2;;
  esac
done
for t in nginx wrk taskset python3; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get install -y nginx wrk" >&2; exit 2; }
done
work=$(mktemp -d /tmp/same-headers.XXXXXX); chmod 755 "$work"
banyan_pid=""
cleanup() {
  [ -n "$banyan_pid" ] && kill "$banyan_pid" 2>/dev/null || true
  for f in backend nginx; do [ -f "$work/$f.pid" ] && kill "$(cat "$work/$f.pid")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
up=$(free_port); pn=$(free_port); pb=$(free_port)
head -c "$body" /dev/zero | tr '\0' 'a' > "$work/body"
cat > "$work/backend.conf" <<C
worker_processes 1; pid $work/backend.pid; error_log $work/backend.err; daemon on;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$up; root $work; location / { try_files /body =404; default_type application/json; } } }
C
# nginx has no span ids of its own: its traceparent reuses the request id and a fixed span, which
# costs it less than banyan's fresh span per hop.
cat > "$work/nginx.conf" <<C
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err; daemon on;
events { worker_connections 8192; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server 127.0.0.1:$up; keepalive 128; }
  server { listen 127.0.0.1:$pn;
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_set_header Via "1.1 nginx";
      proxy_set_header X-Request-Id \$request_id;
      proxy_set_header traceparent "00-\$request_id-b7ad6b7169203331-01";
      add_header Via "1.1 nginx";
      add_header X-Request-Id \$request_id;
    } } }
C
taskset -c 1 nginx -c "$work/backend.conf"
taskset -c 0 nginx -c "$work/nginx.conf"
taskset -c 0 "$proxy_bin" --listen "127.0.0.1:$pb" --admin-listen 127.0.0.1:0 --state-dir "$work/state" \
  --access-log off --monolith "http://127.0.0.1:$up" --threads 1 >"$work/banyan.log" 2>&1 &
banyan_pid=$!
for port in $pn $pb; do
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/x" && break; sleep 0.1; done
done
nginx_pid=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A rps cpu p99
for _ in $(seq "$rounds"); do
  for t in nginx:$pn:$nginx_pid banyan:$pb:$banyan_pid; do
    IFS=: read -r name port pid <<< "$t"
    c0=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/x")
    c1=$(ticks "$pid")
    n=$(echo "$out" | awk '/requests in/{print $1}')
    rps[$name]+="$(echo "$out" | awk '/Requests\/sec/{print $2}') "
    cpu[$name]+="$(awk -v a="$c0" -v b="$c1" -v n="$n" -v hz="$hz" 'BEGIN{printf "%.3f", (b-a)*1e6/hz/n}') "
    p99[$name]+="$(echo "$out" | awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) sub(/ms$/,"",v); else {sub(/s$/,"",v); v=v*1000}; print v}') "
  done
done
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
printf '%-8s %10s %12s %10s\n' proxy req/s cpu_us/req p99_ms
for name in nginx banyan; do
  printf '%-8s %10.0f %12.3f %10.2f\n' "$name" "$(echo "${rps[$name]}" | median)" "$(echo "${cpu[$name]}" | median)" \
    "$(echo "${p99[$name]}" | median)"
done
awk -v rb="$(echo "${rps[banyan]}" | median)" -v rn="$(echo "${rps[nginx]}" | median)" \
    -v cb="$(echo "${cpu[banyan]}" | median)" -v cn="$(echo "${cpu[nginx]}" | median)" \
    -v pb="$(echo "${p99[banyan]}" | median)" -v pn="$(echo "${p99[nginx]}" | median)" \
  'BEGIN{ printf "banyan/nginx: throughput %.3f, cpu per request %.3f, p99 %.3f\n", rb/rn, cb/cn, pb/pn }'
