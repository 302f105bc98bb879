#!/usr/bin/env bash
# Home timeline with followed hashtags (issue 16): GET /api/v1/timelines/home?limit=20 as
# user1 of the seeded data set (5,000 accounts, 100,000 posts, 100 follows each; about one
# post in five carries one or two of 30 hashtags), with wrk on 127.0.0.1, in rounds that
# alternate between following no hashtag and following 10, on one server in one sitting:
#   none, ten, none, ten  (each: warm-up 3 s, then BENCH_DURATION).
# With no followed tag the server runs exactly home's old statement, so "none" is
# today's figure and "ten" the same page with the ten tags' posts merged in.
#
# Usage: bench/home_tags.sh [sqlite|postgres|all]  (default: sqlite, plus postgres when
#                                                   SLUICE_BENCH_DATABASE_URL is set)
# PostgreSQL: SLUICE_BENCH_DATABASE_URL names an EMPTY database; BENCH_PG_RECREATE=1 drops
# and recreates it first (needs psql).
# Knobs: BENCH_ACCOUNTS (5000), BENCH_STATUSES (100000), BENCH_FOLLOWS (100),
# BENCH_THREADS (2), BENCH_CONNECTIONS (16), BENCH_DURATION (20s), BENCH_RESULTS,
# CARGO_TARGET_DIR (/tmp/sluice-bench-target), BENCH_PROFILE (release; debug for a quick
# check of the script itself), BENCH_SERVER_BIN (the server binary to measure).
# See docs/benchmarks.md, "Home with followed hashtags (issue 16)".
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
PROFILE=${BENCH_PROFILE:-release}
[[ $PROFILE == release || $PROFILE == debug ]] || { echo "BENCH_PROFILE is release or debug" >&2; exit 2; }
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/home-tags-$(date +%Y%m%d-%H%M%S)}
PG_URL=${SLUICE_BENCH_DATABASE_URL:-}
# Ten of the seeder's hashtags (crates/bench/src/seed.rs, TAGS).
TAGS=(fediverse rust sqlite postgres photography cats dogs music books coffee)

. "$ROOT/bench/lib.sh"
bench_engines "${1:-auto}"
bench_build

# follow_tags follow|unfollow: user1 follows (or stops following) the ten hashtags.
follow_tags() {
  local t
  for t in "${TAGS[@]}"; do
    curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/tags/$t/$1"
  done
  local n
  n=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/followed_tags" | jq length)
  [[ ($1 == follow && $n == 10) || ($1 == unfollow && $n == 0) ]] ||
    { echo "user1 follows $n hashtags after $1" >&2; exit 1; }
}

# round NAME OUT: wrk on home; one summary line.
round() {
  local name=$1 out=$2 url="$BASE/api/v1/timelines/home?limit=20" n
  n=$(curl -sf -H "Authorization: Bearer $TOKEN" "$url" | jq length)
  [[ $n == 20 ]] || { echo "home of user1 has $n statuses, expected 20" >&2; exit 1; }
  wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" \
    "$url" >"$out/wrk-$name.txt"
  read -r rps p50 p90 p99 reqs bad < <(wrk_fields "$out/wrk-$name.txt")
  printf '  %-8s -c%-3s %6s req/s  p50 %7s ms  p90 %7s ms  p99 %7s ms  %7s reqs  %s errors\n' \
    "$name" "$CONNS" "$rps" "$p50" "$p90" "$p99" "$reqs" "$bad" | tee -a "$SUMMARY"
}

run_engine() {
  local engine=$1 out="$RESULTS/$1"
  seed_and_start "$engine" "$out" "read write"
  echo "[$engine] $ACCOUNTS accounts, $STATUSES statuses, $FOLLOWS follows each (seeded in $SEED_S s); home as user1, limit=20" |
    tee -a "$SUMMARY"
  round none-1 "$out"
  follow_tags follow
  round ten-1 "$out"
  follow_tags unfollow
  round none-2 "$out"
  follow_tags follow
  round ten-2 "$out"
  stop_server
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done
log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
