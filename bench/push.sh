#!/usr/bin/env bash
# Sluice Web Push benchmark: release build, a fresh database, loopback only. One event
# notifies BENCH_SUBSCRIBERS local accounts, each with a push subscription: the end of a
# poll they all voted in (`user1`'s). The server writes the `poll` notifications in one
# transaction, each queues a push message on the delivery queue, and the delivery
# workers encrypt (RFC 8291), sign (VAPID) and POST them to a push service that
# `sluice-bench admin push` runs on 127.0.0.1; it decrypts every BENCH_CHECK_EVERY-th
# message and prints the time from the poll's end to the last message received.
#
# Usage: bench/push.sh [sqlite|postgres|all]   (default: sqlite, plus postgres when
#                                              SLUICE_BENCH_DATABASE_URL is set)
#
# PostgreSQL: SLUICE_BENCH_DATABASE_URL names an EMPTY database (BENCH_PG_RECREATE=1
# drops and recreates it first; needs psql).
# Knobs (environment): BENCH_SUBSCRIBERS (10000), BENCH_PUSH_PER_HOST (8:
# SLUICE_FEDERATION_PUSH_PER_HOST_CONCURRENCY; every subscription is on the one sink
# host, as they would be on one push service), BENCH_EXPIRES_IN (60: seconds from the
# poll's post to its end; the votes are written meanwhile), BENCH_CHECK_EVERY (10),
# BENCH_PUSH_DELAY_MS (0: how long the push service takes to answer each message; a
# real one is tens of milliseconds away, which is when the per-host cap bounds the rate),
# BENCH_RESULTS (output dir), BENCH_SERVER_BIN (the server binary to measure, e.g. a
# baseline's; default: the one just built), BENCH_TOOL_BIN (the sluice-bench binary
# that seeds and runs the push service; with both set nothing is built), CARGO_TARGET_DIR (/tmp/sluice-bench-target,
# shared with bench/run.sh). See docs/benchmarks.md ("Web Push (issue 16)").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-10000}
PER_HOST=${BENCH_PUSH_PER_HOST:-8}
EXPIRES_IN=${BENCH_EXPIRES_IN:-60}
CHECK_EVERY=${BENCH_CHECK_EVERY:-10}
DELAY_MS=${BENCH_PUSH_DELAY_MS:-0}
DELAY_ARGS=()
[[ $DELAY_MS != 0 ]] && DELAY_ARGS=(--delay-ms "$DELAY_MS")
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/push-$(date +%Y%m%d-%H%M%S)}
PG_URL=${SLUICE_BENCH_DATABASE_URL:-}

case "${1:-auto}" in
  sqlite) ENGINES=(sqlite) ;;
  postgres) ENGINES=(postgres) ;;
  all) ENGINES=(sqlite postgres) ;;
  auto) ENGINES=(sqlite); [[ -n $PG_URL ]] && ENGINES+=(postgres) ;;
  *) echo "usage: $0 [sqlite|postgres|all]" >&2; exit 2 ;;
esac
if [[ " ${ENGINES[*]} " == *" postgres "* && -z $PG_URL ]]; then
  echo "postgres needs SLUICE_BENCH_DATABASE_URL" >&2
  exit 2
fi
command -v curl >/dev/null || { echo "missing tool: curl" >&2; exit 2; }

log() { printf '\n== %s\n' "$*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mkdir -p "$RESULTS"
if [[ -z ${BENCH_SERVER_BIN:-} || -z ${BENCH_TOOL_BIN:-} ]]; then
  log "building release into $CARGO_TARGET_DIR"
  (cd "$ROOT" && cargo build --release -p sluice -p sluice-bench)
fi
BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/sluice}
BENCH_BIN=${BENCH_TOOL_BIN:-$CARGO_TARGET_DIR/release/sluice-bench}

SERVER_PID=
DATA_DIRS=()
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

for engine in "${ENGINES[@]}"; do
  data=$(mktemp -d /tmp/sluice-bench-data.XXXXXX)
  DATA_DIRS+=("$data")
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  export SLUICE_DATA_DIR=$data SLUICE_LISTEN=127.0.0.1:$port SLUICE_PUBLIC_URL=$BASE
  export SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
  # The push service is on loopback, over plain http.
  export SLUICE_ALLOW_PRIVATE_ADDRESSES=true SLUICE_FEDERATION_ALLOW_HTTP=true
  export SLUICE_FEDERATION_PUSH_PER_HOST_CONCURRENCY=$PER_HOST
  export SLUICE_POLL_MIN_EXPIRATION_SECS=10
  export RUST_LOG=${RUST_LOG:-info,sqlx=warn} NO_COLOR=1
  unset SLUICE_DATABASE_URL
  if [[ $engine == postgres ]]; then
    export SLUICE_DATABASE_URL=$PG_URL
    if [[ ${BENCH_PG_RECREATE:-0} == 1 ]]; then
      db=${PG_URL##*/} admin=${PG_URL%/*}/postgres
      psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    fi
  fi
  out="$RESULTS/$engine"
  mkdir -p "$out"
  log "[$engine] seeding $((SUBSCRIBERS + 1)) accounts"
  "$BENCH_BIN" admin --create-database seed --accounts $((SUBSCRIBERS + 1)) --statuses 0 --follows 0 \
    >"$out/seed.txt"
  "$BIN" serve >"$out/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 1500); do
    curl -s -o /dev/null --max-time 1 "$BASE/.well-known/nodeinfo" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.01
  done
  log "[$engine] server $SERVER_PID ($BIN) on $BASE; $SUBSCRIBERS subscribers, $PER_HOST in flight per host, push service answers after ${DELAY_MS} ms"
  "$BENCH_BIN" admin push --target "$BASE" --subscribers "$SUBSCRIBERS" \
    --expires-in "$EXPIRES_IN" --check-every "$CHECK_EVERY" "${DELAY_ARGS[@]}" | tee "$out/push.txt"
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
done
log "results in $RESULTS"
