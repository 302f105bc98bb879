#!/usr/bin/env bash
# Search benchmark (issue 16): full-text search of posts on the seeded data set
# (`sluice-bench admin seed`: 5,000 accounts, 100,000 posts whose words come from a
# vocabulary of ~80), on 127.0.0.1 only, per database:
#   - GET /api/v2/search?type=statuses&limit=20&q=… as user1, with wrk: a mix of the
#     queries below in turn (the headline figure), then each query alone;
#   - GET /api/v2/search?type=hashtags&q=<prefix> (hashtags with their 7-day history).
# The seeded accounts are indexable, so user1's search covers every public post.
#
# Usage: bench/search.sh [sqlite|postgres|all]     (default: sqlite, plus postgres when
#                                                   SLUICE_BENCH_DATABASE_URL is set)
# PostgreSQL: SLUICE_BENCH_DATABASE_URL names an EMPTY database; BENCH_PG_RECREATE=1 drops
# and recreates it first (needs psql).
# Knobs: BENCH_ACCOUNTS (5000), BENCH_STATUSES (100000), BENCH_FOLLOWS (100),
# BENCH_THREADS (2), BENCH_CONNECTIONS (16), BENCH_DURATION (20s: the mix),
# BENCH_EACH_DURATION (10s: each query alone), BENCH_RESULTS (output dir),
# CARGO_TARGET_DIR (/tmp/sluice-bench-target), BENCH_PROFILE (release; debug for a quick
# check of the script itself), BENCH_SERVER_BIN (the server binary to measure).
# See docs/benchmarks.md, "Search (issue 16)".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
ACCOUNTS=${BENCH_ACCOUNTS:-5000}
STATUSES=${BENCH_STATUSES:-100000}
FOLLOWS=${BENCH_FOLLOWS:-100}
PASSWORD=${BENCH_PASSWORD:-password123}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-20s}
EACH=${BENCH_EACH_DURATION:-10s}
PROFILE=${BENCH_PROFILE:-release}
[[ $PROFILE == release || $PROFILE == debug ]] || { echo "BENCH_PROFILE is release or debug" >&2; exit 2; }
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/search-$(date +%Y%m%d-%H%M%S)}
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
for t in wrk curl jq python3; do command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done

log() { printf '\n== %s\n' "$*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
urlencode() { jq -rn --arg v "$1" '$v|@uri'; }

# The queries, named: how many posts they match differs by orders of magnitude.
# (A fortnight ago, for the date operator.)
SINCE=$(date -u -d '15 days ago' +%Y-%m-%d)
QUERY_NAMES=(one-word two-words phrase rare-words excluded from-account is-reply after-date no-match)
QUERIES=(
  "river"
  "coffee garden"
  '"water flows"'
  "tomatoes soup recipe chess"
  "river -coffee"
  "from:user2 river"
  "river is:reply"
  "river after:$SINCE"
  "xylophone"
)

mkdir -p "$RESULTS"
log "building $PROFILE into $CARGO_TARGET_DIR"
if [[ $PROFILE == release ]]; then
  (cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
else
  (cd "$ROOT" && cargo build -q -p sluice -p sluice-bench)
fi
BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/$PROFILE/sluice}
BENCH_BIN="$CARGO_TARGET_DIR/$PROFILE/sluice-bench"

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
  "$BIN" serve >"$1" 2>&1 &
  SERVER_PID=$!
  until curl -s -o /dev/null --max-time 1 "http://$SLUICE_LISTEN/.well-known/nodeinfo"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start:" >&2; cat "$1" >&2; exit 1; }
    sleep 0.05
  done
}

# wrk_fields FILE: "req_per_s p50_ms p90_ms p99_ms requests errors".
wrk_fields() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 }
      return v
    }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +90%/ { p90 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    / requests in / { reqs = $1 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.2f %.2f %.2f %d %d\n", rps, p50, p90, p99, reqs, bad }
  ' "$1"
}

SUMMARY="$RESULTS/summary.txt"
: >"$SUMMARY"

# measure NAME TYPE DURATION QUERY…: wrk over the queries in turn; one summary line.
measure() {
  local name=$1 kind=$2 dur=$3 out=$4
  shift 4
  local list="" q
  for q in "$@"; do list+="$(urlencode "$q")"$'\n'; done
  SLUICE_BENCH_TOKEN=$TOKEN SLUICE_BENCH_QUERIES=$list SLUICE_BENCH_SEARCH_TYPE=$kind \
    wrk -t"$THREADS" -c"$CONNS" -d3s -s "$ROOT/bench/search.lua" "$BASE" >/dev/null
  SLUICE_BENCH_TOKEN=$TOKEN SLUICE_BENCH_QUERIES=$list SLUICE_BENCH_SEARCH_TYPE=$kind \
    wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency -s "$ROOT/bench/search.lua" "$BASE" >"$out/wrk-$name.txt"
  read -r rps p50 p90 p99 n bad < <(wrk_fields "$out/wrk-$name.txt")
  printf '  %-12s -c%-3s %6s req/s  p50 %7s ms  p90 %7s ms  p99 %7s ms  %7s reqs  %s errors\n' \
    "$name" "$CONNS" "$rps" "$p50" "$p90" "$p99" "$n" "$bad" | tee -a "$SUMMARY"
}

run_engine() {
  local engine=$1 data port
  data=$(mktemp -d /tmp/sluice-bench-data.XXXXXX)
  DATA_DIRS+=("$data")
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  export SLUICE_DATA_DIR=$data SLUICE_LISTEN=127.0.0.1:$port SLUICE_PUBLIC_URL=$BASE
  export SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
  export RUST_LOG=${RUST_LOG:-warn} NO_COLOR=1
  unset SLUICE_DATABASE_URL
  if [[ $engine == postgres ]]; then
    export SLUICE_DATABASE_URL=$PG_URL
    if [[ ${BENCH_PG_RECREATE:-0} == 1 ]]; then
      local db=${PG_URL##*/} admin=${PG_URL%/*}/postgres
      log "recreating database $db"
      psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
    fi
  fi
  local out="$RESULTS/$engine"
  mkdir -p "$out"
  # The schema first (the seeder writes into a migrated database).
  "$BIN" migrate --create-database >"$out/migrate.log" 2>&1 ||
    { echo "migrate failed:" >&2; cat "$out/migrate.log" >&2; exit 1; }
  log "[$engine] seeding $ACCOUNTS accounts, $STATUSES statuses (indexed as they are written)"
  local t0 t1
  t0=$(date +%s%3N)
  "$BENCH_BIN" admin seed --accounts "$ACCOUNTS" --statuses "$STATUSES" --follows "$FOLLOWS" \
    --password "$PASSWORD" --thread-replies 0 >"$out/seed.txt" 2>&1 ||
    { echo "seeding failed:" >&2; cat "$out/seed.txt" >&2; exit 1; }
  t1=$(date +%s%3N)
  start_server "$out/server.log"
  local app cid csec
  app=$(curl -sf -X POST "$BASE/api/v1/apps" -d client_name=sluice-bench \
    -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read')
  cid=$(jq -r .client_id <<<"$app")
  csec=$(jq -r .client_secret <<<"$app")
  TOKEN=$(curl -sf -X POST "$BASE/oauth/token" -d grant_type=password -d "client_id=$cid" \
    -d "client_secret=$csec" -d username=user1 -d "password=$PASSWORD" -d 'scope=read' |
    jq -r .access_token)
  [[ -n $TOKEN && $TOKEN != null ]] || { echo "no token for user1" >&2; exit 1; }
  # Each query answers, and the common ones fill a page.
  local i n
  {
    echo "[$engine] $ACCOUNTS accounts, $STATUSES statuses (seeded in $(((t1 - t0) / 1000)) s); as user1, limit=20"
    for i in "${!QUERIES[@]}"; do
      n=$(curl -sf -H "Authorization: Bearer $TOKEN" \
        "$BASE/api/v2/search?type=statuses&limit=20&q=$(urlencode "${QUERIES[$i]}")" | jq '.statuses | length')
      printf '  %-12s %-32s %2s results\n' "${QUERY_NAMES[$i]}" "${QUERIES[$i]}" "$n"
    done
  } | tee -a "$SUMMARY"
  log "[$engine] the mix of ${#QUERIES[@]} queries: warm-up 3 s, then $DURATION"
  measure mix statuses "$DURATION" "$out" "${QUERIES[@]}"
  for i in "${!QUERIES[@]}"; do
    log "[$engine] ${QUERY_NAMES[$i]}: ${QUERIES[$i]}"
    measure "${QUERY_NAMES[$i]}" statuses "$EACH" "$out" "${QUERIES[$i]}"
  done
  log "[$engine] hashtags by prefix"
  measure hashtags hashtags "$EACH" "$out" c g m s t
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done
log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
