#!/usr/bin/env bash
# The fault harness (issue 13; docs/operations.md, "Fault harness"): userpool nodes behind HAProxy
# under a steady mix of traffic while nodes are killed and PostgreSQL restarts, then the
# two-node races, then every acknowledged write checked against the database.
#   scripts/faults.sh [--short|--long] [--backend postgres|sqlite|both] [--duration SECONDS] [--races N]
# --short (the default, run by CI) takes about a minute and a half a backend; --long runs ten
# minutes of traffic a backend and thousands of races. USERPOOL_BIN names the binary (default:
# the debug build, as scripts/test.sh builds it). Installs HAProxy (and PostgreSQL, sqlite3 and
# the Node test dependencies) when absent. Exits non-zero on any violation.
set -euo pipefail
cd "$(dirname "$0")/.."

form=short
backend=both
duration=
races=
while [ $# -gt 0 ]; do
    case "$1" in
    --short) form=short ;;
    --long) form=long ;;
    --backend) backend=${2:?--backend needs postgres, sqlite or both}; shift ;;
    --duration) duration=${2:?--duration needs seconds}; shift ;;
    --races) races=${2:?--races needs a count}; shift ;;
    *) echo "usage: scripts/faults.sh [--short|--long] [--backend postgres|sqlite|both] [--duration SECONDS] [--races N]" >&2; exit 2 ;;
    esac
    shift
done
case "$backend" in postgres | sqlite | both) ;; *) echo "unknown backend $backend" >&2; exit 2 ;; esac

if [ "$form" = short ]; then
    # Long enough for three node kills and a PostgreSQL restart.
    args=(--races "${races:-200}" --workers 6 --fault-every 10 --pg-down 8)
    duration=${duration:-60}
else
    args=(--races "${races:-2000}" --workers 8 --fault-every 20 --pg-down 8)
    duration=${duration:-600}
fi

bin=${USERPOOL_BIN:-$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug/userpool}
[ -x "$bin" ] || { echo "no userpool binary at $bin: cargo build -p userpool --locked" >&2; exit 2; }

apt_install() {
    echo "installing $* from Debian's packages…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_install haproxy
export PATH="$PATH:/usr/sbin"
if [ "$backend" != postgres ] && ! command -v sqlite3 >/dev/null 2>&1; then apt_install sqlite3; fi
command -v node >/dev/null 2>&1 || apt_install nodejs npm
[ -d tests/node/node_modules/@aws-sdk ] || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d /tmp/userpool-faults.XXXXXX)
# Apart from $work: postgres.sh hands its directory to the postgres user.
pg_dir=$(mktemp -d /tmp/userpool-faults-pg.XXXXXX)
cleanup() {
    # The driver kills its children; if it was killed itself, its pid file still names them.
    if [ -f "$work/run/pids" ]; then
        while read -r pid; do
            if grep -qE 'userpool|haproxy' "/proc/$pid/cmdline" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        done <"$work/run/pids"
    fi
    scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A copy: a rebuild during the run must not change what a restarted node runs.
cp "$bin" "$work/userpool"
bin="$work/userpool"

run_postgres() {
    local port=56432
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    local url rc
    url=$(scripts/postgres.sh start "$pg_dir" "$port" | tail -n 1)
    [ -n "$url" ] || return 1
    # The driver restarts the cluster with pg_ctl, with the options postgres.sh started it with.
    FAULTS_PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)") \
        FAULTS_PG_DATA="$pg_dir/data" FAULTS_PG_LOG="$pg_dir/log" \
        FAULTS_PG_OPTS="-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c fsync=${USERPOOL_PG_FSYNC:-off} -c max_connections=200" \
        node --no-warnings tests/faults/driver.mjs --backend postgres --database "$url" --dir "$work/run" --bin "$bin" \
        --duration "$duration" "${args[@]}" || rc=$?
    scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
    return "${rc:-0}"
}

run_sqlite() {
    # One node, killed in a loop: faster than the faults on PostgreSQL.
    node --no-warnings tests/faults/driver.mjs --backend sqlite --dir "$work/run" --bin "$bin" --duration "$duration" \
        "${args[@]}" --fault-every 8
}

status=0
for b in postgres sqlite; do
    [ "$backend" = both ] || [ "$backend" = "$b" ] || continue
    echo "== fault harness: $form form on $b"
    rm -rf "$work/run"
    start=$SECONDS
    rc=0
    "run_$b" || rc=$?
    echo "== $b: $((SECONDS - start)) s"
    if [ $rc -ne 0 ]; then
        status=1
        echo "== the nodes' errors and HAProxy's log (last lines):"
        for f in "$work"/run/node*.log; do echo "-- $f"; grep -E 'ERROR|panicked' "$f" | tail -n 15 || true; done
        tail -n 15 "$work/run/haproxy.log" 2>/dev/null || true
    fi
done
exit $status
