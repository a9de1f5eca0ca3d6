#!/usr/bin/env bash
# The write-path benchmark (issue 10 targets), on the release build, with wrk:
#
#   1. POST /jobs at CONNECTIONS (32) for DURATION (60 s), durable acknowledgements: creates/s,
#      p50/p99; the server's RSS sampled all along (peak) and again SETTLE (30) s after;
#      meanwhile index-latency posts 2 jobs/s of its own and times each until it is searchable.
#   2. More creations (at the same concurrency) until the store holds JOBS (100,000): jobs.redb's
#      allocated and apparent bytes per job.
#   3. POST /jobs/:id/apply for APPLY_DURATION (20 s): WORKERS (256) workers spread over the
#      newest 1,000 jobs, each (job, worker) pair once: applications/s, p50/p99.
#   4. The platform stopped, `onetime compact`: jobs.redb's apparent and allocated bytes once
#      compacted and closed.
#
# Needs: cargo, wrk, curl, jq. Only 127.0.0.1 is targeted; everything this script starts is
# stopped on exit, and everything it writes goes to a temp dir (KEEP=1 keeps it).
#
# Knobs (environment):
#   CONNECTIONS=32 DURATION=60 SETTLE=30 JOBS=100000 APPLY_DURATION=20 WORKERS=256
#   PORT=38300 SKIP_BUILD=1 KEEP=1, and any ONETIME_* setting passed through to the server
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-60}
SETTLE=${SETTLE:-30}
JOBS=${JOBS:-100000}
APPLY_DURATION=${APPLY_DURATION:-20}
WORKERS=${WORKERS:-256}
PORT=${PORT:-38300}

for tool in wrk curl jq; do
    command -v "$tool" >/dev/null || { echo "writes.sh: '$tool' is needed but not found" >&2; exit 1; }
done

source benches/lib.sh
bench_prepare writes.sh
start_onetime ONETIME_USERS__REQUIRE_VERIFIED_EMAIL=false

# Registers an account and prints its access token (the gateway checks every token's session,
# so the load needs real accounts).
register() {
    curl -fsS -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1@example.com\",\"password\":\"correct horse 7\",\"name\":\"김원데\",\"role\":\"$2\"}" \
        "$URL/auth/register" | jq -r .accessToken
}

# The server's resident set now and at its peak so far, in MiB.
rss_mib() { awk -v f="$1" '$1 == f":" { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

register bench-employer employer >"$WORK/employer.token"
"$BIN/job-bench" bodies --count 10000 >"$WORK/jobs.jsonl"

# Posts the bodies in turn; counts the answers by status.
cat >"$WORK/post.lua" <<'LUA'
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local token = io.open(os.getenv("TOKEN_FILE")):read("*l")
local threads, n = {}, 0
ok, other = 0, 0
function setup(thread) table.insert(threads, thread) end
function init() n = math.random(#bodies) end
function request()
    n = n % #bodies + 1
    return wrk.format("POST", "/jobs", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. token,
    }, bodies[n])
end
function response(status) if status == tonumber(os.getenv("OK")) then ok = ok + 1 else other = other + 1 end end
function done()
    local o, x = 0, 0
    for _, t in ipairs(threads) do o = o + t:get("ok"); x = x + t:get("other") end
    io.write(string.format("answers %d %d\n", o, x))
end
LUA

# Runs wrk with a script for $1 seconds; prints "<req/s> <p50 ms> <p99 ms> <ok> <other>".
run_wrk() {
    local seconds=$1 script=$2 path=$3 out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$script" "$URL$path")
    echo "$out" >>"$WORK/wrk.log"
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 } $1 == "answers" { ok = $2; other = $3 }
        END { printf "%.0f %.2f %.2f %d %d\n", rps, p50, p99, ok, other }' <<<"$out"
}

SUMMARY=()
say() { echo "$1"; SUMMARY+=("$1"); }

sleep 2
say "idle RSS after start-up: $(rss_mib VmRSS) MiB"

echo
echo "== POST /jobs: ${DURATION} s at $CONNECTIONS connections =="
(
    peak=0
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        now=$(rss_mib VmRSS)
        ((now > peak)) && peak=$now && echo "$peak" >"$WORK/peak"
        sleep 0.2
    done
) &
SAMPLER=$!
# New jobs must stay findable within 1 s under this load: probe meanwhile, 2 jobs a second (one
# at a time, each until found), so that every probe falls within the load.
"$BIN/index-latency" $((DURATION * 2 - 4)) 2 "$URL" >"$WORK/index-latency.txt" 2>&1 &
PROBE=$!
export BODIES="$WORK/jobs.jsonl" TOKEN_FILE="$WORK/employer.token" OK=201
read -r rps p50 p99 created other < <(run_wrk "$DURATION" "$WORK/post.lua" /jobs)
kill "$SAMPLER"
wait "$PROBE" || true
say "$(printf 'POST /jobs: %s creates/s, p50 %s ms, p99 %s ms; 201: %s, other: %s' "$rps" "$p50" "$p99" "$created" "$other")"
say "index latency under that load (POST answered → found by /search/jobs): $(grep -m1 -E '^(created|Error)' "$WORK/index-latency.txt")"
say "RSS during the run: peak $(cat "$WORK/peak") MiB (VmHWM $(rss_mib VmHWM) MiB)"
sleep "$SETTLE"
say "RSS ${SETTLE} s after the run: $(rss_mib VmRSS) MiB (anonymous $(rss_mib RssAnon), files $(rss_mib RssFile))"

echo
echo "== creating up to $JOBS jobs =="
total=$created
while ((total < JOBS)); do
    left=$(((JOBS - total) / (rps > 0 ? rps : 1000) + 1))
    read -r _ _ _ more _ < <(run_wrk "$((left < 30 ? left : 30))" "$WORK/post.lua" /jobs)
    total=$((total + more))
    echo "$total jobs"
done
allocated=$(du -B1 "$WORK/data/jobs.redb" | cut -f1)
apparent=$(stat -c %s "$WORK/data/jobs.redb")
say "$(printf 'jobs.redb with %d jobs: %d bytes allocated (%d a job), %d apparent (%d a job)' \
    "$total" "$allocated" $((allocated / total)) "$apparent" $((apparent / total)))"

echo
echo "== POST /jobs/:id/apply: ${APPLY_DURATION} s, $WORKERS workers, the newest 1,000 jobs =="
curl -fsS "$URL/jobs?limit=100" | jq -r '.items[].id' >"$WORK/ids.txt"
cursor=$(curl -fsS "$URL/jobs?limit=100" | jq -r '.nextCursor')
for _ in $(seq 9); do
    page=$(curl -fsS "$URL/jobs?limit=100&cursor=$cursor")
    jq -r '.items[].id' <<<"$page" >>"$WORK/ids.txt"
    cursor=$(jq -r '.nextCursor' <<<"$page")
done
for w in $(seq "$WORKERS"); do
    register "bench-worker-$w" worker
done >"$WORK/workers.tokens"
# Thread t of wrk takes the pairs t, t + threads, ...: job-major, so every pair is new.
cat >"$WORK/apply.lua" <<'LUA'
local ids, tokens = {}, {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local threads, counter, step = {}, 0, 1
ok, other = 0, 0
function setup(thread)
    thread:set("first", #threads)
    table.insert(threads, thread)
end
function init() counter = first; step = 2 end
function request()
    local pair = counter
    counter = counter + step
    local job = ids[math.floor(pair / #tokens) % #ids + 1]
    return wrk.format("POST", "/jobs/" .. job .. "/apply", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. tokens[pair % #tokens + 1],
    }, "{}")
end
function response(status) if status == 201 then ok = ok + 1 else other = other + 1 end end
function done()
    local o, x = 0, 0
    for _, t in ipairs(threads) do o = o + t:get("ok"); x = x + t:get("other") end
    io.write(string.format("answers %d %d\n", o, x))
end
LUA
export IDS="$WORK/ids.txt" TOKENS="$WORK/workers.tokens"
read -r rps p50 p99 applied other < <(run_wrk "$APPLY_DURATION" "$WORK/apply.lua" /)
say "$(printf 'POST /jobs/:id/apply: %s applications/s, p50 %s ms, p99 %s ms; 201: %s, other: %s' "$rps" "$p50" "$p99" "$applied" "$other")"

echo
echo "== onetime compact on the stopped platform =="
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
ONETIME_DATA_DIR="$WORK/data" "$BIN/onetime" compact >/dev/null
allocated=$(du -B1 "$WORK/data/jobs.redb" | cut -f1)
apparent=$(stat -c %s "$WORK/data/jobs.redb")
say "$(printf 'jobs.redb after onetime compact (stopped, then closed): %d bytes apparent, %d allocated (apparent %d%% of allocated)' \
    "$apparent" "$allocated" $((apparent * 100 / allocated)))"

echo
echo "== summary =="
printf '%s\n' "${SUMMARY[@]}"
