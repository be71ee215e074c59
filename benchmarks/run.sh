#!/usr/bin/env bash
# Benchmarks Tocsin against Prometheus Alertmanager; see benchmarks/README.md.
#
#   benchmarks/run.sh                        both servers, then the comparison
#   benchmarks/run.sh --only alertmanager    one server; the comparison reuses
#   benchmarks/run.sh --only tocsin          the other's latest results, if any
#   benchmarks/run.sh --isolate              resolve each workload before the next one
#   benchmarks/run.sh --skip-build           use the binaries already in .build/release
#   benchmarks/run.sh -- --concurrency 64    arguments after -- go to `tocsin-bench run`
#                                            (see .build/release/tocsin-bench run --help)
#
# Environment:
#   ALERTMANAGER_BIN    Alertmanager binary (default: prometheus-alertmanager on PATH)
#   TOCSIN_BIN          Tocsin binary (default: .build/release/tocsin, built by this script)
#   BENCH_BIN           tocsin-bench binary (default: .build/release/tocsin-bench)
#   AM_GROUP_INTERVAL   Alertmanager group_interval (default 1s)
#   READY_TIMEOUT       seconds to wait for a server to become ready (default 60)
#   KEEP_WORKDIR=1      keep the temporary directory (configs, logs) after a successful run
#
# Everything listens on 127.0.0.1 only. Results go to benchmarks/results/
# (git-ignored): <server>.jsonl per server and latest.md for the comparison.

set -euo pipefail

usage() {
    # The comment block at the top of this file.
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

log() {
    echo "==> $*" >&2
}

ONLY=""
SKIP_BUILD=0
BENCH_ARGS=()
EXTRA_ARGS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) [[ $# -ge 2 ]] || die "--only needs alertmanager or tocsin"; ONLY="$2"; shift 2 ;;
        --only=*) ONLY="${1#*=}"; shift ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --isolate) EXTRA_ARGS+=(--isolate); shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; BENCH_ARGS=("$@"); break ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
case "$ONLY" in
    ""|alertmanager|tocsin) ;;
    *) die "--only takes alertmanager or tocsin, not '$ONLY'" ;;
esac
RUN_AM=1
RUN_TOCSIN=1
[[ "$ONLY" == "alertmanager" ]] && RUN_TOCSIN=0
[[ "$ONLY" == "tocsin" ]] && RUN_AM=0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="$ROOT/benchmarks/results"
AM_GROUP_INTERVAL="${AM_GROUP_INTERVAL:-1s}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"

# --- prerequisites ----------------------------------------------------------

command -v curl >/dev/null || die "curl is required (apt-get install curl)"
command -v swift >/dev/null || die "swift is required"

AM_BIN="${ALERTMANAGER_BIN:-}"
if [[ $RUN_AM -eq 1 ]]; then
    if [[ -z "$AM_BIN" ]]; then
        AM_BIN="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
    fi
    if [[ -z "$AM_BIN" || ! -x "$AM_BIN" ]]; then
        die "Prometheus Alertmanager is not installed. Install it with:
    sudo apt-get install prometheus-alertmanager
(or point ALERTMANAGER_BIN at an alertmanager binary; the published figures use 0.25)"
    fi
fi

# --- build ------------------------------------------------------------------

if [[ $SKIP_BUILD -eq 0 ]]; then
    log "building tocsin-bench (release)"
    swift build -c release --product tocsin-bench
    if [[ $RUN_TOCSIN -eq 1 ]]; then
        log "building tocsin (release)"
        swift build -c release --product tocsin
    fi
fi
BIN_DIR="$(swift build -c release --show-bin-path)"
BENCH="${BENCH_BIN:-$BIN_DIR/tocsin-bench}"
TOCSIN="${TOCSIN_BIN:-$BIN_DIR/tocsin}"
[[ -x "$BENCH" ]] || die "$BENCH not found; run without --skip-build"
if [[ $RUN_TOCSIN -eq 1 && ! -x "$TOCSIN" ]]; then
    die "$TOCSIN not found; run without --skip-build"
fi

# --- process management -----------------------------------------------------

# If tocsin-bench or tocsin crashes, keep a symbolicated backtrace in the logs.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,interactive=no}"

# The figures are only meaningful on an otherwise idle machine: warn when
# something else is using the CPU (sampled over one second from /proc/stat).
cpu_busy_percent() {
    local a b
    a=($(head -n 1 /proc/stat))
    sleep 1
    b=($(head -n 1 /proc/stat))
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    local idle=$(( b[4] - a[4] + b[5] - a[5] ))
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# CPU time (jiffies) the whole machine has spent busy since boot; the
# difference over a run, minus the server's and tocsin-bench's own CPU time,
# shows how much other processes disturbed the run.
busy_jiffies() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}
check_idle() {
    [[ -r /proc/stat ]] || return 0
    local busy
    busy="$(cpu_busy_percent)"
    if [[ $busy -gt 10 ]]; then
        echo "run.sh: WARNING: the CPU is ${busy}% busy before $1 starts; other processes will skew the figures" >&2
    fi
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench.XXXXXX")"
SERVER_PID=""
SUCCESS=0
BUSY_BEFORE=0

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # Bounded wait for a clean exit, then force it.
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    stop_server
    if [[ $SUCCESS -eq 1 && "${KEEP_WORKDIR:-0}" != "1" ]]; then
        rm -rf "$WORK"
    else
        echo "run.sh: configs and logs kept in $WORK" >&2
    fi
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port. Picked below the kernel's ephemeral range, because a
# port in that range can be taken at any moment as the local end of some
# outgoing connection (bind then fails although nothing listens there).
# Checked with ss (any socket using it) or, without ss, by trying to connect.
USED_PORTS=" "
EPHEMERAL_LOW="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
PORT_LOW=10000
PORT_HIGH=$(( EPHEMERAL_LOW > PORT_LOW + 1000 ? EPHEMERAL_LOW - 1 : 29999 ))
# Usage: free_port VAR (sets VAR; not via $(...), whose subshell would lose
# USED_PORTS and could hand out the same port twice).
free_port() {
    local candidate
    for _ in $(seq 1 200); do
        candidate=$(( PORT_LOW + RANDOM % (PORT_HIGH - PORT_LOW + 1) ))
        [[ "$USED_PORTS" == *" $candidate "* ]] && continue
        if command -v ss >/dev/null; then
            [[ -z "$(ss -Htan "( sport = :$candidate )" 2>/dev/null)" ]] || continue
        elif (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            continue
        fi
        USED_PORTS+="$candidate "
        printf -v "$1" '%s' "$candidate"
        return 0
    done
    die "could not find a free port on 127.0.0.1"
}

# wait_ready NAME URL LOGFILE: bounded poll until URL answers 2xx.
wait_ready() {
    local name="$1" url="$2" logfile="$3"
    local tries=$(( READY_TIMEOUT * 5 ))
    for _ in $(seq 1 "$tries"); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 30 "$logfile" >&2 || true
            reap_status
            die "$name exited during start-up ($REAPED; log above, full log: $logfile)"
        fi
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    tail -n 30 "$logfile" >&2 || true
    die "$name was not ready at $url within ${READY_TIMEOUT}s (log: $logfile)"
}

# record_process NAME VERSION: append the server's memory figures to its
# results. VmHWM is the peak resident set size of the whole process life.
record_process() {
    local name="$1" version="$2" status="/proc/$SERVER_PID/status"
    [[ -r "$status" ]] || die "$name (pid $SERVER_PID) is gone; cannot read its peak RSS"
    local hwm rss ticks cpu
    hwm="$(awk '/^VmHWM:/ {print $2}' "$status")"
    rss="$(awk '/^VmRSS:/ {print $2}' "$status")"
    # utime + stime (fields 14 and 15 of /proc/PID/stat; the command name in
    # field 2 may contain spaces, so count from after its closing parenthesis).
    ticks="$(sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{print $12 + $13}')"
    local hz machine
    hz="$(getconf CLK_TCK)"
    cpu="$(awk -v t="$ticks" -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')"
    machine="$(awk -v a="$BUSY_BEFORE" -v b="$(busy_jiffies)" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')"
    version="${version//[\"\\]/}"
    printf '{"workload":"process","server":"%s","pid":%d,"vmhwm_kb":%d,"vmrss_kb":%d,"cpu_seconds":%s,"machine_cpu_seconds":%s,"version":"%s"}\n' \
        "$name" "$SERVER_PID" "$hwm" "$rss" "$cpu" "$machine" "$version" >>"$WORK/$name.jsonl"
    log "$name peak RSS (VmHWM): $(( hwm / 1024 )) MiB, CPU time: ${cpu} s"
}

# run_bench NAME TARGET READY_PATH RECEIVER_PORT NOTE
run_bench() {
    local name="$1" target="$2" ready_path="$3" receiver_port="$4" note="$5"
    log "running workloads against $name at $target"
    local rc=0
    "$BENCH" run \
        --target "$target" \
        --server-name "$name" \
        --ready-path "$ready_path" \
        --receiver-port "$receiver_port" \
        --note "$note" \
        ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} \
        ${BENCH_ARGS[@]+"${BENCH_ARGS[@]}"} \
        >"$WORK/$name.jsonl" 2> >(tee "$WORK/$name-bench.log" >&2) || rc=$?
    if [[ $rc -ne 0 ]]; then
        local state="still running"
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            reap_status
            state="$REAPED"
        fi
        die "tocsin-bench failed against $name (exit status $rc; server $state; server log: $WORK/$name.log)"
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        reap_status
        die "$name died during the run ($REAPED; log: $WORK/$name.log)"
    fi
}

# Collects the exit status of a server that is already gone into
# REAPED (called directly, not via $(...): a subshell cannot wait for it).
REAPED=""
reap_status() {
    local rc=0
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    SERVER_PID=""
    if [[ $rc -gt 128 ]]; then
        REAPED="killed by signal $(( rc - 128 ))"
    else
        REAPED="exit status $rc"
    fi
}

# --- Alertmanager -----------------------------------------------------------

bench_alertmanager() {
    local port receiver_port version
    free_port port
    free_port receiver_port
    version="$("$AM_BIN" --version 2>&1 | head -n 1)"
    mkdir -p "$WORK/alertmanager-data"
    sed -e "s|@RECEIVER_URL@|http://127.0.0.1:$receiver_port/webhook|" \
        -e "s|@GROUP_INTERVAL@|$AM_GROUP_INTERVAL|" \
        "$ROOT/benchmarks/alertmanager.yml.template" >"$WORK/alertmanager.yml"

    check_idle alertmanager
    BUSY_BEFORE="$(busy_jiffies)"
    log "starting $version on 127.0.0.1:$port"
    # Empty --cluster.listen-address disables clustering (no gossip port).
    "$AM_BIN" \
        --config.file="$WORK/alertmanager.yml" \
        --storage.path="$WORK/alertmanager-data" \
        --web.listen-address="127.0.0.1:$port" \
        --cluster.listen-address= \
        --log.level=info \
        >"$WORK/alertmanager.log" 2>&1 &
    SERVER_PID=$!
    wait_ready alertmanager "http://127.0.0.1:$port/-/ready" "$WORK/alertmanager.log"

    run_bench alertmanager "http://127.0.0.1:$port" /-/ready "$receiver_port" \
        "Alertmanager group_by ['...'], group_wait 0s, group_interval $AM_GROUP_INTERVAL, repeat_interval 24h, send_resolved"
    record_process alertmanager "$version"
    # Alertmanager's own view of its webhook notifications: failed attempts
    # (e.g. the 10 s per-flush timeout expiring under load) explain the
    # duplicates it sends afterwards.
    curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null \
        | grep -E '^alertmanager_notifications(_failed)?_total\{.*integration="webhook"' \
        >"$WORK/alertmanager-notify-metrics.txt" || true
    if [[ -s "$WORK/alertmanager-notify-metrics.txt" ]]; then
        log "Alertmanager's own webhook counters:"
        sed 's/^/      /' "$WORK/alertmanager-notify-metrics.txt" >&2
    fi
    stop_server
    mkdir -p "$RESULTS"
    cp "$WORK/alertmanager.jsonl" "$RESULTS/alertmanager.jsonl"
}

# --- Tocsin -----------------------------------------------------------------

bench_tocsin() {
    local port receiver_port version
    free_port port
    free_port receiver_port
    version="tocsin $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$ROOT" status --porcelain -- Sources Package.swift 2>/dev/null)" ]]; then
        version+="+uncommitted"
    fi
    # Fresh data directory: nothing carried over from earlier runs.
    mkdir -p "$WORK/tocsin-data"
    cat >"$WORK/tocsin.yml" <<EOF
server:
  listen: 127.0.0.1:$port
  max_events_per_request: 1000
storage:
  sqlite: $WORK/tocsin-data/tocsin.db
integrations:
  - name: bench-hook
    type: webhook
    url: http://127.0.0.1:$receiver_port/webhook
    format: alertmanager
    concurrency: 32
routing:
  default: [bench-hook]
EOF

    check_idle tocsin
    BUSY_BEFORE="$(busy_jiffies)"
    log "starting $version on 127.0.0.1:$port"
    "$TOCSIN" serve --config "$WORK/tocsin.yml" >"$WORK/tocsin.log" 2>&1 &
    SERVER_PID=$!
    wait_ready tocsin "http://127.0.0.1:$port/readyz" "$WORK/tocsin.log"

    run_bench tocsin "http://127.0.0.1:$port" /readyz "$receiver_port" \
        "Tocsin webhook integration, format alertmanager, concurrency 32, SQLite storage"
    record_process tocsin "$version"
    stop_server
    mkdir -p "$RESULTS"
    cp "$WORK/tocsin.jsonl" "$RESULTS/tocsin.jsonl"
}

[[ $RUN_AM -eq 1 ]] && bench_alertmanager
[[ $RUN_TOCSIN -eq 1 ]] && bench_tocsin

# --- comparison -------------------------------------------------------------

for name in alertmanager tocsin; do
    if [[ "$ONLY" != "" && "$ONLY" != "$name" && -f "$RESULTS/$name.jsonl" ]]; then
        log "reusing earlier $name results from $RESULTS/$name.jsonl"
    fi
done
echo
"$BENCH" report \
    --alertmanager "$RESULTS/alertmanager.jsonl" \
    --tocsin "$RESULTS/tocsin.jsonl" \
    --markdown "$RESULTS/latest.md"
SUCCESS=1
