#!/usr/bin/env bash
# Benchmarks Tocsin against Prometheus Alertmanager; see benchmarks/README.md.
#
#   benchmarks/run.sh                        every server, then the comparison: Alertmanager,
#                                            Tocsin on SQLite, and Tocsin on PostgreSQL with one
#                                            and with three instances when PostgreSQL is available
#   benchmarks/run.sh --only alertmanager    one server; the comparison reuses
#   benchmarks/run.sh --only tocsin          the others' latest results, if any
#   benchmarks/run.sh --only tocsin-pg1      Tocsin on PostgreSQL, one instance
#   benchmarks/run.sh --only tocsin-pg3      three instances sharing one database, requests round-robin
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
#   BENCH_POSTGRES      PostgreSQL URL for tocsin-pg1/pg3, e.g. postgres://tocsin@127.0.0.1:5432/tocsin?sslmode=disable
#                       (each run makes a fresh schema bench_<random> in it and drops it after). Unset: run.sh
#                       starts a private throw-away cluster (initdb, fsync on) and removes it at exit.
#                       BENCH_POSTGRES=off leaves the PostgreSQL servers out of the full run.
#   PG_BINDIR           directory of initdb, pg_ctl, postgres, createdb, psql (default: the newest
#                       /usr/lib/postgresql/*/bin, else the one on PATH)
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
        --only) [[ $# -ge 2 ]] || die "--only needs alertmanager, tocsin, tocsin-pg1 or tocsin-pg3"; ONLY="$2"; shift 2 ;;
        --only=*) ONLY="${1#*=}"; shift ;;
        --skip-build) SKIP_BUILD=1; shift ;;
        --isolate) EXTRA_ARGS+=(--isolate); shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; BENCH_ARGS=("$@"); break ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
case "$ONLY" in
    ""|alertmanager|tocsin|tocsin-pg1|tocsin-pg3) ;;
    *) die "--only takes alertmanager, tocsin, tocsin-pg1 or tocsin-pg3, not '$ONLY'" ;;
esac
RUN_AM=0
RUN_TOCSIN=0
RUN_PG1=0
RUN_PG3=0
case "$ONLY" in
    "") RUN_AM=1; RUN_TOCSIN=1; RUN_PG1=1; RUN_PG3=1 ;;  # PostgreSQL ones dropped below when unavailable
    alertmanager) RUN_AM=1 ;;
    tocsin) RUN_TOCSIN=1 ;;
    tocsin-pg1) RUN_PG1=1 ;;
    tocsin-pg3) RUN_PG3=1 ;;
esac

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

# PostgreSQL for tocsin-pg1/pg3: BENCH_POSTGRES, or a private cluster made
# with the server binaries found here.
find_pg_bindir() {
    local dir
    if [[ -n "${PG_BINDIR:-}" ]]; then
        echo "$PG_BINDIR"
        return 0
    fi
    # The newest installed major version (Debian layout).
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
        return 0
    fi
    dir="$(command -v initdb 2>/dev/null || true)"
    [[ -n "$dir" ]] && dirname "$(readlink -f "$dir")"
    return 0
}
# Why no private cluster can be made with PG_BIN (no output: one can).
pg_problem() {
    local tool
    for tool in initdb pg_ctl postgres createdb; do
        if [[ -z "$PG_BIN" || ! -x "$PG_BIN/$tool" ]]; then
            echo "no PostgreSQL server found (need initdb, pg_ctl, postgres and createdb; set PG_BINDIR, or BENCH_POSTGRES to a database)"
            return 0
        fi
    done
    # PostgreSQL refuses to run as root; run.sh then runs it as the postgres user.
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "running as root and there is no postgres user to run PostgreSQL as"
    fi
    return 0
}
PG_BIN=""
if [[ $RUN_PG1 -eq 1 || $RUN_PG3 -eq 1 ]]; then
    # Also with BENCH_POSTGRES: its psql reads PostgreSQL's settings and drops the schema afterwards.
    PG_BIN="$(find_pg_bindir)"
    problem=""
    if [[ "${BENCH_POSTGRES:-}" == "off" ]]; then
        problem="BENCH_POSTGRES=off"
        [[ -z "$ONLY" ]] || die "--only $ONLY needs PostgreSQL, but BENCH_POSTGRES=off"
    elif [[ -z "${BENCH_POSTGRES:-}" ]]; then
        problem="$(pg_problem)"
    fi
    if [[ -n "$problem" ]]; then
        if [[ -n "$ONLY" ]]; then
            die "--only $ONLY needs PostgreSQL: $problem. Install it with:
    sudo apt-get install postgresql
or point BENCH_POSTGRES at a database (postgres://user@host:port/db?sslmode=disable)"
        fi
        log "leaving out tocsin-pg1 and tocsin-pg3: $problem"
        RUN_PG1=0
        RUN_PG3=0
    fi
fi
[[ $RUN_PG1 -eq 1 || $RUN_PG3 -eq 1 ]] && RUN_TOCSIN_ANY=1 || RUN_TOCSIN_ANY=$RUN_TOCSIN

# --- build ------------------------------------------------------------------

if [[ $SKIP_BUILD -eq 0 ]]; then
    log "building tocsin-bench (release)"
    swift build -c release --product tocsin-bench
    if [[ $RUN_TOCSIN_ANY -eq 1 ]]; then
        log "building tocsin (release)"
        swift build -c release --product tocsin
    fi
fi
BIN_DIR="$(swift build -c release --show-bin-path)"
BENCH="${BENCH_BIN:-$BIN_DIR/tocsin-bench}"
TOCSIN="${TOCSIN_BIN:-$BIN_DIR/tocsin}"
[[ -x "$BENCH" ]] || die "$BENCH not found; run without --skip-build"
if [[ $RUN_TOCSIN_ANY -eq 1 && ! -x "$TOCSIN" ]]; then
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
# The server processes of the current run (one, or one per instance).
SERVER_PIDS=()
SUCCESS=0
BUSY_BEFORE=0

stop_server() {
    [[ ${#SERVER_PIDS[@]} -gt 0 ]] || return 0
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
    done
    # Bounded wait for a clean exit, then force it.
    for pid in "${SERVER_PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
}

cleanup() {
    stop_server
    stop_postgres
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

# wait_ready NAME URL LOGFILE PID: bounded poll until URL answers 2xx.
wait_ready() {
    local name="$1" url="$2" logfile="$3" pid="$4"
    local tries=$(( READY_TIMEOUT * 5 ))
    for _ in $(seq 1 "$tries"); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$logfile" >&2 || true
            reap_status "$pid"
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

# record_process NAME VERSION PID [INSTANCE]: append one server process's
# memory and CPU figures to NAME's results. VmHWM is the peak resident set
# size of the whole process life.
record_process() {
    local name="$1" version="$2" pid="$3" instance="${4:-}" status="/proc/$3/status"
    [[ -r "$status" ]] || die "$name (pid $pid) is gone; cannot read its peak RSS"
    local hwm rss ticks cpu
    hwm="$(awk '/^VmHWM:/ {print $2}' "$status")"
    rss="$(awk '/^VmRSS:/ {print $2}' "$status")"
    # utime + stime (fields 14 and 15 of /proc/PID/stat; the command name in
    # field 2 may contain spaces, so count from after its closing parenthesis).
    ticks="$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')"
    local hz machine
    hz="$(getconf CLK_TCK)"
    cpu="$(awk -v t="$ticks" -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')"
    machine="$(awk -v a="$BUSY_BEFORE" -v b="$(busy_jiffies)" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')"
    version="${version//[\"\\]/}"
    local instance_field=""
    [[ -n "$instance" ]] && instance_field=",\"instance\":\"$instance\""
    printf '{"workload":"process","server":"%s","pid":%d%s,"vmhwm_kb":%d,"vmrss_kb":%d,"cpu_seconds":%s,"machine_cpu_seconds":%s,"version":"%s"}\n' \
        "$name" "$pid" "$instance_field" "$hwm" "$rss" "$cpu" "$machine" "$version" >>"$WORK/$name.jsonl"
    log "$name${instance:+ ($instance)} peak RSS (VmHWM): $(( hwm / 1024 )) MiB, CPU time: ${cpu} s"
}

# run_bench NAME TARGETS READY_PATH RECEIVER_PORT NOTE
# TARGETS: one base URL, or several comma-separated (requests go round-robin).
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
    local pid state
    if [[ $rc -ne 0 ]]; then
        state=""
        for pid in "${SERVER_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then
                state+="${state:+, }pid $pid still running"
            else
                reap_status "$pid"
                state+="${state:+, }pid $pid $REAPED"
            fi
        done
        die "tocsin-bench failed against $name (exit status $rc; server $state; server logs: $WORK/$name*.log)"
    fi
    for pid in "${SERVER_PIDS[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            reap_status "$pid"
            die "$name (pid $pid) died during the run ($REAPED; logs: $WORK/$name*.log)"
        fi
    done
}

# Collects the exit status of a server that is already gone into
# REAPED (called directly, not via $(...): a subshell cannot wait for it).
REAPED=""
reap_status() {
    local rc=0
    wait "$1" 2>/dev/null || rc=$?
    if [[ $rc -gt 128 ]]; then
        REAPED="killed by signal $(( rc - 128 ))"
    else
        REAPED="exit status $rc"
    fi
}

# --- PostgreSQL (tocsin-pg1, tocsin-pg3) -------------------------------------

# Either BENCH_POSTGRES, or a private cluster started on first use: initdb in
# a fresh directory, trust authentication for the user tocsin, listening on
# 127.0.0.1 only, fsync and synchronous_commit on (an acknowledged commit is
# on disk, as with SQLite's synchronous=full). Stopped and deleted at exit.
PG_DIR=""
PG_PORT=""
PG_URL=""
PG_STARTED=0

# As the postgres user when root (PostgreSQL refuses to run as root).
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    [[ -z "$PG_URL" ]] || return 0
    if [[ -n "${BENCH_POSTGRES:-}" ]]; then
        [[ "$BENCH_POSTGRES" != *schema=* ]] || die "BENCH_POSTGRES must not name a schema: each run makes a fresh one"
        PG_URL="$BENCH_POSTGRES"
        log "using PostgreSQL at ${PG_URL%%\?*} (BENCH_POSTGRES)"
        return 0
    fi
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench-pg.XXXXXX")"
    chmod 755 "$PG_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_DIR"
    free_port PG_PORT
    log "starting a private PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT in $PG_DIR"
    # From inside PG_DIR: the postgres user may not be allowed into the current directory.
    (cd "$PG_DIR" && as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U tocsin -E UTF8) >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    PG_STARTED=1
    (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
        start) >/dev/null \
        || { tail -n 30 "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start (log: $PG_DIR/postgres.log)"; }
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U tocsin tocsin \
        || die "createdb failed (log: $PG_DIR/postgres.log)"
    PG_URL="postgres://tocsin@127.0.0.1:$PG_PORT/tocsin?sslmode=disable"
}

stop_postgres() {
    if [[ $PG_STARTED -eq 1 ]]; then
        (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop) >/dev/null 2>&1 \
            || echo "run.sh: could not stop the private PostgreSQL in $PG_DIR" >&2
        PG_STARTED=0
        cp "$PG_DIR/postgres.log" "$WORK/postgres.log" 2>/dev/null || true
    fi
    if [[ -n "$PG_DIR" ]]; then
        rm -rf "$PG_DIR"
        PG_DIR=""
    fi
}

# The psql client, and the URL in the form it takes (no Tocsin-only
# parameters such as schema).
psql_bin() {
    if [[ -n "$PG_BIN" && -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"; else command -v psql || true; fi
}
psql_url() {
    local base="${PG_URL%%\?*}" mode=""
    [[ "$PG_URL" =~ [?\&](sslmode|tlsmode)=([a-z-]+) ]] && mode="${BASH_REMATCH[2]}"
    echo "$base${mode:+?sslmode=$mode}"
}
pg_query() {
    local psql
    psql="$(psql_bin)"
    [[ -n "$psql" ]] || return 1
    "$psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(psql_url)" -c "$1"
}

# CPU time (jiffies) of the private cluster: the postmaster, the children it
# has reaped, and the children still running. Empty with BENCH_POSTGRES.
pg_cluster_ticks() {
    [[ $PG_STARTED -eq 1 ]] || return 0
    local pm
    pm="$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)" || return 0
    [[ -r "/proc/$pm/stat" ]] || return 0
    # The postmaster's utime, stime, cutime and cstime, plus utime + stime of
    # every live child (field 4 of stat is the parent). Processes may vanish
    # while being read: not an error.
    awk -v pm="$pm" '
        { sub(/^.*\) /, "") }
        FILENAME == "/proc/" pm "/stat" { s += $12 + $13 + $14 + $15; next }
        $2 == pm { s += $12 + $13 }
        END { print s + 0 }
    ' /proc/[0-9]*/stat 2>/dev/null || true
}

# record_postgres NAME TICKS_BEFORE: the database's version, durability
# settings and (private cluster only) CPU time during the run.
record_postgres() {
    local name="$1" before="$2" after cpu="" version fsync commit hz
    version="$(pg_query "select 'PostgreSQL ' || current_setting('server_version')" 2>/dev/null || echo PostgreSQL)"
    fsync="$(pg_query "show fsync" 2>/dev/null || true)"
    commit="$(pg_query "show synchronous_commit" 2>/dev/null || true)"
    hz="$(getconf CLK_TCK)"
    after="$(pg_cluster_ticks)"
    if [[ -n "$before" && -n "$after" ]]; then
        cpu="$(awk -v a="$before" -v b="$after" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')"
    fi
    printf '{"workload":"postgres","server":"%s","version":"%s","fsync":"%s","synchronous_commit":"%s"%s}\n' \
        "$name" "${version//[\"\\]/}" "${fsync//[\"\\]/}" "${commit//[\"\\]/}" "${cpu:+,\"cpu_seconds\":$cpu}" \
        >>"$WORK/$name.jsonl"
    log "$name: $version, fsync ${fsync:-?}, synchronous_commit ${commit:-?}${cpu:+, PostgreSQL used $cpu s CPU}"
    [[ "$fsync" != "off" ]] || echo "run.sh: WARNING: fsync is off on this PostgreSQL: commits are not durable, figures not comparable with SQLite's synchronous=full" >&2
}

# A fresh schema per run; dropped afterwards when the database is not ours
# to throw away.
drop_schema() {
    local schema="$1"
    [[ -n "${BENCH_POSTGRES:-}" ]] || return 0
    if ! pg_query "drop schema if exists $schema cascade" >/dev/null 2>&1; then
        echo "run.sh: could not drop schema $schema in ${PG_URL%%\?*} (no psql, or it failed); drop it by hand" >&2
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
    SERVER_PIDS=($!)
    wait_ready alertmanager "http://127.0.0.1:$port/-/ready" "$WORK/alertmanager.log" "${SERVER_PIDS[0]}"

    run_bench alertmanager "http://127.0.0.1:$port" /-/ready "$receiver_port" \
        "Alertmanager group_by ['...'], group_wait 0s, group_interval $AM_GROUP_INTERVAL, repeat_interval 24h, send_resolved"
    record_process alertmanager "$version" "${SERVER_PIDS[0]}"
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

tocsin_version() {
    local version
    version="tocsin $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$ROOT" status --porcelain -- Sources Package.swift 2>/dev/null)" ]]; then
        version+="+uncommitted"
    fi
    # A binary built earlier need not match the checkout: say when it was built.
    if [[ $SKIP_BUILD -eq 1 || -n "${TOCSIN_BIN:-}" ]]; then
        version+=" (binary of $(date -u -r "$TOCSIN" '+%Y-%m-%d %H:%M') UTC)"
    fi
    echo "$version"
}

# tocsin_config FILE PORT RECEIVER_PORT STORAGE_YAML [SERVER_YAML]
tocsin_config() {
    cat >"$1" <<EOF
server:
  listen: 127.0.0.1:$2
  max_events_per_request: 1000
${5:-}storage:
$4
integrations:
  - name: bench-hook
    type: webhook
    url: http://127.0.0.1:$3/webhook
    format: alertmanager
    concurrency: 32
routing:
  default: [bench-hook]
EOF
}

bench_tocsin() {
    local port receiver_port version
    free_port port
    free_port receiver_port
    version="$(tocsin_version)"
    # Fresh data directory: nothing carried over from earlier runs.
    mkdir -p "$WORK/tocsin-data"
    tocsin_config "$WORK/tocsin.yml" "$port" "$receiver_port" "  sqlite: $WORK/tocsin-data/tocsin.db"

    check_idle tocsin
    BUSY_BEFORE="$(busy_jiffies)"
    log "starting $version on 127.0.0.1:$port"
    "$TOCSIN" serve --config "$WORK/tocsin.yml" >"$WORK/tocsin.log" 2>&1 &
    SERVER_PIDS=($!)
    wait_ready tocsin "http://127.0.0.1:$port/readyz" "$WORK/tocsin.log" "${SERVER_PIDS[0]}"

    run_bench tocsin "http://127.0.0.1:$port" /readyz "$receiver_port" \
        "Tocsin webhook integration, format alertmanager, concurrency 32, SQLite storage"
    record_process tocsin "$version" "${SERVER_PIDS[0]}"
    stop_server
    mkdir -p "$RESULTS"
    cp "$WORK/tocsin.jsonl" "$RESULTS/tocsin.jsonl"
}

# bench_tocsin_pg NAME INSTANCES: INSTANCES Tocsin processes sharing one fresh
# PostgreSQL schema, each with its own port, data directory and instance id,
# all delivering to the one receiver; tocsin-bench spreads the requests over
# them round-robin.
bench_tocsin_pg() {
    local name="$1" count="$2"
    local receiver_port version schema url i port targets="" pg_before
    start_postgres
    free_port receiver_port
    version="$(tocsin_version)"
    schema="$(printf 'bench_%04x%04x' $RANDOM $RANDOM)"
    if [[ "$PG_URL" == *\?* ]]; then url="$PG_URL&schema=$schema"; else url="$PG_URL?schema=$schema"; fi

    local ports=()
    for i in $(seq 1 "$count"); do
        free_port port
        ports+=("$port")
        mkdir -p "$WORK/$name-data-$i"
        tocsin_config "$WORK/$name-$i.yml" "$port" "$receiver_port" \
            "  postgres: \"$url\"
  lease: 30s" \
            "  instance_id: bench-$i
"
        targets+="${targets:+,}http://127.0.0.1:$port"
    done

    check_idle "$name"
    BUSY_BEFORE="$(busy_jiffies)"
    pg_before="$(pg_cluster_ticks)"
    log "starting $count × $version on ports ${ports[*]}, PostgreSQL schema $schema"
    SERVER_PIDS=()
    for i in $(seq 1 "$count"); do
        "$TOCSIN" serve --config "$WORK/$name-$i.yml" --data-dir "$WORK/$name-data-$i" >"$WORK/$name-$i.log" 2>&1 &
        SERVER_PIDS+=($!)
    done
    for i in $(seq 1 "$count"); do
        wait_ready "$name instance $i" "http://127.0.0.1:${ports[$((i - 1))]}/readyz" "$WORK/$name-$i.log" \
            "${SERVER_PIDS[$((i - 1))]}"
    done

    local what="one instance"
    [[ $count -gt 1 ]] && what="$count instances (requests round-robin)"
    run_bench "$name" "$targets" /readyz "$receiver_port" \
        "Tocsin webhook integration, format alertmanager, concurrency 32, PostgreSQL storage, $what, lease 30s"
    for i in $(seq 1 "$count"); do
        record_process "$name" "$version" "${SERVER_PIDS[$((i - 1))]}" "bench-$i"
    done
    record_postgres "$name" "$pg_before"
    stop_server
    drop_schema "$schema"
    mkdir -p "$RESULTS"
    cp "$WORK/$name.jsonl" "$RESULTS/$name.jsonl"
}

[[ $RUN_AM -eq 1 ]] && bench_alertmanager
[[ $RUN_TOCSIN -eq 1 ]] && bench_tocsin
[[ $RUN_PG1 -eq 1 ]] && bench_tocsin_pg tocsin-pg1 1
[[ $RUN_PG3 -eq 1 ]] && bench_tocsin_pg tocsin-pg3 3
stop_postgres

# --- comparison -------------------------------------------------------------

ran=" "
[[ $RUN_AM -eq 1 ]] && ran+="alertmanager "
[[ $RUN_TOCSIN -eq 1 ]] && ran+="tocsin "
[[ $RUN_PG1 -eq 1 ]] && ran+="tocsin-pg1 "
[[ $RUN_PG3 -eq 1 ]] && ran+="tocsin-pg3 "
for name in alertmanager tocsin tocsin-pg1 tocsin-pg3; do
    if [[ "$ran" != *" $name "* && -f "$RESULTS/$name.jsonl" ]]; then
        log "reusing earlier $name results from $RESULTS/$name.jsonl"
    fi
done
echo
"$BENCH" report \
    --alertmanager "$RESULTS/alertmanager.jsonl" \
    --tocsin "$RESULTS/tocsin.jsonl" \
    --tocsin-pg1 "$RESULTS/tocsin-pg1.jsonl" \
    --tocsin-pg3 "$RESULTS/tocsin-pg3.jsonl" \
    --markdown "$RESULTS/latest.md"
SUCCESS=1
