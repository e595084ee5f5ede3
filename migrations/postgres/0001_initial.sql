-- userpool schema, PostgreSQL dialect. Configuration objects are stored as Cognito-shaped JSON text;
-- bearer secrets only as SHA-256 hashes; private keys only sealed under the master key.
CREATE TABLE pools (
    id              TEXT PRIMARY KEY,
    config          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    key_generation  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    client_id      TEXT PRIMARY KEY,
    pool_id        TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    config         TEXT NOT NULL,
    secret_hashes  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX clients_by_pool ON clients(pool_id);

CREATE TABLE domains (
    domain      TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    config      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE resource_servers (
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    identifier  TEXT NOT NULL,
    config      TEXT NOT NULL,
    PRIMARY KEY (pool_id, identifier)
);

CREATE TABLE identity_providers (
    pool_id        TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    provider_name  TEXT NOT NULL,
    config         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (pool_id, provider_name)
);

CREATE TABLE pool_groups (
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (pool_id, name)
);

CREATE TABLE users (
    pool_id        TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    sub            TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL,
    password_hash  TEXT,
    attributes     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (pool_id, username)
);

CREATE TABLE user_groups (
    pool_id     TEXT NOT NULL,
    username    TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    PRIMARY KEY (pool_id, username, group_name),
    FOREIGN KEY (pool_id, username) REFERENCES users(pool_id, username) ON DELETE CASCADE,
    FOREIGN KEY (pool_id, group_name) REFERENCES pool_groups(pool_id, name) ON DELETE CASCADE
);

CREATE TABLE signing_keys (
    pool_id       TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    kid           TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    kek_id        TEXT NOT NULL,
    sealed        BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    activates_at  BIGINT NOT NULL,
    retires_at    BIGINT,
    PRIMARY KEY (pool_id, kid)
);

CREATE TABLE auth_codes (
    hash         TEXT PRIMARY KEY,
    pool_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);
CREATE INDEX auth_codes_by_expiry ON auth_codes(expires_at);
