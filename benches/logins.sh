#!/usr/bin/env bash
# The user service benchmark (issue 3 targets), on the release build:
#
#   1. Login throughput is bounded by argon2 cost: logins/s under bursts of BURST concurrent
#      logins against raw argon2id verifications/s on this machine (same parameters, one thread
#      per CPU); target ratio >= 0.8.
#   2. During those bursts, GET /health p99 stays under 20 ms (argon2 runs on the blocking
#      pool, never on the reactor).
#
# The load generator is `login-bench` (benches/src/bin/login-bench.rs). Only 127.0.0.1 is
# targeted; everything this script starts is stopped on exit, and everything it writes goes to
# a temp dir (KEEP=1 keeps it).
#
# Knobs (environment):
#   BURST=200 ROUNDS=3 PROBE_MS=5
#   MEMORY_KIB=19456 ITERATIONS=2 PARALLELISM=1   argon2 parameters for onetime and the raw run
#   PORT=38110 SKIP_BUILD=1 KEEP=1
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BURST=${BURST:-200}
ROUNDS=${ROUNDS:-3}
PROBE_MS=${PROBE_MS:-5}
MEMORY_KIB=${MEMORY_KIB:-19456}
ITERATIONS=${ITERATIONS:-2}
PARALLELISM=${PARALLELISM:-1}
PORT=${PORT:-38110}
BIN=${CARGO_TARGET_DIR:-target}/release
URL="http://127.0.0.1:${PORT}"

command -v curl >/dev/null || { echo "logins.sh: 'curl' is needed but not found" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/onetime-logins-bench.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== building (release) =="
    cargo build --release -p onetime -p onetime-benches
fi

if curl -s -o /dev/null --max-time 1 "$URL/" 2>/dev/null; then
    echo "logins.sh: something already listens on 127.0.0.1:$PORT" >&2
    exit 1
fi

echo "== starting onetime on $URL (data in $WORK/data; rate limits off, log level warn) =="
ONETIME_DATA_DIR="$WORK/data" \
    ONETIME_SERVER__ADDR="127.0.0.1:${PORT}" \
    ONETIME_LOG__LEVEL=warn \
    ONETIME_GATEWAY__RATE_LIMIT__ENABLED=false \
    ONETIME_USERS__ARGON2__MEMORY_KIB="$MEMORY_KIB" \
    ONETIME_USERS__ARGON2__ITERATIONS="$ITERATIONS" \
    ONETIME_USERS__ARGON2__PARALLELISM="$PARALLELISM" \
    "$BIN/onetime" serve >"$WORK/onetime.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 500; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$URL/ready" 2>/dev/null && break
    sleep 0.02
done
curl -fsS -o /dev/null "$URL/ready" || { echo "logins.sh: onetime did not become ready" >&2; exit 1; }

"$BIN/login-bench" --url "$URL" --burst "$BURST" --rounds "$ROUNDS" --probe-ms "$PROBE_MS" \
    --memory-kib "$MEMORY_KIB" --iterations "$ITERATIONS" --parallelism "$PARALLELISM"
