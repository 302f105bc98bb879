#!/usr/bin/env bash
# Sluice memory benchmark: what the whole server (`sluice serve`: the supervisor and its
# serving process) costs at idle, measured as the kernel accounts shared memory.
#
# Summing RSS counts the binary's pages twice (the supervisor and the serving process
# map the same file); PSS divides each shared page among the processes that map it, so
# the PSS of the two processes adds up to what the server really occupies. Anonymous
# memory (heap, stacks, pages the dynamic loader writes) is what no other process can
# share and the kernel cannot drop; the rest is the binary's file-backed code and data,
# which the page cache can evict and reload.
#
#   1. builds the release binary (or takes BIN); prints its size;
#   2. reads the binary afresh into the page cache, starts `sluice serve` on a fresh
#      SQLite data dir (the first start: migrations), waits for the first answer;
#   3. after BENCH_MEMORY_SETTLE seconds (2), reads /proc/PID/smaps_rollup of the
#      supervisor and of the serving process: RSS, PSS, PSS anon/file, anonymous;
#   4. stops it and starts it again on the same data ("restart": what a server that
#      has run before costs), and reads the same;
#   5. then asks `GET /api/v1/instance` and the public timeline a few times (what an
#      app asks first), settles again, and reads the same figures ("warm").
#
# Usage: bench/memory.sh            (BIN=path/to/sluice to measure a built binary)
# Knobs: BENCH_MEMORY_SETTLE (2 s), BENCH_RUNS (3: the figures are the median run),
#        CARGO_TARGET_DIR (/tmp/sluice-bench-target).
# See docs/benchmarks.md ("Memory of the whole server").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
SETTLE=${BENCH_MEMORY_SETTLE:-2}
RUNS=${BENCH_RUNS:-3}
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }

if [[ -z ${BIN:-} ]]; then
  (cd "$ROOT" && cargo build --release -q -p sluice)
  BIN=$CARGO_TARGET_DIR/release/sluice
fi
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 2; }

DATA=
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [[ -z $DATA ]] || rm -rf "$DATA"
}
trap cleanup EXIT

# smaps FIELD PID: the field of /proc/PID/smaps_rollup, in KiB.
smaps() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"; }
# figures PID: "rss pss pss_anon pss_file anonymous" in KiB.
figures() {
  echo "$(smaps "$1" Rss) $(smaps "$1" Pss) $(smaps "$1" Pss_Anon) $(smaps "$1" Pss_File) $(smaps "$1" Anonymous)"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# measure LABEL SUPERVISOR_PID CHILD_PID: prints one line of the table and the totals.
measure() {
  local label=$1 sup=$2 child=$3 s c
  read -r -a s <<<"$(figures "$sup")"
  read -r -a c <<<"$(figures "$child")"
  printf '%s pss_total=%s anon_total=%s rss_sum=%s | supervisor rss=%s pss=%s (anon %s, file %s) anon=%s | serving rss=%s pss=%s (anon %s, file %s) anon=%s\n' \
    "$label" "$(mib $((s[1] + c[1])))" "$(mib $((s[4] + c[4])))" "$(mib $((s[0] + c[0])))" \
    "$(mib "${s[0]}")" "$(mib "${s[1]}")" "$(mib "${s[2]}")" "$(mib "${s[3]}")" "$(mib "${s[4]}")" \
    "$(mib "${c[0]}")" "$(mib "${c[1]}")" "$(mib "${c[2]}")" "$(mib "${c[3]}")" "$(mib "${c[4]}")"
}

echo "binary: $BIN, $(stat -c %s "$BIN") bytes ($(mib $(($(stat -c %s "$BIN") / 1024))) MiB)"
# start LABEL: starts `sluice serve` on $DATA, waits for its first answer; sets SERVER_PID
# and CHILD (the serving process).
start() {
  SLUICE_DATA_DIR=$DATA SLUICE_LISTEN=127.0.0.1:$PORT SLUICE_PUBLIC_URL=$BASE \
    RUST_LOG=warn NO_COLOR=1 "$BIN" serve >>"$DATA/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 1 "$BASE/.well-known/nodeinfo" && break
    sleep 0.05
  done
  CHILD=$(pgrep -P "$SERVER_PID" | head -n 1)
  [[ -n $CHILD ]] || { echo "no serving process under $SERVER_PID" >&2; cat "$DATA/server.log" >&2; exit 1; }
}
stop() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

for run in $(seq 1 "$RUNS"); do
  # The whole binary in the page cache, read afresh, as right after it was installed:
  # the kernel maps cached pages around each page a process touches (fault-around),
  # and how much it maps depends on how the file came into the cache, so every run
  # starts from the same state.
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$BIN"
  cat "$BIN" >/dev/null
  DATA=$(mktemp -d /tmp/sluice-bench-memory.XXXXXX)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$PORT"
  start
  sleep "$SETTLE"
  measure "run $run first start (migrations), idle:" "$SERVER_PID" "$CHILD"
  stop
  start
  sleep "$SETTLE"
  measure "run $run restart, idle:" "$SERVER_PID" "$CHILD"
  for _ in 1 2 3; do
    curl -s -o /dev/null "$BASE/api/v1/instance"
    curl -s -o /dev/null "$BASE/api/v1/timelines/public?limit=20"
  done
  sleep "$SETTLE"
  measure "run $run restart, warm:" "$SERVER_PID" "$CHILD"
  stop
  rm -rf "$DATA"
  DATA=
done
