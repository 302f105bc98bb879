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
#   4. a Move from one Sluice to another: a second Sluice (B) runs on
#      127.0.0.4:<free port> (its own fresh data dir); alice on Sluice A is followed by
#      the peer's reader (step 1), by dave on Sluice A and by carol on Sluice B; bob on
#      Sluice B names alice as his alias (`alsoKnownAs`, PUT /api/pleroma/aliases);
#      alice moves to bob (POST /api/pleroma/move_account). Then: the peer received the
#      Move, verified bob's aliases as Mastodon does (peer.mjs) and its reader follows
#      bob (accepted, listed by Sluice B) and no longer alice; carol follows bob and no
#      longer alice; dave follows bob (accepted, listed by Sluice B); Sluice A's API shows
#      alice with `moved` = bob, and so does Sluice B's;
#   and that Fedify rejected none of Sluice's inbox POSTs, had no delivery or listener
#   errors, fetched nothing off loopback, and neither server log has a panic.
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
SLUICE_B_HOST=127.0.0.4

# Nothing from the caller's sluice configuration may leak into the server run here.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^SLUICE_' || true)

PASSED=0
FAILED=0
FAILED_NAMES=()
SERVER_PID=""
SERVER_B_PID=""
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
  for f in "$WORK/server.log" "$WORK/server-b.log" "$WORK/peer.log"; do
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
  stop_pid "$SERVER_B_PID" "sluice B"
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

# A second Sluice (B), for the Move of step 4, with the same settings.
BPORT=$(free_port "$SLUICE_B_HOST") || die "no free port on $SLUICE_B_HOST"
BDOMAIN="$SLUICE_B_HOST:$BPORT"
BASE_B="http://$BDOMAIN"
SERVER_B_ENV=()
for v in "${SERVER_ENV[@]}"; do
  case $v in
  SLUICE_LISTEN=*) SERVER_B_ENV+=("SLUICE_LISTEN=$BDOMAIN") ;;
  SLUICE_DATA_DIR=*) SERVER_B_ENV+=("SLUICE_DATA_DIR=$WORK/data-b") ;;
  *) SERVER_B_ENV+=("$v") ;;
  esac
done
mkdir -p "$WORK/data-b"
log "starting sluice B on $BASE_B"
(cd "$WORK" && exec env "${SERVER_B_ENV[@]}" "$BIN" serve) </dev/null >"$WORK/server-b.log" 2>&1 &
SERVER_B_PID=$!
server_b_up() { curl -fsS --max-time 2 -o /dev/null "$BASE_B/api/v1/instance" 2>/dev/null; }
for ((i = 0; i < 300; i++)); do # 60 s
  kill -0 "$SERVER_B_PID" 2>/dev/null || die "sluice B exited before answering on $BASE_B"
  server_b_up && break
  sleep 0.2
done
server_b_up || die "sluice B did not answer on $BASE_B/api/v1/instance within 60 s"

# user_token BASE USER EMAIL ENV...: creates USER with $PASSWORD (sluice admin, with
# the server's environment) and prints a password-grant token for it.
user_token() {
  local base=$1 user=$2 email=$3 app cid csec
  shift 3
  printf '%s\n' "$PASSWORD" | (cd "$WORK" && timeout 60 env "$@" "$BIN" admin create-user "$user" --email "$email") \
    >"$WORK/admin-$user.log" 2>&1 || { echo "create-user $user: $(cat "$WORK/admin-$user.log")" >&2; return 1; }
  app=$(curl -fsS --max-time 10 -X POST "$base/api/v1/apps" -d client_name=fedify-interop \
    -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write follow') || return 1
  cid=$(jget d.client_id <<<"$app") || return 1
  csec=$(jget d.client_secret <<<"$app") || return 1
  curl -fsS --max-time 30 -X POST "$base/oauth/token" -d grant_type=password \
    -d "client_id=$cid" -d "client_secret=$csec" -d "username=$user" -d "password=$PASSWORD" \
    -d 'scope=read write follow' | jget d.access_token
}
DAVE_TOKEN=$(user_token "$BASE" dave dave@example.com "${SERVER_ENV[@]}") || die "no user dave on sluice A"
BOB_TOKEN=$(user_token "$BASE_B" bob bob@example.com "${SERVER_B_ENV[@]}") || die "no user bob on sluice B"
CAROL_TOKEN=$(user_token "$BASE_B" carol carol@example.com "${SERVER_B_ENV[@]}") || die "no user carol on sluice B"

# api_as TOKEN BASE METHOD PATH [curl args...]: the Mastodon API of either Sluice.
api_as() {
  local token=$1 base=$2 method=$3 path=$4
  shift 4
  curl -sS --fail-with-body --max-time 30 -X "$method" -H "Authorization: Bearer $token" "$@" "$base$path"
}

log "starting the Fedify peer on http://$PDOMAIN"
PEER_BASE="http://$PDOMAIN"
(cd "$PEER_DIR" && exec env PEER_LISTEN="$PDOMAIN" PEER_HTTP_HOSTS="$SDOMAIN,$BDOMAIN" \
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
log "4. alice moves from sluice A to bob on sluice B"
# Her followers besides the peer's reader: dave on A, carol on B.
relationship() { # relationship TOKEN BASE ID EXPR: EXPR about `r`, the relationship
  api_as "$1" "$2" GET "/api/v1/accounts/relationships?id[]=$3" 2>/dev/null | jget "((r) => ($4) || undefined)(d[0])" >/dev/null
}
lookup_id() { # lookup_id TOKEN BASE ACCT: the account's id on that server
  api_as "$1" "$2" GET "/api/v1/accounts/lookup?acct=$3" 2>/dev/null | jget d.id
}
ALICE_ON_B=$(lookup_id "$CAROL_TOKEN" "$BASE_B" "alice@$SDOMAIN" || true)
if [[ -n $ALICE_ON_B ]] && api_as "$CAROL_TOKEN" "$BASE_B" POST "/api/v1/accounts/$ALICE_ON_B/follow" >/dev/null &&
  eventually "$WAIT" relationship "$CAROL_TOKEN" "$BASE_B" "$ALICE_ON_B" "r.following === true" &&
  api_as "$DAVE_TOKEN" "$BASE" POST "/api/v1/accounts/$ALICE_ID/follow" >/dev/null &&
  relationship "$DAVE_TOKEN" "$BASE" "$ALICE_ID" "r.following === true"; then
  pass "carol on sluice B and dave on sluice A follow alice"
else
  fail "carol on sluice B and dave on sluice A follow alice" "alice on B: ${ALICE_ON_B:-not found}"
fi
BOB=$(api_as "$BOB_TOKEN" "$BASE_B" GET /api/v1/accounts/verify_credentials 2>/dev/null || true)
BOB_ID=$(jget d.id <<<"$BOB" || true)
BOB_URI=""
if OUT=$(api_as "$BOB_TOKEN" "$BASE_B" PUT /api/pleroma/aliases --data-urlencode "alias=alice@$SDOMAIN" 2>&1) &&
  api_as "$BOB_TOKEN" "$BASE_B" GET /api/pleroma/aliases | jget "d.aliases.includes('alice@$SDOMAIN') || undefined" >/dev/null; then
  pass "bob on sluice B names alice as his alias"
else
  fail "bob on sluice B names alice as his alias" "$OUT"
fi
if [[ -n $BOB_ID ]]; then
  BOB_URI=$(curl -fsS --max-time 10 -H 'Accept: application/activity+json' "$BASE_B/users/bob" | jget d.id || true)
  if curl -fsS --max-time 10 -H 'Accept: application/activity+json' "$BASE_B/users/bob" |
    jget "[].concat(d.alsoKnownAs || []).includes('$ALICE_URI') || undefined" >/dev/null; then
    pass "bob's actor document names alice in alsoKnownAs"
  else
    fail "bob's actor document names alice in alsoKnownAs" "$(curl -sS --max-time 10 -H 'Accept: application/activity+json' "$BASE_B/users/bob" | head -c 2000)"
  fi
fi
if OUT=$(api POST /api/pleroma/move_account --data-urlencode "password=$PASSWORD" \
  --data-urlencode "target_account=bob@$BDOMAIN" 2>&1) && [[ $(jget d.status <<<"$OUT" || true) == success ]]; then
  pass "alice moves to bob@$BDOMAIN"
else
  fail "alice moves to bob@$BDOMAIN" "$OUT"
fi
peer_moved() {
  [[ -n $BOB_URI ]] && peer GET /_peer/state 2>/dev/null |
    jget "d.moves.some((m) => m.actor === '$ALICE_URI' && m.target === '$BOB_URI' && m.verified && m.moved.includes('reader')) || undefined" >/dev/null
}
if eventually "$WAIT" peer_moved; then
  pass "the peer receives the Move and verifies bob's aliases"
else
  fail "the peer receives the Move and verifies bob's aliases" "moves: $(peer GET /_peer/state 2>/dev/null | jget d.moves || true)"
fi
peer_follows_bob() {
  peer GET /_peer/state 2>/dev/null |
    jget "(d.following.reader['$BOB_URI'] || {}).accepted === true && !d.following.reader['$ALICE_URI'] || undefined" >/dev/null &&
    api_as "$BOB_TOKEN" "$BASE_B" GET "/api/v1/accounts/$BOB_ID/followers" 2>/dev/null |
    jget "d.some((a) => a.acct === 'reader@$PDOMAIN') || undefined" >/dev/null
}
if [[ -n $BOB_URI ]] && eventually "$WAIT" peer_follows_bob; then
  pass "the peer's reader follows bob (accepted; sluice B lists it)"
else
  fail "the peer's reader follows bob (accepted; sluice B lists it)" "following: $(peer GET /_peer/state 2>/dev/null | jget d.following.reader || true)"
fi
reader_left_alice() {
  ! api GET "/api/v1/accounts/$ALICE_ID/followers" 2>/dev/null | jget "d.some((a) => a.acct === 'reader@$PDOMAIN') || undefined" >/dev/null
}
if eventually "$WAIT" reader_left_alice; then
  pass "the peer's reader no longer follows alice (its Undo reached sluice A)"
else
  fail "the peer's reader no longer follows alice (its Undo reached sluice A)"
fi
if [[ -n $BOB_ID ]] && eventually "$WAIT" relationship "$CAROL_TOKEN" "$BASE_B" "$BOB_ID" "r.following === true" &&
  relationship "$CAROL_TOKEN" "$BASE_B" "$ALICE_ON_B" "r.following === false && r.requested === false"; then
  pass "carol on sluice B follows bob instead of alice"
else
  fail "carol on sluice B follows bob instead of alice" "bob: $(api_as "$CAROL_TOKEN" "$BASE_B" GET "/api/v1/accounts/relationships?id[]=$BOB_ID" 2>&1 | head -c 500) alice: $(api_as "$CAROL_TOKEN" "$BASE_B" GET "/api/v1/accounts/relationships?id[]=$ALICE_ON_B" 2>&1 | head -c 500)"
fi
BOB_ON_A=$(lookup_id "$DAVE_TOKEN" "$BASE" "bob@$BDOMAIN" || true)
dave_follows_bob() {
  relationship "$DAVE_TOKEN" "$BASE" "$BOB_ON_A" "r.following === true" &&
    relationship "$DAVE_TOKEN" "$BASE" "$ALICE_ID" "r.following === false" &&
    api_as "$BOB_TOKEN" "$BASE_B" GET "/api/v1/accounts/$BOB_ID/followers" 2>/dev/null |
    jget "d.some((a) => a.acct === 'dave@$SDOMAIN') || undefined" >/dev/null
}
if [[ -n $BOB_ON_A ]] && eventually "$WAIT" dave_follows_bob; then
  pass "dave on sluice A follows bob instead of alice (sluice B lists him)"
else
  fail "dave on sluice A follows bob instead of alice (sluice B lists him)" "bob on A: ${BOB_ON_A:-not found}; $(api_as "$DAVE_TOKEN" "$BASE" GET "/api/v1/accounts/relationships?id[]=$BOB_ON_A" 2>&1 | head -c 500)"
fi
if api GET "/api/v1/accounts/$ALICE_ID" | jget "d.moved && d.moved.acct === 'bob@$BDOMAIN' || undefined" >/dev/null; then
  pass "sluice A shows alice moved to bob"
else
  fail "sluice A shows alice moved to bob" "$(api GET "/api/v1/accounts/$ALICE_ID" 2>&1 | head -c 2000)"
fi
alice_moved_on_b() {
  api_as "$CAROL_TOKEN" "$BASE_B" GET "/api/v1/accounts/$ALICE_ON_B" 2>/dev/null |
    jget "d.moved && d.moved.acct === 'bob' || undefined" >/dev/null
}
if [[ -n $ALICE_ON_B ]] && eventually "$WAIT" alice_moved_on_b; then
  pass "sluice B shows alice moved to bob"
else
  fail "sluice B shows alice moved to bob" "$(api_as "$CAROL_TOKEN" "$BASE_B" GET "/api/v1/accounts/$ALICE_ON_B" 2>&1 | head -c 2000)"
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
if grep -q 'panicked' "$WORK/server.log" "$WORK/server-b.log"; then
  fail "no panic in the server logs"
else
  pass "no panic in the server logs"
fi
