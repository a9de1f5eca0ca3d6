#!/usr/bin/env bash
# The payment benchmarks (issue 11 targets), on the release build, with `payment-bench`:
#
#   1. paid orders: CONNECTIONS (32) employers, one connection each, post ORDERS (60,000) jobs
#      between them (the seeding, timed apart), then pay for them through the sandbox, create →
#      checkout → confirm, for at most DURATION (30) s: paid orders/s and p50/p99 of the flow
#      and of each step. Target: >= 1,500 paid orders/s, p99 < 50 ms.
#   2. chaos: OPERATIONS (10,000) random operations, CONCURRENCY (32) at a time (payments,
#      duplicate confirms, cancels, job deletions, completions with hires, withdrawals racing for
#      one balance) against a server SIGKILLed KILLS (3) times in the middle; then `onetime
#      ledger check` must exit 0 and every confirmed won be accounted for (exit 1 otherwise).
#
# Needs: cargo, curl. Only 127.0.0.1 is targeted, on ports below the ephemeral range (test
# servers on port 0 land in it); everything this script starts is stopped on exit, everything
# it writes goes to a temp dir (KEEP=1 keeps it, with the servers' logs).
#
# Knobs (environment):
#   CONNECTIONS=32 ORDERS=60000 DURATION=30 OPERATIONS=10000 CONCURRENCY=32 KILLS=3 SEED=<n>
#   ONLY=paid|chaos PORT=28400 CHAOS_PORT=28410 SKIP_BUILD=1 KEEP=1
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS=${CONNECTIONS:-32}
ORDERS=${ORDERS:-60000}
DURATION=${DURATION:-30}
OPERATIONS=${OPERATIONS:-10000}
CONCURRENCY=${CONCURRENCY:-32}
KILLS=${KILLS:-3}
ONLY=${ONLY:-}
PORT=${PORT:-28400}
CHAOS_PORT=${CHAOS_PORT:-28410}

command -v curl >/dev/null || { echo "payments.sh: 'curl' is needed but not found" >&2; exit 1; }

source benches/lib.sh
bench_prepare payments.sh

if [[ $ONLY != chaos ]]; then
    start_onetime ONETIME_USERS__REQUIRE_VERIFIED_EMAIL=false
    echo "== paid orders: create → checkout → confirm, $CONNECTIONS connections =="
    "$BIN/payment-bench" paid-orders --url "$URL" --connections "$CONNECTIONS" \
        --orders "$ORDERS" --duration "$DURATION"
    kill "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=
fi

if [[ $ONLY != paid ]]; then
    echo
    echo "== chaos: $OPERATIONS operations, $CONCURRENCY at a time, $KILLS SIGKILLs =="
    "$BIN/payment-bench" chaos --bin "$BIN/onetime" --data-dir "$WORK/chaos" --port "$CHAOS_PORT" \
        --operations "$OPERATIONS" --concurrency "$CONCURRENCY" --kills "$KILLS" ${SEED:+--seed "$SEED"}
fi
