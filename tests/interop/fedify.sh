#!/usr/bin/env bash
# Interoperability with an independent ActivityPub implementation: Fedify.
#
#   bash tests/interop/fedify.sh
#
# Installs the peer in tests/interop/fedify (npm ci, pinned @fedify/fedify; cached
# between runs), builds (or takes $SLUICE_BIN) the sluice binary, starts `sluice serve`
# on 127.0.0.2:<free port> (embedded SQLite, fresh data dir, plain-HTTP federation with
# private addresses allowed), creates alice and a token, starts the Fedify peer
# (tests/interop/fedify/peer.mjs, actors `reader` and `writer`) on 127.0.0.3:<free
# port), then checks:
#
#   1. the peer's reader looks up alice@127.0.0.2:PORT (WebFinger + actor) and follows
#      her; Sluice (meeting reader first through its signed Follow) accepts, the peer
#      records the Accept, Sluice's API lists the follower;
#   2. alice posts; the peer's inbox gets the Create(Note), signature verified by Fedify;
#   3. alice resolves writer@127.0.0.3:PORT (not seen before) through
#      /api/v1/accounts/lookup, i.e. WebFinger at the peer, and follows it; the peer
#      accepts; writer posts; the Note is in alice's home timeline, public;
#   and that Fedify rejected none of Sluice's inbox POSTs, had no delivery or listener
#   errors, fetched nothing off loopback, and the server log has no panic.
#
# Every wait is bounded. Only loopback is contacted (plus the npm registry for the
# install). Last line: `interop fedify: N passed, M failed`; exit status non-zero if
# anything failed.
#
# Knobs: SLUICE_BIN (skip the build), FEDIFY_KEEP=1 (keep the temp dir with the logs),
# FEDIFY_WAIT (seconds per wait, default 30), PEER_LOG_LEVEL (Fedify's log level, info).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEER_DIR=$HERE/fedify
BIN=${SLUICE_BIN:-}
WAIT=${FEDIFY_WAIT:-30}
SLUICE_HOST=127.0.0.2
PEER_HOST=127.0.0.3

# Nothing from the caller's sluice configuration may leak into the server run here.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^SLUICE_' || true)

PASSED=0
FAILED=0
FAILED_NAMES=()
SERVER_PID=""
PEER_PID=""
WORK=""

log() { printf '\n=== %s\n' "$*"; }
pass() {
  echo "ok: $1"
  PASSED=$((PASSED + 1))
}
fail() {
  echo "FAILED: $1${2:+ -- $2}" >&2
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$1")
}
die() {
  fail "setup" "$*"
  exit 1
}

stop_pid() { # stop_pid PID NAME: TERM, up to 10 s, then KILL
  local pid=$1 i
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$2 (pid $pid) did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

show_logs() {
  [[ -n $WORK ]] || return 0
  local f
  for f in "$WORK/server.log" "$WORK/peer.log"; do
    [[ -s $f ]] || continue
    echo "----- $f, last 150 lines -----"
    tail -n 150 "$f" | sed 's/\x1b\[[0-9;]*m//g'
  done
  if [[ -n $PEER_BASE ]]; then
    echo "----- peer state -----"
    curl -sS --max-time 5 "$PEER_BASE/_peer/state" 2>/dev/null | head -c 20000 || true
    echo
  fi
  echo "----- end of logs (FEDIFY_KEEP=1 keeps $WORK) -----"
}

on_exit() {
  local rc=$?
  if ((FAILED > 0)) || [[ $rc -ne 0 ]]; then show_logs || true; fi
  stop_pid "$PEER_PID" "fedify peer"
  stop_pid "$SERVER_PID" "sluice"
  if [[ -n $WORK && ${FEDIFY_KEEP:-0} != 1 ]]; then rm -rf "$WORK"; fi
  if ((FAILED > 0)); then
    echo
    echo "failed: ${FAILED_NAMES[*]}"
  fi
  if [[ $rc -ne 0 && $FAILED -eq 0 ]]; then FAILED=1; fi
  echo "interop fedify: $PASSED passed, $FAILED failed"
  if ((FAILED > 0)); then exit 1; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# jq-like: `jget EXPR` evaluates the JavaScript expression EXPR with `d` bound to the
# JSON read from stdin; strings are printed raw, anything else as JSON.
jget() {
  node -e '
    let s = "";
    process.stdin.on("data", (c) => (s += c)).on("end", () => {
      let d;
      try { d = JSON.parse(s); } catch { process.exit(3); }
      let v;
      try { v = new Function("d", "return (" + process.argv[1] + ")")(d); } catch { v = undefined; }
      if (v === undefined || v === null) process.exit(4);
      process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    });' "$1"
}

# eventually SECONDS COMMAND...: run COMMAND every 0.5 s until it succeeds or time is up.
eventually() {
  local secs=$1 deadline
  shift
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    if "$@"; then return 0; fi
    sleep 0.5
  done
  "$@"
}

free_port() { # free_port HOST
  node -e 'const s = require("net").createServer(); s.listen(0, process.argv[1], () => { console.log(s.address().port); s.close(); });' "$1"
}

# ---------------------------------------------------------------------------
log "tools and peer install"
for tool in node npm curl timeout; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
((NODE_MAJOR >= 20)) || die "the Fedify peer needs Node >= 20 (have $(node --version))"
STAMP="$(node --version) $(cat "$PEER_DIR/package.json" "$PEER_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$PEER_DIR/node_modules/.sluice-stamp" 2>/dev/null)" != "$STAMP" ]]; then
  echo "npm ci in $PEER_DIR"
  (cd "$PEER_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  echo "$STAMP" >"$PEER_DIR/node_modules/.sluice-stamp"
else
  echo "node_modules up to date"
fi
echo "@fedify/fedify $(node -p "require('$PEER_DIR/node_modules/@fedify/fedify/package.json').version"), node $(node --version)"

log "binary"
if [[ -z $BIN ]]; then
  command -v cargo >/dev/null || die "cargo not found (or set SLUICE_BIN)"
  (cd "$ROOT" && cargo build -q -p sluice --bin sluice) || die "cargo build failed"
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sluice"
  [[ $BIN = /* ]] || BIN="$ROOT/$BIN"
fi
[[ -x $BIN ]] || die "no executable sluice binary at $BIN"
echo "using $BIN"

# ---------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fedify.XXXXXX")
PEER_BASE=""
SPORT=$(free_port "$SLUICE_HOST") || die "no free port on $SLUICE_HOST"
PPORT=$(free_port "$PEER_HOST") || die "no free port on $PEER_HOST"
SDOMAIN="$SLUICE_HOST:$SPORT"
PDOMAIN="$PEER_HOST:$PPORT"
BASE="http://$SDOMAIN"
SERVER_ENV=(
  SLUICE_LISTEN="$SDOMAIN"
  SLUICE_DATA_DIR="$WORK/data"
  SLUICE_REGISTRATIONS=open
  SLUICE_ALLOW_PRIVATE_ADDRESSES=true
  SLUICE_FEDERATION_ALLOW_HTTP=true
  SLUICE_FEDERATION_DELIVERY_BACKOFF_SCALE=0.01
  SLUICE_RATE_LIMIT_WRITES=0
  SLUICE_RATE_LIMIT_SIGN_IN=0
  RUST_LOG="${RUST_LOG:-info,sluice_federation=debug}"
  NO_COLOR=1
)
mkdir -p "$WORK/data"

log "starting sluice on $BASE"
# cwd = the work dir, so no ./sluice.toml or ./.env of the caller is read.
(cd "$WORK" && exec env "${SERVER_ENV[@]}" "$BIN" serve) </dev/null >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
server_up() { curl -fsS --max-time 2 -o /dev/null "$BASE/api/v1/instance" 2>/dev/null; }
for ((i = 0; i < 300; i++)); do # 60 s
  kill -0 "$SERVER_PID" 2>/dev/null || die "sluice serve exited before answering on $BASE"
  server_up && break
  sleep 0.2
done
server_up || die "sluice did not answer on $BASE/api/v1/instance within 60 s"

PASSWORD="fedify-interop-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$PASSWORD" | (cd "$WORK" && timeout 60 env "${SERVER_ENV[@]}" "$BIN" admin create-user alice --email alice@example.com) \
  >"$WORK/admin.log" 2>&1 || die "sluice admin create-user alice failed: $(cat "$WORK/admin.log")"
APP=$(curl -fsS --max-time 10 -X POST "$BASE/api/v1/apps" -d client_name=fedify-interop \
  -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write follow') || die "POST /api/v1/apps failed"
CID=$(jget d.client_id <<<"$APP") || die "no client_id in $APP"
CSEC=$(jget d.client_secret <<<"$APP") || die "no client_secret in $APP"
TOKEN=$(curl -fsS --max-time 30 -X POST "$BASE/oauth/token" -d grant_type=password \
  -d "client_id=$CID" -d "client_secret=$CSEC" -d username=alice -d "password=$PASSWORD" \
  -d 'scope=read write follow' | jget d.access_token) || die "no token for alice (password grant)"
ALICE=$(curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/accounts/verify_credentials") ||
  die "verify_credentials failed"
ALICE_ID=$(jget d.id <<<"$ALICE") || die "no id in verify_credentials: $ALICE"
echo "alice is account $ALICE_ID"

# Sluice's Mastodon API, as alice.
api() { # api METHOD PATH [curl args...]
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body --max-time 30 -X "$method" -H "Authorization: Bearer $TOKEN" "$@" "$BASE$path"
}

log "starting the Fedify peer on http://$PDOMAIN"
PEER_BASE="http://$PDOMAIN"
(cd "$PEER_DIR" && exec env PEER_LISTEN="$PDOMAIN" PEER_HTTP_HOSTS="$SDOMAIN" \
  PEER_LOG_LEVEL="${PEER_LOG_LEVEL:-info}" node peer.mjs) </dev/null >"$WORK/peer.log" 2>&1 &
PEER_PID=$!
peer() { # peer METHOD PATH [JSON]
  if [[ $# -ge 3 ]]; then
    curl -sS --fail-with-body --max-time 60 -X "$1" -H 'Content-Type: application/json' --data "$3" "$PEER_BASE$2"
  else
    curl -fsS --max-time 10 -X "$1" "$PEER_BASE$2"
  fi
}
peer_up() { peer GET /_peer/state >/dev/null 2>&1; }
for ((i = 0; i < 600; i++)); do # 120 s (the peer first makes two RSA-4096 keys)
  kill -0 "$PEER_PID" 2>/dev/null || die "the Fedify peer exited before answering on $PEER_BASE"
  peer_up && break
  sleep 0.2
done
peer_up || die "the Fedify peer did not answer on $PEER_BASE within 120 s"

# ---------------------------------------------------------------------------
log "1. the peer's reader looks up alice@$SDOMAIN and follows her"
ALICE_URI=""
if OUT=$(peer POST /_peer/follow "{\"actor\": \"reader\", \"handle\": \"alice@$SDOMAIN\"}" 2>&1); then
  ALICE_URI=$(jget d.actor.id <<<"$OUT" || true)
  echo "$OUT"
  if [[ $(jget d.actor.preferredUsername <<<"$OUT" || true) == alice && $ALICE_URI == "$BASE/"* ]]; then
    pass "peer resolves alice (WebFinger + actor)"
  else
    fail "peer resolves alice (WebFinger + actor)" "unexpected actor: $OUT"
  fi
else
  fail "peer resolves alice (WebFinger + actor)" "$OUT"
fi
follow_accepted() {
  [[ -n $ALICE_URI ]] && peer GET /_peer/state 2>/dev/null | jget "d.following.reader['$ALICE_URI'].accepted === true || undefined" >/dev/null
}
if [[ -n $ALICE_URI ]] && eventually "$WAIT" follow_accepted; then
  pass "sluice accepts the peer's Follow"
else
  fail "sluice accepts the peer's Follow" "no Accept recorded by the peer within ${WAIT}s"
fi
sluice_lists_follower() {
  api GET "/api/v1/accounts/$ALICE_ID/followers" 2>/dev/null | jget "d.some((a) => a.acct === 'reader@$PDOMAIN' && a.username === 'reader') || undefined" >/dev/null
}
if eventually "$WAIT" sluice_lists_follower; then
  pass "sluice lists reader@$PDOMAIN as alice's follower"
else
  fail "sluice lists reader@$PDOMAIN as alice's follower" "followers: $(api GET "/api/v1/accounts/$ALICE_ID/followers" 2>&1 | head -c 2000)"
fi

# ---------------------------------------------------------------------------
log "2. alice posts; the Create(Note) reaches the peer"
POST_TEXT="hello fedify, from sluice $RANDOM"
STATUS_URI=""
if STATUS=$(api POST /api/v1/statuses --data-urlencode "status=$POST_TEXT" -d visibility=public 2>&1); then
  STATUS_URI=$(jget d.uri <<<"$STATUS" || true)
  echo "alice posted $STATUS_URI"
else
  fail "alice posts" "$STATUS"
fi
note_arrived() {
  [[ -n $STATUS_URI ]] && peer GET /_peer/state 2>/dev/null |
    jget "d.notes.some((n) => n.id === '$STATUS_URI' && n.attributedTo === '$ALICE_URI' && (n.content || '').includes('$POST_TEXT')) || undefined" >/dev/null
}
if eventually "$WAIT" note_arrived; then
  pass "the peer's inbox receives alice's Create(Note)"
else
  fail "the peer's inbox receives alice's Create(Note)" "notes: $(peer GET /_peer/state 2>/dev/null | jget d.notes || true)"
fi

# ---------------------------------------------------------------------------
log "3. alice resolves writer@$PDOMAIN and follows it; writer posts"
PEER_ID=""
if LOOKUP=$(api GET "/api/v1/accounts/lookup?acct=writer@$PDOMAIN" 2>&1) &&
  [[ $(jget d.acct <<<"$LOOKUP" || true) == "writer@$PDOMAIN" ]] &&
  peer GET /_peer/state | jget "d.webfinger.includes('acct:writer@$PDOMAIN') || undefined" >/dev/null; then
  PEER_ID=$(jget d.id <<<"$LOOKUP")
  pass "sluice resolves writer@$PDOMAIN through WebFinger"
else
  fail "sluice resolves writer@$PDOMAIN through WebFinger" "lookup: ${LOOKUP:-} webfinger queries at the peer: $(peer GET /_peer/state 2>/dev/null | jget d.webfinger || true)"
fi
following_peer() {
  api GET "/api/v1/accounts/relationships?id[]=$PEER_ID" 2>/dev/null | jget "d[0].following === true || undefined" >/dev/null &&
    peer GET /_peer/state 2>/dev/null | jget "d.followers.writer['$ALICE_URI'] || undefined" >/dev/null
}
if [[ -n $PEER_ID ]] && REL=$(api POST "/api/v1/accounts/$PEER_ID/follow" 2>&1) && eventually "$WAIT" following_peer; then
  pass "alice follows the peer; the peer accepts"
else
  fail "alice follows the peer; the peer accepts" "${REL:-} relationship: $(api GET "/api/v1/accounts/relationships?id[]=$PEER_ID" 2>&1 | head -c 1000)"
fi
PEER_TEXT="hello sluice, from fedify $RANDOM"
NOTE_URI=""
if OUT=$(peer POST /_peer/post "{\"actor\": \"writer\", \"content\": \"$PEER_TEXT\"}" 2>&1); then
  NOTE_URI=$(jget d.note <<<"$OUT" || true)
  echo "$OUT"
else
  fail "writer posts" "$OUT"
fi
in_home() {
  [[ -n $NOTE_URI ]] && api GET "/api/v1/timelines/home?limit=40" 2>/dev/null |
    jget "d.some((s) => s.uri === '$NOTE_URI' && s.account.acct === 'writer@$PDOMAIN' && s.visibility === 'public' && s.content.includes('$PEER_TEXT')) || undefined" >/dev/null
}
if eventually "$WAIT" in_home; then
  api GET "/api/v1/timelines/home?limit=40" | jget "(({id, uri, visibility, content, account}) => ({id, uri, visibility, content, account: account.acct, display_name: account.display_name}))(d.find((s) => s.uri === '$NOTE_URI'))"
  echo
  pass "writer's public Note is in alice's home timeline"
else
  fail "writer's public Note is in alice's home timeline" "home: $(api GET '/api/v1/timelines/home?limit=5' 2>&1 | head -c 3000)"
fi

# ---------------------------------------------------------------------------
log "hygiene"
STATE=$(peer GET /_peer/state 2>/dev/null || echo '{}')
if [[ $(jget "d.inboxPosts.length" <<<"$STATE" || echo 0) -gt 0 ]] &&
  jget "d.inboxPosts.every((p) => p.status >= 200 && p.status < 300) || undefined" <<<"$STATE" >/dev/null; then
  pass "Fedify verified every inbox POST from sluice ($(jget "d.inboxPosts.length" <<<"$STATE") POSTs)"
else
  fail "Fedify verified every inbox POST from sluice" "$(jget "d.inboxPosts" <<<"$STATE" || echo none)"
fi
ERRS=$(jget "[...d.outboxErrors, ...d.inboxErrors, ...d.blockedFetches]" <<<"$STATE" || echo '["no state"]')
if [[ $ERRS == "[]" ]]; then
  pass "the peer had no delivery, listener or off-loopback fetch errors"
else
  fail "the peer had no delivery, listener or off-loopback fetch errors" "$ERRS"
fi
if grep -q 'panicked' "$WORK/server.log"; then
  fail "no panic in the server log"
else
  pass "no panic in the server log"
fi
