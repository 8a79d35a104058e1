#!/usr/bin/env bash
# Direct A/B of two banyan-proxy binaries (say, the one before a data-plane change, kept aside, and
# the one after) on the same backend, in alternating rounds (A B A B ...) so machine drift hits both
# alike. Same pinning as ../shared/bench/proxy-compare.sh: the proxy under load on CPU 0, the nginx
# backend and wrk on CPU 1. Prints each round, then the median CPU microseconds per request of each
# binary (from /proc/PID/stat) and their ratio: the steady figure on a shared machine.
#
#   bench/ab-proxy.sh OLD_BINARY NEW_BINARY [--rounds 7] [--seconds 4] [--conns 64] [--path /x]
# Needs: nginx, wrk, taskset. Only loopback addresses are used.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
a_bin=$1; b_bin=$2; shift 2
rounds=7; secs=4; conns=64; path=/x
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2;;
    --seconds) secs=$2; shift 2;;
    --conns) conns=$2; shift 2;;
    --path) path=$2; shift 2;;
    *) echo "unknown option: $1" >&2; exit 2;;
  esac
done
for t in nginx wrk taskset; do command -v "$t" >/dev/null || { echo "missing $t: apt-get install -y nginx wrk" >&2; exit 2; }; done
source "$(dirname "$0")/lib/common.sh"
bench_work ab-proxy
start_backend taskset -c 1
start_proxy() {
  local bin=$1 port=$2
  taskset -c 0 "$bin" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 --monolith "http://127.0.0.1:$backend_port" \
    --state-dir "$work/state-$port" --threads 1 --access-log off > "$work/out-$port" 2> "$work/err-$port" &
  local pid=$!
  for _ in $(seq 100); do grep -q '^listening' "$work/out-$port" 2>/dev/null && break; sleep 0.05; done
  echo "$pid"
}
# start_proxy runs in a subshell: its pids+= is lost there, so the PIDs it prints are added here
# (before, both proxies outlived the script).
a_port=$(free_port); a_pid=$(start_proxy "$a_bin" "$a_port"); pids+=("$a_pid")
b_port=$(free_port); b_pid=$(start_proxy "$b_bin" "$b_port"); pids+=("$b_pid")
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
round() {  # round PID PORT → "requests cpu_us_per_request p99"
  local pid=$1 port=$2 t0 t1 out reqs
  t0=$(ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$path")
  t1=$(ticks "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$reqs $(echo "($t1 - $t0) * 1000000 / $hz / $reqs" | bc -l) $(echo "$out" | awk '$1 == "99%" {print $2}')"
}
# warm-up
taskset -c 1 wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$a_port$path" > /dev/null
taskset -c 1 wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$b_port$path" > /dev/null
a_cpu=(); b_cpu=()
printf '%-6s %-4s %10s %14s %8s\n' round bin requests cpu_us/req p99
for r in $(seq 1 "$rounds"); do
  read -r n c p < <(round "$a_pid" "$a_port"); a_cpu+=("$c"); printf '%-6s %-4s %10s %14.3f %8s\n' "$r" A "$n" "$c" "$p"
  read -r n c p < <(round "$b_pid" "$b_port"); b_cpu+=("$c"); printf '%-6s %-4s %10s %14.3f %8s\n' "$r" B "$n" "$c" "$p"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ma=$(median "${a_cpu[@]}"); mb=$(median "${b_cpu[@]}")
printf 'median cpu_us/req: A (%s) %.3f, B (%s) %.3f; B/A = %.3f\n' "$(basename "$a_bin")" "$ma" "$(basename "$b_bin")" "$mb" \
  "$(echo "$mb / $ma" | bc -l)"
