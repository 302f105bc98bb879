#!/usr/bin/env bash
# The socialweb.coop ActivityPub test suite (npm `activitypub-testing`, `test actor`)
# against a running Sluice server's actor, with a bearer token for its C2S tests.
#
# Environment (set by run.sh):
#   SLUICE_BASE_URL   e.g. http://127.0.0.1:40123 (loopback only)
#   CLIENT_USERNAME, CLIENT_EMAIL, CLIENT_PASSWORD   a user created with `sluice admin create-user`
#   PYTHON            a python3 (reads the JSON answers and the tool's results)
#
# The tool exits 0 whatever its outcomes, so its NDJSON records are read here: any
# `failed` outcome fails this script, and so does a test of EXPECTED_PASS that does not
# pass (docs/c2s.md lists the outcomes and why the others are inapplicable).
set -euo pipefail

: "${SLUICE_BASE_URL:?}" "${CLIENT_USERNAME:?}" "${CLIENT_EMAIL:?}" "${CLIENT_PASSWORD:?}" "${PYTHON:?}"
case "$SLUICE_BASE_URL" in
  http://127.0.0.1:* | http://localhost:* | "http://[::1]:"*) ;;
  *) echo "refusing to run against non-loopback $SLUICE_BASE_URL" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL="$HERE/node_modules/.bin/activitypub-testing"
[[ -x $TOOL ]] || { echo "activitypub-testing is not installed (npm ci in $HERE)" >&2; exit 2; }

EXPECTED_PASS="actor-objects-must-have-inbox-outbox-properties
actor-must-serve-as2-object-to-get
outbox-must-be-an-orderedcollection
followers-collection-must-be-a-collection
following-collection-must-be-a-collection
liked-collection-must-be-a-collection
outbox-post-servers-must-return-a-201-created-http-code
outbox-post-must-accept-non-activity-object
outbox-wraps-object-with-create-checked-using-get-location
post-outbox-server-overwrites-id-property
create-then-update-modifies-object-checked-by-get"

json_field() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

APP=$(curl -fsS --max-time 10 -X POST "$SLUICE_BASE_URL/api/v1/apps" \
  -d client_name=activitypub-testing -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write')
TOKEN=$(curl -fsS --max-time 10 -X POST "$SLUICE_BASE_URL/oauth/token" \
  -d grant_type=password \
  -d client_id="$(json_field client_id <<<"$APP")" \
  -d client_secret="$(json_field client_secret <<<"$APP")" \
  --data-urlencode username="$CLIENT_EMAIL" \
  --data-urlencode password="$CLIENT_PASSWORD" \
  -d 'scope=read write' | json_field access_token)

OUT=$(mktemp "${TMPDIR:-/tmp}/sluice-aptest.XXXXXX")
trap 'rm -f "$OUT"' EXIT
# The tool has no time limit of its own. `=` is required: with a space the header is
# silently not sent.
timeout 120 "$TOOL" test actor "$SLUICE_BASE_URL/users/$CLIENT_USERNAME" \
  --input.authorization="Bearer $TOKEN" >"$OUT" 2>"$OUT.err" || {
  rc=$?
  echo "activitypub-testing: exit status $rc" >&2
  cat "$OUT.err" >&2
  rm -f "$OUT.err"
  exit 1
}
rm -f "$OUT.err"

EXPECTED_PASS=$EXPECTED_PASS "$PYTHON" - "$OUT" <<'PY'
import json, os, sys
outcomes = {}
for line in open(sys.argv[1]):
    line = line.strip().lstrip("\x1e")
    if not line:
        continue
    r = json.loads(line)
    outcomes[r["test"]["slug"]] = (r["result"]["outcome"], (r["result"].get("info") or "").replace("\n", " "))
bad = 0
for slug in sorted(outcomes):
    outcome, info = outcomes[slug]
    print(f"{outcome:13} {slug}" + (f"  ({info[:160]})" if outcome != "passed" and info else ""))
    if outcome == "failed":
        bad += 1
for slug in os.environ["EXPECTED_PASS"].split():
    if outcomes.get(slug, ("missing",))[0] != "passed":
        print(f"not ok - activitypub-testing: {slug} was expected to pass")
        bad += 1
passed = sum(1 for o, _ in outcomes.values() if o == "passed")
print(f"activitypub-testing: {passed} passed, {bad} problems, {len(outcomes)} tests")
sys.exit(1 if bad else 0)
PY
