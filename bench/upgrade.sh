#!/usr/bin/env bash
# Sluice upgrade benchmark: throughput and latency of a read endpoint in steady state,
# then over the same time with upgrades in the middle (SIGUSR2 through
# `sluice admin upgrade`, to the same binary), on loopback, release build, SQLite.
#
#   1. builds the release binary; seeds a fresh data dir (`sluice-bench admin seed`);
#   2. starts `sluice serve` (the supervisor) and warms up;
#   3. steady: `wrk -t2 -cC -dDs --latency` on /api/v1/timelines/public?limit=20;
#   4. upgrades: the same wrk run, with BENCH_UPGRADES upgrades spread over it;
#   5. prints requests/s, p50/p99/max latency, socket errors and non-2xx answers of both.
#
# Knobs: BENCH_UPGRADE_DURATION (20 s), BENCH_UPGRADE_CONNECTIONS (16), BENCH_UPGRADES
# (3), BENCH_RESULTS (output dir), CARGO_TARGET_DIR (/tmp/sluice-bench-target).
# Needs wrk. See docs/benchmarks.md ("Upgrades").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
DURATION=${BENCH_UPGRADE_DURATION:-20}
CONNECTIONS=${BENCH_UPGRADE_CONNECTIONS:-16}
UPGRADES=${BENCH_UPGRADES:-3}
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/upgrade-$(date +%Y%m%d-%H%M%S)}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

log() { printf '\n== %s\n' "$*"; }

log "building (release)"
(cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
BIN=$CARGO_TARGET_DIR/release/sluice
BENCH_BIN=$CARGO_TARGET_DIR/release/sluice-bench
mkdir -p "$RESULTS"
DATA=$(mktemp -d /tmp/sluice-bench-upgrade.XXXXXX)
SERVER_PID=
cleanup() {
  [[ -z $SERVER_PID ]] || kill -TERM "$SERVER_PID" 2>/dev/null || true
  sleep 1
  rm -rf "$DATA"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export SLUICE_DATA_DIR=$DATA SLUICE_LISTEN=127.0.0.1:$PORT SLUICE_PUBLIC_URL=$BASE
export SLUICE_RATE_LIMIT_WRITES=0 RUST_LOG=${RUST_LOG:-info,sqlx=warn} NO_COLOR=1
unset SLUICE_DATABASE_URL SLUICE_REDIS_URL

log "seeding"
"$BENCH_BIN" admin --create-database seed --accounts 200 --statuses 5000 --follows 20 >"$RESULTS/seed.log" 2>&1

log "starting the supervisor"
"$BIN" serve >>"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null --max-time 1 "$BASE/api/v1/streaming/health" && break
  sleep 0.05
done
URL="$BASE/api/v1/timelines/public?limit=20"
wrk -t2 -c"$CONNECTIONS" -d3s "$URL" >/dev/null

log "steady state: wrk -t2 -c$CONNECTIONS -d${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$RESULTS/steady.txt"

log "with $UPGRADES upgrades"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL" >"$RESULTS/upgrades.txt" &
WRK=$!
step=$((DURATION / (UPGRADES + 1)))
for i in $(seq 1 "$UPGRADES"); do
  sleep "$step"
  "$BIN" admin upgrade >>"$RESULTS/upgrade-commands.log" 2>&1 || echo "upgrade $i failed" | tee -a "$RESULTS/upgrade-commands.log"
done
wait "$WRK"

summary() { # FILE LABEL
  python3 - "$1" "$2" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def find(pattern, default="0"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
rps = find(r"Requests/sec:\s+([\d.]+)")
p50 = find(r"50%\s+([\d.]+\w+)")
p99 = find(r"99%\s+([\d.]+\w+)")
mx = find(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)")
total = find(r"(\d+) requests in")
errors = find(r"Socket errors: (.*)", "none")
non2xx = find(r"Non-2xx or 3xx responses: (\d+)", "0")
print(f"  {sys.argv[2]:<10} {total} requests, {rps} req/s, p50 {p50}, p99 {p99}, max {mx}; socket errors: {errors}; non-2xx: {non2xx}")
EOF
}
log "results ($RESULTS)"
summary "$RESULTS/steady.txt" steady
summary "$RESULTS/upgrades.txt" upgrades
grep -c "upgrade: done" "$RESULTS/server.log" | sed 's/^/  upgrades done: /'
