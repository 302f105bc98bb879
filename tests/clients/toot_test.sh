#!/usr/bin/env bash
# The toot CLI (https://toot.bezdomni.net) against a running Sluice server.
#
# Environment (set by run.sh):
#   SLUICE_BASE_URL   e.g. http://127.0.0.1:40123 (loopback only)
#   CLIENT_USERNAME, CLIENT_EMAIL, CLIENT_PASSWORD   a user created with `sluice admin create-user`
#   TOOT              path of the toot executable
#   PYTHON            a python3 (used to read toot's --json output)
#
# toot keeps its configuration under $XDG_CONFIG_HOME/toot; HOME and
# XDG_CONFIG_HOME point into a throwaway directory so nothing leaks into (or is
# read from) the real home. Every check asserts something that can fail; a failing
# check is reported and the others still run; exit status 1 if any failed.
set -euo pipefail

: "${SLUICE_BASE_URL:?}" "${CLIENT_USERNAME:?}" "${CLIENT_EMAIL:?}" "${CLIENT_PASSWORD:?}" "${TOOT:?}" "${PYTHON:?}"
case "$SLUICE_BASE_URL" in
  http://127.0.0.1:* | http://localhost:* | "http://[::1]:"*) ;;
  *) echo "refusing to run against non-loopback $SLUICE_BASE_URL" >&2; exit 2 ;;
esac

SANDBOX=$(mktemp -d "${TMPDIR:-/tmp}/sluice-toot.XXXXXX")
trap 'rm -rf "$SANDBOX"' EXIT
export HOME="$SANDBOX/home" XDG_CONFIG_HOME="$SANDBOX/config" XDG_DATA_HOME="$SANDBOX/data" XDG_STATE_HOME="$SANDBOX/state" XDG_CACHE_HOME="$SANDBOX/cache"
mkdir -p "$HOME"
unset TOOT_TESTING
export TERM=dumb COLUMNS=200 PYTHONWARNINGS=ignore NO_COLOR=1
TAG="toot$(date +%s%N | cut -c8-16)"
PASSED=0
FAILED=0
OUT="$SANDBOX/out"

# toot with a time bound, never reading the terminal; output in $OUT (stdout+stderr).
t() {
  timeout 60 "$TOOT" --no-color "$@" </dev/null >"$OUT" 2>&1
}

ok() { PASSED=$((PASSED + 1)); echo "ok - toot: $1"; }
not_ok() {
  FAILED=$((FAILED + 1))
  echo "not ok - toot: $1: $2"
  if [[ -s $OUT ]]; then sed 's/^/    | /' "$OUT" | head -n 40; fi
}
# check NAME COMMAND...: runs COMMAND (a function doing the assertions); reports.
check() {
  local name=$1
  shift
  local msg
  if msg=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "${msg:-failed}"; fi
}
contains() { grep -qF -- "$1" "$OUT" || { echo "output does not contain '$1'"; return 1; }; }
json_field() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$OUT" "$1"; }

# --- checks -------------------------------------------------------------------

login() {
  t login_cli -i "$SLUICE_BASE_URL" -e "$CLIENT_EMAIL" -p "$CLIENT_PASSWORD" || { echo "login_cli exited non-zero"; return 1; }
  contains "Successfully logged in" || return 1
  [[ -f $XDG_CONFIG_HOME/toot/config.json ]] || { echo "no config written under the sandbox"; return 1; }
}
check "login_cli with e-mail and password" login

whoami() {
  t whoami || { echo "whoami exited non-zero"; return 1; }
  contains "@$CLIENT_USERNAME"
}
check "whoami" whoami

instance() {
  t instance || { echo "instance exited non-zero"; return 1; }
  contains "${SLUICE_BASE_URL#http://}"
}
check "instance" instance

STATUS_ID=""
post() {
  t post "hello from toot $TAG" || { echo "post exited non-zero"; return 1; }
  contains "Toot posted: $SLUICE_BASE_URL/@$CLIENT_USERNAME/" || return 1
  local url
  url=$(grep -o "$SLUICE_BASE_URL/@$CLIENT_USERNAME/[0-9A-Za-z]*" "$OUT" | head -n1)
  STATUS_ID=${url##*/}
  [[ -n $STATUS_ID ]] || { echo "no status id in the posted URL"; return 1; }
}
# not via check(): STATUS_ID must survive (check runs its command in a subshell)
if msg=$(post 2>&1); then
  STATUS_ID=$(grep -o "$SLUICE_BASE_URL/@$CLIENT_USERNAME/[0-9A-Za-z]*" "$OUT" | head -n1)
  STATUS_ID=${STATUS_ID##*/}
  ok "post"
else
  not_ok "post" "$msg"
fi

post_json() {
  t post --json --visibility unlisted "second toot $TAG" || { echo "post --json exited non-zero"; return 1; }
  [[ $(json_field 'd["visibility"]') == unlisted ]] || { echo "visibility is not unlisted"; return 1; }
  [[ $(json_field 'd["content"]') == *"second toot $TAG"* ]] || { echo "content mismatch"; return 1; }
}
check "post --json --visibility unlisted" post_json

home() {
  t timelines home --no-pager --no-clear --limit 10 || { echo "timelines home exited non-zero"; return 1; }
  contains "hello from toot $TAG" && contains "second toot $TAG" && contains "ID $STATUS_ID"
}
check "timelines home shows the posts" home

home_json() {
  t timelines home --json --limit 1 || { echo "timelines home --json exited non-zero"; return 1; }
  [[ $(json_field 'len(d)') == 1 ]] || { echo "limit 1 did not give one status"; return 1; }
  [[ $(json_field 'd[0]["content"]') == *"second toot $TAG"* ]] || { echo "newest status is not first"; return 1; }
}
check "timelines home --json --limit 1" home_json

public_tl() {
  t timelines public --no-pager --no-clear --local || { echo "timelines public exited non-zero"; return 1; }
  contains "hello from toot $TAG" || return 1
  if grep -qF "second toot $TAG" "$OUT"; then echo "unlisted status appears on the public timeline"; return 1; fi
}
check "timelines public (unlisted excluded)" public_tl

status() {
  [[ -n $STATUS_ID ]] || { echo "no status id (post failed)"; return 1; }
  t status "$STATUS_ID" || { echo "status exited non-zero"; return 1; }
  contains "hello from toot $TAG" && contains "@$CLIENT_USERNAME" && contains "ID $STATUS_ID"
}
check "status ID" status

status_json() {
  t status --json "$STATUS_ID" || { echo "status --json exited non-zero"; return 1; }
  [[ $(json_field 'd["id"]') == "$STATUS_ID" ]] || { echo "id mismatch"; return 1; }
  [[ $(json_field 'd["account"]["acct"]') == "$CLIENT_USERNAME" ]] || { echo "account mismatch"; return 1; }
}
check "status --json" status_json

thread() {
  t post --reply-to "$STATUS_ID" "a reply in thread $TAG" || { echo "post --reply-to exited non-zero"; return 1; }
  t thread "$STATUS_ID" || { echo "thread exited non-zero"; return 1; }
  contains "hello from toot $TAG" && contains "a reply in thread $TAG" && contains "In reply to $STATUS_ID"
}
check "reply and thread" thread

favourite() {
  t favourite "$STATUS_ID" || { echo "favourite exited non-zero"; return 1; }
  t status --json "$STATUS_ID" || return 1
  [[ $(json_field 'd["favourited"]') == True && $(json_field 'd["favourites_count"]') == 1 ]] ||
    { echo "not favourited (favourited/favourites_count wrong)"; return 1; }
  t timelines favourites --no-pager --no-clear || { echo "timelines favourites exited non-zero"; return 1; }
  contains "hello from toot $TAG"
}
check "favourite" favourite

bookmark() {
  t bookmark "$STATUS_ID" || { echo "bookmark exited non-zero"; return 1; }
  t status --json "$STATUS_ID" || return 1
  [[ $(json_field 'd["bookmarked"]') == True ]] || { echo "status is not bookmarked"; return 1; }
  t bookmarks --once || { echo "bookmarks exited non-zero"; return 1; }
  contains "hello from toot $TAG" || return 1
  t unbookmark "$STATUS_ID" || { echo "unbookmark exited non-zero"; return 1; }
  t bookmarks --once || return 1
  if grep -qF "hello from toot $TAG" "$OUT"; then echo "still listed in bookmarks after unbookmark"; return 1; fi
  return 0
}
check "bookmark / bookmarks / unbookmark" bookmark

delete() {
  t post --json "to be deleted $TAG" || return 1
  local id
  id=$(json_field 'd["id"]')
  t delete "$id" || { echo "delete exited non-zero"; return 1; }
  if t status "$id"; then echo "deleted status $id still shown"; return 1; fi
  return 0
}
check "delete" delete

logout() {
  t logout "$CLIENT_USERNAME@${SLUICE_BASE_URL#http://}" || { echo "logout exited non-zero"; return 1; }
  if t whoami; then echo "whoami still works after logout"; return 1; fi
  return 0
}
check "logout" logout

echo "toot: $PASSED checks passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
