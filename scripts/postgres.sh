#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster on loopback for the tests.
#   scripts/postgres.sh start DIR [PORT]   installs PostgreSQL from Debian if absent, starts a
#                                          cluster in DIR, prints its URL on the last line
#   scripts/postgres.sh stop DIR           stops it and removes DIR
# The cluster runs with fsync off (tests need no durability) unless USERPOOL_PG_FSYNC=on (the
# benchmark's figures are those of durable commits).
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop DIR [PORT]}
dir=${2:?usage: postgres.sh start|stop DIR [PORT]}
port=${3:-55432}

# The newest server installation (a client-only package has no initdb).
find_bin() {
    # No match is a normal answer on a fresh machine (errexit and pipefail must not end us).
    { ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || true; } | sort -V | tail -n 1 | xargs -r dirname
}

# Run a PostgreSQL tool as a non-root user: initdb and postgres refuse to run as root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    bin=$(find_bin)
    if [ -z "$bin" ]; then
        echo "installing PostgreSQL from Debian's packages…" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Only our throwaway cluster should run: no default cluster on port 5432.
        mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/userpool-tests.conf
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends postgresql >&2
        bin=$(find_bin)
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U userpool --auth=trust -E UTF8 --no-locale >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${USERPOOL_PG_FSYNC:-off} -c max_connections=200" start >&2
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U userpool userpool_test
    echo "postgres://userpool@127.0.0.1:$port/userpool_test"
    ;;
stop)
    bin=$(find_bin)
    if [ -n "$bin" ] && [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
