#!/usr/bin/env bash
# Purging a suspended domain (issue 17): the seeded data set (BENCH_ACCOUNTS accounts,
# BENCH_STATUSES posts, BENCH_FOLLOWS follows each) with the second half of the accounts
# turned into accounts of one remote domain (spam.example: about half the posts, 100,000
# by default), then the domain suspended through the admin API while user1 reads home.
# Measured: the time until the purge finished (every account of the domain purged), the
# serving process's peak RSS (/proc/PID/status VmHWM) before the block and after the purge, and
# GET /api/v1/timelines/home?limit=20 of user1 with wrk, before the block and in rounds
# of BENCH_ROUND during the purge.
#
# Usage: bench/purge.sh [sqlite|postgres|all]  (default: sqlite, plus postgres when
#                                              SLUICE_BENCH_DATABASE_URL is set)
# PostgreSQL: SLUICE_BENCH_DATABASE_URL names an EMPTY database; BENCH_PG_RECREATE=1 drops
# and recreates it first (needs psql). SQLite needs the sqlite3 shell.
# Knobs: BENCH_ACCOUNTS (5000), BENCH_STATUSES (200000), BENCH_FOLLOWS (100),
# BENCH_THREADS (2), BENCH_CONNECTIONS (16), BENCH_DURATION (20s, the round before),
# BENCH_ROUND (10s, each round during the purge), SLUICE_PURGE_BATCH and
# SLUICE_PURGE_PAUSE_MS (the server's, see README), BENCH_PURGE_MAX_S (stop measuring
# after the round that passes this many seconds of purge, and report the rate so far:
# for a slow purge; default none), BENCH_RESULTS, CARGO_TARGET_DIR
# (/tmp/sluice-bench-target), BENCH_PROFILE (release; debug for a quick check of the
# script itself), BENCH_SERVER_BIN (the server binary to measure) and BENCH_SEEDER_BIN
# (sluice-bench): with both, nothing is built.
# See docs/benchmarks.md, "Purging a suspended domain (issue 17)".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
ACCOUNTS=${BENCH_ACCOUNTS:-5000}
STATUSES=${BENCH_STATUSES:-200000}
FOLLOWS=${BENCH_FOLLOWS:-100}
PASSWORD=${BENCH_PASSWORD:-password123}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-20s}
ROUND=${BENCH_ROUND:-10s}
PROFILE=${BENCH_PROFILE:-release}
[[ $PROFILE == release || $PROFILE == debug ]] || { echo "BENCH_PROFILE is release or debug" >&2; exit 2; }
RESULTS=${BENCH_RESULTS:-/tmp/sluice-bench-results/purge-$(date +%Y%m%d-%H%M%S)}
PG_URL=${SLUICE_BENCH_DATABASE_URL:-}
MAX_S=${BENCH_PURGE_MAX_S:-0}
DOMAIN=spam.example
HALF=$((ACCOUNTS / 2))

. "$ROOT/bench/lib.sh"
bench_engines "${1:-auto}"
bench_build

# sql ENGINE STATEMENT: runs one statement on the benchmark's database, prints the result.
sql() {
  if [[ $1 == postgres ]]; then
    psql -qtA "$PG_URL" -c "$2"
  else
    sqlite3 -cmd ".timeout 5000" "$SLUICE_DATA_DIR/sluice.db" "$2"
  fi
}

# The accounts after user$HALF become accounts of $DOMAIN, their posts remote posts.
make_remote() {
  sql "$1" "UPDATE accounts SET domain = '$DOMAIN',
      uri = 'https://$DOMAIN/users/' || username, url = 'https://$DOMAIN/@' || username,
      inbox_url = 'https://$DOMAIN/users/' || username || '/inbox',
      shared_inbox_url = 'https://$DOMAIN/inbox'
    WHERE domain = '' AND username LIKE 'user%' AND CAST(substr(username, 5) AS INTEGER) > $HALF" >/dev/null
  sql "$1" "UPDATE statuses SET local = FALSE
    WHERE account_id IN (SELECT id FROM accounts WHERE domain = '$DOMAIN')" >/dev/null
}

left_to_purge() {
  sql "$1" "SELECT count(*) FROM accounts WHERE domain = '$DOMAIN'
    AND (purged_at IS NULL OR purged_at < suspended_at)"
}

# wrk_round NAME OUT DURATION: wrk on user1's home; one summary line.
wrk_round() {
  local name=$1 out=$2 duration=$3 url="$BASE/api/v1/timelines/home?limit=20"
  wrk -t"$THREADS" -c"$CONNS" -d"$duration" --latency -H "Authorization: Bearer $TOKEN" \
    "$url" >"$out/wrk-$name.txt"
  read -r rps p50 p90 p99 reqs bad < <(wrk_fields "$out/wrk-$name.txt")
  printf '  %-10s -c%-3s %6s req/s  p50 %7s ms  p90 %7s ms  p99 %7s ms  %7s reqs  %s errors\n' \
    "$name" "$CONNS" "$rps" "$p50" "$p90" "$p99" "$reqs" "$bad" | tee -a "$SUMMARY"
}

# The serving process: `sluice serve` is a supervisor with one serving child.
serving_pid() { pgrep -P "$SERVER_PID" | head -1; }
hwm_kib() { awk '/VmHWM/ { print $2 }' "/proc/$(serving_pid)/status"; }
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$(serving_pid)/status"; }

run_engine() {
  local engine=$1 out="$RESULTS/$1"
  seed_and_start "$engine" "$out" "read write admin:read admin:write"
  stop_server
  make_remote "$engine"
  "$BIN" admin accounts role user1 admin >/dev/null
  local remote_posts
  remote_posts=$(sql "$engine" "SELECT count(*) FROM statuses s JOIN accounts a ON a.id = s.account_id
    WHERE a.domain = '$DOMAIN'")
  start_server "$out/server.log"
  echo "[$engine] $ACCOUNTS accounts ($((ACCOUNTS - HALF)) of $DOMAIN), $STATUSES posts ($remote_posts of $DOMAIN), $FOLLOWS follows each (seeded in $SEED_S s); purge batch ${SLUICE_PURGE_BATCH:-default}, pause ${SLUICE_PURGE_PAUSE_MS:-default} ms; server $BIN; load average $(cut -d' ' -f1-3 /proc/loadavg)" |
    tee -a "$SUMMARY"
  # Warm-up, then the round before.
  wrk -t"$THREADS" -c"$CONNS" -d3s -H "Authorization: Bearer $TOKEN" \
    "$BASE/api/v1/timelines/home?limit=20" >/dev/null
  wrk_round before "$out" "$DURATION"
  local hwm_before
  hwm_before=$(hwm_kib)
  # RSS every half second while the purge runs.
  (while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kib; sleep 0.5; done) >"$out/rss.txt" 2>/dev/null &
  local rss_pid=$! t0 t1
  t0=$(date +%s%3N)
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/admin/domain_blocks" \
    -d domain=$DOMAIN -d severity=suspend
  local i=1 stopped=
  while [[ $(left_to_purge "$engine") != 0 ]]; do
    if ((MAX_S > 0 && $(date +%s%3N) - t0 > MAX_S * 1000)); then
      stopped=1
      break
    fi
    wrk_round "during-$i" "$out" "$ROUND"
    i=$((i + 1))
  done
  t1=$(date +%s%3N)
  kill "$rss_pid" 2>/dev/null || true
  local hwm_after left_posts done_posts secs
  hwm_after=$(hwm_kib)
  left_posts=$(sql "$engine" "SELECT count(*) FROM statuses s JOIN accounts a ON a.id = s.account_id
    WHERE a.domain = '$DOMAIN'")
  done_posts=$((remote_posts - left_posts))
  secs=$(echo "($t1 - $t0) / 1000" | bc -l)
  if [[ -n $stopped ]]; then
    printf '  purge STOPPED after %.1f s (BENCH_PURGE_MAX_S=%s): %s of %s posts purged, %s left\n' \
      "$secs" "$MAX_S" "$done_posts" "$remote_posts" "$left_posts" | tee -a "$SUMMARY"
  else
    printf '  purge: %s posts in %.1f s (%s left)\n' "$remote_posts" "$secs" "$left_posts" |
      tee -a "$SUMMARY"
  fi
  printf '  rate: %.0f posts/s; peak RSS %s MiB before the block, %s MiB after the purge; load average %s\n' \
    "$(echo "$done_posts / $secs" | bc -l)" $((hwm_before / 1024)) $((hwm_after / 1024)) \
    "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$SUMMARY"
  "$BIN" admin domain-blocks | tee -a "$SUMMARY"
  # Stopped early, the purge still runs: no round "after".
  [[ -n $stopped ]] || wrk_round after "$out" "$DURATION"
  echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$SUMMARY"
  stop_server
}

for e in "${ENGINES[@]}"; do
  run_engine "$e"
done
log "summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
cat "$SUMMARY"
echo "raw output: $RESULTS" >&2
