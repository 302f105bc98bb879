#!/usr/bin/env bash
# Sluice streaming benchmark: release build, a fresh SQLite database, then on loopback
# only, one `sluice-bench loadtest stream` run per scenario, each against a freshly started
# server (so that every RSS figure starts from the same idle process):
#   - BENCH_STREAM_SIZES connections (default 1000 and 10000), SSE only, then WebSocket
#     only;
#   - BENCH_STREAM_MAX connections (default 19000: the hard open-file limit here is
#     20,000 per process), half SSE and half WebSocket.
# Each run opens the connections, holds them idle for BENCH_STREAM_IDLE seconds (the
# server's CPU is measured over that), then posts BENCH_STREAM_RATE public posts per
# second for BENCH_STREAM_DURATION seconds; every connection listens to public:local,
# so every post is expected on every connection. Reports per run: connections, server
# RSS per connection, idle CPU, events received/expected, latency p50/p90/p99/max.
#
# Usage: bench/streaming.sh
# Knobs: BENCH_STREAM_SIZES ("1000 10000"), BENCH_STREAM_MAX (19000), BENCH_STREAM_IDLE
# (35), BENCH_STREAM_DURATION (60), BENCH_STREAM_RATE (0.2), BENCH_STREAM_USERS (100),
# BENCH_SERVER_BIN (another build's server, e.g. a baseline), BENCH_RESULTS (output dir),
# CARGO_TARGET_DIR (/tmp/sluice-bench-target, shared with the other benchmarks).
# See docs/benchmarks.md ("Streaming").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
SIZES=${BENCH_STREAM_SIZES:-1000 10000}
MAX=${BENCH_STREAM_MAX:-19000}
IDLE=${BENCH_STREAM_IDLE:-35}
DURATION=${BENCH_STREAM_DURATION:-60}
RATE=${BENCH_STREAM_RATE:-0.2}
USERS=${BENCH_STREAM_USERS:-100}
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/streaming-$(date +%Y%m%d-%H%M%S)}

log() { printf '\n== %s\n' "$*"; }
now_ms() { date +%s%3N; }

log "building (release)"
(cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
BIN=$CARGO_TARGET_DIR/release/sluice
BENCH_BIN=$CARGO_TARGET_DIR/release/sluice-bench
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN}
mkdir -p "$RESULTS"

DATA=$(mktemp -d /tmp/sluice-bench-stream.XXXXXX)
SERVER_PID=
cleanup() {
  [[ -z $SERVER_PID ]] || kill -KILL "$SERVER_PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export SLUICE_DATA_DIR=$DATA SLUICE_LISTEN=127.0.0.1:$PORT SLUICE_PUBLIC_URL=$BASE
export SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
export RUST_LOG=${RUST_LOG:-info,sqlx=warn} NO_COLOR=1
unset SLUICE_DATABASE_URL SLUICE_REDIS_URL

start_server() {
  local deadline
  deadline=$(($(now_ms) + 15000))
  "$SERVER_BIN" serve >>"$RESULTS/server.log" 2>&1 &
  SERVER_PID=$!
  until curl -s -o /dev/null --max-time 1 "$BASE/api/v1/streaming/health"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited at start" >&2; tail "$RESULTS/server.log" >&2; exit 1; }
    (($(now_ms) < deadline)) || { echo "server not ready after 15 s" >&2; exit 1; }
    sleep 0.05
  done
}

stop_server() {
  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 400); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

run() { # NAME CONNECTIONS SSE_SHARE
  local name=$1 n=$2 share=$3
  log "$name: $n connections, SSE share $share"
  start_server
  # One warm-up request so that the baseline RSS includes a served request.
  curl -s -o /dev/null "$BASE/api/v1/instance"
  "$BENCH_BIN" loadtest stream --target "$BASE" --connections "$n" --sse-share "$share" \
    --idle "${IDLE}s" --duration "${DURATION}s" --post-rate "$RATE" --users "$USERS" \
    --server-pid "$SERVER_PID" --json >"$RESULTS/$name.json"
  python3 - "$RESULTS/$name.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
l = s["latency"]
print(f"  established {s['established']}/{s['connections']}, dropped {s['dropped_sse'] + s['dropped_websocket']}")
print(f"  RSS per connection {s['server_rss_per_connection_kib']:.2f} KiB (after idle {s['server_rss_per_connection_after_idle_kib']:.2f}), "
      f"RSS {s['server_rss_kib']['before']} -> {s['server_rss_kib']['after_idle']} KiB")
print(f"  idle CPU {s['server_idle_cpu_percent']:.2f} % over {s['idle_seconds']} s; while posting: server {s['server_cpu_percent_while_posting']:.2f} %, load generator {s['load_generator_cpu_percent_while_posting']:.2f} %")
print(f"  events {s['events_received']}/{s['events_expected']}, missing {s['events_missing']}, duplicates {s['duplicates']}")
print(f"  latency p50 {l['p50_ms']:.1f} ms, p90 {l['p90_ms']:.1f} ms, p99 {l['p99_ms']:.1f} ms, max {l['max_ms']:.1f} ms")
EOF
  stop_server
}

for n in $SIZES; do
  run "sse-$n" "$n" 1.0
  run "websocket-$n" "$n" 0.0
done
run "mixed-$MAX" "$MAX" 0.5
log "results in $RESULTS"
