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

. "$ROOT/bench/lib.sh"
bench_engines "${1:-auto}"

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

bench_build

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
  local engine=$1 out="$RESULTS/$1"
  seed_and_start "$engine" "$out" read
  # Each query answers, and the common ones fill a page.
  local i n
  {
    echo "[$engine] $ACCOUNTS accounts, $STATUSES statuses (seeded in $SEED_S s); as user1, limit=20"
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
  stop_server
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done
log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
