# What the suites that run a real Sluice server share (tests/clients/run.sh,
# tests/web/run.sh): a clean environment, the counters and the last line
# (`SUITE: N passed, M failed`), stopping the server, dropping the run's PostgreSQL
# database, showing the server's log, the exit trap, and the binary (built, or
# $SLUICE_BIN). Sourced, not run. The sourcing script sets first:
#   SUITE            the name in messages (`clients`, `web`)
#   SUITE_KEEP_VAR   the variable that keeps the temporary directories (`CLIENTS_KEEP`)
#   SUITE_LOG_LINES  how much of a failed server's log to show
#   ROOT, BIN        the repository, and $SLUICE_BIN or empty

# Nothing from the caller's sluice configuration may leak into the servers run here.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^SLUICE_' || true)

PASSED=0
FAILED=0
FAILED_NAMES=()
SERVER_PID=""
SERVER_LOG=""
WORK=""
PG_DB=""
PG_ADMIN_URL=""
ALL_TMP=()

log() { printf '\n=== %s\n' "$*"; }
die() {
  echo "$SUITE: error: $*" >&2
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("setup: $*")
  exit 1
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  local pid=$SERVER_PID rc=0
  SERVER_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do # 20 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "server (pid $pid) did not stop within 20 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 1
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "server (pid $pid) exited with status $rc" >&2
    return 1
  fi
}

drop_pg_db() {
  [[ -n $PG_DB ]] || return 0
  local db=$PG_DB
  PG_DB=""
  timeout 30 psql -w "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
    timeout 30 psql -w "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAtc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null ||
    echo "warning: could not drop database $db" >&2
}

show_server_log() {
  [[ -n $SERVER_LOG && -s $SERVER_LOG ]] || return 0
  echo "----- server log ($SERVER_LOG), last $SUITE_LOG_LINES lines -----"
  tail -n "$SUITE_LOG_LINES" "$SERVER_LOG" | sed 's/\x1b\[[0-9;]*m//g'
  echo "----- end of server log ($SUITE_KEEP_VAR=1 keeps it and the data dir) -----"
}

on_exit() {
  local rc=$?
  stop_server || true
  drop_pg_db
  if [[ ${!SUITE_KEEP_VAR:-0} != 1 ]]; then
    local d
    for d in "${ALL_TMP[@]}"; do rm -rf "$d"; done
  fi
  if ((FAILED > 0)); then
    echo
    echo "failed: ${FAILED_NAMES[*]}"
  fi
  if [[ $rc -ne 0 && $FAILED -eq 0 ]]; then FAILED=1; fi
  echo "$SUITE: $PASSED passed, $FAILED failed"
  if ((FAILED > 0)); then exit 1; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "binary"
if [[ -z $BIN ]]; then
  command -v cargo >/dev/null || die "cargo not found (or set SLUICE_BIN)"
  (cd "$ROOT" && cargo build -q -p sluice --bin sluice) || die "cargo build failed"
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sluice"
  [[ $BIN = /* ]] || BIN="$ROOT/$BIN"
fi
[[ -x $BIN ]] || die "no executable sluice binary at $BIN"
# The server runs in its own directory: the binary's path must not be relative.
[[ $BIN = /* ]] || BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
echo "using $BIN"
