# Sourced by the bench scripts: a work folder and the processes started, both cleaned up on exit;
# free loopback ports; and the nginx backend answering "ok" from memory that proxies are measured
# against. Only loopback addresses are used.
# shellcheck shell=bash

# bench_work NAME: makes $work (/tmp/NAME.XXXXXX) and removes it, and stops every PID in $pids, on exit.
bench_work() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$work"
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_backend [PREFIX...]: nginx on a free port ($backend_port), one worker, run under PREFIX
# (taskset -c 1, say).
start_backend() {
  backend_port=$(free_port)
  cat > "$work/backend.conf" <<CONF
daemon off; worker_processes 1; pid $work/backend.pid; error_log $work/backend.err;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$backend_port; keepalive_requests 1000000;
  location / { return 200 "ok"; } } }
CONF
  "$@" nginx -c "$work/backend.conf" &
  pids+=($!)
}
