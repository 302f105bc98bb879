# Shared by the focused benchmarks (bench/search.sh, bench/home_tags.sh): sourced, not
# run. Expects ROOT, PROFILE, THREADS, CONNS, ACCOUNTS, STATUSES, FOLLOWS, PASSWORD,
# PG_URL and RESULTS to be set; sets BIN, BENCH_BIN, BASE, TOKEN, SERVER_PID, SUMMARY.
# Everything listens on and talks to 127.0.0.1 only.

for t in wrk curl jq python3; do command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done

log() { printf '\n== %s\n' "$*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
urlencode() { jq -rn --arg v "$1" '$v|@uri'; }

# bench_engines ARG: the engines to measure (sqlite, postgres, all, or auto: sqlite plus
# postgres when SLUICE_BENCH_DATABASE_URL is set), into ENGINES.
bench_engines() {
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
}

# bench_build: the server and the seeder, in PROFILE.
bench_build() {
  mkdir -p "$RESULTS"
  SUMMARY="$RESULTS/summary.txt"
  : >"$SUMMARY"
  BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/$PROFILE/sluice}
  BENCH_BIN=${BENCH_SEEDER_BIN:-$CARGO_TARGET_DIR/$PROFILE/sluice-bench}
  # Both binaries given (BENCH_SERVER_BIN, BENCH_SEEDER_BIN): nothing to build.
  [[ -n ${BENCH_SERVER_BIN:-} && -n ${BENCH_SEEDER_BIN:-} ]] && return
  log "building $PROFILE into $CARGO_TARGET_DIR"
  if [[ $PROFILE == release ]]; then
    (cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
  else
    (cd "$ROOT" && cargo build -q -p sluice -p sluice-bench)
  fi
}

SERVER_PID=
DATA_DIRS=()
bench_cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
}
trap bench_cleanup EXIT

start_server() {
  "$BIN" serve >"$1" 2>&1 &
  SERVER_PID=$!
  until curl -s -o /dev/null --max-time 1 "http://$SLUICE_LISTEN/.well-known/nodeinfo"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start:" >&2; cat "$1" >&2; exit 1; }
    sleep 0.05
  done
}

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
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

# seed_and_start ENGINE OUT SCOPES: a fresh database for ENGINE, migrated and seeded
# (ACCOUNTS, STATUSES, FOLLOWS each), the server started on it, and TOKEN: user1's, with
# SCOPES. Prints the seeding time in seconds into SEED_S.
seed_and_start() {
  local engine=$1 out=$2 scopes=$3 data port
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
  mkdir -p "$out"
  # The schema first (the seeder writes into a migrated database).
  "$BIN" migrate --create-database >"$out/migrate.log" 2>&1 ||
    { echo "migrate failed:" >&2; cat "$out/migrate.log" >&2; exit 1; }
  log "[$engine] seeding $ACCOUNTS accounts, $STATUSES statuses, $FOLLOWS follows each"
  local t0 t1
  t0=$(date +%s%3N)
  "$BENCH_BIN" admin seed --accounts "$ACCOUNTS" --statuses "$STATUSES" --follows "$FOLLOWS" \
    --password "$PASSWORD" --thread-replies 0 >"$out/seed.txt" 2>&1 ||
    { echo "seeding failed:" >&2; cat "$out/seed.txt" >&2; exit 1; }
  t1=$(date +%s%3N)
  SEED_S=$(((t1 - t0) / 1000))
  start_server "$out/server.log"
  local app cid csec
  app=$(curl -sf -X POST "$BASE/api/v1/apps" -d client_name=sluice-bench \
    -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d "scopes=$scopes")
  cid=$(jq -r .client_id <<<"$app")
  csec=$(jq -r .client_secret <<<"$app")
  TOKEN=$(curl -sf -X POST "$BASE/oauth/token" -d grant_type=password -d "client_id=$cid" \
    -d "client_secret=$csec" -d username=user1 -d "password=$PASSWORD" -d "scope=$scopes" |
    jq -r .access_token)
  [[ -n $TOKEN && $TOKEN != null ]] || { echo "no token for user1" >&2; exit 1; }
}
