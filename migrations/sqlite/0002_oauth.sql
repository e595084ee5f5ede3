-- Sign-in by alias, browser sessions, refresh tokens and their families (origin_jti).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN preferred_username TEXT;
CREATE INDEX users_by_email ON users(pool_id, email);
CREATE INDEX users_by_phone ON users(pool_id, phone_number);
CREATE INDEX users_by_preferred_username ON users(pool_id, preferred_username);

CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE token_families (
    id          TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    username    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX token_families_by_user ON token_families(pool_id, username);
CREATE INDEX token_families_by_expiry ON token_families(expires_at);

CREATE TABLE refresh_tokens (
    hash         TEXT PRIMARY KEY,
    family_id    TEXT NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    replaced_at  INTEGER
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens(family_id);
