#!/usr/bin/env bash
# The web app's pages under load, and their weight: release build, a seeded SQLite
# database (`sluice-bench admin seed`: 5,000 accounts, 100,000 posts, 100 follows each),
# user1 signed in through the sign-in form (a session cookie), then on loopback only:
#   - GET /home (the signed-in home page, 20 posts) with wrk at BENCH_CONNECTIONS_LOW,
#     and the API's home (GET /api/v1/timelines/home?limit=20) beside it for comparison;
#   - the weight of the about, home, thread and profile pages: HTML, plus the stylesheet
#     and script they load (uncompressed bytes), and the number of requests.
#
# Usage: bench/web.sh
# Knobs: BENCH_CONNECTIONS_LOW (16), BENCH_DURATION (20s), BENCH_SERVER_BIN (another
# build's server), BENCH_RESULTS (output dir), CARGO_TARGET_DIR
# (/tmp/sluice-bench-target). See docs/benchmarks.md ("The web app").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
CONNS=${BENCH_CONNECTIONS_LOW:-16}
DUR=${BENCH_DURATION:-20s}
OUT=${BENCH_RESULTS:-/tmp/sluice-bench-results/web-$(date +%Y%m%d-%H%M%S)}
for t in wrk curl jq python3; do command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/sluice}
BENCH=$CARGO_TARGET_DIR/release/sluice-bench
DATA=$(mktemp -d /tmp/sluice-web-bench.XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RUST_LOG=warn NO_COLOR=1 SLUICE_RATE_LIMIT_WRITES=0 SLUICE_RATE_LIMIT_SIGN_IN=0
export SLUICE_LISTEN=127.0.0.1:$port SLUICE_PUBLIC_URL=http://127.0.0.1:$port SLUICE_DATA_DIR=$DATA
unset SLUICE_DATABASE_URL
BASE=http://127.0.0.1:$port
start() {
  "$BIN" serve >>"$OUT/server.log" 2>&1 &
  PID=$!
  until curl -s -o /dev/null --max-time 1 "$BASE/.well-known/nodeinfo"; do
    kill -0 "$PID" 2>/dev/null || { echo "server exited at start" >&2; tail "$OUT/server.log" >&2; exit 1; }
    sleep 0.05
  done
}
start
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
"$BENCH" admin seed --accounts 5000 --statuses 100000 --follows 100 --password password123 \
  --thread-replies 20 >"$OUT/seed.txt"
ROOT_ID=$(awk '/thread root/ { print $3 }' "$OUT/seed.txt")
start

# Sign in as a browser does: the form's token, then the form.
JAR=$OUT/cookies.txt
token=$(curl -sf -c "$JAR" -b "$JAR" "$BASE/auth/sign_in" | grep -o 'name="authenticity_token" value="[^"]*"' | head -1 | cut -d'"' -f4)
curl -sf -o /dev/null -c "$JAR" -b "$JAR" -X POST "$BASE/auth/sign_in" \
  --data-urlencode "authenticity_token=$token" -d login=user1 -d password=password123
COOKIE="sluice_session=$(awk '$6 == "sluice_session" { print $7 }' "$JAR")"
[[ $COOKIE != "sluice_session=" ]] || { echo "no session cookie" >&2; exit 1; }
n=$(curl -sf -H "Cookie: $COOKIE" "$BASE/home" | grep -c '<article class="status' || true)
[[ $n == 20 ]] || { echo "the home page shows $n posts, expected 20" >&2; exit 1; }

app=$(curl -sf -X POST "$BASE/api/v1/apps" -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read')
api_token=$(curl -sf -X POST "$BASE/oauth/token" -d grant_type=password -d "client_id=$(jq -r .client_id <<<"$app")" \
  -d "client_secret=$(jq -r .client_secret <<<"$app")" -d username=user1 -d password=password123 -d scope=read | jq -r .access_token)

measure() { # NAME URL HEADER
  wrk -t2 -c"$CONNS" -d3s -H "$3" "$2" >/dev/null
  wrk -t2 -c"$CONNS" -d"$DUR" --latency -H "$3" "$2" >"$OUT/$1.txt"
  awk -v n="$1" '/Requests\/sec/ {r = $2} /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
    /Non-2xx/ {bad = $NF} END {printf "%-10s -c%s %8s req/s  p50 %8s  p99 %8s  non-2xx %s\n", n, c, r, p50, p99, bad + 0}' c="$CONNS" "$OUT/$1.txt"
}
{
  echo "== throughput ($(nproc) cores)"
  measure "home-page" "$BASE/home" "Cookie: $COOKIE"
  measure "home-api" "$BASE/api/v1/timelines/home?limit=20" "Authorization: Bearer $api_token"
  root_author=$(curl -sf -H "Authorization: Bearer $api_token" "$BASE/api/v1/statuses/$ROOT_ID" | jq -r .account.acct)
  measure "thread" "$BASE/@$root_author/$ROOT_ID" "Cookie: $COOKIE"
  echo "== weight (uncompressed bytes: HTML + CSS + JS = total; images not counted)"
  python3 - "$BASE" "$COOKIE" /about /home "/@$root_author/$ROOT_ID" "/@$root_author" <<'PY'
import re, sys, urllib.request
base, cookie, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
def get(path):
    req = urllib.request.Request(base + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(req) as r:
        return r.read()
for page in pages:
    html = get(page)
    text = html.decode()
    css = sum(len(get(u.replace("&#x2f;", "/"))) for u in re.findall(r'<link rel="stylesheet" href="([^"]+)"', text))
    js = sum(len(get(u.replace("&#x2f;", "/"))) for u in re.findall(r'<script type="module" src="([^"]+)"', text))
    posts = text.count('<article class="status')
    print(f"{page[:30]:30} {len(html):7} + {css:6} + {js:6} = {len(html) + css + js:7} bytes ({posts} posts)")
PY
} | tee "$OUT/summary.txt"
echo "raw output: $OUT" >&2
