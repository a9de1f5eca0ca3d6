#!/usr/bin/env bash
# The job service benchmark (issue 4 targets), on the release build, with oha:
#
#   1. POST /jobs: seeds COUNT jobs through the API, CONCURRENCY at a time, with durable
#      (fsync'd, group-committed) writes; target >= 1,000 creations/s.
#   2. With those jobs stored, GET /jobs?category=... and GET /jobs/:id (random ids) at a fixed
#      RATE for RATE_DURATION, latency corrected for coordinated omission; target p99 < 10 ms
#      at 500 req/s.
#
# Needs: cargo, oha, curl, jq, shuf. Only 127.0.0.1 is targeted; everything this script starts
# is stopped on exit, and everything it writes goes to a temp dir (KEEP=1 keeps it).
#
# Knobs (environment):
#   COUNT=100000 CONCURRENCY=64        the seeding run
#   RATE=500 RATE_DURATION=20s RATE_CONNECTIONS=16
#   PORT=38100 SKIP_BUILD=1 OHA=oha KEEP=1
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

COUNT=${COUNT:-100000}
CONCURRENCY=${CONCURRENCY:-64}
RATE=${RATE:-500}
RATE_DURATION=${RATE_DURATION:-20s}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-16}
PORT=${PORT:-38100}
OHA=${OHA:-oha}

for tool in "$OHA" curl jq shuf; do
    command -v "$tool" >/dev/null || { echo "jobs.sh: '$tool' is needed but not found" >&2; exit 1; }
done

source benches/lib.sh
bench_prepare jobs.sh
# Posting needs an account; this one's address is never verified (its mail goes to files), which
# the instance allows with the requirement off.
start_onetime ONETIME_USERS__REQUIRE_VERIFIED_EMAIL=false

TOKEN=$(curl -sf -H 'Content-Type: application/json' \
    -d '{"email":"bench-employer@example.com","password":"correct horse 7","name":"김원데","role":"employer"}' \
    "$URL/auth/register" | jq -r .accessToken)
"$BIN/job-bench" bodies --count "$COUNT" >"$WORK/jobs.jsonl"

# oha with JSON output; extra arguments are passed on.
oha_json() {
    "$OHA" --no-tui --output-format json --wait-ongoing-requests-after-deadline "$@"
}

# "<req/s> <p50 ms> <p99 ms> <count of the expected status> <other statuses> <errors>" of an oha
# JSON result on stdin; $1 is the expected status.
oha_figures() {
    jq -r --arg ok "$1" '[
        .summary.requestsPerSec,
        .latencyPercentiles.p50 * 1000,
        .latencyPercentiles.p99 * 1000,
        (.statusCodeDistribution[$ok] // 0),
        ([.statusCodeDistribution | to_entries[] | select(.key != $ok) | .value] | add // 0),
        ([.errorDistribution | to_entries[] | .value] | add // 0)
    ] | @tsv'
}

SUMMARY=()

echo
echo "== POST /jobs: $COUNT creations, $CONCURRENCY concurrent =="
read -r rps p50 p99 created other errors < <(oha_json -n "$COUNT" -c "$CONCURRENCY" -m POST \
    -H "Authorization: Bearer $TOKEN" -T application/json -Z "$WORK/jobs.jsonl" "$URL/jobs" | oha_figures 201)
verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 1000 ? "meets" : "MISSES") }')
line=$(printf 'POST /jobs: %.0f creations/s (%s the 1,000/s target), p50 %.2f ms, p99 %.2f ms; 201: %s, other: %s, errors: %s' \
    "$rps" "$verdict" "$p50" "$p99" "$created" "$other" "$errors")
echo "$line"
SUMMARY+=("$line")
stored=$(curl -fsS "$URL/jobs?limit=1" >/dev/null && du -m "$WORK/data/jobs.redb" | cut -f1)
echo "jobs.redb: ${stored} MiB"
SUMMARY+=("jobs.redb with $created jobs: ${stored} MiB")

echo
echo "== collecting job ids (paging GET /jobs, 100 a page) =="
cursor=
: >"$WORK/ids.txt"
while :; do
    page=$(curl -fsS "$URL/jobs?limit=100${cursor:+&cursor=$cursor}")
    jq -r '.items[].id' <<<"$page" >>"$WORK/ids.txt"
    cursor=$(jq -r '.nextCursor // empty' <<<"$page")
    [[ -n $cursor ]] || break
done
echo "$(wc -l <"$WORK/ids.txt") ids"
shuf "$WORK/ids.txt" | sed "s|^|$URL/jobs/|" >"$WORK/job-urls.txt"
for category in food-cafe logistics retail events office cleaning construction etc; do
    echo "$URL/jobs?category=$category"
done >"$WORK/category-urls.txt"

echo
echo "== fixed rate: $RATE req/s for $RATE_DURATION, $RATE_CONNECTIONS connections, latency corrected =="
echo "two client variants: 'identity' (no Accept-Encoding) and 'compressed' (oha's default Accept-Encoding, like browsers)"
for target in category id; do
    urls="$WORK/category-urls.txt"
    label="GET /jobs?category=… (the 8 categories in turn, 20 jobs a page)"
    if [[ $target == id ]]; then
        urls="$WORK/job-urls.txt"
        label="GET /jobs/:id (random stored ids)"
    fi
    for variant in identity compressed; do
        flags=()
        [[ $variant == identity ]] && flags=(--disable-compression)
        oha_json "${flags[@]}" -z 2s -c "$RATE_CONNECTIONS" -q "$RATE" --urls-from-file "$urls" >/dev/null
        read -r rps p50 p99 ok other errors < <(oha_json "${flags[@]}" -z "$RATE_DURATION" -c "$RATE_CONNECTIONS" \
            -q "$RATE" --latency-correction --urls-from-file "$urls" | oha_figures 200)
        verdict=$(awk -v p="$p99" 'BEGIN { print (p < 10 ? "meets" : "MISSES") }')
        line=$(printf '%s (%s): %.0f req/s, p50 %.2f ms, p99 %.2f ms (%s p99 < 10 ms); 200: %s, other: %s, errors: %s' \
            "$label" "$variant" "$rps" "$p50" "$p99" "$verdict" "$ok" "$other" "$errors")
        echo "$line"
        SUMMARY+=("$line")
    done
done

echo
echo "== summary =="
printf '%s\n' "${SUMMARY[@]}"
