#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test on SQLite and on a
# throwaway PostgreSQL cluster (installed from Debian's packages when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

pg_dir=$(mktemp -d /tmp/userpool-pg.XXXXXX)
cleanup() { scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A free port for PostgreSQL.
port=55432
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

echo "== starting PostgreSQL on 127.0.0.1:$port"
USERPOOL_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir" "$port" | tail -n 1)
export USERPOOL_TEST_POSTGRES_URL

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    # nextest does not run doctests
    cargo test --workspace --locked --doc
else
    cargo test --workspace --locked --no-fail-fast
fi
