#!/usr/bin/env bash
# Runs Tocsin's whole test suite. Installs the real peers the tests talk to when they are missing
# (Debian packages), so that a fresh machine and CI run exactly the same thing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the suite starts itself: Prometheus, for the "use Tocsin as Prometheus' Alertmanager" test;
# aiosmtpd, the real SMTP server the e-mail sink is tested against; jsonschema, which validates PagerDuty
# payloads and Teams cards against the services' published schemas; openssl, which makes the SMTP test's
# certificate authority.
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Chromium and its WebDriver, for the browser test of the web console (Tests/Browser/console_flow.py).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)

# PostgreSQL, for the store tests that run against it (see "A throw-away PostgreSQL" below). Debian's package keeps
# the server's programs in /usr/lib/postgresql/VERSION/bin, off PATH: prefer the newest there, then PATH.
postgres_bin_dir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        # pg_ctl starts the `postgres` that sits next to its real file, so follow symlinks such as /usr/local/bin's.
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}
if [ -z "${TOCSIN_TEST_POSTGRES:-}" ] && ! postgres_bin_dir >/dev/null; then
    missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing test peers: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# PyPI packages for the `python3` on PATH (the tests run that one): aiosmtpd, jsonschema, rfc3339-validator, moto,
# boto3, schemathesis.
python_missing=()
python3 -c "import aiosmtpd" >/dev/null 2>&1 || python_missing+=(aiosmtpd)
python3 -c "import jsonschema" >/dev/null 2>&1 || python_missing+=(jsonschema)
# jsonschema checks `format: date-time` only when this one is present.
python3 -c "import rfc3339_validator" >/dev/null 2>&1 || python_missing+=(rfc3339-validator)
# moto (in server mode, which needs flask and flask-cors) imitates CloudWatch Logs and CloudWatch for the AWS sinks;
# boto3 reads back what the sinks wrote (Tests/Fixtures/aws).
if ! python3 -c "import moto, moto.server, flask, flask_cors" >/dev/null 2>&1 || ! command -v moto_server >/dev/null 2>&1; then
    python_missing+=("moto[server]")
fi
python3 -c "import boto3" >/dev/null 2>&1 || python_missing+=(boto3)
# selenium drives Chromium in the console's browser test; its screenshots go to .build/screenshots.
python3 -c "import selenium" >/dev/null 2>&1 || python_missing+=(selenium)
# schemathesis fuzzes the API from its served OpenAPI document (OpenAPIConformanceTests).
command -v schemathesis >/dev/null 2>&1 || python_missing+=(schemathesis)
if [ ${#python_missing[@]} -gt 0 ]; then
    echo "installing Python test peers: ${python_missing[*]}"
    python3 -m pip install --quiet "${python_missing[@]}"
fi

# A throw-away PostgreSQL for the store tests, unless TOCSIN_TEST_POSTGRES already names one: a new cluster in a
# temporary directory, listening on 127.0.0.1 only, on a free port, trusting local TCP connections, without fsync
# (nothing in it outlives the run). It is stopped and deleted when this script exits, whether the tests pass or not.
# It starts before the build, so that a machine where it cannot start fails in seconds rather than after the build.
if [ -n "${TOCSIN_TEST_POSTGRES:-}" ]; then
    # Only what follows the user and password is shown.
    echo "PostgreSQL for the tests: TOCSIN_TEST_POSTGRES from the environment (${TOCSIN_TEST_POSTGRES##*@})"
else
    pg_bin=$(postgres_bin_dir) || {
        echo "error: PostgreSQL's initdb and pg_ctl are not installed (looked in /usr/lib/postgresql/*/bin and PATH)" >&2
        exit 1
    }
    # PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` system user (which Debian's
    # package creates; made here if the programs came without it); otherwise to whoever runs this script.
    as_postgres=()
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "creating the system user postgres"
            useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home --shell /usr/sbin/nologin postgres
        fi
        as_postgres=(runuser -u postgres --)
    fi
    pg_dir=$(mktemp -d /tmp/tocsin-test-postgres.XXXXXX)
    pg_data="$pg_dir/data"
    pg_log="$pg_dir/server.log"
    stop_test_postgres() {
        if [ -f "$pg_data/postmaster.pid" ]; then
            "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$pg_dir"
    }
    trap stop_test_postgres EXIT
    # Without these the EXIT trap would not run on Ctrl-C or a CI timeout's SIGTERM, and the server would be left.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_dir"; fi
    pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # The bootstrap superuser is the role the tests connect as.
    if ! "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_data" -U tocsin --auth=trust -E UTF8 --locale=C --no-sync \
        >"$pg_dir/initdb.log" 2>&1; then
        echo "error: initdb failed:" >&2
        cat "$pg_dir/initdb.log" >&2
        exit 1
    fi
    # No Unix socket: Debian's default directory, /var/run/postgresql, may not exist, and the tests use TCP. The tests
    # run in parallel, each store with its own pool: more than the default 100 connections.
    {
        echo
        echo "# scripts/test.sh: a throw-away cluster for the tests"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $pg_port"
        echo "unix_socket_directories = ''"
        echo "max_connections = 300"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
    } >>"$pg_data/postgresql.conf"
    if ! "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start >/dev/null; then
        echo "error: PostgreSQL did not start; its log:" >&2
        cat "$pg_log" >&2 || true
        exit 1
    fi
    pg_psql="$pg_bin/psql"
    [ -x "$pg_psql" ] || pg_psql=psql
    if ! "$pg_psql" -h 127.0.0.1 -p "$pg_port" -U tocsin -d postgres -X -q -v ON_ERROR_STOP=1 \
        -c 'CREATE DATABASE tocsin'; then
        echo "error: could not create the database tocsin; the server's log:" >&2
        cat "$pg_log" >&2 || true
        exit 1
    fi
    export TOCSIN_TEST_POSTGRES="postgres://tocsin@127.0.0.1:$pg_port/tocsin?sslmode=disable"
    echo "PostgreSQL for the tests: a throw-away $("$pg_bin/postgres" --version | sed 's/^postgres (PostgreSQL)/PostgreSQL/')" \
        "at $TOCSIN_TEST_POSTGRES"
fi

# Build everything first: the crash test starts the real `tocsin` executable as a child process.
swift build --build-tests
# At most 8 tests at a time: hundreds of tests that each start HTTP peers, servers or child processes, all at once on
# a 2-core machine, starved each other past their 5-second answer deadlines.
swift test --skip-build --experimental-maximum-parallelization-width 8 "$@"
