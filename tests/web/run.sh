#!/usr/bin/env bash
# Sluice's web app in a real browser: Debian's Chromium, driven by npm playwright-core.
#
#   bash tests/web/run.sh
#
# Installs what is missing (Debian's `chromium` when /usr/bin/chromium is absent; the
# pinned npm packages with `npm ci`, cached between runs; Playwright never downloads a
# browser of its own), builds (or takes $SLUICE_BIN) the sluice binary, then for each
# database -- SQLite always, PostgreSQL too when $SLUICE_TEST_DATABASE_URL is set (a
# loopback postgres:// URL; a fresh database is created next to it for the run and
# dropped afterwards) -- starts `sluice serve` on a free loopback port with a fresh data
# directory and open registrations, and runs the test scripts (*_test.mjs) against it,
# one after the other (the admin script's server is the same data restarted with
# sign-ups that wait for approval). People sign up through the pages themselves.
#
# Last line: `web: N passed, M failed` (one item per script per database).
# Exit status non-zero if anything failed.
#
# Knobs: SLUICE_BIN (skip the build), CHROMIUM_BIN (default /usr/bin/chromium),
# WEB_ONLY="flow_js nojs restart admin" (scripts to run), WEB_KEEP=1 (keep temp dirs),
# WEB_SCREENSHOTS=DIR (screenshots of the audited pages), WEB_SCRIPT_TIMEOUT (s).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ONLY=${WEB_ONLY:-flow_js nojs restart admin}
TEST_DB_URL=${SLUICE_TEST_DATABASE_URL:-}
BIN=${SLUICE_BIN:-}
CHROMIUM=${CHROMIUM_BIN:-/usr/bin/chromium}
# One script's limit; the whole suite takes about 3 minutes per database (README.md).
SCRIPT_TIMEOUT=${WEB_SCRIPT_TIMEOUT:-240}

SUITE=web
SUITE_KEEP_VAR=WEB_KEEP
SUITE_LOG_LINES=200
# shellcheck source=../lib/suite.sh
source "$ROOT/tests/lib/suite.sh"

# ---------------------------------------------------------------------------
log "browser and npm packages"
for tool in node npm curl timeout; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
((NODE_MAJOR >= 20)) || die "playwright-core needs Node >= 20 (have $(node --version))"

if [[ ! -x $CHROMIUM ]]; then
  [[ $CHROMIUM == /usr/bin/chromium ]] || die "CHROMIUM_BIN=$CHROMIUM is not executable"
  command -v apt-get >/dev/null || die "$CHROMIUM is missing and apt-get is not available to install Debian's chromium"
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get install -y -q chromium </dev/null >/dev/null ||
    { timeout 300 apt-get update -q </dev/null >/dev/null && timeout 600 apt-get install -y -q chromium </dev/null >/dev/null; } ||
    die "apt-get install chromium failed"
  [[ -x $CHROMIUM ]] || die "apt-get installed chromium, yet $CHROMIUM is missing"
fi
echo "$("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
NPM_STAMP=$(stamp_of "$HERE/package.json" "$HERE/package-lock.json")
if [[ "$(cat "$HERE/node_modules/.sluice-stamp" 2>/dev/null)" != "$NPM_STAMP" ]]; then
  echo "npm ci in $HERE"
  # playwright-core has no install script and downloads nothing; this says so twice.
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed"
  echo "$NPM_STAMP" >"$HERE/node_modules/.sluice-stamp"
else
  echo "node_modules up to date"
fi
echo "playwright-core $(node -p "require('$HERE/node_modules/playwright-core/package.json').version"), axe-core $(node -p "require('$HERE/node_modules/axe-core/package.json').version")"

# ---------------------------------------------------------------------------
free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# The host of a postgres:// URL must be loopback (or a local socket).
pg_url_is_local() {
  node -e '
    const u = new URL(process.argv[1]);
    const hosts = [u.hostname, ...u.searchParams.getAll("host")];
    const ok = ["postgres:", "postgresql:"].includes(u.protocol) && hosts.every(
      (h) => ["", "127.0.0.1", "localhost", "::1", "[::1]"].includes(h) || h.startsWith("/"));
    process.exit(ok ? 0 : 1);' "$1"
}

# pg_url_with_db URL NAME: URL with its database replaced by NAME.
pg_url_with_db() {
  node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString());' "$1" "$2"
}

# What each script needs of the server: how people join. The admin script sees
# sign-ups wait for approval; the others sign up and are in at once.
registrations_for() {
  case $1 in
  admin) echo approval ;;
  *) echo open ;;
  esac
}

# start_server LABEL MODE: `sluice serve` on the run's loopback port ($PORT) with
# sign-ups MODE (open|approval), on the run's data directory (and database); sets
# SERVER_PID, BASE and SERVER_MODE. The port stays the same across a restart: it is
# part of the server's domain, which the data names (accounts' addresses and URLs). Also writes the commands the scripts run as an operator would, with the
# server's settings: $WORK/upgrade.sh (`sluice admin upgrade`, which signals the
# supervisor and waits) and $WORK/admin.sh (`sluice admin ARGS...`). Returns non-zero
# (counted as a failure) when the server does not answer.
start_server() {
  local label=$1 mode=$2
  BASE="http://127.0.0.1:$PORT"
  local env=(
    SLUICE_LISTEN="127.0.0.1:$PORT"
    SLUICE_DATA_DIR="$WORK/data"
    SLUICE_REGISTRATIONS="$mode"
    SLUICE_RATE_LIMIT_WRITES=0
    SLUICE_RATE_LIMIT_SIGN_IN=0
    SLUICE_RATE_LIMIT_REGISTRATIONS=0
    SLUICE_RATE_LIMIT_APPS=0
    RUST_LOG="${RUST_LOG:-info}"
    NO_COLOR=1
    "${SERVER_ENV[@]}"
  )
  mkdir -p "$WORK/data"
  local cmd
  for cmd in upgrade admin; do
    {
      echo '#!/usr/bin/env bash'
      printf 'cd %q && exec env' "$WORK"
      printf ' %q' "${env[@]}"
      if [[ $cmd == upgrade ]]; then
        printf ' %q admin upgrade\n' "$BIN"
      else
        printf ' %q admin "$@"\n' "$BIN"
      fi
    } >"$WORK/$cmd.sh"
    chmod +x "$WORK/$cmd.sh"
  done

  log "$label: starting sluice on $BASE (sign-ups: $mode)"
  # cwd = the work dir, so no ./sluice.toml or ./.env of the caller is read.
  (cd "$WORK" && exec env "${env[@]}" "$BIN" serve) </dev/null >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  SERVER_MODE=$mode
  local i
  for ((i = 0; i < 300; i++)); do # 60 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if curl -fsS --max-time 2 -o /dev/null "$BASE/about" 2>/dev/null; then
      echo "up"
      return 0
    fi
    sleep 0.2
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "sluice did not answer on $BASE/about within 60 s" >&2
  else
    echo "sluice serve exited before answering on $BASE/about" >&2
  fi
  show_server_log
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$label:server-start")
  stop_server || true
  return 1
}

# run_suite LABEL: one data directory (and database), all scripts, each against a
# server with the sign-ups it needs (the server is restarted on the same data when that
# changes). Uses SERVER_ENV (array of NAME=VALUE).
run_suite() {
  local label=$1
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-web.XXXXXX")
  ALL_TMP+=("$WORK")
  SERVER_LOG="$WORK/server.log"
  SERVER_MODE=""
  PORT=$(free_port)

  local suite_failed=0 name rc mode
  for name in $ONLY; do
    mode=$(registrations_for "$name")
    if [[ $mode != "$SERVER_MODE" ]]; then
      if [[ -n $SERVER_PID ]]; then
        log "$label: restarting sluice for sign-ups $mode"
        if ! stop_server; then
          FAILED=$((FAILED + 1))
          FAILED_NAMES+=("$label:server-shutdown")
          suite_failed=1
        fi
      fi
      start_server "$label" "$mode" || return 0
    fi
    log "$label: $name"
    rc=0
    if [[ ! -f $HERE/${name}_test.mjs ]]; then
      echo "no script $HERE/${name}_test.mjs" >&2
      rc=2
    else
      (cd "$HERE" && SLUICE_BASE_URL=$BASE CHROMIUM_BIN=$CHROMIUM WEB_UPGRADE="$WORK/upgrade.sh" \
        WEB_ADMIN="$WORK/admin.sh" WEB_LABEL=$label WEB_SCREENSHOTS=${WEB_SCREENSHOTS:-} \
        timeout -k 10 "$SCRIPT_TIMEOUT" node --test-reporter=spec "$HERE/${name}_test.mjs") </dev/null || rc=$?
    fi
    if [[ $rc -eq 124 ]]; then echo "$name: timed out after $SCRIPT_TIMEOUT s" >&2; fi
    if [[ $rc -eq 0 ]]; then
      PASSED=$((PASSED + 1))
    else
      FAILED=$((FAILED + 1))
      FAILED_NAMES+=("$label:$name")
      suite_failed=1
    fi
    # Every script must leave the server serving (the restart script upgrades it).
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "sluice serve is gone after $name" >&2
      FAILED=$((FAILED + 1))
      FAILED_NAMES+=("$label:server-died")
      show_server_log
      SERVER_PID=""
      return 0
    fi
  done

  log "$label: stopping sluice"
  if ! stop_server; then
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$label:server-shutdown")
    suite_failed=1
  fi
  if grep -q 'panicked' "$SERVER_LOG"; then
    echo "the server log contains a panic" >&2
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$label:server-panic")
    suite_failed=1
  fi
  if ((suite_failed)); then show_server_log; fi
  return 0
}

SERVER_ENV=()
run_suite sqlite

if [[ -n $TEST_DB_URL ]]; then
  command -v psql >/dev/null || die "SLUICE_TEST_DATABASE_URL is set but psql is not installed"
  pg_url_is_local "$TEST_DB_URL" || die "SLUICE_TEST_DATABASE_URL must point at a loopback PostgreSQL"
  PG_ADMIN_URL=$TEST_DB_URL
  PG_DB="sluice_web_$$_$(date +%s)"
  timeout 30 psql -w "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
    die "could not create database $PG_DB via SLUICE_TEST_DATABASE_URL"
  SERVER_ENV=(SLUICE_DATABASE_URL="$(pg_url_with_db "$TEST_DB_URL" "$PG_DB")")
  run_suite postgres
  drop_pg_db
else
  log "postgres: skipped (SLUICE_TEST_DATABASE_URL is not set)"
fi
