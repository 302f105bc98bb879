#!/usr/bin/env bash
# Before/after on one seeded SQLite database: two server binaries take turns on fresh
# copies of the same data, so that a code change is compared without the seeding's or
# the machine's drift in between. Per round and side: GET /api/v1/timelines/home?limit=20
# at BENCH_CONNECTIONS_LOW and the thread context of the seeded conversation at
# BENCH_CONTEXT_CONNECTIONS, each after a 3 s warm-up.
#
# Usage: bench/ab.sh BEFORE_BIN AFTER_BIN
#   (build each commit's `sluice` with `cargo build --release -p sluice`, in worktrees)
# Knobs: BENCH_ROUNDS (3), BENCH_DURATION (20s), BENCH_CONNECTIONS_LOW (16),
# BENCH_CONTEXT_CONNECTIONS (16), BENCH_RESULTS (output dir), CARGO_TARGET_DIR (where
# this checkout's sluice-bench is built, for seeding).
# See docs/benchmarks.md ("Reshaping the engine, third sitting").
set -euo pipefail

[[ $# == 2 ]] || { echo "usage: $0 BEFORE_BIN AFTER_BIN" >&2; exit 2; }
BEFORE=$1
AFTER=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_DURATION:-20s}
CONNS=${BENCH_CONNECTIONS_LOW:-16}
CCONNS=${BENCH_CONTEXT_CONNECTIONS:-16}
OUT=${BENCH_RESULTS:-/tmp/sluice-bench-results/ab-$(date +%Y%m%d-%H%M%S)}
for t in wrk curl jq python3; do command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --release -q -p sluice-bench)
BENCH=$CARGO_TARGET_DIR/release/sluice-bench
WORK=$(mktemp -d /tmp/sluice-ab.XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RUST_LOG=warn NO_COLOR=1 SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
export SLUICE_LISTEN=127.0.0.1:$port SLUICE_PUBLIC_URL=http://127.0.0.1:$port
unset SLUICE_DATABASE_URL
BASE=http://127.0.0.1:$port

start() { # BIN DIR
  SLUICE_DATA_DIR=$2 "$1" serve >>"$OUT/server.log" 2>&1 &
  PID=$!
  until curl -s -o /dev/null --max-time 1 "$BASE/.well-known/nodeinfo"; do
    kill -0 "$PID" 2>/dev/null || { echo "server exited at start" >&2; tail "$OUT/server.log" >&2; exit 1; }
    sleep 0.05
  done
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
token() {
  local app cid csec
  app=$(curl -sf -X POST "$BASE/api/v1/apps" -d client_name=ab -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write')
  cid=$(jq -r .client_id <<<"$app")
  csec=$(jq -r .client_secret <<<"$app")
  curl -sf -X POST "$BASE/oauth/token" -d grant_type=password -d "client_id=$cid" -d "client_secret=$csec" \
    -d username=user1 -d password=password123 -d 'scope=read write' | jq -r .access_token
}
measure() { # NAME URL CONNECTIONS
  wrk -t2 -c"$3" -d3s -H "Authorization: Bearer $T" "$2" >/dev/null
  wrk -t2 -c"$3" -d"$DUR" --latency -H "Authorization: Bearer $T" "$2" >"$OUT/$1.txt"
  awk '/Requests\/sec/ {r = $2} /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2} END {printf "%s req/s p50 %s p99 %s", r, p50, p99}' "$OUT/$1.txt"
}

# The seed: made once, by the after binary's schema.
mkdir -p "$WORK/seed"
start "$AFTER" "$WORK/seed"
stop
SLUICE_DATA_DIR=$WORK/seed "$BENCH" admin seed --accounts 5000 --statuses 100000 --follows 100 \
  --password password123 --thread-replies 20 >"$OUT/seed.txt"
ROOT_ID=$(awk '/thread root/ { print $3 }' "$OUT/seed.txt")

for r in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    bin=$BEFORE
    [[ $side == after ]] && bin=$AFTER
    rm -rf "$WORK/run"
    cp -a "$WORK/seed" "$WORK/run"
    start "$bin" "$WORK/run"
    T=$(token)
    home=$(measure "home-$side-$r" "$BASE/api/v1/timelines/home?limit=20" "$CONNS")
    context=$(measure "context-$side-$r" "$BASE/api/v1/statuses/$ROOT_ID/context" "$CCONNS")
    stop
    echo "round $r $side: home -c$CONNS $home; context -c$CCONNS $context" | tee -a "$OUT/summary.txt"
  done
done
echo "raw output: $OUT" >&2
