#!/usr/bin/env bash
# Sluice federation benchmarks: release build, a fresh database, then on loopback only:
#   - delivery: one public post by a user with BENCH_FOLLOWERS remote followers on
#     BENCH_HOSTS hosts (a sink on 127.1.x.y / 127.2.x.y), shared inboxes (one POST per
#     host), then again with a separate inbox per follower and no shared inbox (one POST
#     per follower, which exercises the per-host cap);
#   - inbox: signed Create(Note) activities from BENCH_ACTORS remote actors POSTed to a
#     local inbox for BENCH_INBOX_DURATION seconds: accepted (202) per second, stored
#     (applied) per second, time to drain.
# Both are `sluice-bench loadtest` subcommands (crates/bench/src/loadtest.rs); this script
# starts the server, makes the users and tokens, runs them and prints a summary.
#
# Usage: bench/federation.sh [sqlite|postgres|all]   (default: sqlite, plus postgres when
#                                                    SLUICE_BENCH_DATABASE_URL is set)
#
# PostgreSQL: SLUICE_BENCH_DATABASE_URL=postgres://user@127.0.0.1:5432/sluice_bench names
# an EMPTY database (the run refuses a database that has Sluice tables in it). With
# BENCH_PG_RECREATE=1 the script drops and recreates that database first (needs psql).
#
# Knobs (environment): BENCH_FOLLOWERS (10000), BENCH_HOSTS (1000), BENCH_SINK_LATENCY_MS
# (20: how long the sink takes to answer in the separate-inbox run, so that requests to a
# host overlap), BENCH_PER_HOST (4: SLUICE_FEDERATION_PER_HOST_CONCURRENCY),
# BENCH_INBOX_DURATION (60), BENCH_INBOX_CONCURRENCY (32), BENCH_ACTORS (50),
# BENCH_INBOX_RATES ("1000 2000": POSTs offered per second, one inbox run each; the first
# is the target, the second twice that, to see the server refuse what it cannot take;
# duration × rate requests are signed beforehand),
# BENCH_SKIP (delivery or inbox: run only the other), BENCH_SERVER_BIN (run the server
# from another build, e.g. a baseline, with this build's load generator), BENCH_RESULTS
# (output dir),
# CARGO_TARGET_DIR (/tmp/sluice-bench-target, shared with bench/run.sh).
# See docs/benchmarks.md ("Federation") for figures and how to read them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
FOLLOWERS=${BENCH_FOLLOWERS:-10000}
HOSTS=${BENCH_HOSTS:-1000}
SINK_LATENCY_MS=${BENCH_SINK_LATENCY_MS:-20}
PER_HOST=${BENCH_PER_HOST:-4}
INBOX_DURATION=${BENCH_INBOX_DURATION:-60}
INBOX_CONNS=${BENCH_INBOX_CONCURRENCY:-32}
ACTORS=${BENCH_ACTORS:-50}
INBOX_RATES=${BENCH_INBOX_RATES:-1000 2000}
SKIP=${BENCH_SKIP:-}
PASSWORD=${BENCH_PASSWORD:-password123}
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/federation-$(date +%Y%m%d-%H%M%S)}
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

need() { command -v "$1" >/dev/null || { echo "missing tool: $1 ($2)" >&2; exit 2; }; }
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
need python3 "used to find a free port"

log() { printf '\n== %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The sink holds one listening socket per host and one connection per host in use, the
# server one connection per host: a few thousand descriptors.
if (($(ulimit -n) < 8192)); then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
if (($(ulimit -n) < 3 * HOSTS + 200)); then
  echo "ulimit -n is $(ulimit -n): too few file descriptors for $HOSTS hosts" >&2
  exit 2
fi

mkdir -p "$RESULTS"
log "building release into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release -p sluice -p sluice-bench)
BIN="$CARGO_TARGET_DIR/release/sluice"
BENCH_BIN="$CARGO_TARGET_DIR/release/sluice-bench"
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN}

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

start_server() {
  local logf=$1 deadline
  deadline=$(($(now_ms) + 15000))
  "$SERVER_BIN" serve >"$logf" 2>&1 &
  SERVER_PID=$!
  until curl -s -o /dev/null --max-time 1 "http://$SLUICE_LISTEN/.well-known/nodeinfo"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server exited during start:" >&2
      cat "$logf" >&2
      exit 1
    fi
    if (($(now_ms) > deadline)); then
      echo "server not ready after 15 s" >&2
      exit 1
    fi
    sleep 0.01
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

# token USER: an access token (read write) by the password grant.
token() {
  local app cid csec tok
  app=$(curl -sf -X POST "$BASE/api/v1/apps" -d client_name=sluice-bench \
    -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write')
  cid=$(jq -r .client_id <<<"$app")
  csec=$(jq -r .client_secret <<<"$app")
  tok=$(curl -sf -X POST "$BASE/oauth/token" -d grant_type=password -d "client_id=$cid" \
    -d "client_secret=$csec" -d "username=$1" -d "password=$PASSWORD" -d 'scope=read write' |
    jq -r .access_token)
  [[ -n $tok && $tok != null ]] || { echo "no token for $1" >&2; exit 1; }
  echo "$tok"
}

# field NAME FILE: the value of NAME=… on the file's `result` line.
field() { grep '^result ' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

SUMMARY="$RESULTS/summary.txt"
: >"$SUMMARY"
FAILED=0

run_engine() {
  local engine=$1 data port
  data=$(mktemp -d /tmp/sluice-bench-data.XXXXXX)
  DATA_DIRS+=("$data")
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  export SLUICE_DATA_DIR=$data
  export SLUICE_LISTEN=127.0.0.1:$port
  export SLUICE_PUBLIC_URL=$BASE
  export SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
  # Loopback peers over plain http: the sink and the fake remote server.
  export SLUICE_ALLOW_PRIVATE_ADDRESSES=true SLUICE_FEDERATION_ALLOW_HTTP=true
  export SLUICE_FEDERATION_PER_HOST_CONCURRENCY=$PER_HOST
  export RUST_LOG=${RUST_LOG:-info,sqlx=warn} NO_COLOR=1
  unset SLUICE_DATABASE_URL
  if [[ $engine == postgres ]]; then
    export SLUICE_DATABASE_URL=$PG_URL
    if [[ ${BENCH_PG_RECREATE:-0} == 1 ]]; then
      need psql "apt-get install -y postgresql-client"
      [[ $PG_URL != *\?* ]] || { echo "BENCH_PG_RECREATE needs a URL without ?options" >&2; exit 2; }
      local db=${PG_URL##*/} admin=${PG_URL%/*}/postgres
      log "recreating database $db"
      psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    elif command -v psql >/dev/null; then
      if [[ $(psql -Atq "$PG_URL" -c "SELECT to_regclass('accounts') IS NOT NULL") == t ]]; then
        echo "$PG_URL already holds Sluice tables: give an empty database (or BENCH_PG_RECREATE=1)" >&2
        exit 2
      fi
    fi
  fi
  local out="$RESULTS/$engine"
  mkdir -p "$out"

  log "[$engine] users: alice (inbox), bob and carol (delivery)"
  for u in alice bob carol; do
    echo "$PASSWORD" | "$SERVER_BIN" admin --create-database create-user "$u" --email "$u@bench.invalid" >/dev/null
  done
  start_server "$out/server.log"
  log "[$engine] server $SERVER_PID on $BASE"

  local rc
  if [[ $SKIP != delivery ]]; then
    log "[$engine] delivery: $FOLLOWERS followers on $HOSTS hosts, shared inboxes"
    rc=0
    SLUICE_LOADTEST_TOKEN=$(token bob) "$BENCH_BIN" loadtest delivery --target "$BASE" \
      --followers "$FOLLOWERS" --hosts "$HOSTS" --first-address 127.1.0.1 \
      --server-pid "$SERVER_PID" | tee "$out/delivery-shared.txt" || rc=$?
    ((rc == 0)) || { FAILED=1; echo "[$engine] delivery (shared) check failed" >&2; }
    log "[$engine] delivery: $FOLLOWERS followers on $HOSTS hosts, a separate inbox each, sink latency $SINK_LATENCY_MS ms"
    rc=0
    SLUICE_LOADTEST_TOKEN=$(token carol) "$BENCH_BIN" loadtest delivery --target "$BASE" \
      --followers "$FOLLOWERS" --hosts "$HOSTS" --first-address 127.2.0.1 --separate-inboxes \
      --sink-latency-ms "$SINK_LATENCY_MS" --server-pid "$SERVER_PID" |
      tee "$out/delivery-separate.txt" || rc=$?
    ((rc == 0)) || { FAILED=1; echo "[$engine] delivery (separate) check failed" >&2; }
  fi
  if [[ $SKIP != inbox ]]; then
    for rate in $INBOX_RATES; do
      log "[$engine] inbox: $INBOX_DURATION s, $INBOX_CONNS in flight, $ACTORS actors, $rate/s offered"
      rc=0
      "$BENCH_BIN" loadtest inbox --target "$BASE" --to alice --duration "$INBOX_DURATION" \
        --concurrency "$INBOX_CONNS" --actors "$ACTORS" --rate "$rate" \
        --server-pid "$SERVER_PID" | tee "$out/inbox-$rate.txt" || rc=$?
      ((rc == 0)) || { FAILED=1; echo "[$engine] inbox check failed" >&2; }
    done
  fi
  stop_server

  {
    echo "[$engine] per-host cap $PER_HOST"
    local f
    for v in shared separate; do
      f="$out/delivery-$v.txt"
      [[ -s $f ]] && grep -q '^result ' "$f" || continue
      printf '  delivery %-8s %5s followers %4s hosts: %5s/%5s POSTs, last %6s s after the answer (first %s s), max in flight/host %s (cap %s), repeated inboxes %s, bad signatures %s, server CPU %s%%\n' \
        "$v" "$(field followers "$f")" "$(field hosts "$f")" "$(field received "$f")" \
        "$(field expected "$f")" "$(field last_s "$f")" "$(field first_s "$f")" \
        "$(field max_in_flight "$f")" "$(field cap "$f")" "$(field repeated_inboxes "$f")" \
        "$(field bad_signatures "$f")" "$(field server_cpu "$f")"
    done
    for rate in $INBOX_RATES; do
      f="$out/inbox-$rate.txt"
      [[ -s $f ]] && grep -q '^result ' "$f" || continue
      printf '  inbox %5s/s offered for %s s: accepted %s (%s/s, slowest second %s), refused %s, p50 %s ms p99 %s ms; stored %s (%s/s), drained %s s after the last POST; CPU server %s%% load generator %s%%\n' \
        "$rate" "$(field duration_s "$f")" "$(field accepted "$f")" "$(field accepted_per_s "$f")" \
        "$(field min_accepted_per_s "$f")" "$(field refused "$f")" "$(field p50_ms "$f")" \
        "$(field p99_ms "$f")" "$(field stored "$f")" "$(field stored_per_s "$f")" \
        "$(field drain_s "$f")" "$(field server_cpu "$f")" "$(field loadgen_cpu "$f")"
    done
  } | tee -a "$SUMMARY"
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done

log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
exit "$FAILED"
