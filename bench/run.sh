#!/usr/bin/env bash
# Sluice benchmark: release build, seeded data, then on 127.0.0.1 only:
#   - start to ready (exec to first HTTP answer, and the server's own `ready_ms`),
#   - idle RSS after start, on an empty and on a seeded database,
#   - GET /api/v1/timelines/home?limit=20 with wrk (req/s, p50/p90/p99),
#   - GET /api/v1/statuses/:id/context with wrk: the seeded conversation (a root with
#     BENCH_THREAD_REPLIES replies from several accounts, some followers-only) as user1,
#   - POST /api/v1/statuses with wrk and bench/post_status.lua.
# The server is the `sluice` binary; seeding is `sluice-bench admin seed` (crates/bench).
#
# Usage: bench/run.sh [sqlite|postgres|all]        (default: sqlite, plus postgres when
#                                                   SLUICE_BENCH_DATABASE_URL is set)
#
# PostgreSQL: SLUICE_BENCH_DATABASE_URL=postgres://user@127.0.0.1:5432/sluice_bench names
# an EMPTY database (the run refuses a database that has Sluice tables in it). With
# BENCH_PG_RECREATE=1 the script drops and recreates that database first (needs psql).
#
# Knobs (environment): BENCH_ACCOUNTS (5000), BENCH_STATUSES (100000), BENCH_FOLLOWS (100),
# BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_CONNECTIONS_LOW (16: home is measured at
# both, since wrk's p99 grows with the connections it keeps busy), BENCH_HOME_DURATION (20s),
# BENCH_THREAD_REPLIES (20), BENCH_CONTEXT_DURATION (20s, at BENCH_CONNECTIONS),
# BENCH_POST_CONNECTIONS (16), BENCH_POST_DURATION (10s), BENCH_RESULTS (output dir),
# CARGO_TARGET_DIR (/tmp/sluice-bench-target: a release build apart from debug builds),
# BENCH_PROFILE (release; debug checks the script itself quickly, with small knobs),
# BENCH_SERVER_BIN (the server binary to measure; default: the one just built).
# See docs/benchmarks.md for figures and how to read them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
ACCOUNTS=${BENCH_ACCOUNTS:-5000}
STATUSES=${BENCH_STATUSES:-100000}
FOLLOWS=${BENCH_FOLLOWS:-100}
PASSWORD=${BENCH_PASSWORD:-password123}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
CONNS_LOW=${BENCH_CONNECTIONS_LOW:-16}
HOME_DURATION=${BENCH_HOME_DURATION:-20s}
THREAD_REPLIES=${BENCH_THREAD_REPLIES:-20}
CONTEXT_DURATION=${BENCH_CONTEXT_DURATION:-20s}
POST_CONNS=${BENCH_POST_CONNECTIONS:-16}
POST_DURATION=${BENCH_POST_DURATION:-10s}
PROFILE=${BENCH_PROFILE:-release}
[[ $PROFILE == release || $PROFILE == debug ]] || { echo "BENCH_PROFILE is release or debug" >&2; exit 2; }
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/$(date +%Y%m%d-%H%M%S)}
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
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
need jq "apt-get install -y jq"
need python3 "used to find a free port"

log() { printf '\n== %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The whole server: the supervisor (PID) and its serving processes.
server_pids() { echo "$1"; pgrep -P "$1" || true; }
rss_kb() {
  local total=0 p
  for p in $(server_pids "$1"); do
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
cpu_ticks() {
  local total=0 p
  for p in $(server_pids "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

mkdir -p "$RESULTS"
if [[ $PROFILE == release ]]; then
  log "building release into $CARGO_TARGET_DIR"
  (cd "$ROOT" && cargo build --release -p sluice -p sluice-bench)
else
  log "building debug into $CARGO_TARGET_DIR (a smoke run: the figures mean nothing)"
  (cd "$ROOT" && cargo build -p sluice -p sluice-bench)
fi
# BENCH_SERVER_BIN: another server binary to measure with the same seeding and load
# (a before/after in one sitting: build the older commit's `sluice`, point this at it).
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

# start_server LOGFILE: starts the server with the current SLUICE_* environment and waits
# for its first HTTP answer. Sets SERVER_PID, READY_HTTP_MS, READY_LOG_MS.
start_server() {
  local logf=$1 t0 deadline
  t0=$(now_ms)
  "$BIN" serve >"$logf" 2>&1 &
  SERVER_PID=$!
  deadline=$((t0 + 15000))
  # A probe that reads no data, so the idle RSS measured next is not a full page cache.
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
    sleep 0.005
  done
  READY_HTTP_MS=$(($(now_ms) - t0))
  READY_LOG_MS=$(sed 's/\x1b\[[0-9;]*m//g' "$logf" | grep -o 'ready_ms=[0-9]*' | head -1 | cut -d= -f2)
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

# wrk_field FILE: prints "req_per_s p50_ms p90_ms p99_ms requests errors" from wrk output.
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

run_engine() {
  local engine=$1 data port base
  data=$(mktemp -d /tmp/sluice-bench-data.XXXXXX)
  DATA_DIRS+=("$data")
  port=$(free_port)
  base="http://127.0.0.1:$port"
  export SLUICE_DATA_DIR=$data
  export SLUICE_LISTEN=127.0.0.1:$port
  export SLUICE_PUBLIC_URL=$base
  export SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
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

  log "[$engine] first start on an empty database"
  start_server "$out/server-empty.log"
  sleep 1
  local empty_ready_http=$READY_HTTP_MS empty_ready_log=$READY_LOG_MS empty_rss
  empty_rss=$(rss_kb "$SERVER_PID")
  stop_server

  log "[$engine] seeding $ACCOUNTS accounts, $STATUSES statuses, $FOLLOWS follows each"
  local t0 seed_s
  t0=$(now_ms)
  "$BENCH_BIN" admin seed --accounts "$ACCOUNTS" --statuses "$STATUSES" --follows "$FOLLOWS" \
    --password "$PASSWORD" --thread-replies "$THREAD_REPLIES" | tee "$out/seed.txt"
  local thread_root
  thread_root=$(awk '/thread root/ { print $3 }' "$out/seed.txt")
  [[ -n $thread_root ]] || { echo "the seed summary names no thread root" >&2; exit 1; }
  seed_s=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')

  log "[$engine] start on the seeded database"
  start_server "$out/server.log"
  sleep 1
  local ready_http=$READY_HTTP_MS ready_log=$READY_LOG_MS idle_rss
  idle_rss=$(rss_kb "$SERVER_PID")

  # What every client asks first; it counts local users and statuses.
  local instance_ms instance_rss
  instance_ms=$(for _ in 1 2 3; do curl -sf -o /dev/null -w '%{time_total}\n' "$base/api/v1/instance"; done |
    sort -n | awk 'NR == 2 { printf "%.1f", $1 * 1000 }')
  instance_rss=$(rss_kb "$SERVER_PID")

  local app cid csec token
  app=$(curl -sf -X POST "$base/api/v1/apps" -d client_name=sluice-bench \
    -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write')
  cid=$(jq -r .client_id <<<"$app")
  csec=$(jq -r .client_secret <<<"$app")
  token=$(curl -sf -X POST "$base/oauth/token" -d grant_type=password -d "client_id=$cid" \
    -d "client_secret=$csec" -d username=user1 -d "password=$PASSWORD" -d 'scope=read write' |
    jq -r .access_token)
  [[ -n $token && $token != null ]] || { echo "no token for user1" >&2; exit 1; }
  local n
  n=$(curl -sf -H "Authorization: Bearer $token" "$base/api/v1/timelines/home?limit=20" | jq length)
  [[ $n == 20 ]] || { echo "home timeline of user1 has $n statuses, expected 20" >&2; exit 1; }

  log "[$engine] GET /api/v1/timelines/home?limit=20: warm-up 3 s, then $HOME_DURATION"
  local url="$base/api/v1/timelines/home?limit=20" c0 c1
  wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $token" "$url" >/dev/null
  c0=$(cpu_ticks "$SERVER_PID")
  wrk -t"$THREADS" -c"$CONNS" -d"$HOME_DURATION" --latency \
    -H "Authorization: Bearer $token" "$url" | tee "$out/wrk-home.txt"
  c1=$(cpu_ticks "$SERVER_PID")
  local home_cpu
  home_cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v d="${HOME_DURATION%s}" \
    'BEGIN { printf "%.0f", 100 * t / hz / d }')
  log "[$engine] the same with $CONNS_LOW connections"
  c0=$(cpu_ticks "$SERVER_PID")
  wrk -t"$THREADS" -c"$CONNS_LOW" -d"$HOME_DURATION" --latency \
    -H "Authorization: Bearer $token" "$url" | tee "$out/wrk-home-low.txt"
  c1=$(cpu_ticks "$SERVER_PID")
  local home_low_cpu
  home_low_cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v d="${HOME_DURATION%s}" \
    'BEGIN { printf "%.0f", 100 * t / hz / d }')

  # The thread as user1 sees it: some replies are followers-only by accounts user1 does
  # not follow, so the context shows fewer than all of them.
  local context_url="$base/api/v1/statuses/$thread_root/context" shown
  shown=$(curl -sf -H "Authorization: Bearer $token" "$context_url" | jq '.descendants | length')
  ((shown > 0 && shown <= THREAD_REPLIES)) ||
    { echo "the context of $thread_root shows $shown replies, expected 1 to $THREAD_REPLIES" >&2; exit 1; }
  log "[$engine] GET /api/v1/statuses/:id/context ($shown of $THREAD_REPLIES replies shown): warm-up 3 s, then $CONTEXT_DURATION"
  wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $token" "$context_url" >/dev/null
  c0=$(cpu_ticks "$SERVER_PID")
  wrk -t"$THREADS" -c"$CONNS" -d"$CONTEXT_DURATION" --latency \
    -H "Authorization: Bearer $token" "$context_url" | tee "$out/wrk-context.txt"
  c1=$(cpu_ticks "$SERVER_PID")
  local context_cpu
  context_cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v d="${CONTEXT_DURATION%s}" \
    'BEGIN { printf "%.0f", 100 * t / hz / d }')

  log "[$engine] POST /api/v1/statuses for $POST_DURATION"
  c0=$(cpu_ticks "$SERVER_PID")
  SLUICE_BENCH_TOKEN=$token wrk -t"$THREADS" -c"$POST_CONNS" -d"$POST_DURATION" --latency \
    -s "$ROOT/bench/post_status.lua" "$base" | tee "$out/wrk-post.txt"
  c1=$(cpu_ticks "$SERVER_PID")
  local post_cpu
  post_cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v d="${POST_DURATION%s}" \
    'BEGIN { printf "%.0f", 100 * t / hz / d }')
  local loaded_rss
  loaded_rss=$(rss_kb "$SERVER_PID")
  stop_server

  read -r h_rps h_p50 h_p90 h_p99 h_n h_bad < <(wrk_fields "$out/wrk-home.txt")
  read -r l_rps l_p50 l_p90 l_p99 l_n l_bad < <(wrk_fields "$out/wrk-home-low.txt")
  read -r x_rps x_p50 x_p90 x_p99 x_n x_bad < <(wrk_fields "$out/wrk-context.txt")
  read -r p_rps p_p50 p_p90 p_p99 p_n p_bad < <(wrk_fields "$out/wrk-post.txt")
  {
    echo "[$engine] $ACCOUNTS accounts, $STATUSES statuses, $FOLLOWS follows each (seeded in ${seed_s} s)"
    printf '  start to ready, empty db:   %5s ms (HTTP)  %5s ms (ready_ms)   idle RSS %6.1f MB\n' \
      "$empty_ready_http" "$empty_ready_log" "$(awk -v k="$empty_rss" 'BEGIN{print k/1024}')"
    printf '  start to ready, seeded db:  %5s ms (HTTP)  %5s ms (ready_ms)   idle RSS %6.1f MB\n' \
      "$ready_http" "$ready_log" "$(awk -v k="$idle_rss" 'BEGIN{print k/1024}')"
    printf '  GET /api/v1/instance: %s ms (median of 3), RSS after it %.1f MB\n' \
      "$instance_ms" "$(awk -v k="$instance_rss" 'BEGIN{print k/1024}')"
    printf '  home  -c%-3s %7s req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  %7s reqs  %s errors  server CPU %s%%\n' \
      "$CONNS" "$h_rps" "$h_p50" "$h_p90" "$h_p99" "$h_n" "$h_bad" "$home_cpu"
    printf '  home  -c%-3s %7s req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  %7s reqs  %s errors  server CPU %s%%\n' \
      "$CONNS_LOW" "$l_rps" "$l_p50" "$l_p90" "$l_p99" "$l_n" "$l_bad" "$home_low_cpu"
    printf '  context -c%-3s %5s req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  %7s reqs  %s errors  server CPU %s%%  (%s of %s replies shown)\n' \
      "$CONNS" "$x_rps" "$x_p50" "$x_p90" "$x_p99" "$x_n" "$x_bad" "$context_cpu" "$shown" "$THREAD_REPLIES"
    printf '  post  -c%-3s %7s req/s  p50 %6s ms  p90 %6s ms  p99 %6s ms  %7s reqs  %s errors  server CPU %s%%\n' \
      "$POST_CONNS" "$p_rps" "$p_p50" "$p_p90" "$p_p99" "$p_n" "$p_bad" "$post_cpu"
    printf '  RSS after load: %.1f MB\n' "$(awk -v k="$loaded_rss" 'BEGIN{print k/1024}')"
  } | tee -a "$SUMMARY"
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done

log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
