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

command -v curl >/dev/null || { echo "logins.sh: 'curl' is needed but not found" >&2; exit 1; }

source benches/lib.sh
bench_prepare logins.sh
start_onetime ONETIME_USERS__ARGON2__MEMORY_KIB="$MEMORY_KIB" \
    ONETIME_USERS__ARGON2__ITERATIONS="$ITERATIONS" \
    ONETIME_USERS__ARGON2__PARALLELISM="$PARALLELISM"

"$BIN/login-bench" --url "$URL" --burst "$BURST" --rounds "$ROUNDS" --probe-ms "$PROBE_MS" \
    --memory-kib "$MEMORY_KIB" --iterations "$ITERATIONS" --parallelism "$PARALLELISM"
