#!/usr/bin/env bash
# Real third-party Mastodon clients against a real Sluice server.
#
#   bash tests/clients/run.sh
#
# Builds (or takes $SLUICE_BIN) the sluice binary, installs pinned clients
# (Mastodon.py and toot in a venv, masto.js 7 and megalodon 10 with npm; cached between runs),
# and the socialweb.coop ActivityPub test suite (npm activitypub-testing, against
# an actor with a token for its C2S tests), then for each database -- SQLite always, PostgreSQL too when
# $SLUICE_TEST_DATABASE_URL is set (a postgres:// URL; a fresh database is created
# next to it for the run and dropped afterwards) -- starts `sluice serve` on a free
# loopback port with a fresh data directory, creates users with
# `sluice admin create-user`, and runs the four client scripts against it.
#
# Last line: `clients: N passed, M failed` (one item per client per database).
# Exit status non-zero if anything failed.
#
# Knobs: SLUICE_BIN (skip the build), CLIENTS_VENV (venv location, default
# tests/clients/.venv), CLIENTS_KEEP=1 (keep temp dirs), CLIENTS_ONLY="mastodon_py toot masto megalodon activitypub_testing".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${CLIENTS_VENV:-$HERE/.venv}
ONLY=${CLIENTS_ONLY:-mastodon_py toot masto megalodon activitypub_testing}
TEST_DB_URL=${SLUICE_TEST_DATABASE_URL:-}
BIN=${SLUICE_BIN:-}

SUITE=clients
SUITE_KEEP_VAR=CLIENTS_KEEP
SUITE_LOG_LINES=300
# shellcheck source=../lib/suite.sh
source "$ROOT/tests/lib/suite.sh"

# ---------------------------------------------------------------------------
log "client installs"
for tool in python3 node npm curl timeout; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
((NODE_MAJOR >= 18)) || die "masto.js 7 needs Node >= 18 (have $(node --version))"

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

PY_STAMP="$(python3 -c 'import sys; print(sys.version)' | head -n1) $(stamp_of "$HERE/requirements.txt")"
if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.sluice-stamp" 2>/dev/null)" != "$PY_STAMP" ]]; then
  echo "creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$HERE/requirements.txt" ||
    die "pip install failed"
  echo "$PY_STAMP" >"$VENV/.sluice-stamp"
else
  echo "venv up to date ($VENV)"
fi
"$VENV/bin/python" -c 'import mastodon, toot' || die "the venv lacks Mastodon.py or toot"
echo "Mastodon.py $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("Mastodon.py"))'), toot $("$VENV/bin/toot" --version | awk '{print $NF}')"

NPM_STAMP=$(stamp_of "$HERE/package.json" "$HERE/package-lock.json")
if [[ "$(cat "$HERE/node_modules/.sluice-stamp" 2>/dev/null)" != "$NPM_STAMP" ]]; then
  echo "npm ci in $HERE"
  (cd "$HERE" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$NPM_STAMP" >"$HERE/node_modules/.sluice-stamp"
else
  echo "node_modules up to date"
fi
echo "masto $(node -p "require('$HERE/node_modules/masto/package.json').version"), megalodon $(node -p "require('$HERE/node_modules/megalodon/package.json').version")"

# ---------------------------------------------------------------------------
free_port() {
  "$VENV/bin/python" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# The host of a postgres:// URL must be loopback (or a local socket).
pg_url_is_local() {
  "$VENV/bin/python" - "$1" <<'EOF'
import sys
from urllib.parse import urlsplit, parse_qs
u = urlsplit(sys.argv[1])
hosts = [u.hostname or ""] + parse_qs(u.query).get("host", [])
ok = u.scheme in ("postgres", "postgresql") and all(
    h in ("", "127.0.0.1", "localhost", "::1") or h.startswith("/") for h in hosts)
sys.exit(0 if ok else 1)
EOF
}

# with_db URL NAME: URL with its database replaced by NAME.
pg_url_with_db() {
  "$VENV/bin/python" - "$1" "$2" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
EOF
}

# run_suite LABEL: one server, all clients. Uses SERVER_ENV (array of NAME=VALUE).
run_suite() {
  local label=$1
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-clients.XXXXXX")
  ALL_TMP+=("$WORK")
  local port
  port=$(free_port)
  local base="http://127.0.0.1:$port"
  SERVER_LOG="$WORK/server.log"
  local env=(
    SLUICE_LISTEN="127.0.0.1:$port"
    SLUICE_DATA_DIR="$WORK/data"
    SLUICE_REGISTRATIONS=open
    SLUICE_RATE_LIMIT_WRITES=0
    SLUICE_RATE_LIMIT_SIGN_IN=0
    SLUICE_RATE_LIMIT_REGISTRATIONS=0
    SLUICE_RATE_LIMIT_APPS=0
    RUST_LOG="${RUST_LOG:-info}"
    NO_COLOR=1
    "${SERVER_ENV[@]}"
  )
  mkdir -p "$WORK/data"

  log "$label: starting sluice on $base"
  # cwd = the work dir, so no ./sluice.toml or ./.env of the caller is read.
  (cd "$WORK" && exec env "${env[@]}" "$BIN" serve) </dev/null >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local i up=0
  for ((i = 0; i < 300; i++)); do # 60 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if curl -fsS --max-time 2 -o /dev/null "$base/api/v1/instance" 2>/dev/null; then
      up=1
      break
    fi
    sleep 0.2
  done
  if ((up == 0)); then
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "sluice did not answer on $base/api/v1/instance within 60 s" >&2
    else
      echo "sluice serve exited before answering on $base/api/v1/instance" >&2
    fi
    show_server_log
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$label:server-start")
    stop_server || true
    return 0
  fi
  echo "up: $(curl -fsS --max-time 5 "$base/api/v1/instance" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["version"])')"

  # Users: the same configuration as the server, password on stdin.
  local pw="client-suite-password-$RANDOM$RANDOM"
  local user
  for user in alice tooter apclient moderator modmin; do
    if ! printf '%s\n' "$pw" | (cd "$WORK" && timeout 60 env "${env[@]}" "$BIN" admin create-user "$user" --email "$user@example.com") >>"$WORK/admin.log" 2>&1; then
      echo "sluice admin create-user $user failed:" >&2
      cat "$WORK/admin.log" >&2
      FAILED=$((FAILED + 1))
      FAILED_NAMES+=("$label:create-user")
      stop_server || true
      return 0
    fi
  done

  # The moderator of Mastodon.py's report checks.
  # modmin is an admin (Mastodon.py's admin account calls).
  if ! (cd "$WORK" && timeout 60 env "${env[@]}" "$BIN" admin accounts role moderator moderator) >>"$WORK/admin.log" 2>&1 ||
    ! (cd "$WORK" && timeout 60 env "${env[@]}" "$BIN" admin accounts role modmin admin) >>"$WORK/admin.log" 2>&1; then
    echo "sluice admin accounts role failed:" >&2
    cat "$WORK/admin.log" >&2
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$label:role")
    stop_server || true
    return 0
  fi

  local suite_failed=0 name rc
  for name in $ONLY; do
    log "$label: $name"
    rc=0
    case $name in
      mastodon_py)
        SLUICE_BASE_URL=$base CLIENT_USERNAME=alice CLIENT_EMAIL=alice@example.com CLIENT_PASSWORD=$pw \
          CLIENT_MODERATOR=moderator@example.com \
          CLIENT_ADMIN_EMAIL=modmin@example.com \
          timeout 300 "$VENV/bin/python" "$HERE/mastodon_py_test.py" || rc=$?
        ;;
      toot)
        SLUICE_BASE_URL=$base CLIENT_USERNAME=tooter CLIENT_EMAIL=tooter@example.com CLIENT_PASSWORD=$pw \
          TOOT="$VENV/bin/toot" PYTHON="$VENV/bin/python" \
          timeout 300 bash "$HERE/toot_test.sh" || rc=$?
        ;;
      masto)
        (cd "$HERE" && SLUICE_BASE_URL=$base timeout 300 node "$HERE/masto_test.mjs") || rc=$?
        ;;
      megalodon)
        (cd "$HERE" && SLUICE_BASE_URL=$base timeout 300 node "$HERE/megalodon_test.mjs") || rc=$?
        ;;
      activitypub_testing)
        SLUICE_BASE_URL=$base CLIENT_USERNAME=apclient CLIENT_EMAIL=apclient@example.com CLIENT_PASSWORD=$pw \
          PYTHON="$VENV/bin/python" timeout 300 bash "$HERE/activitypub_testing.sh" || rc=$?
        ;;
      *)
        echo "unknown client $name" >&2
        rc=2
        ;;
    esac
    if [[ $rc -eq 124 ]]; then echo "$name: timed out after 300 s" >&2; fi
    if [[ $rc -eq 0 ]]; then
      PASSED=$((PASSED + 1))
    else
      FAILED=$((FAILED + 1))
      FAILED_NAMES+=("$label:$name")
      suite_failed=1
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
  PG_DB="sluice_clients_$$_$(date +%s)"
  timeout 30 psql -w "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
    die "could not create database $PG_DB via SLUICE_TEST_DATABASE_URL"
  SERVER_ENV=(SLUICE_DATABASE_URL="$(pg_url_with_db "$TEST_DB_URL" "$PG_DB")")
  run_suite postgres
  drop_pg_db
else
  log "postgres: skipped (SLUICE_TEST_DATABASE_URL is not set)"
fi
