#!/usr/bin/env bash
# A PostgreSQL server on 127.0.0.1 for the distributed-study tests (tests marked `postgres`).
#
# Sourced by .ci/run (or run by hand: `source .ci/postgres.sh`). On a clean Debian
# machine as root with no stdin it installs PostgreSQL from Debian's packages,
# starts a private server (its own data folder, port 55432, loopback only, run as
# the `postgres` user), creates the user and database `mollirl`, and exports
#
#     MOLLIRL_TEST_POSTGRES_URL=postgresql://mollirl:mollirl@127.0.0.1:55432/mollirl
#
# Idempotent: an installed PostgreSQL is not installed again, a running server is
# reused, an existing role or database is kept. Safe under `set -euo pipefail`.
# Knobs: MOLLIRL_PG_PORT (55432), MOLLIRL_PG_DIR (/tmp/mollirl-postgres),
# MOLLIRL_PG_FORCE_INSTALL=1 (run apt-get even when PostgreSQL is installed).

_mollirl_pg_setup() {
    local port="${MOLLIRL_PG_PORT:-55432}"
    local dir="${MOLLIRL_PG_DIR:-/tmp/mollirl-postgres}"
    local bin=""

    _mollirl_pg_bin() {
        # newest installed server version's bin folder (Debian: /usr/lib/postgresql/<major>/bin)
        local candidate
        for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
            if [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then
                echo "$candidate"
                return 0
            fi
        done
        return 1
    }

    bin="$(_mollirl_pg_bin || true)"
    if [ -z "$bin" ] || [ "${MOLLIRL_PG_FORCE_INSTALL:-0}" = "1" ]; then
        if [ "$(id -u)" != "0" ]; then
            echo "postgres.sh: PostgreSQL is not installed and this is not root: cannot apt-get install" >&2
            return 1
        fi
        echo "postgres.sh: installing PostgreSQL from Debian packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql </dev/null >&2 || return 1
        bin="$(_mollirl_pg_bin || true)"
        if [ -z "$bin" ]; then
            echo "postgres.sh: apt-get installed postgresql but no pg_ctl/initdb under /usr/lib/postgresql/*/bin" >&2
            return 1
        fi
    fi

    # run a command as the postgres user when we are root (initdb/postgres refuse to run as root)
    _mollirl_as_pg() {
        if [ "$(id -u)" = "0" ]; then
            runuser -u postgres -- "$@"
        else
            "$@"
        fi
    }

    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" </dev/null; then
        echo "postgres.sh: reusing the server already running on 127.0.0.1:$port" >&2
    else
        mkdir -p "$dir"
        if [ "$(id -u)" = "0" ]; then
            chown postgres:postgres "$dir"
        fi
        chmod 700 "$dir"
        if [ ! -s "$dir/data/PG_VERSION" ]; then
            _mollirl_as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
                -E UTF8 --locale=C.UTF-8 </dev/null >"$dir/initdb.log" 2>&1 \
                || { echo "postgres.sh: initdb failed:" >&2; cat "$dir/initdb.log" >&2; return 1; }
        fi
        # a server killed without cleanup leaves postmaster.pid behind; pg_ctl handles a stale one
        _mollirl_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" \
            start </dev/null >&2 \
            || { echo "postgres.sh: the server did not start:" >&2; tail -n 20 "$dir/server.log" >&2; return 1; }
    fi

    # role and database (superuser `postgres` over the unix socket, trusted locally)
    local socket_dir="$dir"
    if ! _mollirl_as_pg "$bin/psql" -h "$socket_dir" -p "$port" -U postgres -d postgres -tAc "SELECT 1" \
            </dev/null >/dev/null 2>&1; then
        # a server we did not start ourselves: fall back to its TCP port (needs its own auth set up)
        socket_dir="127.0.0.1"
    fi
    local psql=("$bin/psql" -h "$socket_dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAq)
    if [ "$(_mollirl_as_pg "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'mollirl'" </dev/null)" != "1" ]; then
        _mollirl_as_pg "${psql[@]}" -c "CREATE ROLE mollirl LOGIN PASSWORD 'mollirl'" </dev/null || return 1
    fi
    if [ "$(_mollirl_as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'mollirl'" </dev/null)" != "1" ]; then
        _mollirl_as_pg "${psql[@]}" -c "CREATE DATABASE mollirl OWNER mollirl" </dev/null || return 1
    fi

    export MOLLIRL_TEST_POSTGRES_URL="postgresql://mollirl:mollirl@127.0.0.1:${port}/mollirl"
    echo "postgres.sh: MOLLIRL_TEST_POSTGRES_URL=$MOLLIRL_TEST_POSTGRES_URL" >&2
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # executed rather than sourced: set up, then print the export line for the caller's shell
    _mollirl_pg_setup || exit 1
    echo "export MOLLIRL_TEST_POSTGRES_URL=$MOLLIRL_TEST_POSTGRES_URL"
else
    _mollirl_pg_setup
fi
