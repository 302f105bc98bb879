#!/usr/bin/env bash
# Interoperability with an independent ActivityPub server: bovine-herd (Python).
#
#   bash tests/interop/bovine.sh
#
# Installs bovine-herd and bovine-tool (pinned in bovine/requirements.txt) into a
# throwaway venv (bovine/.venv, ignored by git, reused while the pins are unchanged),
# builds sluice (or takes $SLUICE_BIN), then on loopback over plain HTTP:
#
#   - sluice serve on 127.0.0.2:<free port>, embedded SQLite in a temp data dir, with
#     user alice (sluice admin create-user) and a token for her (password grant);
#   - bovine-herd (herd_app.py under hypercorn) on 127.0.0.3:<free port>, with two
#     actors registered with bovine-tool: bessie and daisy, each driven through the
#     herd's own client-to-server endpoints by bovine/driver.py (bovine's BovineClient,
#     Moo-Auth-1 with a key made by bovine-tool). bovine-herd requires signed GETs,
#     checks every signature on its inbox, and does not accept follows by itself.
#
# Checks, each with a bounded wait:
#   1. bessie resolves alice (the herd does WebFinger and a signed GET of her actor),
#      sends Follow; sluice accepts it; the herd receives the Accept (alice is in
#      bessie's following); sluice's API lists bessie among alice's followers.
#   2. alice posts through the Mastodon API; the Create(Note) arrives in bessie's inbox
#      (the herd verified our signature) with alice's text.
#   3. alice looks daisy up (/api/v1/accounts/lookup: WebFinger + signed GET by sluice,
#      daisy is new to it) and follows her; the herd holds the Follow; daisy accepts it
#      through the herd; sluice sees the follow accepted; daisy publishes a Note to her
#      followers; it appears in alice's home timeline.
#
# Only loopback addresses are contacted (PyPI only for the install): bovine's JSON-LD
# contexts are served locally (bovine/offline_jsonld.py) and the bovine processes run
# with an unusable proxy for anything that is not 127.0.0.2/127.0.0.3.
#
# Last line: `interop bovine: N passed, M failed`; exit status non-zero on any failure.
# Knobs: SLUICE_BIN (skip the build), BOVINE_VENV (default tests/interop/bovine/.venv),
# BOVINE_KEEP=1 (keep the temp dir with both servers' logs), BOVINE_WAIT (seconds per
# wait, default 45), RUST_LOG (default info,sluice_federation=debug).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BOV=$HERE/bovine
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${BOVINE_VENV:-$BOV/.venv}
WAIT=${BOVINE_WAIT:-45}
BIN=${SLUICE_BIN:-}
SLUICE_RUST_LOG=${RUST_LOG:-info,sluice_federation=debug}

# Nothing from the caller's sluice configuration may leak into the server run here.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^SLUICE_' || true)

PASSED=0
FAILED=0
FAILED_NAMES=()
SLUICE_PID=""
HERD_PID=""
WORK=""
SHOWN_LOGS=0

log() { printf '\n=== %s\n' "$*"; }
pass() {
  PASSED=$((PASSED + 1))
  echo "PASS: $1"
}
fail() {
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$1")
  echo "FAIL: $1: $2" >&2
}
die() {
  fail "setup" "$*"
  exit 1
}

# stop_pid PID NAME: SIGTERM, up to 20 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 i
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name (pid $pid) did not stop within 20 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

show_logs() {
  ((SHOWN_LOGS == 0)) || return 0
  SHOWN_LOGS=1
  [[ -n $WORK ]] || return 0
  local f
  for f in "$WORK/sluice.log" "$WORK/herd.log"; do
    [[ -s $f ]] || continue
    echo "----- $(basename "$f"), last 150 lines -----"
    tail -n 150 "$f" | sed 's/\x1b\[[0-9;]*m//g'
  done
  echo "----- end of logs (BOVINE_KEEP=1 keeps them in the temp dir) -----"
}

on_exit() {
  local rc=$?
  stop_pid "$HERD_PID" bovine-herd
  HERD_PID=""
  stop_pid "$SLUICE_PID" sluice
  SLUICE_PID=""
  if [[ $rc -ne 0 && $FAILED -eq 0 ]]; then
    FAILED=1
    FAILED_NAMES+=("aborted (status $rc)")
  fi
  if ((FAILED > 0)); then show_logs; fi
  if [[ -n $WORK ]]; then
    if [[ ${BOVINE_KEEP:-0} == 1 ]]; then
      echo "kept $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  if ((FAILED > 0)); then
    echo
    echo "failed: ${FAILED_NAMES[*]}"
  fi
  echo "interop bovine: $PASSED passed, $FAILED failed"
  if ((FAILED > 0)); then exit 1; fi
  exit 0
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in python3 curl timeout sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "bovine needs Python >= 3.11 (python3 is $(python3 --version 2>&1))"

# ---------------------------------------------------------------------------
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
log "bovine install"
STAMP="$(python3 -c 'import sys; print(sys.version)' | head -n1) $(sha256sum "$BOV/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.sluice-stamp" 2>/dev/null)" != "$STAMP" ]]; then
  echo "creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
  timeout 900 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$BOV/requirements.txt" ||
    die "pip install of bovine/requirements.txt failed"
  echo "$STAMP" >"$VENV/.sluice-stamp"
else
  echo "venv up to date ($VENV)"
fi
PY=$VENV/bin/python
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bovine.XXXXXX")
mkdir -p "$WORK/data" "$WORK/bovine"
# Importing bovine writes bovine_jsonld_cache.sqlite into the working directory: every
# bovine process here runs in the temp dir.
(cd "$WORK/bovine" && PYTHONDONTWRITEBYTECODE=1 "$PY" -c 'import bovine_herd, bovine_tool, hypercorn') ||
  die "the venv lacks bovine-herd, bovine-tool or hypercorn"
"$PY" - <<'EOF'
import importlib.metadata as m
print(", ".join(f"{p} {m.version(p)}" for p in ("bovine-herd", "bovine-tool", "bovine", "hypercorn")))
EOF

# ---------------------------------------------------------------------------

# free_port ADDR: a free TCP port on ADDR (127.0.0.0/8 is all loopback on Linux).
free_port() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
EOF
}

# json EXPR: evaluates EXPR with `d` bound to the JSON on stdin; prints the result
# ("" for None, JSON for lists and objects). Exit status 1 when stdin is not JSON.
json() {
  python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    sys.exit(1)
try:
    v = eval(sys.argv[1])
except Exception:
    v = None
print("" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else v))
' "$1"
}

SP=$(free_port 127.0.0.2)
BP=$(free_port 127.0.0.3)
SB="http://127.0.0.2:$SP"
BB="http://127.0.0.3:$BP"
SLUICE_HOST="127.0.0.2:$SP"
HERD_HOST="127.0.0.3:$BP"

# ---------------------------------------------------------------------------
log "sluice on $SB"
SLUICE_ENV=(
  SLUICE_LISTEN="127.0.0.2:$SP"
  SLUICE_DATA_DIR="$WORK/data"
  SLUICE_ALLOW_PRIVATE_ADDRESSES=true
  SLUICE_FEDERATION_ALLOW_HTTP=true
  SLUICE_REGISTRATIONS=open
  SLUICE_FEDERATION_DELIVERY_BACKOFF_SCALE=0.02
  RUST_LOG="$SLUICE_RUST_LOG"
  NO_COLOR=1
)
# cwd = the work dir, so no ./sluice.toml or ./.env of the caller is read.
(cd "$WORK" && exec env "${SLUICE_ENV[@]}" "$BIN" serve) </dev/null >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
up=0
for ((i = 0; i < 300; i++)); do # 60 s
  kill -0 "$SLUICE_PID" 2>/dev/null || break
  if curl -fsS --max-time 2 -o /dev/null "$SB/api/v1/instance" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.2
done
((up == 1)) || die "sluice did not answer on $SB/api/v1/instance within 60 s (or exited)"
echo "up"

PASSWORD="interop-bovine-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$PASSWORD" |
  (cd "$WORK" && timeout 60 env "${SLUICE_ENV[@]}" "$BIN" admin create-user alice --email alice@example.com) \
    >"$WORK/admin.log" 2>&1 || die "sluice admin create-user alice failed: $(cat "$WORK/admin.log")"
APP=$(curl -fsS --max-time 10 -X POST "$SB/api/v1/apps" -d client_name=interop-bovine \
  -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write follow') || die "POST /api/v1/apps failed"
CID=$(json 'd["client_id"]' <<<"$APP")
CSEC=$(json 'd["client_secret"]' <<<"$APP")
TOKEN=$(curl -fsS --max-time 30 -X POST "$SB/oauth/token" -d grant_type=password -d "client_id=$CID" \
  -d "client_secret=$CSEC" -d username=alice@example.com --data-urlencode "password=$PASSWORD" \
  -d 'scope=read write follow' | json 'd["access_token"]') || true
[[ -n $TOKEN ]] || die "no access token for alice (password grant)"
AUTH=(-H "Authorization: Bearer $TOKEN")
ALICE_ID=$(curl -fsS --max-time 10 "${AUTH[@]}" "$SB/api/v1/accounts/verify_credentials" | json 'd["id"]') || true
[[ -n $ALICE_ID ]] || die "verify_credentials gave no id for alice"
ALICE_URI="$SB/users/alice"
echo "alice: id $ALICE_ID, actor $ALICE_URI"

# ---------------------------------------------------------------------------
log "bovine-herd on $BB"
# Every bovine process runs in the work dir (bovine keeps a JSON-LD cache file in its
# working directory) and reaches nothing but the two loopback servers.
BOVINE_ENV=(
  BOVINE_DB_URL="sqlite://$WORK/bovine/bovine.sqlite3"
  BUTCHER_ALLOW_HTTP=1
  PYTHONPATH="$BOV"
  PYTHONDONTWRITEBYTECODE=1
  PYTHONWARNINGS=ignore::DeprecationWarning
  HTTP_PROXY=http://127.0.0.1:9
  HTTPS_PROXY=http://127.0.0.1:9
  NO_PROXY=127.0.0.2,127.0.0.3
)
bovine() { (cd "$WORK/bovine" && timeout 60 env "${BOVINE_ENV[@]}" "$PY" "$@"); }

bovine -m bovine_tool.create >"$WORK/bovine-tool.log" 2>&1 ||
  die "bovine_tool.create failed: $(cat "$WORK/bovine-tool.log")"
# register HANDLE: prints the bovine name; manage --new_did_key: the client's secret.
register() {
  local out name
  out=$(bovine -m bovine_tool.register "$1" --domain "$BB" 2>>"$WORK/bovine-tool.log") ||
    die "bovine_tool.register $1 failed: $out $(cat "$WORK/bovine-tool.log")"
  name=$(sed -n 's/^Bovine name: //p' <<<"$out")
  [[ -n $name ]] || die "bovine_tool.register $1 printed no bovine name: $out"
  echo "$name"
}
new_secret() {
  local out secret
  out=$(bovine -m bovine_tool.manage "$1" --new_did_key 2>>"$WORK/bovine-tool.log") ||
    die "bovine_tool.manage $1 --new_did_key failed: $out $(cat "$WORK/bovine-tool.log")"
  secret=$(sed -n 's/^Your new secret: //p' <<<"$out")
  [[ -n $secret ]] || die "bovine_tool.manage $1 printed no secret: $out"
  echo "$secret"
}
BESSIE_NAME=$(register bessie)
DAISY_NAME=$(register daisy)
BESSIE_SECRET=$(new_secret "$BESSIE_NAME")
DAISY_SECRET=$(new_secret "$DAISY_NAME")
echo "registered $BESSIE_NAME and $DAISY_NAME"

(cd "$WORK/bovine" && exec env "${BOVINE_ENV[@]}" "$VENV/bin/hypercorn" --bind "$HERD_HOST" herd_app:app) \
  </dev/null >"$WORK/herd.log" 2>&1 &
HERD_PID=$!
up=0
for ((i = 0; i < 150; i++)); do # 30 s
  kill -0 "$HERD_PID" 2>/dev/null || break
  if curl -fsS --max-time 2 -o /dev/null "$BB/.well-known/webfinger?resource=acct:bessie@$HERD_HOST" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.2
done
((up == 1)) || die "bovine-herd did not answer WebFinger for bessie on $BB within 30 s (or exited)"
echo "up"

# drive SECRET COMMAND ARGS...: bovine/driver.py as one actor; its own waits are bounded
# by $WAIT, the process by $WAIT + 60 s.
drive() {
  local secret=$1
  shift
  (cd "$WORK/bovine" && timeout $((WAIT + 60)) env "${BOVINE_ENV[@]}" "$PY" "$BOV/driver.py" \
    --domain "$BB" --secret "$secret" --timeout "$WAIT" "$@")
}

BESSIE_URI=$(drive "$BESSIE_SECRET" whoami | json 'd["id"]') || true
DAISY_URI=$(drive "$DAISY_SECRET" whoami | json 'd["id"]') || true
[[ -n $BESSIE_URI && -n $DAISY_URI ]] || die "the bovine driver could not sign in as bessie and daisy"
echo "bessie: $BESSIE_URI"
echo "daisy:  $DAISY_URI"

# until_ok SECONDS COMMAND...: runs COMMAND every 0.5 s until it succeeds or time is up.
until_ok() {
  local secs=$1 deadline
  shift
  deadline=$((SECONDS + secs))
  while true; do
    if "$@"; then return 0; fi
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

api() { curl -fsS --max-time 10 "${AUTH[@]}" "$@"; }

# ---------------------------------------------------------------------------
log "1. bovine resolves alice and follows her"
name="bovine resolves alice (WebFinger + signed GET)"
if out=$(drive "$BESSIE_SECRET" resolve "alice@$SLUICE_HOST") &&
  [[ $(json 'd["id"]' <<<"$out") == "$ALICE_URI" ]]; then
  pass "$name"
else
  fail "$name" "the herd's proxyUrl lookup of alice@$SLUICE_HOST gave: ${out:-nothing}"
fi

name="bovine sends Follow, receives sluice's Accept"
if drive "$BESSIE_SECRET" follow "$ALICE_URI" >/dev/null &&
  drive "$BESSIE_SECRET" wait-following "$ALICE_URI" >/dev/null; then
  pass "$name"
else
  fail "$name" "alice never appeared in bessie's following collection (Follow not accepted, or the Accept not received)"
fi

name="sluice lists bessie among alice's followers"
bessie_follows() {
  api "$SB/api/v1/accounts/$ALICE_ID/followers" |
    json '[a["acct"] for a in d]' | grep -qF "\"bessie@$HERD_HOST\""
}
if until_ok "$WAIT" bessie_follows; then
  pass "$name"
else
  fail "$name" "GET /api/v1/accounts/$ALICE_ID/followers never listed bessie@$HERD_HOST"
fi

# ---------------------------------------------------------------------------
log "2. alice posts; the note reaches bovine's inbox"
TEXT1="hello bovine-herd from alice $RANDOM$RANDOM"
name="alice's post arrives in bessie's inbox"
if post=$(api -X POST "$SB/api/v1/statuses" --data-urlencode "status=$TEXT1" -d visibility=public); then
  NOTE1=$(json 'd["uri"]' <<<"$post")
  if out=$(drive "$BESSIE_SECRET" wait-note "$ALICE_URI" "$TEXT1") &&
    [[ $(json 'd["note"]' <<<"$out") == "$NOTE1" ]]; then
    pass "$name"
  else
    fail "$name" "no Create(Note) $NOTE1 by alice with the posted text in bessie's inbox: ${out:-nothing}"
  fi
else
  fail "$name" "POST /api/v1/statuses failed"
fi

# ---------------------------------------------------------------------------
log "3. alice follows a bovine actor and sees its post"
name="sluice resolves daisy (WebFinger + signed GET)"
DAISY_ID=""
if acct=$(api "$SB/api/v1/accounts/lookup?acct=daisy@$HERD_HOST") &&
  [[ $(json 'd["acct"]' <<<"$acct") == "daisy@$HERD_HOST" ]] &&
  [[ $(json 'd["url"]' <<<"$acct") == "$DAISY_URI" || $(json 'd["uri"]' <<<"$acct") == "$DAISY_URI" ]]; then
  DAISY_ID=$(json 'd["id"]' <<<"$acct")
  pass "$name"
else
  fail "$name" "/api/v1/accounts/lookup?acct=daisy@$HERD_HOST gave: ${acct:-an error}"
fi

name="alice follows daisy; daisy accepts on bovine"
if [[ -n $DAISY_ID ]] && rel=$(api -X POST "$SB/api/v1/accounts/$DAISY_ID/follow") &&
  [[ $(json 'd["requested"] or d["following"]' <<<"$rel") == True ]] &&
  drive "$DAISY_SECRET" accept-follow "$ALICE_URI" >/dev/null &&
  drive "$DAISY_SECRET" wait-follower "$ALICE_URI" >/dev/null; then
  pass "$name"
else
  fail "$name" "follow ${rel:-not sent}; or no Follow from alice in daisy's inbox to accept, or alice not in daisy's followers"
fi

name="sluice sees the follow accepted"
alice_follows_daisy() {
  [[ $(api "$SB/api/v1/accounts/relationships?id[]=$DAISY_ID" | json 'd[0]["following"]') == True ]]
}
if [[ -n $DAISY_ID ]] && until_ok "$WAIT" alice_follows_daisy; then
  pass "$name"
else
  fail "$name" "relationships never showed alice following daisy (the Accept from bovine not applied)"
fi

name="daisy's post appears in alice's home timeline"
TEXT2="moo from daisy to her followers $RANDOM$RANDOM"
NOTE2=""
if out=$(drive "$DAISY_SECRET" post "$TEXT2"); then
  NOTE2=$(json 'd["note"]' <<<"$out")
fi
in_home() {
  api "$SB/api/v1/timelines/home?limit=40" | json "
[s for s in d if s['uri'] == '$NOTE2' and s['account']['acct'] == 'daisy@$HERD_HOST'
 and '''$TEXT2''' in s['content']]" | grep -q '"uri"'
}
if [[ -n $NOTE2 ]] && until_ok "$WAIT" in_home; then
  pass "$name"
else
  fail "$name" "daisy's note ${NOTE2:-(not published)} never showed up in alice's home timeline with daisy as author and the posted text"
fi

# ---------------------------------------------------------------------------
log "server health"
if grep -q 'panicked' "$WORK/sluice.log"; then
  fail "sluice log has no panic" "the sluice log contains a panic"
else
  pass "sluice log has no panic"
fi
