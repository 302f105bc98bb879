#!/usr/bin/env bash
# Lighthouse on the web app's pages: release build, the seeded SQLite database of
# bench/web.sh (`sluice-bench admin seed`: 5,000 accounts, 100,000 posts, 100 follows
# each, a 20-reply thread), user1 signed in through the sign-in form (a session cookie),
# then npm `lighthouse` (pinned in bench/lighthouse/package.json and its lock, installed
# with `npm ci` when missing) drives Debian's headless Chromium (/usr/bin/chromium) on
# loopback only against:
#   /about (signed out), /home, the seeded thread and its author's profile (signed in:
#   the session cookie is sent with --extra-headers),
# in Lighthouse's desktop and mobile form factors (its default throttling: simulated).
# Prints the performance, accessibility and best-practices scores and FCP, LCP, TBT, CLS
# and the total bytes of each, and every accessibility / best-practices audit that failed.
#
# Usage: bench/lighthouse.sh
# Knobs: BENCH_SERVER_BIN (another build's server), BENCH_RESULTS (output dir, the JSON
# reports go there), CARGO_TARGET_DIR (/tmp/sluice-bench-target), CHROME_PATH
# (/usr/bin/chromium), LIGHTHOUSE_RUNS (1: runs per page and form factor, the median
# performance score's run is reported), BENCH_SEED ("5000 100000": accounts, posts).
# See docs/benchmarks.md ("The web app": Lighthouse).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$ROOT/bench/lighthouse
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/sluice-bench-target}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
RUNS=${LIGHTHOUSE_RUNS:-1}
read -r SEED_ACCOUNTS SEED_STATUSES <<<"${BENCH_SEED:-5000 100000}"
OUT=${BENCH_RESULTS:-/tmp/sluice-bench-results/lighthouse-$(date +%Y%m%d-%H%M%S)}
for t in curl jq python3 node npm; do command -v $t >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
[[ -x $CHROME_PATH ]] || { echo "no Chromium at $CHROME_PATH (apt-get install chromium)" >&2; exit 2; }
mkdir -p "$OUT"

# The pinned lighthouse, installed once per lock file.
stamp=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$HERE/node_modules/.sluice-stamp" 2>/dev/null)" != "$stamp" ]]; then
  (cd "$HERE" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
  echo "$stamp" >"$HERE/node_modules/.sluice-stamp"
fi
LH=$HERE/node_modules/.bin/lighthouse

if [[ -z ${BENCH_SERVER_BIN:-} ]]; then
  (cd "$ROOT" && cargo build --release -q -p sluice -p sluice-bench)
fi
BIN=${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/sluice}
BENCH=$(dirname "$BIN")/sluice-bench
[[ -x $BENCH ]] || BENCH=$CARGO_TARGET_DIR/release/sluice-bench
DATA=$(mktemp -d /tmp/sluice-lighthouse.XXXXXX)
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
"$BENCH" admin seed --accounts "$SEED_ACCOUNTS" --statuses "$SEED_STATUSES" --follows 100 \
  --password password123 --thread-replies 20 >"$OUT/seed.txt"
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
root_author=$(curl -sf "$BASE/api/v1/statuses/$ROOT_ID" | jq -r .account.acct)
[[ -n $root_author && $root_author != null ]] || { echo "no thread root $ROOT_ID" >&2; exit 1; }
jq -n --arg c "$COOKIE" '{Cookie: $c}' >"$OUT/headers.json"

# NAME PATH SIGNED_IN(0|1)
PAGES=("about /about 0" "home /home 1" "thread /@$root_author/$ROOT_ID 1" "profile /@$root_author 1")
for form in desktop mobile; do
  for page in "${PAGES[@]}"; do
    read -r name path signed <<<"$page"
    args=(--quiet --output=json --only-categories=performance,accessibility,best-practices
      "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run")
    [[ $form == desktop ]] && args+=(--preset=desktop)
    [[ $signed == 1 ]] && args+=("--extra-headers=$OUT/headers.json")
    for run in $(seq 1 "$RUNS"); do
      "$LH" "$BASE$path" "${args[@]}" --output-path="$OUT/$form-$name-$run.json" 2>>"$OUT/lighthouse.log" ||
        { echo "lighthouse failed on $path ($form), see $OUT/lighthouse.log" >&2; exit 1; }
    done
  done
done

python3 - "$OUT" "$RUNS" <<'PY' | tee "$OUT/summary.txt"
import json, sys, glob, statistics
out, runs = sys.argv[1], int(sys.argv[2])
print(f"{'form':8} {'page':8} {'perf':>4} {'a11y':>4} {'b-p':>4} {'FCP ms':>7} {'LCP ms':>7} {'TBT ms':>6} {'CLS':>6} {'bytes':>8}")
failed = {}
for form in ("desktop", "mobile"):
    for name in ("about", "home", "thread", "profile"):
        reports = [json.load(open(f"{out}/{form}-{name}-{r}.json")) for r in range(1, runs + 1)]
        reports.sort(key=lambda r: r["categories"]["performance"]["score"] or 0)
        r = reports[len(reports) // 2]
        if r.get("runtimeError"):
            print(f"{form:8} {name:8} runtime error: {r['runtimeError']}")
            continue
        c, a = r["categories"], r["audits"]
        score = lambda k: round((c[k]["score"] or 0) * 100)
        num = lambda k: a[k].get("numericValue") or 0
        print(f"{form:8} {name:8} {score('performance'):4} {score('accessibility'):4} {score('best-practices'):4} "
              f"{num('first-contentful-paint'):7.0f} {num('largest-contentful-paint'):7.0f} "
              f"{num('total-blocking-time'):6.0f} {num('cumulative-layout-shift'):6.3f} {num('total-byte-weight'):8.0f}")
        for cat in ("accessibility", "best-practices"):
            for ref in c[cat]["auditRefs"]:
                au = a[ref["id"]]
                if ref.get("weight", 0) > 0 and au.get("score") is not None and au["score"] < 1:
                    failed.setdefault(f"{cat}: {ref['id']} ({au['title']})", []).append(f"{form}/{name}")
if failed:
    print("== failed audits")
    for k, v in sorted(failed.items()):
        print(f"{k}: {', '.join(v)}")
else:
    print("== no accessibility or best-practices audit failed")
PY
echo "raw output: $OUT" >&2
