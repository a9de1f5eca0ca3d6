#!/usr/bin/env bash
# Hand-run benchmarks of onetime: gateway throughput and latency against a bare axum baseline,
# the event bus, start-up time and idle memory. See benches/README.md.
#
# Needs: cargo, oha (`cargo install oha --locked`), curl, jq. Only 127.0.0.1 is targeted.
# Everything this script starts is stopped on exit; everything it writes goes to a temp dir.
#
# Knobs (environment):
#   CONNECTIONS=50 DURATION=10s ROUNDS=2   max-throughput runs: each round measures both servers
#   RATE=2000 RATE_DURATION=10s            the fixed-rate run
#   STARTUP_RUNS=5                         fresh starts for the start-up measurement
#   ONETIME_PORT=38080 HELLO_PORT=38081 STARTUP_PORT=38090
#   PIN=1        pin the servers to CPU 1 and oha to CPU 0 (default: no pinning)
#   SKIP_BUILD=1 use the binaries already in target/release
#   OHA=oha      the oha binary
#   INPROC_REQUESTS=100000  requests per variant of the in-process gateway diagnostic (at most
#                           the per-IP burst of the `ops` rate-limit group: one peer sends them all)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-2000}
RATE_DURATION=${RATE_DURATION:-10s}
STARTUP_RUNS=${STARTUP_RUNS:-5}
ONETIME_PORT=${ONETIME_PORT:-38080}
HELLO_PORT=${HELLO_PORT:-38081}
STARTUP_PORT=${STARTUP_PORT:-38090}
PIN=${PIN:-0}
OHA=${OHA:-oha}
BIN=${CARGO_TARGET_DIR:-target}/release

ONETIME_URL="http://127.0.0.1:${ONETIME_PORT}"
HELLO_URL="http://127.0.0.1:${HELLO_PORT}"

for tool in "$OHA" curl jq; do
    if ! command -v "$tool" >/dev/null; then
        echo "run.sh: '$tool' is needed but not found." >&2
        [[ $tool == "$OHA" ]] && echo "  install it with: cargo install oha --locked" >&2
        exit 1
    fi
done

SERVER_CPU=()
LOAD_CPU=()
if [[ $PIN == 1 ]]; then
    SERVER_CPU=(taskset -c 1)
    LOAD_CPU=(taskset -c 0)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/onetime-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Collected figures, printed again at the end.
SUMMARY=()
note() { SUMMARY+=("$1"); }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== building (release) =="
    cargo build --release -p onetime -p onetime-benches
fi
for bin in onetime hello-server bus-bench startup-bench gateway-inproc; do
    [[ -x $BIN/$bin ]] || { echo "run.sh: $BIN/$bin is missing; build first" >&2; exit 1; }
done

# Waits (at most 10 s) until `url` answers 200.
wait_for_200() {
    local url=$1 i
    for ((i = 0; i < 500; i++)); do
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.02
    done
    echo "run.sh: $url did not answer 200 within 10 s" >&2
    return 1
}

port_is_free() {
    ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null
}

rss_mib() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# oha with JSON output; extra arguments are passed on.
oha_json() {
    "${LOAD_CPU[@]}" "$OHA" --no-tui --output-format json --wait-ongoing-requests-after-deadline "$@"
}

# "<req/s> <p50 ms> <p99 ms> <non-200 count> <error count> <responses>" of an oha JSON result
# on stdin.
oha_figures() {
    jq -r '[
        .summary.requestsPerSec,
        .latencyPercentiles.p50 * 1000,
        .latencyPercentiles.p99 * 1000,
        ([.statusCodeDistribution | to_entries[] | select(.key != "200") | .value] | add // 0),
        ([.errorDistribution | to_entries[] | .value] | add // 0),
        ([.statusCodeDistribution[]] | add // 0)
    ] | @tsv'
}

# CPU time (user + system) a process has used so far, in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
TICKS_PER_SECOND=$(getconf CLK_TCK)

# Server CPU microseconds per response, from the ticks before and after and the response count.
us_per_response() {
    awk -v t="$(($2 - $1))" -v hz="$TICKS_PER_SECOND" -v n="$3" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }'
}

for port in "$ONETIME_PORT" "$HELLO_PORT" "$STARTUP_PORT"; do
    port_is_free "$port" || { echo "run.sh: something already listens on 127.0.0.1:$port" >&2; exit 1; }
done

echo
echo "== starting servers =="
echo "onetime: $ONETIME_URL, empty data dir in $WORK/data, ONETIME_LOG__LEVEL=warn"
echo "  (at the default level \"info\" every request writes an access-log line to stderr, which would"
echo "   measure the terminal or log file more than the gateway)"
ONETIME_DATA_DIR="$WORK/data" \
    ONETIME_SERVER__ADDR="127.0.0.1:${ONETIME_PORT}" \
    ONETIME_LOG__LEVEL=warn \
    "${SERVER_CPU[@]}" "$BIN/onetime" serve >"$WORK/onetime.log" 2>&1 &
ONETIME_PID=$!
PIDS+=("$ONETIME_PID")
echo "hello-server: $HELLO_URL/ (bare axum, no layers)"
"${SERVER_CPU[@]}" "$BIN/hello-server" --addr "127.0.0.1:${HELLO_PORT}" >"$WORK/hello.log" 2>&1 &
HELLO_PID=$!
PIDS+=("$HELLO_PID")
wait_for_200 "$ONETIME_URL/ready"
wait_for_200 "$HELLO_URL/"
[[ $PIN == 1 ]] && echo "pinned: servers on CPU 1, oha on CPU 0"
sleep 2
echo "idle RSS after start: onetime $(rss_mib "$ONETIME_PID") MiB, hello-server $(rss_mib "$HELLO_PID") MiB"
note "onetime RSS, idle after start: $(rss_mib "$ONETIME_PID") MiB"

echo
echo "== max throughput: $CONNECTIONS connections x $DURATION per measurement, $ROUNDS rounds, alternating order =="
echo "GET $HELLO_URL/        (hello-server)"
echo "GET $ONETIME_URL/health (onetime, every gateway layer)"
echo "two client variants: 'identity' (--disable-compression: no Accept-Encoding, like probes and curl)"
echo "and 'compressed' (oha's default 'Accept-Encoding: gzip, compress, deflate, br', like browsers;"
echo "both answers are below the gateway's 1 KiB compression threshold, so only the negotiation differs)"
echo "warm-up: 2 s each"
for variant in identity compressed; do
    flags=()
    [[ $variant == identity ]] && flags=(--disable-compression)
    oha_json "${flags[@]}" -z 2s -c "$CONNECTIONS" "$HELLO_URL/" >/dev/null
    oha_json "${flags[@]}" -z 2s -c "$CONNECTIONS" "$ONETIME_URL/health" >/dev/null
done

declare -A SUM
for variant in identity compressed; do
    SUM[hello_$variant]=0
    SUM[onetime_$variant]=0
done
for ((round = 1; round <= ROUNDS; round++)); do
    for variant in identity compressed; do
        flags=()
        [[ $variant == identity ]] && flags=(--disable-compression)
        order=(hello onetime)
        ((round % 2 == 0)) && order=(onetime hello)
        for server in "${order[@]}"; do
            url="$HELLO_URL/"
            pid=$HELLO_PID
            if [[ $server == onetime ]]; then
                url="$ONETIME_URL/health"
                pid=$ONETIME_PID
            fi
            before=$(cpu_ticks "$pid")
            figures=$(oha_json "${flags[@]}" -z "$DURATION" -c "$CONNECTIONS" "$url" | oha_figures)
            after=$(cpu_ticks "$pid")
            read -r rps p50 p99 bad errors responses <<<"$figures"
            printf 'round %d  %-10s  %-7s  %9.0f req/s  p50 %6.3f ms  p99 %6.3f ms  server CPU %5s µs/req  non-200: %s  errors: %s\n' \
                "$round" "$variant" "$server" "$rps" "$p50" "$p99" "$(us_per_response "$before" "$after" "$responses")" \
                "$bad" "$errors"
            SUM[${server}_$variant]=$(awk -v a="${SUM[${server}_$variant]}" -v b="$rps" 'BEGIN { print a + b }')
        done
    done
done
for variant in identity compressed; do
    hello=$(awk -v s="${SUM[hello_$variant]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
    onetime=$(awk -v s="${SUM[onetime_$variant]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
    ratio=$(awk -v a="$onetime" -v b="$hello" 'BEGIN { printf "%.1f", 100 * a / b }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 40 ? "meets" : "MISSES") }')
    line="max throughput ($variant): hello $hello req/s, onetime /health $onetime req/s, ratio ${ratio}% ($verdict the 40% target)"
    echo "$line"
    note "$line"
done

echo
echo "== fixed rate: $RATE req/s for $RATE_DURATION, $CONNECTIONS connections, latency corrected for coordinated omission =="
for variant in identity compressed; do
    flags=()
    [[ $variant == identity ]] && flags=(--disable-compression)
    for server in hello onetime; do
        url="$HELLO_URL/"
        pid=$HELLO_PID
        if [[ $server == onetime ]]; then
            url="$ONETIME_URL/health"
            pid=$ONETIME_PID
        fi
        before=$(cpu_ticks "$pid")
        figures=$(oha_json "${flags[@]}" -z "$RATE_DURATION" -c "$CONNECTIONS" \
            -q "$RATE" --latency-correction "$url" | oha_figures)
        after=$(cpu_ticks "$pid")
        read -r rps p50 p99 bad errors responses <<<"$figures"
        line=$(printf '%s req/s (%s): %-7s achieved %.0f req/s, p50 %.3f ms, p99 %.3f ms, server CPU %s µs/req, non-200: %s, errors: %s' \
            "$RATE" "$variant" "$server" "$rps" "$p50" "$p99" "$(us_per_response "$before" "$after" "$responses")" \
            "$bad" "$errors")
        if [[ $server == onetime ]]; then
            verdict=$(awk -v p="$p99" 'BEGIN { print (p < 5 ? "meets" : "MISSES") }')
            line="$line ($verdict the p99 < 5 ms target)"
            note "$line"
        fi
        echo "$line"
    done
done

sleep 2
echo
echo "RSS after the load, 2 s idle: onetime $(rss_mib "$ONETIME_PID") MiB, hello-server $(rss_mib "$HELLO_PID") MiB"
note "onetime RSS, 2 s idle after the load: $(rss_mib "$ONETIME_PID") MiB"
kill "$ONETIME_PID" "$HELLO_PID"
wait "$ONETIME_PID" "$HELLO_PID" 2>/dev/null || true
PIDS=()

echo
echo "(phase B runs twice: with 4 concurrent publishers, as request handlers publish, and with a single"
echo " sequential publisher, where every event's commit waits for the previous event's fsync)"
"$BIN/bus-bench" --dir "$WORK" --publishers 4 | tee "$WORK/bus.txt"
while IFS= read -r line; do note "$line"; done < <(grep '^result ' "$WORK/bus.txt" | sed 's/^result //')
echo
"$BIN/bus-bench" --dir "$WORK" --no-throughput --publishers 1 | tee "$WORK/bus-1.txt"
while IFS= read -r line; do note "(1 publisher) $line"; done < <(grep '^result ' "$WORK/bus-1.txt" | sed 's/^result //')

echo
"$BIN/startup-bench" --bin "$BIN/onetime" --runs "$STARTUP_RUNS" --addr "127.0.0.1:${STARTUP_PORT}" \
    --dir "$WORK" | tee "$WORK/startup.txt"
while IFS= read -r line; do note "$line"; done < <(grep '^result ' "$WORK/startup.txt" | sed 's/^result //')

echo
echo "(diagnostic: the gateway's cost per request in-process, without network or HTTP parsing)"
"$BIN/gateway-inproc" --requests "${INPROC_REQUESTS:-100000}"

echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) CPUs) =="
printf '%s\n' "${SUMMARY[@]}"
