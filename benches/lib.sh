# Shared by the single-instance benchmarks (jobs.sh, logins.sh); source it after setting PORT.
#
# bench_prepare NAME   checks the port is free, makes $WORK (removed on exit unless KEEP=1),
#                      builds the release binaries unless SKIP_BUILD=1; sets BIN and URL
# start_onetime [VAR=VALUE ...]
#                      starts `onetime serve` on $URL with data in $WORK/data, rate limits off,
#                      log level warn, plus the given environment; waits (10 s) for /ready

BIN=${CARGO_TARGET_DIR:-target}/release
URL="http://127.0.0.1:${PORT}"
SERVER_PID=

bench_prepare() {
    BENCH=$1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/onetime-$BENCH-bench.XXXXXX")
    trap bench_cleanup EXIT
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        echo "== building (release) =="
        cargo build --release -p onetime -p onetime-benches
    fi
    if curl -s -o /dev/null --max-time 1 "$URL/" 2>/dev/null; then
        echo "$BENCH: something already listens on 127.0.0.1:$PORT" >&2
        exit 1
    fi
}

bench_cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}

start_onetime() {
    echo "== starting onetime on $URL (data in $WORK/data; rate limits off, log level warn) =="
    env ONETIME_DATA_DIR="$WORK/data" \
        ONETIME_SERVER__ADDR="127.0.0.1:${PORT}" \
        ONETIME_LOG__LEVEL=warn \
        ONETIME_GATEWAY__RATE_LIMIT__ENABLED=false \
        "$@" \
        "$BIN/onetime" serve >"$WORK/onetime.log" 2>&1 &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 500; i++)); do
        curl -fsS -o /dev/null --max-time 1 "$URL/ready" 2>/dev/null && return 0
        sleep 0.02
    done
    echo "$BENCH: onetime did not become ready" >&2
    exit 1
}
