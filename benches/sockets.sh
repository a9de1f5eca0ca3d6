#!/usr/bin/env bash
# The WebSocket benchmark (issue 12 and 13 targets), with the ws-bench load client:
#
#   1. notify: SOCKETS (10,000) notification sockets, two per account, and the server's RSS
#      before and after them; then NOTIFY_RATE (1,000) notifications/s for DURATION (30 s),
#      announced by an administrator to PER_REQUEST (10) of those accounts at a time (in-app
#      only): request -> `notification` frame on each of the accounts' sockets.
#   2. chat idle: SOCKETS chat sockets, two per account: RSS per socket.
#   3. chat: ROOMS (1,000) rooms (an employer's job and a worker who applied; the worker on two
#      devices) beside SOCKETS - 3 x ROOMS idle chat sockets; CHAT_RATE (2,000) messages/s for
#      DURATION: send -> the other participant's `message` frames, and the ack; then every room's
#      history (each message stored once, seqs dense, each sender's in order).
#   4. chat-flood: step 3 with one more room whose employer sends FLOOD_RATE (200) messages/s
#      of 2,000 characters (the worker reads them all): what the flood itself costs the others.
#   5. chat-slow: step 4, the flooded worker's laptop reading a frame a second: it must be
#      closed with 1013 (the server's count in /health) and leave everyone else's figures as in 4.
#
# Each step runs against a freshly started `onetime serve` (release) on one data directory, so
# that memory freed by the step before does not flatter the next one's RSS difference.
#
# Server settings for the load (and why): gateway rate limits off and the WebSocket caps
# (`gateway.connections.max_websockets*`, 256 and 8 per address by default) above SOCKETS, all
# clients being 127.0.0.1; the open-file limit raised to its hard limit; e-mail verification
# off; argon2 at m = 8 KiB, t = 1 (`users.argon2`), so that registering ~17,000 accounts over
# HTTP takes seconds instead of minutes (login cost is not what is measured here);
# `chat.send_per_second`/`send_burst` raised to FLOOD_RATE only for the slow reader's employer,
# who floods on purpose (every other account sends about one message a second, far below the
# default limit of 20).
#
# Needs: cargo, curl. Only 127.0.0.1 is targeted; everything this script starts is stopped on
# exit, and everything it writes goes to a temp dir (KEEP=1 keeps it).
#
# Knobs (environment):
#   SOCKETS=10000 NOTIFY_RATE=1000 PER_REQUEST=10 ROOMS=1000 CHAT_RATE=2000 FLOOD_RATE=200
#   DURATION=30 STEPS="notify chat-idle chat chat-flood chat-slow" PORT=38400 SKIP_BUILD=1 KEEP=1
#   BIN_DIR (where onetime and ws-bench are; default: the release target dir)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SOCKETS=${SOCKETS:-10000}
NOTIFY_RATE=${NOTIFY_RATE:-1000}
PER_REQUEST=${PER_REQUEST:-10}
ROOMS=${ROOMS:-1000}
CHAT_RATE=${CHAT_RATE:-2000}
FLOOD_RATE=${FLOOD_RATE:-200}
DURATION=${DURATION:-30}
STEPS=${STEPS:-notify chat-idle chat chat-flood chat-slow}
PORT=${PORT:-38400}

command -v curl >/dev/null || { echo "sockets.sh: 'curl' is needed but not found" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
# The server and the client each hold one descriptor per socket, plus their stores and pools.
((SOCKETS + 1000 < $(ulimit -n))) || echo "sockets.sh: open-file limit $(ulimit -n) is low for $SOCKETS sockets" >&2

source benches/lib.sh
bench_prepare sockets.sh
BIN=${BIN_DIR:-$BIN}

ADMIN_EMAIL=bench-admin@example.com
ADMIN_PASSWORD="bench admin 1"
ROOM_SOCKETS=$((ROOMS * 3))
IDLE_BESIDE_ROOMS=$((SOCKETS > ROOM_SOCKETS ? SOCKETS - ROOM_SOCKETS : 0))

restart_onetime() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" || true
        SERVER_PID=
    fi
    start_onetime \
        ONETIME_USERS__REQUIRE_VERIFIED_EMAIL=false \
        ONETIME_USERS__ARGON2__MEMORY_KIB=8 \
        ONETIME_USERS__ARGON2__ITERATIONS=1 \
        ONETIME_GATEWAY__CONNECTIONS__MAX_WEBSOCKETS=$((SOCKETS + 1000)) \
        ONETIME_GATEWAY__CONNECTIONS__MAX_WEBSOCKETS_PER_CLIENT=$((SOCKETS + 1000)) \
        ONETIME_CHAT__SEND_PER_SECOND="$FLOOD_RATE" \
        ONETIME_CHAT__SEND_BURST="$FLOOD_RATE"
}

ws_bench() {
    "$BIN/ws-bench" --url "$URL" --server-pid "$SERVER_PID" "$@" | tee -a "$WORK/ws-bench.log"
}

load() { awk '{ print $1 }' /proc/loadavg; }

restart_onetime
env ONETIME_DATA_DIR="$WORK/data" "$BIN/onetime" admin create --email "$ADMIN_EMAIL" --password - <<<"$ADMIN_PASSWORD" >/dev/null

fresh=1
for step in $STEPS; do
    ((fresh)) || restart_onetime
    fresh=0
    echo
    echo "== $step (machine load average $(load)) =="
    case $step in
        notify)
            ws_bench notify --sockets "$SOCKETS" --devices 2 --rate "$NOTIFY_RATE" --duration "$DURATION" \
                --per-request "$PER_REQUEST" --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" ;;
        chat-idle)
            ws_bench idle --path /chat/socket --sockets "$SOCKETS" --devices 2 --hold 5 ;;
        chat)
            ws_bench chat --sockets "$IDLE_BESIDE_ROOMS" --devices 2 --rooms "$ROOMS" --rate "$CHAT_RATE" \
                --duration "$DURATION" ;;
        chat-flood)
            ws_bench chat --sockets "$IDLE_BESIDE_ROOMS" --devices 2 --rooms "$ROOMS" --rate "$CHAT_RATE" \
                --duration "$DURATION" --flood-rate "$FLOOD_RATE" ;;
        chat-slow)
            ws_bench chat --sockets "$IDLE_BESIDE_ROOMS" --devices 2 --rooms "$ROOMS" --rate "$CHAT_RATE" \
                --duration "$DURATION" --slow-reader --flood-rate "$FLOOD_RATE" ;;
        *) echo "sockets.sh: unknown step $step" >&2; exit 1 ;;
    esac
    echo "machine load average after $step: $(load); server VmHWM $(awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status") MiB"
done
