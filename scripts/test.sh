#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test on SQLite and on a
# throwaway PostgreSQL cluster (installed from Debian's packages when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# The whole suite installs every test client below, so a test never skips for want of one
# (the tests skip only when run alone, without CI set).
export CI=${CI:-true}

pg_dir=$(mktemp -d /tmp/userpool-pg.XXXXXX)
cleanup() { scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A free port for PostgreSQL.
port=55432
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

# Passkeys are verified by webauthn-rs-core, which links the system's OpenSSL.
if ! pkg-config --exists openssl 2>/dev/null; then
    echo "installing libssl-dev and pkg-config from Debian's packages (webauthn-rs-core links OpenSSL)…"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl-dev pkg-config
fi

echo "== starting PostgreSQL on 127.0.0.1:$port"
USERPOOL_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir" "$port" | tail -n 1)
export USERPOOL_TEST_POSTGRES_URL

echo "== Python test peers (aiosmtpd for mail; pysaml2, lxml, signxml for SAML)"
if ! command -v xmlsec1 >/dev/null 2>&1; then
    echo "installing xmlsec1 from Debian's packages (pysaml2 signs and encrypts with it)…"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xmlsec1
fi
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/python/requirements.txt

echo "== SAML test tools: the attack corpus checked against xmlsec1 (differential), the IdP's self-test"
python3 tests/saml/cases.py --self-check
python3 tests/saml/selftest.py

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The OAuth and SAML end-to-end tests run a second time with their servers on PostgreSQL.
oauth_tests='code_flow:: oauth_errors:: relying_party:: lifecycle:: saml:: saml_attacks::
  signin_holes::reset_answers_ signin_holes::legacy_clients_ signin_holes::a_local_session_
  signin_holes::at_most_five_ signin_holes::a_password_reset_kills_'

echo "== Rust tests (SQLite, and PostgreSQL where a test says so)"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
    echo "== OAuth end-to-end tests on PostgreSQL"
    # shellcheck disable=SC2086
    USERPOOL_E2E_BACKEND=postgres cargo nextest run -p userpool --test e2e --locked --no-fail-fast $oauth_tests
    cargo test --workspace --locked --doc
else
    cargo test --workspace --locked --no-fail-fast
    # shellcheck disable=SC2086
    USERPOOL_E2E_BACKEND=postgres cargo test -p userpool --test e2e --locked --no-fail-fast -- $oauth_tests
fi

echo "== real clients (Node.js: openid-client, aws-jwt-verify, AWS SDK, amazon-cognito-identity-js, Amplify; two nodes on PostgreSQL)"
if ! command -v npm >/dev/null 2>&1; then
    echo "installing Node.js from Debian's packages…"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Chromium from Debian's packages (the browser test drives it)…"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
cargo build -p userpool --locked
(
    cd tests/node
    npm ci --no-audit --no-fund --loglevel=error
    node --test
    echo "== real clients again, every server on PostgreSQL"
    USERPOOL_NODE_BACKEND=postgres node --test openid-client.test.js aws-jwt-verify.test.js federation.test.js browser.test.js cognito-api.test.js sign-in.test.js triggers.test.js production.test.js passkeys.test.js passkey-pages.test.js signup-by-phone.test.js
)

echo "== fault harness, short form: nodes killed and PostgreSQL restarted under traffic (docs/operations.md)"
scripts/faults.sh --short --backend both
